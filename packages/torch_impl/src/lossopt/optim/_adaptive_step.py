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

The fused paths (``fused=True``). RAdam's rectified step is Adam's step with the learning rate
scaled by :math:`r_t \\sqrt{c_2}/c_1` and the bias corrections at 1, so it runs on torch's own fused
Adam kernel and compiles nothing (``lossopt.optim.radam``). AdaBelief has no torch kernel (its
second moment tracks :math:`(g - m_t)^2`): on float32/float64 CPU tensors it runs lossopt's C kernel
(``lossopt.optim._cpu_kernels``, fed the coefficient rows built here); elsewhere its update is compiled
with ``torch.compile`` (dynamic shapes, so one compilation serves every parameter size) as a function
of :data:`CHUNK` tensors (:func:`fused_chunked_call`): Dynamo's guards and the compiled function's wrappers cost tens of
microseconds per call, which per tensor would dominate a step of a model with hundreds of
parameter tensors. Every scalar, ``1 - beta`` included, enters as one row of a coefficient tensor,
so new values (a scheduler's learning rate, a tensor learning rate, the step) never recompile. What
remains compiled separately: each parameter dtype, AdaBelief with and without ``amsgrad``;
one-element and non-contiguous tensors run the same function eagerly.

Paying the compilation once (CUDA, float16/bfloat16, or a CPU without a C compiler; on other CPUs the
C kernel builds in under a second): the first ``step()`` of a process with ``AdaBelief(fused=True)``
compiles (measured 14 to 30 s on a shared 2-core CPU for the 8-tensor function; see the
benchmarks). Inductor's FX-graph and AOTAutograd caches are on by default and persist on disk
(``TORCHINDUCTOR_CACHE_DIR``, by default under the system temporary directory), so later processes
on the same machine load the kernel instead of compiling it (a few seconds): point
``TORCHINDUCTOR_CACHE_DIR`` at a persistent directory (one that survives reboots and is shared by
the job's workers), or ship the cache with ``torch.compiler.save_cache_artifacts()`` /
``torch.compiler.load_cache_artifacts()``. Where no compiler toolchain is available, use the
default ``foreach`` kernel (or fused RAdam, which needs none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch._dynamo.config
import torch.fx.experimental._config

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


CHUNK = 8
"""Tensors per compiled call: Dynamo's guards and the AOT / Inductor wrappers cost tens of microseconds
per call, paid once per chunk instead of once per tensor (200 tensors: 25 calls instead of 200).
Compile time grows with it (one loop per tensor in the generated kernel)."""

# Inductor options of the chunked kernel:
# - size_asserts off: the wrapper re-checks every input's layout, which Dynamo's guards already did;
# - cpp.dynamic_threads: one OpenMP parallel region per call whatever the sizes seen when compiling.
#   Without it, Inductor decides serial vs parallel from the first call's sizes, and its on-disk
#   cache hands a kernel compiled for small tensors (serial) to a later process with large ones.
_CHUNK_OPTIONS: dict[str, str | int | bool | Callable[..., Any]] = {"size_asserts": False, "cpp.dynamic_threads": True}
RECOMPILE_LIMIT = 64
"""Dynamo's limit of compilations per code object while a chunk runs (its default, 8, is shared by
every variant of the one chunk function: each update rule, dtype combination, ``skip`` given or not,
``plain`` or not; a process compiles only those it uses)."""
_CHUNK_RUNNERS: dict[Callable[..., None], Callable[..., None]] = {}
_PADDING: dict[tuple[torch.device, tuple[torch.dtype, ...]], list[torch.Tensor]] = {}


def _chunk_runner(update: Callable[..., None]) -> Callable[..., None]:
    """``update`` applied to :data:`CHUNK` tensors per call, compiled once with dynamic shapes."""
    if update not in _CHUNK_RUNNERS:

        def run_chunk(
            lists: list[list[torch.Tensor]], coefs: torch.Tensor, skip: torch.Tensor | None, plain: bool
        ) -> None:
            for j in range(CHUNK):
                update(*[tensors[j] for tensors in lists], coefs[j], skip, plain)

        _CHUNK_RUNNERS[update] = torch.compile(run_chunk, dynamic=True, fullgraph=True, options=_CHUNK_OPTIONS)
    return _CHUNK_RUNNERS[update]


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    """A 1-D alias of a contiguous tensor, detached (not a view: Dynamo guards a view on its base's shape).

    A 1-D tensor that is neither a view nor requires grad (a gradient, a state) is passed as it is.
    """
    if tensor.dim() != 1:
        return tensor.view(-1).detach()
    return tensor.detach() if tensor.requires_grad or tensor._is_view() else tensor


def _padding(device: torch.device, dtypes: tuple[torch.dtype, ...]) -> list[torch.Tensor]:
    """Scratch tensors of two elements, one per list, that fill the last chunk (their updates are discarded)."""
    key = (device, dtypes)
    if key not in _PADDING:
        _PADDING[key] = [torch.ones(2, dtype=dtype, device=device) for dtype in dtypes]
    return _PADDING[key]


def fused_chunked_call(
    update: Callable[..., None],
    lists: Sequence[Sequence[torch.Tensor]],
    coefs: torch.Tensor,
    skip: torch.Tensor | None,
    plain: bool = False,
) -> None:
    """Run ``update(*tensors_i, coefs[i], skip, plain)`` for every ``i``: compiled, :data:`CHUNK` tensors a call.

    ``lists`` holds one list per argument (params, grads, states...), all on one device. Contiguous
    tensors of two or more elements go through one compiled function per chunk (the last chunk is
    filled with scratch tensors), compiled once for every size with Dynamo's duck sizing off, so
    tensors that happen to share a size at the first call do not specialize the kernel to that
    pattern. The others (one element, non-contiguous: rare) run ``update`` eagerly. ``skip`` is the
    0/1 flag of :func:`skip_flag`, or ``None`` (no ``found_inf``: a kernel without the selects, compiled
    separately the first time a ``found_inf`` is given); ``plain`` (a Python flag) selects the
    kernel without the gradient's scale, L2 and decay (also compiled once each way).
    """
    device = lists[0][0].device
    chunked = []
    contiguous = torch.Tensor.is_contiguous
    for i, tensors in enumerate(zip(*lists, strict=True)):
        if tensors[0].numel() > 1 and all(map(contiguous, tensors)):
            chunked.append(i)
        else:
            update(*tensors, coefs[i], skip, plain)  # eagerly: Inductor specializes length 1 and each layout
    if not chunked:
        return
    runner = _chunk_runner(update)
    padding = _padding(device, tuple(t[chunked[0]].dtype for t in lists))
    fill = -len(chunked) % CHUNK
    # one gather for the step: the chunked rows, the last repeated into the padding; each block is passed
    # detached (not a view, so Dynamo does not guard the matrix's height)
    blocks = coefs[chunked + chunked[-1:] * fill].view(-1, CHUNK, coefs.shape[1]).unbind(0)
    with (
        torch.fx.experimental._config.patch(use_duck_shape=False),  # type: ignore[attr-defined]
        torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT),
    ):
        for j, block in enumerate(blocks):
            rows = chunked[j * CHUNK : (j + 1) * CHUNK]
            pads = CHUNK - len(rows)
            chunk_lists = [[_flat(t[i]) for i in rows] + [pad] * pads for t, pad in zip(lists, padding, strict=True)]
            runner(chunk_lists, block.detach(), skip, plain)


def upcast(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """float32 copies of float16/bfloat16 tensors (the others as they are), for the update's arithmetic."""
    return [t.float() if t.dtype in LOW_PRECISION else t for t in tensors]


def write_back(originals: Sequence[torch.Tensor], computed: Sequence[torch.Tensor]) -> None:
    """Round the float32 results of :func:`upcast` back into the low-precision originals."""
    pairs = [(o, c) for o, c in zip(originals, computed, strict=True) if o is not c]
    if pairs:
        torch._foreach_copy_([o for o, _ in pairs], [c for _, c in pairs])


def host_counter_values(steps: Sequence[torch.Tensor]) -> list[float]:
    """The values of the step counters, read on the host.

    The counters live on the CPU (:func:`new_step_counter`, as ``torch.optim`` keeps them for
    optimizers that are not capturable), so reading them is no device synchronisation; the fused
    kernels choose the :math:`\\rho_t` branch from these host values.
    """
    return [step.item() for step in steps]


def skip_flag(found_inf: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    """``found_inf`` as the 0-dim float32 flag torch's fused kernels test (they skip on exactly 1.0).

    Any nonzero ``found_inf`` means "skip this step"; computed on the device, never read back.
    """
    if found_inf is None:
        return None
    return (found_inf.to(device) != 0).to(torch.float32)


def revert_skipped_steps(steps: Sequence[torch.Tensor], skip: torch.Tensor | None) -> None:
    """Undo the counters' increment where the step was skipped (``t <- t - skip``), as torch's fused Adam.

    The counters are on the CPU: for CPU parameters this is no synchronisation; for parameters on an
    accelerator, moving the flag to the CPU waits for it (the one place a skipped step costs a sync).
    """
    if skip is not None and len(steps) > 0:
        flag = skip.to(steps[0].device)
        torch._foreach_sub_(list(steps), [flag] * len(steps))


def lr_columns(coefs: torch.Tensor, lr: float | torch.Tensor, scaled: Sequence[int], decayed: Sequence[int]) -> None:
    """Bring the learning rate into a float64 coefficient matrix built with ``lr = 1``, on its device.

    Columns in ``scaled`` hold :math:`f` and become :math:`\\gamma f`; columns in ``decayed`` hold
    :math:`\\lambda` and become :math:`1 - \\gamma \\lambda`. ``lr`` is a float or a 0-dim tensor (on
    any device; never read back), so a float and the equal tensor give bit-identical coefficients.
    """
    rate = lr.to(device=coefs.device, dtype=coefs.dtype) if isinstance(lr, torch.Tensor) else lr
    for column in scaled:
        coefs[:, column] *= rate
    for column in decayed:
        coefs[:, column] = 1.0 - rate * coefs[:, column]


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
    *,
    lr: float | torch.Tensor = 1.0,
    scaled: Sequence[int] = (),
    decayed: Sequence[int] = (),
) -> torch.Tensor:
    """The scalars of a fused kernel, one row per tensor, on ``like``'s device.

    Column 0 is the gradient's scale: the clip coefficient (1 without clipping), negated with
    ``maximize``; then ``constants`` (the same for every tensor) and the ``per_tensor`` columns.
    Built on the CPU in float64 and copied once per (device, dtype) group; the clip coefficient
    (a tensor on the gradients' device) is multiplied in there, never read back. The dtype is
    float64 for float64 parameters, float32 otherwise (the kernels' arithmetic dtype).

    The columns listed in ``scaled`` / ``decayed`` were computed for ``lr = 1`` and take the learning
    rate here (:func:`lr_columns`), in float64, whether ``lr`` is a float or a 0-dim tensor.
    """
    n = per_tensor[0].shape[0]
    sign = -1.0 if maximize else 1.0
    columns = [torch.full((n,), float(v), dtype=torch.float64) for v in (sign, *constants)]
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    host = torch.stack([*columns, *[c.to(torch.float64) for c in per_tensor]], dim=1)
    if isinstance(lr, torch.Tensor):
        coefs = host.to(device=like.device)
        lr_columns(coefs, lr, scaled, decayed)
        coefs = coefs.to(dtype)
    else:
        lr_columns(host, lr, scaled, decayed)
        coefs = host.to(device=like.device, dtype=dtype)
    if clip is not None:
        coefs[:, 0].mul_(clip.to(like.device))  # (c3) kappa, on the device
    return coefs
