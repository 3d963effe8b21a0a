"""Command line: ``python -m lossopt`` (or the ``lossopt`` console script).

    lossopt demo [--output DIR]            training examples + both comparisons -> a report folder
    lossopt compare-optimizers [...]       every registered optimizer on the example problems
    lossopt compare-losses [...]           regression losses, focal vs cross-entropy, robust fits
    lossopt list                           the registered losses and optimizers

Every subcommand takes ``--seed`` (deterministic given it), ``--device``, ``--threads``;
progress bars (tqdm) show on a terminal only, or as ``--progress`` / ``--no-progress`` say.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lossopt.factory import LOSSES, OPTIMIZERS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _device(text: str) -> str:
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a torch device: {text!r} (try cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"device {text!r} requested but torch sees no CUDA device")
    return text


def _common(parser: argparse.ArgumentParser, *, output: str | None) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of data and initial weights (default 0)")
    parser.add_argument("--device", type=_device, default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads", type=_positive_int, default=1, help="torch CPU threads (default 1: small models run fastest)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars (default: only when stderr is a terminal)",
    )
    if output is not None:
        parser.add_argument("--output", "-o", type=Path, default=Path(output), help=f"report folder (default {output})")
        parser.add_argument("--no-plots", action="store_true", help="write the summary only (no matplotlib needed)")


def _plots_wanted(args: argparse.Namespace) -> bool:
    from lossopt.examples.demo import plots_available

    if args.no_plots:
        return False
    if not plots_available():
        print("lossopt: plots need matplotlib: pip install 'lossopt[plots]' (or pass --no-plots)", file=sys.stderr)
        raise SystemExit(2)
    return True


def _write_plots(result: Any, args: argparse.Namespace) -> None:
    """``result.plot(args.output)``, naming each file written, unless ``--no-plots``."""
    if _plots_wanted(args):
        for path in result.plot(args.output):
            print(f"wrote {path}")


def _demo(args: argparse.Namespace) -> int:
    from lossopt.examples.demo import run_demo

    plots = _plots_wanted(args)
    start = time.perf_counter()
    report = run_demo(
        args.output,
        steps=args.steps,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        plots=plots,
        show_progress=args.progress,
    )
    print(report.summary.read_text(encoding="utf-8"))
    print(f"lossopt demo: wrote {report.summary} and {len(report.plots)} plots in {time.perf_counter() - start:.1f} s")
    print(f"report folder: {report.folder.resolve()}")
    print("demo: " + ("every run decreased its training loss" if report.all_decreased else "some run did NOT decrease"))
    return 0 if report.all_decreased else 1


def _compare_optimizers(args: argparse.Namespace) -> int:
    from lossopt.examples.analysis import LossOptimizationAnalysis

    result = LossOptimizationAnalysis.compare_optimizers(
        steps=args.steps, seed=args.seed, device=args.device, problems=tuple(args.problems), show_progress=args.progress
    )
    for problem in result.problems:
        print(f"{problem} (loss {result.loss_names[problem]}):")
        for run in result.on(problem):
            reached = run.steps_to(result.target_fraction * run.initial)
            print(
                f"  {run.label:52s} {run.initial:10.4g} -> {run.final:10.4g}  "
                f"steps to {result.target_fraction:g}x: {'-' if reached is None else reached}"
            )
        print(f"  fastest: {result.fastest(problem)}")
    for line in result.missing:
        print(f"not in this build: {line}")
    _write_plots(result, args)
    return 0 if result.all_decreased() else 1


def _compare_losses(args: argparse.Namespace) -> int:
    from lossopt.examples.analysis import LossOptimizationAnalysis

    result = LossOptimizationAnalysis.compare_loss_functions(fit_steps=args.steps, seed=args.seed)
    print(f"line fit under 10% outliers (truth slope {result.true_line[0]:g}, intercept {result.true_line[1]:g}):")
    for label, (slope, intercept) in result.robust_fit.items():
        print(f"  {label:20s} slope {slope:7.3f}  intercept {intercept:7.3f}  distance {result.fit_error(label):.3f}")
    for name in result.missing:
        print(f"not in this build: loss {name!r}")
    _write_plots(result, args)
    return 0


def _list(args: argparse.Namespace) -> int:
    print("losses:     " + ", ".join(sorted(LOSSES)))
    print("optimizers: " + ", ".join(sorted(OPTIMIZERS)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``lossopt`` argument parser."""
    from lossopt.examples.problems import PROBLEMS

    parser = argparse.ArgumentParser(
        prog="lossopt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="training examples + both comparisons, written to a report folder")
    _common(demo, output="reports/demo")
    demo.add_argument("--steps", type=_positive_int, default=1200, help="optimizer comparison steps (default 1200)")
    demo.add_argument("--epochs", type=_positive_int, default=15, help="training example epochs (default 15)")
    demo.set_defaults(run=_demo)

    compare = commands.add_parser("compare-optimizers", help="every registered optimizer on the example problems")
    _common(compare, output="reports/compare-optimizers")
    compare.add_argument("--steps", type=_positive_int, default=300, help="full-batch steps per run (default 300)")
    compare.add_argument(
        "--problems", nargs="+", choices=sorted(PROBLEMS), default=list(PROBLEMS), help="problems (default all)"
    )
    compare.set_defaults(run=_compare_optimizers)

    losses = commands.add_parser("compare-losses", help="regression losses, focal vs cross-entropy, robust fits")
    _common(losses, output="reports/compare-losses")
    losses.add_argument("--steps", type=_positive_int, default=400, help="steps of each robust line fit (default 400)")
    losses.set_defaults(run=_compare_losses)

    listing = commands.add_parser("list", help="the registered losses and optimizers")
    listing.set_defaults(run=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
