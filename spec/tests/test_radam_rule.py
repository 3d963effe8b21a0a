"""The spec's RAdam rule: rho_t, r_t and both branches by hand, flags, purity.

torch.optim.RAdam as an independent reference is in conformance/test_spec_references.py (the spec's
tests do not import torch).
"""

import math

import numpy as np
import pytest

from lossopt_spec.optim import OPTIMIZERS, RADAM_RULE
from lossopt_spec.optim.rectify import rectification, rho


def run(hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = RADAM_RULE.init(params, hparams)
    for t, g in enumerate(grads_per_step, start=1):
        params, state = RADAM_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
    return params[0], state[0]


def test_rho_by_hand():
    # beta2 = 0.999: rho_inf = 2 / 0.001 - 1 = 1999; rho_1 = 1999 - 2 * 0.999 / 0.001 = 1999 - 1998 = 1
    rho_inf, rho_1 = rho(1, 0.999)
    assert rho_inf == pytest.approx(1999.0, rel=1e-12)
    assert rho_1 == pytest.approx(1.0, rel=1e-9)
    # the branch changes between t = 5 and t = 6 with the defaults
    assert rho(5, 0.999)[1] < 5 < rho(6, 0.999)[1]
    # beta2 = 0.5: rho_inf = 3, never above 5
    assert all(rho(t, 0.5)[1] <= 3 for t in range(1, 50))


def test_rectification_is_one_at_rho_inf_and_grows_with_rho():
    # r = sqrt((rho - 4)(rho - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho)) = 1 at rho = rho_inf
    assert rectification(1999.0, 1999.0) == pytest.approx(1.0, rel=1e-15)
    # rho = 6, rho_inf = 10: sqrt(2 * 4 * 10 / (6 * 8 * 6)) = sqrt(80 / 288) = 0.527046...
    assert rectification(6.0, 10.0) == pytest.approx(math.sqrt(80 / 288), rel=1e-15)
    assert rectification(6.0, 1999.0) < rectification(7.0, 1999.0) < 1.0


def test_first_step_is_the_momentum_step():
    # lr 0.1, p0 = 1, g = 0.5: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25; rho_1 = 1 <= 5
    # p = 1 - 0.1 * 0.05 / (1 - 0.9) = 1 - 0.05 = 0.95
    p, state = run(RADAM_RULE.hparams(lr=0.1), [[0.5]], [1.0])
    np.testing.assert_allclose(p, [0.95], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg"], [0.05], rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"], [0.00025], rtol=1e-12)
    assert state["step"] == 1.0


def test_constant_gradient_takes_lr_steps_then_lr_r_t_steps():
    # g = 1 every step, eps = 0: m_t = 1 - b1^t, v_t = 1 - b2^t, so m_hat = 1 and
    # sqrt(1 - b2^t) / sqrt(v_t) = 1. Steps 1-5 move by lr, steps 6-10 by lr * r_t.
    lr = 0.01
    p, _ = run(RADAM_RULE.hparams(lr=lr, eps=0.0), [[1.0]] * 10, [0.0])
    rho_inf = 2 / (1 - 0.999) - 1
    r = [
        math.sqrt((rt - 4) * (rt - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rt))
        for rt in (rho_inf - 2 * t * 0.999**t / (1 - 0.999**t) for t in range(6, 11))
    ]
    np.testing.assert_allclose(p, [-lr * 5 - lr * sum(r)], rtol=1e-12)


def test_without_degenerated_to_sgd_the_first_steps_leave_the_parameter():
    hp = RADAM_RULE.hparams(lr=0.1, degenerated_to_sgd=False)
    p, state = run(hp, [[0.5]] * 5, [1.0])
    np.testing.assert_array_equal(p, [1.0])
    assert state["exp_avg"][0] != 0  # the moments still update
    assert state["exp_avg_sq"][0] != 0
    p6, _ = run(hp, [[0.5]] * 6, [1.0])
    assert p6[0] < 1.0  # t = 6 rectifies


def test_without_degenerated_to_sgd_decoupled_decay_still_applies():
    # 5 steps of p <- p (1 - lr wd) and no gradient step: p = (1 - 0.1 * 0.5)^5
    hp = RADAM_RULE.hparams(lr=0.1, weight_decay=0.5, decoupled_weight_decay=True, degenerated_to_sgd=False)
    p, _ = run(hp, [[0.5]] * 5, [1.0])
    np.testing.assert_allclose(p, [0.95**5], rtol=1e-14)


def test_l2_weight_decay_enters_the_gradient():
    # p0 = 1, g = 0, wd = 0.5: g = 0.5, the same first step as g = 0.5 without decay
    p_l2, _ = run(RADAM_RULE.hparams(lr=0.1, weight_decay=0.5), [[0.0]], [1.0])
    p_g, _ = run(RADAM_RULE.hparams(lr=0.1), [[0.5]], [1.0])
    np.testing.assert_allclose(p_l2, p_g, rtol=1e-15)


def test_maximize_ascends():
    p, _ = run(RADAM_RULE.hparams(lr=0.1, maximize=True), [[0.5]], [1.0])
    np.testing.assert_allclose(p, [1.05], rtol=1e-15)


def test_warmup_scales_the_learning_rate():
    # warmup 4: step 1 uses lr / 4, so the first momentum step moves 0.05 / 4
    p, _ = run(RADAM_RULE.hparams(lr=0.1, warmup_steps=4), [[0.5]], [1.0])
    np.testing.assert_allclose(p, [1.0 - 0.0125], rtol=1e-15)


def test_clipping_scales_the_gradient_to_the_threshold():
    # |g| = 5 clipped to 1 (kappa = 1 / (5 + 1e-6)): the first step moves lr * kappa * 5 ~ 0.1
    p, _ = run(RADAM_RULE.hparams(lr=0.1, max_grad_norm=1.0), [[3.0, 4.0]], [0.0, 0.0])
    kappa = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(p, [-0.1 * 3 * kappa, -0.1 * 4 * kappa], rtol=1e-14)


def test_update_is_pure():
    params, grads = [np.ones(2)], [np.ones(2)]
    hp = RADAM_RULE.hparams(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)
    state = RADAM_RULE.init(params, hp)
    RADAM_RULE.update(params, grads, state, 1, hp)
    np.testing.assert_array_equal(params[0], np.ones(2))
    np.testing.assert_array_equal(state[0]["exp_avg"], np.zeros(2))


def test_registry_holds_radam_under_its_name():
    assert OPTIMIZERS["radam"] is RADAM_RULE
    assert RADAM_RULE.defaults["degenerated_to_sgd"] is True
    assert RADAM_RULE.defaults["eps"] == 1e-8


def test_differs_from_the_original_design_snippet():
    """The design document's RAdam used rho/(rho - 4) and corrected the moments twice; this rule does not."""
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    grads = [[0.5], [-0.2], [0.3], [0.1], [0.4], [0.2]]  # t = 6 rectifies
    p, state = run(RADAM_RULE.hparams(lr=lr), grads[:5], [1.0])
    p6, _ = run(RADAM_RULE.hparams(lr=lr), grads, [1.0])
    # the design snippet's step 6 from the same state
    m = beta1 * state["exp_avg"] + (1 - beta1) * 0.2
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * 0.04
    bc1, bc2 = 1 - beta1**6, 1 - beta2**6
    n_sma = rho(6, beta2)[1]
    design = p - lr / bc1 / math.sqrt(bc2) * n_sma / (n_sma - 4) * (m / bc1) / (np.sqrt(v / bc2) + eps)
    # the paper's (and torch's) step 6
    r6 = rectification(n_sma, rho(6, beta2)[0])
    paper = p - lr * (m / bc1) * r6 * math.sqrt(bc2) / (np.sqrt(v) + eps)
    np.testing.assert_allclose(p6, paper, rtol=1e-13)
    assert abs(design[0] - p[0]) > 10 * abs(paper[0] - p[0])  # the snippet's step is far larger
