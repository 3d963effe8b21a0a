"""Embedding and distribution losses as modules: :mod:`lossopt.functional.embedding` configured once."""

from __future__ import annotations

from typing import Any

from lossopt import functional as F
from lossopt.functional.arguments import check_bool, check_real
from lossopt.functional.embedding import (
    check_contrastive,
    check_cosine_margin,
    check_kl_reduction,
    check_triplet_ranges,
)
from lossopt.nn._base import FunctionalLoss, _ReducedLoss


class ContrastiveLoss(_ReducedLoss, functional=F.contrastive_loss):
    """Contrastive loss (``mode="supcon"`` or ``"margin"``), :func:`lossopt.functional.contrastive_loss`.

    Example:
        >>> from lossopt import ContrastiveLoss
        >>> ContrastiveLoss(temperature=0.07)
        ContrastiveLoss(mode='supcon', margin=1.0, temperature=0.07, reduction='mean')
    """

    _repr = ("mode", "margin", "temperature", "reduction")

    def check(self, options: Any) -> None:
        super().check(options)
        check_contrastive(options.mode, options.margin, options.temperature, options.eps)


class TripletLoss(_ReducedLoss, functional=F.triplet_loss, inputs=3):
    """Triplet margin loss, :func:`lossopt.functional.triplet_loss` as a module."""

    def check(self, options: Any) -> None:
        super().check(options)
        for name in ("margin", "eps"):
            check_real(name, getattr(options, name))
        check_real("p", options.p, finite=False)  # p = inf: the max norm
        check_bool("swap", options.swap)
        check_triplet_ranges(options.margin, options.p)


class CosineEmbeddingLoss(_ReducedLoss, functional=F.cosine_embedding_loss, inputs=3):
    """Cosine embedding loss, :func:`lossopt.functional.cosine_embedding_loss` as a module."""

    def check(self, options: Any) -> None:
        super().check(options)
        check_cosine_margin(options.margin)


class KLDivergenceLoss(FunctionalLoss, functional=F.kl_divergence_loss):
    """KL divergence with log-probability inputs, :func:`lossopt.functional.kl_divergence_loss` as a module.

    Example:
        >>> from lossopt import KLDivergenceLoss
        >>> KLDivergenceLoss()
        KLDivergenceLoss(reduction='batchmean', log_target=False)
    """

    _repr = ("reduction", "log_target")

    def check(self, options: Any) -> None:
        check_kl_reduction(options.reduction)
        check_bool("log_target", options.log_target)
