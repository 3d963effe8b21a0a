"""Hypothesis strategies for the classification losses (logits, labels, class indices)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies import float_arrays, shapes

GAMMAS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.5)  # gamma < 1 included: the gradient must stay finite there


def probability_arrays(shape: tuple[int, ...], *, hard: bool) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays in [0, 1]: 0/1 labels when ``hard``, else soft labels."""
    elements = st.sampled_from([0.0, 1.0]) if hard else st.floats(0.0, 1.0, allow_subnormal=False)
    return arrays(np.float64, shape, elements=elements)


@st.composite
def sigmoid_focal_inputs(draw: st.DrawFn, *, bound: float = 30.0) -> dict[str, np.ndarray]:
    """Logits in [-bound, bound] and hard or soft labels of the same shape."""
    shape = draw(shapes())
    return {
        "predictions": draw(float_arrays(shape, bound=bound)),
        "targets": draw(probability_arrays(shape, hard=draw(st.booleans()))),
    }


def sigmoid_focal_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"alpha": st.sampled_from([None, 0.0, 0.25, 0.5, 1.0]), "gamma": st.sampled_from(GAMMAS)}
    )
