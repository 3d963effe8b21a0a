"""Loss specifications, one family per module, registered by name in :data:`LOSSES`."""

from lossopt_spec.losses._reduction import REDUCTIONS, reduce, reduce_grad
from lossopt_spec.losses.classification import sigmoid_focal_loss, sigmoid_focal_loss_grad
from lossopt_spec.losses.regression import mse_loss, mse_loss_grad
from lossopt_spec.losses.spec import LossSpec

LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(name="mse", value=mse_loss, grad=mse_loss_grad),
    "sigmoid_focal": LossSpec(name="sigmoid_focal", value=sigmoid_focal_loss, grad=sigmoid_focal_loss_grad),
}

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "LossSpec",
    "mse_loss",
    "mse_loss_grad",
    "reduce",
    "reduce_grad",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_grad",
]
