"""lossopt.optim.schedule and .clip: host and device forms agree; clipping as torch.nn.utils.clip_grad_norm_."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lossopt.optim._validation import check_schedule_clip
from lossopt.optim.clip import clip_coefficient, clip_grad_scale, global_grad_norm
from lossopt.optim.schedule import lr_factor, warmup_cyclical_factor


@given(t=st.integers(1, 5000), w=st.integers(0, 300), length=st.integers(1, 2000), cyclical=st.booleans())
def test_tensor_factor_equals_host_factor(t, w, length, cyclical):
    host = lr_factor(t, warmup_steps=w, use_cyclical_lr=cyclical, cycle_length=length)
    device = warmup_cyclical_factor(torch.tensor(float(t), dtype=torch.float64), w, cyclical, length)
    assert device.item() == pytest.approx(host, rel=1e-12, abs=1e-15)
    device32 = warmup_cyclical_factor(torch.tensor(float(t)), w, cyclical, length)
    assert device32.dtype == torch.float32
    assert device32.item() == pytest.approx(host, rel=1e-5, abs=1e-6)


def test_warmup_by_hand():
    assert [lr_factor(t, warmup_steps=4, use_cyclical_lr=False, cycle_length=1) for t in (1, 2, 3, 4, 5)] == [
        0.25,
        0.5,
        0.75,
        1.0,
        1.0,
    ]


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_coefficient_and_norm_equal_clip_grad_norm(max_norm):
    generator = torch.Generator().manual_seed(0)
    grads = [
        torch.randn(5, 3, generator=generator),
        torch.randn(7, generator=generator),
        torch.randn((), generator=generator),
    ]
    reference = [g.clone().requires_grad_() for g in grads]
    for r, g in zip(reference, grads, strict=True):
        r.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(reference, max_norm, foreach=True)
    norm = global_grad_norm(grads)
    torch.testing.assert_close(norm, total, rtol=0, atol=0)
    coefficient = clip_coefficient(norm, max_norm)
    for r, g in zip(reference, grads, strict=True):
        torch.testing.assert_close(g * coefficient, r.grad, rtol=0, atol=0)
    scale = clip_grad_scale(norm, max_norm, torch.device("cpu"))
    assert scale.dtype == torch.float32
    assert scale.item() >= 1.0
    torch.testing.assert_close(grads[0] / scale, reference[0].grad, rtol=2e-7, atol=0)


def test_non_finite_norms_give_zero_or_nan_coefficients_as_torch():
    assert clip_coefficient(torch.tensor(math.inf), 1.0).item() == 0.0
    assert math.isnan(clip_coefficient(torch.tensor(math.nan), 1.0).item())
    assert global_grad_norm([torch.tensor([math.inf, 1.0])]).item() == math.inf
    assert global_grad_norm([]).item() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup_steps": -1}, r"Invalid warmup_steps: -1 \(must be an integer >= 0\)"),
        ({"warmup_steps": 2.5}, r"Invalid warmup_steps: 2.5 \(must be an integer >= 0; got float\)"),
        ({"max_grad_norm": 0.0}, r"Invalid max_grad_norm: 0.0 \(must be None or a finite number > 0\)"),
        ({"max_grad_norm": -1}, r"Invalid max_grad_norm: -1 \(must be None or a finite number > 0\)"),
        ({"max_grad_norm": math.inf}, r"Invalid max_grad_norm: inf \(must be None or a finite number > 0\)"),
        ({"max_grad_norm": "1"}, r"Invalid max_grad_norm: '1' \(must be None or a finite number > 0; got str\)"),
        ({"use_cyclical_lr": 1}, r"Invalid use_cyclical_lr: 1 \(must be True or False\)"),
        ({"cycle_length": 0}, r"Invalid cycle_length: 0 \(must be an integer >= 1\)"),
    ],
)
def test_bad_schedule_and_clip_arguments_name_argument_value_and_range(kwargs, message):
    arguments = {"warmup_steps": 0, "max_grad_norm": None, "use_cyclical_lr": False, "cycle_length": 1000, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_schedule_clip(**arguments)
