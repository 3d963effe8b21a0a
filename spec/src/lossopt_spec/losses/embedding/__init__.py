"""Embedding and distribution losses: contrastive (margin, SupCon), triplet, cosine embedding, KL divergence.

Mirrored by ``lossopt.functional.embedding`` module for module (one loss each); equation tags
match. Losses with several differentiable inputs (triplet, cosine embedding) return their
gradients as a tuple, in argument order.
"""

from lossopt_spec.losses.embedding.contrastive import (
    CONTRASTIVE_MODES,
    check_contrastive,
    contrastive_loss,
    contrastive_loss_grad,
)
from lossopt_spec.losses.embedding.cosine import cosine_embedding_loss, cosine_embedding_loss_grad
from lossopt_spec.losses.embedding.divergence import KL_REDUCTIONS, kl_divergence_loss, kl_divergence_loss_grad
from lossopt_spec.losses.embedding.triplet import triplet_loss, triplet_loss_grad

__all__ = [
    "CONTRASTIVE_MODES",
    "KL_REDUCTIONS",
    "check_contrastive",
    "contrastive_loss",
    "contrastive_loss_grad",
    "cosine_embedding_loss",
    "cosine_embedding_loss_grad",
    "kl_divergence_loss",
    "kl_divergence_loss_grad",
    "triplet_loss",
    "triplet_loss_grad",
]
