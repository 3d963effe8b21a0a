"""One optimizer step from a Hypothesis-drawn state matches the spec, for every kernel."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec
from conformance.assertions import format_call as format_hparams  # hyperparameters as the constructor call
from conformance.registry import OPTIMIZER_INFOS
from conformance.tolerances import tolerance_for
from lossopt_spec.audit.bridge import (
    held_state,
    load_spec_state,
    rounded,
    set_grads,
    spec_state_as_tensors,
    to_tensors,
)

CASES = [(info, impl, dtype) for info in OPTIMIZER_INFOS.values() for impl in info.impls for dtype in info.dtypes]


@pytest.mark.parametrize(("info", "impl", "dtype"), CASES, ids=[f"{i.name}-{m}-{d}" for i, m, d in CASES])
@given(data=st.data())
def test_single_step_matches_spec(info, impl, dtype, device, data):
    params_np, grads_np = data.draw(info.params, label="params, grads")
    hparams = data.draw(info.hparams, label="hparams")
    step = data.draw(st.integers(1, 1000), label="step")
    params = to_tensors(params_np, dtype, device)
    set_grads(params, grads_np)
    grads = rounded([p.grad for p in params])
    state = data.draw(info.states(rounded(params), hparams), label="state")
    optimizer = info.build(params, **hparams, **info.impls[impl])
    load_spec_state(optimizer, params, state, step)
    state = held_state(optimizer, params, state)  # the spec starts from what torch holds after rounding
    expected_params, expected_state = info.spec.update(
        rounded(params), grads, state, step, info.spec.hparams(**hparams)
    )
    optimizer.step()
    context = {"step": step, "impl": impl, "dtype": dtype, "device": device}
    call = format_hparams(info.name, hparams)
    tol = tolerance_for(dtype, "step", info.tolerance_overrides)
    for i, (param, want) in enumerate(zip(params, expected_params, strict=True)):
        assert_matches_spec(param, want, entry=info.name, check=f"param{i}", tolerance=tol, context=context, call=call)
    actual_state = spec_state_as_tensors(optimizer, params, info.spec.state_keys)
    for i, (got, want) in enumerate(zip(actual_state, expected_state, strict=True)):
        for key in info.spec.state_keys:
            if want[key] is None:
                assert got[key] is None, (
                    f"{info.name}: state {key}{i} is set but the spec has none {context} call: {call}"
                )
                continue
            assert got[key] is not None, f"{info.name}: state {key}{i} is missing {context} call: {call}"
            assert_matches_spec(
                got[key], want[key], entry=info.name, check=f"{key}{i}", tolerance=tol, context=context, call=call
            )
