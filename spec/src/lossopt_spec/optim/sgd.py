"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, learning rate :math:`\\gamma`, momentum
:math:`\\mu`, dampening :math:`\\tau`, weight decay :math:`\\lambda`, momentum buffer :math:`b`.
At step :math:`t = 1, 2, \\ldots`:

.. math::

    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                          &(1)\\\\
    g_t &\\leftarrow g_t + \\lambda \\theta_{t-1}                              &(2)\\\\
    b_t &= g_t \\ (t = 1), \\qquad b_t = \\mu b_{t-1} + (1 - \\tau) g_t \\ (t > 1) &(3)\\\\
    g_t &\\leftarrow g_t + \\mu b_t \\ \\text{(Nesterov)}, \\qquad g_t \\leftarrow b_t \\ \\text{otherwise} &(4)\\\\
    \\theta_t &= \\theta_{t-1} - \\gamma g_t                                    &(5)

Steps (3)–(4) only when :math:`\\mu \\neq 0`. This is the formulation of Sutskever et al. 2013,
"On the importance of initialization and momentum in deep learning" (ICML), as
``torch.optim.SGD`` implements it: the buffer is seeded with the first gradient, undamped, and the
learning rate multiplies the whole buffer (not the formulation :math:`v = \\mu v + \\gamma g`).

State: ``momentum_buffer`` (``None`` while momentum is 0 or before the first step), as torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.rule import Params, State, UpdateRule

SGD_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "momentum": 0.0,
    "dampening": 0.0,
    "weight_decay": 0.0,
    "nesterov": False,
    "maximize": False,
}


def sgd_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """One empty state per parameter: no momentum buffer before the first step."""
    return [{"momentum_buffer": None} for _ in params]


def sgd_update(
    params: Params, grads: Params, state: State, step: int, hparams: Mapping[str, Any]
) -> tuple[Params, State]:
    """One SGD step on a parameter group (see the module docstring for the equations)."""
    lr = hparams["lr"]
    momentum = hparams["momentum"]
    dampening = hparams["dampening"]
    weight_decay = hparams["weight_decay"]
    new_params: Params = []
    new_state: State = []
    for param, grad, param_state in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        buf = param_state["momentum_buffer"]
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            grad = grad + weight_decay * param  # (2) g <- g + wd p
        if momentum != 0:
            if buf is None:
                buf = grad.copy()  # (3) b <- g on the first step
            else:
                buf = momentum * buf + (1 - dampening) * grad  # (3) b <- mu b + (1 - tau) g
            if hparams["nesterov"]:
                grad = grad + momentum * buf  # (4) g <- g + mu b
            else:
                grad = buf  # (4) g <- b
        new_params.append(param - lr * grad)  # (5) p <- p - lr g
        new_state.append({"momentum_buffer": buf})
    return new_params, new_state


SGD_RULE = UpdateRule(
    name="sgd",
    init=sgd_init,
    update=sgd_update,
    defaults=SGD_DEFAULTS,
    state_keys=("momentum_buffer",),
)
