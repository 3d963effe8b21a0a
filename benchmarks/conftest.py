"""Benchmark sizes, small enough for a 2-core CPU and large enough to leave the launch-bound regime."""

from __future__ import annotations

import pytest
import torch

N_TENSORS = 64
TENSOR_NUMEL = 65_536  # 64 x 64k = 4.2M fp32 parameters, 16.8 MB per state array


def make_params(device: str = "cpu") -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(TENSOR_NUMEL, generator=generator).to(device).requires_grad_() for _ in range(N_TENSORS)]
    for p in params:
        p.grad = torch.randn(TENSOR_NUMEL, generator=generator).to(device)
    return params


@pytest.fixture(scope="session")
def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"
