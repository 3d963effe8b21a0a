"""Compound losses: a per-pixel loss (BCE with logits, the sigmoid focal loss) plus the Dice loss.

Each is :math:`w_p` times the pixel loss averaged over the pixels plus :math:`w_d (1 - D)` per sample
and class, for the Dice coefficient :math:`D` (2) of :mod:`~lossopt.functional.segmentation.region`.
Mirrors ``lossopt_spec.losses.segmentation.compound``; equation tags match.
"""

from __future__ import annotations

import torch

from lossopt.functional.classification import check_gamma, check_sigmoid_alpha
from lossopt.functional.segmentation.overlap import (
    OverlapTerms,
    SegmentationOptions,
    check_non_negative,
    overlap_loss,
)
from lossopt.functional.segmentation.region import dice_score


def _check_sigmoid_mode(name: str, mode: str) -> None:
    if mode == "multiclass":
        raise ValueError(
            f"{name} takes mode 'binary' or 'multilabel' (sigmoid outputs); got mode='multiclass' "
            "(one-hot encode the targets and use mode='multilabel')"
        )


def bce_dice_terms(mode: str, bce_weight: float, dice_weight: float, smooth: float) -> OverlapTerms:
    """(7) in a sigmoid mode with weights >= 0 (``ValueError`` naming the argument)."""
    _check_sigmoid_mode("bce_dice_loss", mode)
    check_non_negative("bce_weight", bce_weight)
    check_non_negative("dice_weight", dice_weight)
    return OverlapTerms(dice_score(smooth), overlap_weight=dice_weight, pixel_weight=bce_weight)


def focal_dice_terms(
    mode: str, alpha: float | None, gamma: float, smooth: float, focal_weight: float, dice_weight: float
) -> OverlapTerms:
    """(8) in a sigmoid mode, with the sigmoid focal loss's ``alpha`` and ``gamma`` and weights >= 0."""
    _check_sigmoid_mode("focal_dice_loss", mode)
    check_sigmoid_alpha(alpha)
    check_gamma(gamma)
    check_non_negative("focal_weight", focal_weight)
    check_non_negative("dice_weight", dice_weight)
    focal = (alpha, gamma)
    return OverlapTerms(dice_score(smooth), overlap_weight=dice_weight, pixel_weight=focal_weight, focal=focal)


def bce_dice_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    bce_weight: float = 0.5,
    dice_weight: float = 0.5,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    weight: torch.Tensor | None = None,
    include_background: bool = True,
) -> torch.Tensor:
    """Binary cross-entropy with logits plus Dice, per sample and class.

    .. math::

        \\ell_{nc} = w_b \\frac{1}{M} \\sum_i \\mathrm{BCE}(x_{nci}, t_{nci}) + w_d (1 - D_{nc})     \\tag{7}

    Modes ``"binary"`` and ``"multilabel"``. Differs from the original design: both terms are per
    sample and class, so ``reduction`` means something.

    Example:
        >>> import torch
        >>> from lossopt.functional import bce_dice_loss
        >>> logits = torch.zeros(1, 2)  # BCE log 2 per pixel; D = 2 * 0.5 / 2: 0.5 * 0.6931 + 0.5 * 0.5
        >>> round(float(bce_dice_loss(logits, torch.tensor([[1.0, 0.0]]), smooth=0.0)), 4)
        0.5966
    """
    options = SegmentationOptions(mode, smooth, batch, None, weight, include_background, reduction)
    return overlap_loss(predictions, targets, bce_dice_terms(mode, bce_weight, dice_weight, smooth), options)


def focal_dice_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
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
) -> torch.Tensor:
    """Sigmoid focal loss (:func:`lossopt.functional.sigmoid_focal_loss`) plus Dice, per sample and class.

    .. math::

        \\ell_{nc} = w_f \\frac{1}{M} \\sum_i FL(x_{nci}, t_{nci}) + w_d (1 - D_{nc})     \\tag{8}

    Modes ``"binary"`` and ``"multilabel"``. Differs from the original design: ``alpha`` is the
    sigmoid focal loss's (torchvision's) weight of the positive label, so the design's
    ``alpha=1.0`` (no weighting there) is ``alpha=None`` here, the default; the two terms are
    added with weights ``focal_weight`` and ``dice_weight`` (1 and 1).

    Example:
        >>> import torch
        >>> from lossopt.functional import focal_dice_loss
        >>> logits = torch.zeros(1, 2)  # FL = 0.5^2 log 2 per pixel; Dice loss 0.5
        >>> round(float(focal_dice_loss(logits, torch.tensor([[1.0, 0.0]]), smooth=0.0)), 4)
        0.6733
    """
    terms = focal_dice_terms(mode, alpha, gamma, smooth, focal_weight, dice_weight)
    options = SegmentationOptions(mode, smooth, batch, None, weight, include_background, reduction)
    return overlap_loss(predictions, targets, terms, options)
