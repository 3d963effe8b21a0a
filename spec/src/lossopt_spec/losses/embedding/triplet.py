"""The triplet margin loss and its gradients w.r.t. anchor, positive and negative.

Mirrored by ``lossopt.functional.embedding.triplet``; equation tags match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossopt_spec.losses.reduction import Reduction, check_reduction, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


@dataclass(frozen=True)
class TripletOptions(Reduction):
    """The options of :func:`triplet_loss` (torch's ``triplet_margin_loss``'s), then the reduction."""

    margin: float = 1.0
    p: float = 2.0
    eps: float = 1e-6
    swap: bool = False


def _triplets(
    anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, options: TripletOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three as float64 arrays, once the reduction, their shapes, the margin and ``p`` are valid."""
    check_reduction(options.reduction)
    a, pos, neg = (np.asarray(v, dtype=np.float64) for v in (anchor, positive, negative))
    _check_triplet(a, pos, neg, options.margin, options.p)
    return a, pos, neg


def _check_triplet(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, margin: float, p: float) -> None:
    if not (anchor.ndim == 2 and anchor.shape == positive.shape == negative.shape):
        raise ValueError(
            f"anchor, positive and negative must have the same shape (N, D); got anchor {anchor.shape}, "
            f"positive {positive.shape} and negative {negative.shape}"
        )
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm); got {p!r}")


def _pnorm(v: np.ndarray, p: float) -> np.ndarray:
    return np.asarray(np.sum(np.abs(v) ** p, axis=1) ** (1.0 / p))


def _pnorm_grad(v: np.ndarray, norm: np.ndarray, p: float) -> np.ndarray:
    """d ||v||_p / dv = sign(v) |v|^(p-1) / ||v||^(p-1), 0 at v = 0."""
    safe = np.where(norm > 0, norm, 1.0)[:, None]
    return np.asarray(np.where(norm[:, None] > 0, np.sign(v) * (np.abs(v) / safe) ** (p - 1.0), 0.0))


@with_options(TripletOptions)
def triplet_loss(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, options: TripletOptions) -> np.ndarray:
    """Triplet margin loss (Schroff et al. 2015, FaceNet, arXiv:1503.03832) with torch's conventions.

    .. math::

        d(a, b) = \\lVert a - b + \\epsilon \\rVert_p     \\tag{1}

    .. math::

        \\ell_n = \\max(d(a_n, p_n) - d(a_n, n_n) + m, 0)     \\tag{2}

    With ``swap`` (Balntas et al. 2016) the negative distance is :math:`\\min(d(a, n), d(p, n))`.
    The :math:`\\epsilon` added to the difference is torch's ``pairwise_distance``.

    Args:
        anchor, positive, negative: ``(N, D)`` each.
        margin: :math:`m \\ge 0`; p: norm degree :math:`\\ge 1`; eps: :math:`\\epsilon`.
        reduction: ``"none"`` (``(N,)``) | ``"mean"`` | ``"sum"``.

    Differs from torch: ``p < 1`` (not a norm) and ``margin < 0`` are errors; a hinge exactly at 0
    has gradient 0 (torch's ``clamp_min`` passes the gradient there).
    """
    a, pos, neg = _triplets(anchor, positive, negative, options)
    p, eps = options.p, options.eps
    d_pos = _pnorm(a - pos + eps, p)  # (1)
    d_neg = _pnorm(a - neg + eps, p)
    if options.swap:
        d_neg = np.where(_pnorm(pos - neg + eps, p) < d_neg, _pnorm(pos - neg + eps, p), d_neg)
    return reduce(np.maximum(d_pos - d_neg + options.margin, 0.0), options.reduction)  # (2)


@gradient_of(triplet_loss)
def triplet_loss_grad(
    anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, options: TripletOptions, grad_output: Upstream
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VJPs of :func:`triplet_loss` w.r.t. (anchor, positive, negative); 0 where the hinge is inactive (2')."""
    a, pos, neg = _triplets(anchor, positive, negative, options)
    p, eps = options.p, options.eps
    upstream = reduce_grad((a.shape[0],), options.reduction, grad_output)
    v_pos, v_neg, v_swap = a - pos + eps, a - neg + eps, pos - neg + eps
    d_pos, d_neg, d_swap = _pnorm(v_pos, p), _pnorm(v_neg, p), _pnorm(v_swap, p)
    swapped = (d_swap < d_neg) if options.swap else np.zeros(a.shape[0], dtype=bool)
    d_negative = np.where(swapped, d_swap, d_neg)
    active = (d_pos - d_negative + options.margin > 0) * upstream  # (2') hinge
    g_pos = _pnorm_grad(v_pos, d_pos, p) * active[:, None]
    g_neg = _pnorm_grad(v_neg, d_neg, p) * (active * ~swapped)[:, None]
    g_swap = _pnorm_grad(v_swap, d_swap, p) * (active * swapped)[:, None]
    return g_pos - g_neg, -g_pos - g_swap, g_neg + g_swap
