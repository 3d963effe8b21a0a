"""Command line: ``python -m lossopt demo``."""

from __future__ import annotations

import argparse
import sys

from lossopt.examples import run_quickstart


def _demo(args: argparse.Namespace) -> int:
    result = run_quickstart(epochs=args.epochs)
    print("lossopt demo: nn.Linear(8, 1), MSELoss, SGD(lr=0.05, momentum=0.9, nesterov=True)")
    for epoch, loss in enumerate(result.losses, start=1):
        if epoch == 1 or epoch % 5 == 0:
            print(f"  epoch {epoch:3d}  mse {loss:.6f}")
    print(f"  |w - w_true| = {result.weight_error:.4f}")
    converged = result.losses[-1] < 0.01 * result.losses[0]
    print("demo: " + ("converged" if converged else "did NOT converge"))
    return 0 if converged else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lossopt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a small model with lossopt's losses and optimizers")
    demo.add_argument("--epochs", type=int, default=30)
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
