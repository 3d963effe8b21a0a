"""lossopt.RAdam against torch.optim.RAdam (an independent implementation), and its contract."""

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossopt import RAdam

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def make_params(dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]


def run(optimizer_cls, kwargs, steps=10, seed=0, dtype=torch.float64):
    params = make_params(dtype, seed)
    optimizer = optimizer_cls(params, **kwargs)
    generator = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=dtype)
        optimizer.step()
    return params, optimizer


@st.composite
def radam_kwargs(draw):
    return {
        "lr": draw(st.sampled_from([1e-3, 0.1, 0.7])),
        "betas": (draw(st.sampled_from([0.0, 0.9])), draw(st.sampled_from([0.9, 0.99, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01])),
        "decoupled_weight_decay": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@settings(max_examples=25, deadline=None)
@given(kwargs=radam_kwargs(), foreach=st.booleans())
def test_matches_torch_radam_step_for_step(kwargs, foreach):
    # 10 steps cross the branch change at t = 6 for beta2 = 0.999 (t = 6 for 0.99 and 0.9 too)
    ours, our_opt = run(RAdam, {**kwargs, "foreach": foreach})
    theirs, their_opt = run(torch.optim.RAdam, {**kwargs, "foreach": foreach})
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(our_opt.state[a][key], their_opt.state[b][key], rtol=1e-12, atol=1e-12)


def test_kernels_agree_on_mixed_dtypes_and_missing_grads():
    def build():
        params = [torch.ones(3, dtype=torch.float32), torch.ones(2, dtype=torch.float64), torch.ones(4)]
        return [p.requires_grad_() for p in params]

    results = []
    for kernel in ({"foreach": False}, {"foreach": True}, {"fused": True}):
        params = build()
        opt = RAdam(params, lr=0.1, weight_decay=0.1, **kernel)
        for step in range(8):  # both branches
            params[0].grad = torch.full((3,), 0.5) * (step + 1)
            params[1].grad = torch.full((2,), -1.0, dtype=torch.float64)
            params[2].grad = None if step == 0 else torch.linspace(-1, 1, 4)
            opt.step()
        results.append((params, opt))
    (reference, ref_opt), *others = results
    for params, opt in others:
        for a, b in zip(reference, params, strict=True):
            torch.testing.assert_close(a, b)  # float32: rtol 1.3e-6; float64: 1e-7
            torch.testing.assert_close(ref_opt.state[a]["step"], opt.state[b]["step"])
    assert float(ref_opt.state[reference[2]]["step"]) == 7.0  # no step while its grad was None


def test_a_parameter_without_gradient_is_untouched_and_has_no_state():
    for kernel in ({"foreach": False}, {"foreach": True}):
        a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = RAdam([a, b], lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, **kernel)
        a.grad = torch.ones(2)
        opt.step()
        torch.testing.assert_close(b, torch.ones(2), rtol=0, atol=0)
        assert len(opt.state[b]) == 0


def test_gradients_are_left_untouched():
    for kernel in ({"foreach": False}, {"foreach": True}):
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.tensor([1.0, 2.0, 3.0])
        opt = RAdam([p], lr=0.1, weight_decay=0.1, maximize=True, max_grad_norm=0.5, **kernel)
        for _ in range(7):
            opt.step()
        torch.testing.assert_close(p.grad, torch.tensor([1.0, 2.0, 3.0]), rtol=0, atol=0)


def test_state_dicts_round_trip_and_load_both_ways_with_torch():
    kwargs = {"lr": 0.1}
    ours, our_opt = run(RAdam, kwargs, steps=3)
    theirs, their_opt = run(torch.optim.RAdam, kwargs, steps=3)
    fresh_ours = RAdam([p.detach().clone().requires_grad_() for p in theirs], **kwargs)
    fresh_ours.load_state_dict(copy.deepcopy(their_opt.state_dict()))
    again_ours = RAdam([p.detach().clone().requires_grad_() for p in ours], **kwargs)
    again_ours.load_state_dict(copy.deepcopy(our_opt.state_dict()))
    fresh_theirs = torch.optim.RAdam([p.detach().clone().requires_grad_() for p in ours], **kwargs)
    fresh_theirs.load_state_dict(copy.deepcopy(our_opt.state_dict()))
    for opt in (fresh_ours, again_ours, fresh_theirs):
        for _ in range(4):  # t = 4..7: across the branch change
            for p in opt.param_groups[0]["params"]:
                p.grad = torch.ones_like(p)
            opt.step()
    for a, b, c in zip(*(o.param_groups[0]["params"] for o in (fresh_ours, again_ours, fresh_theirs)), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
        torch.testing.assert_close(a, c, rtol=0, atol=1e-12)


def test_step_reads_no_tensor_back_to_the_host(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a tensor value was read on the host inside step()")

    _, opt = run(RAdam, {"lr": 0.1, "max_grad_norm": 1.0, "warmup_steps": 3}, steps=1)
    for name in ("item", "__bool__", "__float__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for foreach in (False, True):
        for group in opt.param_groups:
            group["foreach"] = foreach
        for _ in range(6):
            opt.step()


def test_warmup_scales_the_first_steps():
    # warmup 4, lr 0.1, g = 0.5, p0 = 0: step 1 is the momentum step with lr / 4: p = -0.1 / 4 * 0.5
    p = torch.zeros(1, requires_grad=True)
    opt = RAdam([p], lr=0.1, warmup_steps=4)
    p.grad = torch.tensor([0.5])
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([-0.0125]), rtol=1e-6, atol=0)
    assert opt.param_groups[0]["lr"] == 0.1  # the group's rate is never overwritten


def test_clipping_uses_one_norm_over_every_group():
    # grads 3 and 4 in two groups: norm 5, clipped to 1: first steps move lr * g / 5 (momentum step)
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = RAdam([{"params": [a]}, {"params": [b]}], lr=0.1, max_grad_norm=1.0)
    a.grad, b.grad = torch.tensor([3.0]), torch.tensor([4.0])
    opt.step()
    kappa = 1.0 / (5.0 + 1e-6)
    torch.testing.assert_close(a.detach(), torch.tensor([-0.3 * kappa]))
    torch.testing.assert_close(b.detach(), torch.tensor([-0.4 * kappa]))
    torch.testing.assert_close(opt.last_grad_norm, torch.tensor(5.0))


def test_closure_runs_once_and_its_loss_is_returned():
    p = torch.ones(2, requires_grad=True)
    calls = []

    def closure():
        calls.append(1)
        p.grad = torch.ones(2)
        return 3.0

    assert RAdam([p], lr=0.1).step(closure) == 3.0
    assert len(calls) == 1


def test_torch_fused_adam_kernel_carries_the_rectified_step():
    """The rectified step (7) is Adam's step with lr -> lr r_t sqrt(1 - b2^t) / (1 - b1^t) and bias corrections 1.

    ``torch._fused_adam_`` takes lr as a tensor and computes its bias corrections from the step
    tensors it is given: with those held at +inf (b^inf = 0) they are 1, and one kernel pass is
    exactly RAdam's rectified step, which is how lossopt's fused path runs it. It cannot express the
    un-adapted step (8) (it always divides by sqrt(v) + eps), which that path runs in eager ops.
    """
    params, opt = run(RAdam, {"lr": 0.1}, steps=6, dtype=torch.float32)  # next step t = 7 rectifies
    generator = torch.Generator().manual_seed(7)
    grads = [torch.randn(p.shape, generator=generator) for p in params]
    copies = [p.detach().clone() for p in params]
    exp_avgs = [opt.state[p]["exp_avg"].clone() for p in params]
    exp_avg_sqs = [opt.state[p]["exp_avg_sq"].clone() for p in params]
    t, beta1, beta2 = 7, 0.9, 0.999
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    lr = torch.tensor(0.1 * r_t * math.sqrt(1 - beta2**t) / (1 - beta1**t))
    torch._fused_adam_(
        copies,
        grads,
        exp_avgs,
        exp_avg_sqs,
        [],
        [torch.tensor(math.inf) for _ in params],
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        weight_decay=0.0,
        eps=1e-8,
        amsgrad=False,
        maximize=False,
    )
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    opt.step()
    for p, c in zip(params, copies, strict=True):
        torch.testing.assert_close(p.detach(), c)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -0.1}, r"Invalid learning rate: -0.1 \(must be >= 0\)"),
        ({"lr": "0.1"}, r"Invalid learning rate: '0.1' \(must be a real number; got str\)"),
        ({"betas": (1.0, 0.999)}, r"Invalid beta parameter at index 0: 1.0 \(must be in \[0, 1\)\)"),
        ({"betas": (0.9, -0.1)}, r"Invalid beta parameter at index 1: -0.1 \(must be in \[0, 1\)\)"),
        ({"betas": (0.9,)}, r"Invalid betas: \(0.9,\) \(must be a pair \(beta1, beta2\), each in \[0, 1\)\)"),
        ({"eps": -1e-8}, r"Invalid epsilon value: -1e-08 \(must be >= 0\)"),
        ({"weight_decay": -1e-4}, r"Invalid weight_decay value: -0.0001 \(must be >= 0\)"),
        ({"warmup_steps": -1}, r"Invalid warmup_steps: -1 \(must be an integer >= 0\)"),
        ({"max_grad_norm": 0.0}, r"Invalid max_grad_norm: 0.0 \(must be None or a finite number > 0\)"),
        ({"foreach": True, "fused": True}, r"foreach and fused cannot both be True"),
    ],
)
def test_invalid_hyperparameters_name_the_argument_and_the_value(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        RAdam([torch.zeros(1, requires_grad=True)], **kwargs)


def test_sparse_gradients_are_refused_clearly():
    p = torch.zeros(4, requires_grad=True)
    p.grad = torch.zeros(4).to_sparse()
    with pytest.raises(RuntimeError, match=r"RAdam does not support sparse gradients; .* shape \(4,\)"):
        RAdam([p], lr=0.1).step()
