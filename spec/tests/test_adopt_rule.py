"""The spec's ADOPT rule by hand: the first step only records v, the clip counts earlier steps, decay options.

The authors' torch-adopt 0.1.0 as an independent reference is in conformance/test_spec_authors_references.py.
"""

import numpy as np
import pytest

from lossopt_spec.optim import ADOPT_RULE, OPTIMIZERS


def run(hparams, grads_per_step, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = ADOPT_RULE.init(params, hparams)
    history = []
    for t, g in enumerate(grads_per_step, start=1):
        params, state = ADOPT_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
        history.append((params[0], dict(state[0])))
    return history


def test_three_steps_by_hand():
    # lr 0.1, betas (0.9, 0.9999), eps 1e-6, p0 = 1
    # step 1, g = 2: v = 4 and nothing else
    # step 2, g = 1: n = 1 / 2 = 0.5, clip 1^(1/4) = 1; m = 0.05; p = 1 - 0.005 = 0.995; v = 3.9996 + 0.0001
    # step 3, g = 10: n = 10 / sqrt(3.9997) = 5.0004 clipped to 2^(1/4); m = 0.045 + 0.1 * 2^(1/4)
    hist = run(ADOPT_RULE.hparams(lr=0.1), [[2.0], [1.0], [10.0]], [1.0])
    (p1, s1), (p2, s2), (p3, s3) = hist
    np.testing.assert_array_equal(p1, [1.0])
    np.testing.assert_array_equal(s1["exp_avg"], [0.0])
    np.testing.assert_allclose(s1["exp_avg_sq"], [4.0], rtol=1e-15)
    assert (s1["step"], s2["step"], s3["step"]) == (1.0, 2.0, 3.0)
    np.testing.assert_allclose(s2["exp_avg"], [0.05], rtol=1e-15)
    np.testing.assert_allclose(p2, [0.995], rtol=1e-15)
    np.testing.assert_allclose(s2["exp_avg_sq"], [3.9997], rtol=1e-15)
    m3 = 0.045 + 0.1 * 2**0.25
    np.testing.assert_allclose(s3["exp_avg"], [m3], rtol=1e-15)
    np.testing.assert_allclose(p3, [0.995 - 0.1 * m3], rtol=1e-15)


def test_without_clipping_the_normalized_gradient_passes_whole():
    hparams = {**ADOPT_RULE.hparams(lr=0.1), "clip_lambda": None}
    (_, _), (_, s2) = run(hparams, [[1.0], [100.0]], [0.0])
    np.testing.assert_allclose(s2["exp_avg"], [0.1 * 100.0], rtol=1e-15)  # n = 100 / 1, unclipped


def test_the_floor_of_the_divisor_is_eps():
    # v = 0 after a zero first gradient: n = g / eps, then clipped to 1 at step 2
    hist = run(ADOPT_RULE.hparams(lr=1.0, eps=0.5), [[0.0], [0.25]], [0.0])
    np.testing.assert_allclose(hist[1][1]["exp_avg"], [0.1 * 0.5], rtol=1e-15)


@pytest.mark.parametrize("decouple", [False, True])
def test_weight_decay_l2_enters_v_at_step_1_and_decoupled_skips_step_1(decouple):
    # p0 = 2, wd 0.5, g = 0: L2 makes g = 1 (v = 1 at step 1); decoupled leaves v = 0 and p = 2 at step 1,
    # then p <- p - lr wd p = 2 - 0.1 at step 2 (lr 0.1)
    hparams = {**ADOPT_RULE.hparams(lr=0.1, weight_decay=0.5, decouple=decouple), "clip_lambda": None}
    (p1, s1), (p2, _) = run(hparams, [[0.0], [0.0]], [2.0])
    np.testing.assert_array_equal(p1, [2.0])
    np.testing.assert_allclose(s1["exp_avg_sq"], [0.0 if decouple else 1.0], rtol=1e-15)
    if decouple:
        np.testing.assert_allclose(p2, [1.9], rtol=1e-15)  # n = 0 / eps = 0: only the decay moved p
    else:
        np.testing.assert_allclose(p2, [2.0 - 0.1 * 0.1 * 1.0], rtol=1e-15)  # n = 1 / 1, m = 0.1


def test_defaults_are_the_authors():
    assert OPTIMIZERS["adopt"] is ADOPT_RULE
    authors = {"lr": 1e-3, "betas": (0.9, 0.9999), "eps": 1e-6, "weight_decay": 0.0, "decouple": False}
    assert {k: ADOPT_RULE.defaults[k] for k in authors} == authors
    assert "clip_lambda" not in ADOPT_RULE.defaults
