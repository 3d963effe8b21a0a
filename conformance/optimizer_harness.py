"""Running a torch optimizer from a spec state, and reading its state back for comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from conformance.assertions import to_numpy
from conformance.tolerances import TORCH_DTYPES


def to_tensors(arrays: Sequence[np.ndarray], dtype: str, device: str) -> list[torch.Tensor]:
    """Leaf tensors with ``requires_grad`` from float64 arrays, cast to ``dtype`` on ``device``."""
    return [torch.tensor(a, dtype=TORCH_DTYPES[dtype], device=device).requires_grad_() for a in arrays]


def rounded(tensors: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """float64 arrays of the values the tensors actually hold (after rounding to their dtype)."""
    return [to_numpy(t) for t in tensors]


def set_grads(params: Sequence[torch.Tensor], grads: Sequence[np.ndarray]) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=p.dtype, device=p.device)


def load_spec_state(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], state: Sequence[Mapping[str, Any]], step: int
) -> None:
    """Put a spec state into ``optimizer`` as if it had already taken ``step - 1`` steps.

    Arrays become tensors of the parameter's dtype and device; ``None`` entries are left out, as
    torch leaves them out; ``step`` becomes a float32 tensor as torch.optim keeps it (on the
    parameter's device for ``fused`` / ``capturable`` optimizers, on the CPU otherwise). An optimizer
    with a schedule clock (``set_schedule_step``) is set to ``step - 1`` steps taken as well.
    """
    on_device = any(g.get("fused") or g.get("capturable") for g in optimizer.param_groups)
    set_schedule_step = getattr(optimizer, "set_schedule_step", None)
    if set_schedule_step is not None:
        set_schedule_step(step - 1)
    for p, param_state in zip(params, state, strict=True):
        torch_state = optimizer.state[p]
        for key, value in param_state.items():
            if key == "step":
                torch_state["step"] = torch.tensor(float(step - 1), device=p.device if on_device else "cpu")
            elif value is not None:
                torch_state[key] = torch.tensor(value, dtype=p.dtype, device=p.device)


def held_state(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], state: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``state`` with each array replaced by the float64 value torch holds for it after :func:`load_spec_state`."""
    return [
        {
            key: value if value is None or key == "step" else to_numpy(optimizer.state[p][key])
            for key, value in ps.items()
        }
        for p, ps in zip(params, state, strict=True)
    ]


def spec_state_as_tensors(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], keys: Sequence[str]
) -> list[dict[str, torch.Tensor | None]]:
    """The optimizer's state per parameter for ``keys`` (``None`` where torch has no entry)."""
    return [{key: optimizer.state[p].get(key) for key in keys} for p in params]


def format_hparams(name: str, hparams: Mapping[str, Any]) -> str:
    """``sgd(lr=0.1, momentum=0.9)``: the constructor call that reproduces a configuration."""
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in hparams.items()) + ")"
