"""Evaluating a registered loss on both sides from the same (rounded) inputs.

Inputs are a dict of keyword arguments. Floating arrays become tensors of the dtype under test;
integer arrays (class indices, labels, signs) become int64 tensors whatever that dtype; any other
value (a mode string, ``None``, a Python number) is passed to both sides as it is, so options that
depend on the arrays' shapes can be drawn together with them.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.assertions import format_call
from conformance.entries import LossInfo
from lossopt_spec.audit.bridge import TORCH_DTYPES, to_numpy


def draw_case(info: LossInfo, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw (inputs, kwargs) for ``info``; kwargs from ``info.kwargs_for(inputs)`` when it depends on them."""
    inputs = data.draw(info.inputs, label="inputs")
    kwargs = data.draw(info.kwargs if info.kwargs_for is None else info.kwargs_for(inputs), label="kwargs")
    return inputs, kwargs


def torch_inputs(info: LossInfo, inputs: dict[str, Any], dtype: str, device: str) -> dict[str, Any]:
    """Inputs as tensors of ``dtype`` on ``device``; differentiable ones require grad."""
    tensors: dict[str, Any] = {}
    for key, value in inputs.items():
        if not isinstance(value, np.ndarray):
            tensors[key] = value  # options drawn with the arrays: passed through
            continue
        if np.issubdtype(value.dtype, np.integer):
            tensors[key] = torch.tensor(value, dtype=torch.int64, device=device)  # indices stay integers
            continue
        tensor = torch.tensor(value, dtype=TORCH_DTYPES[dtype], device=device)
        tensors[key] = tensor.requires_grad_() if key in info.differentiable else tensor
    return tensors


def spec_inputs(tensors: dict[str, Any]) -> dict[str, Any]:
    """The float64 values the tensors hold, which the spec evaluates (so rounding is not an error).

    Integer tensors come back as int64 arrays; values that are not tensors as they are.
    """
    values: dict[str, Any] = {}
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            values[key] = value
        elif value.is_floating_point():
            values[key] = to_numpy(value)
        else:
            values[key] = value.detach().cpu().numpy().astype(np.int64)
    return values


def spec_gradients(info: LossInfo, result: np.ndarray | tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """The spec's gradient(s) by input name: a loss with several differentiable inputs returns a tuple
    in the order of ``info.differentiable``; a loss with one returns the array."""
    if isinstance(result, tuple):
        if len(result) != len(info.differentiable):
            raise AssertionError(
                f"{info.name}: spec gradient returned {len(result)} arrays for differentiable {info.differentiable}"
            )
        return dict(zip(info.differentiable, result, strict=True))
    return {info.differentiable[0]: result}


def split_module_arguments(info: LossInfo, tensors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(constructor keywords, forward keywords): the inputs the module's ``forward`` takes go to it,
    the options drawn with them (mode, class weights, ...) to the constructor."""
    forward = set(inspect.signature(info.module.forward).parameters) - {"self"}
    return (
        {k: v for k, v in tensors.items() if k not in forward},
        {k: v for k, v in tensors.items() if k in forward},
    )


def call_text(info: LossInfo, inputs: dict[str, Any], kwargs: dict[str, Any], reduction: str) -> str:
    return format_call(f"lossopt.functional.{info.torch_fn.__name__}", {**inputs, **kwargs, "reduction": reduction})
