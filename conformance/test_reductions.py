"""Reductions mean what they say on the torch side: shapes, mean = sum / (documented denominator),
none sums to sum, and a batch split in two gives the same sum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec, to_numpy
from conformance.loss_harness import call_text, draw_case, spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.tolerances import tolerance_for

INFOS = [info for info in LOSS_INFOS.values() if info.generic and set(info.reductions) == {"none", "mean", "sum"}]
GENERIC = [info for info in LOSS_INFOS.values() if info.generic]  # the others have dedicated tests


@pytest.mark.parametrize("info", INFOS, ids=[i.name for i in INFOS])
@given(data=st.data())
def test_mean_is_sum_over_count_and_none_sums_to_sum(info, device, data):
    inputs, kwargs = draw_case(info, data)
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
    denominator = (
        unreduced.numel() if info.mean_denominator is None else info.mean_denominator(spec_inputs(tensors), kwargs)
    )
    expected_mean = to_numpy(unreduced).sum() / denominator if denominator else np.nan  # mean over nothing: NaN
    if info.mean_of is not None:  # terms with denominators of their own
        expected_mean = info.mean_of(to_numpy(unreduced), spec_inputs(tensors), kwargs)
    assert_matches_spec(
        mean,
        expected_mean,
        entry=info.name,
        check="mean vs none.sum()/denominator",
        tolerance=tol,
        context=context,
        call=call,
    )


@pytest.mark.parametrize("info", GENERIC, ids=[i.name for i in GENERIC])
@settings(max_examples=3)
@given(data=st.data())
def test_unknown_reduction_is_refused_by_both_sides_alike(info, data):
    inputs, kwargs = draw_case(info, data)
    tensors = torch_inputs(info, inputs, "float64", "cpu")
    with pytest.raises(ValueError) as spec_error:
        info.spec.value(**inputs, **kwargs, reduction="avg")
    with pytest.raises(ValueError) as torch_error:
        info.torch_fn(**tensors, **kwargs, reduction="avg")
    assert str(torch_error.value) == str(spec_error.value)
    assert "'avg'" in str(torch_error.value)


SPLITTABLE = [info for info in INFOS if info.batched]  # batched=(): not additive over the batch


@pytest.mark.parametrize("info", SPLITTABLE, ids=[i.name for i in SPLITTABLE])
@given(data=st.data())
def test_batch_split_in_two_gives_the_same_sum(info, device, data):
    inputs, kwargs = draw_case(info, data)
    batch = len(inputs[info.batched[0]])
    cut = data.draw(st.integers(0, batch), label="cut")
    tensors = torch_inputs(info, inputs, "float64", device)
    halves = [
        {k: (v[:cut] if i == 0 else v[cut:]) if k in info.batched else v for k, v in tensors.items()} for i in (0, 1)
    ]
    whole = info.torch_fn(**tensors, **kwargs, reduction="sum")
    parts = sum(to_numpy(info.torch_fn(**half, **kwargs, reduction="sum")) for half in halves)
    assert_matches_spec(
        whole,
        parts,
        entry=info.name,
        check=f"sum vs sum of [:{cut}] and [{cut}:]",
        tolerance=tolerance_for("float64", "reduction", info.tolerance_overrides),
        context={"dtype": "float64", "device": device},
        call=call_text(info, spec_inputs(tensors), kwargs, "sum"),
    )
