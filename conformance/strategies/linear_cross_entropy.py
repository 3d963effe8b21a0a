"""Hypothesis strategies for the linear cross-entropy: hidden states, a projection, class indices, options."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp

from conformance.strategies.classification import CLASS_WEIGHTS, IGNORE_INDEX
from conformance.strategies.common import float_arrays

CHUNK_SIZES = (None, 1, 2, 3, 5)  # N is drawn in 1..7: most of these do not divide it


@st.composite
def linear_cross_entropy_inputs(
    draw: st.DrawFn, *, bound: float = 2.0, bias: bool | None = None, ignored: bool = True
) -> dict[str, Any]:
    """``input`` (N, D), ``linear_weight`` (V, D), ``target`` (N,) (some ignored), ``linear_bias`` (V,) or None,
    and sometimes class weights; N in 1..7, D in 1..4, V in 1..6. ``bias=None`` draws whether there is one."""
    n, d, v = draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(1, 6))
    classes = st.integers(0, v - 1)
    targets = st.one_of(classes, st.just(IGNORE_INDEX)) if ignored else classes
    inputs: dict[str, Any] = {
        "input": draw(float_arrays((n, d), bound=bound)),
        "linear_weight": draw(float_arrays((v, d), bound=bound)),
        "target": draw(arrays(np.int64, (n,), elements=targets)),
    }
    with_bias = draw(st.booleans()) if bias is None else bias
    inputs["linear_bias"] = draw(float_arrays((v,), bound=bound)) if with_bias else None
    if draw(st.booleans()):
        inputs["weight"] = draw(arrays(np.float64, (v,), elements=CLASS_WEIGHTS))
    return inputs


def linear_cross_entropy_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Every option: label smoothing, softcap, z-loss and chunk sizes."""
    return st.fixed_dictionaries(
        {
            "label_smoothing": st.sampled_from([0.0, 0.1, 1.0]),
            "softcap": st.sampled_from([None, 0.5, 3.0]),
            "z_loss": st.sampled_from([0.0, 1e-4, 0.5]),
            "chunk_size": st.sampled_from(CHUNK_SIZES),
        }
    )


def linear_cross_entropy_mean(unreduced: np.ndarray, inputs: dict[str, Any], kwargs: dict[str, Any]) -> float:
    """The documented ``"mean"`` (6) from the per-token values ``ce_i + zeta_i``: the cross-entropy part
    over the kept tokens' class weights, the z-loss part over their count (two denominators when
    ``z_loss > 0`` and there are class weights). The z-loss terms are computed here from the inputs,
    :math:`\\alpha\\, \\mathrm{lse}(s_i)^2` with :math:`s` the (softcapped) logits."""
    x, w, b, target = inputs["input"], inputs["linear_weight"], inputs.get("linear_bias"), inputs["target"]
    kept = target != IGNORE_INDEX
    logits = x @ w.T + (0.0 if b is None else b)
    softcap, z_loss = kwargs.get("softcap"), kwargs.get("z_loss", 0.0)
    capped = logits if softcap is None else softcap * np.tanh(logits / softcap)
    zeta = np.where(kept, z_loss * logsumexp(capped, axis=1) ** 2, 0.0) if len(target) else np.zeros(0)
    weight = inputs.get("weight")
    weights = float(kept.sum()) if weight is None else float(weight[target[kept]].sum())
    mean = (unreduced.sum() - zeta.sum()) / weights if weights else np.nan
    if z_loss:
        mean += zeta.sum() / kept.sum() if kept.any() else np.nan
    return float(mean)
