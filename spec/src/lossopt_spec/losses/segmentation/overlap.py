"""The overlap sums every segmentation loss is computed from, and the loss built on them.

With logits :math:`x`, probabilities :math:`p`, targets :math:`t \\in [0, 1]` (one-hot for integer
targets) and a mask :math:`m` (0 on ``ignore_index`` pixels, else 1), summed over the pixels
:math:`i` per sample ``n`` and class ``c`` (per class over the whole batch with ``batch=True``):

.. math::

    I_{nc} = \\sum_i m_{ni} p_{nci} t_{nci}, \\qquad
    P_{nc} = \\sum_i m_{ni} p_{nci}, \\qquad
    T_{nc} = \\sum_i m_{ni} t_{nci}     \\tag{1}

A loss is a score :math:`S(I, P, T)` of :mod:`~lossopt_spec.losses.segmentation.region`, as
:math:`(1 - S)^\\gamma`, plus a per-pixel term averaged over the pixels for the losses of
:mod:`~lossopt_spec.losses.segmentation.compound`: :func:`overlap_loss` computes it, weighted and
reduced, from :class:`OverlapTerms` (what the loss adds up) and :class:`SegmentationOptions` (the
options every segmentation loss shares). Mirrored by ``lossopt.functional.segmentation.overlap``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossopt_spec.losses.classification import check_unit_interval
from lossopt_spec.losses.reduction import reduce, reduce_grad
from lossopt_spec.losses.segmentation.options import SegmentationOptions, check_options

# A score S(I, P, T) and its partial derivatives dS/dI, dS/dP (T does not depend on the logits).
ScoreFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
# A per-pixel loss of logits and targets: (elementwise value, elementwise derivative w.r.t. the logits).
PixelLoss = tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class OverlapTerms:
    """What a loss adds up per sample and class: ``overlap_weight * (1 - score)^gamma`` plus
    ``pixel_weight`` times the mean of ``pixel`` over the pixels (no pixel term when it is 0)."""

    score: ScoreFn
    gamma: float = 1.0
    overlap_weight: float = 1.0
    pixel_weight: float = 0.0
    pixel: PixelLoss | None = None


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
    if targets.dtype != np.bool_:  # soft or hard labels, float or integer: probabilities (a 0/255 mask fails)
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


def overlap_loss(
    predictions: np.ndarray,
    targets: np.ndarray,
    terms: OverlapTerms,
    options: SegmentationOptions,
    *,
    grad_output: np.ndarray | None = None,
    want_grad: bool = False,
) -> np.ndarray:
    """Value (``want_grad=False``) or VJP w.r.t. the logits of ``pixel_weight * pixel + overlap_weight * loss``.

    The per-(sample, class) overlap loss is :math:`(1 - S)^\\gamma` for the score :math:`S`; the
    pixel term (BCE, or sigmoid focal) is averaged over the pixels of a sample (of the batch).
    """
    mode, batch, include_background = options.mode, options.batch, options.include_background
    check_options(mode, options.smooth, options.ignore_index, include_background)
    x, t, m = _flatten(predictions, targets, mode, options.ignore_index)
    c = x.shape[1]
    if not include_background and c < 2:
        raise ValueError(f"include_background=False needs at least 2 classes; predictions have C={c}")
    w = _class_weights(options.weight, c, include_background)
    p = _probabilities(x, mode)
    intersection = _sums(m * p * t, batch)  # (1) I = sum m p t
    predicted = _sums(m * p, batch)  # (1) P = sum m p
    target = _sums(m * t, batch)  # (1) T = sum m t
    s, ds_di, ds_dp = terms.score(intersection, predicted, target)
    gamma, pixel_weight, pixel = terms.gamma, terms.pixel_weight, terms.pixel
    base = np.maximum(1.0 - s, 0.0)
    overlap = base**gamma  # (5) l = (1 - S)^gamma (gamma = 1: Dice, IoU, Tversky)
    per_class = terms.overlap_weight * overlap
    if pixel_weight != 0.0:
        assert pixel is not None
        count = max(x.shape[2] * (x.shape[0] if batch else 1), 1)  # no pixels: the pixel term is 0 (an empty sum)
        per_pixel = pixel[0](x, t)  # (6) BCE(x, t) or (8) the sigmoid focal loss
        per_class = per_class + pixel_weight * _sums(per_pixel, batch) / count  # (7) l = w_p pixel + w_d l_overlap
    if not include_background:
        per_class = per_class[..., 1:]
    elementwise = per_class * w
    if not want_grad:
        return reduce(elementwise, options.reduction)
    upstream = reduce_grad(elementwise.shape, options.reduction, grad_output) * w
    if not include_background:
        upstream = np.concatenate([np.zeros((*upstream.shape[:-1], 1)), upstream], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dl_ds = np.where(base > 0, -gamma * base ** (gamma - 1.0), 0.0) if gamma != 1.0 else -np.ones_like(s)
    g_overlap = upstream * terms.overlap_weight * dl_ds
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
