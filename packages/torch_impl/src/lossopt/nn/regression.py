"""Regression losses as modules: :mod:`lossopt.functional.regression` configured once."""

from __future__ import annotations

from typing import Any

from lossopt import functional as F
from lossopt.functional.regression import check_delta, quantile_levels
from lossopt.nn._base import _ReducedLoss


class MSELoss(_ReducedLoss, functional=F.mse_loss):
    """Mean squared error, :func:`lossopt.functional.mse_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MSELoss
        >>> MSELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(5.)
    """


class MAELoss(_ReducedLoss, functional=F.mae_loss):
    """Mean absolute error, :func:`lossopt.functional.mae_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MAELoss
        >>> MAELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(3.)
    """


class HuberLoss(_ReducedLoss, functional=F.huber_loss):
    """Huber loss, :func:`lossopt.functional.huber_loss` as a module (the true Huber, as ``torch.nn.HuberLoss``).

    Example:
        >>> import torch
        >>> from lossopt import HuberLoss
        >>> HuberLoss(delta=2.0)(torch.tensor([3.0]), torch.tensor([0.0]))  # 2 * (3 - 1)
        tensor(4.)
    """

    _repr = ("delta", "reduction")

    def check(self, options: Any) -> None:
        super().check(options)
        check_delta(options.delta)


class LogCoshLoss(_ReducedLoss, functional=F.log_cosh_loss):
    """Log-cosh loss, :func:`lossopt.functional.log_cosh_loss` as a module (finite for every finite input).

    Example:
        >>> import torch
        >>> from lossopt import LogCoshLoss
        >>> LogCoshLoss()(torch.tensor([90.0]), torch.tensor([0.0]))  # 90 - log 2, not inf
        tensor(89.3069)
    """


class QuantileLoss(_ReducedLoss, functional=F.quantile_loss):
    """Quantile (pinball) loss, :func:`lossopt.functional.quantile_loss` as a module.

    ``quantile`` is one level in (0, 1) or a sequence of levels (predictions then ``(*, Q)``).

    Example:
        >>> import torch
        >>> from lossopt import QuantileLoss
        >>> QuantileLoss(quantile=[0.1, 0.9], reduction="none")(torch.tensor([[0.0, 0.0]]), torch.tensor([1.0]))
        tensor([[0.1000, 0.9000]])
    """

    _repr = ("quantile", "reduction")

    def check(self, options: Any) -> None:
        super().check(options)
        quantile_levels(options.quantile)
