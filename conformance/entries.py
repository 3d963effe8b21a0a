"""What a registry entry holds: :class:`LossInfo`, :class:`OptimizerInfo` and its :class:`GoldenCase` s.

The entries themselves, with their strategies and tolerance overrides, are in ``conformance/registry.py``.
The spec and torch sides are looked up by name, lazily, so that a missing name fails
``test_registry.py`` with a message naming it instead of breaking the import of the whole suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

import lossopt
import lossopt_spec
from conformance.strategies.common import parameter_groups
from conformance.tolerances import Overrides
from lossopt_spec.losses import LossSpec
from lossopt_spec.optim import UpdateRule


@dataclass(frozen=True)
class LossInfo:
    """A loss under conformance.

    Attributes:
        name: the project-wide name.
        torch_fn: the functional form, called as ``torch_fn(**inputs, **kwargs, reduction=...)``.
        inputs: strategy of a dict of float64 input arrays, keyword names as the functions take them.
            Integer arrays stay integer and non-array values pass through unchanged, see
            ``loss_harness.torch_inputs``.
        kwargs: strategy of the loss's other keyword arguments (besides ``reduction``).
        differentiable: the inputs whose gradient the spec gives (``<name>_loss_grad`` w.r.t. the first;
            with several, the spec returns a tuple in this order and every one is checked).
        reductions: the reductions the loss takes.
        dtypes: the dtypes its values and gradients are checked at.
        tolerance_overrides: (check, dtype) -> Tolerance, each with a comment saying why.
        generic: False opts the entry out of the generic value, gradient, module and reduction tests
            (inputs that are not arrays, such as ``multi_task``'s dicts); it then needs a dedicated test.
        kwargs_for: when set, ``kwargs_for(inputs)`` replaces ``kwargs``: keyword arguments that depend
            on the drawn inputs (quantile levels, one per last-axis prediction).
        mean_denominator: ``mean_denominator(inputs, kwargs)``, the documented divisor of ``"mean"``
            (a weighted count); ``None``: the number of elements of ``"none"``.
        batched: the inputs whose first axis is the batch (a batch split cuts these); ``()`` for a loss
            whose sum is not additive over the batch (global Dice, pairs of the batch).
        mean_of: ``mean_of(unreduced, inputs, kwargs)``, the documented ``"mean"`` computed from the
            ``"none"`` values, for a loss whose terms have different denominators (it replaces
            ``mean_denominator``).

    A differentiable input that is None in a drawn case (no bias) has no gradient to compare.
    """

    name: str
    torch_fn: Callable[..., torch.Tensor]
    inputs: st.SearchStrategy[dict[str, Any]]
    kwargs: st.SearchStrategy[dict[str, Any]] = field(default_factory=lambda: st.just({}))
    differentiable: tuple[str, ...] = ("predictions",)
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    dtypes: tuple[str, ...] = ("float64", "float32", "bfloat16")
    tolerance_overrides: Overrides = field(default_factory=dict)
    generic: bool = True
    kwargs_for: Callable[[dict[str, Any]], st.SearchStrategy[dict[str, Any]]] | None = None
    mean_denominator: Callable[[dict[str, Any], dict[str, Any]], float] | None = None
    batched: tuple[str, ...] = ("predictions", "targets")
    mean_of: Callable[[np.ndarray, dict[str, Any], dict[str, Any]], float] | None = None

    @property
    def spec(self) -> LossSpec:
        return lossopt_spec.LOSSES[self.name]

    @property
    def module(self) -> type[nn.Module]:
        return lossopt.LOSSES[self.name]


Grouping = list[tuple[list[int], dict[str, Any]]]
"""Parameter groups as (the indices of their tensors, the group's hyperparameter overrides)."""


def one_group(shapes: Sequence[tuple[int, ...]]) -> Grouping:
    """Every tensor in one group with the optimizer's defaults (what most rules take)."""
    return [(list(range(len(shapes))), {})]


@dataclass(frozen=True)
class GoldenCase:
    """One golden trajectory: an optimizer configuration run on a problem from a seed.

    ``groups``: the problem's parameters in groups (indices and overrides); ``()``: the entry's ``grouping``.
    ``mode_switches``: the steps after which the run switches to eval mode and back (Schedule-Free;
    ``lossopt_spec.trajectory``).
    """

    config: str
    hparams: Mapping[str, Any]
    problem: str
    seed: int = 0
    steps: int = 50
    tolerance_overrides: Overrides = field(default_factory=dict)
    groups: tuple[tuple[tuple[int, ...], Mapping[str, Any]], ...] = ()
    mode_switches: tuple[int, ...] = ()


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer under conformance.

    Attributes:
        name: the project-wide name.
        hparams: strategy of keyword arguments, valid for both the spec rule and the torch class.
        states: ``states(params, hparams)``: strategy of spec states reachable by the rule.
        impls: implementation name -> the constructor flags that select it.
        golden: the golden trajectories of this optimizer.
        dtypes: the dtypes steps and trajectories are checked at.
        tolerance_overrides: (check, dtype) -> Tolerance, each with a comment saying why.
        params: strategy of ``(params, grads)`` for the drawn single-group checks (default: 1 to 3 tensors
            of 1 or 2 dims).
        grouping: ``grouping(shapes)`` -> the groups a list of tensors goes in (Muon: matrices in a Muon
            group, the rest in an AdamW group); default one group.
        flags: constructor flags of the checks that run the default kernel (Muon: ``ns_dtype=None``, the
            parameters' dtype, so that float64 is compared at float64's tolerance).
    """

    name: str
    hparams: st.SearchStrategy[dict[str, Any]]
    states: Callable[[list[Any], dict[str, Any]], st.SearchStrategy[list[dict[str, Any]]]]
    impls: Mapping[str, Mapping[str, Any]]
    golden: tuple[GoldenCase, ...] = ()
    dtypes: tuple[str, ...] = ("float64", "float32")
    tolerance_overrides: Overrides = field(default_factory=dict)
    params: st.SearchStrategy[tuple[list[Any], list[Any]]] = field(default_factory=parameter_groups)
    grouping: Callable[[Sequence[tuple[int, ...]]], Grouping] = one_group
    flags: Mapping[str, Any] = field(default_factory=dict)

    def groups_of(self, case: GoldenCase, shapes: Sequence[tuple[int, ...]]) -> Grouping:
        """A golden case's groups: its own, or the entry's grouping of the problem's ``shapes``."""
        if case.groups:
            return [(list(indices), dict(overrides)) for indices, overrides in case.groups]
        return self.grouping(shapes)

    @property
    def spec(self) -> UpdateRule:
        return lossopt_spec.OPTIMIZERS[self.name]

    @property
    def torch_cls(self) -> type[torch.optim.Optimizer]:
        return lossopt.OPTIMIZERS[self.name]

    def build(self, params: Any, **kwargs: Any) -> torch.optim.Optimizer:
        """The torch optimizer over ``params``, in train mode (Schedule-Free starts in eval mode; for the other rules
        ``train()`` changes nothing)."""
        optimizer = self.torch_cls(params, **kwargs)
        optimizer.train()  # type: ignore[attr-defined]  # every lossopt optimizer has it
        return optimizer
