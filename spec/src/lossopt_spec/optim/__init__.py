"""Optimizer update rules, one family per module, registered by name in :data:`OPTIMIZERS`."""

from lossopt_spec.optim.adam import ADAM_RULE, ADAMW_RULE, adam_init, adam_update
from lossopt_spec.optim.clip import clip_coefficient, global_grad_norm, update_groups
from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.optim.schedule import lr_factor, scheduled_lr
from lossopt_spec.optim.sgd import SGD_RULE, sgd_init, sgd_update

OPTIMIZERS: dict[str, UpdateRule] = {
    "sgd": SGD_RULE,
    "adamw": ADAMW_RULE,
    "adam": ADAM_RULE,
}

__all__ = [
    "ADAMW_RULE",
    "ADAM_RULE",
    "OPTIMIZERS",
    "SGD_RULE",
    "UpdateRule",
    "adam_init",
    "adam_update",
    "clip_coefficient",
    "global_grad_norm",
    "lr_factor",
    "scheduled_lr",
    "sgd_init",
    "sgd_update",
    "update_groups",
]
