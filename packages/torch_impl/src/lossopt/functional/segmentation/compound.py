"""Compound losses: a per-pixel loss (BCE with logits, the sigmoid focal loss) plus the Dice loss.

Each is :math:`w_p` times the pixel loss averaged over the pixels plus :math:`w_d (1 - D)` per sample
and class, for the Dice coefficient :math:`D` (2) of :mod:`~lossopt.functional.segmentation.region`.
Over no pixels (a zero spatial size, or an empty batch with ``batch=True``) the pixel term is 0, an
empty sum, so the loss is its Dice term: what ``dice_loss`` gives for the same input.
Mirrors ``lossopt_spec.losses.segmentation.compound``; equation tags match.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import torch

from lossopt._signatures import with_options
from lossopt.functional.classification import check_gamma, check_sigmoid_alpha
from lossopt.functional.segmentation.options import SegmentationOptions, check_non_negative
from lossopt.functional.segmentation.overlap import OverlapTerms, overlap_loss
from lossopt.functional.segmentation.region import dice_score


def _check_sigmoid_mode(name: str, mode: str) -> None:
    if mode == "multiclass":
        raise ValueError(
            f"{name} takes mode 'binary' or 'multilabel' (sigmoid outputs); got mode='multiclass' "
            "(one-hot encode the targets and use mode='multilabel')"
        )


@dataclass(frozen=True)
class BCEDiceOptions(SegmentationOptions):
    """The options of :func:`bce_dice_loss`: the terms' weights, then the shared ones (no ``ignore_index``)."""

    fixed: ClassVar[tuple[str, ...]] = ("ignore_index",)
    bce_weight: float = 0.5
    dice_weight: float = 0.5


def check_bce_dice(options: BCEDiceOptions) -> None:
    """The weights of the terms of (7) are >= 0 (``ValueError`` naming the argument)."""
    check_non_negative("bce_weight", options.bce_weight)
    check_non_negative("dice_weight", options.dice_weight)


def bce_dice_terms(options: BCEDiceOptions) -> OverlapTerms:
    """(7) in a sigmoid mode, once :func:`check_bce_dice` accepts the options."""
    _check_sigmoid_mode("bce_dice_loss", options.mode)
    check_bce_dice(options)
    return OverlapTerms(dice_score(options.smooth), overlap_weight=options.dice_weight, pixel_weight=options.bce_weight)


@with_options(BCEDiceOptions)
def bce_dice_loss(predictions: torch.Tensor, targets: torch.Tensor, options: BCEDiceOptions) -> torch.Tensor:
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
    return overlap_loss(predictions, targets, bce_dice_terms(options), options)


@dataclass(frozen=True)
class FocalDiceOptions(SegmentationOptions):
    """The options of :func:`focal_dice_loss`: the focal term's, the terms' weights, then the shared ones
    (no ``ignore_index``)."""

    fixed: ClassVar[tuple[str, ...]] = ("ignore_index",)
    alpha: float | None = None
    gamma: float = 2.0
    _: KW_ONLY
    focal_weight: float = 1.0
    dice_weight: float = 1.0


def check_focal_dice(options: FocalDiceOptions) -> None:
    """The sigmoid focal loss's ``alpha`` and ``gamma``, and the weights of the terms of (8) >= 0."""
    check_sigmoid_alpha(options.alpha)
    check_gamma(options.gamma)
    check_non_negative("focal_weight", options.focal_weight)
    check_non_negative("dice_weight", options.dice_weight)


def focal_dice_terms(options: FocalDiceOptions) -> OverlapTerms:
    """(8) in a sigmoid mode, once :func:`check_focal_dice` accepts the options."""
    _check_sigmoid_mode("focal_dice_loss", options.mode)
    check_focal_dice(options)
    weights = {"overlap_weight": options.dice_weight, "pixel_weight": options.focal_weight}
    return OverlapTerms(dice_score(options.smooth), **weights, focal=(options.alpha, options.gamma))


@with_options(FocalDiceOptions)
def focal_dice_loss(predictions: torch.Tensor, targets: torch.Tensor, options: FocalDiceOptions) -> torch.Tensor:
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
    return overlap_loss(predictions, targets, focal_dice_terms(options), options)
