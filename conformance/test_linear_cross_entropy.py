"""linear_cross_entropy against the spec where the registry-driven tests do not reach: float16 and
bfloat16, and the edge cases (every token ignored, one token, one unbatched row, one class) with every
option on. float64 / float32 values, gradients, reductions, module, bad inputs and empty batches are
the generic tests' (``conformance/registry.py``).

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
from conformance.loss_harness import spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.strategies.common import upstream_gradients
from conformance.strategies.linear_cross_entropy import linear_cross_entropy_inputs, linear_cross_entropy_kwargs
from conformance.tolerances import Tolerance, tolerance_for
from lossopt.functional import linear_cross_entropy_loss
from lossopt_spec import losses as spec
from lossopt_spec.audit.bridge import TORCH_DTYPES

NAME = "linear_cross_entropy"
DIFFERENTIABLE = ("input", "linear_weight", "linear_bias")
HALF_UNIT = {"bfloat16": 2.0**-7, "float16": 2.0**-10}  # twice the unit roundoff: rounding, then the sum's own
INFO = LOSS_INFOS[NAME]
CASES = [(r, d) for r in ("none", "mean", "sum") for d in ("bfloat16", "float16")]


def expected(values: dict[str, Any], kwargs: dict[str, Any], reduction: str, dtype: str, upstream: np.ndarray):
    """(value, {name: gradient}, {name: sum of the gradient's terms' magnitudes}) from the spec, on the
    logits rounded to the half ``dtype``."""
    options = {**kwargs, "reduction": reduction}
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
def test_half_value_and_the_three_gradients_match_spec_on_the_rounded_logits(reduction, dtype, device, data):
    inputs = data.draw(linear_cross_entropy_inputs(bound=1.0), label="inputs")
    kwargs = data.draw(linear_cross_entropy_kwargs(), label="kwargs")
    tensors = torch_inputs(INFO, inputs, dtype, device)
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
        if terms[name] is not None:
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
        inputs["input"], inputs["target"] = inputs["input"][0], np.asarray(inputs["target"][0])  # a 0-d array
    kwargs = {"label_smoothing": 0.1, "z_loss": 0.2, "softcap": 3.0, "reduction": reduction}
    tensors = torch_inputs(INFO, inputs, "float64", device)
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
