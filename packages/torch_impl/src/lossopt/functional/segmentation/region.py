"""Region losses: Dice, IoU (Jaccard), Tversky and focal Tversky, each :math:`(1 - S)^\\gamma` for a score
:math:`S` of the overlap sums (1) of :mod:`~lossopt.functional.segmentation.overlap`.

Mirrors ``lossopt_spec.losses.segmentation.region``; equation tags match.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import torch

from lossopt._signatures import with_options
from lossopt.functional.arguments import check_real
from lossopt.functional.segmentation.options import SegmentationOptions, check_non_negative
from lossopt.functional.segmentation.overlap import OverlapTerms, Score, overlap_loss


def dice_score(smooth: float) -> Score:
    """(2)."""

    def score(i: torch.Tensor, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (2.0 * i + smooth) / (p + t + smooth)  # (2) D = (2 I + s) / (P + T + s)

    return score


def iou_score(smooth: float) -> Score:
    """(3)."""

    def score(i: torch.Tensor, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (i + smooth) / (p + t - i + smooth)  # (3) J = (I + s) / (P + T - I + s)

    return score


def tversky_score(smooth: float, alpha: float, beta: float) -> Score:
    """(4)."""

    def score(i: torch.Tensor, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        den = i + alpha * (p - i) + beta * (t - i) + smooth  # FP = P - I, FN = T - I
        return (i + smooth) / den  # (4) TI = (I + s) / (I + alpha FP + beta FN + s)

    return score


def check_tversky(alpha: float, beta: float, gamma: float) -> None:
    """Tversky's weights of false positives and negatives (>= 0) and its focal exponent (> 0)."""
    check_non_negative("alpha", alpha)
    check_non_negative("beta", beta)
    check_real("gamma", gamma)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")


@with_options(SegmentationOptions)
def dice_loss(predictions: torch.Tensor, targets: torch.Tensor, options: SegmentationOptions) -> torch.Tensor:
    """Dice loss (Milletari et al. 2016, arXiv:1606.04797) per sample and class.

    .. math::

        D_{nc} = \\frac{2 I_{nc} + s}{P_{nc} + T_{nc} + s}, \\qquad \\ell_{nc} = 1 - D_{nc}     \\tag{2}

    with :math:`I = \\sum m p t`, :math:`P = \\sum m p`, :math:`T = \\sum m t` over the pixels (1).

    Args:
        predictions: logits, ``(N, *spatial)`` in mode ``"binary"``, else ``(N, C, *spatial)``.
        targets: float in [0, 1] of the logits' shape, or integer ``(N, *spatial)`` in ``"multiclass"``.
        smooth: :math:`s \\ge 0`, in numerator and denominator. An empty target with an exactly
            empty prediction gives loss 0; with ``smooth=0``, NaN.
        reduction: ``"none"`` (``(N, C')``, or ``(C',)`` with ``batch``) | ``"mean"`` | ``"sum"``.
        mode: ``"binary"`` (sigmoid) | ``"multilabel"`` (sigmoid per class) | ``"multiclass"`` (softmax).
        batch: sum the overlaps over the batch too (the design document's global Dice, per class).
        ignore_index: a target value whose pixels count nowhere (``"multiclass"`` only).
        weight: ``(C,)`` non-negative class weights, normalised to mean 1 over the classes kept.
        include_background: keep class 0 (``False`` drops it).

    Returns:
        ``(N, C')`` / ``(C',)`` for ``"none"``, else 0-d, in ``predictions.dtype``.

    Differs from the original design: its Dice is one scalar over the flattened batch and ignores
    ``reduction``; here the default is per sample and class, ``batch=True`` is the design's.

    Example:
        >>> import torch
        >>> from lossopt.functional import dice_loss
        >>> logits = torch.tensor([[[10.0, -10.0], [-10.0, 10.0]]])  # (N=1, 2, 2)
        >>> round(float(dice_loss(logits, torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]))), 4)
        0.0
    """
    return overlap_loss(predictions, targets, OverlapTerms(dice_score(options.smooth)), options)


@with_options(SegmentationOptions)
def iou_loss(predictions: torch.Tensor, targets: torch.Tensor, options: SegmentationOptions) -> torch.Tensor:
    """IoU (Jaccard) loss with soft sets, per sample and class.

    .. math::

        J_{nc} = \\frac{I + s}{P + T - I + s}, \\qquad \\ell_{nc} = 1 - J_{nc}     \\tag{3}

    With ``smooth=0``, :math:`J = D / (2 - D)`. Arguments as :func:`dice_loss`.

    Example:
        >>> import torch
        >>> from lossopt.functional import iou_loss
        >>> logits = torch.zeros(1, 2)  # p = 0.5 on both pixels, one target pixel: J = 0.5 / 1.5
        >>> round(float(iou_loss(logits, torch.tensor([[1.0, 0.0]]), smooth=0.0)), 4)
        0.6667
    """
    return overlap_loss(predictions, targets, OverlapTerms(iou_score(options.smooth)), options)


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


@with_options(TverskyOptions)
def tversky_loss(predictions: torch.Tensor, targets: torch.Tensor, options: TverskyOptions) -> torch.Tensor:
    """Tversky loss (Salehi et al. 2017, arXiv:1706.05721), focal with ``gamma`` (Abraham & Khan 2019).

    .. math::

        TI = \\frac{I + s}{I + \\alpha (P - I) + \\beta (T - I) + s}, \\qquad \\ell = (1 - TI)^{\\gamma}
        \\tag{4, 5}

    ``alpha`` weights false positives, ``beta`` false negatives (both >= 0); ``alpha = beta = 0.5``
    is Dice with smooth ``2 * smooth``. ``gamma`` is the exponent itself (the paper's
    :math:`1/\\gamma`; ``gamma=0.75`` is its setting); the gradient at ``TI = 1`` is 0.

    Example:
        >>> import torch
        >>> from lossopt.functional import tversky_loss
        >>> logits = torch.zeros(1, 2)  # p = 0.5 0.5, t = 1 0: I = 0.5, FP = 0.5, FN = 0.5
        >>> round(float(tversky_loss(logits, torch.tensor([[1.0, 0.0]]), alpha=0.3, beta=0.7, smooth=0.0)), 4)
        0.5
    """
    return overlap_loss(predictions, targets, tversky_terms(options), options)
