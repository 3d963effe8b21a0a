"""Loss values of lossopt match the spec for every entry, reduction, dtype and device."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec, format_context
from conformance.loss_harness import call_text, draw_case, spec_inputs, split_module_arguments, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.tolerances import tolerance_for

GENERIC = [info for info in LOSS_INFOS.values() if info.generic]  # the others have dedicated tests
CASES = [(info, reduction, dtype) for info in GENERIC for reduction in info.reductions for dtype in info.dtypes]


@pytest.mark.parametrize(("info", "reduction", "dtype"), CASES, ids=[f"{i.name}-{r}-{d}" for i, r, d in CASES])
@given(data=st.data())
def test_value_matches_spec(info, reduction, dtype, device, data):
    inputs, kwargs = draw_case(info, data)
    tensors = torch_inputs(info, inputs, dtype, device)
    actual = info.torch_fn(**tensors, **kwargs, reduction=reduction)
    assert actual.dtype == tensors[info.differentiable[0]].dtype, (
        f"{info.name}: value has dtype {actual.dtype}, input {dtype} {format_context({'device': device})}"
    )
    expected = info.spec.value(**spec_inputs(tensors), **kwargs, reduction=reduction)
    assert_matches_spec(
        actual,
        expected,
        entry=info.name,
        check="value",
        tolerance=tolerance_for(dtype, "value", info.tolerance_overrides),
        context={"reduction": reduction, "dtype": dtype, "device": device},
        call=call_text(info, spec_inputs(tensors), kwargs, reduction),
    )


@pytest.mark.parametrize("info", GENERIC, ids=[i.name for i in GENERIC])
@given(data=st.data())
def test_module_matches_functional(info, device, data):
    inputs, kwargs = draw_case(info, data)
    tensors = torch_inputs(info, inputs, "float64", device)
    options, forward_inputs = split_module_arguments(info, tensors)
    module = info.module(**options, **kwargs, reduction="sum")
    assert_matches_spec(
        module(**forward_inputs),
        info.torch_fn(**tensors, **kwargs, reduction="sum").detach().cpu().numpy(),
        entry=info.name,
        check="module value",
        tolerance=tolerance_for("float64", "value"),
        context={"device": device},
        call=f"{info.module.__name__}(reduction='sum', **{ {**options, **kwargs}!r})",
    )
