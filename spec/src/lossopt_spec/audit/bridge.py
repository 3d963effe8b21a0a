"""NumPy <-> torch for running a torch optimizer in lock-step with a spec rule.

The spec computes in float64 on NumPy arrays; the torch side holds tensors of the dtype under
test. Each comparison starts the spec from the values torch actually holds (parameters,
gradients and state after rounding to that dtype, read back as float64), so rounding the inputs
is never counted as an error of the update. Used by the audit's lock-step runner and by the
conformance suite's step, trajectory and loss tests.

Imports torch: only an audit that runs, and the conformance suite, import this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from lossopt_spec.tolerances import DEFAULT_TOLERANCES

TORCH_DTYPES: Mapping[str, torch.dtype] = {name: getattr(torch, name) for name in DEFAULT_TOLERANCES}


def to_numpy(value: torch.Tensor | np.ndarray | float) -> np.ndarray:
    """A float64 NumPy copy of a tensor (any device or dtype), array or number."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(device="cpu", dtype=torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def to_tensors(arrays: Sequence[np.ndarray], dtype: str, device: str) -> list[torch.Tensor]:
    """Leaf tensors with ``requires_grad`` from float64 arrays, cast to ``dtype`` on ``device``."""
    return [
        torch.tensor(np.asarray(a, dtype=np.float64), dtype=TORCH_DTYPES[dtype], device=device).requires_grad_()
        for a in arrays
    ]


def rounded(tensors: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """float64 arrays of the values the tensors actually hold (after rounding to their dtype)."""
    return [to_numpy(t) for t in tensors]


def set_grads(params: Sequence[torch.Tensor], grads: Sequence[np.ndarray]) -> None:
    """``p.grad`` from float64 arrays, in each parameter's dtype and on its device."""
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(np.asarray(g, dtype=np.float64), dtype=p.dtype, device=p.device)


def load_spec_state(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], state: Sequence[Mapping[str, Any]], step: int
) -> None:
    """Put a spec state into ``optimizer`` as if it had already taken ``step - 1`` steps.

    Arrays become tensors of the parameter's dtype and device; ``None`` entries (``step`` included: a
    parameter that keeps no counter) are left out, as torch leaves them out; ``step`` becomes a float32
    tensor as torch.optim keeps it (on the parameter's device for ``fused`` / ``capturable`` optimizers,
    on the CPU otherwise). An optimizer with a schedule clock (``set_schedule_step``) is set to
    ``step - 1`` steps taken as well.
    """
    on_device = any(g.get("fused") or g.get("capturable") for g in optimizer.param_groups)
    set_schedule_step = getattr(optimizer, "set_schedule_step", None)
    if set_schedule_step is not None:
        set_schedule_step(step - 1)
    for p, param_state in zip(params, state, strict=True):
        torch_state = optimizer.state[p]
        for key, value in param_state.items():
            if key == "step" and value is not None:
                torch_state["step"] = torch.tensor(float(step - 1), device=p.device if on_device else "cpu")
            elif value is not None:
                torch_state[key] = torch.tensor(value, dtype=p.dtype, device=p.device)


def held_state(
    optimizer: torch.optim.Optimizer,
    params: Sequence[torch.Tensor],
    state: Sequence[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The spec ``state`` with each entry torch also holds replaced by torch's value, as float64.

    Args:
        optimizer: the torch optimizer over ``params``.
        params: its parameters, in the order of ``state``.
        state: the spec's state, one dict per parameter.
        keys: the entries to read back; default every entry but ``step`` (the spec's count, which
            :func:`load_spec_state` sets on the torch side from the step number).

    An entry that is ``None`` on either side keeps the spec's value; a 0-d spec entry stays 0-d.
    """
    read = []
    for p, spec_entries in zip(params, state, strict=True):
        held = optimizer.state.get(p, {})
        entries = dict(spec_entries)
        for key in [k for k in entries if k != "step"] if keys is None else keys:
            if entries.get(key) is not None and held.get(key) is not None:
                value = to_numpy(held[key])
                entries[key] = value if np.ndim(entries[key]) else value.reshape(())
        read.append(entries)
    return read


def spec_state_as_tensors(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], keys: Sequence[str]
) -> list[dict[str, torch.Tensor | None]]:
    """The optimizer's state per parameter under the spec's ``keys`` (``None`` where torch has no entry)."""
    return [{key: optimizer.state.get(p, {}).get(key) for key in keys} for p in params]
