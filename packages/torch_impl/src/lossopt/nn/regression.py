"""Regression losses as modules: :mod:`lossopt.functional.regression` configured once."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lossopt import functional as F
from lossopt.functional.regression import check_delta, quantile_levels
from lossopt.nn._base import _ReducedLoss


class MSELoss(_ReducedLoss):
    """Mean squared error, :func:`lossopt.functional.mse_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MSELoss
        >>> MSELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(5.)
    """

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predictions, targets, reduction=self.reduction)


class MAELoss(_ReducedLoss):
    """Mean absolute error, :func:`lossopt.functional.mae_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MAELoss
        >>> MAELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(3.)
    """

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

    _repr = ("delta", "reduction")

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_delta(delta)
        self.delta = delta

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.huber_loss(predictions, targets, self.delta, reduction=self.reduction)


class LogCoshLoss(_ReducedLoss):
    """Log-cosh loss, :func:`lossopt.functional.log_cosh_loss` as a module (finite for every finite input).

    Example:
        >>> import torch
        >>> from lossopt import LogCoshLoss
        >>> LogCoshLoss()(torch.tensor([90.0]), torch.tensor([0.0]))  # 90 - log 2, not inf
        tensor(89.3069)
    """

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

    _repr = ("quantile", "reduction")

    def __init__(self, quantile: float | Sequence[float] = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction)
        quantile_levels(quantile)
        self.quantile = quantile

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.quantile_loss(predictions, targets, self.quantile, reduction=self.reduction)
