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
