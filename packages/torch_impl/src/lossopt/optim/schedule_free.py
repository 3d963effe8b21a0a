"""Schedule-Free's averaging weights and train / eval mode switch: what ScheduleFreeAdamW and ScheduleFreeSGD share.

Mirrors ``lossopt_spec.optim.schedule_free``; the equations (a1)–(a4), (m1), (m2) are in its docstring:

.. math::

    \\gamma^{\\max}_t = \\max(\\gamma^{\\max}_{t-1}, \\gamma_t), \\quad W_t = W_{t-1} + t^r (\\gamma^{\\max}_t)^p,
    \\quad
    c_t = t^r (\\gamma^{\\max}_t)^p / W_t, \\qquad
    x = \\operatorname{lerp}(y, z, 1 - 1/\\beta), \\quad y = \\operatorname{lerp}(x, z, 1 - \\beta)

Group keys, named and started as the authors' ``schedulefree`` 1.4.1 keeps them: ``k`` (steps taken),
``train_mode`` (``False``: a new optimizer is in eval mode), ``weight_sum`` (:math:`W`), ``lr_max``
(:math:`\\gamma^{\\max}`, -1 before the first step) and ``scheduled_lr`` (the last step's :math:`\\gamma_t`, for
logging). They advance once per step (:meth:`ScheduleFree.begin_group_step`): Python numbers, as the authors';
float64 tensors once a tensor ``lr`` or ``skip_nonfinite`` makes them data, so a skipped step leaves them as
they were without a host read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from lossopt.optim._validation import check_non_negative
from lossopt.optim.base import RuleOptimizer
from lossopt.optim.group_state import CLOCK, clock_on_device, place_clock
from lossopt.optim.kernels._tensor_groups import local_value
from lossopt.optim.scalar_ops import maximum
from lossopt.optim.schedule import lr_factor

GROUP_DEFAULTS: dict[str, Any] = {"k": 0, "train_mode": False, "weight_sum": 0.0, "lr_max": -1.0, "scheduled_lr": 0.0}
AVERAGES = ("k", "lr_max", "weight_sum")


def advanced(group: Mapping[str, Any], lr: Any) -> tuple[Any, Any, Any]:
    """``(k, lr_max, weight_sum)`` after one more step at rate ``lr``: (a1)–(a3)."""
    k = group["k"] + 1
    lr_max = maximum(lr, group["lr_max"])  # (a1)
    return k, lr_max, group["weight_sum"] + k ** group["r"] * lr_max ** group["weight_lr_power"]  # (a2), (a3)


def averaging_weight(group: Mapping[str, Any]) -> Any:
    """(a4) :math:`c_t = \\omega_t / W_t` from the group's values after this step's (a1)–(a3) (0 if :math:`W_t = 0`)."""
    weight, total = group["k"] ** group["r"] * group["lr_max"] ** group["weight_lr_power"], group["weight_sum"]
    if isinstance(total, torch.Tensor):
        return torch.where(total == 0, torch.zeros_like(total), weight / total)
    return weight / total if total != 0 else 0.0


class ScheduleFree(RuleOptimizer):
    """The Schedule-Free part of a rule: group-level averages, the mode switch, ``step()`` only in train mode."""

    counts_steps = False
    interpolation: Callable[[Mapping[str, Any]], float]
    """:math:`\\beta` of a group: :math:`y = \\beta x + (1 - \\beta) z`."""

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {
            **hyper,
            "r": check_non_negative("r", hyper["r"]),
            "weight_lr_power": check_non_negative("weight_lr_power", hyper["weight_lr_power"]),
        }

    def new_state(self, name: str, param: torch.Tensor, group: Mapping[str, Any]) -> torch.Tensor | None:
        if name == "z":  # z starts at the parameter, as the authors' first step makes it
            return param.detach().clone(memory_format=torch.preserve_format)
        return super().new_state(name, param, group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        if len(self.param_groups) > 1:  # a new group joins in the optimizer's mode
            self.param_groups[-1]["train_mode"] = self.param_groups[0]["train_mode"]

    # ----------------------------------------------------------------- modes

    @torch.no_grad()
    def eval(self) -> None:
        """(m1) Every parameter to :math:`x`, the average to evaluate, save or export (nothing if in eval mode)."""
        self._switch(train=False)

    @torch.no_grad()
    def train(self) -> None:
        """(m2) Every parameter to :math:`y`, where gradients are taken (nothing if in train mode already)."""
        self._switch(train=True)

    def _switch(self, *, train: bool) -> None:
        for group in self.param_groups:
            if bool(group["train_mode"]) == train:
                continue
            beta = self.interpolation(group)
            weight = 1 - beta if train else 1 - 1 / beta
            for p in group["params"]:
                z = self.state.get(p, {}).get("z")
                if z is not None:  # a parameter that never stepped is at x = y = z already
                    p.lerp_(z.to(p.device), weight)
            group["train_mode"] = train

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update from the training point :math:`y`; raises ``RuntimeError`` in eval mode (call :meth:`train`)."""
        for i, group in enumerate(self.param_groups):
            if not group["train_mode"]:
                raise RuntimeError(
                    f"{type(self).__name__}.step() called in eval mode (param group {i}): the parameters hold the "
                    "average x, not the training point y. Call optimizer.train() before training steps, and "
                    "optimizer.eval() before evaluating or saving the weights"
                )
        return super().step(closure)

    # ----------------------------------------------------------------- the averages

    def begin_group_step(self, group: dict[str, Any], lr: Any, found_inf: torch.Tensor | None) -> None:
        """(a1)–(a3) once per step; left as they were on a step ``found_inf`` skips."""
        if found_inf is not None or isinstance(lr, torch.Tensor) or isinstance(group["weight_sum"], torch.Tensor):
            _as_tensors(group, found_inf if found_inf is not None else lr)
            device = group["weight_sum"].device
            lr = torch.as_tensor(lr).to(device=device, dtype=torch.float64, non_blocking=True)
        new: tuple[Any, ...] = advanced(group, lr)
        if found_inf is not None:
            skip = local_value(found_inf).to(group["weight_sum"].device, non_blocking=True) != 0  # type: ignore[union-attr]
            new = tuple(torch.where(skip, group[key], value) for key, value in zip(AVERAGES, new, strict=True))
        group.update(zip(AVERAGES, new, strict=True))
        group["scheduled_lr"] = lr

    def set_schedule_step(self, steps_taken: int) -> None:
        """The clock, ``k``, ``lr_max`` and ``weight_sum`` as if ``steps_taken`` steps had run at the group's rate."""
        super().set_schedule_step(steps_taken)
        for group in self.param_groups:
            rate = float(group["lr"])  # a setup call, not a step: reading a tensor lr here is no step's sync
            values = {
                "k": 0,
                "lr_max": -1.0,
                "weight_sum": 0.0,
                "r": group["r"],
                "weight_lr_power": group["weight_lr_power"],
            }
            for t in range(1, steps_taken + 1):
                factor = lr_factor(
                    t,
                    warmup_steps=group["warmup_steps"],
                    use_cyclical_lr=group["use_cyclical_lr"],
                    cycle_length=group["cycle_length"],
                )
                values.update(zip(AVERAGES, advanced(values, rate * factor), strict=True))
            for key in AVERAGES:
                held = group[key]
                group[key] = (
                    torch.tensor(float(values[key]), dtype=torch.float64, device=held.device)
                    if isinstance(held, torch.Tensor)
                    else values[key]
                )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`RuleOptimizer.load_state_dict`; a state dict of the authors' ``schedulefree`` (no clock) resumes
        the warmup at its ``k``."""
        without_clock = [CLOCK not in group for group in state_dict.get("param_groups", [])]
        super().load_state_dict(state_dict)
        for group, lacks in zip(self.param_groups, without_clock, strict=True):
            if lacks:
                group[CLOCK] = int(group["k"])
                place_clock(group, clock_on_device(group))


def _as_tensors(group: dict[str, Any], like: torch.Tensor) -> None:
    """``k``, ``lr_max`` and ``weight_sum`` as float64 tensors on ``like``'s device (left where they already are)."""
    device = local_value(like).device  # type: ignore[union-attr]
    for key in AVERAGES:
        if not isinstance(group[key], torch.Tensor):
            group[key] = torch.tensor(float(group[key]), dtype=torch.float64, device=device)


__all__ = ["GROUP_DEFAULTS", "ScheduleFree", "advanced", "averaging_weight"]
