"""lossopt.Lion against the authors' lion-pytorch 0.2.5 (when installed), and its contract."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from random_steps import run

import lossopt_spec
from lossopt import Lion


@settings(max_examples=20, deadline=None)
@given(
    lr=st.sampled_from([1e-4, 0.01]),
    betas=st.sampled_from([(0.9, 0.99), (0.95, 0.98), (0.0, 0.5)]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    foreach=st.booleans(),
    dtype=st.sampled_from([torch.float64, torch.float32]),
)
def test_equals_lion_pytorch_bit_for_bit(lr, betas, weight_decay, foreach, dtype):
    authors = pytest.importorskip("lion_pytorch", reason="the authors' package is a test-only reference")
    kwargs = {"lr": lr, "betas": betas, "weight_decay": weight_decay}
    ours, our_opt = run(Lion, {**kwargs, "foreach": foreach}, dtype=dtype)
    theirs, their_opt = run(authors.Lion, kwargs, dtype=dtype)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(our_opt.state[a]["exp_avg"], their_opt.state[b]["exp_avg"], rtol=0, atol=0)


def test_one_step_by_hand():
    w = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = Lion([w], lr=0.1, weight_decay=0.1)
    w.grad = torch.tensor([0.5, -2.0, 0.0], dtype=torch.float64)
    opt.step()  # p (1 - 0.01) - 0.1 sign((1 - 0.9) g)
    torch.testing.assert_close(w.detach(), torch.tensor([0.89, 1.09, 0.99], dtype=torch.float64))
    torch.testing.assert_close(opt.state[w]["exp_avg"], torch.tensor([0.005, -0.02, 0.0], dtype=torch.float64))


def test_defaults_are_the_authors_and_the_specs():
    opt = Lion([torch.zeros(1, requires_grad=True)])
    authors = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}
    assert {k: opt.defaults[k] for k in authors} == authors
    spec = lossopt_spec.OPTIMIZERS["lion"].defaults
    assert {k: opt.defaults[k] for k in spec} == dict(spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "Invalid learning rate: -1.0"),
        ({"betas": (1.0, 0.99)}, "Invalid beta parameter at index 0: 1.0"),
        ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        ({"weight_decay": -0.5}, "Invalid weight_decay value: -0.5"),
    ],
)
def test_bad_arguments_are_named_with_their_value(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Lion([torch.zeros(1, requires_grad=True)], **kwargs)
