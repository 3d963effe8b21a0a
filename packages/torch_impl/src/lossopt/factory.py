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
from lossopt.optim import ADOPT, SGD, AdaBelief, Adam, AdamW, Lion, Muon, RAdam, ScheduleFreeAdamW, ScheduleFreeSGD

# the losses a task can name, then the multi-task loss that combines them (lossopt.names.LOSS_NAMES)
LOSSES: dict[str, type[nn.Module]] = {**TASK_LOSSES, "multi_task": MultiTaskLoss}

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adamw": AdamW,
    "adam": Adam,
    "radam": RAdam,
    "adabelief": AdaBelief,
    "muon": Muon,
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


def _owners(model: nn.Module) -> dict[str, nn.Module]:
    """Fully qualified parameter name -> the module holding it."""
    owner = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            owner[f"{module_name}.{param_name}" if module_name else param_name] = module
    return owner


def _rule(argument: str, given: NoDecayRule | Iterable[str] | None, default: NoDecayRule) -> NoDecayRule:
    """A ``(name, param) -> bool`` rule: ``default`` for ``None``, a callable as it is, names or glob patterns."""
    if given is None:
        return default
    if callable(given):
        return given
    if isinstance(given, str):
        raise TypeError(f"{argument} must be a callable or an iterable of names/patterns; got the string {given!r}")
    patterns = list(given)
    if not all(isinstance(p, str) for p in patterns):
        raise TypeError(f"{argument} patterns must be strings; got {patterns!r}")
    return lambda name, param: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def default_muon(
    name: str, param: nn.Parameter, module: nn.Module | None = None, head: nn.Module | None = None
) -> bool:
    """Jordan's rule for Muon: the hidden weights of 2 or more dims take Muon's step; embeddings, the output head,
    normalization weights, biases and every 0-d/1-d parameter take AdamW's.

    ``module``: the module holding the parameter (an ``nn.Embedding`` / ``nn.EmbeddingBag`` or a normalization
    layer is never Muon's); ``head``: the model's output layer, by default its last ``nn.Linear`` in module order
    (a model whose output layer comes earlier names its parameters with ``muon=`` instead).

    Example:
        >>> import torch
        >>> from lossopt.factory import default_muon
        >>> hidden, head = torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)
        >>> default_muon("0.weight", hidden.weight, hidden, head), default_muon("1.weight", head.weight, head, head)
        (True, False)
    """
    embedding = isinstance(module, (nn.Embedding, nn.EmbeddingBag))
    return param.ndim >= 2 and not embedding and module is not head and not default_no_decay(name, param, module)


def muon_parameter_groups(
    model: nn.Module,
    *,
    muon: NoDecayRule | Iterable[str] | None = None,
    no_decay: NoDecayRule | Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """``model``'s trainable parameters in Muon groups and AdamW groups (``use_muon=False``), split by ``no_decay``.

    ``muon`` picks the parameters that take Muon's step: ``None`` (default) :func:`default_muon`, a callable
    ``(name, param) -> bool``, or names / glob patterns; a picked parameter of fewer than 2 dims is a
    ``ValueError`` (Muon orthogonalises matrices). ``no_decay`` as in :func:`parameter_groups`. Groups carry
    ``"group_name"``: ``"muon"``, ``"muon_no_decay"``, ``"adamw"``, ``"adamw_no_decay"``; empty ones are dropped.

    Example:
        >>> import torch
        >>> from lossopt.factory import muon_parameter_groups
        >>> model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 4), torch.nn.Linear(4, 10))
        >>> [(g["group_name"], len(g["params"])) for g in muon_parameter_groups(model)]
        [('muon', 1), ('adamw', 2), ('adamw_no_decay', 2)]
    """
    owner = _owners(model)
    head = next((m for m in reversed(list(model.modules())) if isinstance(m, nn.Linear)), None)
    pick = _rule("muon", muon, lambda name, param: default_muon(name, param, owner.get(name), head))
    skip = _rule("no_decay", no_decay, lambda name, param: default_no_decay(name, param, owner.get(name)))
    groups: dict[str, dict[str, Any]] = {
        "muon": {},
        "muon_no_decay": {"weight_decay": 0.0},
        "adamw": {"use_muon": False},
        "adamw_no_decay": {"use_muon": False, "weight_decay": 0.0},
    }
    members: dict[str, list[nn.Parameter]] = {key: [] for key in groups}
    for name, param in model.named_parameters():
        if param.requires_grad:
            members[("muon" if pick(name, param) else "adamw") + ("_no_decay" if skip(name, param) else "")].append(
                param
            )
    return [{"params": members[k], **v, "group_name": k} for k, v in groups.items() if members[k]]


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
    owner = _owners(model)
    skip = _rule("no_decay", no_decay, lambda name, param: default_no_decay(name, param, owner.get(name)))
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
    muon: NoDecayRule | Iterable[str] | None = None,
    **kwargs: Any,
) -> Optimizer:
    """The optimizer registered as ``optimizer_type`` (``"sgd"``) over ``params``, configured with ``kwargs``.

    ``params`` is what torch optimizers take (tensors or parameter-group dicts) or a model. Given
    a model, its biases and normalization weights go into a group with ``weight_decay=0``
    (:func:`parameter_groups`; ``no_decay`` changes the rule, ``no_decay=False`` keeps a single
    group). For ``"muon"`` a model's hidden weights go into Muon groups and its embeddings, output head,
    biases and normalization weights into AdamW groups (:func:`muon_parameter_groups`; ``muon`` changes
    that rule), all at the given ``lr``. Names follow :func:`create_loss_function`'s rules (:data:`OPTIMIZER_ALIASES`).

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
    if muon is not None and (cls is not Muon or not isinstance(params, nn.Module)):
        raise TypeError(
            f"muon= picks a model's Muon parameters: it needs optimizer 'muon' and an nn.Module as params (got "
            f"{optimizer_type!r} and {type(params).__name__}); for groups of your own, set use_muon=False in a group"
        )
    if isinstance(params, nn.Module):
        rule = None if no_decay is True or no_decay is False else no_decay
        if cls is Muon:  # no_decay=False: every parameter decayed, in one Muon and one AdamW group
            params = muon_parameter_groups(
                params, muon=muon, no_decay=(lambda n, p: False) if no_decay is False else rule
            )
        elif no_decay is not False:
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
    "default_muon",
    "default_no_decay",
    "muon_parameter_groups",
    "parameter_groups",
]
