"""linear_cross_entropy forward + backward at N=8192 tokens, D=512, V=32768, float32.

Group ``loss-linear_cross_entropy``: lossopt against ``F.cross_entropy(input @ W.T, target)`` (the N x V
logits materialised); group ``loss-linear_cross_entropy-torch-chunked``: against torch's own chunked
``F.linear_cross_entropy`` (torch >= 2.13). ``ratios.py`` divides the sides of each group.

Peak extra memory (peak resident set minus the resident set with the inputs allocated) is measured
in separate processes by ``benchmarks/linear_cross_entropy_memory.py`` and recorded in the lossopt
side's ``extra_info`` (``peak_extra_bytes`` and the reference's); on CUDA, from the allocator's peak.
"""

from __future__ import annotations

import argparse

import pytest
import torch

from benchmarks.linear_cross_entropy_memory import VARIANTS, make_inputs, peak_extra, step

SIZES = {"tokens": 8192, "dim": 512, "classes": 32768}
GROUPS = {"loss-linear_cross_entropy": "reference", "loss-linear_cross_entropy-torch-chunked": "torch_chunked"}


def _cuda_peak_extra(fn, inputs) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    step(fn, inputs)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - baseline


def _memory(variant: str, fn, inputs, device: str) -> int:
    if device == "cuda":
        return _cuda_peak_extra(fn, inputs)
    return peak_extra(variant, argparse.Namespace(dtype="float32", **SIZES))


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_linear_cross_entropy_forward_backward(benchmark, group, side, device):
    baseline = GROUPS[group]
    if baseline not in VARIANTS:
        pytest.skip(f"torch {torch.__version__} has no F.linear_cross_entropy (2.13 and later)")
    variant = "lossopt" if side == "lossopt" else baseline
    fn = VARIANTS[variant]
    inputs = make_inputs(SIZES["tokens"], SIZES["dim"], SIZES["classes"], torch.float32, device)

    def run() -> None:
        step(fn, inputs)
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = group
    benchmark.extra_info.update({"name": "linear_cross_entropy", "side": side, "variant": variant, **SIZES})
    if side == "lossopt" and group == "loss-linear_cross_entropy":
        ours = _memory("lossopt", fn, inputs, device)
        theirs = _memory("reference", VARIANTS["reference"], inputs, device)
        benchmark.extra_info.update({"peak_extra_bytes": ours, "reference_peak_extra_bytes": theirs})
        benchmark.extra_info["peak_extra_ratio"] = ours / theirs
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
