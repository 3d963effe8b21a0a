"""Loss specifications, one family per module, registered by name in :data:`LOSSES`."""

from lossopt_spec.losses._reduction import REDUCTIONS, reduce, reduce_grad
from lossopt_spec.losses.classification import (
    cross_entropy_loss,
    cross_entropy_loss_grad,
    focal_loss,
    focal_loss_grad,
    hinge_loss,
    hinge_loss_grad,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
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
from lossopt_spec.losses.spec import LossSpec

LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(name="mse", value=mse_loss, grad=mse_loss_grad),
    "sigmoid_focal": LossSpec(name="sigmoid_focal", value=sigmoid_focal_loss, grad=sigmoid_focal_loss_grad),
    "mae": LossSpec(name="mae", value=mae_loss, grad=mae_loss_grad),
    "huber": LossSpec(name="huber", value=huber_loss, grad=huber_loss_grad),
    "log_cosh": LossSpec(name="log_cosh", value=log_cosh_loss, grad=log_cosh_loss_grad),
    "quantile": LossSpec(name="quantile", value=quantile_loss, grad=quantile_loss_grad),
    "cross_entropy": LossSpec(name="cross_entropy", value=cross_entropy_loss, grad=cross_entropy_loss_grad),
    "focal": LossSpec(name="focal", value=focal_loss, grad=focal_loss_grad),
    "hinge": LossSpec(name="hinge", value=hinge_loss, grad=hinge_loss_grad),
}

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "LossSpec",
    "cross_entropy_loss",
    "cross_entropy_loss_grad",
    "focal_loss",
    "focal_loss_grad",
    "hinge_loss",
    "hinge_loss_grad",
    "huber_loss",
    "huber_loss_grad",
    "log_cosh_loss",
    "log_cosh_loss_grad",
    "mae_loss",
    "mae_loss_grad",
    "mse_loss",
    "mse_loss_grad",
    "quantile_loss",
    "quantile_loss_grad",
    "reduce",
    "reduce_grad",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_grad",
]
