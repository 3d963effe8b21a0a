"""Segmentation losses as modules: :mod:`lossopt.functional.segmentation` configured once."""

from __future__ import annotations

from typing import Any

from lossopt import functional as F
from lossopt.functional.arguments import as_tensor_argument
from lossopt.functional.segmentation import (
    BCEDiceOptions,
    FocalDiceOptions,
    TverskyOptions,
    check_bce_dice,
    check_focal_dice,
    check_shared_options,
    check_tversky,
)
from lossopt.nn._base import FunctionalLoss


class _SegmentationLoss(FunctionalLoss):
    """Options shared by the segmentation losses; ``weight`` is a buffer so it follows ``.to()``."""

    _repr: tuple[str, ...] = ("mode", "smooth", "batch", "reduction")

    def check(self, options: Any) -> None:
        check_shared_options(options)  # options: the functional's SegmentationOptions (a subclass)
        weight = options.weight
        self.register_buffer("weight", None if weight is None else as_tensor_argument("weight", weight))


class DiceLoss(_SegmentationLoss, functional=F.dice_loss):
    """Dice loss, :func:`lossopt.functional.dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import DiceLoss
        >>> loss = DiceLoss(mode="multiclass", ignore_index=255)
        >>> logits = torch.zeros(1, 2, 3)  # p = 0.5 everywhere; the third pixel is ignored
        >>> round(float(loss(logits, torch.tensor([[0, 1, 255]]))), 4)  # D = 2 * 0.5 / (1 + 1) per class
        0.5
    """


class IoULoss(DiceLoss, functional=F.iou_loss):
    """IoU (Jaccard) loss, :func:`lossopt.functional.iou_loss` as a module (arguments as :class:`DiceLoss`)."""


class TverskyLoss(_SegmentationLoss, functional=F.tversky_loss):
    """Tversky / focal Tversky loss, :func:`lossopt.functional.tversky_loss` as a module.

    Example:
        >>> from lossopt import TverskyLoss
        >>> TverskyLoss(alpha=0.3, beta=0.7, gamma=0.75)
        TverskyLoss(mode='binary', smooth=1e-06, batch=False, reduction='mean', alpha=0.3, beta=0.7, gamma=0.75)
    """

    _repr = (*_SegmentationLoss._repr, "alpha", "beta", "gamma")

    def check(self, options: TverskyOptions) -> None:
        super().check(options)
        check_tversky(options.alpha, options.beta, options.gamma)


class BCEDiceLoss(_SegmentationLoss, functional=F.bce_dice_loss):
    """BCE with logits plus Dice, :func:`lossopt.functional.bce_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import BCEDiceLoss
        >>> round(float(BCEDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.5966
    """

    def check(self, options: BCEDiceOptions) -> None:
        super().check(options)
        check_bce_dice(options)


class FocalDiceLoss(_SegmentationLoss, functional=F.focal_dice_loss):
    """Sigmoid focal loss plus Dice, :func:`lossopt.functional.focal_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import FocalDiceLoss
        >>> round(float(FocalDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.6733
    """

    def check(self, options: FocalDiceOptions) -> None:
        super().check(options)
        check_focal_dice(options)
