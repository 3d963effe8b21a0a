"""The spec's regression losses: hand values, finite differences and scikit-learn."""

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from sklearn.metrics import mean_squared_error

from lossopt_spec.losses import mse_loss, mse_loss_grad

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def pairs(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    return draw(arrays(np.float64, shape, elements=finite)), draw(arrays(np.float64, shape, elements=finite))


def test_mse_hand_values():
    # residuals (1, -2, 3, 0): squares 1, 4, 9, 0; sum 14; mean 14 / 4 = 3.5
    predictions = np.array([2.0, 0.0, 3.0, -1.0])
    targets = np.array([1.0, 2.0, 0.0, -1.0])
    assert mse_loss(predictions, targets, "sum") == 14.0
    assert mse_loss(predictions, targets, "mean") == 3.5
    np.testing.assert_array_equal(mse_loss(predictions, targets, "none"), [1.0, 4.0, 9.0, 0.0])
    # d mean / d y_hat = 2 r / n = (0.5, -1, 1.5, 0)
    np.testing.assert_array_equal(mse_loss_grad(predictions, targets, "mean"), [0.5, -1.0, 1.5, 0.0])


@given(pairs())
@example((np.zeros(3), np.zeros(3)))
def test_mse_mean_matches_scikit_learn(pair):
    predictions, targets = pair
    np.testing.assert_allclose(
        mse_loss(predictions, targets, "mean"),
        mean_squared_error(targets.ravel(), predictions.ravel()),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(pair=pairs(), seed=st.integers(0, 2**32 - 1))
def test_mse_grad_matches_central_differences(reduction, pair, seed):
    predictions, targets = pair
    upstream = np.random.default_rng(seed).standard_normal(predictions.shape if reduction == "none" else ())

    def scalar(p):
        return float(np.sum(upstream * mse_loss(p, targets, reduction)))

    fd = central_difference(scalar, predictions, h=1e-4)
    analytic = mse_loss_grad(predictions, targets, reduction, grad_output=upstream)
    # the loss is quadratic, so central differences are exact up to rounding of values ~1e6
    np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-3)


def test_mse_rejects_shapes_that_differ_naming_both():
    with pytest.raises(ValueError, match=r"predictions \(2, 3\) and targets \(3,\)"):
        mse_loss(np.zeros((2, 3)), np.zeros(3))


def test_mse_rejects_an_unknown_reduction():
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\); got 'avg'"):
        mse_loss(np.zeros(2), np.zeros(2), "avg")


# --- mae, huber, log-cosh, quantile -------------------------------------------------------------

from sklearn.metrics import mean_absolute_error, mean_pinball_loss  # noqa: E402

from lossopt_spec.losses import (  # noqa: E402
    huber_loss,
    huber_loss_grad,
    log_cosh_loss,
    log_cosh_loss_grad,
    mae_loss,
    mae_loss_grad,
    quantile_loss,
    quantile_loss_grad,
)


@given(pairs())
def test_mae_matches_scikit_learn(pair):
    predictions, targets = pair
    np.testing.assert_allclose(
        mae_loss(predictions, targets), mean_absolute_error(targets.ravel(), predictions.ravel()), rtol=1e-12
    )


@given(pairs(), st.sampled_from([0.01, 0.1, 0.5, 0.9, 0.99]))
def test_quantile_mean_matches_scikit_learn_mean_pinball_loss(pair, quantile):
    predictions, targets = pair
    np.testing.assert_allclose(
        quantile_loss(predictions, targets, quantile),
        mean_pinball_loss(targets.ravel(), predictions.ravel(), alpha=quantile),
        rtol=1e-12,
        atol=1e-12,
    )


def test_quantile_fits_the_quantile_not_its_mirror():
    # minimising the mean pinball loss over a constant gives the q-quantile of the targets (the design: 1 - q)
    targets = np.arange(1.0, 101.0)
    grid = np.linspace(0, 101, 1011)
    best = grid[np.argmin([quantile_loss(np.full(100, c), targets, 0.9) for c in grid])]
    assert 89.9 <= best <= 91.1


def test_several_quantiles_are_one_loss_per_quantile():
    # u = y - y_hat = 1: level 0.1 -> 0.1, level 0.9 -> 0.9; u = -1: 0.9 and 0.1
    predictions = np.array([[0.0, 0.0], [2.0, 2.0]])
    targets = np.array([1.0, 1.0])
    np.testing.assert_allclose(quantile_loss(predictions, targets, [0.1, 0.9], "none"), [[0.1, 0.9], [0.9, 0.1]])
    for j, q in enumerate([0.1, 0.9]):
        np.testing.assert_allclose(
            quantile_loss(predictions, targets, [0.1, 0.9], "none")[:, j],
            quantile_loss(predictions[:, j], targets, q, "none"),
        )


def test_huber_hand_values_and_is_not_smooth_l1_over_delta():
    # delta = 2: r = 1 -> 0.5; r = -3 -> 2 * (3 - 1) = 4; smooth_l1(beta=2) at r = -3 would be 3 - 1 = 2
    np.testing.assert_array_equal(huber_loss(np.array([1.0, -3.0]), np.zeros(2), 2.0, "none"), [0.5, 4.0])
    np.testing.assert_array_equal(huber_loss_grad(np.array([1.0, -3.0]), np.zeros(2), 2.0, "none"), [1.0, -2.0])


@pytest.mark.parametrize("magnitude", [0.0, 1e-8, 1e-3, 0.5, 19.99, 20.0, 20.01, 90.0, 1e4, 1e300])
def test_log_cosh_is_finite_and_accurate_from_tiny_to_huge_residuals(magnitude):
    value = log_cosh_loss(np.array([magnitude, -magnitude]), np.zeros(2), "none")
    assert np.all(np.isfinite(value))
    if magnitude < 20:
        # Taylor series of log cosh below 1e-3 (np.log(np.cosh(a)) itself loses digits there)
        a = magnitude
        expected = np.log(np.cosh(a)) if a > 1e-3 else a**2 / 2 - a**4 / 12 + a**6 / 45
    else:
        expected = magnitude - np.log(2.0)  # + log1p(exp(-2a)) < 5e-18 relative
    np.testing.assert_allclose(value, [expected, expected], rtol=1e-14)


REGRESSION = {
    "mae": (mae_loss, mae_loss_grad, {}),
    "huber": (huber_loss, huber_loss_grad, {"delta": 0.7}),
    "log_cosh": (log_cosh_loss, log_cosh_loss_grad, {}),
    "quantile": (quantile_loss, quantile_loss_grad, {"quantile": 0.3}),
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(pair=pairs(), seed=st.integers(0, 99))
def test_grad_matches_central_differences(name, reduction, pair, seed):
    value, grad, kwargs = REGRESSION[name]
    predictions, targets = pair
    # keep residuals away from the kinks (0 for mae/quantile, +-delta for huber) by more than h
    residual = predictions - targets
    predictions = np.where(np.abs(residual) < 1e-2, targets + 0.5, predictions)
    predictions = np.where(np.abs(np.abs(predictions - targets) - 0.7) < 1e-2, targets + 0.5, predictions)
    upstream = np.random.default_rng(seed).standard_normal(predictions.shape if reduction == "none" else ())

    def scalar(p):
        return float(np.sum(upstream * value(p, targets, **kwargs, reduction=reduction)))

    fd = central_difference(scalar, predictions, h=1e-5)
    np.testing.assert_allclose(
        grad(predictions, targets, **kwargs, reduction=reduction, grad_output=upstream), fd, rtol=1e-5, atol=1e-6
    )


def test_several_quantiles_grad_matches_central_differences():
    rng = np.random.default_rng(0)
    predictions, targets, levels = rng.standard_normal((4, 3)), rng.standard_normal(4), [0.1, 0.5, 0.95]
    fd = central_difference(lambda p: float(quantile_loss(p, targets, levels, "sum")), predictions, h=1e-6)
    np.testing.assert_allclose(quantile_loss_grad(predictions, targets, levels, "sum"), fd, rtol=1e-6, atol=1e-8)


def test_grad_at_kinks():
    assert mae_loss_grad(np.zeros(1), np.zeros(1), "sum")[0] == 0.0
    assert quantile_loss_grad(np.zeros(1), np.zeros(1), 0.9, "sum")[0] == -0.9  # the derivative from below


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: huber_loss(np.zeros(2), np.zeros(2), delta=0.0), r"delta must be a finite number > 0; got 0.0"),
        (lambda: huber_loss(np.zeros(2), np.zeros(2), delta=-1), r"delta must be a finite number > 0; got -1"),
        (
            lambda: quantile_loss(np.zeros(2), np.zeros(2), 1.0),
            r"quantile must be in the open interval \(0, 1\); got 1.0",
        ),
        (
            lambda: quantile_loss(np.zeros((2, 2)), np.zeros(2), [0.5, 0.0]),
            r"quantile must be in the open interval \(0, 1\); got 0.0 at index 1",
        ),
        (
            lambda: quantile_loss(np.zeros((2, 3)), np.zeros(2), [0.1, 0.9]),
            r"with 2 quantiles, predictions must have shape targets.shape \+ \(2,\); got predictions \(2, 3\)",
        ),
        (lambda: log_cosh_loss(np.zeros(2), np.zeros(3)), r"predictions \(2,\) and targets \(3,\)"),
    ],
)
def test_bad_inputs_name_argument_value_and_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()
