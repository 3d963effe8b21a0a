"""Multi-task losses as modules: :mod:`lossopt.functional.multitask` with the task losses built once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional.multitask import check_tasks, resolve_task_losses
from lossopt.names import task_loss_name
from lossopt.nn._base import _Loss
from lossopt.nn.registry import TASK_LOSSES

TaskLosses = Mapping[str, str | Callable[..., torch.Tensor]]


def _named_module(task: str, name: str) -> nn.Module:
    """The module registered as ``name``, built with its defaults (``ValueError`` for an unknown name)."""
    return TASK_LOSSES[task_loss_name(task, name)]()


class _MultiTaskBase(_Loss):
    """Resolves each task's loss once: named losses become modules, kept as submodules in ``task_modules``."""

    def __init__(self, tasks: list[str], task_losses: TaskLosses | None) -> None:
        super().__init__()
        resolved = resolve_task_losses(tasks, task_losses, named=_named_module)
        self.task_modules = nn.ModuleDict({k: v for k, v in resolved.items() if isinstance(v, nn.Module)})
        self._task_losses = resolved


class MultiTaskLoss(_MultiTaskBase):
    """Fixed weighted sum of per-task losses, :func:`lossopt.functional.multi_task_loss` as a module.

    Named task losses are built once here (``task_losses={"mask": "dice"}``) and kept as submodules.

    Example:
        >>> import torch
        >>> from lossopt import MultiTaskLoss
        >>> loss = MultiTaskLoss({"regression": 0.5, "depth": 1.0}, task_losses={"depth": "mse"})
        >>> loss({"regression": torch.tensor([2.0]), "depth": torch.tensor([1.0])},
        ...      {"regression": torch.tensor([0.0]), "depth": torch.tensor([0.0])})
        tensor(3.)
    """

    _repr = ("loss_weights",)

    def __init__(
        self,
        loss_weights: Mapping[str, float],
        task_losses: Mapping[str, str | Callable[..., torch.Tensor]] | None = None,
    ) -> None:
        if not isinstance(loss_weights, Mapping):
            raise TypeError(f"loss_weights must be a dict task -> weight >= 0; got {loss_weights!r}")
        if not loss_weights:
            raise ValueError("loss_weights must name at least one task; got an empty dict")
        tasks = list(loss_weights)
        check_tasks(dict.fromkeys(tasks), dict.fromkeys(tasks), loss_weights)
        super().__init__(tasks, task_losses)
        self.loss_weights = dict(loss_weights)

    def forward(self, predictions: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.multi_task_loss(predictions, targets, self.loss_weights, self._task_losses)


class UncertaintyWeightedMultiTaskLoss(_MultiTaskBase):
    """Multi-task loss with learned log-variances (Kendall, Gal & Cipolla 2018, arXiv:1705.07115).

    .. math::

        L = \\sum_k \\tfrac12 e^{-s_k} L_k + \\tfrac12 s_k, \\qquad s_k = \\log \\sigma_k^2

    ``log_variances`` (one per task, in the order of ``tasks``) is a parameter: give it to the
    optimizer with the model's. Task losses as :class:`MultiTaskLoss` (names, callables, or the
    prefix rule). See :func:`lossopt_spec.losses.uncertainty_weighted_loss` for how the paper's
    classification form differs.

    Example:
        >>> import torch
        >>> from lossopt import UncertaintyWeightedMultiTaskLoss
        >>> loss = UncertaintyWeightedMultiTaskLoss(["regression"])
        >>> loss({"regression": torch.tensor([2.0])}, {"regression": torch.tensor([0.0])})  # 0.5 * 4 + 0
        tensor(2., grad_fn=<SumBackward0>)
    """

    _repr = ("tasks",)

    def __init__(
        self,
        tasks: Sequence[str],
        task_losses: Mapping[str, str | Callable[..., torch.Tensor]] | None = None,
        init_log_variance: float = 0.0,
    ) -> None:
        names = list(tasks)
        ones = dict.fromkeys(names, 1.0)
        check_tasks(ones, ones, ones)
        super().__init__(names, task_losses)
        self.tasks = names
        self.log_variances = nn.Parameter(torch.full((len(self.tasks),), float(init_log_variance)))

    def forward(self, predictions: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        check_tasks(predictions, targets, dict.fromkeys(self.tasks, 1.0))
        parts = [self._task_losses[t](predictions[t], targets[t]) for t in self.tasks]
        dtype = self.log_variances.dtype
        for part in parts:
            dtype = torch.promote_types(dtype, part.dtype)
        values = torch.stack([part.to(dtype) for part in parts])
        return F.uncertainty_weighted_loss(values, self.log_variances.to(dtype))
