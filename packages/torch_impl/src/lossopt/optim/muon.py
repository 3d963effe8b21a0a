"""Muon (Jordan et al. 2024; Liu et al. 2025, arXiv:2502.16982): mirrors ``lossopt_spec.optim.muon``.

The equations and their tags (0)–(7) are in the spec's docstring:

.. math::

    M \\leftarrow \\mu M + (1 - \\mu) G, \\quad U = (1 - \\mu) G + \\mu M \\ \\text{(Nesterov)}, \\quad
    O = \\mathrm{NS}_k(U), \\quad \\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda) - \\gamma_t s\\, O

:func:`muon_momentum` (2)–(3) and :func:`muon_apply` (7) are the per-tensor parts around the Newton–Schulz
orthogonalisation (4)–(5), which is not elementwise: the kernels of :mod:`lossopt.optim.kernels.orthogonal`
run it per matrix (``foreach=False``) or on stacks of same-shape matrices (the default), gathering FSDP2's
sharded parameters first. Groups with ``use_muon=False`` take AdamW's step (:mod:`lossopt.optim.moments`)
through the shared per-tensor and multi-tensor kernels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_betas, check_muon_arguments, check_non_negative, refuse_in_muon_group
from lossopt.optim.base import Kernel, RuleOptimizer, constructor_arguments
from lossopt.optim.kernels import execute, orthogonal
from lossopt.optim.moments import adam_scalars, adam_update
from lossopt.optim.scalar_ops import unless_skipped

ADAMW_STATE = ("exp_avg", "exp_avg_sq")


def muon_momentum(grad: Any, momentum_buffer: Any, s: Any) -> Any:
    """(2)–(3) for one tensor (or the tensors of one run): the matrix to orthogonalise. ``grad`` arrives as (1)
    :math:`\\kappa g`, negated with ``maximize``; ``s`` holds this step's scalars (:meth:`Muon.scalars`)."""
    momentum_buffer.lerp_(grad, s.one_minus_momentum)  # (2) M <- mu M + (1 - mu) G
    return grad.lerp(momentum_buffer, s.momentum) if s.nesterov else momentum_buffer  # (3) U


def muon_apply(param: Any, orthogonal: Any, s: Any, scale: float) -> None:
    """(7) for one tensor (or a run of one shape): decay with the unadjusted rate, then the scaled step."""
    param.mul_(s.decay)  # (7) p <- p (1 - lr wd)
    param.add_(orthogonal, alpha=-(s.lr * scale))  # (7) p <- p - lr s O


class _AdamWGroups:
    """The rule the shared kernels run on the groups with ``use_muon=False``: AdamW's step, bias corrected."""

    first_step_differs = False
    float32_arithmetic = False
    host_arithmetic = True

    @staticmethod
    def update(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, s: Any) -> None:
        adam_update(param, grad, exp_avg, exp_avg_sq, None, s)  # (2)-(8) of adam.py, no AMSGrad

    def coupled_decay(self, group: Mapping[str, Any]) -> float:
        return 0.0  # decoupled: (2) in the update

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        return adam_scalars(group, t, lr, skip, decoupled=group["weight_decay"] != 0, bias_correction=True)


_ADAMW = _AdamWGroups()
_ADAMW_KERNELS: dict[Kernel, Kernel] = {
    execute.foreach: lambda rule, batch, inputs: execute.foreach(_ADAMW, batch, inputs),  # type: ignore[arg-type]
    execute.per_tensor: lambda rule, batch, inputs: execute.per_tensor(_ADAMW, batch, inputs),  # type: ignore[arg-type]
}


def muon_groups(params: Iterable[torch.Tensor] | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameters (or parameter groups) split by dims: those of 2 or more in Muon groups, the others (0-d, 1-d)
    in groups with ``use_muon=False``, each keeping its group's other settings; empty groups are dropped.

    Example:
        >>> import torch
        >>> from lossopt.optim.muon import muon_groups
        >>> groups = muon_groups([torch.zeros(3, 4), torch.zeros(3), torch.zeros(2, 1, 3, 3)])
        >>> [(len(g["params"]), g.get("use_muon", True)) for g in groups]
        [(2, True), (1, False)]
    """
    given: list[Any] = list(params)
    groups: list[dict[str, Any]] = given if given and isinstance(given[0], dict) else [{"params": given}]
    split = []
    for group in groups:
        tensors = [group["params"]] if isinstance(group["params"], torch.Tensor) else list(group["params"])
        settings = {k: v for k, v in group.items() if k != "params"}
        split.append({**settings, "params": [p for p in tensors if p.ndim >= 2]})
        split.append({**settings, "params": [p for p in tensors if p.ndim < 2], "use_muon": False})
    return [g for g in split if g["params"]]


class Muon(RuleOptimizer):
    """Muon with AdamW groups: step for step ``torch.optim.Muon`` on matrices, defined beyond it.

    Args:
        params: iterable of parameters or of parameter-group dicts. A group's parameters must have at least 2
            dims unless it sets ``use_muon=False`` (:func:`muon_groups` splits a list by dims).
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor).
        weight_decay: :math:`\\lambda` (>= 0), decoupled: :math:`\\theta (1 - \\gamma_t \\lambda)` with the unadjusted
            rate, as torch.
        momentum: :math:`\\mu` (>= 0), as ``lerp_``: :math:`M \\leftarrow \\mu M + (1 - \\mu) G`.
        nesterov: orthogonalise :math:`(1 - \\mu) G + \\mu M` (default) instead of :math:`M`.
        ns_coefficients: :math:`(a, b, c)` of the quintic Newton–Schulz iteration (three finite numbers).
        eps: :math:`\\epsilon` (>= 0): the update is divided by :math:`\\max(\\lVert U \\rVert_F, \\epsilon)`.
        ns_steps: Newton–Schulz steps :math:`k`, an integer in [1, 99].
        adjust_lr_fn: the update's scale (6) of the ``(shape[0], -1)`` view :math:`A \\times B`: ``None`` or
            ``"original"`` :math:`\\sqrt{\\max(1, A/B)}` (Jordan), ``"match_rms_adamw"``
            :math:`0.2\\sqrt{\\max(A, B)}` (Liu et al.: AdamW's update RMS, so AdamW's lr and decay carry over).
        use_muon: the default of every group's ``use_muon``; ``False`` takes AdamW's step with the group's
            ``betas``, ``eps`` and ``weight_decay`` (state ``step``, ``exp_avg``, ``exp_avg_sq``), as Jordan's
            ``MuonWithAuxAdam``.
        betas: :math:`(\\beta_1, \\beta_2)` of the AdamW groups, each in [0, 1) (Jordan's and Moonlight's default).
        ns_dtype: the orthogonalisation's dtype: ``torch.bfloat16`` (default, torch's whatever the parameter's
            dtype), ``torch.float16``, ``torch.float32``, ``torch.float64``, or ``None`` (the parameter's).
        maximize: ascend the objective.
        foreach: ``False`` orthogonalises one matrix at a time (torch's statements); ``None`` / ``True`` stacks the
            matrices of one shape into batched matmuls (the same products).
        warmup_steps: :math:`W`: the learning rate is scaled by :math:`\\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: default ``False``. ``True`` skips the whole step when the global gradient norm is inf or
            NaN, decided on the device without a host sync; ``group["skipped_steps"]`` counts the skips.

    ``torch.amp.GradScaler`` unscales the gradients and skips ``step()`` itself. State per parameter of a Muon
    group: ``momentum_buffer``, as ``torch.optim.Muon``, so either ``state_dict`` loads into the other; AdamW
    groups keep ``torch.optim.AdamW``'s. Complex parameters are refused in Muon groups (``ValueError``, as
    torch refuses them at the step); AdamW groups update them as their real views.

    FSDP2: a Muon group's DTensor parameters are orthogonalised whole (each rank gathers the update, in
    ``ns_dtype``; see :mod:`lossopt.optim.kernels.orthogonal`), so a sharded run follows the unsharded one.

    Differs from ``torch.optim.Muon``: parameters of more than 2 dims (their ``(shape[0], -1)`` view), AdamW
    groups, ``ns_dtype``, ``foreach``, ``maximize`` and the extras; with ``ns_dtype=torch.bfloat16`` and
    bfloat16 parameters, ``nesterov=False`` leaves the momentum buffer as (2) computed it, where torch divides it
    in place by its norm (its bfloat16 copy is the buffer itself). Jordan's and Moonlight's differences are in
    the spec's docstring.

    Example:
        >>> import torch
        >>> from lossopt.optim import Muon
        >>> w = torch.nn.Parameter(torch.zeros(2, 2))
        >>> opt = Muon([w], lr=0.1, weight_decay=0.0, ns_dtype=torch.float64)
        >>> w.grad = torch.tensor([[3.0, 0.0], [0.0, 0.0]])
        >>> opt.step()  # rank one: O = s5 e1 e1^T, s: 1 -> 0.701 -> 1.114 -> 0.721 -> 1.090 -> 0.696
        >>> w.data
        tensor([[-0.0696,  0.0000],
                [ 0.0000,  0.0000]])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {
        "nesterov": True,
        "use_muon": True,
        "maximize": False,
        "foreach": None,
    }
    counts_steps = False  # Muon groups; AdamW groups count (group_counts_steps)
    foreach_ops = ("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt", "div_")  # the AdamW groups' kernel
    group_keys = frozenset({"ns_coefficients", "ns_steps", "adjust_lr_fn"})
    state_names = ("momentum_buffer", *ADAMW_STATE)  # type: ignore[assignment]
    momentum = staticmethod(muon_momentum)
    apply = staticmethod(muon_apply)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
        *,
        use_muon: bool = True,
        betas: tuple[float, float] = (0.9, 0.95),
        ns_dtype: torch.dtype | None = torch.bfloat16,
        maximize: bool = False,
        foreach: bool | None = None,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, constructor_arguments(locals()))

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {
            **hyper,
            "lr": check_non_negative("learning rate", hyper["lr"], tensor=True),
            "weight_decay": check_non_negative("weight_decay value", hyper["weight_decay"]),
            "momentum": check_non_negative("momentum value", hyper["momentum"]),
            "eps": check_non_negative("epsilon value", hyper["eps"]),
            "betas": check_betas(hyper["betas"]),
            **check_muon_arguments(
                hyper["ns_coefficients"], hyper["ns_steps"], hyper["adjust_lr_fn"], hyper["ns_dtype"]
            ),
        }

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        params = param_group["params"]
        param_group["params"] = [params] if isinstance(params, torch.Tensor) else list(params)
        if param_group.get("use_muon", self.defaults["use_muon"]) is True:
            for i, p in enumerate(param_group["params"]):
                refuse_in_muon_group(p, i, len(self.param_groups))  # before the group is added
        super().add_param_group(param_group)

    def group_state_names(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["use_muon"] else ADAMW_STATE

    def group_counts_steps(self, group: Mapping[str, Any]) -> bool:
        return not group["use_muon"]

    def kernels(self, group: Mapping[str, Any]) -> list[Kernel]:
        """Muon groups: :mod:`~lossopt.optim.kernels.orthogonal`'s batched kernel, per tensor with ``foreach=False``;
        AdamW groups: the shared multi-tensor or per-tensor kernel, chosen as for every rule."""
        if not group["use_muon"]:
            return [_ADAMW_KERNELS[kernel] for kernel in super().kernels(group)]
        return [orthogonal.per_tensor if group["foreach"] is False else orthogonal.batched]  # type: ignore[list-item]

    def ns_dtype(self, group: Mapping[str, Any], param: torch.Tensor) -> torch.dtype:
        return param.dtype if group["ns_dtype"] is None else group["ns_dtype"]  # type: ignore[no-any-return]

    def update_scale(self, shape: Sequence[int], group: Mapping[str, Any]) -> float:
        """(6) :math:`s` of a parameter of ``shape`` (its ``(shape[0], -1)`` view), as torch computes it."""
        rows, cols = orthogonal.matrix_shape(shape)
        if group["adjust_lr_fn"] == "match_rms_adamw":
            return 0.2 * math.sqrt(max(rows, cols))  # (6) s = 0.2 sqrt(max(A, B))
        return math.sqrt(max(1, rows / cols)) if cols else 1.0  # (6) s = sqrt(max(1, A / B))

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(2)–(7) of a Muon group: a skipped step keeps every tensor (no momentum update, no decay, rate 0)."""
        return {
            "one_minus_momentum": unless_skipped(skip, 1 - group["momentum"], 0.0),  # (2)
            "momentum": group["momentum"],  # (3)
            "nesterov": bool(group["nesterov"]),  # (3)
            "decay": unless_skipped(skip, 1 - lr * group["weight_decay"], 1.0),  # (7)
            "lr": unless_skipped(skip, lr, 0.0),  # (7), times s per tensor
        }


__all__ = ["Muon", "muon_apply", "muon_groups", "muon_momentum"]
