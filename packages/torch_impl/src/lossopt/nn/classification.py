"""Classification losses as modules: :mod:`lossopt.functional.classification` configured once."""

from __future__ import annotations

import torch

from lossopt import functional as F
from lossopt.functional.arguments import check_index
from lossopt.functional.classification import (
    check_focal_alpha,
    check_gamma,
    check_label_smoothing,
    check_margin,
    check_sigmoid_alpha,
)
from lossopt.nn._base import _ReducedLoss


class SigmoidFocalLoss(_ReducedLoss):
    """Sigmoid (binary / multi-label) focal loss, :func:`lossopt.functional.sigmoid_focal_loss` as a module.

    ``alpha`` weights the positive label (torchvision's convention); ``alpha=None`` disables it.

    Example:
        >>> import torch
        >>> from lossopt import SigmoidFocalLoss
        >>> SigmoidFocalLoss(alpha=None, gamma=0.0)(torch.tensor([0.0]), torch.tensor([1.0]))  # log 2
        tensor(0.6931)
    """

    _repr = ("alpha", "gamma", "reduction")

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_sigmoid_alpha(alpha)
        check_gamma(gamma)
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.sigmoid_focal_loss(predictions, targets, self.alpha, self.gamma, reduction=self.reduction)


class CrossEntropyLoss(_ReducedLoss):
    """Cross-entropy, :func:`lossopt.functional.cross_entropy_loss` as a module (``weight`` is a buffer).

    Example:
        >>> import torch
        >>> from lossopt import CrossEntropyLoss
        >>> CrossEntropyLoss(label_smoothing=0.1)(torch.zeros(2, 4), torch.tensor([0, 3]))  # log 4 either way
        tensor(1.3863)
    """

    weight: torch.Tensor | None

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        check_label_smoothing(label_smoothing)
        check_index("ignore_index", ignore_index)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy_loss(
            predictions, targets, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )

    def extra_repr(self) -> str:
        return (
            f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, label_smoothing={self.label_smoothing!r}"
        )


class FocalLoss(_ReducedLoss):
    """Softmax focal loss, :func:`lossopt.functional.focal_loss` as a module (a tensor ``alpha`` is a buffer).

    ``alpha`` is a per-class weight (a number for every class); for torchvision's binary alpha use
    :class:`SigmoidFocalLoss`.

    Example:
        >>> import torch
        >>> from lossopt import FocalLoss
        >>> FocalLoss(gamma=0.0)(torch.zeros(2, 4), torch.tensor([0, 3]))  # gamma = 0: cross-entropy, log 4
        tensor(1.3863)
    """

    def __init__(
        self,
        alpha: float | torch.Tensor = 1.0,
        gamma: float = 2.0,
        reduction: str = "mean",
        *,
        ignore_index: int = -100,
    ) -> None:
        super().__init__(reduction)
        check_gamma(gamma)
        check_index("ignore_index", ignore_index)
        if isinstance(alpha, torch.Tensor) and alpha.ndim > 0:
            check_focal_alpha(alpha, alpha.shape[0], alpha)
            self.register_buffer("alpha", alpha)
        else:
            self.alpha = check_focal_alpha(alpha, 1, torch.zeros(()))
        self.gamma = gamma
        self.ignore_index = ignore_index

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.focal_loss(
            predictions, targets, self.alpha, self.gamma, reduction=self.reduction, ignore_index=self.ignore_index
        )

    def extra_repr(self) -> str:
        alpha = "tensor" if isinstance(self.alpha, torch.Tensor) else repr(self.alpha)
        return f"alpha={alpha}, gamma={self.gamma!r}, reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class HingeLoss(_ReducedLoss):
    """Hinge loss, :func:`lossopt.functional.hinge_loss` as a module: binary, or multi-class Crammer–Singer.

    Example:
        >>> import torch
        >>> from lossopt import HingeLoss
        >>> HingeLoss()(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))  # 1 + 0.5 - 2 < 0
        tensor(0.)
    """

    _repr = ("margin", "reduction")

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_margin(margin)
        self.margin = margin

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.hinge_loss(predictions, targets, self.margin, reduction=self.reduction)
