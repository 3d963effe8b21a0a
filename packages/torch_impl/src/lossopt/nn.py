"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses."""

from __future__ import annotations

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional._reduction import check_reduction
from lossopt.functional.classification import check_gamma, check_sigmoid_alpha


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
