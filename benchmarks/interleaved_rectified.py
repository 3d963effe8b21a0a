"""Interleaved A/B timing of the 20M-parameter RAdam / AdaBelief cases (robust to a shared machine).

python -m benchmarks.interleaved_rectified [rounds] [substring]   (e.g. 21 fused: only the fused cases)

Each round times one step of lossopt and one of torch's baseline back to back, alternating which
goes first, so both see the same machine load; prints the median of the per-round ratios.
The cases and sizes are those of ``benchmarks/test_bench_rectified.py``.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from benchmarks.test_bench_rectified import CASES, make_params


def _timed_step(optimizer: torch.optim.Optimizer) -> float:
    start = time.perf_counter()
    optimizer.step()
    return time.perf_counter() - start


def main(rounds: int = 15, only: str = "") -> int:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {rounds} interleaved rounds")
    for group, (ours, our_kwargs, theirs, their_kwargs) in sorted(CASES.items()):
        if only not in group:
            continue
        mine = ours(make_params("cpu"), lr=1e-3, **our_kwargs)
        base = theirs(make_params("cpu"), lr=1e-3, **their_kwargs)
        first = _timed_step(mine)
        base.step()
        for _ in range(6):
            mine.step()
            base.step()
        ratios, my_times, base_times = [], [], []
        for r in range(rounds):
            if r % 2:
                b, m = _timed_step(base), _timed_step(mine)
            else:
                m, b = _timed_step(mine), _timed_step(base)
            ratios.append(m / b)
            my_times.append(m)
            base_times.append(b)
        print(
            f"{group:30s} ratio {statistics.median(ratios):6.3f}  lossopt {1e3 * statistics.median(my_times):8.1f} ms"
            f"  torch {1e3 * statistics.median(base_times):8.1f} ms  (first lossopt step {first:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15, sys.argv[2] if len(sys.argv) > 2 else ""))
