"""Segmentation losses: Dice, IoU (Jaccard), Tversky (and focal Tversky), BCE + Dice, focal + Dice.

Mirrored by ``lossopt.functional.segmentation``; equation tags match.

Every loss here is computed from three overlap sums per sample ``n`` and class ``c`` (or per class
over the whole batch with ``batch=True``). With logits :math:`x`, probabilities :math:`p`, targets
:math:`t \\in [0, 1]` (one-hot for integer targets) and a mask :math:`m` (0 on ``ignore_index``
pixels, else 1), summed over the pixels :math:`i`:

.. math::

    I_{nc} = \\sum_i m_{ni} p_{nci} t_{nci}, \\qquad
    P_{nc} = \\sum_i m_{ni} p_{nci}, \\qquad
    T_{nc} = \\sum_i m_{ni} t_{nci}     \\tag{1}

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

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lossopt_spec.losses.classification import (
    check_gamma,
    check_sigmoid_alpha,
    check_unit_interval,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
)
from lossopt_spec.losses.reduction import reduce, reduce_grad

MODES = ("binary", "multilabel", "multiclass")

# A score S(I, P, T) and its partial derivatives dS/dI, dS/dP (T does not depend on the logits).
ScoreFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
# A per-pixel loss of logits and targets: (elementwise value, elementwise derivative w.r.t. the logits).
PixelLoss = tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]]


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


def check_options(
    mode: str,
    smooth: float,
    ignore_index: int | None,
    include_background: bool,
) -> None:
    """Validate the options shared by every segmentation loss (``ValueError`` naming the argument)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if not smooth >= 0:
        raise ValueError(f"smooth must be >= 0; got {smooth!r}")
    if ignore_index is not None and mode != "multiclass":
        raise ValueError(
            f"ignore_index applies to integer targets (mode='multiclass'); got ignore_index={ignore_index!r} "
            f"with mode={mode!r}"
        )
    if not include_background and mode == "binary":
        raise ValueError("include_background=False needs a class axis; mode='binary' has one class")


def check_non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0; got {value!r}")


def _flatten(
    predictions: np.ndarray, targets: np.ndarray, mode: str, ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits ``(N, C, M)``, float targets ``(N, C, M)`` (one-hot in multiclass) and mask ``(N, 1, M)``."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets)
    if mode == "multiclass":
        if predictions.ndim < 2:
            raise ValueError(
                f"predictions must have shape (N, C, *spatial) in mode 'multiclass'; got {predictions.shape}"
            )
        expected = (predictions.shape[0], *predictions.shape[2:])
        if targets.shape != expected:
            raise ValueError(
                f"targets must have shape (N, *spatial) = {expected} for predictions {predictions.shape} in mode "
                f"'multiclass'; got targets {targets.shape}"
            )
        if not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(f"targets must hold integer class indices in mode 'multiclass'; got dtype {targets.dtype}")
        n, c = predictions.shape[:2]
        m = int(np.prod(predictions.shape[2:]))  # explicit, so that an empty batch reshapes too
        labels = targets.reshape(n, m).astype(np.int64)
        ignored = labels == ignore_index if ignore_index is not None else np.zeros(labels.shape, dtype=bool)
        bad = (~ignored) & ((labels < 0) | (labels >= c))
        if bad.any():
            raise ValueError(
                f"targets must hold class indices in [0, {c}) or ignore_index={ignore_index!r}; "
                f"got {int(labels[bad][0])}"
            )
        mask = (~ignored).astype(np.float64)[:, None, :]
        one_hot = (labels[:, None, :] == np.arange(c)[None, :, None]).astype(np.float64) * mask
        return predictions.reshape(n, c, m), one_hot, mask
    if predictions.ndim < (1 if mode == "binary" else 2):
        raise ValueError(f"predictions must have shape (N, C, *spatial) in mode {mode!r}; got {predictions.shape}")
    if targets.shape != predictions.shape:
        raise ValueError(
            f"targets must have the shape of predictions in mode {mode!r}; got predictions {predictions.shape} "
            f"and targets {targets.shape}"
        )
    if np.issubdtype(targets.dtype, np.floating):  # soft or hard labels: probabilities (bool/int masks pass)
        check_unit_interval("targets", targets)
    n = predictions.shape[0]
    c = 1 if mode == "binary" else predictions.shape[1]
    m = int(np.prod(predictions.shape[1:])) // c if c else 0
    x = predictions.reshape(n, c, m)
    return x, np.asarray(targets, dtype=np.float64).reshape(n, c, m), np.ones((n, 1, m))


def _probabilities(x: np.ndarray, mode: str) -> np.ndarray:
    if mode == "multiclass":
        shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return np.asarray(e / e.sum(axis=1, keepdims=True))
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))  # sigma(x), without overflow for large |x|


def _logits_vjp(p: np.ndarray, grad_p: np.ndarray, mode: str) -> np.ndarray:
    """The gradient w.r.t. the logits from the gradient w.r.t. the probabilities."""
    if mode == "multiclass":
        return np.asarray(p * (grad_p - np.sum(grad_p * p, axis=1, keepdims=True)))  # softmax'
    return np.asarray(p * (1.0 - p) * grad_p)  # sigma' = p (1 - p)


def _class_weights(weight: np.ndarray | None, c: int, include_background: bool) -> np.ndarray:
    """Weights of the kept classes normalised to mean 1, shape ``(C',)``."""
    if weight is None:
        return np.ones(c if include_background else c - 1)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != (c,):
        raise ValueError(f"weight must have shape (C,) = ({c},); got {weight.shape}")
    kept = weight if include_background else weight[1:]
    if (kept < 0).any() or not kept.sum() > 0:
        raise ValueError(
            f"weight must be non-negative with a positive sum over the classes kept; got {weight.tolist()}"
        )
    return np.asarray(kept * kept.size / kept.sum())


def _sums(values: np.ndarray, batch: bool) -> np.ndarray:
    """Sum over the pixels, and over the batch too with ``batch=True``: ``(N, C)`` or ``(C,)``."""
    total = values.sum(axis=2)
    return np.asarray(total.sum(axis=0) if batch else total)


def _overlap_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    score: ScoreFn,
    *,
    gamma: float,
    pixel_weight: float,
    overlap_weight: float,
    mode: str,
    smooth: float,
    batch: bool,
    ignore_index: int | None,
    weight: np.ndarray | None,
    include_background: bool,
    reduction: str,
    grad_output: np.ndarray | None,
    want_grad: bool,
    pixel: PixelLoss | None = None,
) -> np.ndarray:
    """Value (``want_grad=False``) or VJP w.r.t. the logits of ``pixel_weight * pixel + overlap_weight * loss``.

    The per-(sample, class) overlap loss is :math:`(1 - S)^\\gamma` for the score :math:`S`; the
    pixel term (BCE, or sigmoid focal) is averaged over the pixels of a sample (of the batch).
    """
    check_options(mode, smooth, ignore_index, include_background)
    x, t, m = _flatten(predictions, targets, mode, ignore_index)
    c = x.shape[1]
    if not include_background and c < 2:
        raise ValueError(f"include_background=False needs at least 2 classes; predictions have C={c}")
    w = _class_weights(weight, c, include_background)
    p = _probabilities(x, mode)
    intersection = _sums(m * p * t, batch)  # (1) I = sum m p t
    predicted = _sums(m * p, batch)  # (1) P = sum m p
    target = _sums(m * t, batch)  # (1) T = sum m t
    s, ds_di, ds_dp = score(intersection, predicted, target)
    base = np.maximum(1.0 - s, 0.0)
    overlap = base**gamma  # (5) l = (1 - S)^gamma (gamma = 1: Dice, IoU, Tversky)
    per_class = overlap_weight * overlap
    if pixel_weight != 0.0:
        assert pixel is not None
        count = x.shape[2] * (x.shape[0] if batch else 1)
        per_pixel = pixel[0](x, t)  # (6) BCE(x, t) or (8) the sigmoid focal loss
        per_class = per_class + pixel_weight * _sums(per_pixel, batch) / count  # (7) l = w_p pixel + w_d l_overlap
    if not include_background:
        per_class = per_class[..., 1:]
    elementwise = per_class * w
    if not want_grad:
        return reduce(elementwise, reduction)
    upstream = reduce_grad(elementwise.shape, reduction, grad_output) * w
    if not include_background:
        upstream = np.concatenate([np.zeros((*upstream.shape[:-1], 1)), upstream], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dl_ds = np.where(base > 0, -gamma * base ** (gamma - 1.0), 0.0) if gamma != 1.0 else -np.ones_like(s)
    g_overlap = upstream * overlap_weight * dl_ds
    g_i, g_p = g_overlap * ds_di, g_overlap * ds_dp
    if batch:
        g_i, g_p = g_i[None], g_p[None]
    grad_p = m * (g_i[..., None] * t + g_p[..., None])  # (1') dl/dp = m (dl/dI t + dl/dP)
    grad_x = _logits_vjp(p, grad_p, mode)
    if pixel_weight != 0.0:
        assert pixel is not None
        g_b = upstream * pixel_weight / count
        grad_x = grad_x + (g_b[None] if batch else g_b)[..., None] * pixel[1](x, t)  # (6') dBCE/dx = p - t, (8')
    return np.asarray(grad_x.reshape(np.shape(predictions)))


def _dice_score(smooth: float) -> ScoreFn:
    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = p + t + smooth
        s = (2.0 * i + smooth) / den  # (2) D = (2 I + s) / (P + T + s)
        return s, 2.0 / den, -(2.0 * i + smooth) / den**2

    return score


def _iou_score(smooth: float) -> ScoreFn:
    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = p + t - i + smooth
        s = (i + smooth) / den  # (3) J = (I + s) / (P + T - I + s)
        return s, 1.0 / den + (i + smooth) / den**2, -(i + smooth) / den**2

    return score


def _tversky_score(smooth: float, alpha: float, beta: float) -> ScoreFn:
    def score(i: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        den = i + alpha * (p - i) + beta * (t - i) + smooth  # FP = P - I, FN = T - I
        s = (i + smooth) / den  # (4) TI = (I + s) / (I + alpha FP + beta FN + s)
        return s, 1.0 / den - (i + smooth) * (1.0 - alpha - beta) / den**2, -(i + smooth) * alpha / den**2

    return score


def dice_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
    """Dice loss (Milletari et al. 2016, V-Net, arXiv:1606.04797, without the squares in the denominator).

    .. math::

        D_{nc} = \\frac{2 I_{nc} + s}{P_{nc} + T_{nc} + s}, \\qquad \\ell_{nc} = 1 - D_{nc}     \\tag{2}

    with the overlap sums (1) of the module docstring, weighted and reduced as described there.

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

    Differs from the original design: see the module docstring (per-sample default, ``batch=True``
    for the design's global Dice). Differs from ``segmentation_models_pytorch``'s ``DiceLoss``: its
    ``smooth`` defaults to 0 and it zeroes the loss of classes absent from the target; here an absent
    class is scored by the formula.
    """
    return _overlap_loss(
        predictions,
        targets,
        _dice_score(smooth),
        gamma=1.0,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=None,
        want_grad=False,
    )


def dice_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`dice_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial D}{\\partial I} = \\frac{2}{P + T + s}, \\quad
        \\frac{\\partial D}{\\partial P} = -\\frac{2 I + s}{(P + T + s)^2}, \\quad
        \\frac{\\partial \\ell}{\\partial p_i} = -m_i \\left(\\frac{\\partial D}{\\partial I} t_i
        + \\frac{\\partial D}{\\partial P}\\right)     \\tag{1'}

    then through :math:`\\sigma'(x) = p (1 - p)` or the softmax Jacobian.
    """
    return _overlap_loss(
        predictions,
        targets,
        _dice_score(smooth),
        gamma=1.0,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=grad_output,
        want_grad=True,
    )


def iou_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
    """IoU (Jaccard) loss with soft sets (Rahman & Wang 2016).

    .. math::

        J_{nc} = \\frac{I_{nc} + s}{P_{nc} + T_{nc} - I_{nc} + s}, \\qquad \\ell_{nc} = 1 - J_{nc}     \\tag{3}

    With :math:`s = 0`, :math:`J = D / (2 - D)` for the Dice coefficient :math:`D` of the same inputs.
    Arguments as :func:`dice_loss`.
    """
    return _overlap_loss(
        predictions,
        targets,
        _iou_score(smooth),
        gamma=1.0,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=None,
        want_grad=False,
    )


def iou_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`iou_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial J}{\\partial I} = \\frac{1}{U + s} + \\frac{I + s}{(U + s)^2}, \\quad
        \\frac{\\partial J}{\\partial P} = -\\frac{I + s}{(U + s)^2}, \\quad U = P + T - I     \\tag{3'}
    """
    return _overlap_loss(
        predictions,
        targets,
        _iou_score(smooth),
        gamma=1.0,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=grad_output,
        want_grad=True,
    )


def tversky_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float = 0.3,
    beta: float = 0.7,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    gamma: float = 1.0,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
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
    check_non_negative("alpha", alpha)
    check_non_negative("beta", beta)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    return _overlap_loss(
        predictions,
        targets,
        _tversky_score(smooth, alpha, beta),
        gamma=gamma,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=None,
        want_grad=False,
    )


def tversky_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float = 0.3,
    beta: float = 0.7,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    gamma: float = 1.0,
    mode: str = "binary",
    batch: bool = False,
    ignore_index: int | None = None,
    weight: np.ndarray | None = None,
    include_background: bool = True,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`tversky_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial TI}{\\partial I} = \\frac{1}{d} - \\frac{(I + s)(1 - \\alpha - \\beta)}{d^2}, \\quad
        \\frac{\\partial TI}{\\partial P} = -\\frac{\\alpha (I + s)}{d^2}, \\quad
        \\frac{\\partial \\ell}{\\partial TI} = -\\gamma (1 - TI)^{\\gamma - 1}     \\tag{4'}

    with :math:`d` the denominator of (4).
    """
    check_non_negative("alpha", alpha)
    check_non_negative("beta", beta)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    return _overlap_loss(
        predictions,
        targets,
        _tversky_score(smooth, alpha, beta),
        gamma=gamma,
        pixel_weight=0.0,
        overlap_weight=1.0,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=ignore_index,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=grad_output,
        want_grad=True,
    )


def _check_sigmoid_mode(name: str, mode: str) -> None:
    if mode == "multiclass":
        raise ValueError(
            f"{name} takes mode 'binary' or 'multilabel' (sigmoid outputs); got mode='multiclass' "
            "(one-hot encode the targets and use mode='multilabel')"
        )


def bce_dice_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    bce_weight: float = 0.5,
    dice_weight: float = 0.5,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    weight: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
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
    _check_sigmoid_mode("bce_dice_loss", mode)
    check_non_negative("bce_weight", bce_weight)
    check_non_negative("dice_weight", dice_weight)
    return _overlap_loss(
        predictions,
        targets,
        _dice_score(smooth),
        gamma=1.0,
        pixel_weight=bce_weight,
        overlap_weight=dice_weight,
        pixel=_BCE,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=None,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=None,
        want_grad=False,
    )


def bce_dice_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    bce_weight: float = 0.5,
    dice_weight: float = 0.5,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    mode: str = "binary",
    batch: bool = False,
    weight: np.ndarray | None = None,
    include_background: bool = True,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`bce_dice_loss` w.r.t. the logits; the BCE term contributes

    .. math::

        \\frac{\\partial \\mathrm{BCE}}{\\partial x} = \\sigma(x) - t     \\tag{6'}
    """
    _check_sigmoid_mode("bce_dice_loss", mode)
    check_non_negative("bce_weight", bce_weight)
    check_non_negative("dice_weight", dice_weight)
    return _overlap_loss(
        predictions,
        targets,
        _dice_score(smooth),
        gamma=1.0,
        pixel_weight=bce_weight,
        overlap_weight=dice_weight,
        pixel=_BCE,
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=None,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=grad_output,
        want_grad=True,
    )


def _focal_dice(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | None,
    gamma: float,
    smooth: float,
    reduction: str,
    focal_weight: float,
    dice_weight: float,
    mode: str,
    batch: bool,
    weight: np.ndarray | None,
    include_background: bool,
    grad_output: np.ndarray | None,
    want_grad: bool,
) -> np.ndarray:
    _check_sigmoid_mode("focal_dice_loss", mode)
    check_sigmoid_alpha(alpha)
    check_gamma(gamma)
    check_non_negative("focal_weight", focal_weight)
    check_non_negative("dice_weight", dice_weight)
    return _overlap_loss(
        predictions,
        targets,
        _dice_score(smooth),
        gamma=1.0,
        pixel_weight=focal_weight,
        overlap_weight=dice_weight,
        pixel=_focal(alpha, gamma),
        mode=mode,
        smooth=smooth,
        batch=batch,
        ignore_index=None,
        weight=weight,
        include_background=include_background,
        reduction=reduction,
        grad_output=grad_output,
        want_grad=want_grad,
    )


def focal_dice_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | None = None,
    gamma: float = 2.0,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    focal_weight: float = 1.0,
    dice_weight: float = 1.0,
    mode: str = "binary",
    batch: bool = False,
    weight: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
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
    return _focal_dice(
        predictions, targets, alpha, gamma, smooth, reduction, focal_weight, dice_weight, mode, batch, weight,
        include_background, None, False,
    )  # fmt: skip


def focal_dice_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | None = None,
    gamma: float = 2.0,
    smooth: float = 1e-6,
    reduction: str = "mean",
    *,
    focal_weight: float = 1.0,
    dice_weight: float = 1.0,
    mode: str = "binary",
    batch: bool = False,
    weight: np.ndarray | None = None,
    include_background: bool = True,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`focal_dice_loss` w.r.t. the logits; the focal term's derivative is
    :func:`~lossopt_spec.losses.classification.sigmoid_focal_loss_grad` (8')."""
    return _focal_dice(
        predictions, targets, alpha, gamma, smooth, reduction, focal_weight, dice_weight, mode, batch, weight,
        include_background, grad_output, True,
    )  # fmt: skip
