"""Loss names: each loss's one name, the other spellings users reach for, and how a name is read.

Every loss has one name (``"focal"``, ``"bce_dice"``), the key of ``lossopt.LOSSES``, of the spec's
registry and of the conformance registry. :func:`lossopt.create_loss_function` reads a name loosely
(:func:`canonical_name`: case, ``-`` and spaces, :data:`LOSS_ALIASES`), and so does a task of the
multi-task loss naming its loss (:func:`task_loss_name`). This module imports nothing of lossopt, so
that both the factory and :mod:`lossopt.functional` build on it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Every loss's name, in registry order; the multi-task loss combines the others and is not one a task can use.
LOSS_NAMES: tuple[str, ...] = (
    "mse", "sigmoid_focal", "mae", "huber", "log_cosh", "quantile", "cross_entropy", "focal", "hinge",
    "dice", "iou", "tversky", "bce_dice", "focal_dice", "contrastive", "triplet", "cosine_embedding",
    "kl_divergence", "linear_cross_entropy", "multi_task",
)  # fmt: skip
MULTI_TASK = "multi_task"

# Other spellings users reach for, mapped to the registry name. An alias only works once the
# name it points to is registered; the registries themselves hold canonical names only.
LOSS_ALIASES: dict[str, str] = {
    "ce": "cross_entropy",
    "crossentropy": "cross_entropy",
    "focal_loss": "focal",
    "l2": "mse",
    "mean_squared_error": "mse",
    "l1": "mae",
    "mean_absolute_error": "mae",
    "logcosh": "log_cosh",
    "pinball": "quantile",
    "bcedice": "bce_dice",
    "focaldice": "focal_dice",
    "kl": "kl_divergence",
    "kl_div": "kl_divergence",
    "multitask": "multi_task",
}


def canonical_name(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """The registry spelling of ``name``: lower case, ``-`` and spaces read as ``_``, aliases resolved.

    Example:
        >>> from lossopt.names import LOSS_ALIASES, canonical_name
        >>> canonical_name("BCE-Dice"), canonical_name("L2", LOSS_ALIASES)
        ('bce_dice', 'mse')
    """
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return (aliases or {}).get(key, key)


def lookup(kind: str, name: str, registry: Mapping[str, T], aliases: Mapping[str, str] | None = None) -> T:
    """``registry[canonical_name(name, aliases)]``; ``ValueError`` listing the valid names and the closest one.

    ``kind`` (``"loss"``, ``"optimizer"``) names what is looked up in the messages; a name that is
    not a string is a ``TypeError``.
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string; got {type(name).__name__}")
    key = canonical_name(name, aliases)
    if key in registry:
        return registry[key]
    valid = sorted(registry)
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    alias = f" ({name!r} means {key!r}, which this build of lossopt does not register)" if key != name.lower() else ""
    raise ValueError(f"unknown {kind} {name!r}{alias}; valid names: {', '.join(valid)}{hint}")


def task_loss_name(task: str, name: Any) -> str:
    """The registry name of the loss ``name`` names for the task ``task``, read as
    :func:`lossopt.create_loss_function` reads it (:func:`canonical_name` with :data:`LOSS_ALIASES`:
    ``"MSE"``, ``"l1"``, ``"BCE-Dice"``), so that a name works in both or in neither.

    ``ValueError`` for a name that is not a loss's; ``TypeError`` for ``"multi_task"``, which needs
    weights of its own and is no single task's loss.
    """
    key = canonical_name(name, LOSS_ALIASES) if isinstance(name, str) else name
    if key not in LOSS_NAMES:
        raise ValueError(f"unknown loss {name!r} for task {task!r}; valid names: {', '.join(sorted(LOSS_NAMES))}")
    if key == MULTI_TASK:
        raise TypeError(
            f"task {task!r} names the loss {name!r}, which combines tasks with loss_weights of its own; "
            "give the task a single loss (a name or a callable)"
        )
    return str(key)
