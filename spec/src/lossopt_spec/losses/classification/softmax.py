"""Losses of logits against class indices (or class probabilities): cross-entropy and the softmax focal loss.

Mirrored statement for statement by ``lossopt.functional.classification.softmax``; equation tags match.
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass

import numpy as np
from scipy.special import log_softmax

from lossopt_spec.losses.classification.checks import (
    check_gamma,
    check_unit_interval,
    expand_class_axis,
    first_index,
    index_targets,
    is_index,
)
from lossopt_spec.losses.reduction import Reduction, check_reduction, is_number
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


def check_label_smoothing(label_smoothing: float) -> None:
    if not (is_number(label_smoothing) and 0 <= label_smoothing <= 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1]; got {label_smoothing!r}")


def _logits(predictions: np.ndarray) -> tuple[np.ndarray, int]:
    """The logits as float64 and their number of classes."""
    x = np.asarray(predictions, dtype=np.float64)
    if x.ndim < 1:
        raise ValueError(f"predictions must be logits of shape (N, C, d1, ...) or (C,); got shape {x.shape}")
    return x, x.shape[1] if x.ndim > 1 else x.shape[0]


def _class_weight(weight: np.ndarray | None, classes: int) -> np.ndarray:
    if weight is None:
        return np.ones(classes)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != (classes,):
        raise ValueError(f"weight must have shape (C,) = ({classes},); got {weight.shape}")
    return weight


def _class_axis_view(vector: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) vector shaped to broadcast along axis 1 of an (N, C, d1, ...) array."""
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def _batched(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unbatched logits (C,) gain a batch axis (and their target one); the flag says to drop it again."""
    if predictions.ndim == 1:
        return predictions[None], np.asarray(targets)[None], True
    return predictions, np.asarray(targets), False


@dataclass(frozen=True)
class CrossEntropyOptions:
    """The options of :func:`cross_entropy_loss`, as ``torch.nn.functional.cross_entropy`` orders them."""

    weight: np.ndarray | None = None
    ignore_index: int = -100
    reduction: str = "mean"
    label_smoothing: float = 0.0


def _cross_entropy_terms(
    predictions: np.ndarray, targets: np.ndarray, options: CrossEntropyOptions
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(log p, a, denominator of "mean", valid): the loss is l = -sum_c a_c log p_c per element."""
    check_reduction(options.reduction)
    check_label_smoothing(options.label_smoothing)
    ignore_index, label_smoothing = options.ignore_index, options.label_smoothing
    x, classes = _logits(predictions)
    w = _class_weight(options.weight, classes)
    if is_index(targets):
        t = index_targets(x, targets, ignore_index)
        x, t, _ = _batched(x, t)
        logp = log_softmax(x, axis=1)  # (1) log p = log_softmax(x)
        valid = t != ignore_index
        safe = np.where(valid, t, 0)
        onehot = np.moveaxis(np.eye(classes)[safe], -1, 1)
        w_t = w[safe]
        a = (1.0 - label_smoothing) * expand_class_axis(w_t) * onehot + (label_smoothing / classes) * _class_axis_view(
            w, x.ndim
        )  # (2) a = (1 - eps) w_t onehot(t) + eps / C w
        a = a * expand_class_axis(valid)  # ignored targets contribute nothing
        return logp, a, float(np.sum(w_t * valid)), valid
    t = np.asarray(targets, dtype=np.float64)
    if t.shape != x.shape:
        raise ValueError(
            f"probability targets must have the shape of predictions; got predictions {x.shape} and targets {t.shape}"
        )
    check_unit_interval("targets", t)
    x, t, _ = _batched(x, t)
    logp = log_softmax(x, axis=1)  # (1)
    a = (t * (1.0 - label_smoothing) + label_smoothing / classes) * _class_axis_view(w, x.ndim)  # (2') a = w t'
    valid = np.ones(logp.shape[:1] + logp.shape[2:], dtype=bool)
    return logp, a, float(valid.size), valid


def _reduce_with(elementwise: np.ndarray, reduction: str, denominator: float, unbatched: bool) -> np.ndarray:
    if reduction == "none":
        return elementwise[0] if unbatched else elementwise
    total = np.sum(elementwise)
    if reduction == "sum":
        return np.asarray(total)
    if denominator == 0:  # every target ignored, zero total weight, or an empty batch: NaN, as torch
        return np.asarray(math.nan)
    return np.asarray(total / denominator)


def _upstream_with(
    shape: tuple[int, ...], reduction: str, denominator: float, grad_output: np.ndarray | None, unbatched: bool
) -> np.ndarray:
    """The upstream gradient of each element of the unreduced loss (shape (N, d1, ...))."""
    check_reduction(reduction)
    if grad_output is None:
        grad_output = np.ones(shape if reduction == "none" else ())
    grad_output = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        return np.broadcast_to(grad_output[None] if unbatched else grad_output, shape)
    # "mean" over nothing (zero total weight): NaN, which the callers keep only on counted elements
    scale = 1.0 if reduction == "sum" else (1.0 / denominator if denominator != 0 else math.nan)
    return np.broadcast_to(grad_output * scale, shape)


def _masked(grad: np.ndarray, valid: np.ndarray, unbatched: bool) -> np.ndarray:
    """The gradient exactly 0 at ignored elements (even where "mean" is 0 / 0), without the batch axis that
    unbatched logits gained."""
    grad = np.where(expand_class_axis(valid), grad, 0.0)
    result: np.ndarray = grad[0] if unbatched else grad
    return result


@with_options(CrossEntropyOptions)
def cross_entropy_loss(predictions: np.ndarray, targets: np.ndarray, options: CrossEntropyOptions) -> np.ndarray:
    """Cross-entropy of logits against class indices or class probabilities, as ``torch.nn.functional.cross_entropy``.

    With logits :math:`x \\in \\mathbb{R}^{N \\times C \\times d_1 \\ldots}` (or :math:`(C,)`), class
    weights :math:`w` (ones by default) and smoothing :math:`\\varepsilon`, each element is

    .. math::

        \\log p &= \\mathrm{log\\_softmax}(x) \\text{ over the class axis}     \\tag{1} \\\\
        \\ell &= -\\sum_c a_c \\log p_c     \\tag{2}

    with, for a class index :math:`t` (integer targets of shape :math:`(N, d_1, \\ldots)`),
    :math:`a = (1 - \\varepsilon)\\, w_t\\, e_t + \\tfrac{\\varepsilon}{C} w` and :math:`a = 0` where
    :math:`t` is ``ignore_index``; for probabilities :math:`t` (float targets of the logits' shape),
    :math:`a = w \\odot ((1 - \\varepsilon) t + \\tfrac{\\varepsilon}{C})`  (2').

    ``"mean"`` divides the sum by :math:`\\sum_{i \\text{ not ignored}} w_{t_i}` for class indices
    (so label smoothing is normalised by the same weighted count) and by :math:`N d_1 \\cdots` for
    probabilities. Every target ignored, or an empty batch, gives NaN for ``"mean"`` (0 / 0, as
    torch) with a zero gradient, and 0 for ``"sum"``.

    An independent NumPy/SciPy derivation of torch's semantics (``aten/src/ATen/native/LossNLL.cpp``),
    checked against torch in ``conformance/test_spec_references.py``.

    Differs from torch: probability targets outside [0, 1] are refused (torch accepts any real).
    """
    logp, a, denominator, _ = _cross_entropy_terms(predictions, targets, options)
    elementwise = -np.sum(a * logp, axis=1)  # (2) l = -sum_c a_c log p_c
    return _reduce_with(elementwise, options.reduction, denominator, np.ndim(predictions) == 1)


@gradient_of(cross_entropy_loss)
def cross_entropy_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: CrossEntropyOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`cross_entropy_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial \\ell}{\\partial x_k} = \\Big(\\sum_c a_c\\Big) p_k - a_k     \\tag{2''}

    Zero for ignored elements. ``"mean"`` with a zero total weight (0 / 0) gives NaN on the counted
    elements (targets whose class weight is 0) and 0 on the ignored ones, as torch.
    """
    logp, a, denominator, valid = _cross_entropy_terms(predictions, targets, options)
    unbatched = np.ndim(predictions) == 1
    shape = logp.shape[:1] + logp.shape[2:]
    upstream = _upstream_with(shape, options.reduction, denominator, grad_output, unbatched)
    grad = expand_class_axis(upstream) * (np.sum(a, axis=1, keepdims=True) * np.exp(logp) - a)  # (2'') (sum a) p - a
    return _masked(grad, valid, unbatched)


def check_focal_alpha(alpha: float | np.ndarray, classes: int) -> np.ndarray:
    """The softmax focal alpha: a number >= 0 (every class) or a (C,) array of per-class weights >= 0."""
    values = np.asarray(alpha, dtype=np.float64)
    if values.ndim == 0:
        if not (np.isfinite(values) and values >= 0):
            raise ValueError(f"alpha must be a finite number >= 0 or a (C,) array of them; got {alpha!r}")
        return np.full(classes, float(values))
    if values.shape != (classes,):
        raise ValueError(f"alpha must be a number or have shape (C,) = ({classes},); got shape {values.shape}")
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        index = first_index(bad)
        raise ValueError(f"alpha must be finite and >= 0; got {float(values[index])!r} at index {index}")
    return values


@dataclass(frozen=True)
class FocalOptions(Reduction):
    """The options of :func:`focal_loss`: the per-class ``alpha`` and ``gamma``, the reduction, ``ignore_index``."""

    alpha: float | np.ndarray = 1.0
    gamma: float = 2.0
    _: KW_ONLY
    ignore_index: int = -100


def _focal_terms(
    predictions: np.ndarray, targets: np.ndarray, options: FocalOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(log p, targets made safe, valid, alpha_t, log p_t) for (N, C, d1, ...) logits."""
    check_reduction(options.reduction)
    check_gamma(options.gamma)
    ignore_index = options.ignore_index
    x, classes = _logits(predictions)
    if not is_index(targets):
        raise ValueError(
            f"focal_loss takes class-index targets (an integer array); got dtype {np.asarray(targets).dtype}"
        )
    alphas = check_focal_alpha(options.alpha, classes)
    t = index_targets(x, targets, ignore_index)
    x, t, _ = _batched(x, t)
    logp = log_softmax(x, axis=1)  # (1) log p = log_softmax(x)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    logp_t = np.take_along_axis(logp, expand_class_axis(safe), axis=1)[:, 0]  # (5) l = log p_t
    return logp, safe, valid, alphas[safe], logp_t


@with_options(FocalOptions)
def focal_loss(predictions: np.ndarray, targets: np.ndarray, options: FocalOptions) -> np.ndarray:
    """Softmax (multi-class) focal loss (Lin et al. 2017, https://arxiv.org/abs/1708.02002, eq. 5).

    With logits of shape :math:`(N, C, d_1, \\ldots)` (or :math:`(C,)`), class-index targets
    :math:`t`, :math:`l = \\log p_t` from (1):

    .. math::

        q &= 1 - p_t = -\\mathrm{expm1}(l)     \\tag{5} \\\\
        \\ell &= -\\alpha_t\\, q^{\\gamma}\\, l     \\tag{6}

    0 where :math:`t` is ``ignore_index``. ``"mean"`` divides by the number of targets not ignored
    (NaN when there are none, as cross-entropy), *not* by :math:`\\sum \\alpha_t`: alpha is a
    per-class factor (the paper's alpha-balanced form), unlike cross-entropy's ``weight``. With
    ``gamma=0`` and ``alpha=1`` it is :func:`cross_entropy_loss` exactly.

    Alpha conventions: here ``alpha`` is a per-class weight (a number applies to every class;
    default 1.0); in :func:`sigmoid_focal_loss` (torchvision's) it weights the positive label and
    ``1 - alpha`` the negative one.

    Differs from the original design: its ``(1 - pt) ** gamma`` with ``pt = exp(-ce)`` has an
    infinite derivative at :math:`p_t = 1` for :math:`\\gamma < 1`, which becomes NaN gradients;
    the gradient below (6') is finite for every gamma >= 0. It also computes
    :math:`q` as ``-expm1(l)``, accurate where :math:`p_t` is near 1, and adds ``ignore_index``
    and per-class ``alpha``.
    """
    _, _, valid, alpha_t, logp_t = _focal_terms(predictions, targets, options)
    q = -np.expm1(logp_t)  # (5) q = 1 - p_t
    elementwise = np.where(valid, -alpha_t * q**options.gamma * logp_t, 0.0)  # (6) l = -alpha_t q^gamma log p_t
    return _reduce_with(elementwise, options.reduction, float(np.sum(valid)), np.ndim(predictions) == 1)


@gradient_of(focal_loss)
def focal_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: FocalOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`focal_loss` w.r.t. the logits.

    With :math:`p = p_t`, :math:`q = 1 - p`, :math:`l = \\log p` and :math:`\\rho = l / q`
    (:math:`\\rho \\to -1` as :math:`q \\to 0`; :math:`\\rho := -1` at :math:`q = 0`):

    .. math::

        \\frac{\\partial \\ell}{\\partial l} &= \\alpha_t\\, q^{\\gamma} (\\gamma\\, p\\, \\rho - 1)     \\tag{6'} \\\\
        \\frac{\\partial \\ell}{\\partial x_k} &= \\frac{\\partial \\ell}{\\partial l} (e_t - \\mathrm{softmax}(x))_k

    finite for every gamma >= 0: the chain rule's :math:`\\gamma q^{\\gamma - 1} p\\, l` (infinite times
    zero at :math:`p_t = 1` for gamma < 1) is written :math:`\\gamma q^{\\gamma} p\\, \\rho`, where
    :math:`p \\rho = p \\log p / (1 - p)` is bounded (it tends to -1 as p -> 1 and to 0 as p -> 0).
    """
    logp, safe, valid, alpha_t, logp_t = _focal_terms(predictions, targets, options)
    unbatched = np.ndim(predictions) == 1
    upstream = _upstream_with(logp_t.shape, options.reduction, float(np.sum(valid)), grad_output, unbatched)
    gamma = options.gamma
    q = -np.expm1(logp_t)  # (5)
    p = np.exp(logp_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(q > 0, logp_t / q, -1.0)  # (6') rho = l / q
    dl = alpha_t * q**gamma * (gamma * p * rho - 1.0)  # (6') dloss/dl
    onehot = np.moveaxis(np.eye(logp.shape[1])[safe], -1, 1)
    grad = expand_class_axis(upstream * dl) * (onehot - np.exp(logp))  # (6') times (e_t - softmax)
    return _masked(grad, valid, unbatched)
