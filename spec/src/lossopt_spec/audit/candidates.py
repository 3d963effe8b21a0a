"""Finding the candidate, and what to pass it: the hyperparameters its signature takes, under its names.

Rules for what a candidate is sent (the same for optimizers and losses):

- every spec hyperparameter the candidate's signature names (after ``--rename SPEC=CANDIDATE``),
  at the spec's value, so both sides run the same configuration even where the candidate's own
  default differs (a note says so);
- a spec hyperparameter the candidate does not name is left out while it holds the spec's default
  (``warmup_steps=0`` leaves a rule equal to the plain optimizer); set away from it, the audit
  cannot run (:class:`AuditError`, exit 2);
- a candidate whose signature cannot be read to the end (``**kwargs`` all the way down) is sent the
  hyperparameters of the configuration and every one that is not a spec-only extra
  (:data:`SPEC_ONLY`: warmup, cyclical lr, clipping, which only lossopt's optimizers take);
- ``--rename NAME=-`` says the candidate has no argument for the spec's ``NAME`` and is
  configured to match its value some other way (by ``--candidate-kwargs``): it is never passed;
- ``--candidate-kwargs`` go to the candidate only, as they are.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lossopt_spec.audit.results import AuditError
from lossopt_spec.optim import OPTIMIZERS, UpdateRule
from lossopt_spec.optim.clip import CLIP_DEFAULTS
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS

SPEC_ONLY = frozenset(SCHEDULE_DEFAULTS) | frozenset(CLIP_DEFAULTS)
NOT_PASSED = "-"  # --rename NAME=-: the candidate has no such argument
_NO_DEFAULT = inspect.Parameter.empty


def load_candidate(target: str) -> Callable[..., Any]:
    """``"pkg.module:Name"`` (or ``"pkg.module:Outer.Name"``) -> the object it names."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise AuditError(f"candidate {target!r}: expected 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or whatever the module raises while it imports
        raise AuditError(
            f"candidate {target!r}: cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from error
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


def parse_renames(pairs: Iterable[str]) -> dict[str, str]:
    """``["weight_decouple=decoupled_decay"]`` -> ``{"weight_decouple": "decoupled_decay"}``."""
    renames: dict[str, str] = {}
    for pair in pairs:
        spec_name, sep, candidate_name_ = pair.partition("=")
        if not sep or not spec_name.strip() or not candidate_name_.strip():
            raise AuditError(f"--rename {pair!r}: expected SPEC_NAME=CANDIDATE_NAME")
        renames[spec_name.strip()] = candidate_name_.strip()
    return renames


def check_renames(renames: Mapping[str, str], known: Iterable[str], what: str) -> None:
    """Every renamed name must be one of ``known`` (the spec's hyperparameters and state entries)."""
    names = sorted(set(known))
    unknown = sorted(set(renames) - set(names))
    if unknown:
        raise AuditError(f"--rename {unknown}: not a name of {what}; its names are {names}")


@dataclass(frozen=True)
class Signature:
    """The keyword names a candidate takes, with their defaults; ``complete`` unless ``**kwargs`` hid some."""

    defaults: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    def takes(self, name: str) -> bool:
        return name in self.defaults


def read_signature(factory: Callable[..., Any]) -> Signature:
    """Names and defaults ``factory`` takes; through ``**kwargs`` to the first base class that names its own."""
    defaults: dict[str, Any] = {}
    callables = (
        [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
        if isinstance(factory, type)
        else [factory]
    )
    for function in callables:
        try:
            parameters = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            return Signature(defaults, complete=False)
        for p in parameters:
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in defaults:
                defaults[p.name] = p.default
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return Signature(defaults)
    return Signature(defaults, complete=False)


def same_value(a: Any, b: Any) -> bool:
    """Equal as configuration values (a list equals the tuple of its items; ``1 == 1.0``)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an array default, compared elementwise
        return False


@dataclass(frozen=True)
class CallPlan:
    """What the candidate's constructor (or call) gets: ``passed`` under its own names, plus ``notes``."""

    passed: dict[str, Any]
    notes: tuple[str, ...]
    signature: Signature


def plan_call(
    factory: Callable[..., Any],
    spec_values: Mapping[str, Any],
    spec_defaults: Mapping[str, Any],
    configured: Iterable[str],
    renames: Mapping[str, str],
    *,
    exclude: Iterable[str] = (),
) -> CallPlan:
    """The keyword arguments for the candidate by the rules in the module docstring.

    Args:
        factory: the candidate (class or callable).
        spec_values: the spec's hyperparameters for this audit (defaults updated by the configuration).
        spec_defaults: the spec's defaults.
        configured: the names the user set in ``--config``.
        renames: spec name -> candidate name.
        exclude: spec names never passed as hyperparameters (a loss's ``reduction``, passed apart).
    """
    signature = read_signature(factory)
    configured = set(configured)
    skip = set(exclude)
    passed: dict[str, Any] = {}
    refused: list[str] = []
    notes: list[str] = []
    for name, value in spec_values.items():
        if name in skip:
            continue
        target = renames.get(name, name)
        if target == NOT_PASSED:
            continue
        at_default = name in spec_defaults and same_value(value, spec_defaults[name])
        if signature.takes(target):
            passed[target] = value
            own = signature.defaults[target]
            if own is not _NO_DEFAULT and not same_value(own, value) and name not in configured:
                notes.append(
                    f"the candidate's default {target}={own!r} differs from the spec's {value!r}; "
                    "the audit passes the spec's (set it in --config to audit another value)"
                )
        elif not signature.complete and (name in configured or name in renames or name not in SPEC_ONLY):
            passed[target] = value
        elif not at_default:
            refused.append(name)
    if refused:
        raise AuditError(
            f"{candidate_name(factory)} takes no {refused}, which the configuration sets away from the "
            f"spec's defaults ({', '.join(f'{k}={spec_values[k]!r}' for k in refused)}); "
            "if it takes them under other names, map them with --rename SPEC_NAME=CANDIDATE_NAME"
        )
    return CallPlan(passed, tuple(notes), signature)
