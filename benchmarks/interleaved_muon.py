"""lossopt.Muon vs torch.optim.Muon on the transformer-shaped set of ``test_bench_muon.py``, timed A/B interleaved.

Every round times the lossopt step and the torch step back to back (in alternating order) on their own copies of
the same tensors; the ratio reported is the median of the per-round ratios, next to the ratio of the medians and
of the minima. Nothing is asserted.

    python -m benchmarks.interleaved_muon [--rounds 9] [--width 512] [--cases batched,single,model]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.test_bench_muon import BLOCKS, sides, transformer_matrices


def _time(step) -> float:
    start = time.perf_counter()
    step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--cases", default="batched,single,model")
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    numel = sum(p.numel() for p in transformer_matrices(args.width, device="cpu"))
    print(
        f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads; {BLOCKS} blocks of width "
        f"{args.width}: {numel / 1e6:.1f}M parameters in matrices, orthogonalised in bfloat16 on both sides"
    )
    columns = ("median(ratio)", "ratio(med)", "ratio(min)", "lossopt ms", "torch ms")
    print(f"{'case':10s} " + " ".join(f"{c:>13s}" for c in columns))
    for case in args.cases.split(","):
        ours, theirs = sides(case, device, args.width)
        times_a, times_b = [], []
        for r in range(args.rounds):
            if r % 2:
                times_b.append(_time(theirs))
                times_a.append(_time(ours))
            else:
                times_a.append(_time(ours))
                times_b.append(_time(theirs))
        ratios = [a / b for a, b in zip(times_a, times_b, strict=True)]
        med_a, med_b = statistics.median(times_a), statistics.median(times_b)
        print(
            f"{case:10s} {statistics.median(ratios):13.3f} {med_a / med_b:13.3f} {min(times_a) / min(times_b):13.3f} "
            f"{1e3 * med_a:13.1f} {1e3 * med_b:13.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
