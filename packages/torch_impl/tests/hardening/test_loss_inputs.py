"""Loss inputs a user gives by mistake or by habit: integer masks, no pixels, infinite residuals, NumPy numbers
and wrong types for hyperparameters, Python lists for tensors, meta tensors, loss names in the multi-task
loss, and argument errors under ``torch.compile(fullgraph=True)``.

Each refusal is checked for its type and its message (the argument, the value and, for tensors, its index);
each accepted input for the value it gives, against a float or bool twin of the same input or a hand value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lossopt
from lossopt import functional as F

OVERLAP = ("dice", "iou", "tversky", "bce_dice", "focal_dice")
FNS = {name: getattr(F, f"{name}_loss") for name in OVERLAP}
INTEGER_DTYPES = (
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
    torch.uint16,
    torch.uint32,
    torch.uint64,
)
SHAPES = {"binary": (2, 1, 3, 3), "multilabel": (2, 3, 2, 2)}


def _mask(mode: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.rand(SHAPES[mode], generator=g) > 0.5


def _logits(mode: str) -> torch.Tensor:
    return torch.randn(SHAPES[mode], generator=torch.Generator().manual_seed(4))


# --- integer masks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", INTEGER_DTYPES, ids=str)
@pytest.mark.parametrize("mode", sorted(SHAPES))
@pytest.mark.parametrize("name", OVERLAP)
def test_an_integer_0_1_mask_gives_the_loss_of_its_float_and_bool_masks(name, mode, dtype):
    mask = _mask(mode)
    value = FNS[name](_logits(mode), mask.to(dtype), mode=mode)
    assert torch.equal(value, FNS[name](_logits(mode), mask.float(), mode=mode))
    assert torch.equal(value, FNS[name](_logits(mode), mask, mode=mode))


# the values a mask can hold by mistake: 255 (a PNG mask), 2 (class labels), -1 (an ignore marker)
BAD_MASK_VALUES = [(torch.uint8, 255), (torch.int64, 2), (torch.int8, -1), (torch.int32, 255), (torch.uint16, 2)]
BAD_MASK_VALUES += [(torch.int16, -1), (torch.uint32, 3), (torch.uint64, 255)]


@pytest.mark.parametrize(("dtype", "bad"), BAD_MASK_VALUES, ids=[f"{d}-{v}" for d, v in BAD_MASK_VALUES])
@pytest.mark.parametrize("mode", sorted(SHAPES))
@pytest.mark.parametrize("name", OVERLAP)
def test_an_integer_mask_outside_0_1_is_refused_naming_the_value_and_its_index(name, mode, dtype, bad):
    # before: a uint8 0/255 mask gave dice 0.11 where its 0/1 mask gives 0.55, and bce_dice could be negative
    targets = _mask(mode).to(dtype)
    targets[1, -1, 0, 1] = bad
    index = (1, SHAPES[mode][1] - 1, 0, 1)
    message = rf"targets must be probabilities in \[0, 1\]; got {float(bad)!r} at index {index}".replace("(", r"\(")
    with pytest.raises(ValueError, match=message.replace(")", r"\)")):
        FNS[name](_logits(mode), targets, mode=mode)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.uint64], ids=str)
def test_integer_targets_of_the_sigmoid_focal_loss_are_checked_as_its_float_ones(dtype):
    logits = torch.randn(2, 3)
    targets = torch.tensor([[0, 1, 1], [1, 0, 0]], dtype=dtype)
    assert torch.equal(F.sigmoid_focal_loss(logits, targets), F.sigmoid_focal_loss(logits, targets.float()))
    targets[1, 2] = 255 if dtype != torch.int64 else -1
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\]; got .* at index \(1, 2\)"):
        F.sigmoid_focal_loss(logits, targets)


def test_an_integer_mask_is_refused_through_the_modules_and_the_multi_task_loss():
    logits, mask = torch.zeros(1, 4), torch.tensor([[0, 255, 0, 255]], dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"got 255.0 at index \(0, 1\)"):
        lossopt.create_loss_function("bce_dice")(logits, mask)
    with pytest.raises(ValueError, match=r"got 255.0 at index \(0, 1\)"):
        F.multi_task_loss({"mask": logits}, {"mask": mask}, {"mask": 1.0}, {"mask": "dice"})


# --- no pixels ------------------------------------------------------------------------------------------------

NO_PIXELS = [((2, 3, 0), {"mode": "multilabel"}), ((0, 3, 4), {"mode": "multilabel", "batch": True})]
NO_PIXELS += [((0, 4), {"batch": True}), ((3, 0), {})]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(("shape", "options"), NO_PIXELS, ids=[f"{s}-{sorted(o.items())}" for s, o in NO_PIXELS])
@pytest.mark.parametrize("name", ["bce_dice", "focal_dice"])
def test_no_pixels_give_the_dice_term_as_dice_loss_does(name, shape, options, reduction):
    # before: ZeroDivisionError (the pixel term's mean divided by 0 pixels in Python)
    logits = torch.zeros(shape, requires_grad=True)
    value = FNS[name](logits, torch.zeros(shape), reduction=reduction, **options)
    dice = F.dice_loss(torch.zeros(shape), torch.zeros(shape), reduction=reduction, **options)
    torch.testing.assert_close(value, dice, rtol=0, atol=0, equal_nan=True)
    # 0 per sample and class (the Dice term of an empty mask and an empty prediction); the mean over no
    # samples is NaN (0 / 0), as every loss's over an empty batch
    empty = value.numel() == 0 or (reduction == "mean" and shape[0] == 0 and not options.get("batch"))
    assert bool(value.isnan()) if empty and reduction == "mean" else bool(torch.all(value == 0))
    (grad,) = torch.autograd.grad(value.sum(), logits)
    assert grad.shape == shape


# --- reductions agree with the elementwise values -------------------------------------------------------------

INF, NAN = math.inf, math.nan
RESIDUALS = [[INF, 1.0], [-INF, 1.0], [INF, -INF], [1.0, -INF, INF, 2.0], [NAN, INF], [NAN, -INF], [-INF, -INF]]


def _elementwise_losses() -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = [
        (f"quantile-{q}", lambda p, t, r, q=q: F.quantile_loss(p, t, quantile=q, reduction=r)) for q in (0.1, 0.5, 0.9)
    ]
    cases += [
        (name, lambda p, t, r, fn=fn: fn(p, t, reduction=r))
        for name, fn in (
            ("mse", F.mse_loss),
            ("mae", F.mae_loss),
            ("huber", F.huber_loss),
            ("log_cosh", F.log_cosh_loss),
        )
    ]
    cases += [("sigmoid_focal", lambda p, t, r: F.sigmoid_focal_loss(p, t.clamp(0, 1), reduction=r))]
    cases += [("hinge", lambda p, t, r: F.hinge_loss(p, (t > 0).float(), reduction=r))]
    return cases


@pytest.mark.parametrize("residuals", RESIDUALS, ids=str)
@pytest.mark.parametrize(("name", "fn"), _elementwise_losses(), ids=[c[0] for c in _elementwise_losses()])
def test_sum_and_mean_agree_with_the_elementwise_values_on_infinite_inputs(name, fn, residuals):
    # before: quantile_loss([inf, 1], [0, 0]) was inf elementwise and NaN for "sum" and "mean"
    predictions = torch.tensor(residuals, dtype=torch.float32)
    targets = torch.zeros_like(predictions)
    elementwise = fn(predictions, targets, "none")
    for reduction, expected in (("sum", elementwise.sum()), ("mean", elementwise.mean())):
        value = fn(predictions, targets, reduction)
        if expected.isnan() or expected.isinf():
            assert torch.equal(value, expected) or (value.isnan() and expected.isnan()), (reduction, value, expected)
        else:
            torch.testing.assert_close(value, expected, rtol=1e-6, atol=0)


def test_quantile_of_an_infinite_residual_is_inf_for_each_reduction():
    values = [F.quantile_loss(torch.tensor([INF, 1.0]), torch.zeros(2), reduction=r) for r in ("sum", "mean")]
    assert values == [torch.tensor(INF), torch.tensor(INF)]
    assert F.quantile_loss(torch.tensor([-INF, 1.0]), torch.zeros(2), quantile=0.9).item() == INF


# --- numeric arguments: one type rule -------------------------------------------------------------------------

# (functional call with the argument, the argument's name); each gives a loss for a plain float
ARGUMENTS = {
    "gamma": lambda v: F.focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), gamma=v),
    "sigmoid gamma": lambda v: F.sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), gamma=v),
    "sigmoid alpha": lambda v: F.sigmoid_focal_loss(torch.ones(2), torch.ones(2), alpha=v),
    "delta": lambda v: F.huber_loss(torch.tensor([0.3, 4.0]), torch.zeros(2), delta=v),
    "margin": lambda v: F.hinge_loss(torch.tensor([0.2, -0.3]), torch.tensor([1.0, 0.0]), margin=v),
    "label_smoothing": lambda v: F.cross_entropy_loss(torch.eye(3), torch.tensor([0, 1, 1]), label_smoothing=v),
    "focal alpha": lambda v: F.focal_loss(torch.eye(3), torch.tensor([0, 1, 1]), alpha=v),
    "focal_dice gamma": lambda v: F.focal_dice_loss(torch.ones(1, 2), torch.ones(1, 2), gamma=v),
    "tversky alpha": lambda v: F.tversky_loss(torch.ones(1, 2), torch.tensor([[1.0, 0.0]]), alpha=v),
    "smooth": lambda v: F.dice_loss(torch.ones(1, 2), torch.tensor([[1.0, 0.0]]), smooth=v),
    "contrastive margin": lambda v: F.contrastive_loss(torch.eye(2), torch.tensor([0, 1]), margin=v, mode="margin"),
    "cosine margin": lambda v: F.cosine_embedding_loss(torch.eye(2), torch.ones(2, 2), torch.tensor([-1, -1]), v),
    "quantile": lambda v: F.quantile_loss(torch.tensor([0.0, 3.0]), torch.ones(2), quantile=v),
}
VALUES = {"quantile": 0.25, "label_smoothing": 0.25, "sigmoid alpha": 0.25, "tversky alpha": 0.25}
WRONG_TYPES = ["1", None, [0.5], True, False, 1 + 0j]


# alpha=None is the sigmoid focal loss's documented "no weighting"; a list of levels quantile's multi-quantile form
WRONG = [
    (label, value)
    for label in sorted(ARGUMENTS)
    for value in WRONG_TYPES
    if not (value is None and label == "sigmoid alpha") and not (isinstance(value, list) and label == "quantile")
]


@pytest.mark.parametrize(("label", "value"), WRONG, ids=[f"{label}-{value!r}" for label, value in WRONG])
def test_a_wrong_type_is_a_type_error_naming_the_argument_and_the_type(label, value):
    # before: ValueError for "1", None, a list or a tensor (gamma, delta, margin, label_smoothing), and delta=True
    # (read as 1) or quantile=True accepted
    argument = label.split()[-1]
    # "... must be a real number; got '1' of type str" (quantile: "... a tensor (or a sequence of numbers); got
    # '1' (new(): invalid data type 'str')", its tensor form)
    with pytest.raises(TypeError, match=rf"^{argument} must be .*; got .*{type(value).__name__}"):
        ARGUMENTS[label](value)


@pytest.mark.parametrize("label", sorted(set(ARGUMENTS) - {"focal alpha", "quantile"}))
def test_a_tensor_hyperparameter_is_a_type_error(label):
    argument = label.split()[-1]
    with pytest.raises(TypeError, match=rf"{argument} must be a real number; got tensor\(0.5000\) of type Tensor"):
        ARGUMENTS[label](torch.tensor(0.5))


# an integer each argument takes (quantile takes none: no integer lies in (0, 1))
INTEGERS = {label: 0 if label in ("label_smoothing", "sigmoid alpha", "tversky alpha", "cosine margin") else 1
            for label in ARGUMENTS if label != "quantile"}  # fmt: skip
NUMPY = [(label, kind) for label in sorted(ARGUMENTS) for kind in (np.float64, np.float32, np.float16)]
NUMPY += [(label, kind) for label in sorted(INTEGERS) for kind in (np.int64, np.int32, np.uint8)]


@pytest.mark.parametrize(("label", "kind"), NUMPY, ids=[f"{label}-{kind.__name__}" for label, kind in NUMPY])
def test_numpy_numbers_give_the_loss_of_their_python_number(label, kind):
    # before: np.float32 / np.int64 refused with ValueError for gamma, delta, margin, label_smoothing, alpha
    number = VALUES.get(label, 0.5) if np.issubdtype(kind, np.floating) else INTEGERS[label]
    expected = ARGUMENTS[label](float(kind(number)))
    assert torch.equal(ARGUMENTS[label](kind(number)), expected)


def test_a_numpy_nan_or_inf_is_the_value_error_of_the_python_one():
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got np.float32\(nan\)"):
        F.focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), gamma=np.float32("nan"))
    with pytest.raises(ValueError, match=r"delta must be a finite number > 0; got np.float64\(inf\)"):
        F.huber_loss(torch.zeros(2), torch.zeros(2), delta=np.float64("inf"))


def test_the_modules_take_numpy_numbers_and_refuse_bool():
    assert float(lossopt.HuberLoss(delta=np.float32(2.0))(torch.tensor([3.0]), torch.zeros(1))) == 4.0  # 2 (3 - 1)
    with pytest.raises(TypeError, match="delta must be a real number; got True of type bool"):
        lossopt.create_loss_function("huber", delta=True)


# --- lists where tensors belong -------------------------------------------------------------------------------

X, T, LABELS = [[0.0, 1.0], [1.0, 0.0]], torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1])
LIST_CALLS = {
    "mse predictions": ("predictions", lambda: F.mse_loss(X, T)),
    "mae predictions": ("predictions", lambda: F.mae_loss(X, T)),
    "huber predictions": ("predictions", lambda: F.huber_loss(X, T)),
    "log_cosh predictions": ("predictions", lambda: F.log_cosh_loss(X, T)),
    "sigmoid_focal predictions": ("predictions", lambda: F.sigmoid_focal_loss(X, T)),
    "cross_entropy predictions": ("predictions", lambda: F.cross_entropy_loss(X, LABELS)),
    "cross_entropy weight": ("weight", lambda: F.cross_entropy_loss(T, LABELS, weight=[1.0, 2.0])),
    "focal predictions": ("predictions", lambda: F.focal_loss(X, LABELS)),
    "focal alpha": ("alpha", lambda: F.focal_loss(T, LABELS, alpha=[1.0, 2.0])),
    **{f"{name} predictions": ("predictions", lambda fn=FNS[name]: fn(X, T)) for name in OVERLAP},
    "contrastive labels": ("labels", lambda: F.contrastive_loss(T, [0, 1])),
    "cosine_embedding y": ("y", lambda: F.cosine_embedding_loss(T, T, [1, -1])),
    "mse targets": ("targets", lambda: F.mse_loss(T, X)),
    "dice targets": ("targets", lambda: F.dice_loss(T, X)),
    "kl_divergence target": ("target", lambda: F.kl_divergence_loss(T, X)),
}


@pytest.mark.parametrize("label", sorted(LIST_CALLS))
def test_a_list_for_a_tensor_is_a_type_error_naming_the_argument(label):
    # before: AttributeError: 'list' object has no attribute 'dtype' / 'shape'
    argument, call = LIST_CALLS[label]
    with pytest.raises(TypeError, match=rf"^{argument} must be a (torch.Tensor|real number); got .*list"):
        call()


# --- meta tensors ---------------------------------------------------------------------------------------------

META_CALLS = {
    **{
        f"{name}-{mode}": (
            lambda fn=FNS[name], mode=mode: fn(*_meta((2, 3, 4), (2, 3, 4)), mode=mode, reduction="none")
        )
        for name in OVERLAP
        for mode in ("binary", "multilabel")
    },
    **{
        f"{name}-multiclass": (
            lambda fn=FNS[name]: fn(*_meta((2, 3, 4), (2, 4), torch.int64), mode="multiclass", reduction="none")
        )
        for name in ("dice", "iou", "tversky")
    },
    "contrastive-supcon": lambda: F.contrastive_loss(*_meta((5, 3), (5,), torch.int64), reduction="none"),
    "contrastive-margin": lambda: F.contrastive_loss(
        *_meta((5, 3), (5,), torch.int64), mode="margin", reduction="none"
    ),
}


def _meta(shape: tuple[int, ...], target_shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> tuple:
    return torch.zeros(shape, device="meta"), torch.zeros(target_shape, device="meta", dtype=dtype)


EXPECTED_META_SHAPES = {"contrastive-supcon": (5,), "contrastive-margin": (10,)}


@pytest.mark.parametrize("label", sorted(META_CALLS))
def test_meta_tensors_give_the_result_shape_as_the_other_losses_do(label):
    # before: RuntimeError "unsupported scalarType" (torch.autocast("meta") inside the loss)
    value = META_CALLS[label]()
    assert value.device.type == "meta"
    mode = label.split("-")[1]
    assert tuple(value.shape) == EXPECTED_META_SHAPES.get(label, (2, 1) if mode == "binary" else (2, 3))


def _m(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.zeros(shape, device="meta", dtype=dtype)


# every other registered loss, on meta tensors, with reduction="none" where it has one: (call, result shape)
OTHER_META_CALLS = {
    "mse": (lambda: F.mse_loss(_m(3, 2), _m(3, 2), reduction="none"), (3, 2)),
    "mae": (lambda: F.mae_loss(_m(3, 2), _m(3, 2), reduction="none"), (3, 2)),
    "huber": (lambda: F.huber_loss(_m(3, 2), _m(3, 2), reduction="none"), (3, 2)),
    "log_cosh": (lambda: F.log_cosh_loss(_m(3, 2), _m(3, 2)), ()),
    "quantile": (lambda: F.quantile_loss(_m(3, 2), _m(3), quantile=[0.1, 0.9], reduction="none"), (3, 2)),
    "sigmoid_focal": (lambda: F.sigmoid_focal_loss(_m(3, 2), _m(3, 2), reduction="none"), (3, 2)),
    "cross_entropy": (lambda: F.cross_entropy_loss(_m(3, 2), _m(3, dtype=torch.int64), reduction="none"), (3,)),
    "focal": (lambda: F.focal_loss(_m(3, 2), _m(3, dtype=torch.int64), reduction="none"), (3,)),
    "hinge": (lambda: F.hinge_loss(_m(3, 2), _m(3, dtype=torch.int64), reduction="none"), (3,)),
    "triplet": (lambda: F.triplet_loss(_m(3, 2), _m(3, 2), _m(3, 2), p=3.0, reduction="none"), (3,)),
    "cosine_embedding": (lambda: F.cosine_embedding_loss(_m(3, 2), _m(3, 2), _m(3), reduction="none"), (3,)),
    "kl_divergence": (lambda: F.kl_divergence_loss(_m(3, 2), _m(3, 2), reduction="none"), (3, 2)),
    "linear_cross_entropy": (
        lambda: F.linear_cross_entropy_loss(_m(3, 2), _m(5, 2), _m(3, dtype=torch.int64), reduction="none"),
        (3,),
    ),
    "multi_task": (lambda: F.multi_task_loss({"regression": _m(3)}, {"regression": _m(3)}, {"regression": 1.0}), ()),
}


@pytest.mark.parametrize("name", sorted(OTHER_META_CALLS))
def test_every_other_loss_evaluates_meta_tensors(name):
    call, shape = OTHER_META_CALLS[name]
    value = call()
    assert value.device.type == "meta"
    assert tuple(value.shape) == shape


def test_every_registered_loss_has_a_meta_case():
    covered = set(OTHER_META_CALLS) | {label.split("-")[0] for label in META_CALLS}
    assert covered >= set(lossopt.LOSSES), sorted(set(lossopt.LOSSES) - covered)


# --- multi-task loss names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["l1", "MSE", "L2", "mean_squared_error", "Log-Cosh", "pinball"])
def test_multi_task_reads_every_loss_name_create_loss_function_reads(name):
    # before: ValueError "unknown loss 'l1' for task 'a'" while create_loss_function("l1") builds MAELoss
    predictions, targets = {"a": torch.tensor([0.0, 3.0])}, {"a": torch.tensor([1.0, 1.0])}
    expected = lossopt.create_loss_function(name)(predictions["a"], targets["a"])
    assert torch.equal(F.multi_task_loss(predictions, targets, {"a": 2.0}, {"a": name}), 2.0 * expected)
    module = lossopt.create_loss_function("multi_task", loss_weights={"a": 2.0}, task_losses={"a": name})
    assert torch.equal(module(predictions, targets), 2.0 * expected)


# --- torch.compile(fullgraph=True) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda f: f(torch.zeros(2, 3), torch.tensor([0, 1]), gamma=-1.0), ValueError, "gamma must be a finite number"),
        (lambda f: f(torch.zeros(2, 3), torch.tensor([0, 1]), gamma="1"), TypeError, "gamma must be a real number"),
        (lambda f: f(torch.zeros(2, 3), torch.zeros(3, dtype=torch.int64)), ValueError, "class-index targets must"),
    ],
    ids=["range", "type", "shape"],
)
def test_an_argument_error_under_fullgraph_is_dynamo_unsupported_carrying_the_error(call, error, message):
    # documented in docs/api.rst ("torch.compile"): fullgraph=True turns the error into Unsupported, whose
    # message quotes it (torch 2.9: "ValueError([ConstantVariable(str: '...')])", later "ValueError('...')");
    # without fullgraph dynamo runs the frame eagerly and the error itself is raised
    torch._dynamo.reset()
    with pytest.raises(torch._dynamo.exc.Unsupported, match=rf"{error.__name__}\(.*?{message}"):
        call(torch.compile(F.focal_loss, fullgraph=True))
    with pytest.raises(error, match=message):
        call(torch.compile(F.focal_loss))
    with torch.compiler.set_stance("force_eager"), pytest.raises(error, match=message):
        call(torch.compile(F.focal_loss, fullgraph=True))
