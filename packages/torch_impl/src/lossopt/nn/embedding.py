"""Embedding and distribution losses as modules: :mod:`lossopt.functional.embedding` configured once."""

from __future__ import annotations

import torch

from lossopt import functional as F
from lossopt.functional.arguments import check_bool, check_real
from lossopt.functional.embedding import KL_REDUCTIONS, check_contrastive
from lossopt.nn._base import _Loss, _ReducedLoss


class ContrastiveLoss(_ReducedLoss):
    """Contrastive loss (``mode="supcon"`` or ``"margin"``), :func:`lossopt.functional.contrastive_loss`.

    Example:
        >>> from lossopt import ContrastiveLoss
        >>> ContrastiveLoss(temperature=0.07)
        ContrastiveLoss(mode='supcon', margin=1.0, temperature=0.07, reduction='mean')
    """

    _repr = ("mode", "margin", "temperature", "reduction")

    def __init__(
        self,
        margin: float = 1.0,
        temperature: float = 0.1,
        reduction: str = "mean",
        *,
        mode: str = "supcon",
        eps: float = 1e-8,
    ) -> None:
        super().__init__(reduction)
        check_contrastive(mode, margin, temperature, eps)
        self.margin, self.temperature, self.mode, self.eps = margin, temperature, mode, eps

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.contrastive_loss(
            embeddings, labels, self.margin, self.temperature, self.reduction, mode=self.mode, eps=self.eps
        )


class TripletLoss(_ReducedLoss):
    """Triplet margin loss, :func:`lossopt.functional.triplet_loss` as a module."""

    def __init__(
        self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        for name, value in (("margin", margin), ("eps", eps)):
            check_real(name, value)
        check_real("p", p, finite=False)  # p = inf: the max norm
        check_bool("swap", swap)
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0; got {margin!r}")
        if not p >= 1:
            raise ValueError(f"p must be >= 1 (a norm); got {p!r}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        return F.triplet_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap, self.reduction)


class CosineEmbeddingLoss(_ReducedLoss):
    """Cosine embedding loss, :func:`lossopt.functional.cosine_embedding_loss` as a module."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_real("margin", margin)
        if not -1 <= margin <= 1:
            raise ValueError(f"margin must be in [-1, 1]; got {margin!r}")
        self.margin = margin

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cosine_embedding_loss(x1, x2, y, self.margin, self.reduction)


class KLDivergenceLoss(_Loss):
    """KL divergence with log-probability inputs, :func:`lossopt.functional.kl_divergence_loss` as a module.

    Example:
        >>> from lossopt import KLDivergenceLoss
        >>> KLDivergenceLoss()
        KLDivergenceLoss(reduction='batchmean', log_target=False)
    """

    _repr = ("reduction", "log_target")

    def __init__(self, reduction: str = "batchmean", log_target: bool = False) -> None:
        super().__init__()
        if reduction not in KL_REDUCTIONS:
            raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")
        check_bool("log_target", log_target)
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.kl_divergence_loss(input, target, self.reduction, self.log_target)
