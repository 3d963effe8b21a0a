"""Losses under ``torch.autocast("cpu", dtype=torch.bfloat16)`` on extreme inputs: logits of +-1e4,
residuals of 1e4, every target ignored, empty batches, probabilities at exactly 0 and 1 (as
conformance/test_extreme_inputs.py and tests/test_segmentation_embedding_extreme_inputs.py, which
check them outside autocast against the spec).

Under autocast the inputs reach a loss as float32 (the output of an op autocast keeps in float32) or as
bfloat16 (the output of a linear layer or convolution); both are run. Values and gradients must be
finite wherever the definition is, and the documented result where it is not: every target ignored
gives NaN for ``"mean"`` (0 / 0, as torch) with a zero gradient and 0 for ``"sum"``; an empty batch sums
to 0 and averages to NaN. Float16 autocast on CUDA is the same test on a GPU (not run here: no GPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from lossopt import LOSSES
from lossopt import functional as F

INPUT_DTYPES = [torch.float32, torch.bfloat16]
BIG = 1e4
BIG_LOGITS = [[BIG, -BIG, 0.0], [-BIG, BIG, BIG], [0.0, 0.0, -BIG]]
BINARY_LOGITS = [BIG, -BIG, BIG, -BIG, 0.0]
BINARY_LABELS = [1.0, 0.0, 0.0, 1.0, 1.0]
RESIDUALS = [BIG, -BIG, 90.0, -90.0, 0.0]


@dataclass(frozen=True)
class Extreme:
    """``fn(**tensors, **static)`` under autocast; the gradient w.r.t. ``differentiable``."""

    entry: str
    label: str
    fn: Callable[..., torch.Tensor]
    tensors: dict[str, Any]
    static: dict[str, Any] = field(default_factory=dict)
    differentiable: tuple[str, ...] = ("predictions",)

    @property
    def id(self) -> str:
        return f"{self.entry}-{self.label}"


def _t(values: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def _seg_big(sign: float) -> dict[str, torch.Tensor]:
    targets = _t([[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]]])  # (1, 2, 4) multilabel
    return {"predictions": sign * BIG * (2 * targets - 1), "targets": targets}


FINITE: list[Extreme] = [
    # logits of +-1e4 against class indices
    *[
        Extreme(
            name, f"logits1e4-{label}", fn, {"predictions": _t(BIG_LOGITS), "targets": _t([0, 1, 2], torch.long)}, kw
        )
        for name, label, fn, kw in [
            ("cross_entropy", "plain", F.cross_entropy_loss, {}),
            ("cross_entropy", "smoothing", F.cross_entropy_loss, {"label_smoothing": 0.1}),
            ("focal", "gamma0", F.focal_loss, {"gamma": 0.0}),
            ("focal", "gamma0.5", F.focal_loss, {"gamma": 0.5}),
            ("focal", "gamma2", F.focal_loss, {"gamma": 2.0}),
            ("hinge", "multiclass", F.hinge_loss, {}),
        ]
    ],
    # logits of +-1e4 against binary labels (hard 0/1: probabilities at exactly 0 and 1)
    *[
        Extreme(
            "sigmoid_focal",
            f"logits1e4-gamma{gamma}",
            F.sigmoid_focal_loss,
            {"predictions": _t(BINARY_LOGITS), "targets": _t(BINARY_LABELS)},
            {"gamma": gamma, "reduction": "none"},
        )
        for gamma in (0.0, 0.25, 0.5, 2.0)
    ],
    Extreme(
        "hinge", "binary-logits1e4", F.hinge_loss, {"predictions": _t(BINARY_LOGITS), "targets": _t(BINARY_LABELS)}
    ),
    # residuals of 1e4
    *[
        Extreme(name, "residuals1e4", fn, {"predictions": _t(RESIDUALS), "targets": torch.zeros(5)}, kw)
        for name, fn, kw in [
            ("mse", F.mse_loss, {}),
            ("mae", F.mae_loss, {}),
            ("huber", F.huber_loss, {"delta": 1.0}),
            ("log_cosh", F.log_cosh_loss, {}),
            ("quantile", F.quantile_loss, {"quantile": 0.9}),
        ]
    ],
    # segmentation logits of +-1e4, right (sign 1) and confidently wrong (sign -1)
    *[
        Extreme(name, f"logits1e4-{'right' if sign > 0 else 'wrong'}", fn, _seg_big(sign), {"mode": "multilabel", **kw})
        for name, fn, kw in [
            ("dice", F.dice_loss, {}),
            ("iou", F.iou_loss, {}),
            ("tversky", F.tversky_loss, {"gamma": 0.75}),
            ("bce_dice", F.bce_dice_loss, {}),
            ("focal_dice", F.focal_dice_loss, {"alpha": 0.25}),
        ]
        for sign in (1.0, -1.0)
    ],
    # embeddings of magnitude 1e4 (distances ~1e4, squared ~1e8; SupCon normalizes the rows)
    *[
        Extreme(
            "contrastive",
            f"embeddings1e4-{mode}",
            F.contrastive_loss,
            {
                "embeddings": BIG * _t([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5], [1.0, 1.0]]),
                "labels": _t([0, 1, 0, 1], torch.long),
            },
            {"mode": mode, "margin": 1.0},
            ("embeddings",),
        )
        for mode in ("supcon", "margin")
    ],
    Extreme(
        "triplet",
        "embeddings1e4",
        F.triplet_loss,
        {"anchor": BIG * _t([[1.0, 0.0]]), "positive": BIG * _t([[-1.0, 0.0]]), "negative": BIG * _t([[1.0, 0.1]])},
        {"swap": True},
        ("anchor", "positive", "negative"),
    ),
    Extreme(
        "cosine_embedding",
        "embeddings1e4",
        F.cosine_embedding_loss,
        {
            "x1": BIG * _t([[1.0, 2.0], [3.0, -1.0]]),
            "x2": BIG * _t([[-1.0, 2.0], [3.0, -1.0]]),
            "y": _t([1, -1], torch.long),
        },
        {},
        ("x1", "x2"),
    ),
    # probabilities at exactly 0 and 1
    Extreme(
        "cross_entropy",
        "one-hot-probabilities",
        F.cross_entropy_loss,
        {"predictions": _t(BIG_LOGITS), "targets": torch.eye(3)[[0, 0, 2]]},
    ),
    Extreme(
        "kl_divergence",
        "one-hot-target",
        F.kl_divergence_loss,
        {"input": torch.log_softmax(_t(BIG_LOGITS), dim=1), "target": torch.eye(3)[[0, 0, 2]]},
        {},
        ("input",),
    ),
    # logits of +-2^13 through the projection (exact in bfloat16, so autocast's projection rounds nothing)
    Extreme(
        "linear_cross_entropy",
        "logits8192",
        F.linear_cross_entropy_loss,
        {
            "input": _t([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            "linear_weight": 8192.0 * _t([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]),
            "target": _t([0, 1, 2], torch.long),
            "linear_bias": torch.zeros(3),
        },
        {"z_loss": 1e-4},
        ("input", "linear_weight", "linear_bias"),
    ),
    Extreme(
        "multi_task",
        "logits1e4",
        lambda **t: F.multi_task_loss(
            {"classification": t["cls"], "segmentation": t["seg"], "depth": t["depth"]},
            {"classification": t["cls_t"], "segmentation": t["seg_t"], "depth": t["depth_t"]},
            {"classification": 1.0, "segmentation": 1.0, "depth": 0.5},
            {"depth": "log_cosh"},
        ),
        {
            "cls": _t(BIG_LOGITS),
            "cls_t": _t([0, 1, 2], torch.long),
            "seg": _t(BINARY_LOGITS),
            "seg_t": _t(BINARY_LABELS),
            "depth": _t(RESIDUALS),
            "depth_t": torch.zeros(5),
        },
        {},
        ("cls", "seg", "depth"),
    ),
]


def _run(case: Extreme, dtype: torch.dtype, **override: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
    tensors = {k: v.to(dtype).requires_grad_() if k in case.differentiable else v for k, v in case.tensors.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = case.fn(**tensors, **{**case.static, **override})
        grads = torch.autograd.grad(value, [tensors[k] for k in case.differentiable], torch.ones_like(value))
    return value.detach(), list(grads)


def test_every_registered_loss_has_an_autocast_extreme_case():
    assert {case.entry for case in FINITE} == set(LOSSES)


@pytest.mark.parametrize("dtype", INPUT_DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("case", FINITE, ids=[case.id for case in FINITE])
def test_extreme_inputs_stay_finite_under_bfloat16_autocast(case, dtype):
    value, grads = _run(case, dtype)
    # multi_task: its prefix-rule tasks call torch's cross_entropy, which autocast runs in float32;
    # linear_cross_entropy answers in float32 under autocast, as F.cross_entropy of F.linear's output does
    if case.entry not in ("multi_task", "linear_cross_entropy"):
        assert value.dtype == dtype, case.id  # the loss answers in its input's dtype
    assert torch.isfinite(value).all(), f"{case.id}: value {value}"
    for name, grad in zip(case.differentiable, grads, strict=True):
        assert torch.isfinite(grad).all(), f"{case.id}: d/d{name} {grad}"


def test_autocast_does_not_lower_the_compute_dtype():
    # a loss computes in float32 for float32 (and half) inputs whatever autocast says: the ops on autocast's
    # bfloat16 list (mm, bmm, linalg.vecdot) run with autocast off inside the loss (functional/_autocast.py).
    # Without it (measured): bce_dice on logits of +-1e4 gave 4.0 for a loss of 0 (its BCE sum
    # softplus(x) - x . t cancels terms of 1e4 rounded to bfloat16), contrastive supcon 7.568 vs 7.550,
    # tversky 1.8e-5 vs 0.
    for case in FINITE:
        plain = case.fn(**case.tensors, **case.static)
        value, _ = _run(case, torch.float32)
        torch.testing.assert_close(value, plain, msg=lambda m, c=case: f"{c.id}: autocast changed the value\n{m}")


@pytest.mark.parametrize("dtype", INPUT_DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", ["cross_entropy", "focal"])
def test_every_target_ignored_gives_nan_mean_zero_sum_and_zero_gradient(name, dtype):
    fn = F.cross_entropy_loss if name == "cross_entropy" else F.focal_loss
    case = Extreme(
        name, "ignored", fn, {"predictions": torch.arange(12.0).reshape(4, 3), "targets": torch.full((4,), -100)}
    )
    value, (grad,) = _run(case, dtype, reduction="mean")
    assert torch.isnan(value)  # 0 / 0, documented (as torch)
    assert torch.equal(grad, torch.zeros_like(grad))
    value, (grad,) = _run(case, dtype, reduction="sum")
    assert float(value) == 0.0
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("dtype", INPUT_DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", ["dice", "iou", "tversky"])
def test_every_pixel_ignored_gives_zero_loss_and_zero_gradient(name, dtype):
    fn = {"dice": F.dice_loss, "iou": F.iou_loss, "tversky": F.tversky_loss}[name]
    inputs = {
        "predictions": torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0)),
        "targets": torch.full((2, 4), 255),
    }
    case = Extreme(name, "ignored", fn, inputs, {"mode": "multiclass", "ignore_index": 255})
    value, (grad,) = _run(case, dtype)
    assert float(value) == 0.0  # (0 + s) / (0 + s) = 1 for every class: loss 0
    assert torch.equal(grad, torch.zeros_like(grad))


EMPTY: dict[str, tuple[Callable[..., torch.Tensor], dict[str, Any], dict[str, Any], tuple[str, ...]]] = {
    "mse": (F.mse_loss, {"predictions": torch.zeros(0), "targets": torch.zeros(0)}, {}, ("predictions",)),
    "quantile": (
        F.quantile_loss,
        {"predictions": torch.zeros(0, 2), "targets": torch.zeros(0)},
        {"quantile": [0.1, 0.9]},
        ("predictions",),
    ),
    "sigmoid_focal": (
        F.sigmoid_focal_loss,
        {"predictions": torch.zeros(0, 4), "targets": torch.zeros(0, 4)},
        {},
        ("predictions",),
    ),
    "cross_entropy": (
        F.cross_entropy_loss,
        {"predictions": torch.zeros(0, 3), "targets": torch.zeros(0, dtype=torch.long)},
        {},
        ("predictions",),
    ),
    "focal": (
        F.focal_loss,
        {"predictions": torch.zeros(0, 3), "targets": torch.zeros(0, dtype=torch.long)},
        {},
        ("predictions",),
    ),
    **{
        name: (
            fn,
            {"predictions": torch.zeros(0, 2, 3), "targets": torch.zeros(0, 2, 3)},
            {"mode": "multilabel"},
            ("predictions",),
        )
        for name, fn in [("dice", F.dice_loss), ("bce_dice", F.bce_dice_loss), ("focal_dice", F.focal_dice_loss)]
    },
    "triplet": (
        F.triplet_loss,
        {"anchor": torch.zeros(0, 4), "positive": torch.zeros(0, 4), "negative": torch.zeros(0, 4)},
        {},
        ("anchor",),
    ),
}


@pytest.mark.parametrize("dtype", INPUT_DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_batch_sums_to_zero_and_means_to_nan(name, dtype):
    fn, tensors, static, differentiable = EMPTY[name]
    case = Extreme(name, "empty", fn, tensors, static, differentiable)
    value, grads = _run(case, dtype, reduction="sum")
    assert float(value) == 0.0
    assert grads[0].shape == tensors[differentiable[0]].shape
    value, _ = _run(case, dtype, reduction="mean")
    assert math.isnan(float(value))
