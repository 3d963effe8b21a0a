"""Compound losses: a per-pixel loss (BCE with logits, the sigmoid focal loss) plus the Dice loss.

Each is :math:`w_p` times the pixel loss averaged over the pixels plus :math:`w_d (1 - D)` per sample
and class, for the Dice coefficient :math:`D` (2) of :mod:`~lossopt_spec.losses.segmentation.region`.
Over no pixels (a zero spatial size, or an empty batch with ``batch=True``) the pixel term is 0, an
empty sum, so the loss is its Dice term: what ``dice_loss`` gives for the same input.
Mirrored by ``lossopt.functional.segmentation.compound``; equation tags match.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np

from lossopt_spec.losses.classification import (
    check_gamma,
    check_sigmoid_alpha,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
)
from lossopt_spec.losses.segmentation.options import SegmentationOptions, check_non_negative
from lossopt_spec.losses.segmentation.overlap import OverlapTerms, PixelLoss, overlap_loss
from lossopt_spec.losses.segmentation.region import dice_score
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


def _bce(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x))))  # (6) BCE(x, t), stable


def _bce_grad(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)) - t)  # (6') dBCE/dx = p - t


_BCE: PixelLoss = (_bce, _bce_grad)


def _focal(alpha: float | None, gamma: float) -> PixelLoss:
    """The sigmoid focal loss of ``lossopt_spec.losses.classification`` per pixel (8), (8')."""

    def value(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return sigmoid_focal_loss(x, t, alpha, gamma, reduction="none")

    def grad(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return sigmoid_focal_loss_grad(x, t, alpha, gamma, reduction="none", grad_output=np.ones(x.shape))

    return value, grad


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


def bce_dice_terms(options: BCEDiceOptions) -> OverlapTerms:
    """(7) in a sigmoid mode with weights >= 0 (``ValueError`` naming the argument)."""
    _check_sigmoid_mode("bce_dice_loss", options.mode)
    check_non_negative("bce_weight", options.bce_weight)
    check_non_negative("dice_weight", options.dice_weight)
    weights = {"overlap_weight": options.dice_weight, "pixel_weight": options.bce_weight}
    return OverlapTerms(dice_score(options.smooth), **weights, pixel=_BCE)


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


def focal_dice_terms(options: FocalDiceOptions) -> OverlapTerms:
    """(8) in a sigmoid mode, with the sigmoid focal loss's ``alpha`` and ``gamma`` and weights >= 0."""
    _check_sigmoid_mode("focal_dice_loss", options.mode)
    check_sigmoid_alpha(options.alpha)
    check_gamma(options.gamma)
    check_non_negative("focal_weight", options.focal_weight)
    check_non_negative("dice_weight", options.dice_weight)
    weights = {"overlap_weight": options.dice_weight, "pixel_weight": options.focal_weight}
    return OverlapTerms(dice_score(options.smooth), **weights, pixel=_focal(options.alpha, options.gamma))


@with_options(BCEDiceOptions)
def bce_dice_loss(predictions: np.ndarray, targets: np.ndarray, options: BCEDiceOptions) -> np.ndarray:
    """Binary cross-entropy with logits plus Dice loss, per sample and class.

    .. math::

        \\mathrm{BCE}(x, t) = \\max(x, 0) - x t + \\log(1 + e^{-|x|})     \\tag{6}

    .. math::

        \\ell_{nc} = w_b \\frac{1}{M} \\sum_i \\mathrm{BCE}(x_{nci}, t_{nci}) + w_d (1 - D_{nc})     \\tag{7}

    over the :math:`M` pixels of a sample (of the batch with ``batch=True``), so ``"mean"`` is
    :math:`w_b` times the mean BCE over every pixel plus :math:`w_d` times the mean Dice loss.
    Modes ``"binary"`` and ``"multilabel"`` only (BCE is a sigmoid loss).

    Args:
        bce_weight, dice_weight: :math:`w_b, w_d \\ge 0`.
        others: as :func:`dice_loss`.

    Differs from the original design: the design adds the scalar BCE to its global Dice, so
    ``reduction`` has no effect; here both terms are per sample and class.
    """
    return overlap_loss(predictions, targets, bce_dice_terms(options), options)


@gradient_of(bce_dice_loss)
def bce_dice_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: BCEDiceOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`bce_dice_loss` w.r.t. the logits; the BCE term contributes

    .. math::

        \\frac{\\partial \\mathrm{BCE}}{\\partial x} = \\sigma(x) - t     \\tag{6'}
    """
    return overlap_loss(predictions, targets, bce_dice_terms(options), options, grad_output=grad_output, want_grad=True)


@with_options(FocalDiceOptions)
def focal_dice_loss(predictions: np.ndarray, targets: np.ndarray, options: FocalDiceOptions) -> np.ndarray:
    """Sigmoid focal loss plus Dice loss, per sample and class.

    With the sigmoid focal loss :math:`FL(x, t)` of
    :func:`lossopt_spec.losses.classification.sigmoid_focal_loss` (Lin et al. 2017, arXiv:1708.02002):

    .. math::

        \\ell_{nc} = w_f \\frac{1}{M} \\sum_i FL(x_{nci}, t_{nci}) + w_d (1 - D_{nc})     \\tag{8}

    Modes ``"binary"`` and ``"multilabel"`` only.

    Args:
        alpha: torchvision's weight of the positive label in [0, 1], or ``None`` (no weighting).
        gamma: focusing exponent >= 0.
        focal_weight, dice_weight: :math:`w_f, w_d \\ge 0`.
        others: as :func:`dice_loss`.

    Differs from the original design: its ``alpha=1.0`` is the softmax focal loss's scalar factor
    (no weighting). With the sigmoid focal loss ``alpha`` weights the positive label and
    ``alpha=1.0`` would give every negative pixel weight 0, so the default here is ``alpha=None``,
    which is the design's ``alpha=1.0``. The design does not say how the two terms combine; here
    they are added with weights 1 (``focal_weight``, ``dice_weight``), per sample and class.
    """
    return overlap_loss(predictions, targets, focal_dice_terms(options), options)


@gradient_of(focal_dice_loss)
def focal_dice_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: FocalDiceOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`focal_dice_loss` w.r.t. the logits; the focal term's derivative is
    :func:`~lossopt_spec.losses.classification.sigmoid_focal_loss_grad` (8')."""
    terms = focal_dice_terms(options)
    return overlap_loss(predictions, targets, terms, options, grad_output=grad_output, want_grad=True)
