"""Inputs a user may hand an optimizer that used to give silently wrong results or opaque errors.

- complex parameters: updated as their real views, as ``torch.optim`` does (Adam, AdamW, RAdam: through
  ``torch.view_as_real``; SGD on the complex tensors themselves), on every kernel;
- a ``state_dict`` saved by another update rule: refused, naming both rules;
- tensor ``betas``, integer ``step`` counters in a loaded state, NumPy numbers: accepted as torch accepts them;
- hyperparameters of the wrong type: a ``TypeError`` naming the argument and the type received.

Expected values come from ``torch.optim`` (same rule, same inputs) or from the same lossopt optimizer run on
the real view or with Python numbers.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
import pytest
import torch

import lossopt

OURS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (lossopt.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    "adam": (lossopt.Adam, {"lr": 0.1, "weight_decay": 0.01}),
    "adamw": (lossopt.AdamW, {"lr": 0.1}),
    "radam": (lossopt.RAdam, {"lr": 0.1, "weight_decay": 0.01}),
    "adabelief": (lossopt.AdaBelief, {"lr": 0.1}),
}
TORCH: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "radam": torch.optim.RAdam,
}
KERNELS = {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def trajectory(cls: type[torch.optim.Optimizer], kwargs: dict[str, Any], dtype: torch.dtype, steps: int = 10):
    start = torch.Generator().manual_seed(1)
    param = torch.nn.Parameter(torch.randn(5, 3, dtype=dtype, generator=start))
    optimizer = cls([param], **kwargs)
    grads = torch.Generator().manual_seed(2)
    for _ in range(steps):  # 10 steps: RAdam and AdaBelief past their rectification threshold (t = 6)
        param.grad = torch.randn(param.shape, dtype=dtype, generator=grads)
        optimizer.step()
    return param.detach(), optimizer


# --- complex parameters


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("name", sorted(TORCH))
def test_complex_parameters_step_as_torch_optim(name: str, kernel: str, dtype: torch.dtype) -> None:
    cls, kwargs = OURS[name]
    ours, _ = trajectory(cls, {**kwargs, **KERNELS[kernel]}, dtype)
    flags = {"foreach": KERNELS[kernel].get("foreach", True)}  # torch refuses fused=True for complex
    theirs, _ = trajectory(TORCH[name], {**kwargs, **flags}, dtype)
    if name == "radam" or kernel == "fused":
        # RAdam: lossopt's rectified step orders its scalar arithmetic otherwise (its docstring); fused: torch has
        # no fused kernel for complex parameters, lossopt runs its fused kernel on the real view (compared here
        # with torch's multi-tensor kernel): the dtype's tolerance
        torch.testing.assert_close(ours, theirs)
    else:
        assert torch.equal(ours, theirs), f"{name}[{kernel}] differs from torch.optim by {(ours - theirs).abs().max()}"


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("name", sorted(set(OURS) - {"sgd"}))  # SGD runs on the complex tensors, as torch (above)
def test_complex_parameters_step_as_their_real_view(name: str, kernel: str, dtype: torch.dtype) -> None:
    cls, kwargs = OURS[name]
    kwargs = {**kwargs, **KERNELS[kernel], **({"amsgrad": True} if name in ("adam", "adamw", "adabelief") else {})}
    complex_run, optimizer = trajectory(cls, kwargs, dtype)
    start = torch.Generator().manual_seed(1)
    real = torch.nn.Parameter(torch.view_as_real(torch.randn(5, 3, dtype=dtype, generator=start)).clone())
    real_optimizer = cls([real], **kwargs)
    grads = torch.Generator().manual_seed(2)
    for _ in range(10):
        real.grad = torch.view_as_real(torch.randn(5, 3, dtype=dtype, generator=grads)).clone()
        real_optimizer.step()
    torch.testing.assert_close(torch.view_as_real(complex_run), real.detach(), rtol=0, atol=0)
    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    assert all(v.is_complex() for k, v in state.items() if k != "step"), "the state keeps the parameter's dtype"


# --- a state dict of another rule


def saved(make: Any) -> dict[str, Any]:
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = make([param])
    param.grad = torch.ones(3)
    optimizer.step()
    return optimizer.state_dict()


SOURCES = {f"lossopt.{name}": (lambda p, c=cls, k=kw: c(p, **k)) for name, (cls, kw) in OURS.items()}
SOURCES.update({f"torch.optim.{name}": (lambda p, c=cls: c(p, lr=0.1)) for name, cls in TORCH.items()})


@pytest.mark.parametrize("target", sorted(OURS))
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_state_dict_of_another_rule_is_refused_naming_both(source: str, target: str) -> None:
    state_dict = saved(SOURCES[source])
    cls, kwargs = OURS[target]
    optimizer = cls([torch.nn.Parameter(torch.ones(3))], **kwargs)
    if source.rsplit(".", 1)[1] == target:
        optimizer.load_state_dict(state_dict)  # the same rule, lossopt's or torch's: loads
        return
    with pytest.raises(ValueError, match=rf"Invalid state_dict for {cls.__name__}: group 0 was saved by \w+"):
        optimizer.load_state_dict(state_dict)
    assert optimizer.state_dict()["state"] == {}, "a refused load changes nothing"


# --- tensor betas, integer step counters, NumPy numbers


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("name", ["adam", "adamw", "radam", "adabelief"])
def test_tensor_betas_are_read_once_at_construction(name: str, kernel: str) -> None:
    cls, kwargs = OURS[name]
    with_tensors, optimizer = trajectory(
        cls, {**kwargs, **KERNELS[kernel], "betas": (torch.tensor(0.5), 0.75)}, torch.float64
    )
    with_floats, _ = trajectory(cls, {**kwargs, **KERNELS[kernel], "betas": (0.5, 0.75)}, torch.float64)
    assert torch.equal(with_tensors, with_floats)
    assert optimizer.defaults["betas"] == (0.5, 0.75)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float64], ids=str)
@pytest.mark.parametrize("kernel", ["single", "foreach"])
@pytest.mark.parametrize("name", ["adam", "adamw", "radam", "adabelief"])
def test_a_loaded_integer_step_counter_is_taken(name: str, kernel: str, dtype: torch.dtype) -> None:
    cls, kwargs = OURS[name]
    extras = {"warmup_steps": 3, "max_grad_norm": 1.0, **KERNELS[kernel]}
    _, optimizer = trajectory(cls, {**kwargs, **extras}, torch.float32, steps=2)
    state_dict = copy.deepcopy(optimizer.state_dict())  # load_state_dict would share the live tensors
    expected = copy.deepcopy(optimizer.state_dict())
    state_dict["state"][0]["step"] = torch.tensor(2, dtype=dtype)
    results = []
    for loaded in (state_dict, expected):
        param = torch.nn.Parameter(optimizer.param_groups[0]["params"][0].detach().clone())
        resumed = cls([param], **kwargs, **extras)
        resumed.load_state_dict(loaded)
        param.grad = torch.ones_like(param)
        resumed.step()
        assert resumed.state[param]["step"].dtype == torch.float32
        results.append(param.detach())
    assert torch.equal(*results)


NUMPY_CASES = [
    ("adamw", {"lr": np.float32(0.125), "eps": np.float64(1e-8), "weight_decay": np.float32(0.5)}),
    ("sgd", {"lr": np.float64(0.1), "momentum": np.float32(0.5), "dampening": np.float16(0.25)}),
    ("sgd", {"lr": 0.1, "warmup_steps": np.int64(3), "use_cyclical_lr": True, "cycle_length": np.int32(4)}),
    ("radam", {"lr": 0.1, "max_grad_norm": np.float32(0.5), "warmup_steps": np.int16(2)}),
]


@pytest.mark.parametrize(("name", "kwargs"), NUMPY_CASES)
def test_numpy_numbers_are_taken_as_the_python_numbers_they_equal(name: str, kwargs: dict[str, Any]) -> None:
    cls, _ = OURS[name]
    python = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in kwargs.items()}
    ours, optimizer = trajectory(cls, kwargs, torch.float32)
    reference, _ = trajectory(cls, python, torch.float32)
    assert torch.equal(ours, reference)
    for key, value in optimizer.defaults.items():
        assert not isinstance(value, np.generic), f"defaults[{key!r}] kept a NumPy {type(value).__name__}"


WRONG_TYPES = [
    ("adamw", "lr", "0.1"),
    ("adamw", "eps", None),
    ("adamw", "weight_decay", [0.01]),
    ("adamw", "warmup_steps", "1"),
    ("adamw", "warmup_steps", 2.0),
    ("adamw", "max_grad_norm", "1"),
    ("adamw", "max_grad_norm", torch.tensor(1.0)),
    ("sgd", "momentum", True),
    ("sgd", "cycle_length", None),
    ("sgd", "cycle_length", 10.0),
    ("sgd", "use_cyclical_lr", 1),
    ("sgd", "dampening", np.bool_(True)),
    ("radam", "eps", torch.tensor(1e-8)),
    ("adabelief", "weight_decay", "0"),
]


@pytest.mark.parametrize(("name", "argument", "value"), WRONG_TYPES, ids=[f"{n}-{a}={v!r}" for n, a, v in WRONG_TYPES])
def test_a_wrong_type_is_a_type_error_naming_the_argument_and_the_type(name: str, argument: str, value: Any) -> None:
    cls, kwargs = OURS[name]
    with pytest.raises(TypeError) as caught:
        cls([torch.nn.Parameter(torch.ones(2))], **{**kwargs, argument: value})
    message = str(caught.value)
    words = {"lr": "learning rate", "eps": "epsilon value", "weight_decay": "weight_decay value"}
    assert words.get(argument, argument.replace("momentum", "momentum value")) in message, message
    if not isinstance(value, bool) and argument != "use_cyclical_lr":
        assert re.search(rf"got {type(value).__name__}\)", message), message
    assert isinstance(caught.value, ValueError), "still the ValueError earlier versions raised"


def test_a_param_group_is_checked_as_the_constructor_arguments() -> None:
    params = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError, match=r"Invalid learning rate: -1 \(must be >= 0\)"):
        lossopt.AdamW([{"params": params, "lr": -1}])
    optimizer = lossopt.AdamW(params)
    with pytest.raises(TypeError, match=r"Invalid warmup_steps: 'x' \(must be an integer >= 0; got str\)"):
        optimizer.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "warmup_steps": "x"})
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": np.float32(0.5)})
    assert type(optimizer.param_groups[1]["lr"]) is float
