"""Multi-task losses: a fixed weighted sum of per-task losses, and learned uncertainty weighting.

Mirrored by ``lossopt.functional.multitask``; equation tags match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from lossopt_spec.losses.registry import task_loss
from lossopt_spec.losses.regression import mse_loss, mse_loss_grad
from lossopt_spec.losses.spec import LossSpec

TaskLoss = str | LossSpec | Callable[..., np.ndarray]


def _cross_entropy(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean cross-entropy of logits ``(N, C, *d)`` and integer targets ``(N, *d)`` (the default rule's)."""
    x = np.moveaxis(np.asarray(predictions, dtype=np.float64), 1, -1)
    t = np.asarray(targets).astype(np.int64)
    shifted = x - x.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1))
    picked = np.take_along_axis(shifted, t[..., None], axis=-1)[..., 0]
    return np.asarray(np.mean(lse - picked))


def _cross_entropy_grad(
    predictions: np.ndarray, targets: np.ndarray, *, grad_output: np.ndarray | None = None
) -> np.ndarray:
    x = np.moveaxis(np.asarray(predictions, dtype=np.float64), 1, -1)
    t = np.asarray(targets).astype(np.int64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    softmax = e / e.sum(axis=-1, keepdims=True)
    one_hot = np.arange(x.shape[-1]) == t[..., None]
    scale = (1.0 if grad_output is None else float(grad_output)) / t.size
    return np.asarray(np.moveaxis((softmax - one_hot) * scale, -1, 1))


def _bce_with_logits(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    x, t = np.asarray(predictions, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    return np.asarray(np.mean(np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x)))))


def _bce_with_logits_grad(
    predictions: np.ndarray, targets: np.ndarray, *, grad_output: np.ndarray | None = None
) -> np.ndarray:
    x, t = np.asarray(predictions, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    scale = (1.0 if grad_output is None else float(grad_output)) / x.size
    return np.asarray((0.5 * (1.0 + np.tanh(0.5 * x)) - t) * scale)


# The original design's name-prefix rule, used only for tasks that task_losses does not name:
# torch.nn.functional.cross_entropy, mse_loss and binary_cross_entropy_with_logits, mean-reduced.
DEFAULT_RULE: tuple[tuple[str, LossSpec], ...] = (
    ("classification", LossSpec("cross_entropy", _cross_entropy, _cross_entropy_grad)),
    ("regression", LossSpec("mse", mse_loss, mse_loss_grad)),
    ("segmentation", LossSpec("bce_with_logits", _bce_with_logits, _bce_with_logits_grad)),
)


def check_tasks(
    predictions: Mapping[str, object], targets: Mapping[str, object], loss_weights: Mapping[str, float]
) -> list[str]:
    """The tasks, in the order of ``predictions``; ``ValueError`` for any task not matched everywhere."""
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
        if not loss_weights[task] >= 0:
            raise ValueError(f"loss_weights[{task!r}] must be >= 0; got {loss_weights[task]!r}")
    return tasks


def resolve_task_losses(tasks: list[str], task_losses: Mapping[str, TaskLoss] | None) -> dict[str, TaskLoss]:
    """task -> loss: the explicit mapping first, then the name-prefix rule; ``ValueError`` when neither applies."""
    task_losses = dict(task_losses or {})
    unknown = sorted(set(task_losses) - set(tasks))
    if unknown:
        raise ValueError(f"task_losses names task(s) {unknown} with no prediction; tasks: {sorted(tasks)}")
    resolved: dict[str, TaskLoss] = {}
    for task in tasks:
        if task in task_losses:
            resolved[task] = task_losses[task]
            continue
        rule = next((loss for prefix, loss in DEFAULT_RULE if task.startswith(prefix)), None)
        if rule is None:
            prefixes = ", ".join(repr(prefix) for prefix, _ in DEFAULT_RULE)
            raise ValueError(
                f"no loss for task {task!r}: name it in task_losses (a loss name or a callable) "
                f"or start the task's name with one of {prefixes}"
            )
        resolved[task] = rule
    return resolved


def _lookup(task: str, loss: TaskLoss) -> LossSpec | Callable[..., np.ndarray]:
    return task_loss(task, loss) if isinstance(loss, str) else loss


def multi_task_loss(
    predictions: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    loss_weights: Mapping[str, float],
    task_losses: Mapping[str, TaskLoss] | None = None,
) -> np.ndarray:
    """Weighted sum of per-task losses.

    .. math::

        L = \\sum_k w_k L_k(\\hat y_k, y_k)     \\tag{1}

    Args:
        predictions, targets: dicts keyed by task, with the same keys.
        loss_weights: task -> :math:`w_k \\ge 0`, one for every task and no other key.
        task_losses: task -> a loss name of :data:`lossopt_spec.LOSSES`, a :class:`LossSpec`, or a
            callable ``(prediction, target) -> scalar``; called with its defaults (mean reduction).
            Tasks it does not name fall back to the original design's prefix rule:
            ``classification*`` cross-entropy, ``regression*`` MSE, ``segmentation*`` BCE with logits.

    Returns:
        0-d float64 array.

    Differs from the original design: the design skips tasks missing from ``targets`` or
    ``loss_weights`` silently and gives any task whose name has no known prefix the MSE loss
    (``seg_mask`` gets MSE). Here every task must appear in all three dicts, and a task neither named
    in ``task_losses`` nor matching a prefix is a ``ValueError``.
    """
    tasks = check_tasks(predictions, targets, loss_weights)
    losses = resolve_task_losses(tasks, task_losses)
    total = np.asarray(0.0)
    for task in tasks:
        loss = _lookup(task, losses[task])
        fn = loss.value if isinstance(loss, LossSpec) else loss
        total = total + loss_weights[task] * np.asarray(fn(predictions[task], targets[task]))  # (1)
    return np.asarray(total)


def multi_task_loss_grad(
    predictions: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    loss_weights: Mapping[str, float],
    task_losses: Mapping[str, TaskLoss] | None = None,
    *,
    grad_output: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Gradient of :func:`multi_task_loss` w.r.t. each task's prediction (1').

    .. math::

        \\frac{\\partial L}{\\partial \\hat y_k} = w_k \\frac{\\partial L_k}{\\partial \\hat y_k}     \\tag{1'}

    Needs the gradient of every task's loss: a registered name or a :class:`LossSpec`
    (``TypeError`` for a bare callable).
    """
    tasks = check_tasks(predictions, targets, loss_weights)
    losses = resolve_task_losses(tasks, task_losses)
    upstream = 1.0 if grad_output is None else float(grad_output)
    grads: dict[str, np.ndarray] = {}
    for task in tasks:
        loss = _lookup(task, losses[task])
        if not isinstance(loss, LossSpec):
            raise TypeError(f"task {task!r}: a bare callable has no spec gradient; pass a loss name or a LossSpec")
        grad = loss.grad(predictions[task], targets[task], grad_output=np.asarray(upstream * loss_weights[task]))
        if not isinstance(grad, np.ndarray):
            raise TypeError(f"task {task!r}: loss {loss.name!r} has several differentiable inputs; a task has one")
        grads[task] = grad
    return grads


def uncertainty_weighted_loss(task_values: np.ndarray, log_variances: np.ndarray) -> np.ndarray:
    """Multi-task loss with learned homoscedastic uncertainty (Kendall, Gal & Cipolla 2018, arXiv:1705.07115).

    With per-task losses :math:`L_k` and log-variances :math:`s_k = \\log \\sigma_k^2`:

    .. math::

        L = \\sum_k \\tfrac12 e^{-s_k} L_k + \\tfrac12 s_k     \\tag{2}

    the paper's eq. (7) for regression tasks, :math:`\\frac{1}{2\\sigma^2} L + \\log \\sigma`. Its minimum
    in :math:`s_k` is at :math:`s_k = \\log L_k`.

    Differs from the paper: classification tasks there get :math:`\\frac{1}{\\sigma^2} L + \\log\\sigma`
    (eq. 10, an approximation); here every task uses the regression form, as most implementations do
    (up to the constant factor 1/2, which only rescales the gradients).
    """
    values, s = np.asarray(task_values, dtype=np.float64), np.asarray(log_variances, dtype=np.float64)
    if values.shape != s.shape:
        raise ValueError(f"task_values and log_variances must have the same shape; got {values.shape} and {s.shape}")
    return np.asarray(np.sum(0.5 * np.exp(-s) * values + 0.5 * s))  # (2)


def uncertainty_weighted_loss_grad(task_values: np.ndarray, log_variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of (2) w.r.t. the task losses and the log-variances.

    .. math::

        \\frac{\\partial L}{\\partial L_k} = \\tfrac12 e^{-s_k}, \\qquad
        \\frac{\\partial L}{\\partial s_k} = \\tfrac12 (1 - e^{-s_k} L_k)     \\tag{2'}
    """
    values, s = np.asarray(task_values, dtype=np.float64), np.asarray(log_variances, dtype=np.float64)
    return 0.5 * np.exp(-s), 0.5 * (1.0 - np.exp(-s) * values)
