"""Peak extra memory and time of lossopt's linear cross-entropy against the unfused reference.

python -m benchmarks.linear_cross_entropy_memory [--rounds R] [--tokens N] [--dim D] [--classes V] [--dtype float32]
    [--device cpu|cuda]

Variants, each forward + backward of the mean loss with gradients for the input and the weight:

- ``reference``: ``F.cross_entropy(input @ W.T, target)``, the N x V logits materialised;
- ``lossopt``: ``lossopt.functional.linear_cross_entropy_loss``;
- ``torch_chunked``: ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``, torch's own
  chunked path, on the torch versions that have it (2.13 and later).

Memory: each variant runs in a process of its own; its peak extra memory is the peak resident set
(``ru_maxrss``) minus the resident set once the inputs are allocated (after a small warm-up call that
loads the kernels), so it counts everything the loss allocates, the gradients included. On CUDA:
the caching allocator's peak minus what is allocated once the inputs are.
Time: one process runs the variants in turns, alternating the order each round so that all see the
same load on a shared machine; the ratio reported is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from torch.nn import functional

from lossopt.functional import linear_cross_entropy_loss

Inputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def make_inputs(tokens: int, dim: int, classes: int, dtype: torch.dtype, device: str = "cpu") -> Inputs:
    """Hidden states and a weight of unit-variance logits (both requiring grad), and uniform targets."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(tokens, dim, generator=generator).to(device, dtype).requires_grad_()
    w = (torch.randn(classes, dim, generator=generator) / dim**0.5).to(device, dtype).requires_grad_()
    return x, w, torch.randint(0, classes, (tokens,), generator=generator).to(device)


def reference(x: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return functional.cross_entropy(x @ w.T, t)


def lossopt(x: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return linear_cross_entropy_loss(x, w, t)


def torch_chunked(x: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    fused = functional.linear_cross_entropy  # type: ignore[attr-defined]
    return fused(x, w, t, options=torch.nn.LinearCrossEntropyOptions())  # type: ignore[attr-defined]


VARIANTS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "reference": reference,
    "lossopt": lossopt,
}
if hasattr(functional, "linear_cross_entropy") and hasattr(torch.nn, "LinearCrossEntropyOptions"):
    VARIANTS["torch_chunked"] = torch_chunked


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def step(fn: Callable[..., torch.Tensor], inputs: Inputs) -> None:
    x, w, _ = inputs
    x.grad = w.grad = None
    fn(*inputs).backward()
    if x.is_cuda:
        torch.cuda.synchronize()


def child(variant: str, tokens: int, dim: int, classes: int, dtype: str, device: str = "cpu") -> None:
    """Print {"baseline": bytes, "peak": bytes} for one forward + backward of ``variant``."""
    fn = VARIANTS[variant]
    step(fn, make_inputs(64, 16, 128, getattr(torch, dtype), device))  # load kernels and thread pools
    inputs = make_inputs(tokens, dim, classes, getattr(torch, dtype), device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        step(fn, inputs)
        print(json.dumps({"baseline": baseline, "peak": torch.cuda.max_memory_allocated()}))
        return
    baseline = _rss_bytes()
    step(fn, inputs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"baseline": baseline, "peak": max(peak, baseline)}))


def peak_extra(variant: str, args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "benchmarks.linear_cross_entropy_memory", "--child", variant]
    command += ["--tokens", str(args.tokens), "--dim", str(args.dim), "--classes", str(args.classes)]
    command += ["--dtype", args.dtype, "--device", getattr(args, "device", "cpu")]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    return int(result["peak"] - result["baseline"])


def interleaved_times(args: argparse.Namespace) -> dict[str, list[float]]:
    inputs = make_inputs(args.tokens, args.dim, args.classes, getattr(torch, args.dtype), args.device)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for fn in VARIANTS.values():
        step(fn, inputs)  # warm-up
    for r in range(args.rounds):
        order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for name in order:
            start = time.perf_counter()
            step(VARIANTS[name], inputs)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8192)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=32768)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--child", choices=sorted(VARIANTS))
    parser.add_argument("--no-time", action="store_true", help="measure memory only")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tokens, args.dim, args.classes, args.dtype, args.device)
        return 0
    print(
        f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads; N={args.tokens} D={args.dim} "
        f"V={args.classes} {args.dtype}; logits would be {args.tokens * args.classes * 4 / 2**20:.0f} MiB in float32"
    )
    memory = {name: peak_extra(name, args) for name in VARIANTS}
    for name, extra in memory.items():
        ratio = extra / memory["reference"]
        print(f"peak extra memory {name:14s} {extra / 2**20:9.1f} MiB  ratio to reference {ratio:.3f}")
    if "torch_chunked" in memory:
        print(f"lossopt / torch_chunked memory ratio {memory['lossopt'] / memory['torch_chunked']:.3f}")
    if args.no_time:
        return 0
    times = interleaved_times(args)
    for name, values in times.items():
        ratios = [mine / base for mine, base in zip(values, times["reference"], strict=True)]
        print(
            f"time {name:14s} median {statistics.median(values):7.3f} s  "
            f"median per-round ratio to reference {statistics.median(ratios):.3f} ({args.rounds} rounds)"
        )
    if "torch_chunked" in times:
        ratios = [m / b for m, b in zip(times["lossopt"], times["torch_chunked"], strict=True)]
        print(f"time lossopt / torch_chunked median per-round ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
