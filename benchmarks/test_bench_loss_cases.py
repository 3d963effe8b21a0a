"""Losses timed on named cases (multi-class masks, embeddings, distributions, task dicts): lossopt vs a
torch baseline per case.

Groups ``loss-<name>-<variant>``, sides ``lossopt`` / ``torch`` (``ratios.py`` divides them). Each
side also records the bytes autograd keeps for backward (``saved_bytes``), measured once outside
the timing with ``torch.autograd.graph.saved_tensors_hooks``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from benchmarks.baselines import LOSS_BASELINES, LOSS_CASES, OWN_BENCHMARKS
from conformance.registry import LOSS_INFOS

CASES = sorted(LOSS_CASES)


def saved_bytes(call: Any, inputs: dict[str, Any]) -> int:
    """Bytes of the distinct tensors autograd saves for the backward of ``call(**inputs)``."""
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        seen[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        call(**inputs)
    return sum(seen.values())


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_loss_forward_backward_case(benchmark, name, variant, side, device):
    make_inputs, ours, theirs = LOSS_CASES[(name, variant)]
    call = ours if side == "lossopt" else theirs
    inputs = make_inputs(device)

    def run() -> None:
        call(**inputs).backward()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = f"loss-{name}-{variant}"
    benchmark.extra_info.update({"name": name, "side": side, "saved_bytes": saved_bytes(call, inputs)})
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


def test_every_loss_has_a_baseline():
    covered = set(LOSS_BASELINES) | {name for name, _ in LOSS_CASES} | set(OWN_BENCHMARKS)
    missing = sorted(set(LOSS_INFOS) - covered)
    assert not missing, f"benchmarks/baselines.py has no torch baseline for {missing}"
