"""The spec's Adam / AdamW rules: hand-computed steps and properties."""

import math

import numpy as np
import pytest

from lossopt_spec.optim import ADAM_RULE, ADAMW_RULE, OPTIMIZERS


def run(rule, hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = rule.init(params, hparams)
    for t, g in enumerate(grads_per_step, start=1):
        params, state = rule.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
    return params[0], state[0]


def test_first_step_is_lr_times_sign_of_the_gradient():
    # t = 1: m = (1 - b1) g, v = (1 - b2) g^2; m / b1 / sqrt(v / b2) = sign(g) (eps = 0)
    p, state = run(ADAM_RULE, ADAM_RULE.hparams(lr=0.1, eps=0.0), [[2.0, -0.5]], [0.0, 0.0])
    np.testing.assert_allclose(p, [-0.1, 0.1], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg"], [0.2, -0.05], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"], [0.004, 0.00025], rtol=1e-12)
    assert state["step"] == 1.0
    assert state["max_exp_avg_sq"] is None


def test_two_steps_by_hand():
    # b1 = 0.5, b2 = 0.75, lr = 1, eps = 0, p0 = 0, grads 1 then 3
    # t=1: m = 0.5, v = 0.25; b1c = 0.5, b2c = 0.25 -> p = -(1/0.5) * 0.5 / (0.5/0.5) = -1
    # t=2: m = 0.25 + 1.5 = 1.75, v = 0.1875 + 2.25 = 2.4375; b1c = 0.75, b2c = 0.4375
    #      d = sqrt(2.4375)/sqrt(0.4375) = sqrt(5.571428...) ; p = -1 - (1/0.75) * 1.75 / d
    hp = ADAM_RULE.hparams(lr=1.0, betas=(0.5, 0.75), eps=0.0)
    p, _ = run(ADAM_RULE, hp, [[1.0], [3.0]], [0.0])
    expected = -1 - (1 / 0.75) * 1.75 / math.sqrt(2.4375 / 0.4375)
    np.testing.assert_allclose(p, [expected], rtol=1e-14)


def test_adamw_decay_is_decoupled_and_adam_decay_is_coupled():
    # p0 = 1, g = 0, wd = 0.5, lr = 0.1: AdamW shrinks p by (1 - 0.05) and m stays 0;
    # Adam adds 0.5 * p to g: m = 0.1 * 0.5, first step moves by lr * sign = 0.1
    p, state = run(ADAMW_RULE, ADAMW_RULE.hparams(lr=0.1, weight_decay=0.5), [[0.0]], [1.0])
    np.testing.assert_allclose(p, [0.95], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg"], [0.0])
    p, state = run(ADAM_RULE, ADAM_RULE.hparams(lr=0.1, weight_decay=0.5, eps=0.0), [[0.0]], [1.0])
    np.testing.assert_allclose(p, [0.9], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg"], [0.05], rtol=1e-15)


def test_amsgrad_keeps_the_maximum_of_v():
    hp = ADAM_RULE.hparams(lr=0.1, amsgrad=True)
    _, state = run(ADAM_RULE, hp, [[10.0], [0.0], [0.0]], [0.0])
    # v after 3 steps = 0.999^2 * 0.001 * 100; the max is the first value 0.1
    np.testing.assert_allclose(state["max_exp_avg_sq"], [0.1], rtol=1e-12)
    np.testing.assert_allclose(state["exp_avg_sq"], [0.1 * 0.999**2], rtol=1e-12)


def test_no_bias_correction_by_hand():
    # b1c = b2c = 1: p = -lr * 0.1 g / sqrt(0.001 g^2) = -0.1 * 0.1 / sqrt(0.001) for g = 1
    p, _ = run(ADAM_RULE, ADAM_RULE.hparams(lr=0.1, eps=0.0, use_bias_correction=False), [[1.0]], [0.0])
    np.testing.assert_allclose(p, [-0.01 / math.sqrt(0.001)], rtol=1e-14)


def test_warmup_scales_the_step_and_clipping_scales_the_gradient():
    # warmup 4 -> lr_1 = lr / 4; the first Adam step is lr_1 sign(g) whatever the clip (sign unchanged)
    p, state = run(
        ADAM_RULE, ADAM_RULE.hparams(lr=0.4, eps=0.0, warmup_steps=4, max_grad_norm=1.0), [[3.0, 4.0]], [0, 0]
    )
    np.testing.assert_allclose(p, [-0.1, -0.1], rtol=1e-14)
    # clipped g = (3, 4) / (5 + 1e-6): m = 0.1 g_clipped
    np.testing.assert_allclose(state["exp_avg"], [0.1 * 3 / (5 + 1e-6), 0.1 * 4 / (5 + 1e-6)], rtol=1e-14)


def test_maximize_ascends():
    p, _ = run(ADAMW_RULE, ADAMW_RULE.hparams(lr=0.1, weight_decay=0.0, maximize=True), [[1.0]], [0.0])
    assert p[0] == pytest.approx(0.1, rel=1e-6)


def test_update_is_pure_and_registered():
    params, grads = [np.ones(2)], [np.ones(2)]
    hp = ADAMW_RULE.hparams(amsgrad=True)
    state = ADAMW_RULE.init(params, hp)
    ADAMW_RULE.update(params, grads, state, 1, hp)
    np.testing.assert_array_equal(params[0], np.ones(2))
    np.testing.assert_array_equal(state[0]["exp_avg"], np.zeros(2))
    assert OPTIMIZERS["adamw"] is ADAMW_RULE
    assert OPTIMIZERS["adam"] is ADAM_RULE
    assert ADAMW_RULE.defaults["weight_decay"] == 1e-2
    assert ADAM_RULE.defaults["weight_decay"] == 0.0
