"""Functional losses; each module mirrors the spec module of the same name in ``lossopt_spec.losses``.

NaN inputs propagate: a NaN in the predictions gives a NaN loss, never an unrelated error; targets
checked as probabilities, labels or class indices refuse NaN with a ``ValueError`` naming them (CPU
tensors, outside ``torch.compile``). The full statement, with argument errors, compile and autocast,
is the documentation's "Non-finite inputs, argument errors, compile and autocast" (``docs/api.rst``).
"""

from lossopt.functional._checks import VALUE_CHECK_MODES, set_value_checks, value_checks
from lossopt.functional.classification import (
    cross_entropy_loss,
    focal_loss,
    hinge_loss,
    linear_cross_entropy_loss,
    sigmoid_focal_loss,
)
from lossopt.functional.embedding import contrastive_loss, cosine_embedding_loss, kl_divergence_loss, triplet_loss
from lossopt.functional.multitask import multi_task_loss, uncertainty_weighted_loss
from lossopt.functional.reduction import REDUCTIONS
from lossopt.functional.regression import huber_loss, log_cosh_loss, mae_loss, mse_loss, quantile_loss
from lossopt.functional.segmentation import bce_dice_loss, dice_loss, focal_dice_loss, iou_loss, tversky_loss

__all__ = [
    "REDUCTIONS",
    "VALUE_CHECK_MODES",
    "bce_dice_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "cross_entropy_loss",
    "dice_loss",
    "focal_dice_loss",
    "focal_loss",
    "hinge_loss",
    "huber_loss",
    "iou_loss",
    "kl_divergence_loss",
    "linear_cross_entropy_loss",
    "log_cosh_loss",
    "mae_loss",
    "mse_loss",
    "multi_task_loss",
    "quantile_loss",
    "set_value_checks",
    "sigmoid_focal_loss",
    "triplet_loss",
    "tversky_loss",
    "uncertainty_weighted_loss",
    "value_checks",
]
