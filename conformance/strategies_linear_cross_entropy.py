"""Hypothesis strategies for the linear cross-entropy: hidden states, a projection, class indices, options."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies import float_arrays
from conformance.strategies_classification import CLASS_WEIGHTS, IGNORE_INDEX

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
