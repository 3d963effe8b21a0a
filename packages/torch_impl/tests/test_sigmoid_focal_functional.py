"""lossopt.functional.sigmoid_focal_loss and SigmoidFocalLoss: torchvision's formula, finite gradients, checks."""

import pytest
import torch
from torch.nn import functional

from lossopt import SigmoidFocalLoss, create_loss_function
from lossopt.functional import set_value_checks, sigmoid_focal_loss, value_checks


def torchvision_sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (reduction 'none'), copied line for line."""
    p = torch.sigmoid(x)
    ce_loss = functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


@pytest.mark.parametrize("gamma", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [0.25, -1.0])
def test_matches_torchvision_where_its_gradient_is_finite(gamma, alpha):
    generator = torch.Generator().manual_seed(0)
    x = (4 * torch.randn(64, 3, generator=generator, dtype=torch.float64)).requires_grad_()
    t = torch.randint(0, 2, (64, 3), generator=generator).double()
    ours = sigmoid_focal_loss(x, t, None if alpha < 0 else alpha, gamma, "none")
    theirs = torchvision_sigmoid_focal_loss(x, t, alpha, gamma)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(torch.autograd.grad(ours.sum(), x)[0], torch.autograd.grad(theirs.sum(), x)[0])


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5])
def test_gradient_is_finite_for_gamma_below_one_where_p_t_is_one(gamma):
    # float32 sigmoid(+-20) rounds p_t to 1: torchvision's autograd gives NaN for gamma in (0, 1)
    x = torch.tensor([20.0, -20.0, 1e4, -1e4, 0.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    sigmoid_focal_loss(x, t, gamma=gamma, reduction="sum").backward()
    assert torch.isfinite(x.grad).all(), x.grad
    if 0 < gamma < 1:
        y = x.detach().clone().requires_grad_()
        torchvision_sigmoid_focal_loss(y, t, gamma=gamma).sum().backward()
        assert torch.isnan(y.grad[:4]).any()  # the defect this form avoids


def test_gradcheck_float64_with_hard_soft_and_saturated_targets():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.0, 40.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 0.3, 0.9, 1.0, 1.0], dtype=torch.float64)
    for gamma in (0.0, 0.5, 2.0):
        assert torch.autograd.gradcheck(lambda x, g=gamma: sigmoid_focal_loss(x, t, 0.25, g, "none"), (x,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_reduce_in_float32_and_return_the_input_dtype(dtype):
    x = torch.zeros(256, 256, dtype=dtype)
    t = torch.ones(256, 256, dtype=dtype)
    total = sigmoid_focal_loss(x, t, alpha=None, gamma=0.0, reduction="sum")  # 65536 log 2 = 45426 > 2^15
    assert total.dtype == dtype
    assert float(total) == pytest.approx(65536 * 0.6931471805599453, rel=1e-2)


def test_targets_outside_unit_interval_are_refused_on_cpu_and_checks_can_be_switched():
    x, t = torch.zeros(3), torch.tensor([0.0, 1.0, -0.5])
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\]; got -0.5 at index \(2,\)"):
        sigmoid_focal_loss(x, t)
    with value_checks("never"):
        assert torch.isfinite(sigmoid_focal_loss(x, t))
    with pytest.raises(ValueError, match=r"mode must be one of \('cpu', 'always', 'never'\); got 'sometimes'"):
        set_value_checks("sometimes")


def test_hyperparameter_errors_at_call_and_construction():
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got -0.5"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), gamma=-0.5)
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\] or None \(no weighting; torchvision's"):
        SigmoidFocalLoss(alpha=-1.0)
    with pytest.raises(ValueError, match=r"predictions \(2, 1\) and targets \(2,\)"):
        sigmoid_focal_loss(torch.zeros(2, 1), torch.zeros(2))


def test_module_and_factory():
    module = create_loss_function("sigmoid_focal", alpha=0.5, gamma=1.0, reduction="sum")
    assert isinstance(module, SigmoidFocalLoss)
    assert repr(module) == "SigmoidFocalLoss(alpha=0.5, gamma=1.0, reduction='sum')"
    x, t = torch.randn(5), torch.rand(5)
    torch.testing.assert_close(module(x, t), sigmoid_focal_loss(x, t, 0.5, 1.0, "sum"))
