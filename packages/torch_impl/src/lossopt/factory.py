"""Build losses and optimizers by their project-wide names.

The names are the keys of :data:`LOSSES` and :data:`OPTIMIZERS`, the same keys as the spec's
registries and the conformance registry.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from lossopt.nn import MSELoss
from lossopt.optim import SGD
from lossopt.optim.adabelief import AdaBelief
from lossopt.optim.radam import RAdam

LOSSES: dict[str, type[nn.Module]] = {
    "mse": MSELoss,
}

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "radam": RAdam,
    "adabelief": AdaBelief,
}


def _lookup(kind: str, name: str, registry: dict[str, Any]) -> Any:
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key in registry:
        return registry[key]
    valid = sorted(registry)
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}{hint}")


def _check_kwargs(kind: str, name: str, target: Any, kwargs: dict[str, Any], skip: int) -> None:
    parameters = list(inspect.signature(target).parameters.values())[skip:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    allowed = {p.name for p in parameters}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{kind} {name!r} got unknown keyword argument(s) {unknown}; accepted: {sorted(allowed)}")


def create_loss_function(loss_type: str, **kwargs: Any) -> nn.Module:
    """The loss module registered as ``loss_type`` (``"mse"``), configured with ``kwargs``.

    Names are case-insensitive and ``-`` reads as ``_``. An unknown name raises ``ValueError``
    listing the valid names and the closest one; an unknown keyword raises ``TypeError`` naming it.

    Example:
        >>> from lossopt import create_loss_function
        >>> create_loss_function("mse", reduction="sum")
        MSELoss(reduction='sum')
    """
    cls = _lookup("loss", loss_type, LOSSES)
    _check_kwargs("loss", loss_type, cls.__init__, kwargs, skip=1)
    module: nn.Module = cls(**kwargs)
    return module


def create_optimizer(
    optimizer_type: str, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], **kwargs: Any
) -> Optimizer:
    """The optimizer registered as ``optimizer_type`` (``"sgd"``) over ``params``, configured with ``kwargs``.

    Example:
        >>> import torch
        >>> from lossopt import create_optimizer
        >>> create_optimizer("sgd", [torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9).defaults["momentum"]
        0.9
    """
    cls = _lookup("optimizer", optimizer_type, OPTIMIZERS)
    _check_kwargs("optimizer", optimizer_type, cls.__init__, kwargs, skip=2)
    optimizer: Optimizer = cls(params, **kwargs)
    return optimizer
