"""Input fuzzing of ``create_loss_function`` / ``create_optimizer``.

Hypothesis draws a name (registered, an alias, a mangled spelling, an unknown string or not a string)
and keyword values of every kind: wrong types, NaN, +-inf, negative, huge, strings, None, lists,
tuples, dicts, tensors (with NaN too), alongside plausible ones. Every call must either work or raise
``ValueError`` / ``TypeError`` whose message names the argument; nothing else, no hang (a per-example
deadline), and no silent NaN: a loss built from the fuzzed keywords is called on a tiny valid input
and must give a finite value (or raise as above), an optimizer must keep its parameters finite
over three steps. NaN *inputs* to a loss propagate NaN (documented in :mod:`lossopt.functional`):
``test_nan_inputs_propagate`` checks every loss.

Example counts follow the repository's Hypothesis profiles (dev 20, ci 40, release 400 per test).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossopt import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer
from lossopt import functional as F
from lossopt.factory import LOSS_ALIASES, OPTIMIZER_ALIASES

# "no hang": far above the ~10 ms an example takes, below what a hang would take; the per-test
# deadline is a setting of this file only (the profiles set no deadline)
DEADLINE = timedelta(seconds=10)

# torch.optim's words for three arguments (DESIGN.md: "Invalid learning rate: -0.1 (must be >= 0)")
ARGUMENT_WORDS = {"lr": ("lr", "learning rate"), "eps": ("eps", "epsilon"), "betas": ("beta",)}

NAN, INF = float("nan"), float("inf")
SPECIAL_FLOATS = [NAN, INF, -INF, -1.0, -1e-12, 0.0, 1e-300, 0.5, 0.999, 1.0, 2.0, 1e6, 1e308, -1e308]


VALID_STRINGS = ["mean", "sum", "none", "batchmean", "binary", "multilabel", "multiclass", "supcon", "margin"]


def _weird_floats() -> st.SearchStrategy[float]:
    return st.sampled_from(SPECIAL_FLOATS) | st.floats(allow_nan=True, allow_infinity=True)


def _numpy_numbers() -> st.SearchStrategy[Any]:
    """NumPy scalars, as values read from arrays or configs arrive: taken as their Python numbers."""
    floats = st.sampled_from([np.float64, np.float32, np.float16]).flatmap(
        lambda kind: st.sampled_from(SPECIAL_FLOATS).map(kind)
    )
    integers = st.sampled_from([np.int64, np.int32, np.uint8]).flatmap(lambda kind: st.integers(0, 100).map(kind))
    return floats | integers | st.sampled_from([np.bool_(True), np.bool_(False)])


def _tensors() -> st.SearchStrategy[torch.Tensor]:
    elements = st.sampled_from([NAN, INF, -1.0, 0.0, 0.5, 1.0, 3.0])
    return st.lists(elements, min_size=0, max_size=4).map(torch.tensor) | elements.map(torch.tensor)


def weird_values() -> st.SearchStrategy[Any]:
    """Values of every kind a keyword argument might be given."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 1200),
        st.integers(-(10**30), 10**30),
        _weird_floats(),
        st.text(max_size=6),
        st.sampled_from(VALID_STRINGS),
        st.complex_numbers(max_magnitude=2.0, allow_nan=False),
        st.just(object()),
        _numpy_numbers(),
    )
    containers = st.one_of(
        st.lists(_weird_floats(), max_size=3),
        st.tuples(_weird_floats(), _weird_floats()),
        st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.0, 0.99, 0.999])),
        st.dictionaries(st.sampled_from(["classification", "regression", "depth", "x"]), scalars, max_size=3),
        _tensors(),
    )
    return scalars | containers


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], percent: int) -> st.SearchStrategy[Any]:
    """``common`` in about ``percent`` % of the draws, else ``rare`` (so that calls also get past refusals)."""
    return st.integers(0, 99).flatmap(lambda k: common if k < percent else rare)


def _names(registry: dict[str, Any], aliases: dict[str, str]) -> st.SearchStrategy[Any]:
    known = sorted(registry) + sorted(aliases)
    mangled = st.sampled_from(known).flatmap(
        lambda n: st.sampled_from([n.upper(), n.replace("_", "-"), n.replace("_", " "), f" {n} ", n + "x", n[:-1]])
    )
    wrong_types = st.one_of(st.none(), st.integers(), st.lists(st.sampled_from(known), max_size=2))
    odd = st.one_of(mangled, st.text(max_size=8), wrong_types)
    return _mostly(st.sampled_from(known), odd, 75)


def _plausible(default: Any) -> st.SearchStrategy[Any]:
    """Values of the default's kind: other flags, strings, and numbers around the default."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, str):
        return st.sampled_from(VALID_STRINGS)
    if isinstance(default, (int, float)):
        scale = st.sampled_from([0, 0.5, 1, 2, 10]).map(lambda k: type(default)(default * k))
        return scale | st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0, 2.0])
    if isinstance(default, tuple):  # betas
        return st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.0, 0.9, 0.999]))
    return st.just(default)


def _kwargs(target: Callable[..., Any], skip: int) -> st.SearchStrategy[dict[str, Any]]:
    """0 to 3 keywords of ``target`` (sometimes an unknown one), each plausible or weird."""
    parameters = list(inspect.signature(target).parameters.values())[skip:]
    names = [p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    keys = _mostly(st.sampled_from(names), st.just("bogus_option"), 95) if names else st.just("bogus_option")

    def value_for(key: str) -> st.SearchStrategy[Any]:
        plausible = _plausible(defaults[key]) if key in defaults else weird_values()
        return _mostly(plausible, weird_values(), 60)

    return st.lists(keys, min_size=0, max_size=3, unique=True).flatmap(
        lambda ks: st.fixed_dictionaries({k: value_for(k) for k in ks})
    )


def _names_an_argument(message: str, arguments: list[str]) -> bool:
    text = message.lower()
    return any(word in text for a in arguments for word in ARGUMENT_WORDS.get(a, (a,)))


def _assert_refusal(error: Exception, arguments: list[str], call: str) -> None:
    assert isinstance(error, (ValueError, TypeError)), f"{call} raised {type(error).__name__}: {error}"
    assert _names_an_argument(str(error), arguments), f"{call}: the message names none of {arguments}: {error}"


# --- losses ---------------------------------------------------------------------------------------


def _loss_inputs(name: str, loss: torch.nn.Module) -> tuple[Any, ...]:
    """A tiny valid input for the built loss ``name`` (shaped by its mode / quantile levels)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 3, generator=g)
    if name in ("mse", "mae", "huber", "log_cosh"):
        return x, torch.randn(3, 3, generator=g)
    if name == "quantile":
        levels = loss.quantile
        q = levels.numel() if isinstance(levels, torch.Tensor) and levels.ndim else None
        q = len(levels) if isinstance(levels, (list, tuple)) else q
        return (torch.randn(4, q, generator=g) if q else torch.randn(4, generator=g)), torch.randn(4, generator=g)
    if name == "sigmoid_focal":
        return x, torch.rand(3, 3, generator=g)
    if name in ("cross_entropy", "focal", "hinge"):
        return x, torch.tensor([0, 1, 2])
    if name in ("dice", "iou", "tversky", "bce_dice", "focal_dice"):
        mode = getattr(loss, "mode", "binary")
        if mode == "multiclass":
            return torch.randn(2, 3, 4, generator=g), torch.tensor([[0, 1, 2, 1], [2, 2, 0, 1]])
        shape = (2, 4) if mode == "binary" else (2, 3, 4)
        return torch.randn(*shape, generator=g), (torch.rand(*shape, generator=g) > 0.5).float()
    if name == "contrastive":
        return torch.randn(4, 3, generator=g), torch.tensor([0, 1, 0, 1])
    if name == "triplet":
        return tuple(torch.randn(2, 3, generator=g) for _ in range(3))
    if name == "cosine_embedding":
        return torch.randn(2, 3, generator=g), torch.randn(2, 3, generator=g), torch.tensor([1, -1])
    if name == "linear_cross_entropy":
        return x, torch.randn(5, 3, generator=g), torch.tensor([0, 1, 2])
    if name == "kl_divergence":
        target = torch.softmax(x, dim=1)
        return torch.log_softmax(torch.randn(3, 3, generator=g), dim=1), target.log() if loss.log_target else target
    if name == "multi_task":
        predictions = {"classification": x, "regression": torch.randn(3, 2, generator=g)}
        return predictions, {"classification": torch.tensor([0, 1, 2]), "regression": torch.zeros(3, 2)}
    raise AssertionError(f"no fuzz input for the loss {name!r}: add one")


@st.composite
def loss_calls(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    name = draw(_names(LOSSES, LOSS_ALIASES))
    try:
        cls = LOSSES[LOSS_ALIASES.get(str(name).strip().lower().replace("-", "_").replace(" ", "_"), str(name))]
    except KeyError:
        cls = None
    kwargs = draw(_kwargs(cls.__init__, skip=1)) if cls is not None else draw(_kwargs(lambda reduction: None, 0))
    return name, kwargs


def check_loss_call(name: Any, kwargs: dict[str, Any]) -> str:
    """Build and call the loss; returns the outcome ("built", "refused at build", ...) or fails the test."""
    call = f"create_loss_function({name!r}, **{kwargs!r})"
    try:
        loss = create_loss_function(name, **kwargs)
    except Exception as error:  # the point: which exception
        _assert_refusal(error, ["loss", "name", *kwargs], call)
        return "refused at build"
    canonical = next(n for n, c in LOSSES.items() if type(loss) is c)
    inputs = _loss_inputs(canonical, loss)
    try:
        value = loss(*inputs)
    except Exception as error:
        _assert_refusal(error, list(kwargs), f"{call}(*tiny inputs)")
        return "refused at call"
    if not _moderate(kwargs):
        # a weight of ~1e308 scales a float32 loss past float32's max: inf, as 1e308 * F.mse_loss(...) is
        # (test_a_huge_loss_weight_overflows_as_a_float32_product); the inputs and the loss itself are finite
        return "built (a weight > 1e6 may overflow float32)"
    assert torch.isfinite(value).all(), f"{call}(*tiny valid inputs) = {value}: a silent NaN/inf"
    return "built and finite"


def test_a_huge_loss_weight_overflows_as_a_float32_product():
    # the falsifying example of the CI profile: bce_weight = 0, dice_weight = 1e308 on tiny valid inputs;
    # the weighted sum is computed in float32, where 1e308 is already inf, as torch multiplies any loss
    loss = create_loss_function("bce_dice", bce_weight=0.0, dice_weight=1e308)
    logits, targets = torch.tensor([[[0.3, -0.2]]]), torch.tensor([[[1.0, 0.0]]])
    dice = create_loss_function("dice")(logits, targets)
    assert 0 < dice < 1  # the unweighted part is an ordinary number
    assert loss(logits, targets) == torch.tensor(1e308, dtype=torch.float32) * dice == float("inf")


@settings(deadline=DEADLINE)
@given(loss_calls())
def test_fuzz_create_loss_function(call):
    check_loss_call(*call)


# --- optimizers -----------------------------------------------------------------------------------


@st.composite
def optimizer_calls(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    name = draw(_names(OPTIMIZERS, OPTIMIZER_ALIASES))
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    cls = OPTIMIZERS.get(OPTIMIZER_ALIASES.get(key, key))
    kwargs = draw(_kwargs(cls.__init__, skip=2)) if cls is not None else draw(_kwargs(lambda lr: None, 0))
    return name, kwargs


def _moderate(kwargs: dict[str, Any], bound: float = 1e6) -> bool:
    """Every number given has magnitude <= ``bound`` (1e6: three steps cannot overflow float32)."""

    def moderate(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return all(moderate(v) for v in value)
        if isinstance(value, torch.Tensor):
            return value.numel() == 0 or bool(value.abs().max() <= bound)
        return not isinstance(value, (int, float)) or abs(value) <= bound

    return all(moderate(v) for v in kwargs.values())


def check_optimizer_call(name: Any, kwargs: dict[str, Any]) -> str:
    call = f"create_optimizer({name!r}, params, **{kwargs!r})"
    # differentiable=True updates through autograd: a leaf that requires grad cannot be changed in place
    # (torch.optim's rule too), so its parameter is a plain tensor whose .grad the loop sets
    param = torch.tensor([1.0, -2.0, 0.5], requires_grad=kwargs.get("differentiable") is not True)
    try:
        optimizer = create_optimizer(name, [param], **kwargs)
    except Exception as error:  # the point: which exception
        _assert_refusal(error, ["optimizer", "name", "params", *kwargs], call)
        return "refused at build"
    try:
        # the compiled single-pass kernels (RAdam/AdaBelief fused=True) run eagerly: the same code,
        # none of inductor's compile time per example (their compile is tested in the optimizer suites)
        optimizer.train()  # type: ignore[attr-defined]  # Schedule-Free starts in eval mode; a no-op for the others
        with torch.compiler.set_stance("force_eager"):
            for _ in range(3):
                param.grad = torch.tensor([0.3, -1.0, 2.0])
                optimizer.step()
    except Exception as error:
        if isinstance(error, RuntimeError) and "without overflow" in str(error) and not _moderate(kwargs, 1e30):
            # a step of lr ~1e37 overflows float32 inside the foreach kernel: torch.optim.Adam raises the
            # same RuntimeError (test_a_step_that_overflows_float32_raises_as_torch_optim_does); no bound
            # on lr in __init__ would be right for every parameter dtype
            return "overflow at step (as torch.optim)"
        _assert_refusal(error, list(kwargs), f"{call}.step()")
        return "refused at step"
    if _moderate(kwargs):
        assert torch.isfinite(param).all(), f"{call}: three steps gave {param.detach()}: a silent NaN/inf"
    return "stepped"


@settings(deadline=DEADLINE)
@given(optimizer_calls())
def test_fuzz_create_optimizer(call):
    check_optimizer_call(*call)


def test_a_step_that_overflows_float32_raises_as_torch_optim_does():
    # lr = float32 max / 10: lr / (1 - beta1) overflows float32 in the update; torch's own Adam raises the
    # same RuntimeError from its foreach kernel (measured on torch 2.13), so lossopt matches it
    for cls in (torch.optim.Adam, OPTIMIZERS["adam"]):
        param = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
        optimizer = cls([param], lr=3.4028234663852886e37)
        with pytest.raises(RuntimeError, match="cannot be converted to type float without overflow"):  # noqa: PT012
            for _ in range(3):
                param.grad = torch.tensor([0.3, -1.0, 2.0])
                optimizer.step()


# --- NaN inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_nan_inputs_propagate(name):
    # a NaN in the (first floating) input gives a NaN loss, never an unrelated error (documented in
    # lossopt.functional's module docstring); value checks of *targets* (probabilities, class indices)
    # refuse NaN targets with a ValueError naming them, which test_nan_targets_are_refused_or_propagate pins
    options = {"loss_weights": {"classification": 1.0, "regression": 1.0}} if name == "multi_task" else {}
    loss = create_loss_function(name, **options)
    inputs = list(_loss_inputs(name, loss))
    if name == "multi_task":
        inputs[0] = {**inputs[0], "regression": torch.full((3, 2), NAN)}
    else:
        inputs[0] = torch.full_like(inputs[0], NAN)
    value = loss(*inputs)
    assert torch.isnan(value).any(), f"{name}: NaN predictions gave {value}"


# --- what the fuzzer found: each input, pinned with the error it gets now ---------------------------
# (what the input did before the check, in the comment)

_P = [torch.zeros(2, requires_grad=True)]
FOUND: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # old: accepted, the loss was inf (a 0-d tensor passed `>= 0`)
    (
        "bce_weight=tensor(inf)",
        lambda: create_loss_function("bce_dice", bce_weight=torch.tensor(INF)),
        TypeError,
        r"bce_weight must be a real number; got tensor\(inf\)",
    ),
    # old: RuntimeError "Boolean value of Tensor with no values is ambiguous"
    (
        "bce_weight=tensor([])",
        lambda: create_loss_function("bce_dice", bce_weight=torch.tensor([])),
        TypeError,
        r"bce_weight must be a real number",
    ),
    # old: TypeError "'>=' not supported between instances of 'NoneType' and 'int'" (no argument named)
    (
        "bce_weight=None",
        lambda: create_loss_function("bce_dice", bce_weight=None),
        TypeError,
        r"bce_weight must be a real number; got None",
    ),
    ("smooth=None", lambda: create_loss_function("dice", smooth=None), TypeError, r"smooth must be a real number"),
    ("margin='1'", lambda: create_loss_function("contrastive", margin="1"), TypeError, r"margin must be a real number"),
    (
        "dice_weight=inf",
        lambda: create_loss_function("focal_dice", dice_weight=INF),
        ValueError,
        r"dice_weight must be finite; got inf",
    ),
    # old: built, then OverflowError "int too big to convert" at the call
    ("smooth=2**64", lambda: create_loss_function("iou", smooth=2**64), ValueError, r"smooth must fit in int64"),
    ("margin=2**64", lambda: create_loss_function("hinge", margin=2**64), ValueError, r"margin must fit in int64"),
    # old: TypeError "new(): invalid data type 'str'" / ValueError "Overflow when unpacking long long"
    ("weight=''", lambda: create_loss_function("dice", weight=""), TypeError, r"weight must be a tensor"),
    ("weight=2**63", lambda: create_loss_function("dice", weight=2**63), TypeError, r"weight must be a tensor"),
    # old: built, then OverflowError / ValueError "Overflow when unpacking long long" at the call
    (
        "ignore_index=2**63",
        lambda: create_loss_function("cross_entropy", ignore_index=2**63),
        ValueError,
        r"ignore_index must fit in int64",
    ),
    (
        "ignore_index=-2**63-1",
        lambda: create_loss_function("focal", ignore_index=-(2**63) - 1),
        ValueError,
        r"ignore_index must fit in int64",
    ),
    (
        "ignore_index=1.5",
        lambda: create_loss_function("cross_entropy", ignore_index=1.5),
        TypeError,
        r"ignore_index must be an integer",
    ),
    # old: TypeError "string indices must be integers" / "'NoneType' object is not iterable" / ValueError
    # "predictions must hold at least one task" (naming the wrong argument)
    (
        "loss_weights='0'",
        lambda: create_loss_function("multi_task", loss_weights="0"),
        TypeError,
        r"loss_weights must be a dict",
    ),
    (
        "loss_weights=None",
        lambda: create_loss_function("multi_task", loss_weights=None),
        TypeError,
        r"loss_weights must be a dict",
    ),
    (
        "loss_weights={}",
        lambda: create_loss_function("multi_task", loss_weights={}),
        ValueError,
        r"loss_weights must name at least one task",
    ),
    (
        "loss_weights={'regression': '1'}",
        lambda: create_loss_function("multi_task", loss_weights={"regression": "1"}),
        TypeError,
        r"loss_weights\['regression'\] must be a real number",
    ),
    (
        "task_losses={'regression': 3}",
        lambda: create_loss_function("multi_task", loss_weights={"regression": 1.0}, task_losses={"regression": 3}),
        TypeError,
        r"task_losses\['regression'\] must be a loss name or a callable",
    ),
    # old: RuntimeError "Boolean value of Tensor with no values is ambiguous" at the call
    (
        "log_target=tensor([])",
        lambda: create_loss_function("kl", log_target=torch.tensor([])),
        TypeError,
        r"log_target must be True or False",
    ),
    ("batch='no'", lambda: create_loss_function("dice", batch="no"), TypeError, r"batch must be True or False"),
    ("swap=1", lambda: create_loss_function("triplet", swap=1), TypeError, r"swap must be True or False"),
    # old: TypeError "must be real number, not NoneType" (no argument named)
    (
        "quantile=None",
        lambda: create_loss_function("pinball", quantile=None),
        TypeError,
        r"quantile must be a tensor \(or a sequence of numbers\)",
    ),
    # old: a truthy non-bool flag silently chose a code path (differentiable=1 then failed in step())
    (
        "differentiable=1",
        lambda: create_optimizer("adam", _P, differentiable=1),
        TypeError,
        r"Invalid differentiable: 1 \(must be True or False\)",
    ),
    ("amsgrad='no'", lambda: create_optimizer("adabelief", _P, amsgrad="no"), TypeError, r"Invalid amsgrad: 'no'"),
    ("nesterov=None", lambda: create_optimizer("sgd", _P, nesterov=None), TypeError, r"Invalid nesterov: None"),
    # old: RuntimeError "Boolean value of Tensor with no values is ambiguous"
    (
        "fused=tensor([])",
        lambda: create_optimizer("adam", _P, fused=torch.tensor([])),
        TypeError,
        r"Invalid fused: tensor\(\[\]\) \(must be True, False or None\)",
    ),
    ("foreach='yes'", lambda: create_optimizer("radam", _P, foreach="yes"), TypeError, r"Invalid foreach: 'yes'"),
    # old: built, then OverflowError "int too big to convert" in step()
    (
        "eps=2**64",
        lambda: create_optimizer("adam", _P, eps=2**64),
        ValueError,
        r"Invalid epsilon value: 18446744073709551616 \(an integer must fit in int64",
    ),
    (
        "max_grad_norm=2**64",
        lambda: create_optimizer("radam", _P, max_grad_norm=2**64),
        ValueError,
        r"Invalid max_grad_norm: 18446744073709551616 \(an integer must fit in int64",
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "message"), FOUND, ids=[f[0] for f in FOUND])
def test_what_the_fuzzer_found_is_refused_naming_the_argument(label, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_triplet_with_a_large_p_is_finite_and_matches_float64():
    # old: p = 93 on ordinary float32 embeddings gave inf (|d|^93 overflows float32 past |d| = 2.6);
    # the norm is now taken of d / max|d| and scaled back. Reference: torch's pairwise_distance in float64
    # (no overflow there for these values), loss (1) computed from it by hand.
    g = torch.Generator().manual_seed(0)
    a, pos, neg = (4 * torch.randn(4, 3, generator=g) for _ in range(3))
    for p in (3.0, 20.0, 93.0):
        value = F.triplet_loss(a, pos, neg, p=p, reduction="none")
        d = [torch.pairwise_distance(a.double(), b.double(), p=p, eps=1e-6) for b in (pos, neg)]
        torch.testing.assert_close(value, torch.relu(d[0] - d[1] + 1.0).float())
    a64, pos64, neg64 = (v.double().requires_grad_() for v in (a, pos, neg))
    assert torch.autograd.gradcheck(
        lambda *v: F.triplet_loss(*v, p=7.0, swap=True, reduction="none"), (a64, pos64, neg64), fast_mode=True
    )


def _numeric(cls: type, skip: int) -> list[str]:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[skip:]
    return [
        p.name
        for p in parameters
        if (isinstance(p.default, (int, float)) and not isinstance(p.default, bool)) or p.name == "betas"
    ]


NUMERIC_OPTIMIZER_ARGUMENTS = [(name, arg) for name in sorted(OPTIMIZERS) for arg in _numeric(OPTIMIZERS[name], 2)]


@pytest.mark.parametrize("value", [NAN, INF, "0.1", None])
@pytest.mark.parametrize(("name", "argument"), NUMERIC_OPTIMIZER_ARGUMENTS)
def test_every_numeric_optimizer_argument_refuses_nan_inf_strings_and_none(name, argument, value):
    if argument == "betas":
        value = (0.9, value)
    with pytest.raises((ValueError, TypeError)) as info:
        create_optimizer(name, [torch.zeros(2, requires_grad=True)], **{argument: value})
    assert _names_an_argument(str(info.value), [argument]), info.value


NUMERIC_LOSS_ARGUMENTS = [(name, arg) for name in sorted(LOSSES) for arg in _numeric(LOSSES[name], 1)]


def _none_allowed(name: str, argument: str) -> bool:  # alpha=None: no class weighting (documented)
    return "None" in str(inspect.signature(LOSSES[name].__init__).parameters[argument].annotation)


@pytest.mark.parametrize(
    ("name", "argument", "value"),
    [
        (name, argument, value)
        for name, argument in NUMERIC_LOSS_ARGUMENTS
        for value in (NAN, "0.1", None)
        if not (value is None and _none_allowed(name, argument))
    ],
)
def test_every_numeric_loss_argument_refuses_nan_strings_and_none(name, argument, value):
    with pytest.raises((ValueError, TypeError)) as info:
        create_loss_function(name, **{argument: value})
    assert _names_an_argument(str(info.value), [argument]), info.value


INTEGER_TARGETS = ("contrastive", "cross_entropy", "focal", "hinge", "linear_cross_entropy")  # indices / labels
PROBABILITY_TARGETS = ("bce_dice", "dice", "focal_dice", "iou", "sigmoid_focal", "tversky")  # float targets in [0, 1]


@pytest.mark.parametrize("name", sorted(set(LOSSES) - set(INTEGER_TARGETS)))
def test_nan_targets_propagate_or_are_refused_naming_them(name):
    # documented in docs/api.rst ("Non-finite inputs ..."): NaN targets propagate, except targets checked
    # as probabilities / labels / class indices, which a value check refuses naming them
    options = {"loss_weights": {"classification": 1.0, "regression": 1.0}} if name == "multi_task" else {}
    loss = create_loss_function(name, **options)
    inputs = list(_loss_inputs(name, loss))
    if name == "multi_task":
        inputs[1] = {**inputs[1], "regression": torch.full((3, 2), NAN)}
    else:
        floats = [i for i, v in enumerate(inputs) if isinstance(v, torch.Tensor) and v.is_floating_point()]
        assert len(floats) >= 2, f"{name} has integer targets: list it in INTEGER_TARGETS"
        inputs[floats[-1]] = torch.full_like(inputs[floats[-1]], NAN)
    if name in PROBABILITY_TARGETS:  # targets checked as probabilities
        with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\]; got nan"):
            loss(*inputs)
        return
    value = loss(*inputs)
    assert torch.isnan(value).any(), f"{name}: NaN targets gave {value}"


# --- integer masks and the numeric type rule, drawn -----------------------------------------------------------

MASK_DTYPES = [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.uint16, torch.uint32, torch.uint64]
OVERLAP_LOSSES = ("dice", "iou", "tversky", "bce_dice", "focal_dice")


@st.composite
def integer_masks(draw: st.DrawFn) -> tuple[str, str, torch.Tensor, torch.Tensor]:
    """A segmentation loss, a sigmoid mode, logits and an integer mask of any integer dtype, mostly 0/1, sometimes
    holding a value a mask holds by mistake (255 of a PNG, a class label, a -1 marker; in the dtype's range)."""
    name, mode, dtype = (
        draw(st.sampled_from(OVERLAP_LOSSES)),
        draw(st.sampled_from(["binary", "multilabel"])),
        draw(st.sampled_from(MASK_DTYPES)),
    )
    shape = draw(st.sampled_from([(1, 1, 4), (2, 3, 2, 2), (3, 2, 5)]))
    wrong = [v for v in (255, 2, 3, 7, 127, -1, -128) if v >= 0 or dtype.is_signed]
    values = draw(st.lists(st.sampled_from([0, 1]) | st.sampled_from(wrong), min_size=1, max_size=4))
    flat = torch.tensor([values[i % len(values)] if draw(st.booleans()) else 0 for i in range(math.prod(shape))])
    logits = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    return name, mode, logits, flat.reshape(shape).to(dtype)


@settings(deadline=DEADLINE)
@given(integer_masks())
def test_integer_masks_give_the_float_masks_loss_or_are_refused_at_their_first_bad_value(case):
    name, mode, logits, mask = case
    fn = getattr(F, f"{name}_loss")
    as_int = mask.to(torch.int64)
    bad = (as_int < 0) | (as_int > 1)
    if not bad.any():
        assert torch.equal(fn(logits, mask, mode=mode), fn(logits, mask.bool(), mode=mode))
        return
    index = tuple(int(i) for i in torch.nonzero(bad)[0])
    with pytest.raises(ValueError) as error:
        fn(logits, mask, mode=mode)
    assert str(error.value) == (
        f"targets must be probabilities in [0, 1]; got {float(as_int[index])!r} at index {index}"
    ), (name, mode, mask.dtype)


NUMERIC_CALLS = [(name, argument) for name, argument in NUMERIC_LOSS_ARGUMENTS]


@settings(deadline=DEADLINE)
@given(call=st.sampled_from(NUMERIC_CALLS), data=st.data())
def test_numeric_loss_arguments_take_numpy_numbers_and_refuse_other_types_naming_them(call, data):
    name, argument = call
    default = inspect.signature(LOSSES[name].__init__).parameters[argument].default
    kind = data.draw(st.sampled_from([np.float64, np.float32] if isinstance(default, float) else [np.int64, np.int32]))
    loss = create_loss_function(name, **{argument: kind(default)})
    reference = create_loss_function(name, **{argument: default})
    inputs = _loss_inputs(name, reference)
    assert torch.equal(loss(*inputs), reference(*inputs)), (name, argument, kind)
    wrong = data.draw(st.sampled_from([True, False, "1", [default], {argument: default}, 1j, object()]))
    if argument in ("quantile",) and isinstance(wrong, list):
        return  # a list of levels: quantile's multi-quantile form
    with pytest.raises(TypeError) as error:
        create_loss_function(name, **{argument: wrong})
    assert argument in str(error.value), error.value


def _outcome_counts(check: Callable[..., str], strategy: st.SearchStrategy[Any], examples: int) -> dict[str, int]:
    counts: dict[str, int] = {}

    @settings(max_examples=examples, deadline=DEADLINE, database=None)
    @given(strategy)
    def run(call: Any) -> None:
        outcome = check(*call)
        counts[outcome] = counts.get(outcome, 0) + 1

    run()
    return counts


if __name__ == "__main__":
    import sys

    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    print("losses", _outcome_counts(check_loss_call, loss_calls(), examples))
    print("optimizers", _outcome_counts(check_optimizer_call, optimizer_calls(), examples))
