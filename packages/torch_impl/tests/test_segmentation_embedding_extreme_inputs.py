"""Segmentation, embedding and KL losses: torch.autograd.gradcheck in float64, and extreme inputs
(saturated logits, all pixels ignored, empty batches, probabilities at 0 and 1), each with its
documented result."""

import pytest
import torch

from lossopt import functional as F

G = torch.Generator().manual_seed(0)


def _randn(*shape):
    return torch.randn(*shape, generator=G, dtype=torch.float64)


def _segmentation(mode):
    if mode == "multiclass":
        return _randn(2, 3, 4), torch.randint(0, 3, (2, 4), generator=G)
    shape = (2, 5) if mode == "binary" else (2, 3, 4)
    return _randn(*shape), torch.rand(*shape, generator=G, dtype=torch.float64)


SEGMENTATION = {
    "dice": (F.dice_loss, {}),
    "iou": (F.iou_loss, {}),
    "tversky": (F.tversky_loss, {"gamma": 0.75}),
    "bce_dice": (F.bce_dice_loss, {}),
    "focal_dice": (F.focal_dice_loss, {"alpha": 0.25}),
}


# bce_dice and focal_dice take the sigmoid modes only (their multiclass error is tested elsewhere)
GRADCHECK = [
    (name, mode)
    for name in sorted(SEGMENTATION)
    for mode in ("binary", "multilabel", "multiclass")
    if not (name in ("bce_dice", "focal_dice") and mode == "multiclass")
]


@pytest.mark.parametrize(("name", "mode"), GRADCHECK, ids=[f"{n}-{m}" for n, m in GRADCHECK])
@pytest.mark.parametrize("batch", [False, True])
def test_segmentation_gradcheck(name, mode, batch):
    fn, kwargs = SEGMENTATION[name]
    logits, targets = _segmentation(mode)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: fn(x, targets, mode=mode, batch=batch, reduction="none", **kwargs), (logits,), fast_mode=True
    )


@pytest.mark.parametrize("mode", ["supcon", "margin"])
def test_contrastive_gradcheck(mode):
    embeddings = _randn(6, 3).requires_grad_()
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    assert torch.autograd.gradcheck(
        lambda e: F.contrastive_loss(e, labels, mode=mode, reduction="none"), (embeddings,), fast_mode=True
    )


def test_triplet_cosine_kl_gradcheck():
    a, p, n = (_randn(4, 3).requires_grad_() for _ in range(3))
    assert torch.autograd.gradcheck(
        lambda *v: F.triplet_loss(*v, swap=True, reduction="none"), (a, p, n), fast_mode=True
    )
    assert torch.autograd.gradcheck(lambda *v: F.triplet_loss(*v, p=3.0, reduction="none"), (a, p, n), fast_mode=True)
    y = torch.tensor([1, -1, 1, -1])
    assert torch.autograd.gradcheck(lambda u, v: F.cosine_embedding_loss(u, v, y, -0.2, "none"), (a, p), fast_mode=True)
    target = torch.softmax(_randn(4, 3), dim=1)
    log_q = torch.log_softmax(_randn(4, 3), dim=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: F.kl_divergence_loss(x, target, "none"), (log_q,), fast_mode=True)


@pytest.mark.parametrize("name", sorted(SEGMENTATION))
def test_logits_of_1e4_give_finite_values_and_gradients(name):
    fn, kwargs = SEGMENTATION[name]
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    for sign in (1.0, -1.0):  # right and confidently wrong
        logits = (sign * 1e4 * (2 * targets - 1)).requires_grad_()
        value = fn(logits, targets, **kwargs)
        (grad,) = torch.autograd.grad(value, logits)
        assert torch.isfinite(value), (name, sign)
        assert torch.isfinite(grad).all(), (name, sign)
    # right: loss ~0; wrong: Dice loss ~1 (the pixel terms add ~1e4 for BCE)
    assert float(F.dice_loss(1e4 * (2 * targets - 1), targets)) < 1e-6
    assert float(F.dice_loss(-1e4 * (2 * targets - 1), targets)) > 1 - 1e-6


@pytest.mark.parametrize("name", ["dice", "iou", "tversky"])
def test_all_pixels_ignored_gives_zero_loss_and_zero_gradient(name):
    # I = P = T = 0 for every class: (0 + s) / (0 + s) = 1, loss 0 (smooth > 0); documented, not a crash
    fn, kwargs = SEGMENTATION[name]
    logits = _randn(2, 3, 4).requires_grad_()
    targets = torch.full((2, 4), 255)
    value = fn(logits, targets, mode="multiclass", ignore_index=255, **kwargs)
    (grad,) = torch.autograd.grad(value, logits)
    assert float(value.detach()) == 0.0
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("name", sorted(SEGMENTATION))
def test_empty_batch_sums_to_zero_and_its_mean_is_nan(name):
    # as torch's own losses: the sum over no samples is 0, the mean over no samples is NaN
    fn, kwargs = SEGMENTATION[name]
    logits = torch.zeros(0, 2, 3, requires_grad=True)
    targets = torch.zeros(0, 2, 3)
    assert fn(logits, targets, mode="multilabel", reduction="none", **kwargs).shape == (0, 2)
    total = fn(logits, targets, mode="multilabel", reduction="sum", **kwargs)
    assert float(total.detach()) == 0.0
    total.backward()
    assert torch.isnan(fn(logits, targets, mode="multilabel", reduction="mean", **kwargs))


def test_empty_batches_of_the_embedding_losses():
    assert float(F.triplet_loss(*torch.zeros(3, 0, 4), reduction="sum")) == 0.0
    assert torch.isnan(F.cosine_embedding_loss(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))
    assert torch.isnan(F.kl_divergence_loss(torch.zeros(0, 3), torch.zeros(0, 3)))  # batchmean: 0 / 0
    with pytest.raises(ValueError, match=r"at least 2 samples to form pairs; got N=0"):
        F.contrastive_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


def test_kl_with_target_probabilities_at_zero_and_one():
    log_q = torch.log_softmax(_randn(2, 3), dim=1).requires_grad_()
    target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    value = F.kl_divergence_loss(log_q, target)
    (grad,) = torch.autograd.grad(value, log_q)
    # one-hot targets: KL = -log q of the target class, averaged over the batch
    expected = -(log_q[0, 0] + log_q[1, 2]) / 2
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(grad, -target / 2)
