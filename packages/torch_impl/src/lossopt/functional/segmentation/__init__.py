"""Segmentation losses: Dice, IoU (Jaccard), Tversky (and focal Tversky), BCE + Dice, focal + Dice.

Mirrors ``lossopt_spec.losses.segmentation`` module for module; equation tags match.
:mod:`~lossopt.functional.segmentation.overlap` computes the overlap sums (1) (one
``autograd.Function``, no one-hot tensor) and each loss from its terms,
:mod:`~lossopt.functional.segmentation.region` has the scores of Dice, IoU and Tversky (2)-(5),
:mod:`~lossopt.functional.segmentation.compound` the losses adding a per-pixel term (6)-(8).
"""

from lossopt.functional.segmentation.compound import bce_dice_loss, focal_dice_loss
from lossopt.functional.segmentation.overlap import (
    MODES,
    OverlapTerms,
    SegmentationOptions,
    check_non_negative,
    check_options,
    overlap_loss,
)
from lossopt.functional.segmentation.overlap import (
    _bce_sums as _bce_sums,  # conformance/test_fast_paths.py imports it from here
)
from lossopt.functional.segmentation.region import check_tversky, dice_loss, iou_loss, tversky_loss

__all__ = [
    "MODES",
    "OverlapTerms",
    "SegmentationOptions",
    "bce_dice_loss",
    "check_non_negative",
    "check_options",
    "check_tversky",
    "dice_loss",
    "focal_dice_loss",
    "iou_loss",
    "overlap_loss",
    "tversky_loss",
]
