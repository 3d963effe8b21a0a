"""The spec's sigmoid focal loss: hand values, finite differences, scikit-learn's log loss at gamma = 0."""

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy.special import expit
from sklearn.metrics import log_loss

from lossopt_spec.losses import sigmoid_focal_loss, sigmoid_focal_loss_grad


@st.composite
def logits_and_labels(draw, bound=20.0):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = draw(arrays(np.float64, shape, elements=st.floats(-bound, bound)))
    hard = draw(st.booleans())
    t = draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) if hard else st.floats(0, 1)))
    return x, t


def torchvision_formula(x, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, line by line in NumPy (reduction 'none')."""
    p = expit(x)
    ce = np.logaddexp(0, x) - t * x  # binary_cross_entropy_with_logits
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def test_hand_values():
    # x = 0, t = 1: p = 1/2, ce = log 2, q = 1/2, alpha_t = 0.25 -> 0.25 * (1/2)^2 * log 2
    assert sigmoid_focal_loss(np.array([0.0]), np.array([1.0]), reduction="sum") == pytest.approx(
        0.25 * 0.25 * np.log(2), rel=1e-15
    )
    # t = 0 takes 1 - alpha = 0.75; x = log 3: p = 3/4, q = p = 3/4, ce = log 4
    value = sigmoid_focal_loss(np.array([np.log(3.0)]), np.array([0.0]), reduction="none")
    np.testing.assert_allclose(value, [0.75 * 0.75**2 * np.log(4.0)], rtol=1e-14)


@given(logits_and_labels(), st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.sampled_from([-1.0, 0.0, 0.25, 1.0]))
def test_matches_torchvision_formula(pair, gamma, alpha):
    x, t = pair
    np.testing.assert_allclose(
        sigmoid_focal_loss(x, t, None if alpha < 0 else alpha, gamma, "none"),
        torchvision_formula(x, t, alpha, gamma),
        rtol=1e-9,
        atol=1e-12,
    )


@given(logits_and_labels(bound=15.0))
def test_gamma_zero_without_alpha_is_scikit_learn_log_loss(pair):
    x, t = pair
    t = np.round(t)
    p = expit(x).ravel()
    reference = log_loss(t.ravel(), np.stack([1 - p, p], axis=1), labels=[0, 1])
    np.testing.assert_allclose(sigmoid_focal_loss(x, t, None, 0.0, "mean"), reference, rtol=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(pair=logits_and_labels(bound=8.0), gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]), seed=st.integers(0, 99))
def test_grad_matches_central_differences(reduction, pair, gamma, seed):
    x, t = pair
    upstream = np.random.default_rng(seed).standard_normal(x.shape if reduction == "none" else ())

    def scalar(p):
        return float(np.sum(upstream * sigmoid_focal_loss(p, t, 0.25, gamma, reduction)))

    fd = central_difference(scalar, x, h=1e-6)
    analytic = sigmoid_focal_loss_grad(x, t, 0.25, gamma, reduction, grad_output=upstream)
    np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 0.999])
def test_grad_is_finite_where_p_t_is_one(gamma):
    # x = +-800: sigma underflows, q = 0 exactly; the chain rule through q^gamma would give 0 * inf
    x, t = np.array([800.0, -800.0, 40.0]), np.array([1.0, 0.0, 1.0])
    grad = sigmoid_focal_loss_grad(x, t, 0.25, gamma, "none")
    assert np.all(np.isfinite(grad))
    assert grad[0] == 0.0
    assert grad[1] == 0.0


def test_bad_inputs_name_argument_value_and_range():
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\]; got 1.5 at index \(1,\)"):
        sigmoid_focal_loss(np.zeros(2), np.array([1.0, 1.5]))
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got -1.0"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(2), gamma=-1.0)
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\] or None .*; got -1"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(2), alpha=-1)
    with pytest.raises(ValueError, match=r"predictions \(2,\) and targets \(3,\)"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(2), reduction="avg")
