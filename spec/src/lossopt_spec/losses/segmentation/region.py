"""Region losses: Dice, IoU (Jaccard), Tversky and focal Tversky, each :math:`(1 - S)^\\gamma` for a score
:math:`S` of the overlap sums (1) of :mod:`~lossopt_spec.losses.segmentation.overlap`.

Mirrored by ``lossopt.functional.segmentation.region``; equation tags match.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from lossopt_spec.losses.segmentation.options import SegmentationOptions, check_non_negative
from lossopt_spec.losses.segmentation.overlap import OverlapTerms, ScoreFn, overlap_loss
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


def dice_score(smooth: float) -> ScoreFn:
    """(2) and its partial derivatives (1')."""

    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = p + t + smooth
        s = (2.0 * i + smooth) / den  # (2) D = (2 I + s) / (P + T + s)
        return s, 2.0 / den, -(2.0 * i + smooth) / den**2

    return score


def iou_score(smooth: float) -> ScoreFn:
    """(3) and its partial derivatives (3')."""

    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = p + t - i + smooth
        s = (i + smooth) / den  # (3) J = (I + s) / (P + T - I + s)
        return s, 1.0 / den + (i + smooth) / den**2, -(i + smooth) / den**2

    return score


def tversky_score(smooth: float, alpha: float, beta: float) -> ScoreFn:
    """(4) and its partial derivatives (4')."""

    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = i + alpha * (p - i) + beta * (t - i) + smooth  # FP = P - I, FN = T - I
        s = (i + smooth) / den  # (4) TI = (I + s) / (I + alpha FP + beta FN + s)
        return s, 1.0 / den - (i + smooth) * (1.0 - alpha - beta) / den**2, -(i + smooth) * alpha / den**2

    return score


def check_tversky(alpha: float, beta: float, gamma: float) -> None:
    """Tversky's weights of false positives and negatives (>= 0) and its focal exponent (> 0)."""
    check_non_negative("alpha", alpha)
    check_non_negative("beta", beta)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")


@dataclass(frozen=True)
class TverskyOptions(SegmentationOptions):
    """The options of :func:`tversky_loss`: Tversky's weights and exponent, then the shared ones."""

    alpha: float = 0.3
    beta: float = 0.7
    _: KW_ONLY
    gamma: float = 1.0


def tversky_terms(options: TverskyOptions) -> OverlapTerms:
    """(4), (5), once :func:`check_tversky` accepts the options."""
    check_tversky(options.alpha, options.beta, options.gamma)
    return OverlapTerms(tversky_score(options.smooth, options.alpha, options.beta), gamma=options.gamma)


@with_options(SegmentationOptions)
def dice_loss(predictions: np.ndarray, targets: np.ndarray, options: SegmentationOptions) -> np.ndarray:
    """Dice loss (Milletari et al. 2016, V-Net, arXiv:1606.04797, without the squares in the denominator).

    .. math::

        D_{nc} = \\frac{2 I_{nc} + s}{P_{nc} + T_{nc} + s}, \\qquad \\ell_{nc} = 1 - D_{nc}     \\tag{2}

    with the overlap sums (1), weighted and reduced as the package docstring describes.

    Args:
        predictions: logits, ``(N, *spatial)`` in mode ``"binary"``, else ``(N, C, *spatial)``.
        targets: float in [0, 1] of the logits' shape, or integer ``(N, *spatial)`` in ``"multiclass"``.
        smooth: :math:`s \\ge 0`, added to numerator and denominator.
        reduction: ``"none"`` (``(N, C')``, or ``(C',)`` with ``batch``) | ``"mean"`` | ``"sum"``.
        mode: ``"binary"`` | ``"multilabel"`` | ``"multiclass"``.
        batch: sum the overlaps over the batch too (the design document's global Dice, per class).
        ignore_index: a target value whose pixels count nowhere (``"multiclass"`` only).
        weight: ``(C,)`` non-negative class weights, normalised to mean 1 over the classes kept.
        include_background: keep class 0 (``False`` drops it from the loss).

    Differs from the original design: see the package docstring (per-sample default, ``batch=True``
    for the design's global Dice). Differs from ``segmentation_models_pytorch``'s ``DiceLoss``: its
    ``smooth`` defaults to 0 and it zeroes the loss of classes absent from the target; here an absent
    class is scored by the formula.
    """
    return overlap_loss(predictions, targets, OverlapTerms(dice_score(options.smooth)), options)


@gradient_of(dice_loss)
def dice_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: SegmentationOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`dice_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial D}{\\partial I} = \\frac{2}{P + T + s}, \\quad
        \\frac{\\partial D}{\\partial P} = -\\frac{2 I + s}{(P + T + s)^2}, \\quad
        \\frac{\\partial \\ell}{\\partial p_i} = -m_i \\left(\\frac{\\partial D}{\\partial I} t_i
        + \\frac{\\partial D}{\\partial P}\\right)     \\tag{1'}

    then through :math:`\\sigma'(x) = p (1 - p)` or the softmax Jacobian.
    """
    terms = OverlapTerms(dice_score(options.smooth))
    return overlap_loss(predictions, targets, terms, options, grad_output=grad_output, want_grad=True)


@with_options(SegmentationOptions)
def iou_loss(predictions: np.ndarray, targets: np.ndarray, options: SegmentationOptions) -> np.ndarray:
    """IoU (Jaccard) loss with soft sets (Rahman & Wang 2016).

    .. math::

        J_{nc} = \\frac{I_{nc} + s}{P_{nc} + T_{nc} - I_{nc} + s}, \\qquad \\ell_{nc} = 1 - J_{nc}     \\tag{3}

    With :math:`s = 0`, :math:`J = D / (2 - D)` for the Dice coefficient :math:`D` of the same inputs.
    Arguments as :func:`dice_loss`.
    """
    return overlap_loss(predictions, targets, OverlapTerms(iou_score(options.smooth)), options)


@gradient_of(iou_loss)
def iou_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: SegmentationOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`iou_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial J}{\\partial I} = \\frac{1}{U + s} + \\frac{I + s}{(U + s)^2}, \\quad
        \\frac{\\partial J}{\\partial P} = -\\frac{I + s}{(U + s)^2}, \\quad U = P + T - I     \\tag{3'}
    """
    terms = OverlapTerms(iou_score(options.smooth))
    return overlap_loss(predictions, targets, terms, options, grad_output=grad_output, want_grad=True)


@with_options(TverskyOptions)
def tversky_loss(predictions: np.ndarray, targets: np.ndarray, options: TverskyOptions) -> np.ndarray:
    """Tversky loss (Salehi et al. 2017, arXiv:1706.05721) and focal Tversky (Abraham & Khan 2019, arXiv:1810.07842).

    .. math::

        TI_{nc} = \\frac{I + s}{I + \\alpha\\, FP + \\beta\\, FN + s}, \\quad FP = P - I, \\quad FN = T - I
        \\tag{4}

    .. math::

        \\ell_{nc} = (1 - TI_{nc})^{\\gamma}     \\tag{5}

    :math:`\\alpha` weights false positives and :math:`\\beta` false negatives (both :math:`\\ge 0`);
    :math:`\\alpha = \\beta = 0.5` is the Dice loss with smooth :math:`2 s`
    (:math:`TI = (2I + 2s) / (P + T + 2s)`), and :math:`\\alpha = \\beta = 1` the IoU loss.

    Args:
        alpha, beta: weights of false positives and false negatives, >= 0.
        gamma: focal exponent, > 0; 1 is the plain Tversky loss.
        others: as :func:`dice_loss`.

    Differs from Abraham & Khan: the paper writes the exponent as :math:`1/\\gamma` (best at
    :math:`\\gamma = 4/3`); here ``gamma`` is the exponent itself (``gamma=0.75`` is the paper's
    setting). At :math:`TI = 1` with :math:`\\gamma < 1` the derivative is infinite; the gradient is
    defined as 0 there (the loss's minimum), so it stays finite.
    """
    return overlap_loss(predictions, targets, tversky_terms(options), options)


@gradient_of(tversky_loss)
def tversky_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: TverskyOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`tversky_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial TI}{\\partial I} = \\frac{1}{d} - \\frac{(I + s)(1 - \\alpha - \\beta)}{d^2}, \\quad
        \\frac{\\partial TI}{\\partial P} = -\\frac{\\alpha (I + s)}{d^2}, \\quad
        \\frac{\\partial \\ell}{\\partial TI} = -\\gamma (1 - TI)^{\\gamma - 1}     \\tag{4'}

    with :math:`d` the denominator of (4).
    """
    return overlap_loss(predictions, targets, tversky_terms(options), options, grad_output=grad_output, want_grad=True)
