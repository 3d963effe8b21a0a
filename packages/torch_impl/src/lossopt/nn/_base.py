"""The base of the loss modules: options kept as attributes and shown by ``repr``, a validated ``reduction``."""

from __future__ import annotations

from torch import nn

from lossopt.functional.reduction import check_reduction


class _Loss(nn.Module):
    """A loss module whose ``repr`` lists the attributes named in ``_repr``."""

    _repr: tuple[str, ...] = ()

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr)


class _ReducedLoss(_Loss):
    """A loss module with a validated ``reduction`` (``"none"`` | ``"mean"`` | ``"sum"``)."""

    _repr: tuple[str, ...] = ("reduction",)

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction
