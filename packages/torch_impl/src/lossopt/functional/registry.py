"""The functional losses by name, and the losses a task of the multi-task loss can name.

The loss ``<name>`` of :data:`lossopt.names.LOSS_NAMES` is the function ``<name>_loss`` of its
family's module, found here by that name. Mirrors ``lossopt_spec.losses.registry``. It sits below
:mod:`lossopt.functional.multitask`, which resolves the loss names of its tasks here; the modules
of :mod:`lossopt.nn` have their own table (:mod:`lossopt.nn.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch

from lossopt.functional import classification, embedding, regression, segmentation
from lossopt.names import LOSS_NAMES, MULTI_TASK, task_loss_name

FAMILIES: tuple[ModuleType, ...] = (regression, classification, segmentation, embedding)


def find_loss(name: str, families: tuple[ModuleType, ...] = FAMILIES) -> Callable[..., torch.Tensor]:
    """``<name>_loss`` of the first of ``families`` defining it."""
    for family in families:
        value = getattr(family, f"{name}_loss", None)
        if value is not None:
            return value  # type: ignore[no-any-return]
    raise LookupError(f"no module of {[f.__name__ for f in families]} defines {name}_loss")


TASK_LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    name: find_loss(name) for name in LOSS_NAMES if name != MULTI_TASK
}


def task_loss(task: str, name: str) -> Callable[..., torch.Tensor]:
    """The functional loss registered as ``name``, for the task ``task`` of a multi-task loss (its defaults apply)."""
    return TASK_LOSSES[task_loss_name(task, name)]
