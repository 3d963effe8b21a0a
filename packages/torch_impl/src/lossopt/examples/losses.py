"""``LossFunctionExamples``: every registered loss evaluated on a small synthetic batch."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from lossopt._signatures import Namespace, declared
from lossopt.compat import CustomLosses
from lossopt.examples.catalogue import LOSS_CASES, missing_losses, registered_losses
from lossopt.factory import create_loss_function


@dataclass(frozen=True)
class LossExampleResult:
    """Loss values (``values[name]``) and gradient norms w.r.t. the predictions of one family,
    and the catalogued names of that family not registered in this build (``missing``)."""

    family: str
    values: dict[str, float] = field(default_factory=dict)
    grad_norms: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def all_finite(self) -> bool:
        """Every value and gradient norm is finite."""
        return all(math.isfinite(v) for v in [*self.values.values(), *self.grad_norms.values()])


def evaluate_loss(name: str, *, seed: int = 0) -> tuple[float, float]:
    """Value of the registered loss ``name`` on its sample inputs, and the gradient norm w.r.t. the first."""
    args = LOSS_CASES[name].inputs(torch.Generator().manual_seed(seed))
    leaves = list(args[0].values()) if isinstance(args[0], dict) else [args[0]]
    if name == "multi_task":  # its module's constructor is task-specific; the design's call form is not
        value = CustomLosses.multi_task_loss(*args)
    else:
        value = create_loss_function(name)(*args)
    value.backward()  # type: ignore[no-untyped-call]
    grads = [leaf.grad for leaf in leaves]
    grad_norm = math.sqrt(sum(float((g if g is not None else torch.zeros(())).pow(2).sum()) for g in grads))
    return float(value.detach()), grad_norm


def family_examples(family: str, *, seed: int = 0) -> LossExampleResult:
    """:func:`evaluate_loss` for every registered loss of ``family``."""
    result = LossExampleResult(family, missing=missing_losses(family))
    for name in registered_losses(family):
        result.values[name], result.grad_norms[name] = evaluate_loss(name, seed=seed)
    return result


def _family(family: str, doc: str) -> Callable[..., LossExampleResult]:
    """The design's method evaluating every registered loss of ``family``: :func:`family_examples`'s ``seed``."""
    signature = inspect.signature(family_examples)
    parameters = [p.replace(kind=p.POSITIONAL_OR_KEYWORD) for p in list(signature.parameters.values())[1:]]
    return declared(doc, signature.replace(parameters=parameters), lambda _, kwargs: family_examples(family, **kwargs))


class LossFunctionExamples(Namespace):
    """The design document's loss examples, one method per family.

    Example:
        >>> from lossopt.examples import LossFunctionExamples
        >>> result = LossFunctionExamples.regression_loss_examples()
        >>> "mse" in result.values and result.all_finite()
        True
    """

    classification_loss_examples = _family(
        "classification",
        "Cross-entropy, focal, sigmoid focal, hinge, linear cross-entropy (those registered) on random logits.",
    )
    regression_loss_examples = _family(
        "regression", "MSE, MAE, Huber, log-cosh, quantile (those registered) on random predictions."
    )
    segmentation_loss_examples = _family(
        "segmentation", "Dice, IoU, Tversky, BCE+Dice, focal+Dice (those registered) on random 8x8 masks."
    )
    custom_loss_examples = _family(
        "custom", "Contrastive, triplet, cosine embedding, KL divergence (those registered)."
    )
    multi_task_loss_example = _family(
        "multi_task", "The multi-task loss over a classification and a regression head (when registered)."
    )
