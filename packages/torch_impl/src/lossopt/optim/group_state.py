"""Where a group keeps its clocks and counters, and how a saved state is checked and migrated on load.

- ``group["schedule_step"]``: the number of ``step()`` calls (an ``int``; a float32 tensor on the group's device
  with ``capturable``, ``skip_nonfinite``, or once a fused optimizer is handed a ``found_inf``: it must stand
  still on a step skipped on the device); ``group["skipped_steps"]`` (``skip_nonfinite``) counts the skips.
- ``step`` counters: float32 tensors on the CPU, or on the parameter's device for a capturable or fused group of
  a rule with device counters (Adam, AdamW) and for ``skip_nonfinite``.
- Loading: the saver's rule is recognised (another rule's state is refused), each parameter's state must hold
  what the rule needs, a Python-number or integer ``step`` becomes a counter tensor, float32 moments of
  float16/bfloat16 parameters stay float32, and keys a saved group lacks (a ``torch.optim`` state dict) keep
  this optimizer's values, the clock resuming at the largest ``step`` held.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from itertools import chain
from typing import Any

import torch

from lossopt.optim.schedule import lr_factor, warmup_cyclical_factor

SCHEDULE_CLIP_DEFAULTS: dict[str, Any] = {
    "warmup_steps": 0,
    "max_grad_norm": None,
    "use_cyclical_lr": False,
    "cycle_length": 1000,
}
CLOCK = "schedule_step"
SKIP_NONFINITE = "skip_nonfinite"
SKIPPED_STEPS = "skipped_steps"
_LOW_PRECISION = (torch.float16, torch.bfloat16)

Group = MutableMapping[str, Any]


def _group_device(group: Mapping[str, Any]) -> torch.device:
    return group["params"][0].device if group["params"] else torch.device("cpu")


def clock_on_device(group: Mapping[str, Any]) -> bool:
    """The clock is a device tensor with ``capturable`` and with ``skip_nonfinite`` (it must stand still on a skip)."""
    return bool(group.get("capturable", False)) or bool(group.get(SKIP_NONFINITE, False))


def counters_on_device(group: Mapping[str, Any], device_counters: bool) -> bool:
    """Whether the group's ``step`` counters live on the parameters' device (see the module docstring)."""
    capturable_or_fused = bool(group.get("capturable", False)) or bool(group.get("fused", False))
    return (device_counters and capturable_or_fused) or bool(group.get(SKIP_NONFINITE, False))


def place_clock(group: Group, on_device: bool) -> None:
    """The clock as an ``int`` (host) or a float32 tensor on the group's device."""
    clock = group[CLOCK]
    if on_device:
        group[CLOCK] = torch.as_tensor(clock, dtype=torch.float32).to(_group_device(group))
    elif isinstance(clock, torch.Tensor):
        group[CLOCK] = int(clock.item())  # only when loading a device clock into a host-clock optimizer


def place_skip_counter(group: Group) -> None:
    """``group["skipped_steps"]``: a float32 tensor on the group's device, 0 at first."""
    counter = group.get(SKIPPED_STEPS, 0)
    device = _group_device(group)
    if not isinstance(counter, torch.Tensor) or counter.device != device or counter.dtype != torch.float32:
        group[SKIPPED_STEPS] = torch.as_tensor(counter, dtype=torch.float32).to(device)


def place_step_counters(groups: Sequence[Group], state: Mapping[Any, MutableMapping[str, Any]], device: bool) -> None:
    """Every ``step`` as a 0-dim float32 tensor where this class keeps it (a Python number, an integer or a
    float64 tensor becomes one; a counter loaded on another device is moved, once, at load time)."""
    for group in groups:
        on_device = counters_on_device(group, device)
        for p in group["params"]:
            saved = state.get(p)
            if not saved or "step" not in saved:
                continue
            where = p.device if on_device else torch.device("cpu")
            step = saved["step"]
            if not isinstance(step, torch.Tensor):
                saved["step"] = torch.tensor(float(step), dtype=torch.float32, device=where)
            elif step.device != where or step.dtype != torch.float32:  # an int64 / float64 count: torch accepts it
                saved["step"] = step.detach().reshape(()).to(device=where, dtype=torch.float32)


def check_saved_rule(state_dict: Mapping[str, Any], loader: Any, rules: Sequence[Any]) -> None:
    """Refuse a state dict another rule saved (``ValueError`` naming both): each saved group is matched against
    every rule's :meth:`~lossopt.optim.base.RuleOptimizer.saved_this`; a group no rule claims is left to the
    per-key check, and one that could be ``loader``'s (or is ambiguous, as old layouts are) loads."""
    saved_state = state_dict.get("state", {})
    for g, group in enumerate(state_dict.get("param_groups", [])):
        keys = set().union(*(set(saved_state.get(pid, {})) for pid in group.get("params", [])))
        hyper = {k: v for k, v in group.items() if k != "params"}
        savers = [rule for rule in rules if rule.saved_this(hyper, keys)]
        if savers and loader not in savers:
            names = " or ".join(f"{rule.__name__} (torch.optim.{rule.__name__} or lossopt's)" for rule in savers)
            raise ValueError(
                f"Invalid state_dict for {loader.__name__}: group {g} was saved by {names}, another update rule "
                f"(its hyperparameters {sorted(hyper)}, its state {sorted(keys)}). Load it into the optimizer that "
                f"saved it; to keep the parameters and restart {loader.__name__} from scratch, do not load it"
            )


def check_saved_state(state_dict: Mapping[str, Any], name: str, required: Sequence[str]) -> None:
    """Raise ``ValueError`` saying what to do when a saved parameter state lacks a key in ``required``
    (a state dict of another optimizer, e.g. Adam's ``exp_avg_sq`` given to AdaBelief, which keeps
    ``exp_avg_var``), or holds a ``step`` that is neither a number nor a tensor."""
    saved_state = state_dict.get("state", {})
    for g, group in enumerate(state_dict.get("param_groups", [])):
        for i, pid in enumerate(group.get("params", [])):
            saved = saved_state.get(pid)
            if not saved:
                continue
            missing = [key for key in required if key not in saved]
            if missing:
                raise ValueError(
                    f"Invalid state_dict for {name}: the state of parameter {i} of group {g} lacks "
                    f"{missing} (it holds {sorted(saved)}), so it was saved by another optimizer or "
                    f"layout. Load it into the optimizer class that saved it; or, to keep its "
                    f"hyperparameters and restart the moments from zero, load it with its state "
                    f"emptied: optimizer.load_state_dict({{**state_dict, 'state': {{}}}})"
                )
            step = saved.get("step", 0)
            if isinstance(step, bool) or not isinstance(step, (int, float, torch.Tensor)):
                raise ValueError(
                    f"Invalid state_dict for {name}: parameter {i} of group {g} has step={step!r} "
                    f"(must be a number or a one-element tensor counting the steps taken)"
                )


def restore_float32_state(
    state_dict: Mapping[str, Any], groups: Sequence[Group], state: MutableMapping[Any, MutableMapping[str, Any]]
) -> None:
    """Undo ``Optimizer.load_state_dict``'s cast of float32 moments to a float16/bfloat16 parameter's dtype."""
    saved_ids = chain.from_iterable(group["params"] for group in state_dict["param_groups"])
    params = chain.from_iterable(group["params"] for group in groups)
    for pid, p in zip(saved_ids, params, strict=True):
        if p.dtype not in _LOW_PRECISION:
            continue
        for key, value in state_dict["state"].get(pid, {}).items():
            if key != "step" and isinstance(value, torch.Tensor) and value.is_floating_point():
                state[p][key] = value.to(device=p.device, dtype=torch.float32, copy=True)


def restore_missing_group_keys(
    saved_groups: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    groups: Sequence[Group],
    state: Mapping[Any, Mapping[str, Any]],
) -> None:
    """After ``load_state_dict``: keys the saved groups lacked keep this optimizer's values.

    A missing clock (a ``torch.optim`` state dict) is set from the largest per-parameter ``step``
    in the loaded state, so a warmup resumes where that run was.
    """
    for group, saved, mine in zip(groups, saved_groups, current, strict=True):
        for key, value in mine.items():
            if key not in saved:
                group[key] = value
        if CLOCK not in saved:
            steps = [float(state[p]["step"]) for p in group["params"] if "step" in state.get(p, {})]
            group[CLOCK] = int(max(steps, default=0))


def advance_clock(group: dict[str, Any], found_inf: torch.Tensor | None) -> float | torch.Tensor:
    """Advance ``group``'s clock by one and return this step's rate, (s3) :math:`\\gamma w_t c_t`.

    A host float with a host clock; with a device clock (``capturable``, ``skip_nonfinite``, or any
    step that ``found_inf`` may skip) a tensor computed without reading it back, the clock set back
    by ``found_inf`` (it stands still on a skipped step, and ``skipped_steps`` counts the skip).
    """
    if found_inf is not None and not isinstance(group[CLOCK], torch.Tensor):
        place_clock(group, True)  # a host clock cannot stand still without reading found_inf
    clock = group[CLOCK]
    scheduled = group["warmup_steps"] != 0 or group["use_cyclical_lr"]
    if not isinstance(clock, torch.Tensor):
        group[CLOCK] = clock = clock + 1
        if not scheduled:
            return group["lr"]  # type: ignore[no-any-return]
        factor = lr_factor(
            clock,
            warmup_steps=group["warmup_steps"],
            use_cyclical_lr=group["use_cyclical_lr"],
            cycle_length=group["cycle_length"],
        )
        return group["lr"] * factor  # type: ignore[no-any-return]  # (s3) lr_t = lr w c
    clock.add_(1)
    lr: float | torch.Tensor = group["lr"]
    if scheduled:  # in float64 on the device: the float32 clock counts exactly
        lr = warmup_cyclical_factor(
            clock.to(torch.float64), group["warmup_steps"], group["use_cyclical_lr"], group["cycle_length"]
        ) * group["lr"]  # fmt: skip
    if found_inf is not None:
        skipped = found_inf.to(clock.device, non_blocking=True)
        clock.sub_(skipped)  # the clock stands still on a skipped step
        if group.get(SKIP_NONFINITE, False):
            place_skip_counter(group)
            group[SKIPPED_STEPS].add_(skipped)
    return lr
