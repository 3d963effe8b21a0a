"""Hypothesis strategies for the embedding losses (contrastive, triplet, cosine) and the KL divergence."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies.common import float_arrays


@st.composite
def labelled_embeddings(draw: st.DrawFn, *, bound: float = 3.0) -> dict[str, np.ndarray]:
    """``{"embeddings": (N, D), "labels": (N,) int}`` with 2 <= N <= 6, rows of norm >= 0.25.

    SupCon normalises each row: its gradient carries 1 / norm (1 / 1e-12 at a zero row, as
    ``F.normalize``), so rounding errors of ~1e-8 in float32 become ~1e4 near zero (measured:
    -596046 vs 0 at a zero row). Zero and tiny rows are tested on their own (finite gradients).
    """
    n, d = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, 2)))
    return {"embeddings": draw(away_from_zero((n, d), bound=bound)), "labels": labels}


def contrastive_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "mode": st.sampled_from(["supcon", "margin"]),
            "margin": st.sampled_from([0.0, 0.5, 1.0, 2.0]),
            "temperature": st.sampled_from([0.1, 0.5, 1.0]),
        }
    )


@st.composite
def triplets(draw: st.DrawFn, *, bound: float = 5.0) -> dict[str, np.ndarray]:
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return {key: draw(float_arrays(shape, bound=bound)) for key in ("anchor", "positive", "negative")}


def triplet_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Margins that are not round numbers: with the integer-valued inputs Hypothesis favours, a round
    margin puts the hinge exactly at 0 (a = -3, p = -1, n = 0, p-norm 1, margin 1), where float32 and
    float64 rounding of the distances pick different sides of the kink (gradient 0 vs 0.5 measured).
    The kink itself is pinned in conformance/test_embedding_invariants.py."""
    return st.fixed_dictionaries(
        {
            "margin": st.sampled_from([0.0, 0.37, 1.13]),
            "p": st.sampled_from([1.0, 2.0, 3.0]),
            "swap": st.booleans(),
        }
    )


def _triplet_hinge_gaps(inputs: dict[str, np.ndarray], margin: float, p: float, swap: bool) -> np.ndarray:
    """Per row, the distance of the triplet hinge and of the swap's min from their kinks, in float64."""
    a, pos, neg = inputs["anchor"], inputs["positive"], inputs["negative"]

    def norm(v: np.ndarray) -> np.ndarray:
        return np.sum(np.abs(v + 1e-6) ** p, axis=-1) ** (1.0 / p)

    d_pos, d_neg, d_swap = norm(a - pos), norm(a - neg), norm(pos - neg)
    gaps = np.abs(d_pos - np.minimum(d_neg, d_swap) + margin) if swap else np.abs(d_pos - d_neg + margin)
    return np.minimum(gaps, np.abs(d_swap - d_neg)) if swap else gaps


def _norm_kink_gap(inputs: dict[str, np.ndarray], p: float) -> float:
    """How far the distances' p-norms are from their kinks, over the pairs the loss measures.

    ``||v||_p`` of v = x - y + eps is not differentiable where v = 0 (any p; with one coordinate that is
    |v|) and, for p = 1, where any coordinate is 0. Gap: the smallest |v_i| for p = 1, else the smallest
    max_i |v_i| over the rows.
    """
    a, pos, neg = inputs["anchor"], inputs["positive"], inputs["negative"]
    gaps = []
    for x, y in ((a, pos), (a, neg), (pos, neg)):
        v = np.abs(x - y + 1e-6)
        if v.size:
            gaps.append(v.min() if p == 1.0 else v.max(axis=-1).min())
    return float(min(gaps, default=np.inf))


def triplet_kwargs_for(inputs: dict[str, np.ndarray]) -> st.SearchStrategy[dict[str, Any]]:
    """:func:`triplet_kwargs` kept 1e-3 away from the hinge's kink (and the swap's), at every dtype checked.

    At the kink float32 and float64 may pick different sides: margin 0, d(a, p) = 1 and
    d(a, n) = 1 - 1e-8 gives the spec's gradient -1 and lossopt's bfloat16 (computed in float32,
    where 1 - 1e-8 == 1) gradient 0. The kink itself is pinned in test_embedding_invariants.py.
    The distances' norms have kinks too (:func:`_norm_kink_gap`): a = 0, n = 1e-6 with one coordinate
    is 2.5e-15 above |v| = 0 in float64 (spec gradient sign +1) and exactly on it in float32 (torch's
    sign 0), found by the release profile; they are kept 1e-3 away as well.
    """
    import torch

    rounded = [inputs] + [
        {k: torch.tensor(v).to(dtype).double().numpy() for k, v in inputs.items()}
        for dtype in (torch.float32, torch.bfloat16)
    ]
    return triplet_kwargs().filter(
        lambda kw: all(
            _triplet_hinge_gaps(x, kw["margin"], kw["p"], kw["swap"]).min() > 1e-3 and _norm_kink_gap(x, kw["p"]) > 1e-3
            for x in rounded
        )
    )


def away_from_zero(shape: tuple[int, ...], *, low: float = 0.25, bound: float = 5.0) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose elements have magnitude in [low, bound], so every row's norm is at least ``low``.

    The gradient of a cosine is a difference of terms of size 1 / norm that cancel as the vectors
    align: in float32 its absolute error is ~6e-8 / norm (measured 1.7e-5 at norm 0.0039, past the
    table's atol 1e-5). Value tests keep norms >= 0.25, where that error is < 3e-7.
    """
    magnitude = st.floats(low, bound)
    return arrays(np.float64, shape, elements=magnitude | magnitude.map(lambda v: -v))


@st.composite
def cosine_pairs(draw: st.DrawFn, *, bound: float = 5.0) -> dict[str, np.ndarray]:
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    signs = draw(arrays(np.int64, (shape[0],), elements=st.sampled_from([1, -1])))
    return {"x1": draw(away_from_zero(shape, bound=bound)), "x2": draw(away_from_zero(shape, bound=bound)), "y": signs}


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


@st.composite
def distributions(draw: st.DrawFn) -> dict[str, Any]:
    """Log-probabilities ``input`` and a target distribution (some exact zeros) or its log (``log_target``)."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 5)))
    log_q = _log_softmax(draw(float_arrays(shape, bound=5.0)))
    log_target = draw(st.booleans())
    log_t = _log_softmax(draw(float_arrays(shape, bound=5.0)))
    if log_target:
        return {"input": log_q, "target": log_t, "log_target": True}
    zeros = draw(arrays(np.bool_, shape))
    t = np.where(zeros, 0.0, np.exp(log_t))
    return {"input": log_q, "target": t, "log_target": False}
