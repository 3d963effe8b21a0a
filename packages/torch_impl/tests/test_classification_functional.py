"""cross_entropy_loss, focal_loss, hinge_loss and their modules: torch references, memory, checks."""

import pytest
import torch
from torch.nn import functional

from lossopt import CrossEntropyLoss, FocalLoss, HingeLoss, create_loss_function
from lossopt.functional import cross_entropy_loss, focal_loss, hinge_loss, value_checks


def logits_and_targets(shape=(6, 5), seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    x = (3 * torch.randn(shape, generator=generator, dtype=dtype)).requires_grad_()
    t = torch.randint(0, shape[1], shape[:1] + shape[2:], generator=generator)
    return x, t


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 2)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_equals_torch_with_weights_ignored_targets_and_smoothing(shape, reduction):
    x, t = logits_and_targets(shape)
    t.view(-1)[0] = -100
    weight = torch.linspace(0.5, 2.0, shape[1], dtype=torch.float64)
    ours = cross_entropy_loss(x, t, weight, -100, reduction, 0.2)
    theirs = functional.cross_entropy(x, t, weight, ignore_index=-100, reduction=reduction, label_smoothing=0.2)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_with_gamma_zero_and_alpha_one_is_cross_entropy(reduction):
    x, t = logits_and_targets((64, 7))
    t[3] = -100
    ours = focal_loss(x, t, alpha=1.0, gamma=0.0, reduction=reduction)
    theirs = functional.cross_entropy(x, t, reduction=reduction)
    if reduction == "none":
        assert torch.equal(ours, theirs)  # elementwise: bit for bit
    torch.testing.assert_close(ours, theirs, rtol=1e-15, atol=1e-15)  # reduced: up to summation order
    upstream = torch.rand(ours.shape, dtype=torch.float64)
    torch.testing.assert_close(
        torch.autograd.grad(ours, x, upstream)[0], torch.autograd.grad(theirs, x, upstream)[0], rtol=1e-14, atol=1e-15
    )


def design_focal_loss(predictions, targets, alpha=1.0, gamma=2.0):
    """The original design's focal_loss, for contrast."""
    ce_loss = functional.cross_entropy(predictions, targets, reduction="none")
    pt = torch.exp(-ce_loss)
    return (alpha * (1 - pt) ** gamma * ce_loss).mean()


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9])
def test_focal_gradient_is_finite_for_gamma_below_one_where_the_design_gives_nan(gamma):
    x = torch.tensor([[30.0, 0.0, -5.0], [0.0, 1.0, 2.0]], requires_grad=True)  # p_t = 1 in float32
    t = torch.tensor([0, 2])
    (grad,) = torch.autograd.grad(focal_loss(x, t, gamma=gamma), x)
    assert torch.isfinite(grad).all(), grad
    (design,) = torch.autograd.grad(design_focal_loss(x, t, gamma=gamma), x)
    assert torch.isnan(design).any()


def test_gradcheck_focal_per_class_alpha_and_small_gamma():
    x, t = logits_and_targets((5, 4))
    alpha = torch.tensor([0.25, 1.0, 2.0, 0.5], dtype=torch.float64)
    for gamma in (0.0, 0.3, 2.0):
        assert torch.autograd.gradcheck(lambda x, g=gamma: focal_loss(x, t, alpha, g, "none"), (x,))


def saved_bytes(fn, *args):
    """Bytes of the distinct storages autograd saves between forward and backward."""
    storages = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn(*args)
    return sum(storages.values())


def test_focal_keeps_no_more_memory_for_backward_than_cross_entropy():
    x, t = logits_and_targets((256, 100), dtype=torch.float32)
    logits_bytes = x.numel() * x.element_size()
    focal, ce = saved_bytes(focal_loss, x, t), saved_bytes(functional.cross_entropy, x, t)
    assert focal <= ce + logits_bytes  # the bound: within one logits-sized buffer
    # measured: both keep log p (102400 B); beyond it cross-entropy keeps the targets, focal the targets with
    # ignored ones replaced and the mask of counted ones: at most 9 bytes per target, nothing per logit
    assert focal <= ce + 9 * t.numel()


def test_class_index_range_is_checked_on_cpu_and_the_check_can_be_turned_off():
    x, t = torch.zeros(2, 3), torch.tensor([0, 7])
    for fn in (cross_entropy_loss, focal_loss, hinge_loss):
        with pytest.raises(ValueError, match=r"targets must be class indices in \[0, 3\).*; got 7 at index \(1,\)"):
            fn(x, t)
    with value_checks("never"), pytest.raises((IndexError, RuntimeError)):  # torch's own error then
        cross_entropy_loss(x, t)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_logits_are_computed_in_float32_and_returned_in_their_dtype(dtype):
    x, t = logits_and_targets((8, 5), dtype=torch.float32)
    for fn in (cross_entropy_loss, focal_loss, hinge_loss):
        half = fn(x.detach().to(dtype), t)
        assert half.dtype == dtype
        torch.testing.assert_close(half.float(), fn(x.detach().to(dtype).float(), t), rtol=1e-2, atol=1e-2)


def test_unbatched_logits():
    x, t = logits_and_targets((1, 5))
    torch.testing.assert_close(cross_entropy_loss(x[0], t[0]), functional.cross_entropy(x[0], t[0]))
    torch.testing.assert_close(
        focal_loss(x[0], t[0], gamma=0.0, reduction="none"), functional.cross_entropy(x[0], t[0])
    )


def test_hinge_binary_label_conventions_agree_and_multiclass_is_crammer_singer():
    x = torch.tensor([0.3, -2.0, 1.5])
    torch.testing.assert_close(
        hinge_loss(x, torch.tensor([1.0, 0.0, 0.0])), hinge_loss(x, torch.tensor([1.0, -1.0, -1.0]))
    )
    scores, t = torch.tensor([[2.0, 1.5, -1.0], [0.0, 3.0, 2.5]]), torch.tensor([0, 2])
    # 1 + 1.5 - 2 = 0.5; 1 + 3 - 2.5 = 1.5 (only the strongest rival counts)
    torch.testing.assert_close(hinge_loss(scores, t, reduction="none"), torch.tensor([0.5, 1.5]))


def test_modules_keep_tensors_as_buffers_and_the_factory_builds_them():
    weight = torch.tensor([1.0, 2.0, 0.5])
    ce = create_loss_function("cross_entropy", weight=weight, label_smoothing=0.1)
    assert isinstance(ce, CrossEntropyLoss)
    assert "weight" in dict(ce.named_buffers())
    focal = create_loss_function("focal", alpha=weight, gamma=1.0)
    assert isinstance(focal, FocalLoss)
    assert "alpha" in dict(focal.named_buffers())
    assert repr(focal) == "FocalLoss(alpha=tensor, gamma=1.0, reduction='mean', ignore_index=-100)"
    assert repr(create_loss_function("hinge", margin=0.5)) == "HingeLoss(margin=0.5, reduction='mean')"
    x, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(focal(x, t), focal_loss(x, t, weight, 1.0))
    torch.testing.assert_close(ce(x, t), cross_entropy_loss(x, t, weight, label_smoothing=0.1))
    assert isinstance(HingeLoss(), HingeLoss)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CrossEntropyLoss(label_smoothing=2.0), r"label_smoothing must be a number in \[0, 1\]; got 2.0"),
        (lambda: FocalLoss(gamma=-1.0), r"gamma must be a finite number >= 0; got -1.0"),
        (lambda: FocalLoss(alpha=-0.5), r"alpha must be a finite number >= 0 or a \(C,\) array of them; got -0.5"),
        (lambda: HingeLoss(margin=-1.0), r"margin must be a finite number >= 0; got -1.0"),
        (lambda: CrossEntropyLoss(reduction="avg"), r"reduction must be one of .*; got 'avg'"),
    ],
)
def test_module_arguments_are_validated_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()
