"""``torch.autograd.gradcheck`` in float64 for every loss, on inputs moved off the kinks."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.loss_harness import draw_case, torch_inputs
from conformance.registry import LOSS_INFOS

CASES = [(info, reduction) for info in LOSS_INFOS.values() for reduction in info.reductions]


@pytest.mark.parametrize(("info", "reduction"), CASES, ids=[f"{i.name}-{r}" for i, r in CASES])
@settings(max_examples=5)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_gradcheck_float64(info, reduction, device, data, seed):
    inputs, kwargs = draw_case(info, data)
    wrt = info.differentiable[0]
    rng = np.random.default_rng(seed)
    # a jitter of 0.01..0.05 moves residuals and margins off the kinks (|r| = 0, |r| = delta, z = 0) by far
    # more than gradcheck's step of 1e-6; logits are bounded so that float64 finite differences stay accurate
    jitter = rng.uniform(0.01, 0.05, inputs[wrt].shape) * rng.choice([-1.0, 1.0], inputs[wrt].shape)
    # every float input bounded, not only wrt: a sum of squared residuals of 120 (targets reach 100)
    # is ~1e6, whose float64 rounding over gradcheck's 2e-6 step is ~5e-5, past its atol of 1e-5
    inputs = {
        k: np.clip(v, -20, 20) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for k, v in inputs.items()
    }
    inputs = {**inputs, wrt: inputs[wrt] + jitter}
    tensors = torch_inputs(info, inputs, "float64", device)
    others = {k: v for k, v in tensors.items() if k != wrt}

    def fn(x):
        return info.torch_fn(**{wrt: x}, **others, **kwargs, reduction=reduction)

    if reduction == "mean" and not torch.isfinite(fn(tensors[wrt].detach())).all():
        return  # the mean over nothing (every target ignored): NaN by definition, tested in test_extreme_inputs
    assert torch.autograd.gradcheck(fn, (tensors[wrt],), eps=1e-6, atol=1e-5, rtol=1e-4)
