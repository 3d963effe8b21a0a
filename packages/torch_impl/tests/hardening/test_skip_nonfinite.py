"""``skip_nonfinite=True``: a step whose global gradient norm is inf or NaN is skipped on the device.

The reference for a skipped step is the run that never saw it: the same optimizer, the same
gradients, with ``step()`` simply not called at those steps. Parameters, every state tensor
(moments, step counters), the schedule clock must then be bit-identical, for every optimizer and
every kernel (per-tensor loop, foreach, fused), with warmup, clipping, weight decay and two
parameter groups on. The decision is taken without reading any tensor back to the host
(``aten._local_scalar_dense`` is never called inside ``step()``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (AdvancedSGD, {"momentum": 0.9, "weight_decay": 0.01, "use_cyclical_lr": True, "cycle_length": 4}),
    "sgd_nesterov": (AdvancedSGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "adamw": (AdvancedAdamW, {"amsgrad": True, "weight_decay": 0.01}),
    "adam": (AdvancedAdam, {"weight_decay": 0.01}),
    "radam": (RAdam, {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    "adabelief": (AdaBelief, {"weight_decay": 0.01, "amsgrad": True}),
    "adabelief_l2": (AdaBelief, {"weight_decay": 0.01, "weight_decouple": False, "rectify": False}),
}
KERNELS = {"forloop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
STEPS = 10
SKIPPED = {0: ("inf", 0), 4: ("nan", 2)}  # step -> (value, index of the parameter that gets it)


def cases() -> list[Any]:
    out = []
    for name in OPTIMIZERS:
        for kernel in KERNELS:
            out.append(pytest.param(name, kernel, id=f"{name}-{kernel}"))
    return out


def make(name: str, kernel: str, **overrides: Any) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
    cls, extra = OPTIMIZERS[name]
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in [(5,), (2, 3), ()]]
    hparams = {"lr": 0.05, "warmup_steps": 3, "max_grad_norm": 1.0, "skip_nonfinite": True, **extra, **overrides}
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]
    return cls(groups, **hparams, **KERNELS[kernel]), params  # type: ignore[call-arg]


def gradients(params: list[torch.nn.Parameter]) -> list[list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [[torch.randn(p.shape, generator=gen) * (1 + step) for p in params] for step in range(STEPS)]


def run(
    name: str, kernel: str, *, inject: bool, around: Callable[[], Any] | None = None, **overrides: Any
) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
    """``STEPS`` steps; at the steps of ``SKIPPED`` a non-finite gradient (``inject``) or no step at all."""
    optimizer, params = make(name, kernel, **overrides)
    for step, grads in enumerate(gradients(params)):
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad.clone()
        if step in SKIPPED:
            if not inject:
                continue  # the run that never saw this step
            value, index = SKIPPED[step]
            params[index].grad.view(-1)[0] = float(value)  # type: ignore[union-attr]
        if around is None:
            optimizer.step()
        else:
            with around():
                optimizer.step()
    return optimizer, params


def assert_same_state(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a["state"].keys() == state_b["state"].keys()
    for index, entries in state_a["state"].items():
        assert entries.keys() == state_b["state"][index].keys()
        for key, value in entries.items():
            assert torch.equal(value, state_b["state"][index][key]), f"state[{index}][{key!r}]: {value} vs {state_b}"
    for group_a, group_b in zip(state_a["param_groups"], state_b["param_groups"], strict=True):
        assert torch.equal(torch.as_tensor(group_a["schedule_step"]), torch.as_tensor(group_b["schedule_step"]))


@pytest.mark.parametrize(("name", "kernel"), cases())
def test_a_nonfinite_step_leaves_the_trajectory_of_the_run_that_never_saw_it(name: str, kernel: str) -> None:
    skipping, params = run(name, kernel, inject=True)
    reference, expected = run(name, kernel, inject=False)
    for index, (got, want) in enumerate(zip(params, expected, strict=True)):
        assert torch.isfinite(got).all(), f"{name}/{kernel}: param {index} went non-finite: {got}"
        assert torch.equal(got, want), f"{name}/{kernel}: param {index}: {got} vs {want}"
    assert_same_state(skipping, reference)
    clocks = [float(group["schedule_step"]) for group in skipping.param_groups]
    assert clocks == [STEPS - len(SKIPPED)] * 2  # the clock stood still on the skipped steps
    assert [float(group["skipped_steps"]) for group in skipping.param_groups] == [len(SKIPPED)] * 2
    assert [float(group["skipped_steps"]) for group in reference.param_groups] == [0.0, 0.0]


class _HostReads(TorchDispatchMode):
    """Counts ``aten._local_scalar_dense``: every ``.item()``, ``float(t)``, tensor passed as a ``Scalar``."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func is torch.ops.aten._local_scalar_dense.default:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(("name", "kernel"), cases())
def test_the_skip_is_decided_without_reading_a_tensor_back(name: str, kernel: str) -> None:
    # With skip_nonfinite every counter lives with the parameters, so on a GPU any read would be a
    # device sync; on the CPU we count the reads themselves (the helper is checked just below).
    modes: list[_HostReads] = []

    def around() -> _HostReads:
        modes.append(_HostReads())
        return modes[-1]

    run(name, kernel, inject=True, around=around)
    assert len(modes) == STEPS
    assert [mode.count for mode in modes] == [0] * STEPS


def test_the_host_read_counter_sees_item_float_and_tensor_scalars() -> None:
    with _HostReads() as mode:
        torch.tensor(1.0).item()
        float(torch.tensor(2.0))
        torch._foreach_lerp_([torch.zeros(2)], [torch.ones(2)], torch.tensor(0.5))  # a Tensor as a Scalar
    assert mode.count == 3


@pytest.mark.parametrize(("name", "kernel"), cases())
def test_skipped_steps_travel_in_the_state_dict(name: str, kernel: str) -> None:
    skipping, params = run(name, kernel, inject=True)
    state = copy.deepcopy(skipping.state_dict())  # load_state_dict would share the tensors of a live optimizer
    assert [float(group["skipped_steps"]) for group in state["param_groups"]] == [2.0, 2.0]
    fresh, fresh_params = make(name, kernel)
    with torch.no_grad():
        for mine, theirs in zip(fresh_params, params, strict=True):
            mine.copy_(theirs)
    fresh.load_state_dict(state)
    assert [float(group["skipped_steps"]) for group in fresh.param_groups] == [2.0, 2.0]
    for optimizer, ps in ((skipping, params), (fresh, fresh_params)):
        for p in ps:
            p.grad = torch.full_like(p, math.nan) if p.dim() == 0 else torch.ones_like(p)
        optimizer.step()  # skipped: a NaN gradient
        for p in ps:
            p.grad = torch.ones_like(p)
        optimizer.step()
    for mine, theirs in zip(fresh_params, params, strict=True):
        assert torch.equal(mine, theirs)
    assert [float(group["skipped_steps"]) for group in fresh.param_groups] == [3.0, 3.0]


@pytest.mark.parametrize(("name", "kernel"), cases())
def test_with_finite_gradients_the_flag_changes_nothing_but_rounding(name: str, kernel: str) -> None:
    # skip_nonfinite=True computes the same update with the counters on the device and the step
    # size applied as a divisor (no host read): equal up to float32 rounding.
    optimizer_on, params_on = make(name, kernel, skip_nonfinite=True)
    optimizer_off, params_off = make(name, kernel, skip_nonfinite=False)
    for grads in gradients(params_on):
        for optimizer, ps in ((optimizer_on, params_on), (optimizer_off, params_off)):
            for p, g in zip(ps, grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
    for got, want in zip(params_on, params_off, strict=True):
        torch.testing.assert_close(got, want)  # float32 defaults: rtol 1.3e-6, atol 1e-5


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_default_is_off_and_a_nan_gradient_then_propagates(name: str) -> None:
    cls, extra = OPTIMIZERS[name]
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = cls([param], lr=0.1, **extra)  # type: ignore[call-arg]
    assert optimizer.defaults["skip_nonfinite"] is False
    assert "skipped_steps" not in optimizer.param_groups[0]
    param.grad = torch.tensor([1.0, math.nan, 1.0])
    optimizer.step()
    assert torch.isnan(param).any()


@pytest.mark.parametrize("cls", [AdvancedSGD, AdvancedAdamW, AdvancedAdam, RAdam, AdaBelief])
@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_skip_nonfinite_must_be_a_bool(cls: type[torch.optim.Optimizer], value: object) -> None:
    with pytest.raises(TypeError, match=rf"Invalid skip_nonfinite: {value!r} \(must be True or False\)"):
        cls([torch.nn.Parameter(torch.ones(1))], skip_nonfinite=value)  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", [AdvancedSGD, AdvancedAdamW, AdvancedAdam, RAdam, AdaBelief])
def test_every_docstring_documents_the_default(cls: type[torch.optim.Optimizer]) -> None:
    doc = " ".join((cls.__doc__ or "").split())
    assert "skip_nonfinite" in doc
    assert "default ``False``" in doc


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_sgd_a_skipped_first_step_leaves_a_zero_momentum_buffer(kernel: str) -> None:
    # Documented in AdvancedSGD: no buffer would need a host read, so a skipped first step leaves
    # zeros and the next step gives b = mu 0 + (1 - tau) g: b = g exactly when dampening = 0 (the
    # trajectory test above), (1 - tau) g with dampening tau.
    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = AdvancedSGD([param], lr=1.0, momentum=0.9, dampening=0.5, skip_nonfinite=True, **KERNELS[kernel])
    param.grad = torch.tensor([math.inf, 1.0])
    optimizer.step()
    assert torch.equal(param.detach(), torch.zeros(2))
    assert torch.equal(optimizer.state[param]["momentum_buffer"], torch.zeros(2))
    param.grad = torch.tensor([2.0, 4.0])
    optimizer.step()
    assert torch.equal(optimizer.state[param]["momentum_buffer"], torch.tensor([1.0, 2.0]))  # (1 - 0.5) g
    assert torch.equal(param.detach(), torch.tensor([-1.0, -2.0]))  # p - lr b
