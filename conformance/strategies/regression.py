"""Hypothesis strategies for the regression losses (Huber's delta, quantile levels)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.strategies.common import float_arrays, same_shape_pair, shapes

LEVELS = st.one_of(
    st.sampled_from([0.01, 0.1, 0.5, 0.9, 0.99]), st.floats(0.001, 0.999, allow_nan=False, allow_subnormal=False)
)


def huber_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"delta": st.sampled_from([1e-3, 0.5, 1.0, 2.0, 50.0])})


@st.composite
def quantile_inputs(draw: st.DrawFn, *, bound: float = 100.0) -> dict[str, np.ndarray]:
    """A same-shape pair (one level), or predictions ``(*, Q)`` with targets ``(*)`` (Q levels)."""
    if draw(st.booleans()):
        return draw(same_shape_pair(bound=bound))
    shape = draw(shapes(max_dims=2))
    levels = draw(st.integers(1, 4))
    return {
        "predictions": draw(float_arrays((*shape, levels), bound=bound)),
        "targets": draw(float_arrays(shape, bound=bound)),
    }


def quantile_kwargs(inputs: dict[str, np.ndarray]) -> st.SearchStrategy[dict[str, Any]]:
    """One level for a same-shape pair; a list of Q levels for predictions ``(*, Q)``."""
    predictions, targets = inputs["predictions"], inputs["targets"]
    if predictions.shape == targets.shape:
        return st.fixed_dictionaries({"quantile": LEVELS})
    return st.fixed_dictionaries(
        {"quantile": st.lists(LEVELS, min_size=predictions.shape[-1], max_size=predictions.shape[-1])}
    )
