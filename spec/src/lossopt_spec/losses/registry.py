"""Loss names, and the losses a task of the multi-task loss can name.

Every loss has one name (``"focal"``, ``"bce_dice"``): the key of :data:`lossopt_spec.LOSSES`, of
``lossopt.LOSSES`` and of the conformance registry. The loss ``<name>`` is the pair of functions
``<name>_loss`` and ``<name>_loss_grad`` of its family's module, found here by that name.

Mirrored by ``lossopt.functional.registry``. It sits below :mod:`lossopt_spec.losses.multitask`,
which resolves the loss names of its tasks here; the package's :data:`LOSSES` adds the multi-task
loss itself.
"""

from __future__ import annotations

from types import ModuleType

from lossopt_spec.losses import classification, embedding, regression, segmentation
from lossopt_spec.losses.spec import LossSpec

# Every loss's name, in registry order; the multi-task loss combines the others and is not one a task can use.
LOSS_NAMES: tuple[str, ...] = (
    "mse", "sigmoid_focal", "mae", "huber", "log_cosh", "quantile", "cross_entropy", "focal", "hinge",
    "dice", "iou", "tversky", "bce_dice", "focal_dice", "contrastive", "triplet", "cosine_embedding",
    "kl_divergence", "linear_cross_entropy", "multi_task",
)  # fmt: skip
MULTI_TASK = "multi_task"
FAMILIES: tuple[ModuleType, ...] = (regression, classification, segmentation, embedding)


def find_loss(name: str, families: tuple[ModuleType, ...] = FAMILIES) -> LossSpec:
    """The :class:`LossSpec` of ``<name>_loss`` and ``<name>_loss_grad`` in the first of ``families`` defining them."""
    for family in families:
        value = getattr(family, f"{name}_loss", None)
        if value is not None:
            return LossSpec(name=name, value=value, grad=getattr(family, f"{name}_loss_grad"))
    raise LookupError(f"no module of {[f.__name__ for f in families]} defines {name}_loss")


TASK_LOSSES: dict[str, LossSpec] = {name: find_loss(name) for name in LOSS_NAMES if name != MULTI_TASK}


def task_loss_name(task: str, name: str) -> str:
    """``name`` when it is the name of a loss a task can use (exact: the spec has no aliases).

    ``ValueError`` for a name that is not a loss's; ``TypeError`` for ``"multi_task"``, which needs
    weights of its own and is no single task's loss.
    """
    if name not in LOSS_NAMES:
        raise ValueError(f"unknown loss {name!r} for task {task!r}; valid names: {', '.join(sorted(LOSS_NAMES))}")
    if name == MULTI_TASK:
        raise TypeError(
            f"task {task!r} names the loss {name!r}, which combines tasks with loss_weights of its own; "
            "give the task a single loss (a name or a callable)"
        )
    return name


def task_loss(task: str, name: str) -> LossSpec:
    """The loss registered as ``name``, for the task ``task`` of a multi-task loss (:func:`task_loss_name`)."""
    return TASK_LOSSES[task_loss_name(task, name)]
