"""The spec's linear cross-entropy: cross-entropy of x W^T + b, hand values, finite differences, edge cases."""

import math

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st

from lossopt_spec.losses import (
    cross_entropy_loss,
    cross_entropy_loss_grad,
    linear_cross_entropy_loss,
    linear_cross_entropy_loss_grad,
)

REDUCTIONS = ("none", "mean", "sum")


@st.composite
def projections(draw, max_n=5, ignored=True):
    """(x, W, b, t, class weights) with N in [1, max_n], D in [1, 4], V in [2, 6]; about 1 in 5 targets ignored."""
    n, d, v = draw(st.integers(1, max_n)), draw(st.integers(1, 4)), draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, w_lin, b = rng.standard_normal((n, d)), rng.standard_normal((v, d)), rng.standard_normal(v)
    t = rng.integers(0, v, n)
    if ignored:
        t[rng.random(n) < 0.2] = -100
    return x, w_lin, b, t, rng.uniform(0.2, 2.0, v)


def _chain_rule(x, w_lin, grad_logits):
    """(grad x, grad W, grad b) of a loss of z = x W^T + b from its gradient w.r.t. z."""
    return grad_logits @ w_lin, grad_logits.T @ x, grad_logits.sum(axis=0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(case=projections(), smoothing=st.sampled_from([0.0, 0.3]), weighted=st.booleans())
def test_without_extras_it_is_the_specs_cross_entropy_of_the_logits(reduction, case, smoothing, weighted):
    x, w_lin, b, t, w = case
    w = w if weighted else None
    logits = x @ w_lin.T + b
    kwargs = {"weight": w, "reduction": reduction, "label_smoothing": smoothing}
    expected = cross_entropy_loss(logits, t, w, -100, reduction, smoothing)
    actual = linear_cross_entropy_loss(x, w_lin, t, linear_bias=b, **kwargs)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)
    if reduction == "mean" and np.all(t == -100):
        return  # NaN value, zero gradients: tested below
    upstream = np.random.default_rng(0).standard_normal(np.shape(expected))
    grad_logits = cross_entropy_loss_grad(logits, t, w, -100, reduction, smoothing, grad_output=upstream)
    grads = linear_cross_entropy_loss_grad(x, w_lin, t, linear_bias=b, **kwargs, grad_output=upstream)
    for got, want in zip(grads, _chain_rule(x, w_lin, grad_logits), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(
    case=projections(max_n=4),
    smoothing=st.sampled_from([0.0, 0.2]),
    softcap=st.sampled_from([None, 0.7, 3.0]),
    z_loss=st.sampled_from([0.0, 0.3]),
    weighted=st.booleans(),
    seed=st.integers(0, 99),
)
def test_all_three_gradients_match_central_differences(reduction, case, smoothing, softcap, z_loss, weighted, seed):
    x, w_lin, b, t, w = case
    if reduction == "mean" and np.all(t == -100):
        return  # NaN over nothing: tested below
    kwargs = {
        "weight": w if weighted else None,
        "reduction": reduction,
        "label_smoothing": smoothing,
        "softcap": softcap,
        "z_loss": z_loss,
    }
    upstream = np.random.default_rng(seed).standard_normal(x.shape[:1] if reduction == "none" else ())

    def scalar(x_=x, w_=w_lin, b_=b):
        return float(np.sum(upstream * linear_cross_entropy_loss(x_, w_, t, linear_bias=b_, **kwargs)))

    grads = linear_cross_entropy_loss_grad(x, w_lin, t, linear_bias=b, **kwargs, grad_output=upstream)
    differences = (
        central_difference(lambda v: scalar(x_=v), x),
        central_difference(lambda v: scalar(w_=v), w_lin),
        central_difference(lambda v: scalar(b_=v), b),
    )
    for got, want in zip(grads, differences, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-7)


def test_softcap_hand_value():
    # x = 1, W = (2, 0)^T, c = 1: s = (tanh 2, 0); target 0: lse - s_0 = log(1 + exp(-tanh 2))
    x, w_lin = np.array([[1.0]]), np.array([[2.0], [0.0]])
    expected = math.log1p(math.exp(-math.tanh(2.0)))
    actual = linear_cross_entropy_loss(x, w_lin, np.array([0]), softcap=1.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-15)
    # ds_0/dz_0 = 1 - tanh^2 2; dl/ds_0 = p_0 - 1 = -1 / (1 + exp(tanh 2)); z_0 = 2 x, so dl/dx = 2 dl/dz_0
    dl_dz0 = -(1.0 - math.tanh(2.0) ** 2) / (1.0 + math.exp(math.tanh(2.0)))
    grad_x, grad_w, grad_b = linear_cross_entropy_loss_grad(x, w_lin, np.array([0]), softcap=1.0)
    np.testing.assert_allclose(grad_x, [[2.0 * dl_dz0]], rtol=1e-14)
    np.testing.assert_allclose(grad_w[0], [dl_dz0], rtol=1e-14)
    assert grad_b is None


def test_softcap_bounds_the_logits_and_vanishes_for_a_large_cap():
    # logits (100, 0), c = 5: s = (5 tanh 20, 0) ~ (5, 0): target 1 costs about log(1 + e^5), not 100
    x, w_lin = np.array([[1.0]]), np.array([[100.0], [0.0]])
    np.testing.assert_allclose(
        linear_cross_entropy_loss(x, w_lin, np.array([1]), softcap=5.0), math.log1p(math.exp(5 * math.tanh(20.0)))
    )
    rng = np.random.default_rng(1)
    x, w_lin, t = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.integers(0, 5, 4)
    np.testing.assert_allclose(
        linear_cross_entropy_loss(x, w_lin, t, softcap=1e6), linear_cross_entropy_loss(x, w_lin, t), rtol=1e-10
    )


def test_z_loss_hand_values_and_its_mean_counts_tokens_not_weights():
    # logits (0, log 3): lse = log 4; target 1: -log(3/4) + alpha log^2 4
    x, w_lin = np.array([[1.0]]), np.array([[0.0], [math.log(3.0)]])
    alpha = 0.1
    value = linear_cross_entropy_loss(x, w_lin, np.array([1]), z_loss=alpha)
    np.testing.assert_allclose(value, -math.log(0.75) + alpha * math.log(4.0) ** 2, rtol=1e-15)
    # d(alpha lse^2)/dz = 2 alpha lse p with p = (1/4, 3/4); the CE part: p - e_1 = (1/4, -1/4); dz/dW = x = 1
    _, grad_w, _ = linear_cross_entropy_loss_grad(x, w_lin, np.array([1]), z_loss=alpha)
    p = np.array([0.25, 0.75])
    np.testing.assert_allclose(grad_w[:, 0], p - [0, 1] + 2 * alpha * math.log(4.0) * p, rtol=1e-14)
    # two tokens, one ignored, class weights (3, 5): CE mean over w_t = 5, z mean over n = 1 kept token
    t = np.array([1, -100])
    weights = np.array([3.0, 5.0])
    value = linear_cross_entropy_loss(np.array([[1.0], [2.0]]), w_lin, t, weight=weights, z_loss=alpha)
    np.testing.assert_allclose(value, 5 * -math.log(0.75) / 5 + alpha * math.log(4.0) ** 2, rtol=1e-15)
    none = linear_cross_entropy_loss(np.array([[1.0], [2.0]]), w_lin, t, weight=weights, z_loss=alpha, reduction="none")
    np.testing.assert_allclose(none, [5 * -math.log(0.75) + alpha * math.log(4.0) ** 2, 0.0], rtol=1e-15)


def test_every_token_ignored_gives_nan_mean_zero_sum_and_zero_gradients():
    rng = np.random.default_rng(2)
    x, w_lin, b, t = rng.standard_normal((3, 2)), rng.standard_normal((4, 2)), rng.standard_normal(4), np.full(3, -100)
    for z_loss in (0.0, 0.5):
        kwargs = {"linear_bias": b, "z_loss": z_loss, "label_smoothing": 0.1}
        assert np.isnan(linear_cross_entropy_loss(x, w_lin, t, **kwargs))
        assert linear_cross_entropy_loss(x, w_lin, t, reduction="sum", **kwargs) == 0.0
        np.testing.assert_array_equal(linear_cross_entropy_loss(x, w_lin, t, reduction="none", **kwargs), 0.0)
        for grad in linear_cross_entropy_loss_grad(x, w_lin, t, **kwargs):
            np.testing.assert_array_equal(grad, 0.0)
    assert np.isnan(linear_cross_entropy_loss(np.zeros((0, 2)), w_lin, np.zeros(0, dtype=np.int64)))
    grads = linear_cross_entropy_loss_grad(np.zeros((0, 2)), w_lin, np.zeros(0, dtype=np.int64), reduction="sum")
    assert grads[0].shape == (0, 2)
    np.testing.assert_array_equal(grads[1], np.zeros((4, 2)))


def test_one_unbatched_token_and_one_class():
    rng = np.random.default_rng(3)
    x, w_lin = rng.standard_normal(3), rng.standard_normal((4, 3))
    value = linear_cross_entropy_loss(x, w_lin, np.array(2), reduction="none")
    assert value.shape == ()
    np.testing.assert_allclose(value, cross_entropy_loss(w_lin @ x, np.array(2)), rtol=1e-12, atol=1e-15)
    grad_x, _, _ = linear_cross_entropy_loss_grad(x, w_lin, np.array(2), reduction="none", grad_output=np.array(2.0))
    assert grad_x.shape == (3,)
    # V = 1: p = 1, so the CE is 0 with gradient 0; the z-loss alone: alpha z^2, dz-gradient 2 alpha z
    x, w_lin = np.array([[2.0]]), np.array([[1.5]])
    assert linear_cross_entropy_loss(x, w_lin, np.array([0])) == 0.0
    np.testing.assert_allclose(linear_cross_entropy_loss(x, w_lin, np.array([0]), z_loss=0.1), 0.1 * 9.0)
    grad_x, grad_w, _ = linear_cross_entropy_loss_grad(x, w_lin, np.array([0]), z_loss=0.1)
    np.testing.assert_allclose([grad_x[0, 0], grad_w[0, 0]], [2 * 0.1 * 3.0 * 1.5, 2 * 0.1 * 3.0 * 2.0])


X, W, T = np.zeros((2, 3)), np.zeros((4, 3)), np.array([0, 1])
BAD = [
    ({"input": np.zeros((2, 3, 1))}, "input must have shape (N, D) or (D,); got input (2, 3, 1)"),
    ({"linear_weight": np.zeros((4, 2))}, "with D = 3 for input (2, 3); got linear_weight (4, 2)"),
    ({"linear_weight": np.zeros((0, 3))}, "at least one row (class); got linear_weight (0, 3)"),
    ({"linear_bias": np.zeros(3)}, "linear_bias must have shape (V,) = (4,) for linear_weight (4, 3); got"),
    ({"weight": np.zeros(5)}, "weight must have shape (V,) = (4,) for linear_weight (4, 3); got (5,)"),
    ({"target": np.zeros(2)}, "target must be class indices (an integer array;"),
    ({"target": np.zeros(3, dtype=np.int64)}, "target must have shape (2,) for input (2, 3); got target (3,)"),
    ({"target": np.array([0, 4])}, "in [0, 4) or ignore_index=-100; got 4 at index (1,)"),
    ({"target": np.array([-1, 0])}, "got -1 at index (0,)"),
    ({"reduction": "batchmean"}, "reduction must be one of"),
    ({"label_smoothing": 1.5}, "label_smoothing must be a number in [0, 1]; got 1.5"),
    ({"softcap": 0.0}, "softcap must be None or a finite number > 0; got 0.0"),
    ({"softcap": math.inf}, "softcap must be None or a finite number > 0; got inf"),
    ({"z_loss": -1e-4}, "z_loss must be a finite number >= 0; got -0.0001"),
    ({"chunk_size": 0}, "chunk_size must be None or an integer >= 1; got 0"),
    ({"chunk_size": 2.0}, "chunk_size must be None or an integer >= 1; got 2.0"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_inputs_name_the_argument_and_both_shapes(change, message):
    arguments = {"input": X, "linear_weight": W, "target": T, **change}
    for fn in (linear_cross_entropy_loss, linear_cross_entropy_loss_grad):
        with pytest.raises(ValueError) as error:
            fn(**arguments)
        assert message in str(error.value), str(error.value)
