"""Functions whose arguments are declared once, somewhere else: a signature built from another
function's (or from a table), compiled into a function that takes exactly those arguments.

The loss modules of :mod:`lossopt.nn` take their functional's options as constructor arguments, the
segmentation losses compose their signatures from the options they share, and :mod:`lossopt.compat`
and :mod:`lossopt.examples` declare the design document's methods as rows of a table. Each such
function is compiled from its signature (:func:`compose`, as :mod:`dataclasses` compiles a class's
``__init__``), so Python itself binds its calls: its own ``TypeError`` for a wrong argument, naming
the function (``DiceLoss.__init__() got an unexpected keyword argument 'smoth'``), nothing to pay per
call, and a code object of its own (``torch.compile`` keeps its cache and its recompilation limit per
code object). It carries its ``__signature__``, so ``inspect.signature``, ``help()`` and autodoc
show the full argument list with its defaults. Imports nothing of lossopt.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, fields
from typing import Any, TypeVar, cast

Parameter = inspect.Parameter
R = TypeVar("R")
OPTIONS = "options"  # the parameter of a loss that :func:`with_options` gives the options object


def _parameter_list(signature: inspect.Signature) -> str:
    """The parameters as a ``def`` writes them, each default read from the name ``_<name>_default``."""
    parts: list[str] = []
    for p in signature.parameters.values():
        if p.kind is Parameter.KEYWORD_ONLY and not any(part.startswith("*") for part in parts):
            parts.append("*")
        if p.kind is Parameter.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.kind in (Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY):
            parts.append(p.name if p.default is Parameter.empty else f"{p.name}=_{p.name}_default")
        else:
            raise TypeError(f"{p.name}: a {p.kind.description} parameter has no place in a composed function")
    return ", ".join(parts)


def keywords(signature: inspect.Signature, skip: tuple[str, ...] = ()) -> str:
    """``name=name, ...`` for the parameters of ``signature`` (``**kwargs`` for a var-keyword one): a call
    passing the composed function's arguments on by keyword."""
    return ", ".join(
        f"**{p.name}" if p.kind is Parameter.VAR_KEYWORD else f"{p.name}={p.name}"
        for p in signature.parameters.values()
        if p.name not in skip
    )


def compose(
    qualname: str, module: str, signature: inspect.Signature, returns: str, names: Mapping[str, Any]
) -> Callable[..., Any]:
    """``def <name>(<the parameters of signature>): return <returns>``, compiled; ``returns`` is an
    expression of the parameters and of ``names`` (the function's globals)."""
    name = qualname.rpartition(".")[2]
    defaults = {f"_{p.name}_default": p.default for p in signature.parameters.values() if p.default is not p.empty}
    namespace: dict[str, Any] = {**names, **defaults}
    exec(f"def {name}({_parameter_list(signature)}):\n    return {returns}\n", namespace)
    function: Callable[..., Any] = namespace[name]
    function.__code__ = function.__code__.replace(co_qualname=qualname)
    function.__qualname__ = qualname
    function.__module__ = module
    function.__signature__ = signature  # type: ignore[attr-defined]
    return function


def annotations_of(signature: inspect.Signature) -> dict[str, Any]:
    """The ``__annotations__`` of a function with ``signature`` (autodoc resolves them in the wrapped module)."""
    hints = {p.name: p.annotation for p in signature.parameters.values() if p.annotation is not Parameter.empty}
    return {**hints, "return": signature.return_annotation}


def keyword(name: str, default: Any = Parameter.empty, annotation: Any = Parameter.empty) -> Parameter:
    """A parameter that can be given by position or by keyword."""
    return Parameter(name, Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def option_parameters(options: type) -> list[Parameter]:
    """The fields of the dataclass ``options`` as parameters: those a class declares before those it
    inherits, positional ones (``name=default``) then keyword-only ones (after its ``KW_ONLY``).

    Fields named in the class variable ``fixed`` are no arguments (they keep their defaults).
    """
    hidden = set(getattr(options, "fixed", ()))
    own = [vars(klass).get("__annotations__", {}) for klass in options.__mro__]
    ordered: list[Field[Any]] = sorted(
        (f for f in fields(options) if f.name not in hidden),
        key=lambda f: (bool(f.kw_only), next(i for i, names in enumerate(own) if f.name in names)),
    )
    kinds = {False: Parameter.POSITIONAL_OR_KEYWORD, True: Parameter.KEYWORD_ONLY}
    return [Parameter(f.name, kinds[bool(f.kw_only)], default=f.default, annotation=f.type) for f in ordered]


def with_options(options: type) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The decorated loss takes its inputs, then ``options``, an instance of the dataclass ``options``;
    the loss it returns takes the inputs, then every option as an argument (:func:`option_parameters`),
    and calls it with them gathered into one ``options(...)`` value."""

    def decorate(loss: Callable[..., R]) -> Callable[..., R]:
        own = inspect.signature(loss)
        inputs = own.replace(parameters=[p for p in own.parameters.values() if p.name != OPTIONS])
        signature = own.replace(parameters=[*inputs.parameters.values(), *option_parameters(options)])
        returns = f"_loss({keywords(inputs)}, options=_options({keywords(signature, skip=tuple(inputs.parameters))}))"
        public = compose(loss.__qualname__, loss.__module__, signature, returns, {"_loss": loss, "_options": options})
        functools.update_wrapper(public, loss)  # its docstring; autodoc resolves the annotations in its module
        public.__annotations__ = annotations_of(signature)
        public.options_type = options  # type: ignore[attr-defined]  # what a module of this loss configures
        return public

    return decorate


@dataclass(frozen=True)
class Declared:
    """A static method of a :class:`Namespace` declared by its signature (or a function of its name
    giving it): it returns ``call(qualname, arguments)``, the arguments by name (``**kwargs`` as a dict
    under its own name)."""

    doc: str
    signature: inspect.Signature | Callable[[str], inspect.Signature]
    call: Callable[[str, dict[str, Any]], Any]

    def method(self, owner: str, name: str, module: str) -> Callable[..., Any]:
        signature = self.signature if isinstance(self.signature, inspect.Signature) else self.signature(name)
        qualname = f"{owner}.{name}"
        arguments = ", ".join(f"{n!r}: {n}" for n in signature.parameters)
        method = compose(qualname, module, signature, f"_call({qualname!r}, {{{arguments}}})", {"_call": self.call})
        method.__doc__ = self.doc
        return method


def declared(
    doc: str,
    signature: inspect.Signature | Callable[[str], inspect.Signature],
    call: Callable[[str, dict[str, Any]], R],
) -> Callable[..., R]:
    """A :class:`Declared` method of a :class:`Namespace`, typed as the function it becomes there."""
    return cast(Callable[..., R], Declared(doc, signature, call))


class Namespace:
    """A class whose :class:`Declared` attributes become static methods named after the attribute."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if isinstance(value, Declared):
                setattr(cls, name, staticmethod(value.method(cls.__name__, name, cls.__module__)))
