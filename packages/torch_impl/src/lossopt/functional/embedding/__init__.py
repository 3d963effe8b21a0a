"""Embedding and distribution losses: contrastive (margin, SupCon), triplet, cosine embedding, KL divergence.

Mirrors ``lossopt_spec.losses.embedding`` module for module (one loss each); equation tags match.
"""

from lossopt.functional.embedding.contrastive import CONTRASTIVE_MODES, check_contrastive, contrastive_loss
from lossopt.functional.embedding.cosine import cosine_embedding_loss
from lossopt.functional.embedding.divergence import KL_REDUCTIONS, kl_divergence_loss
from lossopt.functional.embedding.triplet import triplet_loss

__all__ = [
    "CONTRASTIVE_MODES",
    "KL_REDUCTIONS",
    "check_contrastive",
    "contrastive_loss",
    "cosine_embedding_loss",
    "kl_divergence_loss",
    "triplet_loss",
]
