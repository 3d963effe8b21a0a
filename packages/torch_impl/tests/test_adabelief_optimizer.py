"""lossopt.AdaBelief against the authors' adabelief-pytorch 0.2.1 (when installed), and its contract."""

import contextlib
import copy
import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossopt import AdaBelief

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def make_params(dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]


def run(optimizer_cls, kwargs, steps=10, seed=0, dtype=torch.float64):
    params = make_params(dtype, seed)
    with contextlib.redirect_stdout(io.StringIO()):  # the authors' constructor prints
        optimizer = optimizer_cls(params, **kwargs)
    generator = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=dtype)
        optimizer.step()
    return params, optimizer


@st.composite
def adabelief_kwargs(draw):
    weight_decouple = draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-3, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.9])), draw(st.sampled_from([0.9, 0.999]))),
        "eps": draw(st.sampled_from([1e-16, 1e-8])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01])),
        "amsgrad": draw(st.booleans()),
        "weight_decouple": weight_decouple,
        "fixed_decay": weight_decouple and draw(st.booleans()),
        "rectify": draw(st.booleans()),
        "degenerated_to_sgd": draw(st.booleans()),
    }


@settings(max_examples=25, deadline=None)
@given(kwargs=adabelief_kwargs(), foreach=st.booleans())
def test_matches_the_authors_adabelief_step_for_step(kwargs, foreach):
    authors = pytest.importorskip("adabelief_pytorch", reason="the authors' package is a test-only reference")
    ours, our_opt = run(AdaBelief, {**kwargs, "foreach": foreach})
    theirs, their_opt = run(authors.AdaBelief, {**kwargs, "print_change_log": False})
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        for key in ("exp_avg", "exp_avg_var") + (("max_exp_avg_var",) if kwargs["amsgrad"] else ()):
            torch.testing.assert_close(our_opt.state[a][key], their_opt.state[b][key], rtol=1e-12, atol=1e-12)


def test_kernels_agree_on_mixed_dtypes_and_missing_grads():
    def build():
        params = [torch.ones(3, dtype=torch.float32), torch.ones(2, dtype=torch.float64), torch.ones(4)]
        return [p.requires_grad_() for p in params]

    results = []
    for kernel in ({"foreach": False}, {"foreach": True}, {"fused": True}):
        params = build()
        opt = AdaBelief(params, lr=0.1, weight_decay=0.1, **kernel)
        for step in range(8):  # both branches
            params[0].grad = torch.full((3,), 0.5) * (step + 1)
            params[1].grad = torch.full((2,), -1.0, dtype=torch.float64)
            params[2].grad = None if step == 0 else torch.linspace(-1, 1, 4)
            opt.step()
        results.append(params)
    reference, *others = results
    for params in others:
        for a, b in zip(reference, params, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kernel", [{"foreach": False}, {"foreach": True}])
def test_low_precision_stays_finite_with_eps_below_float16(dtype, kernel):
    # eps = 1e-16 rounds to 0 in float16; a coordinate whose gradient is always 0 would be 0 / 0
    p = torch.tensor([1.0, -1.0, 0.5], dtype=dtype, requires_grad=True)
    reference = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float32, requires_grad=True)
    opt = AdaBelief([p], lr=0.01, rectify=False, **kernel)
    ref_opt = AdaBelief([reference], lr=0.01, rectify=False, foreach=False)
    for step in range(10):
        grad = torch.tensor([0.0, 0.3 * (step + 1), -0.2])
        p.grad = grad.to(dtype)
        reference.grad = grad.to(dtype).float()
        opt.step()
        ref_opt.step()
    assert torch.isfinite(p).all()
    assert opt.state[p]["exp_avg_var"].dtype == torch.float32
    tolerance = {"rtol": 1e-3, "atol": 1e-3} if dtype == torch.float16 else {"rtol": 1.6e-2, "atol": 1e-2}
    torch.testing.assert_close(p.float(), reference.detach(), **tolerance)


def test_a_parameter_without_gradient_is_untouched_and_has_no_state():
    for kernel in ({"foreach": False}, {"foreach": True}):
        a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = AdaBelief([a, b], lr=0.1, weight_decay=0.1, **kernel)
        a.grad = torch.ones(2)
        opt.step()
        torch.testing.assert_close(b, torch.ones(2), rtol=0, atol=0)
        assert len(opt.state[b]) == 0


def test_gradients_are_left_untouched_also_with_l2_decay():
    # the authors' code adds the L2 term into p.grad in place; lossopt does not
    for kernel in ({"foreach": False}, {"foreach": True}):
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.tensor([1.0, 2.0, 3.0])
        opt = AdaBelief(
            [p], lr=0.1, weight_decay=0.1, weight_decouple=False, maximize=True, max_grad_norm=0.5, **kernel
        )
        for _ in range(7):
            opt.step()
        torch.testing.assert_close(p.grad, torch.tensor([1.0, 2.0, 3.0]), rtol=0, atol=0)


def test_state_dict_round_trip():
    kwargs = {"lr": 0.1, "amsgrad": True, "rectify": False}
    ours, our_opt = run(AdaBelief, kwargs, steps=3)
    again = AdaBelief([p.detach().clone().requires_grad_() for p in ours], **kwargs)
    again.load_state_dict(copy.deepcopy(our_opt.state_dict()))
    for opt in (our_opt, again):
        for _ in range(3):
            for p in opt.param_groups[0]["params"]:
                p.grad = torch.ones_like(p)
            opt.step()
    for a, b in zip(our_opt.param_groups[0]["params"], again.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(our_opt.state[a]["max_exp_avg_var"], again.state[b]["max_exp_avg_var"])


def test_step_reads_no_tensor_back_to_the_host(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a tensor value was read on the host inside step()")

    _, opt = run(AdaBelief, {"lr": 0.1, "amsgrad": True, "max_grad_norm": 1.0, "warmup_steps": 3}, steps=1)
    for name in ("item", "__bool__", "__float__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for foreach in (False, True):
        for group in opt.param_groups:
            group["foreach"] = foreach
        for _ in range(6):
            opt.step()


def test_closure_runs_once_and_its_loss_is_returned():
    p = torch.ones(2, requires_grad=True)
    calls = []

    def closure():
        calls.append(1)
        p.grad = torch.ones(2)
        return 3.0

    assert AdaBelief([p], lr=0.1).step(closure) == 3.0
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -0.1}, r"Invalid learning rate: -0.1 \(must be >= 0\)"),
        ({"betas": (1.0, 0.999)}, r"Invalid beta parameter at index 0: 1.0 \(must be in \[0, 1\)\)"),
        ({"betas": (0.9, 1.0)}, r"Invalid beta parameter at index 1: 1.0 \(must be in \[0, 1\)\)"),
        ({"eps": -1e-16}, r"Invalid epsilon value: -1e-16 \(must be >= 0\)"),
        ({"weight_decay": -1.0}, r"Invalid weight_decay value: -1.0 \(must be >= 0\)"),
        (
            {"fixed_decay": True, "weight_decouple": False},
            r"fixed_decay=True requires weight_decouple=True .* got weight_decouple=False",
        ),
        ({"warmup_steps": 1.5}, r"Invalid warmup_steps: 1.5 \(must be an integer >= 0; got float\)"),
        ({"max_grad_norm": float("inf")}, r"Invalid max_grad_norm: inf \(must be None or a finite number > 0\)"),
        ({"foreach": True, "fused": True}, r"foreach and fused cannot both be True"),
    ],
)
def test_invalid_hyperparameters_name_the_argument_and_the_value(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        AdaBelief([torch.zeros(1, requires_grad=True)], **kwargs)


def test_contradictory_flags_in_an_added_group_are_refused():
    opt = AdaBelief([torch.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="fixed_decay=True requires weight_decouple=True"):
        opt.add_param_group(
            {"params": [torch.zeros(1, requires_grad=True)], "fixed_decay": True, "weight_decouple": False}
        )


def test_sparse_gradients_are_refused_clearly():
    p = torch.zeros(4, requires_grad=True)
    p.grad = torch.zeros(4).to_sparse()
    with pytest.raises(RuntimeError, match=r"AdaBelief does not support sparse gradients; .* shape \(4,\)"):
        AdaBelief([p], lr=0.1).step()
