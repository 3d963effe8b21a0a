"""Multi-task losses: a fixed weighted sum of per-task losses, and learned uncertainty weighting.

Mirrors ``lossopt_spec.losses.multitask``; equation tags match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch.nn import functional

from lossopt.functional.arguments import check_real
from lossopt.functional.registry import task_loss
from lossopt.functional.regression import mse_loss

TaskLoss = str | Callable[..., torch.Tensor]
# How a task's loss name becomes its loss: (task, name) -> callable; ValueError for an unknown name.
NamedLoss = Callable[[str, str], Callable[..., torch.Tensor]]

# The original design's name-prefix rule, used only for tasks that task_losses does not name.
DEFAULT_RULE: tuple[tuple[str, Callable[..., torch.Tensor]], ...] = (
    ("classification", functional.cross_entropy),
    ("regression", mse_loss),
    ("segmentation", functional.binary_cross_entropy_with_logits),
)


def check_tasks(
    predictions: Mapping[str, object], targets: Mapping[str, object], loss_weights: Mapping[str, float]
) -> list[str]:
    """The tasks, in the order of ``predictions``; ``ValueError`` for any task not matched everywhere."""
    for name, value in (("predictions", predictions), ("targets", targets), ("loss_weights", loss_weights)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict keyed by task; got {value!r}")
    tasks = list(predictions)
    if not tasks:
        raise ValueError("predictions must hold at least one task; got an empty dict")
    if set(targets) != set(tasks):
        raise ValueError(
            f"targets must have the tasks of predictions; predictions has {sorted(tasks)}, targets {sorted(targets)}"
        )
    no_prediction = sorted(set(loss_weights) - set(tasks))
    if no_prediction:
        raise ValueError(
            f"loss_weights has task(s) {no_prediction} with no prediction; tasks with predictions: {sorted(tasks)}"
        )
    no_weight = sorted(set(tasks) - set(loss_weights))
    if no_weight:
        raise ValueError(f"loss_weights has no weight for task(s) {no_weight}; give every task a weight (0 to drop it)")
    for task in tasks:
        check_real(f"loss_weights[{task!r}]", loss_weights[task])
        if not loss_weights[task] >= 0:
            raise ValueError(f"loss_weights[{task!r}] must be >= 0; got {loss_weights[task]!r}")
    return tasks


def resolve_task_losses(
    tasks: list[str], task_losses: Mapping[str, TaskLoss] | None, named: NamedLoss = task_loss
) -> dict[str, Callable[..., torch.Tensor]]:
    """task -> callable: the explicit mapping first (a name becomes ``named(task, name)``: by default the
    functional loss of that name, with its defaults), then the name-prefix rule; ``ValueError`` when
    neither applies."""
    if task_losses is not None and not isinstance(task_losses, Mapping):
        raise TypeError(f"task_losses must be a dict task -> loss name or callable, or None; got {task_losses!r}")
    task_losses = dict(task_losses or {})
    unknown = sorted(set(task_losses) - set(tasks))
    if unknown:
        raise ValueError(f"task_losses names task(s) {unknown} with no prediction; tasks: {sorted(tasks)}")
    resolved: dict[str, Callable[..., torch.Tensor]] = {}
    for task in tasks:
        if task in task_losses:
            loss = task_losses[task]
            if not (isinstance(loss, str) or callable(loss)):
                raise TypeError(f"task_losses[{task!r}] must be a loss name or a callable; got {loss!r}")
            resolved[task] = named(task, loss) if isinstance(loss, str) else loss
            continue
        rule = next((fn for prefix, fn in DEFAULT_RULE if task.startswith(prefix)), None)
        if rule is None:
            prefixes = ", ".join(repr(prefix) for prefix, _ in DEFAULT_RULE)
            raise ValueError(
                f"no loss for task {task!r}: name it in task_losses (a loss name or a callable) "
                f"or start the task's name with one of {prefixes}"
            )
        resolved[task] = rule
    return resolved


def multi_task_loss(
    predictions: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    loss_weights: Mapping[str, float],
    task_losses: Mapping[str, TaskLoss] | None = None,
) -> torch.Tensor:
    """Weighted sum of per-task losses.

    .. math::

        L = \\sum_k w_k L_k(\\hat y_k, y_k)     \\tag{1}

    Args:
        predictions, targets: dicts keyed by task, with the same keys.
        loss_weights: task -> weight >= 0, one for every task and no other key.
        task_losses: task -> a loss name of :data:`lossopt.LOSSES` (its functional, with its defaults;
            read as :func:`lossopt.create_loss_function` reads it, so ``"MSE"`` and ``"l1"`` work) or a
            callable ``(prediction, target) -> scalar tensor``. Tasks it does not name fall back to the
            original design's prefix rule: ``classification*`` ``F.cross_entropy``,
            ``regression*`` MSE, ``segmentation*`` ``F.binary_cross_entropy_with_logits``.

    Differs from the original design: every task must appear in all three dicts, and a task neither
    named nor matching a prefix is a ``ValueError`` (the design silently skipped unmatched tasks and
    gave unknown ones MSE).

    Example:
        >>> import torch
        >>> from lossopt.functional import multi_task_loss
        >>> predictions = {"regression": torch.tensor([2.0]), "depth": torch.tensor([1.0])}
        >>> targets = {"regression": torch.tensor([0.0]), "depth": torch.tensor([0.0])}
        >>> multi_task_loss(predictions, targets, {"regression": 0.5, "depth": 1.0}, {"depth": "mse"})
        tensor(3.)
    """
    tasks = check_tasks(predictions, targets, loss_weights)
    losses = resolve_task_losses(tasks, task_losses)
    total: torch.Tensor | None = None
    for task in tasks:
        term = loss_weights[task] * losses[task](predictions[task], targets[task])  # (1)
        total = term if total is None else total + term
    assert total is not None  # check_tasks refuses an empty dict
    return total


def uncertainty_weighted_loss(task_values: torch.Tensor, log_variances: torch.Tensor) -> torch.Tensor:
    """Kendall, Gal & Cipolla 2018 (arXiv:1705.07115), every task in the regression form.

    .. math::

        L = \\sum_k \\tfrac12 e^{-s_k} L_k + \\tfrac12 s_k, \\qquad s_k = \\log \\sigma_k^2     \\tag{2}

    Example:
        >>> import torch
        >>> from lossopt.functional import uncertainty_weighted_loss
        >>> uncertainty_weighted_loss(torch.tensor([2.0, 4.0]), torch.zeros(2))
        tensor(3.)
    """
    if task_values.shape != log_variances.shape:
        raise ValueError(
            f"task_values and log_variances must have the same shape; got {tuple(task_values.shape)} and "
            f"{tuple(log_variances.shape)}"
        )
    return (0.5 * torch.exp(-log_variances) * task_values + 0.5 * log_variances).sum()  # (2)
