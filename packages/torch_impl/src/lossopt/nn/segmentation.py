"""Segmentation losses as modules: :mod:`lossopt.functional.segmentation` configured once."""

from __future__ import annotations

from typing import Any

import torch

from lossopt import functional as F
from lossopt.functional.arguments import as_tensor_argument, check_bool
from lossopt.functional.classification import check_gamma, check_sigmoid_alpha
from lossopt.functional.segmentation import check_non_negative, check_options, check_tversky
from lossopt.nn._base import _ReducedLoss


class _SegmentationLoss(_ReducedLoss):
    """Options shared by the segmentation losses; ``weight`` is a buffer so it follows ``.to()``."""

    weight: torch.Tensor | None
    _repr: tuple[str, ...] = ("mode", "smooth", "batch", "reduction")

    def __init__(
        self,
        smooth: float,
        reduction: str,
        mode: str,
        batch: bool,
        ignore_index: int | None,
        weight: torch.Tensor | None,
        include_background: bool,
    ) -> None:
        super().__init__(reduction)
        check_options(mode, smooth, ignore_index, include_background)
        check_bool("batch", batch)
        self.smooth = smooth
        self.mode = mode
        self.batch = batch
        self.ignore_index = ignore_index
        self.include_background = include_background
        self.register_buffer("weight", None if weight is None else as_tensor_argument("weight", weight))

    def _options(self) -> dict[str, Any]:
        """The functional's keyword arguments these options set (``ignore_index`` only for the losses taking it)."""
        options = {"smooth": self.smooth, "reduction": self.reduction, "mode": self.mode, "batch": self.batch}
        return {**options, "weight": self.weight, "include_background": self.include_background}


class DiceLoss(_SegmentationLoss):
    """Dice loss, :func:`lossopt.functional.dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import DiceLoss
        >>> loss = DiceLoss(mode="multiclass", ignore_index=255)
        >>> logits = torch.zeros(1, 2, 3)  # p = 0.5 everywhere; the third pixel is ignored
        >>> round(float(loss(logits, torch.tensor([[0, 1, 255]]))), 4)  # D = 2 * 0.5 / (1 + 1) per class
        0.5
    """

    def __init__(
        self,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        mode: str = "binary",
        batch: bool = False,
        ignore_index: int | None = None,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(smooth, reduction, mode, batch, ignore_index, weight, include_background)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.dice_loss(predictions, targets, ignore_index=self.ignore_index, **self._options())


class IoULoss(DiceLoss):
    """IoU (Jaccard) loss, :func:`lossopt.functional.iou_loss` as a module (arguments as :class:`DiceLoss`)."""

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.iou_loss(predictions, targets, ignore_index=self.ignore_index, **self._options())


class TverskyLoss(_SegmentationLoss):
    """Tversky / focal Tversky loss, :func:`lossopt.functional.tversky_loss` as a module.

    Example:
        >>> from lossopt import TverskyLoss
        >>> TverskyLoss(alpha=0.3, beta=0.7, gamma=0.75)
        TverskyLoss(mode='binary', smooth=1e-06, batch=False, reduction='mean', alpha=0.3, beta=0.7, gamma=0.75)
    """

    _repr = (*_SegmentationLoss._repr, "alpha", "beta", "gamma")

    def __init__(
        self,
        alpha: float = 0.3,
        beta: float = 0.7,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        gamma: float = 1.0,
        mode: str = "binary",
        batch: bool = False,
        ignore_index: int | None = None,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(smooth, reduction, mode, batch, ignore_index, weight, include_background)
        check_tversky(alpha, beta, gamma)
        self.alpha, self.beta, self.gamma = alpha, beta, gamma

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        options = self._options()
        return F.tversky_loss(
            predictions, targets, self.alpha, self.beta, gamma=self.gamma, ignore_index=self.ignore_index, **options
        )


class BCEDiceLoss(_SegmentationLoss):
    """BCE with logits plus Dice, :func:`lossopt.functional.bce_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import BCEDiceLoss
        >>> round(float(BCEDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.5966
    """

    def __init__(
        self,
        bce_weight: float = 0.5,
        dice_weight: float = 0.5,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        mode: str = "binary",
        batch: bool = False,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(smooth, reduction, mode, batch, None, weight, include_background)
        check_non_negative("bce_weight", bce_weight)
        check_non_negative("dice_weight", dice_weight)
        self.bce_weight, self.dice_weight = bce_weight, dice_weight

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.bce_dice_loss(predictions, targets, self.bce_weight, self.dice_weight, **self._options())


class FocalDiceLoss(_SegmentationLoss):
    """Sigmoid focal loss plus Dice, :func:`lossopt.functional.focal_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import FocalDiceLoss
        >>> round(float(FocalDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.6733
    """

    def __init__(
        self,
        alpha: float | None = None,
        gamma: float = 2.0,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        focal_weight: float = 1.0,
        dice_weight: float = 1.0,
        mode: str = "binary",
        batch: bool = False,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(smooth, reduction, mode, batch, None, weight, include_background)
        check_sigmoid_alpha(alpha)
        check_gamma(gamma)
        check_non_negative("focal_weight", focal_weight)
        check_non_negative("dice_weight", dice_weight)
        self.alpha, self.gamma = alpha, gamma
        self.focal_weight, self.dice_weight = focal_weight, dice_weight

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.focal_dice_loss(
            predictions,
            targets,
            self.alpha,
            self.gamma,
            focal_weight=self.focal_weight,
            dice_weight=self.dice_weight,
            **self._options(),
        )
