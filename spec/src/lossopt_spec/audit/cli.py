"""``python -m lossopt_spec.audit CANDIDATE --rule RULE [options]``: the command line of the audit.

Prints the report and exits 0 when the candidate conforms, 1 when it diverges, 2 when the audit
could not run. Reading the options imports no torch (``--help`` works without it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from lossopt_spec.audit.results import AuditError
from lossopt_spec.audit.runner import audit
from lossopt_spec.optim import OPTIMIZERS
from lossopt_spec.tolerances import DEFAULT_TOLERANCES


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise AuditError(f"{option}: not JSON ({error}): {text!r}") from error
    if not isinstance(value, dict):
        raise AuditError(f"{option}: expected a JSON object, got {text!r}")
    # JSON has no tuples; torch.optim takes betas=(b1, b2) as a tuple
    return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lossopt_spec.audit",
        description="Check a torch optimizer against a lossopt_spec update rule (needs torch and hypothesis).",
    )
    parser.add_argument("candidate", help="the optimizer to audit, as package.module:ClassName")
    parser.add_argument("--rule", required=True, help=f"the spec rule (one of: {', '.join(sorted(OPTIMIZERS))})")
    parser.add_argument("--config", default="{}", help="hyperparameters for both sides, as a JSON object")
    parser.add_argument("--candidate-kwargs", default="{}", help="constructor arguments for the candidate only (JSON)")
    parser.add_argument("--problems", default="quadratic,rosenbrock,tiny_mlp", help="comma-separated golden problems")
    parser.add_argument("--steps", type=int, default=50, help="steps per problem (default 50)")
    parser.add_argument("--examples", type=int, default=100, help="Hypothesis examples (default 100; 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=sorted(DEFAULT_TOLERANCES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rtol", type=float, default=None, help="default: the conformance suite's for --dtype")
    parser.add_argument("--atol", type=float, default=None, help="default: the conformance suite's for --dtype")
    args = parser.parse_args(argv)
    try:
        result = audit(
            args.candidate,
            args.rule,
            _json_object(args.config, "--config"),
            candidate_kwargs=_json_object(args.candidate_kwargs, "--candidate-kwargs"),
            problems=[p for p in args.problems.split(",") if p],
            steps=args.steps,
            examples=args.examples,
            seed=args.seed,
            dtype=args.dtype,
            device=args.device,
            rtol=args.rtol,
            atol=args.atol,
        )
    except AuditError as error:
        print(f"audit error: {error}", file=sys.stderr)
        return 2
    print(result.render())
    return 0 if result.conforms else 1
