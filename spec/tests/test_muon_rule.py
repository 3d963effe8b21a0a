"""The spec's Muon rule by hand: Newton–Schulz on matrices whose singular values are known, the update scale,
the flags, AdamW groups, refusals, purity.

A matrix :math:`U = s\\,Q` with orthonormal rows (or columns) has every singular value equal, so (4)–(5) act on
one number: :math:`x_0 = s \\sqrt{r} / \\lVert U \\rVert_F = 1 / \\sqrt{r}` (``r`` the rank), then
:math:`x \\leftarrow a x + b x^3 + c x^5`, and :math:`O = x_k\\,Q`. torch.optim.Muon as an independent reference
is in packages/torch_impl/tests/test_muon_optimizer.py and conformance/test_muon.py (the spec's tests do not
import torch).
"""

import math
import re

import numpy as np
import pytest

from lossopt_spec.optim import OPTIMIZERS
from lossopt_spec.optim.muon import MUON_RULE, newton_schulz, update_scale

JORDAN = (3.4445, -4.775, 2.0315)


def scalar_iteration(x: float, coefficients, steps: int) -> float:
    a, b, c = coefficients
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


def run(hparams, grads, p0):
    params = [np.array(p0, dtype=np.float64)]
    state = MUON_RULE.init(params, hparams)
    for t, g in enumerate(grads, start=1):
        params, state = MUON_RULE.update(params, [np.asarray(g, dtype=np.float64)], state, t, hparams)
    return params[0], state[0]


def test_the_jordan_quintic_from_one_by_hand():
    # x = 1: 3.4445 - 4.775 + 2.0315 = 0.701; the values the torch docstring's example shows
    values = [scalar_iteration(1.0, JORDAN, k) for k in range(6)]
    assert values[1] == pytest.approx(0.701, abs=1e-12)
    assert values == pytest.approx([1.0, 0.701, 1.114, 0.721, 1.090, 0.696], abs=5e-4)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])  # square, wide, tall (transposed in (4))
@pytest.mark.parametrize("steps", [1, 5])
def test_a_scaled_semi_orthogonal_matrix_keeps_its_directions(shape, steps):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))  # orthonormal columns
    q = q if shape[0] >= shape[1] else q.T
    rank = min(shape)
    expected = scalar_iteration(1 / math.sqrt(rank), JORDAN, steps) * q
    np.testing.assert_allclose(newton_schulz(7.5 * q, JORDAN, steps, 1e-7), expected, rtol=1e-12, atol=1e-14)


def test_the_cubic_iteration_converges_to_the_polar_factor():
    # (1.5, -0.5, 0): x <- 1.5 x - 0.5 x^3 converges to 1 from (0, sqrt(3)): O -> P Q^T of the SVD
    rng = np.random.default_rng(1)
    u = rng.standard_normal((4, 6))
    p, _, qt = np.linalg.svd(u, full_matrices=False)
    np.testing.assert_allclose(newton_schulz(u, (1.5, -0.5, 0.0), 60, 1e-7), p @ qt, atol=1e-10)


def test_a_zero_update_is_divided_by_eps_and_stays_zero():
    assert np.array_equal(newton_schulz(np.zeros((2, 3)), JORDAN, 5, 1e-7), np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("shape", "adjust", "expected"),
    [
        ((6, 2), None, math.sqrt(3)),  # sqrt(max(1, A / B))
        ((6, 2), "original", math.sqrt(3)),
        ((2, 6), None, 1.0),
        ((4, 2, 3, 3), None, 1.0),  # the (4, 18) view
        ((36, 2, 3), None, math.sqrt(6)),  # the (36, 6) view
        ((6, 2), "match_rms_adamw", 0.2 * math.sqrt(6)),  # 0.2 sqrt(max(A, B))
        ((4, 2, 3, 3), "match_rms_adamw", 0.2 * math.sqrt(18)),
        ((3, 0), None, 1.0),  # B = 0: no step to scale
    ],
)
def test_update_scale(shape, adjust, expected):
    assert update_scale(shape, adjust) == pytest.approx(expected, rel=1e-15)


def test_an_unknown_adjust_lr_fn_is_refused():
    with pytest.raises(ValueError, match=r"Invalid adjust_lr_fn: 'spectral' \(must be one of"):
        update_scale((2, 2), "spectral")


def test_one_step_on_a_rank_one_gradient_by_hand():
    # G = 3 e1 e1^T, mu = 0.95, Nesterov: M = 0.05 G, U = 0.05 G + 0.95 M = 0.0975 G: X0 = e1 e1^T (rank one,
    # singular value 1), O = x5 e1 e1^T with x5 from the scalar quintic; p <- p (1 - lr wd) - lr s O, s = 1
    hparams = MUON_RULE.hparams(lr=0.1, weight_decay=0.2)
    p0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = np.array([[3.0, 0.0], [0.0, 0.0]])
    param, state = run(hparams, [grad], p0)
    expected = p0 * (1 - 0.1 * 0.2)
    expected[0, 0] -= 0.1 * scalar_iteration(1.0, JORDAN, 5)
    np.testing.assert_allclose(param, expected, rtol=1e-14)
    np.testing.assert_allclose(state["momentum_buffer"], 0.05 * grad, rtol=1e-15)


def test_without_nesterov_the_momentum_is_orthogonalised():
    # two steps, G1 = e1 e1^T, G2 = e2 e2^T, mu = 0.5: M2 = 0.25 e1 e1^T + 0.5 e2 e2^T (Nesterov would take
    # 0.5 G2 + 0.5 M2 = 0.125 e1 e1^T + 0.5 e2 e2^T); singular values in the ratio 1 : 2, Frobenius norm sqrt(5)/4
    hparams = MUON_RULE.hparams(lr=1.0, weight_decay=0.0, momentum=0.5, nesterov=False)
    g1, g2 = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    first, _ = run(hparams, [g1], np.zeros((2, 2)))
    second, state = run(hparams, [g1, g2], np.zeros((2, 2)))
    np.testing.assert_allclose(state["momentum_buffer"], np.diag([0.25, 0.5]), rtol=1e-15)
    norm = math.sqrt(0.25**2 + 0.5**2)
    step2 = np.diag([scalar_iteration(0.25 / norm, JORDAN, 5), scalar_iteration(0.5 / norm, JORDAN, 5)])
    np.testing.assert_allclose(second, first - step2, rtol=1e-13, atol=1e-15)


def test_maximize_is_the_negated_gradient():
    rng = np.random.default_rng(2)
    p0, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    up, _ = run(MUON_RULE.hparams(maximize=True), [grad, 2 * grad], p0)
    down, _ = run(MUON_RULE.hparams(), [-grad, -2 * grad], p0)
    np.testing.assert_array_equal(up, down)


def test_an_adamw_group_takes_one_bias_corrected_adamw_step_by_hand():
    # p = 1, g = 2, betas (0.9, 0.95): m = 0.2, v = 0.2; m_hat = 2, v_hat = 4; p <- p (1 - lr wd) - lr m_hat /
    # (sqrt(v_hat) + eps)
    hparams = MUON_RULE.hparams(use_muon=False, lr=0.1, weight_decay=0.1, eps=1e-7)
    param, state = run(hparams, [np.array([2.0])], np.array([1.0]))
    np.testing.assert_allclose(param, [1.0 * (1 - 0.01) - 0.1 * 2 / (2 + 1e-7)], rtol=1e-15)
    assert state["step"] == 1
    assert state["momentum_buffer"] is None
    np.testing.assert_allclose(state["exp_avg_sq"], [0.05 * 4], rtol=1e-15)


@pytest.mark.parametrize("shape", [(4,), ()])
def test_a_vector_or_scalar_in_a_muon_group_is_refused_naming_it(shape):
    with pytest.raises(ValueError, match=re.escape(f"Invalid parameter 0 of a Muon group: shape {shape} has")):
        MUON_RULE.init([np.zeros(shape)], MUON_RULE.hparams())


def test_the_update_is_pure_and_the_registry_holds_torchs_defaults():
    p0, grad = np.ones((2, 3)), np.full((2, 3), 0.5)
    params, state = [p0.copy()], MUON_RULE.init([p0], MUON_RULE.hparams())
    kept = state[0]["momentum_buffer"].copy()
    MUON_RULE.update(params, [grad], state, 1, MUON_RULE.hparams())
    assert np.array_equal(params[0], p0)
    assert np.array_equal(state[0]["momentum_buffer"], kept)
    defaults = OPTIMIZERS["muon"].defaults
    assert (defaults["lr"], defaults["weight_decay"], defaults["momentum"], defaults["eps"]) == (1e-3, 0.1, 0.95, 1e-7)
    assert (defaults["nesterov"], defaults["ns_steps"], defaults["adjust_lr_fn"]) == (True, 5, None)
    assert defaults["ns_coefficients"] == JORDAN
