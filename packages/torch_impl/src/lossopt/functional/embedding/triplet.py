"""The triplet margin loss.

Mirrors ``lossopt_spec.losses.embedding.triplet``; equation tags match.
"""

from __future__ import annotations

import math

import torch

from lossopt.functional.arguments import check_bool, check_real
from lossopt.functional.reduction import check_floating, check_reduction, compute_dtype, reduce, shape_of


def _check_triplet(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float, p: float
) -> None:
    for name, value in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        check_floating(name, value)
    if not (anchor.dim() == 2 and anchor.shape == positive.shape == negative.shape):
        raise ValueError(
            f"anchor, positive and negative must have the same shape (N, D); got anchor {shape_of(anchor)}, "
            f"positive {shape_of(positive)} and negative {shape_of(negative)}"
        )
    check_real("margin", margin)
    check_real("p", p, finite=False)  # p = inf: the max norm
    check_triplet_ranges(margin, p)


def check_triplet_ranges(margin: float, p: float) -> None:
    """The margin is >= 0 and ``p`` a norm's degree, >= 1 (numbers already)."""
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm); got {p!r}")


def _distance(x: torch.Tensor, y: torch.Tensor, p: float, eps: float) -> torch.Tensor:
    """(1) d(a, b) = ||a - b + eps||_p: torch's pairwise_distance computes exactly this, in one kernel.

    For p > 2 its sum of |d|^p overflows float32 once |d| > 2^(128/p) (p = 93: |d| > 2.6, so inf for
    ordinary embeddings); there the norm is taken of d / max|d| and scaled back
    (a 1-homogeneous function: the gradient of the detached scale is exactly 0).
    """
    distance: torch.Tensor
    if p <= 2 or p == math.inf or x.shape[-1] == 0:
        distance = torch.pairwise_distance(x, y, p=p, eps=eps)
        return distance
    d = x - y + eps
    scale = d.detach().abs().amax(dim=-1, keepdim=True).clamp_min(torch.finfo(d.dtype).tiny)
    distance = torch.linalg.vector_norm(d / scale, ord=p, dim=-1) * scale.squeeze(-1)
    return distance


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    """Triplet margin loss (Schroff et al. 2015, arXiv:1503.03832), torch's conventions.

    .. math::

        \\ell_n = \\max(\\lVert a_n - p_n + \\epsilon \\rVert_p - \\lVert a_n - n_n + \\epsilon \\rVert_p + m, 0)
        \\tag{1, 2}

    With ``swap`` the negative distance is the smaller of :math:`d(a, n)` and :math:`d(p, n)`.

    Example:
        >>> import torch
        >>> from lossopt.functional import triplet_loss
        >>> a, p, n = torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 1.0]])
        >>> round(float(triplet_loss(a, p, n, margin=1.0, eps=0.0)), 4)  # 5 - 1 + 1
        5.0
    """
    check_reduction(reduction)
    _check_triplet(anchor, positive, negative, margin, p)
    check_real("eps", eps)
    check_bool("swap", swap)
    out_dtype = anchor.dtype
    dtype = compute_dtype(anchor.dtype)
    a, pos, neg = anchor.to(dtype), positive.to(dtype), negative.to(dtype)
    d_pos = _distance(a, pos, p, eps)  # (1)
    d_neg = _distance(a, neg, p, eps)
    if swap:
        d_swap = _distance(pos, neg, p, eps)
        d_neg = torch.where(d_swap < d_neg, d_swap, d_neg)
    return reduce(torch.relu(d_pos - d_neg + margin), reduction).to(out_dtype)  # (2)
