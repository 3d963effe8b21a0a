"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses."""

from __future__ import annotations

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional._reduction import check_reduction


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
