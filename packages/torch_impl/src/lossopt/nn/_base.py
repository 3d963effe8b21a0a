"""The base of the loss modules: a module configured with its functional's options.

A module of :class:`FunctionalLoss` names its functional (``class DiceLoss(FunctionalLoss,
functional=F.dice_loss)``) and how many of the functional's first arguments are the tensors that
``forward`` takes (``inputs=2``). Its constructor takes the functional's other arguments, with their
defaults and kinds (``inspect.signature(DiceLoss)`` is the functional's, less the inputs), checks them
with :meth:`FunctionalLoss.check`, keeps them as attributes (tensors the check registers as buffers,
so they follow ``.to()``) and ``forward`` calls the functional with them. An option added to a
functional is an argument of its module with no edit here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from torch import nn

from lossopt._signatures import Parameter, compose, keywords
from lossopt.functional.reduction import check_reduction


class _Loss(nn.Module):
    """A loss module whose ``repr`` lists the attributes named in ``_repr``."""

    _repr: tuple[str, ...] = ()

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr)


class FunctionalLoss(_Loss):
    """A loss module whose constructor takes its functional's options and whose ``forward`` calls it.

    Class keywords: ``functional``, the loss function; ``inputs``, how many of its first parameters
    ``forward`` takes (the tensors); ``forward_keywords``, keyword-only parameters of the functional
    that ``forward`` takes too, after the inputs (a tensor given per call, such as a bias);
    ``positional``, keyword-only options of the functional that the constructor also takes by
    position (torch's loss modules take ``weight`` first).
    """

    functional: ClassVar[Callable[..., torch.Tensor]]
    _init_signature: ClassVar[inspect.Signature]
    _forward_signature: ClassVar[inspect.Signature]
    _option_names: ClassVar[tuple[str, ...]]

    def __init_subclass__(
        cls,
        *,
        functional: Callable[..., torch.Tensor] | None = None,
        inputs: int = 2,
        forward_keywords: tuple[str, ...] = (),
        positional: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if functional is None:  # an intermediate base, or a subclass keeping its parent's functional
            return
        cls.functional = staticmethod(functional)  # type: ignore[assignment]
        parameters = list(inspect.signature(functional).parameters.values())
        called = [p.replace(kind=Parameter.POSITIONAL_OR_KEYWORD) for p in parameters[:inputs]]
        called += [p.replace(kind=Parameter.POSITIONAL_OR_KEYWORD) for p in parameters if p.name in forward_keywords]
        options = [
            p.replace(kind=Parameter.POSITIONAL_OR_KEYWORD) if p.name in positional else p
            for p in parameters[inputs:]
            if p.name not in forward_keywords
        ]
        this = Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)
        cls._init_signature = inspect.Signature([this, *options], return_annotation="None")
        cls._forward_signature = inspect.Signature([this, *called], return_annotation="torch.Tensor")
        cls._option_names = tuple(p.name for p in options)

        # __init__ hands its arguments to _configure; forward passes its inputs and the options kept on self
        given = ", ".join(f"{name!r}: {name}" for name in cls._option_names)
        kept = ", ".join(
            [keywords(cls._forward_signature, skip=("self",)), *(f"{n}=self.{n}" for n in cls._option_names)]
        )
        name, module = cls.__qualname__, cls.__module__
        init = compose(
            f"{name}.__init__",
            module,
            cls._init_signature,
            f"_configure(self, {{{given}}})",
            {"_configure": FunctionalLoss._configure},
        )
        cls.__init__ = init  # type: ignore[method-assign]
        cls.forward = compose(f"{name}.forward", module, cls._forward_signature, f"self.functional({kept})", {})  # type: ignore[method-assign]

    def _configure(self, arguments: dict[str, Any]) -> None:
        nn.Module.__init__(self)
        options_type = getattr(type(self).functional, "options_type", SimpleNamespace)
        options = options_type(**arguments)
        self.check(options)
        for name in [*arguments, *getattr(options, "fixed", ())]:  # fixed: options the loss leaves at their default
            if name not in self._buffers:  # a buffer the check registered keeps its (converted) tensor
                setattr(self, name, getattr(options, name))

    def check(self, options: Any) -> None:
        """Validate the options, in the order the module's errors are reported; register its buffers.

        ``options`` holds the constructor's arguments as attributes: the functional's options object
        where it takes one (``SegmentationOptions``), else a namespace (a check may replace a value).
        """


class _ReducedLoss(FunctionalLoss):
    """A loss module with a validated ``reduction`` (``"none"`` | ``"mean"`` | ``"sum"``)."""

    _repr: tuple[str, ...] = ("reduction",)

    def check(self, options: Any) -> None:
        check_reduction(options.reduction)
