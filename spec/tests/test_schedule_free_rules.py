"""The spec's Schedule-Free rules by hand: the averaging weight, the y / z recurrences, the mode switch.

The authors' schedulefree 1.4.1 as an independent reference is in conformance/test_spec_authors_references.py.
"""

import numpy as np
import pytest

from lossopt_spec.optim import OPTIMIZERS, SCHEDULE_FREE_ADAMW_RULE, SCHEDULE_FREE_SGD_RULE
from lossopt_spec.optim.lerp import lerp
from lossopt_spec.optim.schedule_free import averaging_step


def run(rule, hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = rule.init(params, hparams)
    history = []
    for t, g in enumerate(grads_per_step, start=1):
        params, state = rule.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
        history.append((params, state))
    return history


def test_sgd_two_steps_by_hand_and_x_is_the_average_of_z():
    # lr 0.5, momentum 0.9, p0 = 1, g = 1: weights lr_max^2 = 0.25 each, so c_1 = 1, c_2 = 1/2
    # step 1: y = z_0 + 0.5 (0.9 * 0 - 1) = 0.5, z_1 = 0.5 (x_1 = z_1)
    # step 2: y = lerp(0.5, 0.5, 1/2) + 0.5 (0.9 * 0.5 - 1) = 0.225, z_2 = 0; x_2 = (x_1 + z_2) / 2 = 0.25
    hparams = SCHEDULE_FREE_SGD_RULE.hparams(lr=0.5)
    (y1, s1), (y2, s2) = run(SCHEDULE_FREE_SGD_RULE, hparams, [[1.0], [1.0]], [1.0])
    np.testing.assert_allclose(y1[0], [0.5], rtol=1e-15)
    np.testing.assert_allclose(s1[0]["z"], [0.5], rtol=1e-15)
    np.testing.assert_allclose(y2[0], [0.225], rtol=1e-15)
    np.testing.assert_allclose(s2[0]["z"], [0.0], atol=1e-16)
    x2 = SCHEDULE_FREE_SGD_RULE.to_eval(y2, s2, hparams)
    np.testing.assert_allclose(x2[0], [0.25], rtol=1e-15)
    np.testing.assert_allclose(0.9 * x2[0] + 0.1 * s2[0]["z"], y2[0], rtol=1e-15)  # y = b x + (1 - b) z
    back = SCHEDULE_FREE_SGD_RULE.to_train(x2, s2, hparams)
    np.testing.assert_allclose(back[0], y2[0], rtol=1e-15)
    assert (s2[0]["lr_max"], s2[0]["weight_sum"]) == (0.5, 0.5)


def test_averaging_weight_with_warmup_counts_warmup_steps_less():
    # warmup 2 steps, lr 0.5, p = 2: lr_1 = 0.25 (weight 0.0625, c = 1), lr_2 = 0.5 (weight 0.25, W = 0.3125)
    hparams = SCHEDULE_FREE_SGD_RULE.hparams(lr=0.5, warmup_steps=2)
    lr_max, weight_sum, c1 = averaging_step(1, 0.25, -1.0, 0.0, hparams)
    assert (lr_max, weight_sum, c1) == (0.25, 0.0625, 1.0)
    lr_max, weight_sum, c2 = averaging_step(2, 0.5, lr_max, weight_sum, hparams)
    assert (lr_max, weight_sum) == (0.5, 0.3125)
    assert c2 == pytest.approx(0.8, rel=1e-15)
    # r = 1, p = 0: weights t, so c_t = t / (t (t + 1) / 2) = 2 / (t + 1)
    uniform = SCHEDULE_FREE_SGD_RULE.hparams(r=1.0, weight_lr_power=0.0)
    total = 0.0
    for t in range(1, 6):
        _, total, c = averaging_step(t, 1.0, 1.0, total, uniform)
        assert c == pytest.approx(2 / (t + 1), rel=1e-15)


def test_adamw_first_step_is_an_adam_step_and_eval_is_z():
    # eps 0: v = (1 - b2) g^2, sqrt(v / (1 - b2)) = |g|, u = sign(g); c_1 = 1: y = z_0 - lr u, z_1 = y, x = z_1
    hparams = SCHEDULE_FREE_ADAMW_RULE.hparams(lr=0.1, eps=0.0)
    ((y1, s1),) = run(SCHEDULE_FREE_ADAMW_RULE, hparams, [[1.0, -2.0]], [0.0, 0.0])
    np.testing.assert_allclose(y1[0], [-0.1, 0.1], rtol=1e-15)
    np.testing.assert_allclose(s1[0]["z"], [-0.1, 0.1], rtol=1e-15)
    np.testing.assert_allclose(s1[0]["exp_avg_sq"], [0.001, 0.004], rtol=1e-12)
    np.testing.assert_allclose(SCHEDULE_FREE_ADAMW_RULE.to_eval(y1, s1, hparams)[0], [-0.1, 0.1], rtol=1e-15)


def test_adamw_decay_is_taken_at_y_and_added_to_the_normalized_gradient():
    # g = 0 and eps 1: u = 0 + wd y = 0.5 * 2 = 1; c = 1: y = z_0 - lr u = 2 - 0.1, z_1 = 1.9
    hparams = SCHEDULE_FREE_ADAMW_RULE.hparams(lr=0.1, eps=1.0, weight_decay=0.5)
    ((y1, s1),) = run(SCHEDULE_FREE_ADAMW_RULE, hparams, [[0.0]], [2.0])
    np.testing.assert_allclose(y1[0], [1.9], rtol=1e-15)
    np.testing.assert_allclose(s1[0]["z"], [1.9], rtol=1e-15)


def test_lerp_is_exact_at_both_ends_and_takes_torchs_two_forms():
    a, b = np.array([0.1, -3.0]), np.array([0.7, 5.0])
    np.testing.assert_array_equal(lerp(a, b, 0.0), a)
    np.testing.assert_array_equal(lerp(a, b, 1.0), b)
    np.testing.assert_array_equal(lerp(a, b, 0.25), a + 0.25 * (b - a))
    np.testing.assert_array_equal(lerp(a, b, 0.75), b - (b - a) * 0.25)


def test_defaults_are_the_authors():
    assert OPTIMIZERS["schedule_free_adamw"] is SCHEDULE_FREE_ADAMW_RULE
    assert OPTIMIZERS["schedule_free_sgd"] is SCHEDULE_FREE_SGD_RULE
    adamw = {"lr": 0.0025, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0}
    sgd = {"lr": 1.0, "momentum": 0.9, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0}
    assert {k: SCHEDULE_FREE_ADAMW_RULE.defaults[k] for k in adamw} == adamw
    assert SCHEDULE_FREE_ADAMW_RULE.defaults["weight_lr_power"] == 2.0
    assert {k: SCHEDULE_FREE_SGD_RULE.defaults[k] for k in sgd} == sgd
    assert SCHEDULE_FREE_ADAMW_RULE.state_keys == ("z", "exp_avg_sq")
    assert SCHEDULE_FREE_SGD_RULE.state_keys == ("z",)
