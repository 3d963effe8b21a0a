"""Finding the candidate and the rule, and the hyperparameters the candidate's signature takes."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from lossopt_spec.audit.results import AuditError
from lossopt_spec.optim import OPTIMIZERS, UpdateRule


def load_candidate(target: str) -> Callable[..., Any]:
    """``"pkg.module:Name"`` (or ``"pkg.module:Outer.Name"``) -> the object it names."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise AuditError(f"candidate {target!r}: expected 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise AuditError(f"candidate {target!r}: cannot import {module_name!r}: {error}") from error
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise AuditError(f"candidate {target!r}: module {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise AuditError(f"candidate {target!r} is not a class or callable")
    return obj  # type: ignore[no-any-return]


def resolve_rule(rule: str | UpdateRule) -> UpdateRule:
    """The rule itself, or the rule of that name in :data:`lossopt_spec.OPTIMIZERS`."""
    if isinstance(rule, UpdateRule):
        return rule
    if rule not in OPTIMIZERS:
        raise AuditError(f"no rule {rule!r} in lossopt_spec.OPTIMIZERS (available: {', '.join(sorted(OPTIMIZERS))})")
    return OPTIMIZERS[rule]


def candidate_name(candidate: Any) -> str:
    """``module.QualName`` of a class or function, for the report."""
    module = getattr(candidate, "__module__", "")
    name = getattr(candidate, "__qualname__", repr(candidate))
    return f"{module}.{name}" if module else name


def accepted_hparams(factory: Callable[..., Any], rule: UpdateRule, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters to pass to the candidate: those its signature takes.

    A rule may extend the optimizer it audits (``sgd``'s warmup, clipping and cyclical lr extend
    ``torch.optim.SGD``); such extras are left out of the call while they hold the rule's default,
    which leaves the rule equal to the plain optimizer. Set to anything else, the candidate cannot
    be audited against them: an ``AuditError`` names them.
    """
    parameters = _named_parameters(factory)
    if parameters is None:  # no signature to read: pass everything
        return dict(hparams)
    accepted = {k: v for k, v in hparams.items() if k in parameters}
    refused = sorted(k for k in hparams if k not in parameters and hparams[k] != rule.defaults.get(k))
    if refused:
        raise AuditError(
            f"{candidate_name(factory)} takes no {refused}, which the configuration sets away from the "
            f"rule's defaults ({', '.join(f'{k}={hparams[k]!r}' for k in refused)})"
        )
    return accepted


def _named_parameters(factory: Callable[..., Any]) -> set[str] | None:
    """The keyword names ``factory`` takes; through ``**kwargs`` to the first base class that names its own."""
    names: set[str] = set()
    callables = (
        [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
        if isinstance(factory, type)
        else [factory]
    )
    for function in callables:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return names
    return None
