"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional._reduction import check_reduction
from lossopt.functional.classification import check_gamma, check_sigmoid_alpha
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
