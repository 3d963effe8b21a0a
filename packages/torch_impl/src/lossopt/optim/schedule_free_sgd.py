"""Schedule-Free SGD (Defazio et al. 2024, arXiv:2405.15682): mirrors ``lossopt_spec.optim.schedule_free_sgd``.

The equations and their tags (0), (c), (1)–(4) are in the spec's docstring, the averaging weight
:math:`c_t` and the mode switch in ``lossopt_spec.optim.schedule_free``:

.. math::

    u = g + \\lambda y, \\quad y \\leftarrow \\operatorname{lerp}(y, z, c_t) + \\gamma_t (\\beta (1 - c_t) - 1) u,
    \\quad z \\leftarrow z - \\gamma_t u

:func:`schedule_free_sgd_update` is the per-tensor kernel; ``fused=True``: the update compiled by
``torch.compile`` into one pass per tensor (``lossopt.optim.kernels.compiled``; the multi-tensor kernel where
Inductor has no C++ compiler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_in_open_unit_interval, check_non_negative
from lossopt.optim.base import constructor_arguments
from lossopt.optim.kernels import compiled
from lossopt.optim.scalar_ops import unless_skipped
from lossopt.optim.schedule_free import GROUP_DEFAULTS, ScheduleFree, averaging_weight


def schedule_free_sgd_update(param: Any, grad: Any, z: Any, s: Any) -> None:
    """(2)–(4) for one tensor at the training point ``param`` (:math:`y`). ``grad`` arrives as (c) :math:`\\kappa g`,
    (1) negated with ``maximize``; ``s`` holds this step's scalars (:meth:`ScheduleFreeSGD.scalars`)."""
    if s.decay is not None:
        grad = grad.add(param, alpha=s.decay)  # (2) u = g + wd y (p.grad is not written)
    param.lerp_(z, s.ckp1)  # (3) y <- lerp(y, z, c)
    param.add_(grad, alpha=s.y_step)  # (3) y <- y + lr (b (1 - c) - 1) u
    z.add_(grad, alpha=s.z_step)  # (4) z <- z - lr u


class ScheduleFreeSGD(ScheduleFree):
    """Schedule-Free SGD, equal to ``schedulefree.SGDScheduleFree`` 1.4.1 (the authors' code) step for step, to
    rounding.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor); no schedule is needed (that is the method).
        momentum: :math:`\\beta` in (0, 1), the interpolation :math:`y = \\beta x + (1 - \\beta) z` that replaces
            momentum.
        weight_decay: :math:`\\lambda` (>= 0), L2 taken at :math:`y`.
        warmup_steps: :math:`W`: the learning rate is :math:`\\gamma \\min(1, t / W)` (the authors' warmup).
        r: the averaging weights grow as :math:`t^r` (>= 0).
        weight_lr_power: :math:`p` (>= 0): a step's averaging weight is :math:`(\\gamma^{\\max}_t)^p` times :math:`t^r`.
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None`` (default)
            for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        fused: one pass per step (module docstring); at most one of ``fused`` and ``foreach``.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: ``True`` skips the whole step when the global gradient norm is inf or NaN, on the device.

    **Modes**, the state and the group keys are those of :class:`~lossopt.optim.ScheduleFreeAdamW` (state: ``z``
    only): the optimizer starts in eval mode; call ``optimizer.train()`` before training steps and
    ``optimizer.eval()`` before evaluating or saving the weights.

    Example:
        >>> import torch
        >>> from lossopt import ScheduleFreeSGD
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = ScheduleFreeSGD([w], lr=0.5)
        >>> opt.train()
        >>> w.grad = torch.tensor([1.0, -2.0])
        >>> opt.step()  # c_1 = 1: y = z_0 - lr g
        >>> w.data
        tensor([-0.5000,  1.0000])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {"maximize": False, "foreach": None, "fused": None}
    group_keys = frozenset({"momentum", "weight_lr_power", "weight_sum"})
    foreign_keys = frozenset({"betas", "dampening", "nesterov"})
    required_state = ("z",)
    foreach_ops = ("add_", "add", "mul", "lerp_")
    fused_kernels = (compiled.compiled,)
    state_names = ("z",)  # type: ignore[assignment]
    update = staticmethod(schedule_free_sgd_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1.0,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        r: float = 0.0,
        weight_lr_power: float = 2.0,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, {**constructor_arguments(locals()), **GROUP_DEFAULTS})

    @staticmethod
    def interpolation(group: Mapping[str, Any]) -> float:
        return group["momentum"]  # type: ignore[no-any-return]

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        why = ": Schedule-Free's interpolation y = m x + (1 - m) z"
        checked = {
            "lr": check_non_negative("learning rate", hyper["lr"], tensor=True),
            "momentum": check_in_open_unit_interval("momentum value", hyper["momentum"], why),
            "weight_decay": check_non_negative("weight_decay value", hyper["weight_decay"]),
        }
        return super().validated({**hyper, **checked})

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(2)–(4) at the group's step ``k``: a skipped step keeps every tensor (weights 0)."""
        ckp1 = averaging_weight(group)  # (a4) c_t
        return {
            "decay": None if group["weight_decay"] == 0 else group["weight_decay"],  # (2)
            "ckp1": unless_skipped(skip, ckp1, 0.0),  # (3)
            "y_step": unless_skipped(skip, lr * (group["momentum"] * (1 - ckp1) - 1), 0.0),  # (3)
            "z_step": unless_skipped(skip, -lr, 0.0),  # (4)
        }


__all__ = ["ScheduleFreeSGD", "schedule_free_sgd_update"]
