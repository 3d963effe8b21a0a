"""What the optimizers with warmup, a cyclical learning rate and global-norm clipping share.

:class:`ScheduleClipMixin` gives an optimizer:

- a schedule clock per parameter group, ``group["schedule_step"]``: the number of ``step()`` calls
  so far (a Python ``int``, or a float32 tensor on the group's device when ``capturable=True`` or
  ``skip_nonfinite=True``, or once a ``GradScaler`` hands a fused optimizer its ``found_inf``: a
  clock that must stand still on a step skipped on the device).
  Every group's clock advances on every ``step()``, so the clocks are one global count; a group
  added later with ``add_param_group`` starts its own warmup. It travels in ``state_dict``.
- :meth:`~ScheduleClipMixin._scheduled_lr`: advances a group's clock and returns
  :math:`\\gamma_t = \\gamma w_t c_t` (``lossopt.optim.schedule``), read from ``group["lr"]`` at every
  step and never written back, so ``torch.optim.lr_scheduler`` schedulers compose with it.
- :meth:`~ScheduleClipMixin._global_grad_norm`: one L2 norm over the gradients of every group
  (``lossopt.optim.clip``), kept as the tensor ``optimizer.last_grad_norm`` for logging (the norm
  before clipping; ``None`` until a step with clipping on).
- :meth:`~ScheduleClipMixin._begin_step`: that norm (of the unscaled gradients under a
  ``GradScaler``), the scaler's ``grad_scale`` and the step's ``found_inf`` (``lossopt.optim._nonfinite``).
- :func:`check_schedule_clip`: the hyperparameter checks, with messages naming argument, value and range.
- ``load_state_dict`` checks (the state of every parameter holds the keys this class needs, or the
  error says what to do) and migrates (a Python-number ``step``, as the original design's RAdam and
  torch < 1.12 saved it, becomes this class's counter tensor; counters go where this class keeps
  them; AdaBelief's float32 moments of float16/bfloat16 parameters stay float32, not rounded to the
  parameter's dtype as ``torch.optim.Optimizer.load_state_dict`` casts them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import chain
from typing import Any

import torch

from lossopt.optim._nonfinite import SKIP_NONFINITE, SKIPPED_STEPS, combine, nonfinite
from lossopt.optim._validation import check_int64
from lossopt.optim.clip import global_grad_norm
from lossopt.optim.schedule import lr_factor, warmup_cyclical_factor

SCHEDULE_CLIP_DEFAULTS: dict[str, Any] = {
    "warmup_steps": 0,
    "max_grad_norm": None,
    "use_cyclical_lr": False,
    "cycle_length": 1000,
}
CLOCK = "schedule_step"
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_schedule_clip(
    warmup_steps: object, max_grad_norm: object, use_cyclical_lr: object, cycle_length: object
) -> None:
    """Validate the schedule and clipping hyperparameters; raise ``ValueError`` naming the bad one."""
    if not _is_int(warmup_steps) or warmup_steps < 0:  # type: ignore[operator]
        raise ValueError(f"Invalid warmup_steps: {warmup_steps!r} (must be an integer >= 0)")
    if max_grad_norm is not None:
        if isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, (int, float)):
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm!r} (must be None or a finite number > 0)")
        check_int64("max_grad_norm", max_grad_norm)
        if not (math.isfinite(max_grad_norm) and max_grad_norm > 0):
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm!r} (must be None or a finite number > 0)")
    if not isinstance(use_cyclical_lr, bool):
        raise ValueError(f"Invalid use_cyclical_lr: {use_cyclical_lr!r} (must be True or False)")
    if not _is_int(cycle_length) or cycle_length < 1:  # type: ignore[operator]
        raise ValueError(f"Invalid cycle_length: {cycle_length!r} (must be an integer >= 1)")


def _clock_on_device(group: Mapping[str, Any]) -> bool:
    """The clock is a device tensor with ``capturable`` and with ``skip_nonfinite`` (it must stand still on a skip)."""
    return bool(group.get("capturable", False)) or bool(group.get(SKIP_NONFINITE, False))


class ScheduleClipMixin:
    """Warmup / cyclical learning rate and global-norm clipping for a ``torch.optim.Optimizer`` subclass."""

    param_groups: list[dict[str, Any]]
    state: Any
    last_grad_norm: torch.Tensor | None = None
    _state_keys: tuple[str, ...] = ()  # what a parameter's saved state must hold, when it holds anything
    _device_counters: bool = False  # ``step`` on the parameter's device when the group is capturable or fused
    _float32_state_for_low_precision: bool = False  # moments of float16/bfloat16 parameters kept in float32

    def _scheduled_lr(
        self, group: dict[str, Any], device: torch.device | None = None, found_inf: torch.Tensor | None = None
    ) -> float | torch.Tensor:
        """Advance ``group``'s clock by one and return the learning rate of this step, (s3) lr * w * c.

        A host ``float`` when the clock is an ``int``; a tensor on the clock's device when it is a
        tensor (``capturable=True``, ``skip_nonfinite=True``), computed without reading it back.
        With ``found_inf`` (a step that may be skipped on the device) the clock is a tensor, set back
        by ``found_inf`` once this step's rate is computed: it stands still on a skipped step, and
        the skipped-step count ``group["skipped_steps"]`` (with ``skip_nonfinite``) adds ``found_inf``.
        """
        clock = group[CLOCK]
        if found_inf is not None and not isinstance(clock, torch.Tensor):
            self._place_clock(group, True)  # a host clock cannot stand still without reading found_inf
            clock = group[CLOCK]
        if isinstance(clock, torch.Tensor):
            clock.add_(1)
            scheduled: float | torch.Tensor = group["lr"]
            if group["warmup_steps"] != 0 or group["use_cyclical_lr"]:
                # in float64 on the device: the float32 clock counts exactly, the factor keeps double precision
                factor = warmup_cyclical_factor(
                    clock.to(torch.float64), group["warmup_steps"], group["use_cyclical_lr"], group["cycle_length"]
                )
                scheduled = factor * group["lr"]  # (s3) lr_t = lr w c
            if found_inf is not None:
                skipped = found_inf.to(clock.device, non_blocking=True)
                clock.sub_(skipped)  # the clock stands still on a skipped step
                if group.get(SKIP_NONFINITE, False):
                    self._place_skip_counter(group)
                    group[SKIPPED_STEPS].add_(skipped)
            return scheduled
        group[CLOCK] = clock = clock + 1
        if group["warmup_steps"] == 0 and not group["use_cyclical_lr"]:
            return group["lr"]  # type: ignore[no-any-return]
        factor_host = lr_factor(
            clock,
            warmup_steps=group["warmup_steps"],
            use_cyclical_lr=group["use_cyclical_lr"],
            cycle_length=group["cycle_length"],
        )
        return group["lr"] * factor_host  # type: ignore[no-any-return]  # (s3) lr_t = lr w c

    def _begin_step(self) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """``(grad_norm, grad_scale, found_inf)`` for this step, all tensors on the device (no host read).

        ``grad_scale`` and ``found_inf`` are the attributes ``torch.amp.GradScaler.step`` sets on an
        optimizer with ``_step_supports_amp_scaling`` (the fused paths): the gradients still carry
        the scale :math:`S` (``None`` when the user already called ``scaler.unscale_``), so the norm
        (c1) is divided by it: clipping sees the unscaled gradients, once. With ``skip_nonfinite``
        on any group, the global norm is computed even without clipping and a non-finite norm sets
        ``found_inf``: the whole step (every group) is skipped.
        """
        grad_scale: torch.Tensor | None = getattr(self, "grad_scale", None)
        scaler_found_inf: torch.Tensor | None = getattr(self, "found_inf", None)
        clipping = any(group["max_grad_norm"] is not None for group in self.param_groups)
        skip = any(group.get(SKIP_NONFINITE, False) for group in self.param_groups)
        norm = None
        if clipping or skip:
            grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
            norm = global_grad_norm(grads)  # (c1)
            if grad_scale is not None:
                norm = norm / grad_scale.to(norm.device, non_blocking=True)  # (c1) of the unscaled gradients
            if clipping:
                self.last_grad_norm = norm
        found_inf = combine(scaler_found_inf, nonfinite(norm) if skip and norm is not None else None)
        return (norm if clipping else None), grad_scale, found_inf

    def _place_skip_counter(self, group: dict[str, Any]) -> None:
        """``group["skipped_steps"]``: a float32 tensor on the group's device, 0 at first."""
        counter = group.get(SKIPPED_STEPS, 0)
        device = group["params"][0].device if group["params"] else torch.device("cpu")
        if not isinstance(counter, torch.Tensor) or counter.device != device or counter.dtype != torch.float32:
            value = counter if isinstance(counter, torch.Tensor) else float(counter)
            group[SKIPPED_STEPS] = torch.as_tensor(value, dtype=torch.float32).to(device)

    def _global_grad_norm(self) -> torch.Tensor | None:
        """(c1) over every gradient of every group when some group clips, else ``None``; kept in ``last_grad_norm``."""
        if all(group["max_grad_norm"] is None for group in self.param_groups):
            return None
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norm = global_grad_norm(grads)
        self.last_grad_norm = norm
        return norm

    def set_schedule_step(self, steps_taken: int) -> None:
        """Set every group's clock as if ``steps_taken`` steps had run (the next ``step()`` is t = steps_taken + 1)."""
        for group in self.param_groups:
            clock = group[CLOCK]
            if isinstance(clock, torch.Tensor):
                clock.fill_(float(steps_taken))
            else:
                group[CLOCK] = int(steps_taken)

    def _default_group_keys(self, capturable: bool = False) -> None:
        """Fill the keys a group may lack (older or torch state dicts): the extras off, the clock at 0.

        Also puts every loaded ``step`` counter in this class's form (:meth:`_place_step_counters`).
        """
        for group in self.param_groups:
            for key, value in SCHEDULE_CLIP_DEFAULTS.items():
                group.setdefault(key, value)
            group.setdefault(CLOCK, 0)
            group.setdefault(SKIP_NONFINITE, False)
            self._place_clock(group, capturable or _clock_on_device(group))
            if group[SKIP_NONFINITE]:
                self._place_skip_counter(group)
        self._place_step_counters()

    def _place_step_counters(self) -> None:
        """Every ``step`` as a float32 tensor where this class keeps it: the CPU, or the parameter's device
        for a capturable or fused group of a class with device counters (Adam, AdamW), or a
        ``skip_nonfinite`` group (its counters are set back on the device).

        A Python number (the original design's RAdam, torch < 1.12) becomes a tensor; a counter loaded
        on another device (a CUDA checkpoint loaded without ``map_location``, or torch moving a fused
        group's counters to the parameters' device) is moved, once, at load time.
        """
        for group in self.param_groups:
            on_device = (self._device_counters and bool(group.get("capturable") or group.get("fused"))) or bool(
                group.get(SKIP_NONFINITE, False)
            )
            for p in group["params"]:
                state = self.state.get(p)
                if not state or "step" not in state:
                    continue
                device = p.device if on_device else torch.device("cpu")
                step = state["step"]
                if not isinstance(step, torch.Tensor):
                    state["step"] = torch.tensor(float(step), dtype=torch.float32, device=device)
                elif step.device != device:
                    state["step"] = step.to(device=device, dtype=torch.float32)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """``torch.optim.Optimizer.load_state_dict`` after checking the saved state's layout.

        Raises ``ValueError`` saying what to do when a parameter's saved state lacks a key this class
        needs (a state dict of another optimizer, e.g. Adam's ``exp_avg_sq`` given to AdaBelief,
        which keeps ``exp_avg_var``), or holds a ``step`` that is neither a number nor a tensor.
        """
        self._check_saved_state(state_dict)
        super().load_state_dict(state_dict)  # type: ignore[misc]
        if self._float32_state_for_low_precision:
            self._restore_float32_state(state_dict)

    def _check_saved_state(self, state_dict: Mapping[str, Any]) -> None:
        saved_state = state_dict.get("state", {})
        for g, group in enumerate(state_dict.get("param_groups", [])):
            for i, pid in enumerate(group.get("params", [])):
                saved = saved_state.get(pid)
                if not saved:
                    continue
                name = type(self).__name__
                missing = [key for key in self._state_keys if key not in saved]
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

    def _restore_float32_state(self, state_dict: Mapping[str, Any]) -> None:
        """Undo ``Optimizer.load_state_dict``'s cast of float32 moments to a float16/bfloat16 parameter's dtype."""
        saved_ids = chain.from_iterable(group["params"] for group in state_dict["param_groups"])
        params = chain.from_iterable(group["params"] for group in self.param_groups)
        for pid, p in zip(saved_ids, params, strict=True):
            if p.dtype not in _LOW_PRECISION:
                continue
            for key, value in state_dict["state"].get(pid, {}).items():
                if key != "step" and isinstance(value, torch.Tensor) and value.is_floating_point():
                    self.state[p][key] = value.to(device=p.device, dtype=torch.float32, copy=True)

    def _place_clock(self, group: dict[str, Any], capturable: bool) -> None:
        """The clock as an ``int`` (host) or, for ``capturable``, a float32 tensor on the group's device."""
        clock = group[CLOCK]
        if capturable:
            device = group["params"][0].device if group["params"] else torch.device("cpu")
            if not isinstance(clock, torch.Tensor):
                group[CLOCK] = torch.tensor(float(clock), dtype=torch.float32, device=device)
            else:
                group[CLOCK] = clock.to(device=device, dtype=torch.float32)
        elif isinstance(clock, torch.Tensor):
            group[CLOCK] = int(clock.item())  # only when loading a capturable state into a host-clock optimizer

    def _restore_missing_group_keys(self, saved_groups: list[Mapping[str, Any]], current: list[dict[str, Any]]) -> None:
        """After ``load_state_dict``: keys the saved groups lacked keep this optimizer's values.

        A missing clock (a ``torch.optim`` state dict) is set from the largest per-parameter
        ``step`` in the loaded state, so a warmup resumes where that run was.
        """
        for group, saved, mine in zip(self.param_groups, saved_groups, current, strict=True):
            for key, value in mine.items():
                if key not in saved:
                    group[key] = value
            if CLOCK not in saved:
                steps = [float(self.state[p]["step"]) for p in group["params"] if "step" in self.state.get(p, {})]
                group[CLOCK] = int(max(steps, default=0))
            self._place_clock(group, _clock_on_device(group))
            if group.get(SKIP_NONFINITE, False):
                self._place_skip_counter(group)
