"""Functional losses; each module mirrors the spec module of the same name in ``lossopt_spec.losses``."""

from lossopt.functional._reduction import REDUCTIONS
from lossopt.functional.embedding import contrastive_loss, cosine_embedding_loss, kl_divergence_loss, triplet_loss
from lossopt.functional.multitask import multi_task_loss, uncertainty_weighted_loss
from lossopt.functional.regression import mse_loss
from lossopt.functional.segmentation import bce_dice_loss, dice_loss, iou_loss, tversky_loss

__all__ = [
    "REDUCTIONS",
    "bce_dice_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "dice_loss",
    "iou_loss",
    "kl_divergence_loss",
    "mse_loss",
    "multi_task_loss",
    "triplet_loss",
    "tversky_loss",
    "uncertainty_weighted_loss",
]
