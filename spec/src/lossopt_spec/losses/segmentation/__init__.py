"""Segmentation losses: Dice, IoU (Jaccard), Tversky (and focal Tversky), BCE + Dice, focal + Dice.

Mirrored by ``lossopt.functional.segmentation``, module for module; equation tags match.

Every loss here is computed from three overlap sums per sample ``n`` and class ``c`` (or per class
over the whole batch with ``batch=True``): the intersection :math:`I`, the predicted mass :math:`P`
and the target mass :math:`T` of the probabilities and targets, (1) of
:mod:`~lossopt_spec.losses.segmentation.overlap`, which also computes each loss from its terms.
:mod:`~lossopt_spec.losses.segmentation.region` has the scores of Dice, IoU and Tversky (2)-(5),
:mod:`~lossopt_spec.losses.segmentation.compound` the losses adding a per-pixel term (6)-(8);
:mod:`~lossopt_spec.losses.segmentation.options` declares the options they share, once.

Modes (the name of the argument is ``mode``):

* ``"binary"``: logits ``(N, *spatial)`` (a channel of size 1 is allowed), float targets of the
  same shape, :math:`p = \\sigma(x)`, one class (``C = 1``).
* ``"multilabel"``: logits ``(N, C, *spatial)``, float targets of the same shape,
  :math:`p = \\sigma(x)` per class.
* ``"multiclass"``: logits ``(N, C, *spatial)``, integer targets ``(N, *spatial)`` with values in
  ``[0, C)`` or ``ignore_index``, :math:`p = \\mathrm{softmax}_c(x)`; targets are one-hot encoded.

Per-(sample, class) losses :math:`\\ell_{nc}` are multiplied by the class weights normalised to mean
1, :math:`w'_c = C' w_c / \\sum_k w_k` over the :math:`C'` classes kept (``include_background=False``
drops class 0), so uniform weights equal no weights. ``reduction="none"`` returns
:math:`w'_c \\ell_{nc}` of shape ``(N, C')`` (``(C',)`` with ``batch=True``); ``"mean"`` and ``"sum"``
reduce that array.

Empty masks: with ``smooth`` :math:`s > 0`, an empty target with an empty prediction
(:math:`P = T = I = 0`, i.e. probabilities exactly 0) has Dice, IoU and Tversky index
:math:`s / s = 1` and loss 0. A logit prediction is never exactly empty; with :math:`P > 0` and
:math:`T = 0` the Dice loss is :math:`1 - s / (P + s)`, close to 1 unless :math:`P \\ll s`: with the
default ``smooth=1e-6`` an empty mask is scored as an error for any visible prediction. With
``smooth=0`` an empty target and empty prediction give 0/0 = NaN.

Differs from the original design (``dice_loss``): the design's Dice is one scalar over the flattened
batch, so its ``reduction`` has no effect; here the default is per sample and class and
``batch=True`` gives the design's global Dice (per class).
"""

from lossopt_spec.losses.segmentation.compound import (
    BCEDiceOptions,
    FocalDiceOptions,
    bce_dice_loss,
    bce_dice_loss_grad,
    focal_dice_loss,
    focal_dice_loss_grad,
)
from lossopt_spec.losses.segmentation.options import MODES, SegmentationOptions, check_non_negative, check_options
from lossopt_spec.losses.segmentation.overlap import OverlapTerms, overlap_loss
from lossopt_spec.losses.segmentation.region import (
    TverskyOptions,
    dice_loss,
    dice_loss_grad,
    iou_loss,
    iou_loss_grad,
    tversky_loss,
    tversky_loss_grad,
)

__all__ = [
    "MODES",
    "BCEDiceOptions",
    "FocalDiceOptions",
    "OverlapTerms",
    "SegmentationOptions",
    "TverskyOptions",
    "bce_dice_loss",
    "bce_dice_loss_grad",
    "check_non_negative",
    "check_options",
    "dice_loss",
    "dice_loss_grad",
    "focal_dice_loss",
    "focal_dice_loss_grad",
    "iou_loss",
    "iou_loss_grad",
    "overlap_loss",
    "tversky_loss",
    "tversky_loss_grad",
]
