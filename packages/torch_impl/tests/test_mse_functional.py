"""lossopt.functional.mse_loss and MSELoss against torch.nn.functional.mse_loss, and their checks."""

import pytest
import torch

from lossopt import MSELoss
from lossopt.functional import mse_loss


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_torch_value_and_gradient(reduction, dtype):
    generator = torch.Generator().manual_seed(0)
    predictions = torch.randn(4, 5, generator=generator, dtype=dtype, requires_grad=True)
    targets = torch.randn(4, 5, generator=generator, dtype=dtype)
    ours = mse_loss(predictions, targets, reduction)
    theirs = torch.nn.functional.mse_loss(predictions, targets, reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    upstream = torch.randn(ours.shape, generator=generator, dtype=dtype)
    (g_ours,) = torch.autograd.grad(ours, predictions, upstream)
    (g_theirs,) = torch.autograd.grad(theirs, predictions, upstream)
    torch.testing.assert_close(g_ours, g_theirs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_reduce_in_float32_and_return_the_input_dtype(dtype):
    # 512 * 512 squares of 64 sum to 1.07e9, far past float16's max (65504); the mean, 4096, is not
    predictions = torch.full((512, 512), 64.0, dtype=dtype)
    targets = torch.zeros(512, 512, dtype=dtype)
    total = mse_loss(predictions, targets, "mean")
    assert total.dtype == dtype
    assert float(total) == 4096.0  # 2^12: exact in both half formats


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"got predictions \(8, 1\) and targets \(8,\)"):
        mse_loss(torch.zeros(8, 1), torch.zeros(8))


def test_unknown_reduction_is_an_error_at_call_and_construction():
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\); got 'avg'"):
        mse_loss(torch.zeros(2), torch.zeros(2), "avg")
    with pytest.raises(ValueError, match=r"got 'avg'"):
        MSELoss(reduction="avg")


def test_integer_predictions_are_refused():
    with pytest.raises(TypeError, match=r"predictions must be a floating-point tensor; got dtype torch.int64"):
        mse_loss(torch.zeros(2, dtype=torch.long), torch.zeros(2))


def test_module_matches_functional():
    predictions, targets = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(MSELoss(reduction="sum")(predictions, targets), mse_loss(predictions, targets, "sum"))
    assert repr(MSELoss()) == "MSELoss(reduction='mean')"
