"""lossopt.ADOPT against the authors' torch-adopt 0.1.0 (when installed), and its contract."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from random_steps import run

import lossopt_spec
from lossopt import ADOPT
from lossopt.optim._validation import ArgumentTypeError


@settings(max_examples=20, deadline=None)
@given(
    lr=st.sampled_from([1e-3, 0.1]),
    betas=st.sampled_from([(0.9, 0.9999), (0.5, 0.9)]),
    eps=st.sampled_from([1e-6, 0.1]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    decouple=st.booleans(),
    clip=st.booleans(),
    foreach=st.booleans(),
)
def test_matches_the_authors_adopt_step_for_step(lr, betas, eps, weight_decay, decouple, clip, foreach):
    """Against the authors' per-tensor path (their multi-tensor path rounds the clip to float32: differences.toml)."""
    authors = pytest.importorskip("adopt", reason="the authors' package is a test-only reference")
    kwargs = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "decouple": decouple}
    kwargs["clip_lambda"] = (lambda step: step**0.25) if clip else None
    ours, our_opt = run(ADOPT, {**kwargs, "foreach": foreach})
    theirs, their_opt = run(authors.ADOPT, {**kwargs, "foreach": False})
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(our_opt.state[a][key], their_opt.state[b][key], rtol=1e-12, atol=1e-14)


def test_first_step_only_records_v_and_the_second_is_clipped_to_one():
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = ADOPT([w], lr=0.1, weight_decay=0.5, decouple=True)
    w.grad = torch.tensor([2.0, -1.0], dtype=torch.float64)
    opt.step()
    assert torch.equal(w.detach(), torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(opt.state[w]["exp_avg_sq"], torch.tensor([4.0, 1.0], dtype=torch.float64))
    w.grad = torch.tensor([6.0, -0.5], dtype=torch.float64)
    opt.step()  # n = (3, -0.5) clipped to 1^(1/4) = 1: (1, -0.5); m = 0.1 n; p = 0 - 0.1 m (decay of 0 is 0)
    torch.testing.assert_close(w.detach(), torch.tensor([-0.01, 0.005], dtype=torch.float64))
    assert float(opt.state[w]["step"]) == 2.0


def test_clip_lambda_is_kept_out_of_defaults_and_the_state_dict():
    w = torch.zeros(3, requires_grad=True)
    opt = ADOPT([w], clip_lambda=lambda step: 0.5)
    assert "clip_lambda" not in opt.defaults
    assert "clip_lambda" not in opt.state_dict()["param_groups"][0]
    for _ in range(2):
        w.grad = torch.tensor([10.0, -10.0, 0.0])
        opt.step()
    torch.testing.assert_close(opt.state[w]["exp_avg"], torch.tensor([0.05, -0.05, 0.0]))  # clipped to 0.5
    fresh = ADOPT([w.detach().clone().requires_grad_()])
    fresh.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert fresh.clip_lambda is not opt.clip_lambda  # the default, as the authors' code


def test_defaults_are_the_authors_and_the_specs():
    opt = ADOPT([torch.zeros(1, requires_grad=True)])
    authors = {"lr": 1e-3, "betas": (0.9, 0.9999), "eps": 1e-6, "weight_decay": 0.0, "decouple": False}
    assert {k: opt.defaults[k] for k in authors} == authors
    spec = lossopt_spec.OPTIMIZERS["adopt"].defaults
    assert {k: opt.defaults[k] for k in spec} == dict(spec)
    assert opt.clip_lambda(16.0) == 2.0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": -1.0}, ValueError, r"Invalid learning rate: -1.0"),
        ({"betas": (0.9, 1.0)}, ValueError, r"Invalid beta parameter at index 1: 1.0"),
        ({"eps": -1e-6}, ValueError, r"Invalid epsilon value: -1e-06"),
        ({"weight_decay": -0.1}, ValueError, r"Invalid weight_decay value: -0.1"),
        ({"clip_lambda": 0.25}, ArgumentTypeError, r"Invalid clip_lambda: 0.25 \(must be a callable"),
    ],
)
def test_bad_arguments_are_named_with_their_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        ADOPT([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("foreach", [False, True])
def test_a_non_finite_first_gradient_reaches_only_v_as_the_authors(foreach):
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = ADOPT([w], lr=0.1, foreach=foreach)
    w.grad = torch.tensor([float("nan"), float("inf"), 1.0], dtype=torch.float64)
    opt.step()
    assert torch.equal(w.detach(), torch.ones(3, dtype=torch.float64))
    assert torch.equal(opt.state[w]["exp_avg"], torch.zeros(3, dtype=torch.float64))
    assert opt.state[w]["exp_avg_sq"][2] == 1.0
