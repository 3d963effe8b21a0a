"""The spec of Schedule-Free AdamW / SGD, Lion and ADOPT against the authors' packages, in float64.

``schedulefree`` 1.4.1, ``lion-pytorch`` 0.2.5 and ``torch-adopt`` 0.1.0 are test-only dependencies of the nox
sessions, never dependencies of lossopt or lossopt_spec. These check the spec, not lossopt (the torch rules are
compared with the same packages in packages/torch_impl/tests). The spec's additions (maximize, clipping) are off.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.strategies.common import parameter_groups
from lossopt_spec.optim import OPTIMIZERS

schedulefree = pytest.importorskip("schedulefree")
lion_pytorch = pytest.importorskip("lion_pytorch")
adopt = pytest.importorskip("adopt")

RTOL, ATOL = 1e-10, 1e-12


def _close(actual, expected, what, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol, err_msg=what)


def _follow(authors_cls, rule_name, group, hparams, spec_extra=None, *, keys, rtol=RTOL, atol=ATOL, steps=20, **kwargs):
    """``steps`` steps of the authors' optimizer and of the spec on the same gradients, compared after each."""
    rule = OPTIMIZERS[rule_name]
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = authors_cls(params, **hparams, **kwargs)
    full = {**rule.hparams(**hparams), **(spec_extra or {})}
    state = rule.init(params_np, full)
    for step in range(1, steps + 1):
        grads = [g * np.cos(step) for g in grads_np]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = rule.update(params_np, grads, state, step, full)
        for p, want, s in zip(params, params_np, state, strict=True):
            _close(p.detach(), want, f"param, step {step}", rtol, atol)
            for key in keys:
                _close(optimizer.state[p][key], s[key], f"{key}, step {step}", rtol, atol)
    return optimizer, params, state


@st.composite
def _schedule_free(draw, adamw):
    common = {
        "lr": draw(st.sampled_from([1e-3, 0.1, 1.0])),
        "weight_decay": draw(st.sampled_from([0.0, 0.05])),
        "warmup_steps": draw(st.sampled_from([0, 5])),
        "r": draw(st.sampled_from([0.0, 1.0, 2.5])),
        "weight_lr_power": draw(st.sampled_from([0.0, 1.0, 2.0])),
    }
    if adamw:
        betas = (draw(st.sampled_from([0.5, 0.9])), draw(st.sampled_from([0.0, 0.9, 0.999])))
        return {**common, "betas": betas, "eps": draw(st.sampled_from([1e-8, 0.1]))}
    return {**common, "momentum": draw(st.sampled_from([0.1, 0.9, 0.99]))}


@pytest.mark.parametrize("adamw", [True, False], ids=["schedule_free_adamw", "schedule_free_sgd"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_spec_schedule_free_matches_the_authors_with_mode_switches(adamw, data):
    """30 steps, switching to eval mode (x compared) and back after every 7th and at the end."""
    group, hparams = data.draw(parameter_groups(), label="params, grads"), data.draw(_schedule_free(adamw))
    rule = OPTIMIZERS["schedule_free_adamw" if adamw else "schedule_free_sgd"]
    authors_cls = schedulefree.AdamWScheduleFree if adamw else schedulefree.SGDScheduleFree
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = authors_cls(params, **hparams, foreach=data.draw(st.booleans(), label="foreach"))
    optimizer.train()
    full = rule.hparams(**hparams)
    state = rule.init(params_np, full)
    for step in range(1, 31):
        grads = [g * np.cos(step) for g in grads_np]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)  # fresh: the authors normalize p.grad in place
        optimizer.step()
        params_np, state = rule.update(params_np, grads, state, step, full)
        for p, want, s in zip(params, params_np, state, strict=True):
            _close(p.detach(), want, f"y, step {step}")
            _close(optimizer.state[p]["z"], s["z"], f"z, step {step}")
            if adamw:
                _close(optimizer.state[p]["exp_avg_sq"], s["exp_avg_sq"], f"exp_avg_sq, step {step}")
        if step % 7 == 0 or step == 30:
            optimizer.eval()
            evaluated = rule.to_eval(params_np, state, full)
            for p, want in zip(params, evaluated, strict=True):
                _close(p.detach(), want, f"x, after step {step}")
            optimizer.train()
            params_np = rule.to_train(evaluated, state, full)
    group_state = optimizer.param_groups[0]
    assert group_state["k"] == 30
    _close(group_state["weight_sum"], state[0]["weight_sum"], "weight_sum")
    _close(group_state["lr_max"], state[0]["lr_max"], "lr_max")


@settings(max_examples=25, deadline=None)
@given(
    group=parameter_groups(),
    lr=st.sampled_from([1e-4, 0.01, 1.0]),
    betas=st.sampled_from([(0.9, 0.99), (0.5, 0.0), (0.95, 0.98)]),
    weight_decay=st.sampled_from([0.0, 0.1]),
)
def test_spec_lion_matches_lion_pytorch(group, lr, betas, weight_decay):
    hparams = {"lr": lr, "betas": betas, "weight_decay": weight_decay}
    _follow(lion_pytorch.Lion, "lion", group, hparams, keys=("exp_avg",))


@settings(max_examples=25, deadline=None)
@given(
    group=parameter_groups(),
    lr=st.sampled_from([1e-3, 0.1]),
    betas=st.sampled_from([(0.9, 0.9999), (0.0, 0.5), (0.9, 0.999)]),
    eps=st.sampled_from([1e-6, 0.1]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    decouple=st.booleans(),
    clip=st.booleans(),
    foreach=st.booleans(),
)
def test_spec_adopt_matches_the_authors_adopt(group, lr, betas, eps, weight_decay, decouple, clip, foreach):
    """The authors' multi-tensor path computes the clip from its float32 ``step`` tensor
    (``clip_lambda(state_steps[0])``: the clip rounded to float32, relative 6e-8), its per-tensor path and the spec
    from the float step. Where the clip c <= 20^(1/4) < 2.2 binds, each step's n then differs by at most 2.2 * 6e-8,
    m (an average of n) by as much, and the parameter by lr times that a step: 20 lr * 1.3e-7 < 3e-6 lr after 20
    steps, however small the parameter (docs/differences.toml)."""
    rtol, atol = (1e-6, 3e-6 * max(lr, 0.1)) if foreach and clip else (RTOL, ATOL)
    hparams = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "decouple": decouple}
    clip_lambda = (lambda step: step**0.25) if clip else None
    spec_extra = {} if clip else {"clip_lambda": None}
    optimizer, params, state = _follow(
        adopt.ADOPT, "adopt", group, hparams, spec_extra, keys=("exp_avg", "exp_avg_sq"), rtol=rtol,
        atol=atol, clip_lambda=clip_lambda, foreach=foreach,
    )  # fmt: skip
    for p, s in zip(params, state, strict=True):
        assert float(optimizer.state[p]["step"]) == s["step"] == 20
