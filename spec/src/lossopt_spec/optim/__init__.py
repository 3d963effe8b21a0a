"""Optimizer update rules, one family per module, registered by name in :data:`OPTIMIZERS`."""

from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.optim.sgd import SGD_RULE, sgd_init, sgd_update

OPTIMIZERS: dict[str, UpdateRule] = {
    "sgd": SGD_RULE,
}

__all__ = ["OPTIMIZERS", "SGD_RULE", "UpdateRule", "sgd_init", "sgd_update"]
