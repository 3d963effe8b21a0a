"""Classification losses: sigmoid focal (binary / multi-label), cross-entropy, softmax focal, hinge.

Mirrored statement for statement by ``lossopt.functional.classification``; equation tags match.

Error messages are part of the contract: the torch side raises the same ``ValueError`` text
for the same input (``conformance/test_loss_errors.py``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, log_softmax

from lossopt_spec.losses.reduction import check_reduction, reduce, reduce_grad


def _float_pair(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same shape; got predictions {predictions.shape} "
            f"and targets {targets.shape}"
        )
    return predictions, targets


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_unit_interval(name: str, values: np.ndarray) -> None:
    """``ValueError`` naming the argument, the first value outside [0, 1] and its index."""
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        index = _first_index(bad)
        raise ValueError(f"{name} must be probabilities in [0, 1]; got {float(values[index])!r} at index {index}")


def check_gamma(gamma: float) -> None:
    """``gamma`` is the focusing exponent: a finite number >= 0."""
    if not (isinstance(gamma, int | float) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}")


def check_sigmoid_alpha(alpha: float | None) -> None:
    """The torchvision alpha: a number in [0, 1], or ``None`` for no class weighting."""
    if alpha is None:
        return
    if not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
        raise ValueError(
            f"alpha must be a number in [0, 1] or None (no weighting; torchvision's alpha=-1); got {alpha!r}"
        )


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow."""
    result: np.ndarray = np.logaddexp(0.0, x)
    return result


def sigmoid_focal_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> np.ndarray:
    """Sigmoid focal loss for binary and multi-label classification (Lin et al. 2017).

    Lin, Goyal, Girshick, He, Dollár, *Focal Loss for Dense Object Detection*, ICCV 2017,
    https://arxiv.org/abs/1708.02002 (eq. 5 with the alpha of section 3.1), as
    ``torchvision.ops.sigmoid_focal_loss`` implements it.

    With logits :math:`x`, targets :math:`t \\in [0, 1]` (hard 0/1 labels or soft labels),
    :math:`p = \\sigma(x)`:

    .. math::

        ce &= t\\,\\mathrm{softplus}(-x) + (1 - t)\\,\\mathrm{softplus}(x)     \\tag{1} \\\\
        q &= 1 - p_t = t\\,\\sigma(-x) + (1 - t)\\,\\sigma(x)     \\tag{2} \\\\
        \\alpha_t &= \\alpha t + (1 - \\alpha)(1 - t) \\quad (1 \\text{ if } \\alpha \\text{ is None})  \\tag{3} \\\\
        \\ell &= \\alpha_t\\, q^{\\gamma}\\, ce     \\tag{4}

    then reduced by ``reduction`` (``"mean"`` is the plain mean over all elements).

    Alpha conventions: here (torchvision's) ``alpha`` weights the *positive* label and
    ``1 - alpha`` the negative one (default 0.25, the paper's value for gamma = 2). The softmax
    :func:`focal_loss` instead takes ``alpha`` as a per-class weight (a scalar multiplies every
    class, default 1.0), so ``alpha=0.25`` there scales the whole loss, not the positives.

    Args:
        predictions: logits, any shape.
        targets: same shape, values in [0, 1].
        alpha: weight of the positive label in [0, 1], or ``None`` for no weighting.
        gamma: focusing exponent, >= 0; ``gamma = 0`` gives (alpha-weighted) binary cross-entropy.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Differs from torchvision: ``reduction`` defaults to ``"mean"`` (torchvision: ``"none"``);
    no weighting is ``alpha=None`` (torchvision: any ``alpha < 0``, refused here as a likely
    mistake); targets outside [0, 1] are refused; :math:`1 - p_t` is computed as (2), accurate
    where :math:`p_t` rounds to 1, instead of ``1 - p_t``; and the gradient is finite for every
    gamma >= 0 (torchvision's autograd gives NaN for gamma < 1 where :math:`p_t` = 1).
    """
    check_reduction(reduction)
    check_sigmoid_alpha(alpha)
    check_gamma(gamma)
    predictions, targets = _float_pair(predictions, targets)
    check_unit_interval("targets", targets)
    x, t = predictions, targets
    ce = t * _softplus(-x) + (1.0 - t) * _softplus(x)  # (1) ce = t softplus(-x) + (1 - t) softplus(x)
    q = t * expit(-x) + (1.0 - t) * expit(x)  # (2) q = 1 - p_t
    alpha_t = 1.0 if alpha is None else alpha * t + (1.0 - alpha) * (1.0 - t)  # (3) alpha_t
    elementwise = alpha_t * q**gamma * ce  # (4) l = alpha_t q^gamma ce
    return reduce(elementwise, reduction)


def sigmoid_focal_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
    *,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of :func:`sigmoid_focal_loss` with respect to the logits.

    With :math:`dce/dx = p - t` and :math:`dq/dx = p (1 - p)(1 - 2t) = \\rho\\, q`:

    .. math::

        \\frac{\\partial \\ell}{\\partial x} = \\alpha_t\\, q^{\\gamma}
            \\left(\\gamma\\, \\rho\\, ce + p - t\\right),
        \\qquad \\rho = \\frac{p (1 - p)(1 - 2t)}{q}     \\tag{4'}

    :math:`|\\rho| \\le 1` everywhere, and where :math:`q = 0` (hard target, saturated logit)
    its limit is :math:`1 - 2t`; so the gradient is finite for every gamma >= 0, unlike the
    chain rule through :math:`q^{\\gamma}` whose :math:`\\gamma q^{\\gamma - 1}` is infinite there.
    """
    check_reduction(reduction)
    check_sigmoid_alpha(alpha)
    check_gamma(gamma)
    predictions, targets = _float_pair(predictions, targets)
    check_unit_interval("targets", targets)
    upstream = reduce_grad(predictions.shape, reduction, grad_output)
    x, t = predictions, targets
    p, one_minus_p = expit(x), expit(-x)
    ce = t * _softplus(-x) + (1.0 - t) * _softplus(x)  # (1)
    q = t * one_minus_p + (1.0 - t) * p  # (2)
    alpha_t = 1.0 if alpha is None else alpha * t + (1.0 - alpha) * (1.0 - t)  # (3)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(q > 0, p * one_minus_p * (1.0 - 2.0 * t) / q, 1.0 - 2.0 * t)  # (4') rho = q'/q
    grad: np.ndarray = upstream * alpha_t * q**gamma * (gamma * rho * ce + (p - t))  # (4') dl/dx
    return grad


# --- class-index targets ------------------------------------------------------------------------


def check_label_smoothing(label_smoothing: float) -> None:
    if not (isinstance(label_smoothing, int | float) and 0 <= label_smoothing <= 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1]; got {label_smoothing!r}")


def _is_index(targets: np.ndarray) -> bool:
    return np.asarray(targets).dtype.kind in "iu"


def _logits(predictions: np.ndarray) -> np.ndarray:
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim < 1:
        raise ValueError(f"predictions must be logits of shape (N, C, d1, ...) or (C,); got shape {predictions.shape}")
    return predictions


def _index_targets(predictions: np.ndarray, targets: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """Check class-index targets: shape (N, d1, ...) for logits (N, C, d1, ...), values in [0, C) or ignore_index."""
    targets = np.asarray(targets)
    expected = predictions.shape[:1] + predictions.shape[2:] if predictions.ndim > 1 else ()
    if targets.shape != expected:
        raise ValueError(
            f"class-index targets must have shape (N, d1, ...) = {expected} for predictions {predictions.shape}; "
            f"got targets {targets.shape}"
        )
    check_class_indices(targets, predictions.shape[1] if predictions.ndim > 1 else predictions.shape[0], ignore_index)
    return targets.astype(np.int64)


def check_class_indices(targets: np.ndarray, classes: int, ignore_index: int | None) -> None:
    """``ValueError`` naming the first target outside [0, C) (other than ``ignore_index``) and its index."""
    bad = ((targets < 0) | (targets >= classes)) & (targets != ignore_index)
    if bad.any():
        index = _first_index(bad)
        allowed = f"[0, {classes})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        raise ValueError(f"targets must be class indices in {allowed}; got {int(targets[index])} at index {index}")


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


def _cross_entropy_terms(
    predictions: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
    label_smoothing: float,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(log p, a, denominator of "mean", valid): the loss is l = -sum_c a_c log p_c per element."""
    x = _logits(predictions)
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = _class_weight(weight, classes)
    if _is_index(targets):
        t = _index_targets(x, targets, ignore_index)
        x, t, _ = _batched(x, t)
        logp = log_softmax(x, axis=1)  # (1) log p = log_softmax(x)
        valid = t != ignore_index
        safe = np.where(valid, t, 0)
        onehot = np.moveaxis(np.eye(classes)[safe], -1, 1)
        w_t = w[safe]
        a = (1.0 - label_smoothing) * _expand(w_t) * onehot + (label_smoothing / classes) * _class_axis_view(
            w, x.ndim
        )  # (2) a = (1 - eps) w_t onehot(t) + eps / C w
        a = a * _expand(valid)  # ignored targets contribute nothing
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


def _expand(per_element: np.ndarray) -> np.ndarray:
    """(N, d1, ...) -> (N, 1, d1, ...), to broadcast along the class axis."""
    return np.expand_dims(per_element, 1)


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


def cross_entropy_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
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
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    logp, a, denominator, _ = _cross_entropy_terms(predictions, targets, weight, ignore_index, label_smoothing)
    elementwise = -np.sum(a * logp, axis=1)  # (2) l = -sum_c a_c log p_c
    return _reduce_with(elementwise, reduction, denominator, np.ndim(predictions) == 1)


def cross_entropy_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`cross_entropy_loss` w.r.t. the logits.

    .. math::

        \\frac{\\partial \\ell}{\\partial x_k} = \\Big(\\sum_c a_c\\Big) p_k - a_k     \\tag{2''}

    Zero for ignored elements. ``"mean"`` with a zero total weight (0 / 0) gives NaN on the counted
    elements (targets whose class weight is 0) and 0 on the ignored ones, as torch.
    """
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    logp, a, denominator, valid = _cross_entropy_terms(predictions, targets, weight, ignore_index, label_smoothing)
    unbatched = np.ndim(predictions) == 1
    upstream = _upstream_with(logp.shape[:1] + logp.shape[2:], reduction, denominator, grad_output, unbatched)
    grad = _expand(upstream) * (np.sum(a, axis=1, keepdims=True) * np.exp(logp) - a)  # (2'') (sum a) p - a
    grad = np.where(_expand(valid), grad, 0.0)  # ignored elements: exactly 0, even when "mean" is 0 / 0
    result: np.ndarray = grad[0] if unbatched else grad
    return result


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
        index = _first_index(bad)
        raise ValueError(f"alpha must be finite and >= 0; got {float(values[index])!r} at index {index}")
    return values


def _focal_terms(
    predictions: np.ndarray, targets: np.ndarray, alpha: float | np.ndarray, gamma: float, ignore_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(log p, targets made safe, valid, alpha_t, log p_t) for (N, C, d1, ...) logits."""
    check_gamma(gamma)
    x = _logits(predictions)
    if not _is_index(targets):
        raise ValueError(
            f"focal_loss takes class-index targets (an integer array); got dtype {np.asarray(targets).dtype}"
        )
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    alphas = check_focal_alpha(alpha, classes)
    t = _index_targets(x, targets, ignore_index)
    x, t, _ = _batched(x, t)
    logp = log_softmax(x, axis=1)  # (1) log p = log_softmax(x)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    logp_t = np.take_along_axis(logp, _expand(safe), axis=1)[:, 0]  # (5) l = log p_t
    return logp, safe, valid, alphas[safe], logp_t


def focal_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | np.ndarray = 1.0,
    gamma: float = 2.0,
    reduction: str = "mean",
    *,
    ignore_index: int = -100,
) -> np.ndarray:
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
    infinite derivative at :math:`p_t = 1` for :math:`\\gamma < 1`, which becomes NaN gradients
    (KNOWN_DEFECTS #10); the gradient below (6') is finite for every gamma >= 0. It also computes
    :math:`q` as ``-expm1(l)``, accurate where :math:`p_t` is near 1, and adds ``ignore_index``
    and per-class ``alpha``.
    """
    check_reduction(reduction)
    _, _, valid, alpha_t, logp_t = _focal_terms(predictions, targets, alpha, gamma, ignore_index)
    q = -np.expm1(logp_t)  # (5) q = 1 - p_t
    elementwise = np.where(valid, -alpha_t * q**gamma * logp_t, 0.0)  # (6) l = -alpha_t q^gamma log p_t
    return _reduce_with(elementwise, reduction, float(np.sum(valid)), np.ndim(predictions) == 1)


def focal_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    alpha: float | np.ndarray = 1.0,
    gamma: float = 2.0,
    reduction: str = "mean",
    *,
    ignore_index: int = -100,
    grad_output: np.ndarray | None = None,
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
    check_reduction(reduction)
    logp, safe, valid, alpha_t, logp_t = _focal_terms(predictions, targets, alpha, gamma, ignore_index)
    unbatched = np.ndim(predictions) == 1
    upstream = _upstream_with(logp_t.shape, reduction, float(np.sum(valid)), grad_output, unbatched)
    q = -np.expm1(logp_t)  # (5)
    p = np.exp(logp_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(q > 0, logp_t / q, -1.0)  # (6') rho = l / q
    dl = alpha_t * q**gamma * (gamma * p * rho - 1.0)  # (6') dloss/dl
    onehot = np.moveaxis(np.eye(logp.shape[1])[safe], -1, 1)
    grad = _expand(upstream * dl) * (onehot - np.exp(logp))  # (6') times (e_t - softmax)
    grad = np.where(_expand(valid), grad, 0.0)  # ignored elements: exactly 0
    result: np.ndarray = grad[0] if unbatched else grad
    return result


# --- hinge --------------------------------------------------------------------------------------


def check_margin(margin: float) -> None:
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")


def _hinge_case(predictions: np.ndarray, targets: np.ndarray) -> str:
    """``"binary"`` for targets of the logits' shape, ``"multiclass"`` for integer targets one axis shorter."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape == targets.shape:
        return "binary"
    if _is_index(targets) and predictions.ndim >= 2 and targets.shape == predictions.shape[:1] + predictions.shape[2:]:
        return "multiclass"
    raise ValueError(
        f"hinge_loss takes binary targets of the predictions' shape, or class indices of shape (N, d1, ...) for "
        f"scores (N, C, d1, ...); got predictions {predictions.shape} and targets {targets.shape}"
    )


def check_binary_labels(targets: np.ndarray) -> None:
    bad = ~np.isin(targets, (-1.0, 0.0, 1.0))
    if bad.any():
        index = _first_index(bad)
        raise ValueError(
            f"binary targets must be labels in {{-1, 1}} or {{0, 1}}; got {float(targets[index])!r} at index {index}"
        )


def _hinge_terms(
    predictions: np.ndarray, targets: np.ndarray, margin: float
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(case, z, y or the rival mask, target one-hot) with the loss max(0, z)."""
    check_margin(margin)
    case = _hinge_case(predictions, targets)
    x = np.asarray(predictions, dtype=np.float64)
    if case == "binary":
        t = np.asarray(targets, dtype=np.float64)
        check_binary_labels(t)
        y = np.where(t > 0, 1.0, -1.0)  # (7) y = +1 for label 1, -1 for labels 0 and -1
        return case, margin - y * x, y, y  # (7) z = margin - y x
    t = _index_targets(x, targets, None)
    onehot = np.moveaxis(np.eye(x.shape[1])[t], -1, 1)
    x_t = np.sum(x * onehot, axis=1)
    others = np.where(onehot > 0, -np.inf, x)
    rival = np.max(others, axis=1)  # (8) max_{j != t} x_j
    ties = (others == _expand(rival)).astype(np.float64)
    return case, margin + rival - x_t, ties / np.sum(ties, axis=1, keepdims=True), onehot  # (8) z


def hinge_loss(
    predictions: np.ndarray, targets: np.ndarray, margin: float = 1.0, reduction: str = "mean"
) -> np.ndarray:
    """Hinge loss: binary, or multi-class in the Crammer–Singer form.

    Binary (``targets`` of the predictions' shape, labels in {-1, 1} or {0, 1}: a label > 0 is the
    positive class, 0 and -1 the negative one), with :math:`y = \\pm 1`:

    .. math::

        \\ell = \\max(0, m - y x)     \\tag{7}

    Multi-class (scores :math:`(N, C, d_1, \\ldots)`, class-index targets :math:`(N, d_1, \\ldots)`,
    ``C >= 2``), Crammer & Singer 2001 (*On the Algorithmic Implementation of Multiclass
    Kernel-based Vector Machines*, JMLR 2), the form of scikit-learn's multi-class ``hinge_loss``:

    .. math::

        \\ell = \\max\\big(0, m + \\max_{j \\ne t} x_j - x_t\\big)     \\tag{8}

    Differs from torch: ``torch.nn.functional.multi_margin_loss`` is the Weston–Watkins form
    :math:`\\sum_{j \\ne t} \\max(0, m - x_t + x_j) / C`, which penalises every violating class;
    Crammer–Singer penalises only the strongest rival. The design document's binary hinge
    takes labels {-1, 1} only; {0, 1} labels are accepted here too.
    """
    check_reduction(reduction)
    _, z, _, _ = _hinge_terms(predictions, targets, margin)
    return reduce(np.maximum(z, 0.0), reduction)


def hinge_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    margin: float = 1.0,
    reduction: str = "mean",
    *,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`hinge_loss`: where :math:`z > 0`, :math:`-y` (binary), or :math:`-1` on the
    target score and :math:`+1` on the rival, shared equally among tied rivals (multi-class); 0 where
    :math:`z \\le 0`. (7') (8')
    """
    check_reduction(reduction)
    case, z, rival_or_y, onehot = _hinge_terms(predictions, targets, margin)
    upstream = reduce_grad(z.shape, reduction, grad_output) * (z > 0)
    if case == "binary":
        grad: np.ndarray = upstream * -rival_or_y  # (7') dl/dx = -y where z > 0
        return grad
    result: np.ndarray = _expand(upstream) * (rival_or_y - onehot)  # (8') +1 rival(s), -1 target
    return result
