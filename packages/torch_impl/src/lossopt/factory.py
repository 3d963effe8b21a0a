"""Build losses and optimizers by their project-wide names.

The names are the keys of :data:`LOSSES` and :data:`OPTIMIZERS`, the same keys as the spec's
registries and the conformance registry.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from lossopt.names import LOSS_ALIASES, canonical_name, lookup
from lossopt.nn import MultiTaskLoss
from lossopt.nn.registry import TASK_LOSSES
from lossopt.optim import ADOPT, SGD, AdaBelief, Adam, AdamW, Lion, RAdam, ScheduleFreeAdamW, ScheduleFreeSGD

# the losses a task can name, then the multi-task loss that combines them (lossopt.names.LOSS_NAMES)
LOSSES: dict[str, type[nn.Module]] = {**TASK_LOSSES, "multi_task": MultiTaskLoss}

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adamw": AdamW,
    "adam": Adam,
    "radam": RAdam,
    "adabelief": AdaBelief,
    "schedule_free_adamw": ScheduleFreeAdamW,
    "schedule_free_sgd": ScheduleFreeSGD,
    "lion": Lion,
    "adopt": ADOPT,
}

# Other spellings of the optimizer names (the loss ones are lossopt.names.LOSS_ALIASES).
OPTIMIZER_ALIASES: dict[str, str] = {
    "advancedadamw": "adamw",
    "advanced_adamw": "adamw",
    "advancedadam": "adam",
    "advanced_adam": "adam",
    "advancedsgd": "sgd",
    "advanced_sgd": "sgd",
}


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

    Names are case-insensitive, ``-`` and spaces read as ``_`` (``"bce-dice"`` is ``"bce_dice"``)
    and the spellings in :data:`LOSS_ALIASES` (``"ce"``, ``"l1"``, ``"kl"``, ...) name their
    registry entry (:func:`lossopt.names.canonical_name`). An unknown name raises ``ValueError``
    listing the valid names and the closest one; an unknown keyword raises ``TypeError`` naming it
    (nothing is silently dropped).

    Example:
        >>> from lossopt import create_loss_function
        >>> create_loss_function("mse", reduction="sum")
        MSELoss(reduction='sum')
        >>> create_loss_function("L2")
        MSELoss(reduction='mean')
    """
    cls = lookup("loss", loss_type, LOSSES, LOSS_ALIASES)
    _check_kwargs("loss", loss_type, cls.__init__, kwargs, skip=1)
    module: nn.Module = cls(**kwargs)
    return module


_NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)

NoDecayRule = Callable[[str, nn.Parameter], bool]


def default_no_decay(name: str, param: nn.Parameter, module: nn.Module | None = None) -> bool:
    """timm's rule: biases, normalization weights and every other 0-d or 1-d parameter skip weight decay.

    ``name`` is the fully qualified parameter name (``"0.bias"``); ``module`` the module holding
    it, when known (a normalization layer's weight skips decay whatever its shape).

    Example:
        >>> import torch
        >>> from lossopt.factory import default_no_decay
        >>> layer = torch.nn.Linear(3, 2)
        >>> default_no_decay("weight", layer.weight), default_no_decay("bias", layer.bias)
        (False, True)
    """
    return name.rsplit(".", 1)[-1] == "bias" or param.ndim <= 1 or isinstance(module, _NORM_LAYERS)


def parameter_groups(model: nn.Module, *, no_decay: NoDecayRule | Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Split ``model``'s trainable parameters into a decay group and a ``weight_decay=0`` group.

    ``no_decay`` picks the parameters that skip weight decay:

    - ``None`` (default): :func:`default_no_decay` (biases, normalization weights, 0-d/1-d tensors);
    - a callable ``(name, param) -> bool``: that rule instead;
    - an iterable of names or glob patterns (``["*.bias", "pos_embed"]``): exactly the parameters
      whose fully qualified name matches one of them.

    Frozen parameters (``requires_grad=False``) are left out, as timm does. Empty groups are
    dropped. Each group carries ``"group_name"`` (``"decay"`` / ``"no_decay"``) for logging.

    Example:
        >>> import torch
        >>> from lossopt.factory import parameter_groups
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
        >>> [(g["group_name"], len(g["params"])) for g in parameter_groups(model)]
        [('decay', 1), ('no_decay', 3)]
    """
    owner = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            owner[f"{module_name}.{param_name}" if module_name else param_name] = module
    skip: NoDecayRule
    if no_decay is None:
        skip = lambda name, param: default_no_decay(name, param, owner.get(name))  # noqa: E731
    elif callable(no_decay):
        skip = no_decay
    elif isinstance(no_decay, str):
        raise TypeError(f"no_decay must be a callable or an iterable of names/patterns; got the string {no_decay!r}")
    else:
        patterns = list(no_decay)
        if not all(isinstance(p, str) for p in patterns):
            raise TypeError(f"no_decay patterns must be strings; got {patterns!r}")
        skip = lambda name, param: any(fnmatch.fnmatchcase(name, p) for p in patterns)  # noqa: E731
    decay: list[nn.Parameter] = []
    plain: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if skip(name, param) else decay).append(param)
    groups: list[dict[str, Any]] = [{"params": decay, "group_name": "decay"}]
    groups.append({"params": plain, "weight_decay": 0.0, "group_name": "no_decay"})
    return [g for g in groups if g["params"]]


def create_optimizer(
    optimizer_type: str,
    params: nn.Module | Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    *,
    no_decay: NoDecayRule | Iterable[str] | bool | None = None,
    **kwargs: Any,
) -> Optimizer:
    """The optimizer registered as ``optimizer_type`` (``"sgd"``) over ``params``, configured with ``kwargs``.

    ``params`` is what torch optimizers take (tensors or parameter-group dicts) or a model. Given
    a model, its biases and normalization weights go into a group with ``weight_decay=0``
    (:func:`parameter_groups`; ``no_decay`` changes the rule, ``no_decay=False`` keeps a single
    group). Names follow :func:`create_loss_function`'s rules (:data:`OPTIMIZER_ALIASES`).

    Example:
        >>> import torch
        >>> from lossopt import create_optimizer
        >>> create_optimizer("sgd", [torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9).defaults["momentum"]
        0.9
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = create_optimizer("sgd", model, lr=0.1, weight_decay=1e-4)
        >>> [(g["group_name"], g["weight_decay"]) for g in opt.param_groups]
        [('decay', 0.0001), ('no_decay', 0.0)]
    """
    cls = lookup("optimizer", optimizer_type, OPTIMIZERS, OPTIMIZER_ALIASES)
    _check_kwargs("optimizer", optimizer_type, cls.__init__, kwargs, skip=2)
    if isinstance(params, nn.Module):
        if no_decay is not False:
            rule = None if no_decay is True else no_decay
            params = parameter_groups(params, no_decay=rule)
        else:
            params = [p for p in params.parameters() if p.requires_grad]
    elif no_decay is not None:
        raise TypeError(
            "no_decay needs a model: pass the nn.Module itself as params (got "
            f"{type(params).__name__}), or build the groups with lossopt.factory.parameter_groups"
        )
    optimizer: Optimizer = cls(params, **kwargs)
    return optimizer


__all__ = [
    "LOSSES",
    "LOSS_ALIASES",
    "OPTIMIZERS",
    "OPTIMIZER_ALIASES",
    "canonical_name",
    "create_loss_function",
    "create_optimizer",
    "default_no_decay",
    "parameter_groups",
]
