"""lossopt's own CPU kernels (``cpu_kernels.c``, built by :mod:`.cpu_build`) as lossopt kernels, and the global norm.

``fused=True`` on float32/float64 CPU tensors:

- :func:`adam` (AdamW / Adam) and :func:`sgd` take a group's tensors when clipping or a ``GradScaler``
  scales the gradients: torch's kernels would write the rescaled gradient back into ``p.grad``, these
  multiply by :math:`\\kappa / S` as they read it and never write it (28 bytes per parameter for Adam).
  Without a scale they take nothing and torch's kernel runs, bit for bit ``torch.optim``'s.
- :func:`adabelief` takes every such tensor (torch has no AdaBelief kernel): one pass, fed the rule's
  per-step scalars as one row per tensor.
- :func:`sum_of_squares`: the global norm's sum in float64, in one parallel pass (``fused=True`` only).

Which tensors: CPU, float32 or float64, plain (not DTensor shards), and all of a parameter's tensors
contiguous or dense in the same channels-last format; the others are the rest.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import torch

from lossopt.optim.kernels.cpu_build import DTYPES, library
from lossopt.optim.kernels.execute import Batch, StepInputs, StepScalars, step_scalars

_PLAIN_TYPES = frozenset({torch.Tensor, torch.nn.Parameter})
_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}
_dtype = attrgetter("dtype")
_on_cpu = attrgetter("is_cpu")
_contiguous = torch.Tensor.is_contiguous
_data_ptr = torch.Tensor.data_ptr
_numel = torch.Tensor.numel


def _all_take(tensors: Sequence[torch.Tensor], dtype: torch.dtype) -> bool:
    return (
        all(map(_on_cpu, tensors))
        and set(map(_dtype, tensors)) <= {dtype}
        and set(map(type, tensors)) <= _PLAIN_TYPES
        and all(map(_contiguous, tensors))
    )


def _same_dense_layout(tensors: Sequence[torch.Tensor]) -> bool:
    """All contiguous, or all dense in the same channels-last format: their elements in the same memory order."""
    if all(map(_contiguous, tensors)):
        return True
    layout = _CHANNELS_LAST.get(tensors[0].dim())
    return layout is not None and all(t.is_contiguous(memory_format=layout) for t in tensors)


def partition(lists: Sequence[Sequence[torch.Tensor]]) -> tuple[list[int], list[int]]:
    """``(taken, others)``: the positions whose tensors (one from each list) the kernels take, and the rest.

    The checks run per list with ``map`` (about 0.2 us a tensor); one non-contiguous parameter (a
    transposed view made a leaf) sends only itself to the rest.
    """
    positions = list(range(len(lists[0])))
    if not positions or lists[0][0].dtype not in DTYPES or library() is None:
        return [], positions
    dtype = lists[0][0].dtype
    if all(_all_take(tensors, dtype) for tensors in lists):
        return positions, []
    taken: list[int] = []
    others: list[int] = []
    for i, tensors in enumerate(zip(*lists, strict=True)):
        ok = all(t.is_cpu and t.dtype == dtype and type(t) in _PLAIN_TYPES for t in tensors)
        (taken if ok and _same_dense_layout(tensors) else others).append(i)
    return taken, others


def _split(batch: Batch) -> tuple[Batch | None, Batch | None]:
    """(what the kernels take, the rest) of ``batch``."""
    lists = [batch.params, batch.grads, *[s for s in batch.states if s and s[0] is not None]]
    taken, others = partition(lists)  # type: ignore[arg-type]
    take = batch.subset(taken) if taken else None
    return take, (batch.subset(others) if others else None)


def _pointers(tensors: Sequence[torch.Tensor]) -> ctypes.Array[ctypes.c_void_p]:
    return (ctypes.c_void_p * max(len(tensors), 1))(*map(_data_ptr, tensors))


def _sizes(tensors: Sequence[torch.Tensor]) -> ctypes.Array[ctypes.c_int64]:
    return (ctypes.c_int64 * max(len(tensors), 1))(*map(_numel, tensors))


def _cpu_scalar(value: float | torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A contiguous 0-dim CPU tensor the kernels read through a pointer (no ``.item()``)."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        return torch.tensor(value, dtype=dtype)
    return value.detach().reshape(()).to(device="cpu", dtype=dtype).contiguous()


def _address(tensor: torch.Tensor | None) -> int | None:
    return None if tensor is None else tensor.data_ptr()


def _check(status: int, rule: str) -> None:
    if status != 0:
        raise MemoryError(f"lossopt's CPU {rule} kernel could not allocate its work arrays")


@torch.compiler.disable  # type: ignore[untyped-decorator]  # ctypes calls: not traceable
def adam(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
    """AdamW / Adam with the gradient multiplied by :math:`\\kappa / S` as it is read (float32 CPU counters)."""
    if inputs.multiplier is None or not all(s.is_cpu and s.dtype == torch.float32 for s in batch.steps):
        return batch
    take, rest = _split(batch)
    if take is None:
        return rest
    group = inputs.group
    params, grads, (exp_avgs, exp_avg_sqs, max_exp_avg_sqs) = take.params, take.grads, take.states
    beta1, beta2 = group["betas"]
    lr, gmul = _cpu_scalar(inputs.lr, torch.float64), _cpu_scalar(inputs.multiplier, torch.float64)
    skip = _cpu_scalar(inputs.found_inf, torch.float32)
    kernel = getattr(library(), f"lossopt_adam_{DTYPES[params[0].dtype]}")
    status = kernel(
        len(params),
        _pointers(params),
        _pointers(grads),
        _pointers(exp_avgs),  # type: ignore[arg-type]
        _pointers(exp_avg_sqs),  # type: ignore[arg-type]
        _pointers(max_exp_avg_sqs if group["amsgrad"] else []),  # type: ignore[arg-type]
        _sizes(params),
        _pointers(take.steps),
        _address(lr),
        beta1,
        beta2,
        group["eps"],
        group["weight_decay"],
        int(group["decoupled_weight_decay"]),
        int(group["amsgrad"]),
        int(group["maximize"]),
        int(group["use_bias_correction"]),
        _address(gmul),
        _address(skip),
        torch.get_num_threads(),
    )
    _check(status, "Adam")
    return rest


@torch.compiler.disable  # type: ignore[untyped-decorator]  # ctypes calls: not traceable
def sgd(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
    """SGD with the gradient multiplied by :math:`\\kappa / S` as it is read; new buffers seeded with the gradient."""
    if inputs.multiplier is None:
        return batch
    take, rest = _split(batch)
    if take is None:
        return rest
    group = inputs.group
    momentum = group["momentum"]
    lr, gmul = _cpu_scalar(inputs.lr, torch.float64), _cpu_scalar(inputs.multiplier, torch.float64)
    skip = _cpu_scalar(inputs.found_inf, torch.float32)
    kernel = getattr(library(), f"lossopt_sgd_{DTYPES[take.params[0].dtype]}")
    for first in (True, False):
        indices = [i for i, fresh in enumerate(take.fresh) if fresh == first]
        if not indices:
            continue
        part = take.subset(indices)
        status = kernel(
            len(part.params),
            _pointers(part.params),
            _pointers(part.grads),
            _pointers(part.states[0]) if momentum != 0 else None,  # type: ignore[arg-type]
            _sizes(part.params),
            _address(lr),
            momentum,
            group["dampening"],
            group["weight_decay"],
            int(group["nesterov"]),
            int(group["maximize"]),
            int(first),
            _address(gmul),
            _address(skip),
            torch.get_num_threads(),
        )
        _check(status, "SGD")
    return rest


ADABELIEF_COLUMNS = ("decay", "beta2", "one_minus_beta1", "residual_weight", "eps_in_state", "k", "c", "neg_a")


def _column(value: Any, n: int) -> torch.Tensor:
    """One scalar of every tensor as a float64 CPU column: a number, a 0-dim tensor, or a list of either."""
    if isinstance(value, list):
        return torch.stack([torch.as_tensor(v, dtype=torch.float64).cpu() for v in value])
    return torch.as_tensor(value, dtype=torch.float64).cpu().expand(n)


def _adabelief_rows(scalars: StepScalars, n: int, scale: float, l2: float) -> torch.Tensor:
    """The rows the AdaBelief kernel reads: (scale, l2, decay, beta2, 1 - beta1, (1 - beta2) beta1^2, eps, k, c, a)."""
    columns = [_column(scale, n), _column(l2, n)]
    for name in ADABELIEF_COLUMNS:
        value = scalars.per_tensor.get(name, scalars.uniform.get(name))
        columns.append(_column(1.0 if value is None else value, n))  # decay None: no decoupled decay
    rows = torch.stack(columns, dim=1)
    rows[:, -1].neg_()  # a = -neg_a
    return rows


@torch.compiler.disable  # type: ignore[untyped-decorator]  # ctypes calls: not traceable
def adabelief(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
    """AdaBelief in one pass over p, g, m, s (, s_max) per tensor (CPU counters, a float or CPU tensor lr)."""
    if not all(s.is_cpu for s in batch.steps):
        return batch  # device counters: the coefficients would be read back
    take, rest = _split(batch)
    if take is None:
        return rest
    group = inputs.group
    scalars = step_scalars(rule, take, inputs, take.params[0])
    scale = -1.0 if group["maximize"] else 1.0
    rows = _adabelief_rows(scalars, len(take.params), scale, rule.coupled_decay(group))
    if inputs.multiplier is not None:
        rows[:, 0] *= inputs.multiplier.to(device="cpu", dtype=torch.float64)  # (c) kappa (CPU: no sync)
    amsgrad = take.states[2][0] is not None
    if amsgrad:
        use_max = torch.full((len(take.params), 1), 1.0 if scalars.uniform["divide_by_max"] else 0.0)
        rows = torch.cat([rows, use_max.to(torch.float64)], dim=1)
    rows = rows.to(take.params[0].dtype).contiguous()
    lists = [take.params, take.grads, take.states[0], take.states[1]] + ([take.states[2]] if amsgrad else [])
    kernel = getattr(library(), f"lossopt_adabelief_{DTYPES[take.params[0].dtype]}")
    status = kernel(
        len(take.params),
        *[_pointers(tensors) for tensors in lists],  # type: ignore[arg-type]
        *([_pointers([])] if not amsgrad else []),
        _sizes(take.params),
        rows.data_ptr(),
        rows.shape[1],
        _address(_cpu_scalar(inputs.found_inf, torch.float32)),
        0,
        torch.get_num_threads(),
    )
    _check(status, "AdaBelief")
    return rest


def sum_of_squares(tensors: Sequence[torch.Tensor]) -> float:
    """:math:`\\sum_k \\lVert x^{(k)} \\rVert_2^2` in float64, one parallel pass; the same whatever the thread count."""
    total = ctypes.c_double(0.0)
    kernel = getattr(library(), f"lossopt_sumsq_{DTYPES[tensors[0].dtype]}")
    _check(
        kernel(len(tensors), _pointers(tensors), _sizes(tensors), ctypes.byref(total), torch.get_num_threads()), "norm"
    )
    return total.value
