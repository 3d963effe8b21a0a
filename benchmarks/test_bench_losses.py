"""Forward and backward of each loss, lossopt vs torch's own function, on 1M float32 elements."""

from __future__ import annotations

import pytest
import torch

from benchmarks.baselines import LOSS_BASELINES, LOSS_INPUTS, randn_pair
from conformance.registry import LOSS_INFOS


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize("name", sorted(LOSS_BASELINES))
def test_loss_forward_backward(benchmark, name, side, device):
    fn = LOSS_INFOS[name].torch_fn if side == "lossopt" else LOSS_BASELINES[name][0]
    predictions, targets = LOSS_INPUTS.get(name, randn_pair)(device)

    def run() -> None:
        fn(predictions, targets, **LOSS_BASELINES[name][1]).backward()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = f"loss-{name}"
    benchmark.extra_info.update({"name": name, "side": side})
    benchmark.pedantic(run, rounds=50, warmup_rounds=10)
