"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional._reduction import check_reduction
from lossopt.functional.classification import (
    _focal_alpha,
    check_gamma,
    check_label_smoothing,
    check_margin,
    check_sigmoid_alpha,
)
from lossopt.functional.regression import _quantile_levels, check_delta


class _ReducedLoss(nn.Module):
    """A loss module with a validated ``reduction``."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_ReducedLoss):
    """Mean squared error, :func:`lossopt.functional.mse_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MSELoss
        >>> MSELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(5.)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predictions, targets, reduction=self.reduction)


class SigmoidFocalLoss(_ReducedLoss):
    """Sigmoid (binary / multi-label) focal loss, :func:`lossopt.functional.sigmoid_focal_loss` as a module.

    ``alpha`` weights the positive label (torchvision's convention); ``alpha=None`` disables it.

    Example:
        >>> import torch
        >>> from lossopt import SigmoidFocalLoss
        >>> SigmoidFocalLoss(alpha=None, gamma=0.0)(torch.tensor([0.0]), torch.tensor([1.0]))  # log 2
        tensor(0.6931)
    """

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_sigmoid_alpha(alpha)
        check_gamma(gamma)
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.sigmoid_focal_loss(predictions, targets, self.alpha, self.gamma, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}, gamma={self.gamma!r}, reduction={self.reduction!r}"


class MAELoss(_ReducedLoss):
    """Mean absolute error, :func:`lossopt.functional.mae_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MAELoss
        >>> MAELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(3.)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mae_loss(predictions, targets, reduction=self.reduction)


class HuberLoss(_ReducedLoss):
    """Huber loss, :func:`lossopt.functional.huber_loss` as a module (the true Huber, as ``torch.nn.HuberLoss``).

    Example:
        >>> import torch
        >>> from lossopt import HuberLoss
        >>> HuberLoss(delta=2.0)(torch.tensor([3.0]), torch.tensor([0.0]))  # 2 * (3 - 1)
        tensor(4.)
    """

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_delta(delta)
        self.delta = delta

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.huber_loss(predictions, targets, self.delta, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"delta={self.delta!r}, reduction={self.reduction!r}"


class LogCoshLoss(_ReducedLoss):
    """Log-cosh loss, :func:`lossopt.functional.log_cosh_loss` as a module (finite for every finite input).

    Example:
        >>> import torch
        >>> from lossopt import LogCoshLoss
        >>> LogCoshLoss()(torch.tensor([90.0]), torch.tensor([0.0]))  # 90 - log 2, not inf
        tensor(89.3069)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.log_cosh_loss(predictions, targets, reduction=self.reduction)


class QuantileLoss(_ReducedLoss):
    """Quantile (pinball) loss, :func:`lossopt.functional.quantile_loss` as a module.

    ``quantile`` is one level in (0, 1) or a sequence of levels (predictions then ``(*, Q)``).

    Example:
        >>> import torch
        >>> from lossopt import QuantileLoss
        >>> QuantileLoss(quantile=[0.1, 0.9], reduction="none")(torch.tensor([[0.0, 0.0]]), torch.tensor([1.0]))
        tensor([[0.1000, 0.9000]])
    """

    def __init__(self, quantile: float | Sequence[float] = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        _quantile_levels(quantile)
        self.quantile = quantile

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.quantile_loss(predictions, targets, self.quantile, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"quantile={self.quantile!r}, reduction={self.reduction!r}"


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
        super().__init__(reduction=reduction)
        check_label_smoothing(label_smoothing)
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
        super().__init__(reduction=reduction)
        check_gamma(gamma)
        if isinstance(alpha, torch.Tensor) and alpha.ndim > 0:
            _focal_alpha(alpha, alpha.shape[0], alpha)
            self.register_buffer("alpha", alpha)
        else:
            self.alpha = _focal_alpha(alpha, 1, torch.zeros(()))
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

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_margin(margin)
        self.margin = margin

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.hinge_loss(predictions, targets, self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin!r}, reduction={self.reduction!r}"
