"""Schedule-Free AdamW (Defazio et al. 2024, arXiv:2405.15682): mirrors ``lossopt_spec.optim.schedule_free_adamw``.

The equations and their tags (0), (c), (1)–(6) are in the spec's docstring, the averaging weight
:math:`c_t` and the mode switch in ``lossopt_spec.optim.schedule_free``:

.. math::

    v_t = \\beta_2 v + (1 - \\beta_2) g^2,
    \\quad u = \\frac{g}{\\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon} + \\lambda y,
    \\quad y \\leftarrow \\operatorname{lerp}(y, z, c_t) + \\gamma_t (\\beta_1 (1 - c_t) - 1) u,
    \\quad z \\leftarrow z - \\gamma_t u

:func:`schedule_free_adamw_update` is the per-tensor kernel. It divides by
:math:`\\sqrt{c_2} \\, d = \\sqrt{v} + \\epsilon \\sqrt{c_2}` (:math:`c_2 = 1 - \\beta_2^t`) and puts
:math:`\\sqrt{c_2}` in the step sizes, one pass fewer than the authors' :math:`\\sqrt{v / c_2} + \\epsilon` (the same
number to rounding). ``fused=True``: the update compiled by ``torch.compile`` into one pass per tensor
(``lossopt.optim.kernels.compiled``; the multi-tensor kernel where Inductor has no C++ compiler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_adam_family, check_in_open_unit_interval
from lossopt.optim.base import constructor_arguments
from lossopt.optim.kernels import compiled
from lossopt.optim.scalar_ops import sqrt, unless_skipped
from lossopt.optim.schedule_free import GROUP_DEFAULTS, ScheduleFree, averaging_weight


def schedule_free_adamw_update(param: Any, grad: Any, z: Any, exp_avg_sq: Any, s: Any) -> None:
    """(2)–(6) for one tensor at the training point ``param`` (:math:`y`). ``grad`` arrives as (c) :math:`\\kappa g`,
    (1) negated with ``maximize``; ``s`` holds this step's scalars (:meth:`ScheduleFreeAdamW.scalars`)."""
    exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, value=s.one_minus_beta2)  # (2) v <- b2 v + (1 - b2) g^2
    denom = exp_avg_sq.sqrt().add_(s.eps_scaled)  # (3) sqrt(c2) d = sqrt(v) + eps sqrt(c2)
    normalized = grad.div(denom)  # (4) u / sqrt(c2) = g / (sqrt(c2) d)
    if s.decay is not None:
        normalized.add_(param, alpha=s.decay)  # (4) + wd / sqrt(c2) y
    param.lerp_(z, s.ckp1)  # (5) y <- lerp(y, z, c)
    param.add_(normalized, alpha=s.y_step)  # (5) y <- y + lr (b1 (1 - c) - 1) u
    z.add_(normalized, alpha=s.z_step)  # (6) z <- z - lr u


class ScheduleFreeAdamW(ScheduleFree):
    """Schedule-Free AdamW, equal to ``schedulefree.AdamWScheduleFree`` 1.4.1 (the authors' code) step for step, to
    rounding.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor); no schedule is needed (that is the method).
        betas: :math:`(\\beta_1, \\beta_2)`: :math:`\\beta_1` in (0, 1) interpolates :math:`y` between :math:`x` and
            :math:`z`, :math:`\\beta_2` in [0, 1) averages :math:`g^2`.
        eps: :math:`\\epsilon` (>= 0).
        weight_decay: :math:`\\lambda` (>= 0), taken at :math:`y` and added to the normalized gradient.
        warmup_steps: :math:`W`: the learning rate is :math:`\\gamma \\min(1, t / W)` (the authors' warmup).
        r: the averaging weights grow as :math:`t^r` (>= 0; 0: uniform).
        weight_lr_power: :math:`p` (>= 0): a step's averaging weight is :math:`(\\gamma^{\\max}_t)^p` times
            :math:`t^r`, so warmup steps count less.
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None`` (default)
            for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        fused: one pass per step (module docstring); at most one of ``fused`` and ``foreach``.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: ``True`` skips the whole step when the global gradient norm is inf or NaN, on the device:
            parameters, ``z``, ``exp_avg_sq``, ``k``, ``weight_sum`` and ``lr_max`` keep their values.

    **Modes.** As the authors' optimizer it starts in eval mode, and :meth:`step` raises ``RuntimeError`` until
    :meth:`train` is called. :meth:`train` moves the parameters to :math:`y` (where gradients are taken),
    :meth:`eval` to :math:`x` (the average: the weights to evaluate, save and export). Call ``optimizer.eval()``
    before evaluating *and before saving a checkpoint* (the model's weights are then :math:`x`; the optimizer's
    state dict records the mode), ``optimizer.train()`` before the next training step. ``torch.amp.GradScaler``
    unscales the gradients and skips ``step()`` itself.

    State per parameter: ``z`` and ``exp_avg_sq``; per group ``k``, ``train_mode``, ``weight_sum``, ``lr_max``,
    ``scheduled_lr`` (:mod:`lossopt.optim.schedule_free`), so the authors' state dicts load into it and its into
    theirs.

    Example:
        >>> import torch
        >>> from lossopt import ScheduleFreeAdamW
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = ScheduleFreeAdamW([w], lr=0.1)
        >>> opt.train()
        >>> w.grad = torch.tensor([1.0, -2.0])
        >>> opt.step()  # c_1 = 1: y = z_0 - lr u with u = g / |g|, the first Adam step
        >>> w.data
        tensor([-0.1000,  0.1000])
        >>> opt.eval()  # x = z_1 after one step
        >>> w.data
        tensor([-0.1000,  0.1000])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {"maximize": False, "foreach": None, "fused": None}
    group_keys = frozenset({"betas", "weight_lr_power", "weight_sum"})
    foreign_keys = frozenset({"momentum", "amsgrad"})
    required_state = ("z", "exp_avg_sq")
    foreach_ops = ("add_", "mul_", "addcmul_", "sqrt", "div", "lerp_")
    fused_kernels = (compiled.compiled,)
    state_names = ("z", "exp_avg_sq")  # type: ignore[assignment]
    update = staticmethod(schedule_free_adamw_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 0.0025,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
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
        return group["betas"][0]  # type: ignore[no-any-return]

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        checked = check_adam_family(hyper["lr"], hyper["betas"], hyper["eps"], hyper["weight_decay"])
        why = ": Schedule-Free's interpolation y = b1 x + (1 - b1) z; at 0 x is undefined"
        check_in_open_unit_interval("beta parameter at index 0", checked["betas"][0], why)
        return super().validated({**hyper, **checked})

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(2)–(6) at the group's step ``k``: a skipped step keeps every tensor (beta 1, weight 0, divisor finite)."""
        beta1, beta2 = group["betas"]
        ckp1 = averaging_weight(group)  # (a4) c_t
        root = unless_skipped(skip, sqrt(1 - beta2 ** group["k"]), 1.0)  # (3) sqrt(c2) = sqrt(1 - b2^t)
        return {
            "beta2": unless_skipped(skip, beta2, 1.0),  # (2)
            "one_minus_beta2": 1 - beta2,  # (2) (a skipped step's g is 0)
            "eps_scaled": unless_skipped(skip, group["eps"] * root, 1.0),  # (3)
            "decay": None if group["weight_decay"] == 0 else group["weight_decay"] / root,  # (4)
            "ckp1": unless_skipped(skip, ckp1, 0.0),  # (5)
            "y_step": unless_skipped(skip, lr * (beta1 * (1 - ckp1) - 1) * root, 0.0),  # (5)
            "z_step": unless_skipped(skip, -lr * root, 0.0),  # (6)
        }


__all__ = ["ScheduleFreeAdamW", "schedule_free_adamw_update"]
