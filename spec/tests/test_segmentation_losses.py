"""The spec's segmentation losses: hand values, finite differences, scikit-learn, invariants, errors."""

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, jaccard_score

from lossopt_spec.losses import (
    bce_dice_loss,
    bce_dice_loss_grad,
    dice_loss,
    dice_loss_grad,
    focal_dice_loss,
    focal_dice_loss_grad,
    iou_loss,
    iou_loss_grad,
    tversky_loss,
    tversky_loss_grad,
)

PAIRS = {
    "dice": (dice_loss, dice_loss_grad),
    "iou": (iou_loss, iou_loss_grad),
    "tversky": (tversky_loss, tversky_loss_grad),
    "bce_dice": (bce_dice_loss, bce_dice_loss_grad),
    "focal_dice": (focal_dice_loss, focal_dice_loss_grad),
}


@st.composite
def cases(draw, modes=("binary", "multilabel", "multiclass")):
    mode = draw(st.sampled_from(modes))
    n, c, m = draw(st.integers(1, 2)), draw(st.integers(2, 3)), draw(st.integers(1, 4))
    shape = (n, m) if mode == "binary" else (n, c, m)
    logits = draw(arrays(np.float64, shape, elements=st.floats(-4, 4)))
    options = {"mode": mode, "batch": draw(st.booleans()), "smooth": draw(st.sampled_from([1e-6, 1.0]))}
    if mode == "multiclass":
        targets = draw(arrays(np.int64, (n, m), elements=st.sampled_from([*range(c), 255])))
        options["ignore_index"] = 255
    else:
        targets = draw(arrays(np.float64, shape, elements=st.floats(0, 1)))
    if mode != "binary":
        options["include_background"] = draw(st.booleans())
        if draw(st.booleans()):
            options["weight"] = draw(arrays(np.float64, (c,), elements=st.floats(0.1, 3)))
    return logits, targets, options


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_grad_matches_central_differences(name, reduction, data, seed):
    value, grad = PAIRS[name]
    sigmoid_only = name in ("bce_dice", "focal_dice")
    modes = ("binary", "multilabel") if sigmoid_only else ("binary", "multilabel", "multiclass")
    logits, targets, options = data.draw(cases(modes))
    extra = (
        {"alpha": 0.3, "beta": 0.7, "gamma": data.draw(st.sampled_from([1.0, 0.75, 2.0]))} if name == "tversky" else {}
    )
    shape = np.shape(value(logits, targets, reduction=reduction, **options, **extra))
    upstream = np.random.default_rng(seed).standard_normal(shape)

    def scalar(x):
        return float(np.sum(upstream * value(x, targets, reduction=reduction, **options, **extra)))

    fd = central_difference(scalar, logits, h=1e-6)
    analytic = grad(logits, targets, reduction=reduction, **options, **extra, grad_output=upstream)
    np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-7)


def test_dice_hand_values():
    # logits 0 -> p = 0.5 on 4 pixels; targets 1 1 0 0: I = 1, P = 2, T = 2, D = (2 + s) / (4 + s)
    x, t = np.zeros((1, 4)), np.array([[1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(dice_loss(x, t, smooth=0.0), 0.5, rtol=1e-15)
    np.testing.assert_allclose(dice_loss(x, t, smooth=1.0), 1 - 3 / 5, rtol=1e-15)
    # IoU: (I + s) / (P + T - I + s) = 1 / 3 at s = 0
    np.testing.assert_allclose(iou_loss(x, t, smooth=0.0), 2 / 3, rtol=1e-15)
    # Tversky 0.3 / 0.7: FP = P - I = 1, FN = T - I = 1: TI = 1 / (1 + 0.3 + 0.7) = 0.5; focal gamma 2: 0.25
    np.testing.assert_allclose(tversky_loss(x, t, 0.3, 0.7, smooth=0.0, gamma=2.0), 0.25, rtol=1e-15)
    # BCE: log 2 per pixel; 0.5 log 2 + 0.5 * 0.5
    np.testing.assert_allclose(bce_dice_loss(x, t, smooth=0.0), 0.5 * np.log(2) + 0.25, rtol=1e-15)
    # focal (no alpha, gamma 2): (1 - p_t)^2 log 2 = 0.25 log 2 per pixel; plus the Dice loss 0.5
    np.testing.assert_allclose(focal_dice_loss(x, t, smooth=0.0), 0.25 * np.log(2) + 0.5, rtol=1e-15)
    # alpha 0.25: positives weighted 0.25, negatives 0.75; mean over the 4 pixels is 0.5 of each
    np.testing.assert_allclose(focal_dice_loss(x, t, 0.25, smooth=0.0), 0.5 * 0.25 * np.log(2) + 0.5, rtol=1e-15)


def test_multiclass_one_hot_and_ignore_by_hand():
    # 2 classes, 3 pixels, p = 0.5 everywhere; labels 0 1 ignored: per class I = 0.5, P = 1 (2 kept pixels), T = 1
    x, t = np.zeros((1, 2, 3)), np.array([[0, 1, 7]])
    np.testing.assert_allclose(dice_loss(x, t, 0.0, "none", mode="multiclass", ignore_index=7), [[0.5, 0.5]])
    # without ignore_index, 7 is out of range
    with pytest.raises(ValueError, match=r"targets must hold class indices in \[0, 2\) or ignore_index=None; got 7"):
        dice_loss(x, t, mode="multiclass")


@given(
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.lists(st.booleans(), min_size=1, max_size=30),
)
def test_hard_predictions_match_scikit_learn_f1_and_jaccard(pred, true):
    size = min(len(pred), len(true))
    pred, true = np.array(pred[:size]), np.array(true[:size])
    if not (pred.any() or true.any()):
        return  # both empty: scikit-learn's 0/0 convention (0 or 1 by zero_division) is tested below
    logits = np.where(pred, np.inf, -np.inf)[None]  # p exactly 0 or 1
    targets = true.astype(np.float64)[None]
    np.testing.assert_allclose(1 - dice_loss(logits, targets, smooth=0.0), f1_score(true, pred), rtol=1e-12)
    np.testing.assert_allclose(1 - iou_loss(logits, targets, smooth=0.0), jaccard_score(true, pred), rtol=1e-12)


def test_empty_mask_with_empty_prediction():
    empty_logits, empty_mask = np.full((1, 16), -np.inf), np.zeros((1, 16))
    # P = T = I = 0: (0 + s) / (0 + s) = 1 for any s > 0, so the loss is 0 ...
    for fn in (dice_loss, iou_loss, tversky_loss):
        assert fn(empty_logits, empty_mask, smooth=1e-6) == 0.0
    # ... and 0/0 = NaN at s = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(dice_loss(empty_logits, empty_mask, smooth=0.0))
    # a realistic near-empty prediction: logits -10 -> P = 16 sigma(-10) = 7.26e-4; 1 - s / (P + s)
    p_sum = 16 / (1 + np.exp(10.0))
    np.testing.assert_allclose(dice_loss(np.full((1, 16), -10.0), empty_mask), 1 - 1e-6 / (p_sum + 1e-6), rtol=1e-12)
    assert dice_loss(np.full((1, 16), -10.0), empty_mask) > 0.998


def test_batch_true_is_the_designs_global_dice():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 1, 5, 5)), (rng.random((3, 1, 5, 5)) > 0.5).astype(float)
    p = 1 / (1 + np.exp(-x))
    design = 1 - (2 * np.sum(p * t) + 1e-6) / (np.sum(p) + np.sum(t) + 1e-6)  # the design document's snippet
    np.testing.assert_allclose(dice_loss(x, t, batch=True), design, rtol=1e-14)
    # and reduction now matters: per sample "none" has one value per sample
    assert dice_loss(x, t, reduction="none").shape == (3, 1)
    assert dice_loss(x, t, reduction="sum") == pytest.approx(3 * dice_loss(x, t, reduction="mean"))


def test_tversky_special_cases_are_dice_and_iou():
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((2, 3, 6)), rng.random((2, 3, 6))
    kw = {"mode": "multilabel", "reduction": "none"}
    np.testing.assert_allclose(tversky_loss(x, t, 0.5, 0.5, 0.25, **kw), dice_loss(x, t, 0.5, **kw), rtol=1e-13)
    np.testing.assert_allclose(tversky_loss(x, t, 1.0, 1.0, 0.25, **kw), iou_loss(x, t, 0.25, **kw), rtol=1e-13)


def test_focal_tversky_gradient_is_finite_at_perfect_prediction():
    x, t = np.array([[50.0, -50.0]]), np.array([[1.0, 0.0]])
    grad = tversky_loss_grad(x, t, smooth=0.0, gamma=0.5)
    assert np.isfinite(grad).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dice_loss(np.zeros((2, 3)), np.zeros((2, 4))), r"got predictions \(2, 3\) and targets \(2, 4\)"),
        (
            lambda: dice_loss(np.zeros((2, 3, 4)), np.zeros((2, 5), dtype=int), mode="multiclass"),
            r"targets must have shape \(N, \*spatial\) = \(2, 4\) for predictions \(2, 3, 4\) in mode 'multiclass'; "
            r"got targets \(2, 5\)",
        ),
        (
            lambda: dice_loss(np.zeros((1, 3, 2)), np.array([[0, 3]]), mode="multiclass"),
            r"class indices in \[0, 3\) or ignore_index=None; got 3",
        ),
        (
            lambda: dice_loss(np.zeros((1, 3, 2)), np.zeros((1, 2)), mode="multiclass"),
            r"integer class indices in mode 'multiclass'; got dtype float64",
        ),
        (lambda: tversky_loss(np.zeros((1, 2)), np.zeros((1, 2)), alpha=-0.1), r"alpha must be >= 0; got -0.1"),
        (lambda: tversky_loss(np.zeros((1, 2)), np.zeros((1, 2)), beta=-1.0), r"beta must be >= 0; got -1.0"),
        (lambda: tversky_loss(np.zeros((1, 2)), np.zeros((1, 2)), gamma=0.0), r"gamma must be > 0; got 0.0"),
        (lambda: dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), smooth=-1.0), r"smooth must be >= 0; got -1.0"),
        (lambda: dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), mode="softmax"), r"mode must be one of"),
        (
            lambda: dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), ignore_index=255),
            r"ignore_index applies to integer targets \(mode='multiclass'\); got ignore_index=255 with mode='binary'",
        ),
        (
            lambda: dice_loss(np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), mode="multilabel", weight=np.ones(2)),
            r"weight must have shape \(C,\) = \(3,\); got \(2,\)",
        ),
        (
            lambda: dice_loss(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), mode="multilabel", weight=np.array([1, -1])),
            r"weight must be non-negative with a positive sum",
        ),
        (
            lambda: bce_dice_loss(np.zeros((1, 2, 2)), np.zeros((1, 2), dtype=int), mode="multiclass"),
            r"bce_dice_loss takes mode 'binary' or 'multilabel'",
        ),
        (lambda: bce_dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), bce_weight=-1), r"bce_weight must be >= 0; got -1"),
        (lambda: focal_dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), alpha=1.5), r"alpha must be a number in \[0, 1\]"),
        (
            lambda: focal_dice_loss(np.zeros((1, 2)), np.zeros((1, 2)), gamma=-1.0),
            r"gamma must be a finite number >= 0",
        ),
        (
            lambda: focal_dice_loss(np.zeros((1, 2, 2)), np.zeros((1, 2), dtype=int), mode="multiclass"),
            r"focal_dice_loss takes mode 'binary' or 'multilabel'",
        ),
        (
            lambda: dice_loss(np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), mode="multilabel", include_background=False),
            r"include_background=False needs at least 2 classes; predictions have C=1",
        ),
    ],
)
def test_bad_input_names_argument_value_and_rule(call, message):
    with pytest.raises(ValueError, match=message):
        call()
