"""The spec's SGD rule: hand-computed steps and properties."""

import numpy as np
import pytest

from lossopt_spec.optim import OPTIMIZERS, SGD_RULE


def run(hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = SGD_RULE.init(params, hparams)
    for t, g in enumerate(grads_per_step, start=1):
        params, state = SGD_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
    return params[0], state[0]


def test_plain_sgd_is_p_minus_lr_g():
    p, state = run(SGD_RULE.hparams(lr=0.1), [[1.0, -2.0]], [0.5, 0.5])
    np.testing.assert_allclose(p, [0.4, 0.7], rtol=0, atol=1e-15)
    assert state["momentum_buffer"] is None


def test_momentum_dampening_weight_decay_by_hand():
    # lr 0.1, mu 0.9, tau 0.5, wd 0.1, p0 = 1, grads 1 then 2
    # t=1: g = 1 + 0.1*1 = 1.1; b = 1.1 (undamped seed); p = 1 - 0.11 = 0.89
    # t=2: g = 2 + 0.1*0.89 = 2.089; b = 0.9*1.1 + 0.5*2.089 = 2.0345; p = 0.89 - 0.20345 = 0.68655
    hp = SGD_RULE.hparams(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    p, state = run(hp, [[1.0], [2.0]], [1.0])
    np.testing.assert_allclose(p, [0.68655], rtol=1e-14)
    np.testing.assert_allclose(state["momentum_buffer"], [2.0345], rtol=1e-14)


def test_nesterov_by_hand():
    # lr 0.1, mu 0.5, p0 = 0, grads 1 then 1
    # t=1: b = 1; g = 1 + 0.5*1 = 1.5; p = -0.15
    # t=2: b = 0.5 + 1 = 1.5; g = 1 + 0.75 = 1.75; p = -0.15 - 0.175 = -0.325
    p, _ = run(SGD_RULE.hparams(lr=0.1, momentum=0.5, nesterov=True), [[1.0], [1.0]], [0.0])
    np.testing.assert_allclose(p, [-0.325], rtol=1e-14)


def test_maximize_ascends():
    p, _ = run(SGD_RULE.hparams(lr=0.1, maximize=True), [[1.0]], [0.0])
    np.testing.assert_allclose(p, [0.1], rtol=1e-15)


def test_update_is_pure():
    params = [np.ones(2)]
    grads = [np.ones(2)]
    hp = SGD_RULE.hparams(lr=0.1, momentum=0.9)
    state = SGD_RULE.init(params, hp)
    SGD_RULE.update(params, grads, state, 1, hp)
    np.testing.assert_array_equal(params[0], np.ones(2))
    assert state[0]["momentum_buffer"] is None


def test_unknown_hyperparameter_is_an_error_naming_it():
    with pytest.raises(TypeError, match=r"sgd: unknown hyperparameter\(s\) \['betas'\]"):
        SGD_RULE.hparams(betas=(0.9, 0.99))


def test_registry_holds_sgd_under_its_name():
    assert OPTIMIZERS["sgd"] is SGD_RULE


def test_warmup_cycle_and_clip_by_hand():
    # lr 1, W = 2, L = 2, clip 1, grad (3, 4) every step (norm 5): g_c = (3, 4) / (5 + 1e-6)
    # factors: t=1 0.5, t=2 1, t=3 (cycle k=0) 1, t=4 (k=1) 0.5 -> total 3.0 times g_c
    hp = SGD_RULE.hparams(lr=1.0, warmup_steps=2, use_cyclical_lr=True, cycle_length=2, max_grad_norm=1.0)
    params = [np.zeros(2)]
    state = SGD_RULE.init(params, hp)
    for t in range(1, 5):
        params, state = SGD_RULE.update(params, [np.array([3.0, 4.0])], state, t, hp)
    np.testing.assert_allclose(params[0], -3.0 * np.array([3.0, 4.0]) / (5 + 1e-6), rtol=1e-14)
