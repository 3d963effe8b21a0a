"""Hypothesis strategies for loss inputs, optimizer hyperparameters and optimizer states.

Value tests bound magnitudes (``bound``) so that float32 and bfloat16 rounding stays inside the
dtype's tolerance; NaN and inf behaviour is tested separately.
"""

from __future__ import annotations

from typing import Any

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


@st.composite
def parameter_groups(draw: st.DrawFn, *, bound: float = 10.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(params, grads): 1 to 3 parameters of different shapes with gradients of the same shapes."""
    group_shapes = draw(st.lists(shapes(max_dims=2, max_side=6), min_size=1, max_size=3))
    params = [draw(float_arrays(s, bound=bound)) for s in group_shapes]
    grads = [draw(float_arrays(s, bound=bound)) for s in group_shapes]
    return params, grads


@st.composite
def sgd_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """SGD hyperparameters covering momentum, dampening, Nesterov, weight decay and maximize."""
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    nesterov = momentum > 0 and draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-4, 1e-2, 0.1, 1.0])),
        "momentum": momentum,
        "dampening": 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1, 0.9])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-4, 0.1])),
        "nesterov": nesterov,
        "maximize": draw(st.booleans()),
    }


@st.composite
def sgd_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by SGD: no buffer (first step or no momentum) or a drawn buffer per parameter."""
    if hparams["momentum"] == 0 or draw(st.booleans()):
        return [{"momentum_buffer": None} for _ in params]
    return [{"momentum_buffer": draw(float_arrays(p.shape, bound=10.0))} for p in params]


@st.composite
def schedule_clip_hparams(draw: st.DrawFn, *, cyclical: bool) -> dict[str, Any]:
    """Warmup, clipping (and, for SGD, the cosine cycle): off or on, thresholds that do and don't clip."""
    hparams: dict[str, Any] = {
        "warmup_steps": draw(st.sampled_from([0, 0, 1, 7, 100, 2000])),
        "max_grad_norm": draw(st.sampled_from([None, None, 0.5, 5.0, 1e4])),
    }
    if cyclical:
        hparams["use_cyclical_lr"] = draw(st.booleans())
        hparams["cycle_length"] = draw(st.sampled_from([1, 3, 50, 1000]))
    return hparams


@st.composite
def advanced_sgd_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """:func:`sgd_hparams` plus warmup, clipping and the cyclical learning rate."""
    return {**draw(sgd_hparams()), **draw(schedule_clip_hparams(cyclical=True))}


@st.composite
def adam_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Adam / AdamW hyperparameters: betas, eps, weight decay, AMSGrad, maximize, bias correction, warmup, clipping."""
    return {
        "lr": draw(st.sampled_from([1e-4, 1e-3, 0.1, 1.0])),
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.9, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3, 0.1])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
        "use_bias_correction": draw(st.booleans()),
        **draw(schedule_clip_hparams(cyclical=False)),
    }


@st.composite
def adam_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by Adam: fresh (zeros) or drawn moments with v >= 0 and, for AMSGrad, vmax >= v."""
    fresh = draw(st.booleans())
    states = []
    for p in params:
        if fresh:
            m, v = np.zeros(p.shape), np.zeros(p.shape)
        else:
            m = draw(float_arrays(p.shape, bound=10.0))
            v = np.abs(draw(float_arrays(p.shape, bound=100.0)))
        vmax = None
        if hparams["amsgrad"]:
            vmax = v + (0.0 if fresh else np.abs(draw(float_arrays(p.shape, bound=10.0))))
        states.append({"step": 0.0, "exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": vmax})
    return states
