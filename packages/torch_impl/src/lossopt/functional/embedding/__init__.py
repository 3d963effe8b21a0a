"""Embedding and distribution losses: contrastive (margin, SupCon), triplet, cosine embedding, KL divergence.

Mirrors ``lossopt_spec.losses.embedding`` module for module (one loss each); equation tags match.
"""

from lossopt.functional.embedding.contrastive import CONTRASTIVE_MODES, check_contrastive, contrastive_loss
from lossopt.functional.embedding.cosine import check_cosine_margin, cosine_embedding_loss
from lossopt.functional.embedding.divergence import KL_REDUCTIONS, check_kl_reduction, kl_divergence_loss
from lossopt.functional.embedding.triplet import check_triplet_ranges, triplet_loss

__all__ = [
    "CONTRASTIVE_MODES",
    "KL_REDUCTIONS",
    "check_contrastive",
    "check_cosine_margin",
    "check_kl_reduction",
    "check_triplet_ranges",
    "contrastive_loss",
    "cosine_embedding_loss",
    "kl_divergence_loss",
    "triplet_loss",
]
