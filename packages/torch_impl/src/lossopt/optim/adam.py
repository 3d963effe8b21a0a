"""Adam and AdamW (AdamW is Adam with decoupled weight decay, as in torch.optim): mirrors ``lossopt_spec.optim.adam``.

The equations and their tags (0), (c), (1)–(8) are in the spec's docstring:

.. math::

    \\gamma_t = \\gamma w_t c_t, \\quad g \\leftarrow \\kappa g, \\quad
    m_t = \\beta_1 m + (1 - \\beta_1) g, \\quad v_t = \\beta_2 v + (1 - \\beta_2) g^2, \\\\
    \\theta_t = \\theta - \\tfrac{\\gamma_t}{1 - \\beta_1^t} \\tfrac{m_t}{\\sqrt{\\hat v_t/(1-\\beta_2^t)}+\\epsilon}

Kingma & Ba 2015 (arXiv:1412.6980); Loshchilov & Hutter 2019 (arXiv:1711.05101); Reddi et al. 2018 (AMSGrad).

:func:`~lossopt.optim.moments.adam_update` is the per-tensor kernel (the spec's loop body, statement for statement,
in :mod:`lossopt.optim.moments`, which Muon's AdamW groups share); the
glue, the gradient prologue (c), (1), L2 (2) and the kernels that run it per tensor or as
``torch._foreach_*`` launches are in :mod:`lossopt.optim.base` and :mod:`lossopt.optim.kernels`.
``fused=True``: lossopt's C kernel on float32/float64 CPU tensors when clipping or a ``GradScaler``
scales the gradients (it only reads them), else ``torch._fused_adam(w)_``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim.base import constructor_arguments
from lossopt.optim.kernels import cpu, torch_fused
from lossopt.optim.moments import AdamFamily, adam_scalars, adam_update


class Adam(AdamFamily):
    """Adam, with AMSGrad, decoupled weight decay (:class:`AdamW`), optional bias correction, warmup and clipping.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: base learning rate :math:`\\gamma` (>= 0, a float or a tensor); read from ``group["lr"]`` at
            every step, never written.
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` (>= 0).
        weight_decay: :math:`\\lambda` (>= 0): L2, :math:`g \\leftarrow g + \\lambda \\theta`, or with
            ``decoupled_weight_decay`` :math:`\\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda)`.
        amsgrad: use the running maximum of :math:`v` (Reddi et al. 2018).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None``
            (default) for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        capturable: keep every counter and the learning rate on the parameters' device, so ``step()`` can
            be captured in a CUDA graph.
        differentiable: run the update under autograd (per-tensor kernel).
        fused: one pass per step (see the module docstring); at most one of ``fused`` and ``foreach``.
        decoupled_weight_decay: AdamW's decay (what :class:`AdamW` sets).
        use_bias_correction: divide by :math:`1 - \\beta_1^t` and :math:`\\sqrt{1 - \\beta_2^t}` (default), or not.
        warmup_steps: :math:`W`: the learning rate is scaled by :math:`\\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global L2 norm of the
            gradients is inf or NaN, decided on the device without a host sync: parameters, every
            state tensor, the ``step`` counters and the schedule clock keep their values;
            ``group["skipped_steps"]`` (a tensor, in ``state_dict``) counts the skipped steps. The
            counters and the clock then live on the parameters' device (as with ``capturable``).

    ``torch.amp.GradScaler``: with ``fused=True`` the optimizer consumes the scaler's ``grad_scale`` and
    ``found_inf`` (the kernel unscales and skips; ``max_grad_norm`` clips the unscaled gradients, once);
    otherwise the scaler unscales and skips itself. With the extras off it is step for step ``torch.optim.Adam``
    (``AdamW``) and their ``state_dict`` s load into each other; the schedule clock is ``group["schedule_step"]``,
    the last pre-clip norm ``optimizer.last_grad_norm`` (a tensor). Clipping never writes ``p.grad``, except where
    ``fused=True`` runs torch's kernels (CUDA, float16/bfloat16, no C compiler), which write the clipped
    gradient back. A non-finite norm is not an error (as ``clip_grad_norm_``: coefficient 0 or NaN); check
    ``torch.isfinite(optimizer.last_grad_norm)`` to skip such batches, or pass ``skip_nonfinite=True``.

    Differs from the original design: the warmup factor is :math:`\\min(1, t / W)` with 1-based :math:`t` (the
    design's was 0 on the first step and compounded into ``group['lr']``), the learning rate is never overwritten,
    the clip norm covers every group (not group 0) and the closure runs once per step (not twice).

    Example:
        >>> import torch
        >>> from lossopt.optim import Adam
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = Adam([w], lr=0.5)
        >>> w.grad = torch.tensor([1.0, -3.0])
        >>> opt.step()
        >>> w.data  # the first bias-corrected Adam step is lr * sign(g)
        tensor([-0.5000,  0.5000])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {
        "amsgrad": False,
        "maximize": False,
        "foreach": None,
        "capturable": False,
        "differentiable": False,
        "fused": None,
        "decoupled_weight_decay": False,
        "use_bias_correction": True,
    }
    device_counters = True
    fused_amp_scaling = True
    group_keys = frozenset({"betas", "amsgrad"})
    foreign_keys = frozenset({"weight_decouple", "rectify", "momentum"})
    group_values: ClassVar[Mapping[str, Any]] = {"decoupled_weight_decay": False}
    required_state = ("step", "exp_avg", "exp_avg_sq")
    foreach_ops = ("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt", "div_", "maximum_")
    fused_kernels = (cpu.adam, torch_fused.adam())
    kept_when: ClassVar[Mapping[str, str]] = {"max_exp_avg_sq": "amsgrad"}
    state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")  # type: ignore[assignment]
    update = staticmethod(adam_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
        use_bias_correction: bool = True,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, constructor_arguments(locals()))

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(6)–(8) for step ``t`` (:func:`~lossopt.optim.moments.adam_scalars`)."""
        decoupled = group["decoupled_weight_decay"] and group["weight_decay"] != 0
        return adam_scalars(group, t, lr, skip, decoupled=decoupled, bias_correction=group["use_bias_correction"])


class AdamW(Adam):
    """AdamW: :class:`Adam` with decoupled weight decay, :math:`\\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda)`.

    The arguments of :class:`Adam` (``weight_decay`` defaults to 0.01; ``skip_nonfinite``, default ``False``,
    as there), without ``decoupled_weight_decay``; step for step ``torch.optim.AdamW`` with the extras off,
    and their ``state_dict`` s load into each other.

    Example:
        >>> import torch
        >>> from lossopt.optim import AdamW
        >>> w = torch.nn.Parameter(torch.ones(3))
        >>> opt = AdamW([w], lr=0.1, warmup_steps=10, max_grad_norm=1.0)
        >>> w.grad = torch.full((3,), 5.0)
        >>> opt.step()
        >>> opt.last_grad_norm
        tensor(8.6603)
        >>> w.data  # lr_1 = 0.1 * 1/10; the first Adam step moves by lr_1; decay 1 - 0.01 * 0.01
        tensor([0.9899, 0.9899, 0.9899])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {**Adam.flag_defaults, "decoupled_weight_decay": True}
    group_values: ClassVar[Mapping[str, Any]] = {"decoupled_weight_decay": True}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            bound = ADAMW_SIGNATURE.bind(self, *args, **kwargs)
        except TypeError as error:  # as Python's own message for a wrong argument, with the class
            raise TypeError(f"AdamW.__init__() {error}") from None
        bound.apply_defaults()
        arguments = {name: value for name, value in bound.arguments.items() if name != "self"}
        super().__init__(**arguments, decoupled_weight_decay=True)


def _adamw_signature() -> inspect.Signature:
    """Adam's signature with ``weight_decay=0.01`` and without ``decoupled_weight_decay`` (always on)."""
    adam = inspect.signature(Adam.__init__)
    return adam.replace(
        parameters=[
            p.replace(default=1e-2) if p.name == "weight_decay" else p
            for p in adam.parameters.values()
            if p.name != "decoupled_weight_decay"
        ]
    )


ADAMW_SIGNATURE = _adamw_signature()
AdamW.__init__.__signature__ = ADAMW_SIGNATURE  # type: ignore[attr-defined]  # what inspect and the docs show


AdvancedAdam = Adam  # the design document's names
AdvancedAdamW = AdamW

__all__ = ["Adam", "AdamW", "AdvancedAdam", "AdvancedAdamW", "adam_update"]
