"""One kernel text, run tensor by tensor or as ``torch._foreach_*`` launches.

A rule's per-tensor kernel (``lossopt.optim.<rule>``) is written with ``torch.Tensor`` methods, in the
spec's statement order. The executors (:mod:`lossopt.optim.kernels.execute`) call it

- with :class:`Lane` (one tensor), tensor by tensor: with Python-number scalars the same operations
  as ``torch.optim``'s per-tensor kernels, bit for bit; a scalar may also be a 0-dim tensor (a tensor
  ``lr``, device step counters, a step that ``found_inf`` may skip), taken without reading it back;
- with :class:`Lanes` (the tensors of one device and dtype) for the multi-tensor path: each
  method is one ``torch._foreach_*`` launch over the list, as ``torch.optim``'s foreach kernels.

A scalar argument is a Python number, a 0-dim tensor (the same for every tensor), or, for
:class:`Lanes`, a list with one number or 0-dim tensor per tensor. Where torch wants a number
(``value=``, ``alpha=``), a tensor scalar is never read back to Python:

- CPU tensors (computed from the CPU step counters) go to the overloads that take a tensor of
  scalars, as ``torch.optim`` passes them: read in C++, which on the CPU is no device sync (not while
  ``torch.compile`` traces: the graph keeps them as tensors, below);
- tensors on an accelerator are applied with tensor arithmetic: ``addcdiv_`` divides its
  ``tensor2`` (the kernel's temporary denominator) by the scalar first, as torch's capturable Adam
  (:math:`p + m / (d / a)`), ``addcmul_`` and ``add_`` multiply an operand by it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

Scalar = float | torch.Tensor
ScalarOrList = float | torch.Tensor | Sequence[float] | Sequence[torch.Tensor]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float))


def _tensor_scalars(value: ScalarOrList, n: int) -> torch.Tensor | None:
    """Tensor scalars as one 1-D tensor of ``n`` values (``None`` for Python numbers)."""
    if isinstance(value, torch.Tensor):
        return value.reshape(1).expand(n).contiguous()
    if _is_number(value) or not isinstance(value[0], torch.Tensor):  # type: ignore[index]
        return None
    return torch.stack(value)  # type: ignore[arg-type]


class Lane:
    """One tensor, with the ``torch.Tensor`` methods the kernels use, taking 0-dim tensor scalars."""

    __slots__ = ("t",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self.t = tensor

    def mul_(self, other: Lane | Scalar) -> Lane:
        self.t.mul_(other.t if isinstance(other, Lane) else other)
        return self

    def div_(self, other: Lane | Scalar) -> Lane:
        self.t.div_(other.t if isinstance(other, Lane) else other)
        return self

    def add_(self, other: Lane | Scalar, *, alpha: Scalar = 1.0) -> Lane:
        if not isinstance(other, Lane):
            self.t.add_(other)
        elif not isinstance(alpha, torch.Tensor):
            self.t.add_(other.t, alpha=alpha)
        else:
            self.t.add_(other.t * alpha)
        return self

    def add(self, other: Lane, *, alpha: Scalar = 1.0) -> Lane:
        return Lane(
            self.t.add(other.t, alpha=alpha) if not isinstance(alpha, torch.Tensor) else self.t + other.t * alpha
        )

    def sub(self, other: Lane) -> Lane:
        return Lane(self.t - other.t)

    def lerp_(self, end: Lane, weight: Scalar) -> Lane:
        self.t.lerp_(end.t, weight.to(self.t.dtype) if isinstance(weight, torch.Tensor) else weight)
        return self

    def lerp(self, end: Lane, weight: float) -> Lane:
        return Lane(self.t.lerp(end.t, weight))

    def addcmul_(self, tensor1: Lane, tensor2: Lane, *, value: Scalar = 1.0) -> Lane:
        if not isinstance(value, torch.Tensor):
            self.t.addcmul_(tensor1.t, tensor2.t, value=value)
        else:
            self.t.addcmul_(tensor1.t * value, tensor2.t)
        return self

    def addcdiv_(self, tensor1: Lane, tensor2: Lane, *, value: Scalar = 1.0) -> Lane:
        if not isinstance(value, torch.Tensor):
            self.t.addcdiv_(tensor1.t, tensor2.t, value=value)
        elif value.is_cpu and not torch.compiler.is_compiling():
            torch._foreach_addcdiv_([self.t], [tensor1.t], [tensor2.t], value.reshape(1))
        else:
            self.t.addcdiv_(tensor1.t, tensor2.t.div_(value))
        return self

    def mul(self, other: Lane | Scalar) -> Lane:
        return Lane(self.t * (other.t if isinstance(other, Lane) else other))

    def div(self, other: Lane) -> Lane:
        return Lane(self.t / other.t)

    def sqrt(self) -> Lane:
        return Lane(self.t.sqrt())

    def sign_(self) -> Lane:
        self.t.sign_()
        return self

    def clamp_(self, min: Scalar | None = None, max: Scalar | None = None) -> Lane:
        if min is not None:
            self.t.clamp_min_(min)
        if max is not None:
            self.t.clamp_max_(max)
        return self

    def maximum_(self, other: Lane) -> Lane:
        if torch.is_grad_enabled():  # ``out=`` has no autograd
            self.t.copy_(torch.maximum(self.t, other.t))
        else:
            torch.maximum(self.t, other.t, out=self.t)
        return self

    def copy_(self, source: Lane) -> Lane:
        self.t.copy_(source.t)
        return self


class Lanes:
    """The tensors of one device and dtype; each method is one ``torch._foreach_*`` launch."""

    __slots__ = ("t",)

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.t = list(tensors)

    def _per_tensor(self, value: ScalarOrList) -> Any:
        """A 0-dim tensor as one reference per tensor: the tensor-list overloads (a ``Scalar`` would be read back)."""
        return [value] * len(self.t) if isinstance(value, torch.Tensor) else value

    def mul_(self, other: Lanes | ScalarOrList) -> Lanes:
        torch._foreach_mul_(self.t, other.t if isinstance(other, Lanes) else self._per_tensor(other))
        return self

    def div_(self, other: Lanes | ScalarOrList) -> Lanes:
        torch._foreach_div_(self.t, other.t if isinstance(other, Lanes) else self._per_tensor(other))
        return self

    def add_(self, other: Lanes | ScalarOrList, *, alpha: ScalarOrList = 1.0) -> Lanes:
        if not isinstance(other, Lanes):
            torch._foreach_add_(self.t, self._per_tensor(other))
        elif isinstance(alpha, (int, float)):
            torch._foreach_add_(self.t, other.t, alpha=alpha)
        else:
            torch._foreach_add_(self.t, torch._foreach_mul(other.t, self._per_tensor(alpha)))
        return self

    def add(self, other: Lanes, *, alpha: ScalarOrList = 1.0) -> Lanes:
        if isinstance(alpha, (int, float)):
            return Lanes(torch._foreach_add(self.t, other.t, alpha=alpha))
        return Lanes(torch._foreach_add(self.t, torch._foreach_mul(other.t, self._per_tensor(alpha))))

    def sub(self, other: Lanes) -> Lanes:
        return Lanes(torch._foreach_sub(self.t, other.t))

    def lerp_(self, end: Lanes, weight: ScalarOrList) -> Lanes:
        if isinstance(weight, torch.Tensor):
            weight = [weight.to(self.t[0].dtype)] * len(self.t)
        torch._foreach_lerp_(self.t, end.t, weight)  # type: ignore[arg-type]  # a Scalar or a TensorList
        return self

    def lerp(self, end: Lanes, weight: float) -> Lanes:
        return Lanes(torch._foreach_lerp(self.t, end.t, weight))

    def addcmul_(self, tensor1: Lanes, tensor2: Lanes, *, value: ScalarOrList = 1.0) -> Lanes:
        if not self._with_scalars(torch._foreach_addcmul_, tensor1, tensor2, value):  # a device tensor value
            torch._foreach_addcmul_(self.t, torch._foreach_mul(tensor1.t, self._per_tensor(value)), tensor2.t)
        return self

    def addcdiv_(self, tensor1: Lanes, tensor2: Lanes, *, value: ScalarOrList = 1.0) -> Lanes:
        if not self._with_scalars(torch._foreach_addcdiv_, tensor1, tensor2, value):  # a device tensor value
            torch._foreach_div_(tensor2.t, self._per_tensor(value))  # tensor2 is the kernel's temporary
            torch._foreach_addcdiv_(self.t, tensor1.t, tensor2.t)
        return self

    def _with_scalars(self, op: Any, tensor1: Lanes, tensor2: Lanes, value: ScalarOrList) -> bool:
        """``op(self, tensor1, tensor2, value)`` where ``value`` is numbers or CPU tensors; ``False``: not run."""
        values = _tensor_scalars(value, len(self.t))
        if values is None:
            op(self.t, tensor1.t, tensor2.t, value)
        elif values.is_cpu and not torch.compiler.is_compiling():
            op(self.t, tensor1.t, tensor2.t, values)
        else:
            return False
        return True

    def mul(self, other: Lanes | ScalarOrList) -> Lanes:
        return Lanes(torch._foreach_mul(self.t, other.t if isinstance(other, Lanes) else self._per_tensor(other)))

    def div(self, other: Lanes) -> Lanes:
        return Lanes(torch._foreach_div(self.t, other.t))

    def sqrt(self) -> Lanes:
        return Lanes(torch._foreach_sqrt(self.t))

    def sign_(self) -> Lanes:
        torch._foreach_sign_(self.t)
        return self

    def clamp_(self, min: ScalarOrList | None = None, max: ScalarOrList | None = None) -> Lanes:
        if min is not None:
            torch._foreach_clamp_min_(self.t, self._per_tensor(min))
        if max is not None:
            torch._foreach_clamp_max_(self.t, self._per_tensor(max))
        return self

    def maximum_(self, other: Lanes) -> Lanes:
        torch._foreach_maximum_(self.t, other.t)
        return self

    def copy_(self, source: Lanes) -> Lanes:
        torch._foreach_copy_(self.t, source.t)
        return self
