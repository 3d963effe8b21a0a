"""Segmentation losses: Dice, IoU (Jaccard), Tversky (and focal Tversky), BCE + Dice, focal + Dice.

Mirrors ``lossopt_spec.losses.segmentation`` module for module; equation tags match.
:mod:`~lossopt.functional.segmentation.overlap` computes the overlap sums (1) (one
``autograd.Function``, no one-hot tensor) and each loss from its terms,
:mod:`~lossopt.functional.segmentation.region` has the scores of Dice, IoU and Tversky (2)-(5),
:mod:`~lossopt.functional.segmentation.compound` the losses adding a per-pixel term (6)-(8).
:mod:`~lossopt.functional.segmentation.options` declares the options they share, once.
"""

from lossopt.functional.segmentation.compound import (
    BCEDiceOptions,
    FocalDiceOptions,
    bce_dice_loss,
    check_bce_dice,
    check_focal_dice,
    focal_dice_loss,
)
from lossopt.functional.segmentation.options import (
    MODES,
    SegmentationOptions,
    check_non_negative,
    check_options,
    check_shared_options,
)
from lossopt.functional.segmentation.overlap import OverlapTerms, overlap_loss
from lossopt.functional.segmentation.overlap import (
    _bce_sums as _bce_sums,  # conformance/test_fast_paths.py imports it from here
)
from lossopt.functional.segmentation.region import TverskyOptions, check_tversky, dice_loss, iou_loss, tversky_loss

__all__ = [
    "MODES",
    "BCEDiceOptions",
    "FocalDiceOptions",
    "OverlapTerms",
    "SegmentationOptions",
    "TverskyOptions",
    "bce_dice_loss",
    "check_bce_dice",
    "check_focal_dice",
    "check_non_negative",
    "check_options",
    "check_shared_options",
    "check_tversky",
    "dice_loss",
    "focal_dice_loss",
    "iou_loss",
    "overlap_loss",
    "tversky_loss",
]
