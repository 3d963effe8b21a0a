"""mae, huber, log-cosh and quantile losses: torch references, extreme inputs, half precision, checks."""

import math

import pytest
import torch
from torch.nn import functional

from lossopt import HuberLoss, LogCoshLoss, MAELoss, QuantileLoss, create_loss_function
from lossopt.functional import huber_loss, log_cosh_loss, mae_loss, quantile_loss, value_checks


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_and_mae_equal_torch_value_and_gradient(reduction, delta):
    generator = torch.Generator().manual_seed(0)
    predictions = (3 * torch.randn(6, 5, generator=generator, dtype=torch.float64)).requires_grad_()
    targets = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    for ours, theirs in [
        (
            huber_loss(predictions, targets, delta, reduction),
            functional.huber_loss(predictions, targets, reduction, delta),
        ),
        (mae_loss(predictions, targets, reduction), functional.l1_loss(predictions, targets, reduction=reduction)),
    ]:
        torch.testing.assert_close(ours, theirs)
        upstream = torch.randn(ours.shape, generator=generator, dtype=torch.float64)
        torch.testing.assert_close(
            torch.autograd.grad(ours, predictions, upstream)[0], torch.autograd.grad(theirs, predictions, upstream)[0]
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_log_cosh_is_finite_at_90_and_1e4_in_every_float_dtype(dtype, reduction):
    predictions = torch.tensor([90.0, -90.0, 1e4, -1e4, 0.0], dtype=dtype, requires_grad=True)
    value = log_cosh_loss(predictions, torch.zeros(5, dtype=dtype), reduction)
    assert value.dtype == dtype
    assert torch.isfinite(value).all(), value
    value.backward(torch.ones_like(value))
    assert torch.isfinite(predictions.grad).all()
    assert predictions.grad[:4].float().abs().tolist() == [1.0, 1.0, 1.0, 1.0]  # tanh saturates, no NaN
    if reduction == "none":  # a - log 2 for a >= 20, in the dtype's precision
        expected = [90 - math.log(2), 90 - math.log(2), 1e4 - math.log(2), 1e4 - math.log(2), 0.0]
        torch.testing.assert_close(value.double(), torch.tensor(expected, dtype=torch.float64), rtol=1e-2, atol=0)


def test_log_cosh_keeps_relative_precision_for_small_float32_residuals():
    # a = 1e-3: log cosh a = a^2/2 - a^4/12 = 4.9999991667e-07; a + log1p(exp(-2a)) - log 2 in float32 is 15% off
    value = log_cosh_loss(torch.tensor([1e-3]), torch.zeros(1), "sum")
    assert float(value) == pytest.approx(4.9999991667e-07, rel=1e-6)


def test_quantile_several_levels_as_list_or_tensor_give_one_loss_per_quantile():
    predictions = torch.tensor([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]], requires_grad=True)
    targets = torch.tensor([1.0, 1.0])
    levels = [0.1, 0.5, 0.9]
    expected = torch.tensor([[0.1, 0.5, 0.9], [0.9, 0.5, 0.1]])  # u = +1: q; u = -1: 1 - q
    torch.testing.assert_close(quantile_loss(predictions, targets, levels, "none"), expected)
    torch.testing.assert_close(quantile_loss(predictions, targets, torch.tensor(levels), "none"), expected)
    quantile_loss(predictions, targets, levels, "sum").backward()
    # d/dy_hat: -q below the target, 1 - q above it
    torch.testing.assert_close(predictions.grad, torch.tensor([[-0.1, -0.5, -0.9], [0.9, 0.5, 0.1]]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_reduce_in_float32(dtype):
    predictions = torch.full((256, 256), 200.0, dtype=dtype)  # sums of 65536 * ~200 overflow float16
    targets = torch.zeros(256, 256, dtype=dtype)
    for fn in (mae_loss, huber_loss, log_cosh_loss, quantile_loss):
        total = fn(predictions, targets, reduction="mean")
        assert total.dtype == dtype
        assert torch.isfinite(total), fn.__name__


@pytest.mark.parametrize("fn", [log_cosh_loss, quantile_loss])
def test_backward_twice_with_retain_graph_gives_the_same_gradient(fn):
    predictions = torch.randn(7, requires_grad=True)
    value = fn(predictions, torch.randn(7), reduction="mean")
    (first,) = torch.autograd.grad(value, predictions, retain_graph=True)
    (second,) = torch.autograd.grad(value, predictions)
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_gradcheck_float64():
    generator = torch.Generator().manual_seed(1)
    predictions = torch.randn(5, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    targets = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    for reduction in ("none", "mean"):
        assert torch.autograd.gradcheck(lambda p, r=reduction: log_cosh_loss(p, targets, r), (predictions,))
        assert torch.autograd.gradcheck(lambda p, r=reduction: quantile_loss(p, targets, 0.3, r), (predictions,))
        assert torch.autograd.gradcheck(
            lambda p, r=reduction: quantile_loss(p, targets[:, 0], [0.1, 0.5, 0.8], r), (predictions,)
        )


def test_empty_batch_sums_to_zero_and_means_to_nan_as_torch():
    for fn in (mae_loss, huber_loss, log_cosh_loss, quantile_loss):
        empty = torch.zeros(0)
        assert float(fn(empty, torch.zeros(0), reduction="sum")) == 0.0
        assert math.isnan(float(fn(empty, torch.zeros(0), reduction="mean")))
        assert fn(empty, torch.zeros(0), reduction="none").shape == (0,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: huber_loss(torch.zeros(2), torch.zeros(2), delta=0.0), r"delta must be a finite number > 0; got 0.0"),
        (lambda: HuberLoss(delta=-1.0), r"delta must be a finite number > 0; got -1.0"),
        (lambda: quantile_loss(torch.zeros(2), torch.zeros(2), 0.0), r"in the open interval \(0, 1\); got 0.0"),
        (lambda: QuantileLoss(quantile=[0.5, 1.2]), r"in the open interval \(0, 1\); got 1.2 at index 1"),
        (
            lambda: quantile_loss(torch.zeros(2, 2), torch.zeros(2), torch.tensor([[0.5]])),
            r"quantile must be a number or a 1-D sequence of numbers; got shape \(1, 1\)",
        ),
        (
            lambda: quantile_loss(torch.zeros(2, 3), torch.zeros(2), [0.1, 0.9]),
            r"with 2 quantiles, predictions must have shape targets.shape \+ \(2,\); got predictions \(2, 3\)",
        ),
        (lambda: log_cosh_loss(torch.zeros(2, 1), torch.zeros(2)), r"predictions \(2, 1\) and targets \(2,\)"),
        (lambda: mae_loss(torch.zeros(2), torch.zeros(2), "avg"), r"reduction must be one of .*; got 'avg'"),
    ],
)
def test_bad_inputs_name_argument_value_and_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_quantile_tensor_levels_are_checked_under_the_value_check_policy():
    levels = torch.tensor([0.5, 1.5])
    with pytest.raises(ValueError, match=r"got 1.5 at index 1"):
        quantile_loss(torch.zeros(2, 2), torch.zeros(2), levels)
    with value_checks("never"):
        quantile_loss(torch.zeros(2, 2), torch.zeros(2), levels)


def test_modules_and_factory():
    assert isinstance(create_loss_function("mae"), MAELoss)
    assert repr(create_loss_function("huber", delta=2.0)) == "HuberLoss(delta=2.0, reduction='mean')"
    assert isinstance(create_loss_function("log-cosh", reduction="sum"), LogCoshLoss)
    module = create_loss_function("quantile", quantile=[0.1, 0.9], reduction="none")
    assert repr(module) == "QuantileLoss(quantile=[0.1, 0.9], reduction='none')"
    predictions, targets = torch.randn(4, 2), torch.randn(4)
    torch.testing.assert_close(module(predictions, targets), quantile_loss(predictions, targets, [0.1, 0.9], "none"))
