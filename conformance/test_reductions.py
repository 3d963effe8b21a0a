"""Reductions mean what they say on the torch side: shapes, mean = sum / n, none sums to sum."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec, to_numpy
from conformance.loss_harness import call_text, spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.tolerances import tolerance_for

INFOS = [info for info in LOSS_INFOS.values() if info.generic and set(info.reductions) == {"none", "mean", "sum"}]
GENERIC = [info for info in LOSS_INFOS.values() if info.generic]  # the others have dedicated tests


@pytest.mark.parametrize("info", INFOS, ids=[i.name for i in INFOS])
@given(data=st.data())
def test_mean_is_sum_over_count_and_none_sums_to_sum(info, device, data):
    inputs = data.draw(info.inputs, label="inputs")
    kwargs = data.draw(info.kwargs, label="kwargs")
    tensors = torch_inputs(info, inputs, "float64", device)
    unreduced = info.torch_fn(**tensors, **kwargs, reduction="none")
    total = info.torch_fn(**tensors, **kwargs, reduction="sum")
    mean = info.torch_fn(**tensors, **kwargs, reduction="mean")
    call = call_text(info, spec_inputs(tensors), kwargs, "none")
    spec_shape = info.spec.value(**spec_inputs(tensors), **kwargs, reduction="none").shape
    assert tuple(unreduced.shape) == spec_shape, (
        f"{info.name}: 'none' has shape {tuple(unreduced.shape)} vs spec {spec_shape} call: {call}"
    )
    assert total.shape == (), f"{info.name}: 'sum' is not 0-d: {tuple(total.shape)} call: {call}"
    assert mean.shape == (), f"{info.name}: 'mean' is not 0-d: {tuple(mean.shape)} call: {call}"
    tol = tolerance_for("float64", "reduction", info.tolerance_overrides)
    context = {"dtype": "float64", "device": device}
    assert_matches_spec(
        total,
        to_numpy(unreduced).sum(),
        entry=info.name,
        check="sum vs none.sum()",
        tolerance=tol,
        context=context,
        call=call,
    )
    assert_matches_spec(
        mean,
        to_numpy(unreduced).sum() / unreduced.numel(),
        entry=info.name,
        check="mean vs none.sum()/n",
        tolerance=tol,
        context=context,
        call=call,
    )


@pytest.mark.parametrize("info", GENERIC, ids=[i.name for i in GENERIC])
@settings(max_examples=3)
@given(data=st.data())
def test_unknown_reduction_is_refused_by_both_sides_alike(info, data):
    inputs = data.draw(info.inputs, label="inputs")
    kwargs = data.draw(info.kwargs, label="kwargs")
    tensors = torch_inputs(info, inputs, "float64", "cpu")
    with pytest.raises(ValueError) as spec_error:
        info.spec.value(**inputs, **kwargs, reduction="avg")
    with pytest.raises(ValueError) as torch_error:
        info.torch_fn(**tensors, **kwargs, reduction="avg")
    assert str(torch_error.value) == str(spec_error.value)
    assert "'avg'" in str(torch_error.value)
