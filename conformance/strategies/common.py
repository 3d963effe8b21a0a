"""Hypothesis strategies every family uses: bounded float arrays, shapes, prediction/target pairs, parameter groups.

Value tests bound magnitudes (``bound``) so that float32 and bfloat16 rounding stays inside the
dtype's tolerance; NaN and inf behaviour is tested separately.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

Shape = tuple[int, ...]


def float_arrays(shape: Shape, *, bound: float = 100.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` with finite elements in [-bound, bound]."""
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return arrays(np.float64, shape, elements=elements)


def shapes(*, min_dims: int = 1, max_dims: int = 3, max_side: int = 5) -> st.SearchStrategy[Shape]:
    """Array shapes with no zero-sized dimension."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def same_shape_pair(draw: st.DrawFn, *, bound: float = 100.0) -> dict[str, np.ndarray]:
    """``{"predictions": a, "targets": b}`` with ``a.shape == b.shape``."""
    shape = draw(shapes())
    return {"predictions": draw(float_arrays(shape, bound=bound)), "targets": draw(float_arrays(shape, bound=bound))}


def upstream_gradients(shape: Shape) -> st.SearchStrategy[np.ndarray]:
    """The gradient flowing into a loss's output (``grad_output``), of the output's shape."""
    return float_arrays(shape, bound=4.0)


def flushed(array: np.ndarray, below: float) -> np.ndarray:
    """``array`` with the elements of magnitude below ``below`` set to 0."""
    return np.where(np.abs(array) < below, 0.0, array) if below > 0 else array


@st.composite
def parameter_groups(
    draw: st.DrawFn,
    *,
    bound: float = 10.0,
    min_dims: int = 1,
    max_dims: int = 2,
    max_side: int = 6,
    flush_below: float = 0.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(params, grads): 1 to 3 parameters of different shapes with gradients of the same shapes.

    ``flush_below``: elements smaller in magnitude are 0 (a step discontinuous at 0, Lion's sign, would follow
    float32's underflow of such a value: 1e-45 / 2 is 0 there, not in float64).
    """
    group_shapes = draw(
        st.lists(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side), min_size=1, max_size=3)
    )
    params = [draw(float_arrays(s, bound=bound)) for s in group_shapes]
    grads = [flushed(draw(float_arrays(s, bound=bound)), flush_below) for s in group_shapes]
    return params, grads
