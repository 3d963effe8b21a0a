"""Autograd gradients of lossopt's losses match the spec's analytic gradients."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec, to_numpy
from conformance.loss_harness import call_text, draw_case, spec_gradients, spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.strategies.common import upstream_gradients
from conformance.tolerances import tolerance_for
from lossopt_spec.audit.bridge import TORCH_DTYPES

GENERIC = [info for info in LOSS_INFOS.values() if info.generic]  # the others have dedicated tests
CASES = [(info, reduction, dtype) for info in GENERIC for reduction in info.reductions for dtype in info.dtypes]


@pytest.mark.parametrize(("info", "reduction", "dtype"), CASES, ids=[f"{i.name}-{r}-{d}" for i, r, d in CASES])
@given(data=st.data())
def test_gradient_matches_spec(info, reduction, dtype, device, data):
    inputs, kwargs = draw_case(info, data)
    tensors = torch_inputs(info, inputs, dtype, device)
    value = info.torch_fn(**tensors, **kwargs, reduction=reduction)
    upstream = torch.tensor(
        data.draw(upstream_gradients(tuple(value.shape)), label="grad_output"), dtype=TORCH_DTYPES[dtype], device=device
    )
    given = [name for name in info.differentiable if tensors.get(name) is not None]  # an optional input may be None
    actual = torch.autograd.grad(value, [tensors[wrt] for wrt in given], upstream)
    expected = spec_gradients(
        info, info.spec.grad(**spec_inputs(tensors), **kwargs, reduction=reduction, grad_output=to_numpy(upstream))
    )
    for wrt, got in zip(given, actual, strict=True):
        assert_matches_spec(
            got,
            np.asarray(expected[wrt]),
            entry=info.name,
            check=f"grad[{wrt}]",
            tolerance=tolerance_for(dtype, "grad", info.tolerance_overrides),
            context={"reduction": reduction, "dtype": dtype, "device": device},
            call=call_text(info, spec_inputs(tensors), kwargs, reduction) + f".backward({to_numpy(upstream)!r})",
        )
