"""A rule's per-tensor update compiled by ``torch.compile`` into one pass per tensor: ``fused=True`` where no
lossopt or torch kernel exists (AdaBelief on CUDA, on float16/bfloat16 parameters, or without a C compiler).

The gradient prologue and the update run in one compiled function of :data:`CHUNK` tensors (Dynamo's guards cost
tens of microseconds a call). Every number enters as a column of one coefficient tensor, so a new learning rate,
step or skip never recompiles; shapes are dynamic; one-element and non-contiguous tensors run eagerly. The first
step of a process compiles (14 to 30 s on a shared 2-core CPU); Inductor's on-disk caches
(``TORCHINDUCTOR_CACHE_DIR``, ``torch.compiler.save_cache_artifacts()``) serve later processes. Where Inductor
has no C++ compiler on a CPU, or on the step that creates the state of a rule whose first step differs
(``s.first``), this kernel takes nothing and the multi-tensor kernel runs.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
import torch._dynamo.config
import torch.fx.experimental._config

from lossopt.optim.kernels.execute import LOW_PRECISION, Batch, Scalars, StepInputs, step_scalars
from lossopt.optim.kernels.lanes import Lane

CHUNK = 8
"""Tensors per compiled call (200 tensors: 25 calls instead of 200); compile time grows with it."""
RECOMPILE_LIMIT = 64
"""Dynamo's limit of compilations per code object while a chunk runs (its default, 8, is shared by every
variant of the one chunk function: each rule, dtype combination and structural choice)."""
# size_asserts off: Dynamo's guards already checked every input's layout; cpp.dynamic_threads: one OpenMP
# region per call whatever sizes were seen when compiling (the on-disk cache may hand a kernel compiled
# for small tensors to a process with large ones)
_OPTIONS: dict[str, Any] = {"size_asserts": False, "cpp.dynamic_threads": True}
_RUNNERS: dict[Callable[..., None], Callable[..., None]] = {}
_PADDING: dict[tuple[Any, ...], list[torch.Tensor | None]] = {}


@functools.cache
def cpu_compiler_present() -> bool:
    """Whether Inductor finds the C++ compiler its CPU kernels need (its own search: ``config.cpp.cxx``)."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return bool(shutil.which(get_cpp_compiler()))
    except Exception:  # any failure of Inductor's search means no usable compiler
        return False


def _update_one(
    update: Callable[..., None], tensors: Sequence[torch.Tensor | None], row: torch.Tensor, meta: Any
) -> None:
    """The prologue and ``update`` for one tensor, its numbers read from ``row`` (see :func:`compiled`)."""
    names, structural, skip, upcast = meta
    numbers = dict(zip(names, row.unbind(), strict=True))
    stored_param, grad, *states = cast("list[torch.Tensor]", tensors)
    param = stored_param.float() if upcast else stored_param
    grad = grad.float() * numbers.pop("_scale") if upcast else grad * numbers.pop("_scale")
    grad = grad + numbers.pop("_l2") * param  # (c) kappa g, (1) -g, (2) + wd p
    if skip is not None:
        grad = torch.where(skip != 0, torch.zeros_like(grad), grad)
    s = Scalars({**structural, **numbers})
    update(Lane(param), Lane(grad), *[None if t is None else Lane(t) for t in states], s)
    if upcast:
        stored_param.copy_(param)


def _runner(update: Callable[..., None]) -> Callable[..., None]:
    if update not in _RUNNERS:

        def run_chunk(lists: list[list[Any]], coefs: torch.Tensor, meta: Any) -> None:
            for j in range(CHUNK):
                _update_one(update, [tensors[j] for tensors in lists], coefs[j], meta)

        _RUNNERS[update] = torch.compile(run_chunk, dynamic=True, fullgraph=True, options=_OPTIONS)
    return _RUNNERS[update]


def _flat(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """A 1-D detached alias (not a view: Dynamo would guard a view on its base's shape)."""
    if tensor is None:
        return None
    if tensor.dim() != 1:
        return tensor.view(-1).detach()
    return tensor.detach() if tensor.requires_grad or tensor._is_view() else tensor


def _padding(like: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """Scratch tensors of two elements that fill the last chunk (their updates are discarded)."""
    key = tuple(None if t is None else (t.device, t.dtype) for t in like)
    if key not in _PADDING:
        _PADDING[key] = [None if t is None else torch.ones(2, dtype=t.dtype, device=t.device) for t in like]
    return _PADDING[key]


def compiled(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
    """The rule's update compiled, :data:`CHUNK` tensors a call (see the module docstring)."""
    device = batch.params[0].device
    if device.type == "cpu" and not cpu_compiler_present():
        return batch
    if rule.first_step_differs and any(batch.fresh):
        return batch  # a first step (``s.first``) runs on the multi-tensor kernel
    like = batch.params[0].float() if batch.params[0].dtype in LOW_PRECISION else batch.params[0]
    scalars = step_scalars(rule, batch, inputs, like)
    skip = None if inputs.found_inf is None else (inputs.found_inf.to(device) != 0).to(like.dtype)
    n = len(batch.params)
    numeric = {k: v for k, v in scalars.uniform.items() if v is not None and not isinstance(v, bool)}
    structural = {k: v for k, v in scalars.uniform.items() if k not in numeric}
    scale = inputs.multiplier.to(device=device, dtype=like.dtype) if inputs.multiplier is not None else 1.0
    columns = {"_scale": -scale if inputs.group.get("maximize") else scale, "_l2": rule.coupled_decay(inputs.group)}
    columns.update(numeric)
    names = tuple(columns) + tuple(scalars.per_tensor)
    rows = [torch.as_tensor(v, dtype=like.dtype, device=device).expand(n) for v in columns.values()]
    rows += [
        torch.stack([torch.as_tensor(x, dtype=like.dtype, device=device) for x in v])
        for v in scalars.per_tensor.values()
    ]
    coefs = torch.stack(rows, dim=1)
    meta = (names, structural, skip, batch.params[0].dtype in LOW_PRECISION)
    lists: list[list[Any]] = [batch.params, batch.grads, *batch.states]
    chunked = [
        i for i in range(n) if batch.params[i].numel() > 1 and all(t[i] is None or t[i].is_contiguous() for t in lists)
    ]
    for i in sorted(set(range(n)) - set(chunked)):
        _update_one(rule.update, [t[i] for t in lists], coefs[i], meta)  # eagerly: Inductor specializes size 1
    if not chunked:
        return None
    runner = _runner(rule.update)
    padding = _padding([t[chunked[0]] for t in lists])
    fill = -len(chunked) % CHUNK
    blocks = coefs[chunked + chunked[-1:] * fill].view(-1, CHUNK, coefs.shape[1]).unbind(0)
    with (
        torch.fx.experimental._config.patch(use_duck_shape=False),  # type: ignore[attr-defined]
        torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT),
    ):
        for j, block in enumerate(blocks):
            rows_ = chunked[j * CHUNK : (j + 1) * CHUNK]
            chunk = [
                [_flat(t[i]) for i in rows_] + [pad] * (CHUNK - len(rows_))
                for t, pad in zip(lists, padding, strict=True)
            ]
            runner(chunk, block.detach(), meta)
    return None
