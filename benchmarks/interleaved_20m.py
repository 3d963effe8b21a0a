"""The 20M-parameter cases of ``test_bench_optim_20m.py``, timed A/B interleaved: robust on a shared machine.

pytest-benchmark times one side after the other, so a load change between them (other jobs on a small
shared CPU) lands in the ratio. Here every round times the lossopt step and the torch step back to back
(in alternating order) on their own copies of the same tensors, and the ratio reported is the median of
the per-round ratios, next to the ratio of the medians and of the minima.

    python benchmarks/interleaved_20m.py [--rounds 15] [--layouts 200,2000] [--cases lion-foreach,adopt-fused]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.test_bench_optim_20m import CASES, TOTAL, _params


def _time(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _copy_step(n_tensors: int):
    source = [p.detach() for p in _params(n_tensors, "cpu")]
    target = [torch.empty_like(p) for p in source]
    return lambda: torch._foreach_copy_(target, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--layouts", default="200,2000")
    parser.add_argument("--cases", default="", help="comma-separated case stems (default: every case)")
    args = parser.parse_args(argv)
    stems = set(args.cases.split(",")) - {""} or set(CASES)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {TOTAL / 1e6:.0f}M float32 parameters")
    print(
        f"{'case':42s} {'median(ratio)':>13s} {'ratio(med)':>10s} {'ratio(min)':>10s} {'lossopt ms':>10s} "
        f"{'torch ms':>9s} {'GB/s':>6s} {'copy GB/s':>9s}"
    )
    for n_tensors in [int(n) for n in args.layouts.split(",")]:
        copy = _copy_step(n_tensors)
        copy()
        for stem, (ours, theirs, bytes_per_param) in sorted((k, v) for k, v in CASES.items() if k in stems):
            step_a, step_b = ours(_params(n_tensors, "cpu")), theirs(_params(n_tensors, "cpu"))
            step_a(), step_b(), copy()
            times_a, times_b, times_copy = [], [], []
            for r in range(args.rounds):
                if r % 2:
                    times_b.append(_time(step_b))
                    times_a.append(_time(step_a))
                else:
                    times_a.append(_time(step_a))
                    times_b.append(_time(step_b))
                times_copy.append(_time(copy))
            ratios = [a / b for a, b in zip(times_a, times_b, strict=True)]
            med_a, med_b = statistics.median(times_a), statistics.median(times_b)
            copy_gbs = 8 * TOTAL / statistics.median(times_copy) / 1e9
            print(
                f"{stem + '-' + str(n_tensors):42s} {statistics.median(ratios):13.3f} {med_a / med_b:10.3f} "
                f"{min(times_a) / min(times_b):10.3f} {1e3 * med_a:10.1f} {1e3 * med_b:9.1f} "
                f"{bytes_per_param * TOTAL / med_a / 1e9:6.1f} {copy_gbs:9.1f}"
            )
            del step_a, step_b
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
