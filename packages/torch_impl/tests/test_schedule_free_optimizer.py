"""lossopt.ScheduleFreeAdamW / ScheduleFreeSGD against the authors' schedulefree 1.4.1 (when installed), and the
train / eval contract: a new optimizer is in eval mode, step() there raises, eval() moves the parameters to x."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lossopt_spec
from lossopt import ScheduleFreeAdamW, ScheduleFreeSGD

SHAPES = [(3, 4), (5,), (2, 2, 2)]
RULES = {"adamw": ScheduleFreeAdamW, "sgd": ScheduleFreeSGD}


def authors_cls(kind):
    schedulefree = pytest.importorskip("schedulefree", reason="the authors' package is a test-only reference")
    return {"adamw": schedulefree.AdamWScheduleFree, "sgd": schedulefree.SGDScheduleFree}[kind]


def make_params(dtype=torch.float64):
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]


def train(params, optimizer, steps, seed=1, switch_every=0, on_eval=None):
    """``steps`` steps on random gradients; with ``switch_every``, eval() and train() after every that many."""
    generator = torch.Generator().manual_seed(seed)
    for step in range(1, steps + 1):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        optimizer.step()
        if switch_every and step % switch_every == 0:
            optimizer.eval()
            if on_eval is not None:
                on_eval(step)
            optimizer.train()


@st.composite
def kwargs_for(draw, kind):
    common = {
        "lr": draw(st.sampled_from([1e-3, 0.05, 1.0])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01])),
        "warmup_steps": draw(st.sampled_from([0, 20])),
        "r": draw(st.sampled_from([0.0, 1.0])),
        "weight_lr_power": draw(st.sampled_from([2.0, 0.0])),
    }
    if kind == "adamw":
        return {**common, "betas": (draw(st.sampled_from([0.9, 0.5])), 0.999), "eps": 1e-8}
    return {**common, "momentum": draw(st.sampled_from([0.9, 0.5]))}


@pytest.mark.parametrize("kind", sorted(RULES))
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_matches_the_authors_over_200_steps_with_mode_switches(kind, data):
    kwargs = data.draw(kwargs_for(kind), label="kwargs")
    foreach = data.draw(st.booleans(), label="foreach")
    ours, theirs = make_params(), make_params()
    our_opt = RULES[kind](ours, **kwargs, foreach=foreach)
    their_opt = authors_cls(kind)(theirs, **kwargs, foreach=foreach)
    our_opt.train()
    their_opt.train()

    def compare(step):
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-13, msg=lambda m: f"step {step}: {m}")
            for key in their_opt.state[b]:
                torch.testing.assert_close(our_opt.state[a][key], their_opt.state[b][key], rtol=1e-11, atol=1e-13)

    generator_ours, generator_theirs = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    for step in range(1, 201):
        for params, generator in ((ours, generator_ours), (theirs, generator_theirs)):
            for p in params:
                p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        our_opt.step()
        their_opt.step()
        if step % 40 == 0:
            our_opt.eval()
            their_opt.eval()
            compare(step)  # x
            our_opt.train()
            their_opt.train()
    compare(200)
    for key in ("k", "weight_sum", "lr_max", "scheduled_lr", "train_mode"):
        assert float(our_opt.param_groups[0][key]) == pytest.approx(float(their_opt.param_groups[0][key]), rel=1e-12)


@pytest.mark.parametrize("kind", sorted(RULES))
def test_starts_in_eval_mode_and_step_there_says_to_call_train(kind):
    w = torch.zeros(2, requires_grad=True)
    opt = RULES[kind]([w])
    assert opt.param_groups[0]["train_mode"] is False
    w.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match=r"step\(\) called in eval mode .*Call optimizer\.train\(\) before training"):
        opt.step()
    assert torch.equal(w.detach(), torch.zeros(2))
    assert not opt.state
    opt.train()
    opt.step()
    opt.eval()
    with pytest.raises(RuntimeError, match=r"optimizer\.eval\(\) before evaluating or saving"):
        opt.step()


def test_eval_moves_the_parameters_to_x_and_train_back_to_y_idempotently():
    # SGD, lr 0.5, momentum 0.9, g = 1 twice from 1: y_2 = 0.225, z_2 = 0, x_2 = 0.25 (spec/tests by hand)
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = ScheduleFreeSGD([w], lr=0.5)
    opt.train()
    for _ in range(2):
        w.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.225], dtype=torch.float64))
    opt.eval()
    opt.eval()  # a second eval() changes nothing
    torch.testing.assert_close(w.detach(), torch.tensor([0.25], dtype=torch.float64))
    opt.train()
    opt.train()
    torch.testing.assert_close(w.detach(), torch.tensor([0.225], dtype=torch.float64))


@pytest.mark.parametrize("kind", sorted(RULES))
@pytest.mark.parametrize("saved_in", ["train", "eval"])
def test_state_dict_round_trip_in_either_mode_continues_identically(kind, saved_in):
    kwargs = {"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.01}
    straight = make_params()
    opt = RULES[kind](straight, **kwargs)
    opt.train()
    train(straight, opt, 10, switch_every=3)
    first = make_params()
    opt_first = RULES[kind](first, **kwargs)
    opt_first.train()
    train(first, opt_first, 6, switch_every=3)
    if saved_in == "eval":
        opt_first.eval()  # the recipe: x in the model's weights, train_mode False in the state dict
    saved_params = [p.detach().clone() for p in first]
    saved = copy.deepcopy(opt_first.state_dict())
    assert saved["param_groups"][0]["train_mode"] is (saved_in == "train")
    resumed = [p.clone().requires_grad_() for p in saved_params]
    opt_resumed = RULES[kind](resumed, **kwargs)
    opt_resumed.load_state_dict(saved)
    opt_resumed.train()  # the same call either way: a no-op if saved in train mode
    generator = torch.Generator().manual_seed(1)
    for _ in range(6):  # the gradients the first run drew
        for p in resumed:
            torch.randn(p.shape, generator=generator, dtype=p.dtype)
    for step in range(7, 11):
        for p in resumed:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        opt_resumed.step()
        if step % 3 == 0:
            opt_resumed.eval()
            opt_resumed.train()
    for a, b in zip(resumed, straight, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(RULES))
def test_the_authors_state_dict_loads_and_continues_as_theirs(kind):
    kwargs = {"lr": 0.05, "warmup_steps": 5}
    theirs = make_params()
    their_opt = authors_cls(kind)(theirs, **kwargs)
    their_opt.train()
    train(theirs, their_opt, 3)
    ours = [p.detach().clone().requires_grad_() for p in theirs]
    our_opt = RULES[kind](ours, **kwargs)
    our_opt.load_state_dict(copy.deepcopy(their_opt.state_dict()))
    train(theirs, their_opt, 7, seed=5)
    train(ours, our_opt, 7, seed=5)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-13)


def test_defaults_are_the_authors_and_the_specs():
    w = [torch.zeros(1, requires_grad=True)]
    adamw = {"lr": 0.0025, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0}
    sgd = {"lr": 1.0, "momentum": 0.9, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0}
    for cls, authors, name in (
        (ScheduleFreeAdamW, adamw, "schedule_free_adamw"),
        (ScheduleFreeSGD, sgd, "schedule_free_sgd"),
    ):
        opt = cls(w)
        assert {k: opt.defaults[k] for k in authors} == authors
        spec = lossopt_spec.OPTIMIZERS[name].defaults
        assert {k: opt.defaults[k] for k in spec} == dict(spec)
        assert {k: opt.param_groups[0][k] for k in ("k", "train_mode", "weight_sum", "lr_max")} == {
            "k": 0,
            "train_mode": False,
            "weight_sum": 0.0,
            "lr_max": -1.0,
        }


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (ScheduleFreeSGD, {"momentum": 0.0}, r"Invalid momentum value: 0.0 \(must be in \(0, 1\): Schedule-Free"),
        (ScheduleFreeSGD, {"momentum": 1.0}, r"Invalid momentum value: 1.0 \(must be in \(0, 1\)"),
        (ScheduleFreeAdamW, {"betas": (0.0, 0.999)}, r"Invalid beta parameter at index 0: 0.0 \(must be in \(0, 1\)"),
        (ScheduleFreeAdamW, {"betas": (0.9, 1.0)}, r"Invalid beta parameter at index 1: 1.0"),
        (ScheduleFreeAdamW, {"r": -1.0}, r"Invalid r: -1.0"),
        (ScheduleFreeSGD, {"weight_lr_power": -2.0}, r"Invalid weight_lr_power: -2.0"),
        (ScheduleFreeSGD, {"lr": -0.1}, r"Invalid learning rate: -0.1"),
    ],
)
def test_bad_arguments_are_named_with_their_value_and_range(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kind", sorted(RULES))
def test_gradients_are_left_as_they_were(kind):
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = RULES[kind]([w], lr=0.1, weight_decay=0.5)
    opt.train()
    grad = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    w.grad = grad.clone()
    opt.step()
    assert torch.equal(w.grad, grad)
