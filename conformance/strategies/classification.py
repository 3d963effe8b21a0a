"""Hypothesis strategies for the classification losses (logits, labels, class indices)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies.common import float_arrays, shapes

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


IGNORE_INDEX = -100
# 0 or at least 1e-3: a weight of 1e-45 is a float32 subnormal, and sums of those are not what is tested here
CLASS_WEIGHTS = st.one_of(st.just(0.0), st.floats(1e-3, 4.0))


@st.composite
def logits_shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """(N, C) or (N, C, d1[, d2]): N in 1..4, C in 1..5, spatial sides in 1..3."""
    batch, classes = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    spatial = draw(st.lists(st.integers(1, 3), max_size=2))
    return (batch, classes, *spatial)


def class_indices(shape: tuple[int, ...], classes: int, *, ignored: bool) -> st.SearchStrategy[np.ndarray]:
    """int64 class indices in [0, C), with some ``IGNORE_INDEX`` when ``ignored``."""
    elements = st.integers(0, classes - 1)
    if ignored:
        elements = st.one_of(elements, st.just(IGNORE_INDEX))
    return arrays(np.int64, shape, elements=elements)


def _index_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:1] + shape[2:]


@st.composite
def cross_entropy_inputs(draw: st.DrawFn, *, bound: float = 30.0) -> dict[str, np.ndarray]:
    """Logits with class indices (some ignored) or probabilities, and sometimes per-class weights."""
    shape = draw(logits_shapes())
    inputs = {"predictions": draw(float_arrays(shape, bound=bound))}
    if draw(st.booleans()):
        inputs["targets"] = draw(class_indices(_index_shape(shape), shape[1], ignored=True))
    else:
        inputs["targets"] = draw(probability_arrays(shape, hard=False))
    if draw(st.booleans()):
        inputs["weight"] = draw(arrays(np.float64, (shape[1],), elements=CLASS_WEIGHTS))
    return inputs


def cross_entropy_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"label_smoothing": st.sampled_from([0.0, 0.1, 0.5, 1.0])})


def cross_entropy_mean_denominator(inputs: dict[str, np.ndarray], kwargs: dict[str, Any]) -> float:
    """The documented divisor of "mean": the weight of the targets not ignored, or N d1 ... for probabilities."""
    targets = inputs["targets"]
    if targets.dtype.kind not in "iu":
        return float(targets.size // targets.shape[1])
    classes = inputs["predictions"].shape[1]
    weight = inputs.get("weight", np.ones(classes))
    valid = targets != kwargs.get("ignore_index", IGNORE_INDEX)
    return float(np.sum(weight[np.where(valid, targets, 0)] * valid))


@st.composite
def focal_inputs(draw: st.DrawFn, *, bound: float = 30.0) -> dict[str, np.ndarray]:
    """Logits with class indices (some ignored), and sometimes per-class alphas."""
    shape = draw(logits_shapes())
    inputs = {
        "predictions": draw(float_arrays(shape, bound=bound)),
        "targets": draw(class_indices(_index_shape(shape), shape[1], ignored=True)),
    }
    if draw(st.booleans()):
        inputs["alpha"] = draw(arrays(np.float64, (shape[1],), elements=CLASS_WEIGHTS))
    return inputs


def focal_kwargs(inputs: dict[str, np.ndarray]) -> st.SearchStrategy[dict[str, Any]]:
    """gamma (below 1 included), and a scalar alpha unless the inputs carry per-class alphas."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {"gamma": st.sampled_from(GAMMAS)}
    if "alpha" not in inputs:
        kwargs["alpha"] = st.sampled_from([1.0, 0.25, 2.0])
    return st.fixed_dictionaries(kwargs)


def focal_mean_denominator(inputs: dict[str, np.ndarray], kwargs: dict[str, Any]) -> float:
    """The number of targets not ignored (alpha does not enter the divisor)."""
    return float(np.sum(inputs["targets"] != IGNORE_INDEX))


def eighths(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Multiples of 1/8 in [-8, 8]: exact in bfloat16, so the hinge's kink z = 0 is where the spec has it."""
    return arrays(np.float64, shape, elements=st.integers(-64, 64).map(lambda k: k / 8))


@st.composite
def hinge_inputs(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Binary scores with labels in {-1, 0, 1}, or multi-class scores with class indices."""
    if draw(st.booleans()):
        shape = draw(shapes())
        labels = arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0]))
        return {"predictions": draw(eighths(shape)), "targets": draw(labels)}
    shape = draw(logits_shapes())
    return {
        "predictions": draw(eighths(shape)),
        "targets": draw(class_indices(_index_shape(shape), shape[1], ignored=False)),
    }


def hinge_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"margin": st.sampled_from([0.0, 0.5, 1.0, 2.0])})
