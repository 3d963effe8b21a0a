"""The spec's AdaBelief rule: steps by hand, eps in the state, the authors' flag semantics, purity.

The authors' ``adabelief-pytorch`` 0.2.1 as an independent reference is in
conformance/test_spec_references.py (it needs torch).
"""

import numpy as np
import pytest

from lossopt_spec.optim import ADABELIEF_RULE, OPTIMIZERS


def run(hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = ADABELIEF_RULE.init(params, hparams)
    for t, g in enumerate(grads_per_step, start=1):
        params, state = ADABELIEF_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
    return params[0], state[0]


def test_first_unrectified_step_by_hand():
    # lr 0.1, p0 = 1, g = 0.5, eps = 0: m = 0.05, g - m = 0.45, s = 0.001 * 0.45^2 = 2.025e-4
    # denom = sqrt(s) / sqrt(1 - 0.999) = 0.45; p = 1 - 0.1 / 0.1 * 0.05 / 0.45 = 1 - 1/9
    p, state = run(ADABELIEF_RULE.hparams(lr=0.1, eps=0.0, rectify=False), [[0.5]], [1.0])
    np.testing.assert_allclose(p, [1.0 - 1.0 / 9.0], rtol=1e-14)
    np.testing.assert_allclose(state["exp_avg_var"], [2.025e-4], rtol=1e-12)
    assert state["max_exp_avg_var"] is None


def test_first_rectified_step_is_the_momentum_step():
    # rho_1 = 1 < 5: p = 1 - 0.1 * 0.05 / 0.1 = 0.95
    p, _ = run(ADABELIEF_RULE.hparams(lr=0.1), [[0.5]], [1.0])
    np.testing.assert_allclose(p, [0.95], rtol=1e-15)


def test_eps_accumulates_in_the_state():
    # g = 0 always: s_t = b2 s_{t-1} + eps, so s_3 = eps (1 + b2 + b2^2)
    _, state = run(ADABELIEF_RULE.hparams(eps=1e-3), [[0.0]] * 3, [1.0])
    np.testing.assert_allclose(state["exp_avg_var"], [1e-3 * (1 + 0.999 + 0.999**2)], rtol=1e-14)


def test_zero_gradient_with_tiny_eps_is_finite():
    p, _ = run(ADABELIEF_RULE.hparams(lr=0.1, rectify=False), [[0.0]] * 3, [1.0])
    np.testing.assert_array_equal(p, [1.0])


def test_amsgrad_with_rectify_keeps_the_maximum_but_does_not_use_it():
    grads = [[2.0], [0.1], [-1.0], [0.3]] * 3
    p_ams, state = run(ADABELIEF_RULE.hparams(lr=0.1, amsgrad=True), grads, [1.0])
    p_plain, _ = run(ADABELIEF_RULE.hparams(lr=0.1), grads, [1.0])
    np.testing.assert_array_equal(p_ams, p_plain)
    assert state["max_exp_avg_var"][0] > state["exp_avg_var"][0]


def test_amsgrad_without_rectify_divides_by_the_maximum():
    # betas (0.5, 0.5), g = 2: m = 1, 1.5, ...; g - m = 1, 0.5, ...; s = 0.5, 0.375, ...: s falls, s_hat stays
    grads = [[2.0]] * 4
    p_ams, _ = run(ADABELIEF_RULE.hparams(lr=0.1, betas=(0.5, 0.5), amsgrad=True, rectify=False), grads, [1.0])
    p_plain, _ = run(ADABELIEF_RULE.hparams(lr=0.1, betas=(0.5, 0.5), rectify=False), grads, [1.0])
    assert p_ams[0] > p_plain[0]  # a larger denominator: smaller steps down


def test_decoupled_and_fixed_decay_by_hand():
    # g = 0, eps = 0 ... one step with lr 0.1, wd 0.5: decoupled p = 1 - 0.05; fixed p = 1 - 0.5
    p, _ = run(ADABELIEF_RULE.hparams(lr=0.1, weight_decay=0.5), [[0.0]], [1.0])
    np.testing.assert_allclose(p, [0.95], rtol=1e-15)
    p, _ = run(ADABELIEF_RULE.hparams(lr=0.1, weight_decay=0.5, fixed_decay=True), [[0.0]], [1.0])
    np.testing.assert_allclose(p, [0.5], rtol=1e-15)


def test_l2_decay_enters_the_gradient():
    p_l2, _ = run(ADABELIEF_RULE.hparams(lr=0.1, weight_decay=0.5, weight_decouple=False), [[0.0]], [1.0])
    p_g, _ = run(ADABELIEF_RULE.hparams(lr=0.1), [[0.5]], [1.0])
    np.testing.assert_allclose(p_l2, p_g, rtol=1e-15)


def test_without_degenerated_to_sgd_only_decay_moves_the_first_steps():
    hp = ADABELIEF_RULE.hparams(lr=0.1, weight_decay=0.5, degenerated_to_sgd=False)
    p, _ = run(hp, [[0.5]] * 4, [1.0])
    np.testing.assert_allclose(p, [0.95**4], rtol=1e-14)


def test_fixed_decay_without_weight_decouple_is_an_error():
    hp = ADABELIEF_RULE.hparams(fixed_decay=True, weight_decouple=False)
    with pytest.raises(
        ValueError, match=r"fixed_decay=True requires weight_decouple=True .* got weight_decouple=False"
    ):
        ADABELIEF_RULE.init([np.ones(1)], hp)
    with pytest.raises(ValueError, match="fixed_decay=True requires weight_decouple=True"):
        ADABELIEF_RULE.update([np.ones(1)], [np.ones(1)], [{}], 1, hp)


def test_update_is_pure():
    params, grads = [np.ones(2)], [np.ones(2)]
    hp = ADABELIEF_RULE.hparams(lr=0.1, weight_decay=0.1, amsgrad=True)
    state = ADABELIEF_RULE.init(params, hp)
    ADABELIEF_RULE.update(params, grads, state, 1, hp)
    np.testing.assert_array_equal(params[0], np.ones(2))
    np.testing.assert_array_equal(state[0]["exp_avg_var"], np.zeros(2))


def test_registry_holds_adabelief_under_its_name():
    assert OPTIMIZERS["adabelief"] is ADABELIEF_RULE
    assert ADABELIEF_RULE.defaults["eps"] == 1e-16
    assert ADABELIEF_RULE.defaults["rectify"] is True
