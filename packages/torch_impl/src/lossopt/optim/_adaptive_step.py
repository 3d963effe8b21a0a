"""Machinery shared by RAdam and AdaBelief: step counters, per-tensor coefficients, the fused path.

Both rules end in the same form, whichever branch :math:`\\rho_t` selects:

.. math::

    \\theta \\leftarrow \\theta - a \\, \\frac{m}{k \\sqrt{x} + c}

with per-tensor scalars :math:`(k, c, a)`: the adaptive step is :math:`(1, \\epsilon, \\gamma r_t \\sqrt{c_2}/c_1)`,
the un-adapted momentum step :math:`(0, 1, \\gamma/c_1)` and "no step" :math:`(0, 1, 0)`. The
scalars are computed from the step counters as tensors (``float64``, on the counters' device,
the CPU), never read back to Python, so choosing the branch needs no host synchronisation and
no Python ``if`` on a tensor; :math:`k = 0` also keeps an un-adapted step finite when
:math:`x = 0` and :math:`\\epsilon = 0`.

The fused path (``fused=True``) runs each rule's update of one tensor as one
``torch.compile``-generated kernel with dynamic shapes, so one compilation serves every
parameter size and the cost does not grow with the number or size of the parameters (compiling
the update of a whole 20M-parameter list as one graph is what takes minutes). Every scalar,
``1 - beta`` included, enters as one row of a coefficient tensor, so new values (a scheduler's
learning rate, the step) never recompile. What remains compiled separately: each parameter dtype,
and AdaBelief with and without ``amsgrad``; one-element tensors run the same function eagerly.

Paying the compilation once: the first ``step()`` of a process compiles (a few seconds to tens of
seconds on a small CPU, see the benchmarks). Inductor's FX-graph and AOTAutograd caches are on by
default and persist on disk (``TORCHINDUCTOR_CACHE_DIR``, by default under the system temporary
directory), so later processes on the same machine load the kernels instead of compiling them:
point ``TORCHINDUCTOR_CACHE_DIR`` at a persistent directory (one that survives reboots and is
shared by the job's workers), or ship the cache with ``torch.compiler.save_cache_artifacts()`` /
``torch.compiler.load_cache_artifacts()``. Where no compiler toolchain is available, use the
default ``foreach`` kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

LOW_PRECISION = (torch.float16, torch.bfloat16)


def new_step_counter() -> torch.Tensor:
    """A step counter as ``torch.optim`` keeps it: a 0-dim float32 tensor on the CPU."""
    return torch.tensor(0.0, dtype=torch.float32)


def increment(steps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Add one to every counter and return them stacked as ``float64`` (for the coefficients)."""
    torch._foreach_add_(list(steps), 1.0)
    return torch.stack(list(steps)).to(torch.float64)


def as_scalars(values: torch.Tensor) -> list[torch.Tensor]:
    """A 1-D coefficient tensor as a list of 0-dim tensors, one per parameter (``_foreach`` lists)."""
    return list(values.unbind())


def denominators(x: Sequence[torch.Tensor], k: torch.Tensor, c: torch.Tensor) -> list[torch.Tensor]:
    """:math:`k \\sqrt{x} + c` for every tensor, with per-tensor ``k`` and ``c`` (1-D coefficient tensors)."""
    buffers = list(torch._foreach_sqrt(list(x)))
    torch._foreach_mul_(buffers, as_scalars(k))
    torch._foreach_add_(buffers, as_scalars(c))
    return buffers


_COMPILED: dict[Callable[..., None], Callable[..., None]] = {}


def compiled(update: Callable[..., None]) -> Callable[..., None]:
    """``update`` compiled once per process with dynamic shapes (one kernel for every size)."""
    if update not in _COMPILED:
        _COMPILED[update] = torch.compile(update, dynamic=True, fullgraph=True)
    return _COMPILED[update]


def upcast(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """float32 copies of float16/bfloat16 tensors (the others as they are), for the update's arithmetic."""
    return [t.float() if t.dtype in LOW_PRECISION else t for t in tensors]


def write_back(originals: Sequence[torch.Tensor], computed: Sequence[torch.Tensor]) -> None:
    """Round the float32 results of :func:`upcast` back into the low-precision originals."""
    pairs = [(o, c) for o, c in zip(originals, computed, strict=True) if o is not c]
    if pairs:
        torch._foreach_copy_([o for o, _ in pairs], [c for _, c in pairs])


def fused_call(update: Callable[..., None], tensors: Sequence[torch.Tensor], coefs: torch.Tensor) -> None:
    """Run ``update(*tensors, coefs)`` compiled, on 1-D views of contiguous tensors.

    One compiled kernel serves every length >= 2 (dynamic shapes). A single-element tensor runs
    the same function eagerly: compilation specializes length 1 separately, which would spend a
    compilation (and one of Dynamo's 8 recompilations per function) on a one-number update.
    Non-contiguous tensors are passed with their own shapes (a kernel per layout).
    """
    if tensors[0].numel() <= 1:
        update(*tensors, coefs)
        return
    # detached aliases, not views: Dynamo guards a view on its base's shape and strides, which
    # would recompile for every distinct parameter shape (and the coefficient matrix's height)
    if all(t.is_contiguous() for t in tensors):
        tensors = [t.view(-1).detach() for t in tensors]
    else:
        tensors = [t.detach() for t in tensors]
    compiled(update)(*tensors, coefs.detach())


def check_sparse(name: str, param: torch.Tensor) -> None:
    if param.grad is not None and param.grad.is_sparse:
        raise RuntimeError(
            f"{name} does not support sparse gradients; got one for a parameter of shape {tuple(param.shape)}"
        )


def fused_coefficients(
    clip: torch.Tensor | None,
    maximize: bool,
    constants: Sequence[float],
    per_tensor: Sequence[torch.Tensor],
    like: torch.Tensor,
) -> torch.Tensor:
    """The scalars of a fused kernel, one row per tensor, on ``like``'s device.

    Column 0 is the gradient's scale: the clip coefficient (1 without clipping), negated with
    ``maximize``; then ``constants`` (the same for every tensor) and the ``per_tensor`` columns.
    Built on the CPU in float64 and copied once per (device, dtype) group; the clip coefficient
    (a tensor on the gradients' device) is multiplied in there, never read back. The dtype is
    float64 for float64 parameters, float32 otherwise (the kernels' arithmetic dtype).
    """
    n = per_tensor[0].shape[0]
    sign = -1.0 if maximize else 1.0
    columns = [torch.full((n,), float(v), dtype=torch.float64) for v in (sign, *constants)]
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    coefs = torch.stack([*columns, *per_tensor], dim=1).to(device=like.device, dtype=dtype)
    if clip is not None:
        coefs[:, 0].mul_(clip.to(like.device))  # (c3) kappa, on the device
    return coefs
