"""The spec's cross-entropy, softmax focal and hinge losses: hand values, finite differences, scikit-learn."""

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax
from sklearn.metrics import hinge_loss as sklearn_hinge_loss
from sklearn.metrics import log_loss

from lossopt_spec.losses import (
    cross_entropy_loss,
    cross_entropy_loss_grad,
    focal_loss,
    focal_loss_grad,
    hinge_loss,
    hinge_loss_grad,
)


@st.composite
def logits_and_indices(draw, bound=10.0, ignored=True):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-bound, bound, (n, c))
    t = rng.integers(0, c, n)
    if ignored:
        t[rng.random(n) < 0.2] = -100
    return x, t


def test_cross_entropy_hand_values():
    # logits (0, log 3): softmax (1/4, 3/4); target 1 -> -log(3/4); target 0 -> log 4
    x = np.array([[0.0, np.log(3.0)], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(cross_entropy_loss(x, np.array([1, 0]), reduction="none"), [-np.log(0.75), np.log(4)])
    # weights (2, 1): mean = (1 * -log(3/4) + 2 * log 4) / (1 + 2)
    np.testing.assert_allclose(
        cross_entropy_loss(x, np.array([1, 0]), weight=np.array([2.0, 1.0])),
        (-np.log(0.75) + 2 * np.log(4)) / 3,
        rtol=1e-15,
    )
    # smoothing 0.2 over C = 2: a = 0.8 e_t + 0.1 (1, 1): 0.8 log 4 + 0.1 (log 4 - log(3/4)) for target 0
    np.testing.assert_allclose(
        cross_entropy_loss(x[:1], np.array([0]), label_smoothing=0.2),
        0.8 * np.log(4) + 0.1 * (np.log(4) - np.log(0.75)),
        rtol=1e-15,
    )


@given(logits_and_indices(ignored=False))
def test_cross_entropy_mean_matches_scikit_learn_log_loss(case):
    x, t = case
    expected = log_loss(t, softmax(x, axis=1), labels=list(range(x.shape[1])))
    np.testing.assert_allclose(cross_entropy_loss(x, t), expected, rtol=1e-9)


def test_all_ignored_and_empty_batches_give_nan_means_zero_sums_and_zero_gradients():
    x, t = np.ones((3, 4)), np.full(3, -100)
    assert np.isnan(cross_entropy_loss(x, t))
    assert cross_entropy_loss(x, t, reduction="sum") == 0.0
    np.testing.assert_array_equal(cross_entropy_loss_grad(x, t), np.zeros((3, 4)))
    assert np.isnan(focal_loss(x, t))
    np.testing.assert_array_equal(focal_loss_grad(x, t), np.zeros((3, 4)))
    assert np.isnan(cross_entropy_loss(np.zeros((0, 4)), np.zeros(0, dtype=np.int64)))
    assert cross_entropy_loss(np.zeros((0, 4)), np.zeros((0, 4)), reduction="sum") == 0.0


@given(logits_and_indices(), st.sampled_from([0.0, 0.3]))
def test_focal_with_gamma_zero_and_alpha_one_is_cross_entropy_exactly(case, gamma_zero_smoothing):
    x, t = case
    for reduction in ("none", "sum", "mean"):
        np.testing.assert_array_equal(
            focal_loss(x, t, alpha=1.0, gamma=0.0, reduction=reduction), cross_entropy_loss(x, t, reduction=reduction)
        )
    np.testing.assert_array_equal(focal_loss_grad(x, t, 1.0, 0.0), cross_entropy_loss_grad(x, t))


def test_focal_hand_value():
    # equal logits over 4 classes: p_t = 1/4, loss = alpha (3/4)^gamma log 4
    np.testing.assert_allclose(focal_loss(np.zeros((1, 4)), np.array([2]), 0.5, 2.0), 0.5 * 0.5625 * np.log(4))


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 1.0, 2.0, 3.5])
@given(case=logits_and_indices(bound=4.0), seed=st.integers(0, 99))
def test_focal_grad_matches_central_differences(gamma, case, seed):
    x, t = case
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.1, 2.0, x.shape[1])
    upstream = rng.standard_normal(t.shape)

    def scalar(p):
        return float(np.sum(upstream * focal_loss(p, t, alpha, gamma, "none")))

    fd = central_difference(scalar, x, h=1e-6)
    np.testing.assert_allclose(focal_loss_grad(x, t, alpha, gamma, "none", grad_output=upstream), fd, atol=1e-7)


@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.5, 0.99])
def test_focal_grad_is_finite_where_p_t_is_one(gamma):
    # margin 800: log p_t = -exp(-800) = -0.0 in float64, so q = 0 exactly
    x = np.array([[800.0, 0.0, 0.0], [1e4, -1e4, 0.0], [40.0, 0.0, 0.0]])
    grad = focal_loss_grad(x, np.array([0, 0, 0]), 1.0, gamma, "sum")
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[:2], 0.0)


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@given(case=logits_and_indices(bound=5.0), seed=st.integers(0, 99), smoothing=st.sampled_from([0.0, 0.25]))
def test_cross_entropy_grad_matches_central_differences(soft, reduction, case, seed, smoothing):
    x, t = case
    rng = np.random.default_rng(seed)
    weight = rng.uniform(0.1, 2.0, x.shape[1])
    if soft:
        t = rng.random(x.shape)
    upstream = rng.standard_normal(x.shape[:1] if reduction == "none" else ())
    if reduction == "mean" and not soft and np.all(t == -100):
        return  # NaN over nothing: tested above

    def scalar(p):
        return float(np.sum(upstream * cross_entropy_loss(p, t, weight, -100, reduction, smoothing)))

    fd = central_difference(scalar, x, h=1e-6)
    analytic = cross_entropy_loss_grad(x, t, weight, -100, reduction, smoothing, grad_output=upstream)
    np.testing.assert_allclose(analytic, fd, atol=1e-7)


def test_cross_entropy_spatial_and_unbatched_shapes():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    assert cross_entropy_loss(x, t, reduction="none").shape == (2, 4, 5)
    # (N, C, d) is (N d, C) with the class axis moved last
    flat = cross_entropy_loss(np.moveaxis(x, 1, -1).reshape(-1, 3), t.reshape(-1), reduction="none")
    np.testing.assert_allclose(cross_entropy_loss(x, t, reduction="none").reshape(-1), flat, rtol=1e-14)
    assert cross_entropy_loss(x[0, :, 0, 0], np.array(t[0, 0, 0]), reduction="none").shape == ()
    assert cross_entropy_loss_grad(x[0, :, 0, 0], np.array(t[0, 0, 0])).shape == (3,)


@given(st.integers(2, 20), st.integers(0, 2**32 - 1))
def test_binary_hinge_matches_scikit_learn_for_both_label_conventions(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-3, 3, n), rng.choice([-1.0, 1.0], n)
    y[:2] = [-1.0, 1.0]  # scikit-learn binarizes y_true by its own classes: both must be present
    expected = sklearn_hinge_loss(y, x, labels=[-1, 1])
    np.testing.assert_allclose(hinge_loss(x, y), expected, rtol=1e-12)
    np.testing.assert_allclose(hinge_loss(x, (y + 1) / 2), expected, rtol=1e-12)  # {0, 1} labels


@given(logits_and_indices(bound=3.0, ignored=False).filter(lambda case: case[0].shape[1] >= 3))
def test_multiclass_hinge_is_crammer_singer_as_scikit_learn(case):
    x, t = case
    expected = sklearn_hinge_loss(t, x, labels=list(range(x.shape[1])))
    np.testing.assert_allclose(hinge_loss(x, t), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@given(case=logits_and_indices(bound=3.0, ignored=False), seed=st.integers(0, 99))
def test_hinge_grads_match_central_differences_off_the_kink(reduction, case, seed):
    x, t = case
    rng = np.random.default_rng(seed)
    for targets in (t, rng.choice([-1.0, 0.0, 1.0], x.shape)):
        upstream = rng.standard_normal(targets.shape if reduction == "none" else ())

        def scalar(p, targets=targets, upstream=upstream):
            return float(np.sum(upstream * hinge_loss(p, targets, 0.7, reduction)))

        fd = central_difference(scalar, x, h=1e-7)
        np.testing.assert_allclose(hinge_loss_grad(x, targets, 0.7, reduction, grad_output=upstream), fd, atol=1e-6)


def test_multiclass_hinge_shares_the_gradient_among_tied_rivals():
    # scores (0, 1, 1), target 0: z = 1 + 1 - 0 = 2; rivals 1 and 2 tie and get 1/2 each
    np.testing.assert_array_equal(
        hinge_loss_grad(np.array([[0.0, 1.0, 1.0]]), np.array([0]), reduction="sum"), [[-1.0, 0.5, 0.5]]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: cross_entropy_loss(np.zeros((2, 3)), np.array([0, 3])),
            r"class indices in \[0, 3\) or ignore_index=-100; got 3 at index \(1,\)",
        ),
        (
            lambda: cross_entropy_loss(np.zeros((2, 3)), np.array([0, 1, 2])),
            r"must have shape \(N, d1, ...\) = \(2,\) for predictions \(2, 3\); got targets \(3,\)",
        ),
        (
            lambda: cross_entropy_loss(np.zeros((2, 3)), np.full((2, 3), 1.5)),
            r"targets must be probabilities in \[0, 1\]; got 1.5 at index \(0, 0\)",
        ),
        (
            lambda: cross_entropy_loss(np.zeros((2, 3)), np.zeros(2, dtype=int), weight=np.ones(2)),
            r"weight must have shape \(C,\) = \(3,\); got \(2,\)",
        ),
        (
            lambda: cross_entropy_loss(np.zeros((2, 3)), np.zeros(2, dtype=int), label_smoothing=1.5),
            r"label_smoothing must be a number in \[0, 1\]; got 1.5",
        ),
        (
            lambda: focal_loss(np.zeros((2, 3)), np.zeros(2, dtype=int), gamma=-1.0),
            r"gamma must be a finite number >= 0; got -1.0",
        ),
        (
            lambda: focal_loss(np.zeros((2, 3)), np.zeros(2, dtype=int), alpha=np.array([1.0, -1.0, 1.0])),
            r"alpha must be finite and >= 0; got -1.0 at index \(1,\)",
        ),
        (
            lambda: focal_loss(np.zeros((2, 3)), np.zeros(2)),
            r"focal_loss takes class-index targets \(an integer array\); got dtype float64",
        ),
        (
            lambda: hinge_loss(np.zeros(2), np.array([0.5, 1.0])),
            r"binary targets must be labels in \{-1, 1\} or \{0, 1\}; got 0.5 at index \(0,\)",
        ),
        (lambda: hinge_loss(np.zeros(2), np.zeros(2), margin=-1.0), r"margin must be a finite number >= 0; got -1.0"),
        (
            lambda: hinge_loss(np.zeros((2, 3)), np.zeros(3)),
            r"hinge_loss takes binary targets of the predictions' shape, or class indices",
        ),
    ],
)
def test_bad_inputs_name_argument_value_and_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()
