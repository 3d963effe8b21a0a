"""A loss's arguments declared once: the value and its gradient take the same ones.

A loss is written as two functions: its value, taking its inputs (the arrays) and then ``options``,
an instance of a frozen dataclass that declares every other argument with its default; and its
vector-Jacobian product, taking the same inputs, the same ``options`` and ``grad_output``.
:func:`with_options` makes the first the public ``<name>_loss(inputs..., option=default, ...)``
and :func:`gradient_of` the second ``<name>_loss_grad(<the same arguments>, *, grad_output=None)``:
an option is added in one place, its dataclass, and both functions take it.

A dataclass's fields become arguments in this order: the fields a class declares before those it
inherits, positional ones before keyword-only ones (those after its ``KW_ONLY``); the fields named
in its class variable ``fixed`` are no arguments and keep their defaults. ``inspect.signature``,
``help()`` and autodoc show the full argument list (the function's ``__signature__``); the function
is compiled from it, so a call it refuses is Python's own ``TypeError``, naming the function.
Mirrored by ``lossopt._signatures``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, TypeVar

import numpy as np

Parameter = inspect.Parameter
R = TypeVar("R")
OPTIONS = "options"  # the parameter of a value or gradient function that receives the options object
GRAD_OUTPUT = Parameter("grad_output", Parameter.KEYWORD_ONLY, default=None, annotation="np.ndarray | None")

Upstream = np.ndarray | None  # a gradient function's ``grad_output``: None means ones of the value's shape


def _parameter_list(signature: inspect.Signature) -> str:
    """The parameters as a ``def`` writes them, each default read from the name ``_<name>_default``."""
    parts: list[str] = []
    for p in signature.parameters.values():
        if p.kind is Parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        parts.append(p.name if p.default is Parameter.empty else f"{p.name}=_{p.name}_default")
    return ", ".join(parts)


def _keywords(names: list[str]) -> str:
    return ", ".join(f"{name}={name}" for name in names)


def _compose(
    implementation: Callable[..., R], signature: inspect.Signature, inputs: list[str], options: type
) -> Callable[..., R]:
    """``implementation`` called with the inputs, ``options(...)`` of the other arguments and any
    ``grad_output``: a function compiled from ``signature`` (as :mod:`dataclasses` compiles
    ``__init__``), so Python binds its calls and names it in its errors, with ``implementation``'s name
    and docstring and the annotations autodoc resolves in its module."""
    names = list(signature.parameters)
    passed = [name for name in names if name in inputs or name == GRAD_OUTPUT.name]
    rest = [name for name in names if name not in passed]
    returns = f"_implementation({_keywords(passed)}, options=_options({_keywords(rest)}))"
    defaults = {f"_{p.name}_default": p.default for p in signature.parameters.values() if p.default is not p.empty}
    namespace: dict[str, Any] = {"_implementation": implementation, "_options": options, **defaults}
    name = implementation.__name__
    exec(f"def {name}({_parameter_list(signature)}):\n    return {returns}\n", namespace)
    public: Callable[..., R] = namespace[name]
    public.__code__ = public.__code__.replace(co_qualname=implementation.__qualname__)
    functools.update_wrapper(public, implementation)
    public.__signature__ = signature  # type: ignore[attr-defined]
    public.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    public.__annotations__["return"] = signature.return_annotation
    public.options_type = options  # type: ignore[attr-defined]
    return public


def option_parameters(options: type) -> list[Parameter]:
    """The fields of the dataclass ``options`` as parameters, in the order of the module docstring."""
    hidden = set(getattr(options, "fixed", ()))
    own = [vars(klass).get("__annotations__", {}) for klass in options.__mro__]
    ordered: list[Field[Any]] = sorted(
        (f for f in fields(options) if f.name not in hidden),
        key=lambda f: (bool(f.kw_only), next(i for i, names in enumerate(own) if f.name in names)),
    )
    kinds = {False: Parameter.POSITIONAL_OR_KEYWORD, True: Parameter.KEYWORD_ONLY}
    return [Parameter(f.name, kinds[bool(f.kw_only)], default=f.default, annotation=f.type) for f in ordered]


def with_options(options: type) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The decorated value function takes its inputs, then ``options`` (an instance of the dataclass
    ``options``); the function it returns takes the inputs, then every option as an argument."""

    def decorate(loss: Callable[..., R]) -> Callable[..., R]:
        own = inspect.signature(loss)
        inputs = [p for p in own.parameters.values() if p.name != OPTIONS]
        signature = own.replace(parameters=[*inputs, *option_parameters(options)])
        return _compose(loss, signature, [p.name for p in inputs], options)

    return decorate


def gradient_of(loss: Callable[..., Any]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The decorated function is the VJP of ``loss`` (made by :func:`with_options`): it takes the
    loss's inputs, ``options`` and ``grad_output``; the function it returns takes the loss's
    arguments and a keyword-only ``grad_output=None``."""
    options: type = loss.options_type  # type: ignore[attr-defined]
    signature = inspect.signature(loss)
    names = {p.name for p in option_parameters(options)}
    inputs = [name for name in signature.parameters if name not in names]

    def decorate(vjp: Callable[..., R]) -> Callable[..., R]:
        takes = list(inspect.signature(vjp).parameters)
        if takes != [*inputs, OPTIONS, GRAD_OUTPUT.name]:
            raise TypeError(f"{vjp.__qualname__} must take {[*inputs, OPTIONS, GRAD_OUTPUT.name]}; it takes {takes}")
        parameters = [*signature.parameters.values(), GRAD_OUTPUT]
        public_signature = signature.replace(
            parameters=parameters, return_annotation=inspect.signature(vjp).return_annotation
        )
        return _compose(vjp, public_signature, inputs, options)

    return decorate
