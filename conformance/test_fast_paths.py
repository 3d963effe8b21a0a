"""The fast forms behind log-cosh, quantile, BCE + Dice and the sigmoid focal loss keep the spec's precision.

Expected values are float64 evaluations of the spec (lossopt_spec) or of the definitions in float64
torch. The log-cosh bounds (6 eps relative) fail for the cheap cancelling form
``a + log1p(exp(-2a)) - log 2`` (relative error 0.05 at a = 1e-3 in float32) and for ``2 sigmoid(2r) - 1``
as the gradient (600 eps at r = 1e-3); these tests sit in conformance/ because they import the spec and torch together.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from lossopt.functional import bce_dice_loss, log_cosh_loss, sigmoid_focal_loss
from lossopt.functional.regression import CHUNK
from lossopt.functional.segmentation import _bce_sums
from lossopt_spec.losses.classification import sigmoid_focal_loss_grad as spec_sigmoid_focal_grad
from lossopt_spec.losses.regression import log_cosh_loss as spec_log_cosh

EPS32 = float(torch.finfo(torch.float32).eps)


def _residuals() -> torch.Tensor:
    """|r| from 1e-8 to 1e4 on a log scale, both signs, 0, -0 and the clipping point 20 and its neighbours."""
    grid = torch.logspace(-8, 4, 4001, dtype=torch.float64)
    special = torch.tensor([0.0, -0.0, 19.9, 20.0, 20.1, 90.0, -90.0], dtype=torch.float64)
    return torch.cat([grid, -grid, special])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_cosh_value_and_gradient_keep_relative_precision_from_1e_8_to_1e4(dtype):
    r = _residuals()
    predictions = r.to(dtype).clone().requires_grad_()
    value = log_cosh_loss(predictions, torch.zeros_like(predictions), reduction="none")
    value.backward(torch.ones_like(value))
    exact = predictions.detach().double()  # the spec at the rounded inputs
    expected = torch.from_numpy(spec_log_cosh(exact.numpy(), np.zeros(len(r)), "none"))
    eps = float(torch.finfo(dtype).eps)
    nonzero = expected > 0
    value = value.detach()
    value_error = ((value.double() - expected).abs() / expected)[nonzero].max()
    grad_error = ((predictions.grad.double() - torch.tanh(exact)).abs() / torch.tanh(exact).abs())[nonzero].max()
    # measured: 2.4 eps (value) and 1.7 eps (gradient) in float32, 3 eps in float64
    assert value_error < 6 * eps, value_error
    assert grad_error < 6 * eps, grad_error
    assert float(value[~nonzero].abs().max()) == 0.0
    assert float(predictions.grad[~nonzero].abs().max()) == 0.0


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_log_cosh_over_several_blocks_matches_one_float64_pass(reduction):
    # 3 blocks and a remainder, a non-contiguous (transposed) input, residuals past the clipping point
    generator = torch.Generator().manual_seed(0)
    numel = 3 * CHUNK + 8
    base = 30 * torch.randn(numel // 8, 8, generator=generator)
    predictions = base.t().requires_grad_()  # (8, numel / 8), not contiguous
    targets = torch.randn(8, numel // 8, generator=generator)
    value = log_cosh_loss(predictions, targets, reduction=reduction)
    upstream = torch.rand(value.shape, generator=generator)
    value.backward(upstream)
    r = (predictions.detach() - targets).double()
    expected = torch.from_numpy(spec_log_cosh(r.numpy(), np.zeros(r.shape), reduction))
    torch.testing.assert_close(value.double(), expected, rtol=4 * EPS32, atol=0.0)
    scale = upstream.double() / (r.numel() if reduction == "mean" else 1)
    torch.testing.assert_close(predictions.grad.double(), scale * torch.tanh(r), rtol=6 * EPS32, atol=0.0)


def test_log_cosh_value_needs_no_gradient_buffer_and_equals_the_graded_value():
    predictions, targets = torch.randn(1000), torch.randn(1000)
    with torch.no_grad():
        plain = log_cosh_loss(predictions, targets)
    graded = log_cosh_loss(predictions.clone().requires_grad_(), targets)
    assert torch.equal(plain, graded.detach())


def _bce_sums_float64(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    x, t = x.double(), t.double()
    return (functional.softplus(x) - x * t).sum(dim=2)


@pytest.mark.parametrize("pixels", [65536, 4099, 7])  # blocks of 64, of 1 (odd), fewer pixels than a block
def test_bce_block_products_match_softplus_sums_in_float64(pixels):
    generator = torch.Generator().manual_seed(1)
    x = 6 * torch.randn(2, 3, pixels, generator=generator)
    x[0, 0, :3] = torch.tensor([1e4, -1e4, 0.0])[: min(3, pixels)]
    t = torch.randint(0, 2, (2, 3, pixels), generator=generator).float()
    t[1, 2] = torch.rand(pixels, generator=generator)  # soft labels
    ours = _bce_sums(x, t, torch.empty_like(x)).double()
    expected = _bce_sums_float64(x, t)
    # max(x, 0) - x t is formed per pixel (exact cancellation for confident logits); log sigma(|x|) keeps
    # ~eps per pixel: bound eps (sum |x| + n) per sum, as the softplus(x).sum() - (x t).sum() this replaces
    bound = EPS32 * (x.double().abs().sum(dim=2) + pixels)
    assert ((ours - expected).abs() <= bound).all(), ((ours - expected).abs() / bound).max()
    # relative: measured 1.0e-7 at most (the replaced form: 4e-5 on the sum holding +-1e4)
    torch.testing.assert_close(ours, expected, rtol=1e-6, atol=0.0)


def test_bce_dice_of_confident_correct_logits_is_the_dice_part_only():
    # BCE of +-1e4 logits on their own labels is 0 exactly: max(x, 0) - x t cancels, sigma(|x|) = 1
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    logits = 1e4 * (2 * targets - 1)
    assert float(bce_dice_loss(logits, targets, bce_weight=1.0, dice_weight=0.0)) == 0.0


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 1.0])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_sigmoid_focal_gradient_factor_matches_the_spec(gamma, alpha, reduction):
    generator = torch.Generator().manual_seed(2)
    x = torch.cat([4 * torch.randn(40, generator=generator, dtype=torch.float64), torch.tensor([40.0, -40.0, 0.0])])
    t = torch.cat([torch.randint(0, 2, (30,), generator=generator).double(), torch.rand(10, generator=generator)])
    t = torch.cat([t, torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)])
    predictions = x.clone().requires_grad_()
    value = sigmoid_focal_loss(predictions, t, alpha, gamma, reduction)
    upstream = torch.rand(value.shape, generator=generator, dtype=torch.float64)
    value.backward(upstream)
    expected = spec_sigmoid_focal_grad(
        x.numpy(),
        t.numpy(),
        alpha,
        gamma,
        reduction,
        grad_output=upstream.numpy() if reduction == "none" else float(upstream),
    )
    torch.testing.assert_close(predictions.grad, torch.from_numpy(np.asarray(expected)), rtol=1e-10, atol=1e-12)


def test_sigmoid_focal_without_gradient_gives_the_same_value_and_twice_the_same_gradient():
    x, t = torch.randn(64), torch.rand(64)
    with torch.no_grad():
        plain = sigmoid_focal_loss(x, t, gamma=1.5)
    predictions = x.clone().requires_grad_()
    value = sigmoid_focal_loss(predictions, t, gamma=1.5)
    assert torch.equal(plain, value.detach())
    (first,) = torch.autograd.grad(value, predictions, retain_graph=True)
    (second,) = torch.autograd.grad(value, predictions)
    assert torch.equal(first, second)
