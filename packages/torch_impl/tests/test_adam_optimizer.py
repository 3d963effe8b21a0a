"""AdvancedAdamW, AdvancedAdam, AdvancedSGD against torch.optim (an independent implementation); their contract."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossopt import AdvancedAdam, AdvancedAdamW, AdvancedSGD

SHAPES = [(3, 4), (5,), (), (0,)]
PAIRS = [(AdvancedAdamW, torch.optim.AdamW), (AdvancedAdam, torch.optim.Adam)]
IMPLS = [{"foreach": False}, {"foreach": True}, {"fused": True}]


def make_params(dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]


def run(optimizer_cls, kwargs, steps=6, seed=0, dtype=torch.float32, clip=None):
    params = make_params(dtype, seed)
    optimizer = optimizer_cls(params, **kwargs)
    generator = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        for p in params:
            p.grad = 3 * torch.randn(p.shape, generator=generator, dtype=dtype)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip, foreach=True)
        optimizer.step()
    return params, optimizer


@st.composite
def adam_kwargs(draw):
    return {
        "lr": draw(st.sampled_from([1e-3, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.9])), draw(st.sampled_from([0.5, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 0.1])),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["adamw", "adam"])
@settings(max_examples=15, deadline=None)
@given(kwargs=adam_kwargs(), impl=st.sampled_from(IMPLS), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_equals_torch_step_for_step_with_the_extras_off(ours, theirs, kwargs, impl, dtype):
    a, our_opt = run(ours, {**kwargs, **impl}, dtype=dtype)
    b, their_opt = run(theirs, {**kwargs, **impl}, dtype=dtype)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)  # the same operations in the same order: bit-identical
    for x, y in zip(a, b, strict=True):
        for key in ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert (key in our_opt.state[x]) == (key in their_opt.state[y]), key
            if key in our_opt.state[x]:
                assert torch.equal(our_opt.state[x][key], their_opt.state[y][key]), key


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["adamw", "adam"])
@pytest.mark.parametrize("impl", IMPLS, ids=["single", "foreach", "fused"])
def test_clipping_equals_clip_grad_norm_then_torch(ours, theirs, impl):
    a, _ = run(ours, {"lr": 0.1, "max_grad_norm": 0.5, **impl})
    b, _ = run(theirs, {"lr": 0.1, **impl}, clip=0.5)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-6)


def test_sgd_clipping_equals_clip_grad_norm_then_torch_sgd():
    for impl in IMPLS:
        kwargs = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, **impl}
        a, _ = run(AdvancedSGD, {**kwargs, "max_grad_norm": 0.5})
        b, _ = run(torch.optim.SGD, kwargs, clip=0.5)
        for x, y in zip(a, b, strict=True):
            torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("ours", "theirs"), [*PAIRS, (AdvancedSGD, torch.optim.SGD)], ids=["adamw", "adam", "sgd"])
@pytest.mark.parametrize("impl", IMPLS, ids=["single", "foreach", "fused"])
def test_state_dicts_load_both_ways_with_torch(ours, theirs, impl):
    kwargs = {"lr": 0.1, "momentum": 0.9} if ours is AdvancedSGD else {"lr": 0.1, "amsgrad": True}
    a, our_opt = run(ours, {**kwargs, **impl}, steps=3)
    b, their_opt = run(theirs, {**kwargs, **impl}, steps=3)
    fresh_ours = ours([p.detach().clone().requires_grad_() for p in b], **kwargs, **impl)
    fresh_ours.load_state_dict(copy.deepcopy(their_opt.state_dict()))
    fresh_theirs = theirs([p.detach().clone().requires_grad_() for p in a], **kwargs, **impl)
    fresh_theirs.load_state_dict(copy.deepcopy(our_opt.state_dict()))
    for opt in (fresh_ours, fresh_theirs, our_opt, their_opt):
        for p in opt.param_groups[0]["params"]:
            p.grad = torch.ones_like(p)
        opt.step()
    for group in (fresh_ours, fresh_theirs, their_opt):
        for x, y in zip(group.param_groups[0]["params"], our_opt.param_groups[0]["params"], strict=True):
            assert torch.equal(x, y)


def test_torch_state_dict_resumes_the_warmup_where_that_run_was():
    _, theirs = run(torch.optim.AdamW, {"lr": 0.1}, steps=3)
    ours = AdvancedAdamW(make_params(), lr=0.1, warmup_steps=10, max_grad_norm=2.0)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
    group = ours.param_groups[0]
    assert (group["schedule_step"], group["warmup_steps"], group["max_grad_norm"]) == (3, 10, 2.0)


def test_warmup_never_writes_group_lr_and_starts_above_zero():
    # the design document's snippet set lr to 0 on the first step and kept it there
    w = torch.nn.Parameter(torch.zeros(1))
    opt = AdvancedAdamW([w], lr=0.1, weight_decay=0.0, warmup_steps=4)
    moves = []
    for _ in range(6):
        w.grad = torch.ones(1)
        before = w.item()
        opt.step()
        moves.append(before - w.item())
        assert opt.param_groups[0]["lr"] == 0.1
    # Adam with a constant gradient moves lr_t per step: 0.025, 0.05, 0.075, 0.1, 0.1, 0.1
    torch.testing.assert_close(
        torch.tensor(moves), torch.tensor([0.025, 0.05, 0.075, 0.1, 0.1, 0.1]), rtol=1e-5, atol=0
    )


def test_sgd_cyclical_factor_by_hand():
    # lr 1, W = 0, L = 4, gradient 1: moves c_t = (1 + cos(pi k / 4)) / 2 for k = 0, 1, 2, 3, 0
    w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = AdvancedSGD([w], lr=1.0, use_cyclical_lr=True, cycle_length=4)
    moves = []
    for _ in range(5):
        w.grad = torch.ones(1, dtype=torch.float64)
        before = w.item()
        opt.step()
        moves.append(before - w.item())
    expected = [(1 + math.cos(math.pi * k / 4)) / 2 for k in (0, 1, 2, 3, 0)]
    torch.testing.assert_close(torch.tensor(moves, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("cls", [AdvancedAdamW, AdvancedAdam, AdvancedSGD])
def test_clipping_leaves_grads_untouched_except_torchs_fused_kernels_write_back(cls, cpu_kernels):
    for impl in IMPLS:
        p = torch.nn.Parameter(torch.ones(4))
        p.grad = torch.full((4,), 2.0)  # norm 4 > max 1: clipped by 1 / (4 + 1e-6)
        opt = cls([p], lr=0.1, max_grad_norm=1.0, **impl)
        opt.step()
        torch.testing.assert_close(opt.last_grad_norm, torch.tensor(4.0))
        torchs_kernel = impl.get("fused") and cpu_kernels == "fallback"
        if torchs_kernel:
            # documented: torch's fused kernels store g / grad_scale back into p.grad (as clip_grad_norm_ leaves it)
            torch.testing.assert_close(p.grad, torch.full((4,), 2.0 / (4.0 + 1e-6)))
        else:  # per-tensor, foreach, and lossopt's CPU kernels of fused=True: read only
            assert torch.equal(p.grad, torch.full((4,), 2.0))


@pytest.mark.parametrize("cls", [AdvancedAdamW, AdvancedAdam, AdvancedSGD])
def test_non_finite_norm_is_documented_behaviour_not_an_error(cls):
    for impl in IMPLS:
        a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
        a.grad, b.grad = torch.tensor([math.inf, 1.0]), torch.tensor([1.0, 1.0])
        opt = cls([a, b], lr=0.1, max_grad_norm=1.0, **impl)
        opt.step()
        assert opt.last_grad_norm.item() == math.inf
        # coefficient 0: the inf entry becomes NaN, the finite gradients become 0
        assert torch.isnan(a[0]).item()
        assert torch.isfinite(b).all().item()


def test_closure_runs_once_and_its_loss_is_returned():
    for cls in (AdvancedAdamW, AdvancedAdam, AdvancedSGD):
        p = torch.nn.Parameter(torch.ones(2))
        calls = []

        def closure(p=p, calls=calls):
            calls.append(1)
            p.grad = torch.ones(2)
            return 3.0

        assert cls([p], lr=0.1, max_grad_norm=1.0, warmup_steps=2).step(closure) == 3.0
        assert len(calls) == 1


def test_capturable_equals_the_host_counter_path():
    for cls in (AdvancedAdamW, AdvancedAdam):
        for impl in IMPLS:
            kwargs = {"lr": 0.05, "warmup_steps": 3, "max_grad_norm": 1.0, "amsgrad": True, **impl}
            for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
                a, _ = run(cls, {**kwargs, "capturable": True}, dtype=dtype)
                b, _ = run(cls, kwargs, dtype=dtype)
                for x, y in zip(a, b, strict=True):
                    # fused + capturable: the kernel takes the scheduled lr as a float32 tensor
                    torch.testing.assert_close(x, y, rtol=tol if not impl.get("fused") else 1e-6, atol=tol)


def test_no_bias_correction_equals_a_hand_computed_step():
    # b1 = b2 = 1: m = 0.1 g, v = 0.001 g^2, step = lr m / (sqrt(v) + eps) = 0.1 * 0.1 / sqrt(0.001) = 0.316227...
    for impl in IMPLS:
        w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        w.grad = torch.ones(1, dtype=torch.float64)
        AdvancedAdam([w], lr=0.1, eps=0.0, use_bias_correction=False, **impl).step()
        torch.testing.assert_close(w.detach(), torch.tensor([-0.01 / math.sqrt(0.001)], dtype=torch.float64))


def test_differentiable_update_carries_gradients():
    w = torch.ones(2, requires_grad=True)
    p = w.clone()
    p.grad = torch.tensor([1.0, -1.0])
    # gradients flow into the updated value only under differentiable=True (per-tensor kernel)
    theirs = w.clone()
    theirs.grad = p.grad.clone()
    AdvancedSGD([p], lr=0.1, differentiable=True).step()
    torch.optim.SGD([theirs], lr=0.1, differentiable=True).step()
    torch.testing.assert_close(p, theirs)
    assert p.grad_fn is not None
    p.sum().backward()
    torch.testing.assert_close(w.grad, torch.ones(2))  # d(p - lr g)/dw = 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason=f"no CUDA device for torch {torch.__version__}")
@pytest.mark.parametrize("fused", [False, True])
def test_capturable_step_replays_in_a_cuda_graph(fused):
    kwargs = {"lr": 0.05, "warmup_steps": 3, "max_grad_norm": 1.0, "capturable": True}
    if fused:
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = True
    params = [torch.randn(64, device="cuda", requires_grad=True) for _ in range(3)]
    reference = [p.detach().clone().requires_grad_() for p in params]
    opt = AdvancedAdamW(params, **kwargs)
    ref_opt = AdvancedAdamW(reference, **{**kwargs, "capturable": False, "fused": fused or None})
    grads = [torch.randn(64, device="cuda") for _ in params]
    for p, r, g in zip(params, reference, grads, strict=True):
        p.grad, r.grad = g.clone(), g.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):  # warm up (and take two real steps)
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    for _ in range(2):
        ref_opt.step()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        opt.step()
    for _ in range(4):
        graph.replay()
        ref_opt.step()
    torch.cuda.synchronize()
    for p, r in zip(params, reference, strict=True):
        torch.testing.assert_close(p, r, rtol=1e-5, atol=1e-6)


BAD = [
    ({"lr": -0.1}, r"Invalid learning rate: -0.1 \(must be >= 0\)"),
    ({"eps": -1e-8}, r"Invalid epsilon value: -1e-08 \(must be >= 0\)"),
    ({"weight_decay": -0.1}, r"Invalid weight_decay value: -0.1 \(must be >= 0\)"),
    ({"betas": (0.9, 1.0)}, r"Invalid beta parameter at index 1: 1.0 \(must be in \[0, 1\)\)"),
    ({"betas": (-0.1, 0.9)}, r"Invalid beta parameter at index 0: -0.1 \(must be in \[0, 1\)\)"),
    ({"betas": (0.9,)}, r"Invalid betas: \(0.9,\) \(must be a pair \(beta1, beta2\), each in \[0, 1\)\)"),
    ({"warmup_steps": -5}, r"Invalid warmup_steps: -5 \(must be an integer >= 0\)"),
    ({"max_grad_norm": 0.0}, r"Invalid max_grad_norm: 0.0 \(must be None or a finite number > 0\)"),
    ({"max_grad_norm": -1.0}, r"Invalid max_grad_norm: -1.0 \(must be None or a finite number > 0\)"),
    ({"fused": True, "foreach": True}, r"Invalid fused/foreach: fused=True, foreach=True \(at most one of them"),
    ({"fused": True, "differentiable": True}, r"Invalid fused: True with differentiable=True"),
]


@pytest.mark.parametrize("cls", [AdvancedAdamW, AdvancedAdam])
@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_adam_bad_arguments_name_argument_value_and_range(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, r"Invalid learning rate: -1.0 \(must be >= 0\)"),
        ({"weight_decay": -1.0}, r"Invalid weight_decay value: -1.0 \(must be >= 0\)"),
        ({"nesterov": True}, r"Nesterov momentum requires a momentum > 0 and zero dampening; got momentum=0"),
        ({"warmup_steps": -1}, r"Invalid warmup_steps: -1 \(must be an integer >= 0\)"),
        ({"max_grad_norm": 0}, r"Invalid max_grad_norm: 0 \(must be None or a finite number > 0\)"),
        ({"cycle_length": 0}, r"Invalid cycle_length: 0 \(must be an integer >= 1\)"),
        ({"use_cyclical_lr": "yes"}, r"Invalid use_cyclical_lr: 'yes' \(must be True or False\)"),
        ({"fused": True, "foreach": True}, r"Invalid fused/foreach: fused=True, foreach=True"),
    ],
)
def test_sgd_bad_arguments_name_argument_value_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdvancedSGD([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("cls", [AdvancedAdamW, AdvancedAdam, AdvancedSGD])
def test_sparse_gradients_are_a_value_error_naming_the_shape(cls):
    for impl in IMPLS:
        p = torch.zeros(4, requires_grad=True)
        p.grad = torch.zeros(4).to_sparse()
        with pytest.raises(ValueError, match=r"Invalid gradient: a sparse gradient for a parameter of shape \(4,\)"):
            cls([p], lr=0.1, **impl).step()
