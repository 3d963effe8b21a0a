"""Extreme inputs, each in a test of its own: logits of +-1e4, residuals of 1e4, every target ignored,
empty batches, probabilities at exactly 0 and 1. lossopt must give finite values and gradients where the
definition is finite, the documented result where it is not, and the spec's numbers in both cases."""

import math

import numpy as np
import pytest
import torch

from conformance.assertions import assert_matches_spec, to_numpy
from conformance.loss_harness import call_text, spec_gradients, spec_inputs, torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.tolerances import tolerance_for

DTYPES = ["float64", "float32", "bfloat16"]


def value_and_grad(name, inputs, kwargs, reduction, dtype, device):
    """Torch value and gradient (upstream ones) next to the spec's, on the torch inputs' rounded values."""
    info = LOSS_INFOS[name]
    tensors = torch_inputs(info, inputs, dtype, device)
    value = info.torch_fn(**tensors, **kwargs, reduction=reduction)
    wrt = tensors[info.differentiable[0]]
    (grad,) = torch.autograd.grad(value, wrt, torch.ones_like(value))
    spec = spec_inputs(tensors)
    expected_value = info.spec.value(**spec, **kwargs, reduction=reduction)
    upstream = np.ones(np.shape(expected_value))
    expected_grad = spec_gradients(info, info.spec.grad(**spec, **kwargs, reduction=reduction, grad_output=upstream))
    expected_grad = expected_grad[info.differentiable[0]]
    call = call_text(info, spec, kwargs, reduction)
    context = {"reduction": reduction, "dtype": dtype, "device": device}
    for check, actual, expected in [("value", value, expected_value), ("grad", grad, expected_grad)]:
        assert_matches_spec(
            actual,
            expected,
            entry=name,
            check=check,
            tolerance=tolerance_for(dtype, check, info.tolerance_overrides),
            context=context,
            call=call,
        )
    return to_numpy(value), to_numpy(grad)


def assert_finite(value, grad):
    assert np.all(np.isfinite(value)), value
    assert np.all(np.isfinite(grad)), grad


BIG_LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("cross_entropy", {}),
        ("cross_entropy", {"label_smoothing": 0.1}),
        ("focal", {"gamma": 0.0}),
        ("focal", {"gamma": 0.5}),
        ("focal", {"gamma": 2.0}),
        ("hinge", {}),
    ],
)
def test_logits_of_1e4_with_class_indices(name, kwargs, reduction, dtype, device):
    inputs = {"predictions": BIG_LOGITS, "targets": np.array([0, 1, 2])}
    value, grad = value_and_grad(name, inputs, kwargs, reduction, dtype, device)
    assert_finite(value, grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 2.0])
def test_logits_of_1e4_with_binary_labels(gamma, dtype, device):
    inputs = {"predictions": np.array([1e4, -1e4, 1e4, -1e4, 0.0]), "targets": np.array([1.0, 0.0, 0.0, 1.0, 1.0])}
    value, grad = value_and_grad("sigmoid_focal", inputs, {"gamma": gamma}, "none", dtype, device)
    assert_finite(value, grad)
    value, grad = value_and_grad("hinge", inputs, {}, "none", dtype, device)
    assert_finite(value, grad)


# mse is not run in float16: (1e4)^2 = 1e8 is past float16's largest value (65504), inf is the right answer there
RESIDUAL_CASES = [
    (name, kwargs, dtype)
    for name, kwargs in [
        ("mae", {}),
        ("huber", {"delta": 1.0}),
        ("log_cosh", {}),
        ("quantile", {"quantile": 0.9}),
        ("mse", {}),
    ]
    for dtype in [*DTYPES, "float16"]
    if not (name == "mse" and dtype == "float16")
]


@pytest.mark.parametrize(("name", "kwargs", "dtype"), RESIDUAL_CASES, ids=[f"{n}-{d}" for n, _, d in RESIDUAL_CASES])
def test_residuals_of_1e4(name, kwargs, dtype, device):
    inputs = {"predictions": np.array([1e4, -1e4, 90.0, -90.0, 0.0]), "targets": np.zeros(5)}
    value, grad = value_and_grad(name, inputs, kwargs, "none", dtype, device)
    assert_finite(value, grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["cross_entropy", "focal"])
def test_every_target_ignored_gives_nan_mean_zero_sum_and_zero_gradient(name, dtype, device):
    inputs = {"predictions": np.arange(12.0).reshape(4, 3), "targets": np.full(4, -100)}
    value, grad = value_and_grad(name, inputs, {}, "mean", dtype, device)
    assert math.isnan(float(value))
    np.testing.assert_array_equal(grad, np.zeros((4, 3)))
    value, grad = value_and_grad(name, inputs, {}, "sum", dtype, device)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, np.zeros((4, 3)))
    value, _ = value_and_grad(name, inputs, {}, "none", dtype, device)
    np.testing.assert_array_equal(value, np.zeros(4))


EMPTY = {
    "mse": ({"predictions": np.zeros(0), "targets": np.zeros(0)}, {}),
    "mae": ({"predictions": np.zeros(0), "targets": np.zeros(0)}, {}),
    "huber": ({"predictions": np.zeros(0), "targets": np.zeros(0)}, {}),
    "log_cosh": ({"predictions": np.zeros(0), "targets": np.zeros(0)}, {}),
    "quantile": ({"predictions": np.zeros((0, 2)), "targets": np.zeros(0)}, {"quantile": [0.1, 0.9]}),
    "sigmoid_focal": ({"predictions": np.zeros((0, 4)), "targets": np.zeros((0, 4))}, {}),
    "cross_entropy": ({"predictions": np.zeros((0, 3)), "targets": np.zeros(0, dtype=np.int64)}, {}),
    "focal": ({"predictions": np.zeros((0, 3)), "targets": np.zeros(0, dtype=np.int64)}, {}),
    "hinge": ({"predictions": np.zeros((0, 3)), "targets": np.zeros(0, dtype=np.int64)}, {}),
    **{
        name: ({"predictions": np.zeros((0, 2, 3)), "targets": np.zeros((0, 2, 3))}, {"mode": "multilabel"})
        for name in ("dice", "iou", "tversky", "bce_dice", "focal_dice")
    },
    "linear_cross_entropy": (
        {"input": np.zeros((0, 3)), "linear_weight": np.ones((4, 3)), "target": np.zeros(0, dtype=np.int64)},
        {"z_loss": 0.1},
    ),
}

# Entries whose inputs are not (predictions, targets): their empty batches are tested where they are
# (contrastive refuses N < 2 pairs with a ValueError, the others sum to 0 and average to NaN).
EMPTY_ELSEWHERE = {
    name: "packages/torch_impl/tests/test_losses2_extremes.py::test_empty_batches_of_the_embedding_losses"
    for name in ("contrastive", "triplet", "cosine_embedding", "kl_divergence")
} | {"multi_task": "conformance/test_multitask.py (dict inputs: a task with an empty batch is its loss's case)"}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_batch_sums_to_zero_means_to_nan_and_backpropagates(name, device):
    inputs, kwargs = EMPTY[name]
    value, grad = value_and_grad(name, inputs, kwargs, "sum", "float32", device)
    assert float(value) == 0.0
    assert grad.shape == inputs[LOSS_INFOS[name].differentiable[0]].shape
    value, _ = value_and_grad(name, inputs, kwargs, "mean", "float32", device)
    assert math.isnan(float(value))
    value, _ = value_and_grad(name, inputs, kwargs, "none", "float32", device)
    assert value.size == 0


NO_PIXELS = [
    ((2, 3, 0), {"mode": "multilabel"}),
    ((0, 3, 4), {"mode": "multilabel", "batch": True}),
    ((0, 4), {"batch": True}),
]


@pytest.mark.parametrize(("shape", "kwargs"), NO_PIXELS, ids=str)
@pytest.mark.parametrize("name", ["dice", "iou", "tversky", "bce_dice", "focal_dice"])
def test_no_pixels_give_the_overlap_term_of_an_empty_mask(name, shape, kwargs, device):
    # a zero spatial size, or an empty batch summed over with batch=True: the per-pixel term of bce_dice and
    # focal_dice is an empty sum (0), so every overlap loss gives (1 - s / s) = 0 per class for "none" and "sum"
    inputs = {"predictions": np.zeros(shape), "targets": np.zeros(shape)}
    for reduction in ("none", "sum"):
        value, grad = value_and_grad(name, inputs, kwargs, reduction, "float32", device)
        assert np.all(value == 0.0), value
        assert grad.shape == shape


def test_every_loss_has_an_empty_batch_case():
    covered = set(EMPTY) | set(EMPTY_ELSEWHERE)
    assert covered >= set(LOSS_INFOS), f"no empty-batch case for {sorted(set(LOSS_INFOS) - covered)}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_probability_targets_at_exactly_0_and_1(reduction, dtype, device):
    logits = np.array([[3.0, -2.0, 0.5], [1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    one_hot = np.eye(3)[[0, 0, 2]]
    value, grad = value_and_grad(
        "cross_entropy", {"predictions": logits, "targets": one_hot}, {}, reduction, dtype, device
    )
    index_value, index_grad = value_and_grad(
        "cross_entropy", {"predictions": logits, "targets": np.array([0, 0, 2])}, {}, reduction, dtype, device
    )
    np.testing.assert_allclose(value, index_value, rtol=1e-6, atol=1e-6)  # one-hot probabilities = class indices
    np.testing.assert_allclose(grad, index_grad, rtol=1e-6, atol=1e-6)
    value, grad = value_and_grad(
        "sigmoid_focal",
        {"predictions": logits, "targets": (logits > 0).astype(float)},
        {"gamma": 0.5},
        reduction,
        dtype,
        device,
    )
    assert_finite(value, grad)
