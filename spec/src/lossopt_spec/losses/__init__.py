"""Loss specifications, one family per module, registered by name in :data:`LOSSES`."""

from lossopt_spec.losses.classification import (
    cross_entropy_loss,
    cross_entropy_loss_grad,
    focal_loss,
    focal_loss_grad,
    hinge_loss,
    hinge_loss_grad,
    linear_cross_entropy_loss,
    linear_cross_entropy_loss_grad,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
)
from lossopt_spec.losses.embedding import (
    contrastive_loss,
    contrastive_loss_grad,
    cosine_embedding_loss,
    cosine_embedding_loss_grad,
    kl_divergence_loss,
    kl_divergence_loss_grad,
    triplet_loss,
    triplet_loss_grad,
)
from lossopt_spec.losses.multitask import (
    multi_task_loss,
    multi_task_loss_grad,
    uncertainty_weighted_loss,
    uncertainty_weighted_loss_grad,
)
from lossopt_spec.losses.reduction import REDUCTIONS, reduce, reduce_grad
from lossopt_spec.losses.registry import TASK_LOSSES
from lossopt_spec.losses.regression import (
    huber_loss,
    huber_loss_grad,
    log_cosh_loss,
    log_cosh_loss_grad,
    mae_loss,
    mae_loss_grad,
    mse_loss,
    mse_loss_grad,
    quantile_loss,
    quantile_loss_grad,
)
from lossopt_spec.losses.segmentation import (
    bce_dice_loss,
    bce_dice_loss_grad,
    dice_loss,
    dice_loss_grad,
    focal_dice_loss,
    focal_dice_loss_grad,
    iou_loss,
    iou_loss_grad,
    tversky_loss,
    tversky_loss_grad,
)
from lossopt_spec.losses.spec import LossSpec

# the registry's losses, then the multi-task loss that combines them
LOSSES: dict[str, LossSpec] = {
    **TASK_LOSSES,
    "multi_task": LossSpec(name="multi_task", value=multi_task_loss, grad=multi_task_loss_grad),
}

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "LossSpec",
    "bce_dice_loss",
    "bce_dice_loss_grad",
    "contrastive_loss",
    "contrastive_loss_grad",
    "cosine_embedding_loss",
    "cosine_embedding_loss_grad",
    "cross_entropy_loss",
    "cross_entropy_loss_grad",
    "dice_loss",
    "dice_loss_grad",
    "focal_dice_loss",
    "focal_dice_loss_grad",
    "focal_loss",
    "focal_loss_grad",
    "hinge_loss",
    "hinge_loss_grad",
    "huber_loss",
    "huber_loss_grad",
    "iou_loss",
    "iou_loss_grad",
    "kl_divergence_loss",
    "kl_divergence_loss_grad",
    "linear_cross_entropy_loss",
    "linear_cross_entropy_loss_grad",
    "log_cosh_loss",
    "log_cosh_loss_grad",
    "mae_loss",
    "mae_loss_grad",
    "mse_loss",
    "mse_loss_grad",
    "multi_task_loss",
    "multi_task_loss_grad",
    "quantile_loss",
    "quantile_loss_grad",
    "reduce",
    "reduce_grad",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_grad",
    "triplet_loss",
    "triplet_loss_grad",
    "tversky_loss",
    "tversky_loss_grad",
    "uncertainty_weighted_loss",
    "uncertainty_weighted_loss_grad",
]
