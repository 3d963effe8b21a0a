"""What the installed torch offers among the private APIs lossopt's optimizers use, with a fallback for each.

lossopt supports torch >= 2.9 (:data:`MIN_TORCH`; the conformance matrix runs 2.9.1, 2.10.0, 2.11.0,
2.12.1, 2.13.0, 2.14.1 and 2.15.0). Public API is used as is, except where a supported release lacks
it (:func:`linear_cross_entropy`, new in 2.13); private API (``torch._foreach_*``, the fused optimizer
kernels ``torch._fused_adamw_`` / ``_fused_adam_`` / ``_fused_sgd_`` / ``_fused_adagrad_``, and their
``grad_scale`` / ``found_inf`` arguments) is detected here, by feature rather than by version
number, once per process:

- :func:`has_foreach_ops` / :func:`missing_foreach_ops`: a kernel that needs an absent
  ``torch._foreach_*`` op falls back to the per-tensor loop (same equations, one launch per tensor).
- :func:`fused_kernel`: whether ``torch._fused_<name>_`` exists, its argument names (read from the
  operator's schema), whether it takes a tensor ``lr`` (the ``tensor_lr`` overload) and
  ``grad_scale`` / ``found_inf``, and on which device types it runs. A fused path is taken only when
  :meth:`FusedKernel.usable` says so for the device and the arguments it needs; otherwise the
  caller falls back to the multi-tensor kernel.

Differs from torch.optim: torch decides with ``_get_fused_kernels_supported_devices()`` and
version-specific code; here the operator's own schema is read, so a signature change in a future
release turns the fused path off (with :attr:`FusedKernel.reason`) instead of failing in ``step()``.

:func:`cpu_math` is not a feature but context: what decides the last bits of CPU results on this
machine, so that a run record says which CPU math produced its numbers.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

MIN_TORCH = (2, 9)
"""The oldest torch release lossopt supports (the floor of ``lossopt``'s ``torch>=2.9``)."""


def parse_version(text: str) -> tuple[int, int, int]:
    """``"2.14.1+cu130"`` -> ``(2, 14, 1)``; pre-releases and local tags keep their release number."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"not a torch version: {text!r} (expected 'MAJOR.MINOR[.PATCH]...')")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


TORCH_VERSION = parse_version(torch.__version__)


def is_supported(version: tuple[int, ...] = TORCH_VERSION) -> bool:
    """Whether ``version`` is inside lossopt's supported range (>= :data:`MIN_TORCH`)."""
    return tuple(version[:2]) >= MIN_TORCH


def missing_foreach_ops(names: Iterable[str], namespace: Any = torch) -> tuple[str, ...]:
    """The ``torch._foreach_<name>`` ops (``"add_"``, ``"mul_"``, ...) that ``namespace`` lacks."""
    return tuple(name for name in names if not callable(getattr(namespace, f"_foreach_{name}", None)))


@functools.cache
def has_foreach_ops(*names: str) -> bool:
    """Whether the installed torch has every ``torch._foreach_<name>`` (cached per process)."""
    return not missing_foreach_ops(names)


@dataclass(frozen=True)
class FusedKernel:
    """What the installed torch offers as ``torch._fused_<name>_``.

    Attributes:
        name: the optimizer's kernel name (``"adamw"``).
        available: the operator exists and has a readable schema.
        arguments: the argument names of its default overload, in order.
        tensor_lr: it has the ``tensor_lr`` overload (``lr`` as a tensor, no host sync for schedules).
        devices: device types it runs on (``"cpu"``, ``"cuda"``, ...).
        reason: why it is unavailable (empty when available).
    """

    name: str
    available: bool
    arguments: tuple[str, ...] = ()
    tensor_lr: bool = False
    devices: tuple[str, ...] = ()
    reason: str = ""

    @property
    def op_name(self) -> str:
        return f"_fused_{self.name}_"

    @property
    def accepts_grad_scale(self) -> bool:
        """Takes ``grad_scale`` and ``found_inf`` (AMP unscaling, or a clip coefficient, fused into the step)."""
        return {"grad_scale", "found_inf"} <= set(self.arguments)

    def usable(self, device_type: str, needs: Iterable[str] = ()) -> bool:
        """Available, runs on ``device_type``, and takes every argument named in ``needs``."""
        return self.available and device_type in self.devices and set(needs) <= set(self.arguments)

    def why_not(self, device_type: str, needs: Iterable[str] = ()) -> str:
        """Why :meth:`usable` is False, in one sentence (empty when it is True)."""
        if not self.available:
            return self.reason
        if device_type not in self.devices:
            return f"torch {torch.__version__}: {self.op_name} does not run on {device_type} (runs on {self.devices})"
        missing = sorted(set(needs) - set(self.arguments))
        if missing:
            return f"torch {torch.__version__}: {self.op_name} takes no {missing} (arguments: {self.arguments})"
        return ""


def inspect_fused_kernel(name: str, ops: Any, devices: Iterable[str]) -> FusedKernel:
    """:class:`FusedKernel` of ``ops._fused_<name>_`` (``ops`` is ``torch.ops.aten`` or a stand-in)."""
    op_name = f"_fused_{name}_"
    try:
        packet = getattr(ops, op_name)
        overloads = list(packet.overloads())
        arguments = tuple(a.name for a in packet.default._schema.arguments)
    except (AttributeError, RuntimeError) as error:
        return FusedKernel(name, False, reason=f"torch {torch.__version__} has no usable {op_name}: {error}")
    return FusedKernel(name, True, arguments, "tensor_lr" in overloads, tuple(devices))


def fused_devices() -> tuple[str, ...]:
    """Device types torch.optim runs fused kernels on; ``("cuda",)`` if this torch does not say."""
    supported = getattr(importlib.import_module("torch.optim.optimizer"), "_get_fused_kernels_supported_devices", None)
    if supported is None:
        return ("cuda",)  # every supported release runs them on CUDA
    return tuple(supported())


@functools.cache
def fused_kernel(name: str) -> FusedKernel:
    """:class:`FusedKernel` for ``torch._fused_<name>_`` on the installed torch (cached per process)."""
    return inspect_fused_kernel(name, torch.ops.aten, fused_devices())


def linear_cross_entropy() -> Callable[..., torch.Tensor] | None:
    """``torch.nn.functional.linear_cross_entropy`` (new in torch 2.13), or ``None``: the caller's fallback runs."""
    return getattr(torch.nn.functional, "linear_cross_entropy", None)


@functools.cache
def cpu_sqrt_fingerprint() -> str:
    """A hash of ``torch.sqrt`` over 4096 float32 CPU values from 1e-9 to 1e-1 (the range of Adam's moments).

    torch's CPU ``sqrt`` of float32/float64 tensors is MKL's ``vsSqrt``/``vdSqrt`` in ``VML_HA`` mode (within
    1 ulp, not correctly rounded) where torch is built with MKL, and MKL picks its code path from the CPU
    at run time (``MKL_CBWR`` / ``MKL_ENABLE_INSTRUCTIONS`` choose one), whatever ATen's ``cpu_capability``:
    about 0.5% of square roots differ by 1 ulp between MKL's AVX-512 and SSE4.2 paths. Two machines with
    the same torch and the same fingerprint compute the same bits in the per-tensor and foreach kernels.
    """
    values = torch.logspace(-9, -1, 4096, dtype=torch.float64).to(torch.float32)
    return hashlib.sha256(torch.sqrt(values).numpy().tobytes()).hexdigest()[:16]


def cpu_math() -> dict[str, Any]:
    """What decides the last bits of CPU results here: ATen's vector ISA, MKL and its mode, the sqrt fingerprint."""
    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": bool(torch.backends.mkl.is_available()),  # type: ignore[no-untyped-call]
        "mkl_cbwr": os.environ.get("MKL_CBWR"),
        "sqrt_fingerprint": cpu_sqrt_fingerprint(),
    }


def describe() -> dict[str, Any]:
    """The installed torch's features, as the conformance report and bug reports want them."""
    kernels = {name: fused_kernel(name) for name in ("adam", "adamw", "sgd", "adagrad")}
    return {
        "torch": torch.__version__,
        "supported": is_supported(),
        "foreach": has_foreach_ops("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt", "maximum_"),
        "fused": {
            name: {"available": k.available, "grad_scale": k.accepts_grad_scale, "tensor_lr": k.tensor_lr}
            for name, k in kernels.items()
        },
        "fused_devices": list(fused_devices()),
        "linear_cross_entropy": linear_cross_entropy() is not None,
        "cpu_math": cpu_math(),
    }
