"""``LossFunctionExamples``: every registered loss evaluated on a small synthetic batch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

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


class LossFunctionExamples:
    """The design document's loss examples, one method per family.

    Example:
        >>> from lossopt.examples import LossFunctionExamples
        >>> result = LossFunctionExamples.regression_loss_examples()
        >>> "mse" in result.values and result.all_finite()
        True
    """

    @staticmethod
    def classification_loss_examples(seed: int = 0) -> LossExampleResult:
        """Cross-entropy, focal, sigmoid focal, hinge (those registered) on random logits."""
        return family_examples("classification", seed=seed)

    @staticmethod
    def regression_loss_examples(seed: int = 0) -> LossExampleResult:
        """MSE, MAE, Huber, log-cosh, quantile (those registered) on random predictions."""
        return family_examples("regression", seed=seed)

    @staticmethod
    def segmentation_loss_examples(seed: int = 0) -> LossExampleResult:
        """Dice, IoU, Tversky, BCE+Dice, focal+Dice (those registered) on random 8x8 masks."""
        return family_examples("segmentation", seed=seed)

    @staticmethod
    def custom_loss_examples(seed: int = 0) -> LossExampleResult:
        """Contrastive, triplet, cosine embedding, KL divergence (those registered)."""
        return family_examples("custom", seed=seed)

    @staticmethod
    def multi_task_loss_example(seed: int = 0) -> LossExampleResult:
        """The multi-task loss over a classification and a regression head (when registered)."""
        return family_examples("multi_task", seed=seed)
