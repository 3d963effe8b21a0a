"""lossopt.Muon against torch.optim.Muon and torch.optim.AdamW (independent implementations), and its contract.

torch.optim.Muon (2.13) takes only 2-d parameters and orthogonalises in bfloat16; on those, lossopt.Muon with its
defaults must give torch's bits, per-tensor and batched, in float32 and float64. Beyond torch: a 4-d weight is
checked against torch.optim.Muon run on its ``(shape[0], -1)`` view, an AdamW group against torch.optim.AdamW.
"""

from __future__ import annotations

import copy
import pickle
import re
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lossopt_spec
from lossopt import Muon, create_optimizer
from lossopt.optim.muon import muon_groups

SHAPES = [(3, 4), (4, 4), (4, 4), (6, 2), (1, 5)]  # two of one shape: a stack of the batched kernel


def make_params(shapes=SHAPES, dtype=torch.float64, seed=0) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=generator, dtype=dtype)) for s in shapes]


def drive(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], steps: int, seed: int = 1) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        optimizer.step()


@st.composite
def torch_muon_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(st.sampled_from([1e-3, 0.02, 0.1])),
        "weight_decay": draw(st.sampled_from([0.0, 0.1])),
        "momentum": draw(st.sampled_from([0.0, 0.9, 0.95])),
        "nesterov": draw(st.booleans()),
        "ns_steps": draw(st.sampled_from([1, 5])),
        "eps": draw(st.sampled_from([1e-7, 1e-3])),
        "adjust_lr_fn": draw(st.sampled_from([None, "original", "match_rms_adamw"])),
    }


@settings(max_examples=20, deadline=None)
@given(kwargs=torch_muon_kwargs(), foreach=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_matches_torch_muon_bit_for_bit_on_matrices(kwargs, foreach, dtype):
    ours, theirs = make_params(dtype=dtype), make_params(dtype=dtype)
    our_opt, their_opt = Muon(ours, **kwargs, foreach=foreach), torch.optim.Muon(theirs, **kwargs)
    drive(our_opt, ours, 8)
    drive(their_opt, theirs, 8)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(our_opt.state[a]["momentum_buffer"], their_opt.state[b]["momentum_buffer"])


@pytest.mark.parametrize("foreach", [False, True])
def test_a_4d_weight_is_torch_muon_on_its_shape0_by_rest_view(foreach):
    (ours,) = make_params([(4, 2, 3, 3)])
    theirs = torch.nn.Parameter(ours.detach().reshape(4, -1).clone())
    our_opt = Muon([ours], lr=0.02, adjust_lr_fn="match_rms_adamw", foreach=foreach)
    their_opt = torch.optim.Muon([theirs], lr=0.02, adjust_lr_fn="match_rms_adamw")
    generator = torch.Generator().manual_seed(3)
    for _ in range(5):
        grad = torch.randn(ours.shape, generator=generator, dtype=ours.dtype)
        ours.grad, theirs.grad = grad, grad.reshape(4, -1).clone()
        our_opt.step()
        their_opt.step()
    torch.testing.assert_close(ours.detach().reshape(4, -1), theirs.detach(), rtol=0, atol=0)


@pytest.mark.parametrize("foreach", [False, True])
def test_an_adamw_group_is_torch_adamw(foreach):
    matrix, vector, scalar = make_params([(3, 4), (5,), ()])
    theirs = [p.detach().clone().requires_grad_() for p in (vector, scalar)]
    hyper = {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}
    our_opt = Muon([{"params": [matrix]}, {"params": [vector, scalar], "use_muon": False, **hyper}], foreach=foreach)
    their_opt = torch.optim.AdamW(theirs, **hyper, foreach=foreach)
    generator = torch.Generator().manual_seed(5)
    for _ in range(6):
        for p, q in zip((vector, scalar), theirs, strict=True):
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
            q.grad = p.grad.clone()
        matrix.grad = torch.randn(matrix.shape, generator=generator, dtype=matrix.dtype)
        our_opt.step()
        their_opt.step()
    for p, q in zip((vector, scalar), theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-14, atol=1e-15)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(our_opt.state[p][key], their_opt.state[q][key], rtol=1e-14, atol=1e-15)
    assert set(our_opt.state[matrix]) == {"momentum_buffer"}
    assert set(our_opt.state[vector]) == {"step", "exp_avg", "exp_avg_sq"}


@pytest.mark.parametrize("direction", ["torch to lossopt", "lossopt to torch"])
def test_state_dicts_load_both_ways_and_continue_bit_for_bit(direction):
    reference = make_params(dtype=torch.float32)
    reference_opt = torch.optim.Muon(reference, lr=0.02)
    drive(reference_opt, reference, 6)
    first, second = (torch.optim.Muon, Muon) if direction == "torch to lossopt" else (Muon, torch.optim.Muon)
    params = make_params(dtype=torch.float32)
    before = first(params, lr=0.02)
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        before.step()
    saved = pickle.loads(pickle.dumps(before.state_dict()))  # nothing unpicklable in it
    after = second(params, lr=0.5)  # the saved groups' lr wins
    after.load_state_dict(saved)
    for _ in range(3):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        after.step()
    for a, b in zip(params, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_state_dict_round_trip_keeps_both_kinds_of_group():
    params = make_params([(3, 4), (4,)])
    opt = Muon(muon_groups(params), lr=0.02)
    drive(opt, params, 2)
    clone = [p.detach().clone().requires_grad_() for p in params]
    resumed = Muon(muon_groups(clone), lr=0.02)
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))
    drive(opt, params, 3, seed=9)
    drive(resumed, clone, 3, seed=9)
    for a, b in zip(params, clone, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_an_adamw_state_dict_is_refused_naming_both_rules():
    param = torch.nn.Parameter(torch.ones(2, 3))
    other = torch.optim.AdamW([param], lr=0.1)
    param.grad = torch.ones(2, 3)
    other.step()
    opt = Muon([param])
    with pytest.raises(ValueError, match=r"Invalid state_dict for Muon: group 0 was saved by \w+"):
        opt.load_state_dict(other.state_dict())
    assert opt.state_dict()["state"] == {}


def test_defaults_are_torch_optim_muons_and_the_specs():
    theirs = torch.optim.Muon([torch.nn.Parameter(torch.ones(2, 2))]).defaults
    ours = Muon([torch.nn.Parameter(torch.ones(2, 2))]).defaults
    spec = lossopt_spec.OPTIMIZERS["muon"].defaults
    for name in ("lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps", "ns_steps", "adjust_lr_fn"):
        assert ours[name] == theirs[name] == spec[name], name
    assert ours["ns_dtype"] is torch.bfloat16


def test_a_parameter_without_a_gradient_is_skipped_not_zero_filled():
    stepped, frozen = make_params([(3, 4), (3, 4)])
    before = frozen.detach().clone()
    opt = Muon([stepped, frozen], lr=0.1, weight_decay=0.5)
    for _ in range(2):
        stepped.grad = torch.ones_like(stepped)
        opt.step()
    assert torch.equal(frozen.detach(), before), "no decay and no step without a gradient"
    assert frozen not in opt.state


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, r"Invalid learning rate: -1.0 \(must be >= 0\)"),
        ({"momentum": -0.5}, r"Invalid momentum value: -0.5 \(must be >= 0\)"),
        ({"weight_decay": -0.1}, r"Invalid weight_decay value: -0.1 \(must be >= 0\)"),
        ({"eps": -1e-7}, r"Invalid epsilon value: -1e-07 \(must be >= 0\)"),
        ({"ns_steps": 0}, r"Invalid ns_steps: 0 \(must be an integer in \[1, 99\]\)"),
        ({"ns_steps": 100}, r"Invalid ns_steps: 100 \(must be an integer in \[1, 99\]\)"),
        ({"adjust_lr_fn": "spectral"}, r"Invalid adjust_lr_fn: 'spectral' \(must be None, 'original' or 'match_rms"),
        ({"ns_coefficients": (1.0, 2.0)}, r"Invalid ns_coefficients: \(1.0, 2.0\) \(must be three finite numbers"),
        ({"ns_coefficients": (1.0, float("nan"), 0.0)}, r"Invalid ns_coefficients: .* \(must be three finite"),
        ({"ns_dtype": torch.int32}, r"Invalid ns_dtype: torch.int32 \(must be None, the parameter's dtype, or one"),
        ({"betas": (1.0, 0.9)}, r"Invalid beta parameter at index 0: 1.0"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument_value_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Muon([torch.nn.Parameter(torch.ones(2, 2))], **kwargs)


def test_a_bad_value_in_a_later_group_is_refused_too():
    opt = Muon([torch.nn.Parameter(torch.ones(2, 2))])
    with pytest.raises(ValueError, match=r"Invalid ns_steps: 0"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2, 2))], "ns_steps": 0})


@pytest.mark.parametrize("shape", [(4,), ()])
def test_a_vector_or_scalar_in_a_muon_group_is_refused_with_the_fix(shape):
    dims = f"{len(shape)} dim" + ("" if len(shape) == 1 else "s")
    message = re.escape(f"Invalid parameter 1 of param group 0 (a Muon group): shape {shape} has {dims} (must have ")
    with pytest.raises(ValueError, match=message + r"at least 2.*use_muon=False"):
        Muon([torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(shape))])
    Muon([{"params": [torch.nn.Parameter(torch.ones(shape))], "use_muon": False}])  # an AdamW group takes it


def test_a_complex_matrix_in_a_muon_group_is_refused():
    with pytest.raises(ValueError, match=r"a complex tensor \(torch.complex64\) \(must be real"):
        Muon([torch.nn.Parameter(torch.ones(2, 2, dtype=torch.complex64))])


def test_create_optimizer_puts_hidden_weights_in_muon_groups_and_the_rest_in_adamw_groups():
    model = torch.nn.Sequential(
        torch.nn.Embedding(10, 8),
        torch.nn.Linear(8, 8),
        torch.nn.LayerNorm(8),
        torch.nn.Conv1d(8, 8, 3),
        torch.nn.Linear(8, 10),
    )
    opt = create_optimizer("muon", model, lr=0.02)
    named = {id(p): n for n, p in model.named_parameters()}
    groups = {g["group_name"]: (g["use_muon"], sorted(named[id(p)] for p in g["params"])) for g in opt.param_groups}
    assert groups == {
        "muon": (True, ["1.weight", "3.weight"]),
        "adamw": (False, ["0.weight", "4.weight"]),
        "adamw_no_decay": (False, ["1.bias", "2.bias", "2.weight", "3.bias", "4.bias"]),
    }
    assert {g["lr"] for g in opt.param_groups} == {0.02}
    custom = create_optimizer("muon", model, muon=["1.weight"])
    assert [named[id(p)] for g in custom.param_groups if g["use_muon"] for p in g["params"]] == ["1.weight"]


def test_create_optimizer_refuses_a_muon_rule_that_picks_a_vector_or_another_optimizer():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    with pytest.raises(ValueError, match=r"has 1 dim"):
        create_optimizer("muon", model, muon=["0.*"])
    with pytest.raises(TypeError, match=r"muon= picks a model's Muon parameters: it needs optimizer 'muon'"):
        create_optimizer("adamw", model, muon=["0.weight"])


def test_bfloat16_parameters_without_nesterov_keep_the_momentum_torch_normalises_in_place():
    # torch.optim.Muon's orthogonalisation takes grad.bfloat16(), the buffer itself for a bfloat16 buffer, and
    # divides it by its norm in place; lossopt keeps (2)'s buffer, M = mu M + (1 - mu) G
    grad = torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=torch.bfloat16)
    buffers = []
    for cls in (Muon, torch.optim.Muon):
        param = torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.bfloat16))
        opt = cls([param], nesterov=False, momentum=0.5)
        param.grad = grad.clone()
        opt.step()
        buffers.append(opt.state[param]["momentum_buffer"])
    ours, theirs = buffers
    assert torch.equal(ours, 0.5 * grad)
    assert torch.equal(theirs, (0.5 * grad) / 2.5)  # |0.5 G|_F = 2.5
