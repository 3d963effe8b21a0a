"""Loss specifications, one family per module, registered by name in :data:`LOSSES`."""

from lossopt_spec.losses._reduction import REDUCTIONS, reduce, reduce_grad
from lossopt_spec.losses.classification import sigmoid_focal_loss, sigmoid_focal_loss_grad
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
    iou_loss,
    iou_loss_grad,
    tversky_loss,
    tversky_loss_grad,
)
from lossopt_spec.losses.spec import LossSpec

LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(name="mse", value=mse_loss, grad=mse_loss_grad),
    "sigmoid_focal": LossSpec(name="sigmoid_focal", value=sigmoid_focal_loss, grad=sigmoid_focal_loss_grad),
    "mae": LossSpec(name="mae", value=mae_loss, grad=mae_loss_grad),
    "huber": LossSpec(name="huber", value=huber_loss, grad=huber_loss_grad),
    "log_cosh": LossSpec(name="log_cosh", value=log_cosh_loss, grad=log_cosh_loss_grad),
    "quantile": LossSpec(name="quantile", value=quantile_loss, grad=quantile_loss_grad),
    # Losses II: segmentation, embedding, multi-task
    "dice": LossSpec(name="dice", value=dice_loss, grad=dice_loss_grad),
    "iou": LossSpec(name="iou", value=iou_loss, grad=iou_loss_grad),
    "tversky": LossSpec(name="tversky", value=tversky_loss, grad=tversky_loss_grad),
    "bce_dice": LossSpec(name="bce_dice", value=bce_dice_loss, grad=bce_dice_loss_grad),
    "contrastive": LossSpec(name="contrastive", value=contrastive_loss, grad=contrastive_loss_grad),
    "triplet": LossSpec(name="triplet", value=triplet_loss, grad=triplet_loss_grad),
    "cosine_embedding": LossSpec(name="cosine_embedding", value=cosine_embedding_loss, grad=cosine_embedding_loss_grad),
    "kl_divergence": LossSpec(name="kl_divergence", value=kl_divergence_loss, grad=kl_divergence_loss_grad),
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
    "dice_loss",
    "dice_loss_grad",
    "huber_loss",
    "huber_loss_grad",
    "iou_loss",
    "iou_loss_grad",
    "kl_divergence_loss",
    "kl_divergence_loss_grad",
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
