"""lossopt.SGD against torch.optim.SGD (an independent implementation), and its contract."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossopt import SGD

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def make_params(dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]


def run(optimizer_cls, kwargs, steps=6, seed=0, dtype=torch.float64):
    params = make_params(dtype, seed)
    optimizer = optimizer_cls(params, **kwargs)
    generator = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=dtype)
        optimizer.step()
    return params, optimizer


@st.composite
def sgd_kwargs(draw):
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    nesterov = momentum > 0 and draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-3, 0.1, 0.7])),
        "momentum": momentum,
        "dampening": 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01])),
        "nesterov": nesterov,
        "maximize": draw(st.booleans()),
    }


@settings(max_examples=25, deadline=None)
@given(kwargs=sgd_kwargs(), foreach=st.booleans())
def test_matches_torch_sgd_step_for_step(kwargs, foreach):
    ours, our_opt = run(SGD, {**kwargs, "foreach": foreach})
    theirs, their_opt = run(torch.optim.SGD, {**kwargs, "foreach": foreach})
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        ours_buf = our_opt.state[a].get("momentum_buffer")
        theirs_buf = their_opt.state[b].get("momentum_buffer")
        if kwargs["momentum"] == 0:
            assert ours_buf is None
        else:
            torch.testing.assert_close(ours_buf, theirs_buf, rtol=0, atol=1e-12)


def test_state_dicts_load_both_ways():
    kwargs = {"lr": 0.1, "momentum": 0.9}
    ours, our_opt = run(SGD, kwargs, steps=3)
    theirs, their_opt = run(torch.optim.SGD, kwargs, steps=3)
    # continue each run from the other's state
    fresh_ours = SGD([p.detach().clone().requires_grad_() for p in theirs], **kwargs)
    fresh_ours.load_state_dict(copy.deepcopy(their_opt.state_dict()))
    fresh_theirs = torch.optim.SGD([p.detach().clone().requires_grad_() for p in ours], **kwargs)
    fresh_theirs.load_state_dict(copy.deepcopy(our_opt.state_dict()))
    for opt in (fresh_ours, fresh_theirs):
        for p in opt.param_groups[0]["params"]:
            p.grad = torch.ones_like(p)
        opt.step()
    for a, b in zip(fresh_ours.param_groups[0]["params"], fresh_theirs.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_kernels_agree_on_mixed_dtypes_and_missing_grads():
    def build():
        params = [torch.ones(3, dtype=torch.float32), torch.ones(2, dtype=torch.float64), torch.ones(4)]
        for p in params:
            p.requires_grad_()
        return params

    results = []
    for foreach in (False, True):
        params = build()
        opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1, foreach=foreach)
        for step in range(3):
            params[0].grad = torch.full((3,), 0.5)
            params[1].grad = torch.full((2,), -1.0, dtype=torch.float64)
            params[2].grad = None if step == 0 else torch.full((4,), 2.0)
            opt.step()
        results.append(params)
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_gradients_are_left_untouched():
    for foreach in (False, True):
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.tensor([1.0, 2.0, 3.0])
        opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True, foreach=foreach)
        opt.step()
        opt.step()
        torch.testing.assert_close(p.grad, torch.tensor([1.0, 2.0, 3.0]))


def test_closure_runs_once_and_its_loss_is_returned():
    p = torch.ones(2, requires_grad=True)
    calls = []

    def closure():
        calls.append(1)
        p.grad = torch.ones(2)
        return 3.0

    assert SGD([p], lr=0.1).step(closure) == 3.0
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -0.1}, r"Invalid learning rate: -0.1 \(must be >= 0\)"),
        ({"momentum": -0.5}, r"Invalid momentum value: -0.5 \(must be >= 0\)"),
        ({"dampening": 1.5}, r"Invalid dampening value: 1.5 \(must be in \[0, 1\]\)"),
        ({"weight_decay": -1e-4}, r"Invalid weight_decay value: -0.0001 \(must be >= 0\)"),
        ({"lr": float("nan")}, r"Invalid learning rate: nan \(must be >= 0\)"),
        ({"lr": "0.1"}, r"Invalid learning rate: '0.1' \(must be a real number; got str\)"),
        ({"nesterov": True}, r"Nesterov momentum requires a momentum > 0 and zero dampening; got momentum=0"),
        (
            {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
            r"Nesterov momentum requires .* got momentum=0.9, dampening=0.1",
        ),
    ],
)
def test_invalid_hyperparameters_name_the_argument_and_the_value(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        SGD([torch.zeros(1, requires_grad=True)], **kwargs)


def test_sparse_gradients_are_refused_clearly():
    p = torch.zeros(4, requires_grad=True)
    p.grad = torch.zeros(4).to_sparse()
    # a ValueError (the project's rule for bad input) that is also torch.optim's RuntimeError
    for error in (ValueError, RuntimeError):
        with pytest.raises(error, match=r"Invalid gradient: a sparse gradient for a parameter of shape \(4,\)"):
            SGD([p], lr=0.1).step()
