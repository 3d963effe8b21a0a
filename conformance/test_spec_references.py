"""The spec against independent implementations where the semantics coincide (torch's own).

These check the spec, not lossopt: ``torch.optim.SGD`` and ``torch.nn.functional.mse_loss`` are
separate implementations of the same rules, compared in float64. So are ``torch.optim.RAdam`` and
the AdaBelief authors' package ``adabelief-pytorch`` 0.2.1 (a test dependency of the nox sessions,
never a dependency of lossopt or lossopt_spec).
"""

import contextlib
import io

import numpy as np
import pytest
import torch
from adabelief_pytorch import AdaBelief as AuthorsAdaBelief
from hypothesis import given
from hypothesis import strategies as st

from conformance.strategies.common import parameter_groups, same_shape_pair, upstream_gradients
from conformance.strategies.optimizers import adabelief_hparams, radam_hparams, sgd_hparams
from lossopt_spec.losses import mse_loss, mse_loss_grad
from lossopt_spec.optim import ADABELIEF_RULE, OPTIMIZERS, RADAM_RULE, SGD_RULE
from lossopt_spec.optim.rectify import rho


@given(data=st.data(), reduction=st.sampled_from(["none", "mean", "sum"]))
def test_spec_mse_matches_torch_functional(data, reduction):
    pair = data.draw(same_shape_pair())
    predictions = torch.tensor(pair["predictions"], requires_grad=True)
    value = torch.nn.functional.mse_loss(predictions, torch.tensor(pair["targets"]), reduction=reduction)
    upstream = data.draw(upstream_gradients(tuple(value.shape)))
    (grad,) = torch.autograd.grad(value, predictions, torch.tensor(upstream))
    np.testing.assert_allclose(mse_loss(**pair, reduction=reduction), value.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        mse_loss_grad(**pair, reduction=reduction, grad_output=upstream), grad.numpy(), rtol=1e-12, atol=1e-12
    )


@given(group=parameter_groups(), hparams=sgd_hparams(), steps=st.integers(1, 4))
def test_spec_sgd_matches_torch_optim_sgd(group, hparams, steps):
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = torch.optim.SGD(params, **hparams, foreach=False)
    state = SGD_RULE.init(params_np, hparams)
    for step in range(1, steps + 1):
        grads_t = [g * step for g in grads_np]  # a different gradient each step
        for p, g in zip(params, grads_t, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = SGD_RULE.update(params_np, grads_t, state, step, hparams)
    for p, want, st_ in zip(params, params_np, state, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12, atol=1e-12)
        if hparams["momentum"] != 0:
            np.testing.assert_allclose(
                optimizer.state[p]["momentum_buffer"].numpy(), st_["momentum_buffer"], rtol=1e-12, atol=1e-12
            )


# --- adam / adamw, and the schedule + clipping of every rule ----------------------------------------------

_TORCH_ADAM = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}


@st.composite
def _torch_adam_hparams(draw):
    return {
        "lr": draw(st.sampled_from([1e-3, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.9])), draw(st.sampled_from([0.5, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-2])),
        "weight_decay": draw(st.sampled_from([0.0, 0.1])),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@pytest.mark.parametrize("name", sorted(_TORCH_ADAM))
@given(group=parameter_groups(), hparams=_torch_adam_hparams(), steps=st.integers(1, 5))
def test_spec_adam_matches_torch_optim(name, group, hparams, steps):
    rule = OPTIMIZERS[name]
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = _TORCH_ADAM[name](params, **hparams, foreach=False)
    full = rule.hparams(**hparams)
    state = rule.init(params_np, full)
    for step in range(1, steps + 1):
        grads_t = [g * (1 + step) for g in grads_np]
        for p, g in zip(params, grads_t, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = rule.update(params_np, grads_t, state, step, full)
    for p, want, spec_state in zip(params, params_np, state, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-10, atol=1e-12)
        torch_state = optimizer.state[p]
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if spec_state[key] is not None:
                np.testing.assert_allclose(torch_state[key].numpy(), spec_state[key], rtol=1e-10, atol=1e-12)
        assert float(torch_state["step"]) == spec_state["step"]


def _sequential_warmup_cosine(optimizer, warmup_steps, cycle_length):
    """torch's own schedulers for w_t c_t: LinearLR from 1/W to 1 over W steps, then cosine warm restarts."""
    warmup = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1 / warmup_steps, end_factor=1.0, total_iters=warmup_steps - 1
    )
    if cycle_length is None:
        return warmup
    cosine = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=cycle_length, eta_min=0.0)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


@pytest.mark.parametrize(
    ("name", "torch_cls", "extra", "cycle_length"),
    [
        ("sgd", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}, 4),
        ("adamw", torch.optim.AdamW, {"amsgrad": True}, None),
        ("adam", torch.optim.Adam, {"weight_decay": 0.1}, None),
    ],
)
def test_spec_schedule_and_clipping_match_torch_schedulers_and_clip_grad_norm(name, torch_cls, extra, cycle_length):
    # independent: torch's LinearLR / CosineAnnealingWarmRestarts / SequentialLR and clip_grad_norm_
    rule = OPTIMIZERS[name]
    warmup_steps, max_norm = 3, 0.7
    ours = {"lr": 0.05, **extra, "warmup_steps": warmup_steps, "max_grad_norm": max_norm}
    if cycle_length is not None:
        ours.update(use_cyclical_lr=True, cycle_length=cycle_length)
    rng = np.random.default_rng(0)
    params_np = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = torch_cls(params, lr=0.05, **extra, foreach=False)
    scheduler = _sequential_warmup_cosine(optimizer, warmup_steps, cycle_length)
    full = rule.hparams(**ours)
    state = rule.init(params_np, full)
    for step in range(1, 16):
        grads = [rng.standard_normal(p.shape) for p in params_np]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        optimizer.step()
        scheduler.step()
        params_np, state = rule.update(params_np, grads, state, step, full)
        for p, want in zip(params, params_np, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")


@given(group=parameter_groups(), hparams=radam_hparams(), steps=st.integers(1, 12))
def test_spec_radam_matches_torch_optim_radam(group, hparams, steps):
    """torch.optim.RAdam has no degenerated_to_sgd=False, warmup or clipping: those are drawn off here."""
    hparams = {**hparams, "degenerated_to_sgd": True, "warmup_steps": 0, "max_grad_norm": None}
    torch_kwargs = {
        k: v for k, v in hparams.items() if k not in ("degenerated_to_sgd", "warmup_steps", "max_grad_norm")
    }
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = torch.optim.RAdam(params, **torch_kwargs, foreach=False)
    spec_hparams = RADAM_RULE.hparams(**hparams)
    state = RADAM_RULE.init(params_np, spec_hparams)
    for step in range(1, steps + 1):
        grads_t = [g * (1 + 0.5 * step) for g in grads_np]  # a different gradient each step
        for p, g in zip(params, grads_t, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = RADAM_RULE.update(params_np, grads_t, state, step, spec_hparams)
    for p, want, st_ in zip(params, params_np, state, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-10, atol=1e-12)
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(optimizer.state[p][key].numpy(), st_[key], rtol=1e-10, atol=1e-12)
        assert float(optimizer.state[p]["step"]) == st_["step"] == steps


def test_spec_radam_matches_torch_on_steps_1_to_10_across_the_branch_change():
    """Defaults (beta2 = 0.999): rho_t <= 5 for t <= 5 (momentum step), > 5 from t = 6 (rectified)."""
    params_np = [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -0.7]])]
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = torch.optim.RAdam(params, lr=0.1, foreach=False)
    hparams = RADAM_RULE.hparams(lr=0.1)
    state = RADAM_RULE.init(params_np, hparams)
    branches = []
    for step in range(1, 11):
        grads = [np.sin(step * (i + 1) + p) for i, p in enumerate(params_np)]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = RADAM_RULE.update(params_np, grads, state, step, hparams)
        branches.append(rho(step, 0.999)[1] > 5)
        for p, want in zip(params, params_np, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")
    assert branches == [False] * 5 + [True] * 5


@given(group=parameter_groups(), hparams=adabelief_hparams(), steps=st.integers(1, 12))
def test_spec_adabelief_matches_the_authors_adabelief_pytorch(group, hparams, steps):
    """adabelief-pytorch 0.2.1 (the authors' code): every flag combination it has; no maximize, warmup or clipping."""
    hparams = {**hparams, "maximize": False, "warmup_steps": 0, "max_grad_norm": None}
    authors_kwargs = {k: v for k, v in hparams.items() if k not in ("maximize", "warmup_steps", "max_grad_norm")}
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    with contextlib.redirect_stdout(io.StringIO()):  # the authors' constructor prints its change log
        optimizer = AuthorsAdaBelief(params, **authors_kwargs, print_change_log=False)
    spec_hparams = ADABELIEF_RULE.hparams(**hparams)
    state = ADABELIEF_RULE.init(params_np, spec_hparams)
    for step in range(1, steps + 1):
        grads_t = [g * (1 + 0.5 * step) for g in grads_np]
        for p, g in zip(params, grads_t, strict=True):
            p.grad = torch.tensor(g)  # a fresh tensor: the authors' L2 branch adds into p.grad in place
        optimizer.step()
        params_np, state = ADABELIEF_RULE.update(params_np, grads_t, state, step, spec_hparams)
    for p, want, st_ in zip(params, params_np, state, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-10, atol=1e-12)
        for key in ("exp_avg", "exp_avg_var", "max_exp_avg_var"):
            if st_[key] is None:
                assert key not in optimizer.state[p]
            else:
                np.testing.assert_allclose(optimizer.state[p][key].numpy(), st_[key], rtol=1e-10, atol=1e-12)
