"""Evaluating a registered loss on both sides from the same (rounded) inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.assertions import format_call, to_numpy
from conformance.registry import LossInfo
from conformance.tolerances import TORCH_DTYPES


def draw_case(info: LossInfo, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw (inputs, kwargs) for ``info``; kwargs from ``info.kwargs_for(inputs)`` when it depends on them."""
    inputs = data.draw(info.inputs, label="inputs")
    kwargs = data.draw(info.kwargs if info.kwargs_for is None else info.kwargs_for(inputs), label="kwargs")
    return inputs, kwargs


def torch_inputs(info: LossInfo, inputs: dict[str, np.ndarray], dtype: str, device: str) -> dict[str, torch.Tensor]:
    """Inputs as tensors of ``dtype`` on ``device``; differentiable ones require grad.

    Integer arrays (class indices) become ``torch.int64`` tensors, not ``dtype``.
    """
    tensors = {}
    for key, value in inputs.items():
        if np.asarray(value).dtype.kind in "iu":
            tensors[key] = torch.tensor(value, dtype=torch.int64, device=device)
            continue
        tensor = torch.tensor(value, dtype=TORCH_DTYPES[dtype], device=device)
        tensors[key] = tensor.requires_grad_() if key in info.differentiable else tensor
    return tensors


def spec_inputs(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """The float64 values the tensors hold, which the spec evaluates (so rounding is not an error).

    Integer tensors (class indices) stay int64 arrays.
    """
    return {
        key: value.cpu().numpy().astype(np.int64) if not value.is_floating_point() else to_numpy(value)
        for key, value in tensors.items()
    }


def call_text(info: LossInfo, inputs: dict[str, Any], kwargs: dict[str, Any], reduction: str) -> str:
    return format_call(f"lossopt.functional.{info.torch_fn.__name__}", {**inputs, **kwargs, "reduction": reduction})
