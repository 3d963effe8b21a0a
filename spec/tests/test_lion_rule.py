"""The spec's Lion rule by hand: decoupled decay, the sign of the interpolation, then the momentum.

lion-pytorch 0.2.5 (the authors' package) as an independent reference is in
conformance/test_spec_authors_references.py (the spec's tests do not import torch).
"""

import numpy as np

from lossopt_spec.optim import LION_RULE, OPTIMIZERS


def run(hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = LION_RULE.init(params, hparams)
    history = []
    for t, g in enumerate(grads_per_step, start=1):
        params, state = LION_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
        history.append((params[0], state[0]["exp_avg"]))
    return history


def test_two_steps_by_hand():
    # lr 0.1, wd 0.1, betas (0.9, 0.99), p0 = 1
    # step 1, g = 0.5: p = 1 (1 - 0.01) = 0.99; c = 0.1 * 0.5 > 0: p = 0.89; m = 0.01 * 0.5 = 0.005
    # step 2, g = -1: p = 0.89 * 0.99 = 0.8811; c = 0.0045 - 0.1 < 0: p = 0.9811; m = 0.00495 - 0.01 = -0.00505
    (p1, m1), (p2, m2) = run(LION_RULE.hparams(lr=0.1, weight_decay=0.1), [[0.5], [-1.0]], [1.0])
    np.testing.assert_allclose(p1, [0.89], rtol=1e-15)
    np.testing.assert_allclose(m1, [0.005], rtol=1e-15)
    np.testing.assert_allclose(p2, [0.9811], rtol=1e-15)
    np.testing.assert_allclose(m2, [-0.00505], rtol=1e-14)


def test_every_coordinate_moves_by_lr_whatever_the_gradient_scale_and_zero_stays():
    ((p1, _),) = run(LION_RULE.hparams(lr=0.01), [[1e-12, -1e6, 0.0, 3.0]], [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(p1, [-0.01, 0.01, 0.0, -0.01])


def test_the_sign_uses_the_momentum_before_its_update():
    # m = 0.1 after step 1 (g = 10, beta2 = 0.99); step 2 with g = -0.5 and beta1 = 0.9:
    # c = 0.09 - 0.05 > 0 (a descent step against this g), while the new m = 0.099 - 0.005 stays positive
    (_, m1), (p2, m2) = run(LION_RULE.hparams(lr=1.0), [[10.0], [-0.5]], [0.0])
    np.testing.assert_allclose(m1, [0.1], rtol=1e-15)
    np.testing.assert_allclose(p2, [-2.0], rtol=1e-15)  # both steps moved by -lr
    np.testing.assert_allclose(m2, [0.094], rtol=1e-14)


def test_nan_interpolation_has_sign_zero_as_torch():
    ((p1, m1),) = run(LION_RULE.hparams(lr=0.1), [[np.nan, 1.0]], [1.0, 1.0])
    np.testing.assert_array_equal(p1, [1.0, 0.9])
    assert np.isnan(m1[0])


def test_defaults_are_the_authors():
    assert OPTIMIZERS["lion"] is LION_RULE
    assert {k: LION_RULE.defaults[k] for k in ("lr", "betas", "weight_decay")} == {
        "lr": 1e-4,
        "betas": (0.9, 0.99),
        "weight_decay": 0.0,
    }
    assert LION_RULE.state_keys == ("exp_avg",)


def test_update_does_not_write_its_arguments():
    params, grads = [np.array([1.0, -2.0])], [np.array([0.3, 0.4])]
    hparams = LION_RULE.hparams(lr=0.1, weight_decay=0.1)
    state = LION_RULE.init(params, hparams)
    state[0]["exp_avg"] = np.array([0.5, -0.5])
    copies = [a.copy() for a in (params[0], grads[0], state[0]["exp_avg"])]
    LION_RULE.update(params, grads, state, 1, hparams)
    for before, after in zip(copies, (params[0], grads[0], state[0]["exp_avg"]), strict=True):
        np.testing.assert_array_equal(before, after)
