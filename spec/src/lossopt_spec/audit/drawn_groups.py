"""The Hypothesis-drawn examples of an optimizer audit: several parameter groups, tensors from 0-d to 1,200 elements.

An example is 1 to 3 parameter groups of 1 to 3 tensors each. A tensor is 0-d, small (1-d or
2-d, sides 1 to 5: at most 25 elements, values drawn element by element so Hypothesis shrinks
them), or large (33 to 1,200 elements, 1-d or 2-d, values from a drawn seed: uniform in
[-10, 10]); for a rule of matrices (``UpdateRule.min_dims`` 2: Muon) 2-d only. Group 0 takes the
configuration as it is; each later group draws its own ``lr``
(the configuration's, half or twice it), ``weight_decay`` (the configuration's, 0 or 0.1) and,
where the configuration has momentum, ``momentum`` (its own or 0.5), among the hyperparameters the
candidate takes. The example runs for 1 to 12 steps with gradients of a drawn scale (1e-3, 1 or
100; 1e-3 or 1 below float64: there rounding of ``b = mu b + g`` at gradients of 1e3 exceeds the
tolerance where it cancels, with no bug).

Imports Hypothesis: only the Hypothesis phase of an audit imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

BOUND = 10.0
SMALL_LIMIT = 32  # tensors with more elements get their values from a seed
ELEMENTS = st.floats(-BOUND, BOUND, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def group_variations(hparams: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Per hyperparameter, the values a group after the first may take (the configuration's first)."""
    variations: dict[str, list[Any]] = {}
    if isinstance(hparams.get("lr"), int | float):
        lr = float(hparams["lr"])
        variations["lr"] = [lr, lr * 0.5, lr * 2.0]
    if isinstance(hparams.get("weight_decay"), int | float):
        wd = float(hparams["weight_decay"])
        variations["weight_decay"] = list(dict.fromkeys([wd, 0.0, 0.1]))
    momentum = hparams.get("momentum")
    if isinstance(momentum, int | float) and not isinstance(momentum, bool) and momentum != 0:
        variations["momentum"] = list(dict.fromkeys([float(momentum), 0.5]))
    return variations


@st.composite
def tensor_shapes(draw: st.DrawFn, min_dims: int = 0) -> tuple[int, ...]:
    """0-d, small (<= 25 elements) or large (33 to 1,200 elements), shrinking towards 0-d; with ``min_dims``
    (a rule of matrices: 2) only shapes of at least that many dims."""
    kind = draw(st.sampled_from(["0-d", "small", "large"][1 if min_dims > 0 else 0 :]))
    if kind == "0-d":
        return ()
    if kind == "small":
        return tuple(draw(array_shapes(min_dims=max(1, min_dims), max_dims=max(2, min_dims), min_side=1, max_side=5)))
    if min_dims <= 1 and draw(st.booleans()):
        return (draw(st.integers(SMALL_LIMIT + 1, 1200)),)
    rows = draw(st.integers(2, 40))
    return (rows, draw(st.integers(SMALL_LIMIT // rows + 1, 1200 // rows)))


@dataclass
class DrawnTensor:
    """One parameter: its shape, its initial values, and how its gradients are drawn."""

    shape: tuple[int, ...]
    initial: np.ndarray
    seed: int | None  # large tensors: values and gradients from numpy.random.default_rng(seed)

    def gradient(self, data: st.DataObject, step: int, scale: float) -> np.ndarray:
        if self.seed is None:
            return scale * data.draw(arrays(np.float64, self.shape, elements=ELEMENTS))
        rng = np.random.default_rng([self.seed, step])
        return scale * rng.uniform(-BOUND, BOUND, self.shape)


def draw_tensor(data: st.DataObject, label: str, min_dims: int = 0) -> DrawnTensor:
    shape = data.draw(tensor_shapes(min_dims), label=f"{label} shape")
    if int(np.prod(shape, dtype=np.int64)) <= SMALL_LIMIT:
        return DrawnTensor(shape, data.draw(arrays(np.float64, shape, elements=ELEMENTS), label=label), None)
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed")
    return DrawnTensor(shape, np.random.default_rng(seed).uniform(-BOUND, BOUND, shape), seed)


@dataclass
class DrawnExample:
    """The groups (tensors and per-group hyperparameter overrides), the steps and the gradient scale."""

    groups: list[list[DrawnTensor]]
    overrides: list[dict[str, Any]]
    steps: int
    scale: float

    def describe(self) -> str:
        groups = "; ".join(
            f"group {i}: shapes [{', '.join(str(t.shape) for t in tensors)}]"
            + (f" with {', '.join(f'{k}={v!r}' for k, v in self.overrides[i].items())}" if self.overrides[i] else "")
            for i, tensors in enumerate(self.groups)
        )
        return f"drawn example: {groups}; gradients of scale {self.scale:g}"

    def gradients(self, data: st.DataObject, step: int) -> list[list[np.ndarray]]:
        return [[t.gradient(data, step, self.scale) for t in tensors] for tensors in self.groups]


def draw_example(
    data: st.DataObject,
    hparams: Mapping[str, Any],
    varied: Callable[[str], bool],
    scales: Sequence[float],
    min_dims: int = 0,
) -> DrawnExample:
    """Draw one example; ``varied(name)`` says whether a later group may set ``name`` (the candidate takes it);
    ``min_dims``: the rule's (``UpdateRule.min_dims``), the fewest dims a tensor is drawn with."""
    n_groups = data.draw(st.integers(1, 3), label="groups")
    variations = {k: v for k, v in group_variations(hparams).items() if varied(k)}
    groups, overrides = [], []
    for g in range(n_groups):
        n_tensors = data.draw(st.integers(1, 3), label=f"group {g} tensors")
        groups.append([draw_tensor(data, f"group {g} parameter {i}", min_dims) for i in range(n_tensors)])
        chosen: dict[str, Any] = {}
        if g > 0:
            for name, values in variations.items():
                value = data.draw(st.sampled_from(values), label=f"group {g} {name}")
                if value != hparams[name]:
                    chosen[name] = value
        overrides.append(chosen)
    steps = data.draw(st.integers(1, 12), label="steps")
    scale = data.draw(st.sampled_from(list(scales)), label="gradient scale")
    return DrawnExample(groups, overrides, steps, scale)
