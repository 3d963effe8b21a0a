"""Dice / IoU / Tversky / BCE+Dice invariants on the torch side, memory and half precision, errors on both sides."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.loss_harness import spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.strategies.segmentation import segmentation_inputs
from lossopt import functional as F

OVERLAP = ["dice", "iou", "tversky"]
LOSS_FNS = {
    "dice": F.dice_loss,
    "iou": F.iou_loss,
    "tversky": F.tversky_loss,
    "bce_dice": F.bce_dice_loss,
    "focal_dice": F.focal_dice_loss,
}


def _drawn(data, **kwargs):
    inputs = data.draw(segmentation_inputs(**kwargs), label="inputs")
    return torch_inputs(LOSS_INFOS["dice"], inputs, "float64", "cpu")


@pytest.mark.parametrize("name", OVERLAP)
@pytest.mark.parametrize("mode", ["binary", "multilabel", "multiclass"])
def test_perfect_prediction_gives_zero(name, mode, device):
    generator = torch.Generator().manual_seed(0)
    if mode == "multiclass":
        targets = torch.randint(0, 3, (2, 5, 5), generator=generator).to(device)
        logits = 60.0 * torch.nn.functional.one_hot(targets, 3).permute(0, 3, 1, 2).double()
    else:
        shape = (2, 5, 5) if mode == "binary" else (2, 3, 5, 5)
        targets = (torch.rand(shape, generator=generator) > 0.5).double().to(device)
        logits = 60.0 * (2 * targets - 1)  # sigma(+-60) is 1 or 0 to within 1e-26
    value = LOSS_FNS[name](logits, targets, mode=mode, reduction="none")
    torch.testing.assert_close(value, torch.zeros_like(value), atol=1e-12, rtol=0)
    expected = LOSS_INFOS[name].spec.value(**spec_inputs({"predictions": logits, "targets": targets}), mode=mode)
    assert abs(float(expected)) < 1e-12


@given(data=st.data())
def test_tversky_at_half_half_is_dice_with_twice_the_smooth(data):
    tensors = _drawn(data)
    smooth = tensors.pop("smooth")
    tversky = F.tversky_loss(**tensors, alpha=0.5, beta=0.5, smooth=smooth, reduction="none")
    dice = F.dice_loss(**tensors, smooth=2 * smooth, reduction="none")
    torch.testing.assert_close(tversky, dice, rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_tversky_at_one_one_is_iou(data):
    tensors = _drawn(data)
    torch.testing.assert_close(
        F.tversky_loss(**tensors, alpha=1.0, beta=1.0, reduction="none"),
        F.iou_loss(**tensors, reduction="none"),
        rtol=1e-12,
        atol=1e-12,
    )


@given(data=st.data())
def test_iou_is_dice_over_two_minus_dice_without_smoothing(data):
    tensors = _drawn(data)
    tensors["smooth"] = 0.0
    tensors.pop("ignore_index", None)  # an all-ignored class is 0/0 at smooth 0
    tensors.pop("weight", None)
    if tensors["mode"] == "multiclass":
        tensors["targets"] = tensors["targets"] % tensors["predictions"].shape[1]
    d = 1 - F.dice_loss(**tensors, reduction="none")
    j = 1 - F.iou_loss(**tensors, reduction="none")
    torch.testing.assert_close(j, d / (2 - d), rtol=1e-10, atol=1e-12)  # J = D / (2 - D)


@pytest.mark.parametrize("name", [*OVERLAP, "bce_dice", "focal_dice"])
@given(data=st.data(), scale=st.sampled_from([0.5, 1.0, 7.0]))
def test_uniform_class_weights_equal_no_weights(name, data, scale):
    sigmoid_only = name in ("bce_dice", "focal_dice")
    tensors = _drawn(data, modes=("multilabel",) if sigmoid_only else ("multilabel", "multiclass"))
    tensors.pop("weight", None)
    c = tensors["predictions"].shape[1]
    for reduction in ("none", "mean", "sum"):
        unweighted = LOSS_FNS[name](**tensors, reduction=reduction)
        weighted = LOSS_FNS[name](**tensors, weight=torch.full((c,), scale, dtype=torch.float64), reduction=reduction)
        torch.testing.assert_close(weighted, unweighted, rtol=1e-13, atol=1e-13)


def test_ignored_pixels_have_no_effect_and_no_gradient():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 8, generator=generator, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 3, (2, 8), generator=generator)
    targets[:, :3] = 255
    value = F.dice_loss(logits, targets, mode="multiclass", ignore_index=255)
    (grad,) = torch.autograd.grad(value, logits)
    assert torch.equal(grad[:, :, :3], torch.zeros_like(grad[:, :, :3]))
    changed = logits.detach().clone()
    changed[:, :, :3] = 100.0
    torch.testing.assert_close(F.dice_loss(changed, targets, mode="multiclass", ignore_index=255), value.detach())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", [*OVERLAP, "bce_dice", "focal_dice"])
def test_512x512_half_masks_reduce_in_float32(name, dtype, device):
    # 512 * 512 = 262144 pixels: P and T reach 2.6e5, past float16's largest value (65504)
    targets = torch.zeros(2, 1, 512, 512, device=device)
    targets[:, :, :256] = 1.0
    logits = torch.where(targets > 0, 4.0, -4.0).to(dtype)
    value = LOSS_FNS[name](logits, targets.to(dtype))
    reference = LOSS_FNS[name](logits.float(), targets)
    assert value.dtype == dtype
    assert torch.isfinite(value)
    # the value comes back in the input dtype: bfloat16 rounds to 2^-8 = 3.9e-3 relative, float16 to 4.9e-4;
    # rtol 1e-2 is that output rounding (the sums themselves run in float32: overflow would give inf or 0)
    torch.testing.assert_close(value.float(), reference, rtol=1e-2, atol=1e-3)


def test_multiclass_backward_keeps_no_one_hot_of_the_full_size():
    n, c, h, w = 2, 21, 16, 16
    logits = torch.randn(n, c, h, w, requires_grad=True)
    targets = torch.randint(0, c, (n, h, w))
    saved = []

    def pack(tensor):
        saved.append((tuple(tensor.shape), tensor.dtype))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        value = F.dice_loss(logits, targets, mode="multiclass", ignore_index=255)
    full = [entry for entry in saved if int(np.prod(entry[0])) >= n * c * h * w]
    # only the softmax probabilities, (N, C, H*W) float32: no one-hot, no second full-size tensor
    assert full == [((n, c, h * w), torch.float32)], saved
    value.backward()


BAD_INPUTS = [
    ("dice", {"predictions": np.zeros((2, 3)), "targets": np.zeros((2, 4))}, {}),
    ("dice", {"predictions": np.zeros((2, 3, 4)), "targets": np.zeros((2, 5), dtype=np.int64)}, {"mode": "multiclass"}),
    ("dice", {"predictions": np.zeros((1, 3, 2)), "targets": np.array([[0, 3]])}, {"mode": "multiclass"}),
    (
        "dice",
        {"predictions": np.zeros((1, 3, 2)), "targets": np.array([[-1, 0]])},
        {"mode": "multiclass", "ignore_index": 255},
    ),
    ("tversky", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"alpha": -0.1}),
    ("tversky", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"beta": -0.5}),
    ("tversky", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"gamma": -1.0}),
    ("iou", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"smooth": -1e-6}),
    ("iou", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"mode": "sigmoid"}),
    ("dice", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"ignore_index": 255}),
    ("dice", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"include_background": False}),
    (
        "dice",
        {"predictions": np.zeros((1, 3, 2)), "targets": np.zeros((1, 3, 2))},
        {"mode": "multilabel", "weight": np.ones(2)},
    ),
    (
        "bce_dice",
        {"predictions": np.zeros((1, 2, 2)), "targets": np.zeros((1, 2), dtype=np.int64)},
        {"mode": "multiclass"},
    ),
    ("bce_dice", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"dice_weight": -1.0}),
    ("focal_dice", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"alpha": 1.5}),
    ("focal_dice", {"predictions": np.zeros((1, 2)), "targets": np.zeros((1, 2))}, {"focal_weight": -1.0}),
    ("focal_dice", {"predictions": np.zeros((1, 2)), "targets": np.array([[0.0, 2.0]])}, {}),
    # float targets are probabilities in every overlap loss (the index is in the targets' own shape)
    ("dice", {"predictions": np.zeros((1, 2, 2)), "targets": np.array([[[0.0, 1.0], [1.5, 0.0]]])}, {}),
    ("iou", {"predictions": np.zeros((1, 3)), "targets": np.array([[0.0, -0.25, 1.0]])}, {"mode": "multilabel"}),
    ("tversky", {"predictions": np.zeros((2,)), "targets": np.array([np.nan, 0.0])}, {}),
    ("bce_dice", {"predictions": np.zeros((1, 2)), "targets": np.array([[1.0, 1.0000001]])}, {}),
    # integer masks too: values in {0, 1} (a 0/255 PNG mask, class labels, -1 markers refused)
    ("dice", {"predictions": np.zeros((1, 3)), "targets": np.array([[0, 255, 255]], dtype=np.uint8)}, {}),
    ("iou", {"predictions": np.zeros((1, 2, 2)), "targets": np.array([[[0, 1], [2, 0]]])}, {"mode": "multilabel"}),
    ("tversky", {"predictions": np.zeros((2,)), "targets": np.array([-1, 0], dtype=np.int8)}, {}),
    ("bce_dice", {"predictions": np.zeros((1, 2)), "targets": np.array([[1, 255]], dtype=np.int32)}, {}),
    ("focal_dice", {"predictions": np.zeros((1, 2)), "targets": np.array([[0, 3]], dtype=np.uint16)}, {}),
]


@pytest.mark.parametrize(("name", "inputs", "kwargs"), BAD_INPUTS, ids=[f"{n}-{sorted(k)}" for n, _, k in BAD_INPUTS])
def test_bad_input_gives_the_same_value_error_on_both_sides(name, inputs, kwargs):
    tensors = torch_inputs(LOSS_INFOS[name], inputs, "float64", "cpu")
    with pytest.raises(ValueError) as spec_error:
        LOSS_INFOS[name].spec.value(**inputs, **kwargs)
    with pytest.raises(ValueError) as torch_error:
        LOSS_INFOS[name].torch_fn(**tensors, **kwargs)
    assert str(torch_error.value) == str(spec_error.value)


@settings(max_examples=5)
@given(data=st.data())
def test_empty_mask_and_empty_prediction_give_zero_and_nan_without_smoothing(data):
    shape = data.draw(st.sampled_from([(1, 16), (2, 4, 4)]))
    logits, empty = torch.full(shape, -torch.inf), torch.zeros(shape)
    for name in OVERLAP:
        assert float(LOSS_FNS[name](logits, empty, smooth=1e-6)) == 0.0
        assert torch.isnan(LOSS_FNS[name](logits, empty, smooth=0.0))
