"""linear_cross_entropy against the spec: value and the gradients of input, linear_weight and linear_bias,
every reduction, dtype and option, chunk sizes that do not divide N, edge cases, and the bad-input messages.

float64 / float32 compare with the spec on the same (rounded) inputs at the table's tolerances.
float16 / bfloat16: lossopt rounds the logits to the input dtype, as ``F.linear`` does, before
working in float32; the spec is then evaluated on those rounded logits (an identity projection),
and the three gradients follow by the chain rule (1') in float64. What is left is the rounding of
the logits' gradient to the half dtype before the two products (as torch's half autograd does):
an error of at most half a unit in the last place of each term, so the absolute tolerance of
each gradient is ``2^-7`` (bfloat16) / ``2^-10`` (float16) times the sum of the terms' magnitudes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional

from conformance.assertions import assert_matches_spec, format_call, to_numpy
from conformance.strategies import upstream_gradients
from conformance.strategies_linear_cross_entropy import linear_cross_entropy_inputs, linear_cross_entropy_kwargs
from conformance.tolerances import TORCH_DTYPES, Tolerance, tolerance_for
from lossopt.functional.linear_cross_entropy import linear_cross_entropy_loss
from lossopt_spec.losses import linear_cross_entropy as spec

NAME = "linear_cross_entropy"
DIFFERENTIABLE = ("input", "linear_weight", "linear_bias")
HALF_UNIT = {"bfloat16": 2.0**-7, "float16": 2.0**-10}  # twice the unit roundoff: rounding, then the sum's own
CASES = [(r, d) for r in ("none", "mean", "sum") for d in ("float64", "float32", "bfloat16", "float16")]


def torch_inputs(inputs: dict[str, Any], dtype: str, device: str) -> dict[str, Any]:
    tensors: dict[str, Any] = {}
    for key, value in inputs.items():
        if value is None or np.issubdtype(value.dtype, np.integer):
            tensors[key] = None if value is None else torch.tensor(value, device=device)
            continue
        tensor = torch.tensor(value, dtype=TORCH_DTYPES[dtype], device=device)
        tensors[key] = tensor.requires_grad_() if key in DIFFERENTIABLE else tensor
    return tensors


def spec_inputs(tensors: dict[str, Any]) -> dict[str, Any]:
    """The float64 values the tensors hold (so rounding to the dtype under test is not an error)."""
    return {
        k: v if v is None else (to_numpy(v) if v.is_floating_point() else v.cpu().numpy()) for k, v in tensors.items()
    }


def expected(values: dict[str, Any], kwargs: dict[str, Any], reduction: str, dtype: str, upstream: np.ndarray):
    """(value, {name: gradient}, {name: sum of the gradient's terms' magnitudes}) from the spec."""
    options = {**kwargs, "reduction": reduction}
    if dtype not in HALF_UNIT:
        value = spec.linear_cross_entropy_loss(**values, **options)
        grads = spec.linear_cross_entropy_loss_grad(**values, **options, grad_output=upstream)
        return value, dict(zip(DIFFERENTIABLE, grads, strict=True)), None
    x, w, b = values["input"], values["linear_weight"], values["linear_bias"]
    half = TORCH_DTYPES[dtype]
    logits = functional.linear(*(torch.tensor(a, dtype=half) for a in (x, w) + ((b,) if b is not None else ())))
    rest = {k: v for k, v in values.items() if k not in DIFFERENTIABLE}
    on_logits = {"input": to_numpy(logits), "linear_weight": np.eye(w.shape[0]), **rest}
    value = spec.linear_cross_entropy_loss(**on_logits, **options)
    g = spec.linear_cross_entropy_loss_grad(**on_logits, **options, grad_output=upstream)[0]  # d/d logits
    grads = {"input": g @ w, "linear_weight": g.T @ x, "linear_bias": None if b is None else g.sum(axis=0)}
    terms = {"input": np.abs(g) @ np.abs(w), "linear_weight": np.abs(g).T @ np.abs(x), "linear_bias": None}
    return value, grads, terms


@pytest.mark.parametrize(("reduction", "dtype"), CASES, ids=[f"{r}-{d}" for r, d in CASES])
@given(data=st.data())
def test_value_and_the_three_gradients_match_spec(reduction, dtype, device, data):
    inputs = data.draw(linear_cross_entropy_inputs(bound=1.0 if dtype in HALF_UNIT else 2.0), label="inputs")
    kwargs = data.draw(linear_cross_entropy_kwargs(), label="kwargs")
    tensors = torch_inputs(inputs, dtype, device)
    value = linear_cross_entropy_loss(**tensors, **kwargs, reduction=reduction)
    assert value.dtype == TORCH_DTYPES[dtype], f"{NAME}: value has dtype {value.dtype}, input {dtype}"
    values = spec_inputs(tensors)
    drawn = data.draw(upstream_gradients(tuple(value.shape)), label="grad_output")
    upstream_tensor = torch.tensor(drawn, dtype=value.dtype, device=device)
    upstream = to_numpy(upstream_tensor)  # the spec takes the upstream gradient torch is given, rounded
    want, grads, terms = expected(values, kwargs, reduction, dtype, upstream)
    call = format_call(f"lossopt.functional.{NAME}_loss", {**values, **kwargs, "reduction": reduction})
    context = {"reduction": reduction, "dtype": dtype, "device": device}
    tolerance = tolerance_for(dtype, "value")
    assert_matches_spec(value, want, entry=NAME, check="value", tolerance=tolerance, context=context, call=call)
    kept = values["target"] != -100
    weights = values.get("weight")
    if reduction == "mean" and kept.any() and weights is not None and weights[values["target"][kept]].sum() == 0:
        return  # "mean" over a zero total weight: NaN value (checked); its gradient is 0 / 0
    wrt = [k for k in DIFFERENTIABLE if tensors.get(k) is not None]
    actual = torch.autograd.grad(value, [tensors[k] for k in wrt], upstream_tensor)
    for name, got in zip(wrt, actual, strict=True):
        grad_tolerance = tolerance_for(dtype, "grad")
        if terms is not None and terms[name] is not None:
            scale = float(terms[name].max(initial=0.0))
            grad_tolerance = Tolerance(grad_tolerance.rtol, grad_tolerance.atol + HALF_UNIT[dtype] * scale)
        assert got.dtype == TORCH_DTYPES[dtype]
        assert_matches_spec(
            got,
            grads[name],
            entry=NAME,
            check=f"grad[{name}]",
            tolerance=grad_tolerance,
            context=context,
            call=call + f".backward({upstream!r})",
        )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    "case",
    ["every token ignored", "one token", "one unbatched row", "one class"],
)
def test_edge_cases_match_spec(case, reduction, device):
    rng = np.random.default_rng(0)
    n, d, v = {"one token": (1, 3, 5), "one class": (4, 3, 1)}.get(case, (4, 3, 5))
    inputs: dict[str, Any] = {
        "input": rng.standard_normal((n, d)),
        "linear_weight": rng.standard_normal((v, d)),
        "target": rng.integers(0, v, n),
        "linear_bias": rng.standard_normal(v),
    }
    if case == "every token ignored":
        inputs["target"][:] = -100
    if case == "one unbatched row":
        inputs["input"], inputs["target"] = inputs["input"][0], inputs["target"][0]
    kwargs = {"label_smoothing": 0.1, "z_loss": 0.2, "softcap": 3.0, "reduction": reduction}
    tensors = torch_inputs(inputs, "float64", device)
    value = linear_cross_entropy_loss(**tensors, **kwargs)
    upstream = rng.standard_normal(tuple(value.shape))
    want = spec.linear_cross_entropy_loss(**inputs, **kwargs)
    grads = spec.linear_cross_entropy_loss_grad(**inputs, **kwargs, grad_output=upstream)
    call = format_call(f"lossopt.functional.{NAME}_loss", {**inputs, **kwargs})
    context = {"case": case, "dtype": "float64", "device": device}
    tolerance = tolerance_for("float64", "value")
    assert_matches_spec(value, want, entry=NAME, check="value", tolerance=tolerance, context=context, call=call)
    actual = torch.autograd.grad(value, [tensors[k] for k in DIFFERENTIABLE], torch.tensor(upstream))
    for name, got, grad in zip(DIFFERENTIABLE, actual, grads, strict=True):
        assert_matches_spec(
            got, grad, entry=NAME, check=f"grad[{name}]", tolerance=tolerance, context=context, call=call
        )


Z23, Z43 = np.zeros((2, 3)), np.zeros((4, 3))
I2 = np.array([0, 1])
ERRORS = [
    ({"input": np.zeros((2, 3, 1))}, "got input (2, 3, 1)"),
    ({"linear_weight": np.zeros((4, 2))}, "with D = 3 for input (2, 3); got linear_weight (4, 2)"),
    ({"linear_weight": np.zeros((0, 3))}, "at least one row (class)"),
    ({"linear_bias": np.zeros(3)}, "linear_bias must have shape (V,) = (4,) for linear_weight (4, 3)"),
    ({"weight": np.zeros(5)}, "weight must have shape (V,) = (4,)"),
    ({"target": np.zeros(2)}, "target must be class indices (an integer array;"),
    ({"target": np.zeros(3, dtype=np.int64)}, "got target (3,)"),
    ({"target": np.array([0, 4])}, "got 4 at index (1,)"),
    ({"target": np.array([-3, 0])}, "or ignore_index=-100; got -3 at index (0,)"),
    ({"label_smoothing": -0.1}, "label_smoothing must be"),
    ({"softcap": -1.0}, "softcap must be None or a finite number > 0; got -1.0"),
    ({"z_loss": float("nan")}, "z_loss must be a finite number >= 0; got nan"),
    ({"chunk_size": 0}, "chunk_size must be None or an integer >= 1; got 0"),
    ({"reduction": "avg"}, "'avg'"),
]


@pytest.mark.parametrize(("change", "fragment"), ERRORS, ids=[f for _, f in ERRORS])
def test_bad_input_is_the_same_value_error_on_both_sides(change, fragment):
    inputs = {"input": Z23, "linear_weight": Z43, "target": I2, **change}
    arrays = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray)}
    options = {k: v for k, v in inputs.items() if not isinstance(v, np.ndarray)}
    with pytest.raises(ValueError) as spec_error:
        spec.linear_cross_entropy_loss(**inputs)
    with pytest.raises(ValueError) as torch_error:
        linear_cross_entropy_loss(**torch_inputs(arrays, "float64", "cpu"), **options)
    assert fragment in str(spec_error.value), str(spec_error.value)
    assert str(torch_error.value) == str(spec_error.value)
