"""What the optimizers with warmup, a cyclical learning rate and global-norm clipping share.

:class:`ScheduleClipMixin` gives an optimizer:

- a schedule clock per parameter group, ``group["schedule_step"]``: the number of ``step()`` calls
  so far (a Python ``int``, or a float32 tensor on the group's device when ``capturable=True``).
  Every group's clock advances on every ``step()``, so the clocks are one global count; a group
  added later with ``add_param_group`` starts its own warmup. It travels in ``state_dict``.
- :meth:`~ScheduleClipMixin._scheduled_lr`: advances a group's clock and returns
  :math:`\\gamma_t = \\gamma w_t c_t` (``lossopt.optim.schedule``), read from ``group["lr"]`` at every
  step and never written back, so ``torch.optim.lr_scheduler`` schedulers compose with it.
- :meth:`~ScheduleClipMixin._global_grad_norm`: one L2 norm over the gradients of every group
  (``lossopt.optim.clip``), kept as the tensor ``optimizer.last_grad_norm`` for logging (the norm
  before clipping; ``None`` until a step with clipping on).
- :func:`check_schedule_clip`: the hyperparameter checks, with messages naming argument, value and range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

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


class ScheduleClipMixin:
    """Warmup / cyclical learning rate and global-norm clipping for a ``torch.optim.Optimizer`` subclass."""

    param_groups: list[dict[str, Any]]
    state: Any
    last_grad_norm: torch.Tensor | None = None

    def _scheduled_lr(self, group: dict[str, Any], device: torch.device | None = None) -> float | torch.Tensor:
        """Advance ``group``'s clock by one and return the learning rate of this step, (s3) lr * w * c.

        A host ``float`` when the clock is an ``int``; a tensor on the clock's device when it is a
        tensor (``capturable=True``), computed without reading it back.
        """
        clock = group[CLOCK]
        if isinstance(clock, torch.Tensor):
            clock.add_(1)
            if group["warmup_steps"] == 0 and not group["use_cyclical_lr"]:
                return group["lr"]  # type: ignore[no-any-return]
            # in float64 on the device: the float32 clock counts exactly, the factor keeps double precision
            factor = warmup_cyclical_factor(
                clock.to(torch.float64), group["warmup_steps"], group["use_cyclical_lr"], group["cycle_length"]
            )
            scheduled: torch.Tensor = factor * group["lr"]  # (s3) lr_t = lr w c
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
        """Fill the keys a group may lack (older or torch state dicts): the extras off, the clock at 0."""
        for group in self.param_groups:
            for key, value in SCHEDULE_CLIP_DEFAULTS.items():
                group.setdefault(key, value)
            group.setdefault(CLOCK, 0)
            self._place_clock(group, capturable or bool(group.get("capturable", False)))

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
            self._place_clock(group, bool(group.get("capturable", False)))
