"""``python -m lossopt_spec.audit CANDIDATE (--rule RULE | --loss LOSS) [options]``: the command line of the audit.

Prints the report and exits 0 when the candidate conforms, 1 when it diverges, 2 when the audit
could not run (the message says why; never a traceback). ``--json PATH`` also writes the result
as JSON, the error too. Reading the options imports no torch (``--help`` works without it).
The help text (:func:`help_text`) is the command-line reference of docs/auditing.rst.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lossopt_spec.audit.results import AuditError, AuditResult, error_json, failure_text
from lossopt_spec.optim import OPTIMIZERS
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.tolerances import AUDIT_TOLERANCES

HELP_WIDTH = 100  # fixed, so the help reads the same in every terminal and in the documentation


def _epilog() -> str:
    problems = "\n".join(
        f"  {name:<12} {(PROBLEMS[name].__doc__ or '').strip().splitlines()[0]}" for name in sorted(PROBLEMS)
    )
    rules = "\n".join(f"  {name:<12} {', '.join(rule.state_keys) or '-'}" for name, rule in sorted(OPTIMIZERS.items()))
    tolerances = ", ".join(f"{d} rtol={t.rtol:g} atol={t.atol:g}" for d, t in AUDIT_TOLERANCES.items())
    from lossopt_spec.audit.loss_runner import AUDITABLE_LOSSES

    losses = ", ".join(sorted(AUDITABLE_LOSSES))
    return f"""\
exit status:
  0  conforms: every value compared is within the tolerance
  1  diverges: the report names the first divergence (step, group, parameter, tensor, element,
     both values) and a few later ones
  2  the audit could not run: an unknown rule, loss, option or hyperparameter, JSON that is not
     an object, a candidate that does not import, cannot be built with the hyperparameters or
     raises while it runs, --device cuda without a GPU, nothing to run (--problems "" with
     --examples 0); the message says which, and --json gets verdict "error"

problems (--problems, comma-separated; --steps each, then --examples drawn examples):
{problems}

rules (--rule) and the state entries compared after every step (torch.optim's names):
{rules}

losses (--loss; the candidate is called as candidate(predictions, targets, ...)):
  {losses}

state entries: the candidate's optimizer.state[p] is read under the rule's names after every
  step and the next step of the spec starts from it. An entry only the candidate keeps, or one of
  the rule's that the candidate does not keep, is a note, not a divergence; 'step' may be kept per
  parameter group (param_groups[i]['step']) and is compared there. --rename SPEC=CANDIDATE maps a
  hyperparameter or a state entry of the spec to the candidate's name (repeatable); --rename SPEC=-
  says the candidate has no such argument and --candidate-kwargs configure it to match.

hyperparameters: the spec's defaults updated by --config are passed to the candidate under its own
  names wherever its signature takes them; a spec-only extra (warmup_steps, max_grad_norm,
  use_cyclical_lr, cycle_length) is never sent to a candidate that does not take it; a note says
  where the candidate's own default differs from the spec's. --candidate-kwargs go to the
  candidate only (foreach, fused, flags of its own).

default tolerances (--rtol/--atol): {tolerances}
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lossopt_spec.audit",
        description=(
            "Check a torch optimizer against a lossopt_spec update rule (--rule), or a loss function or "
            "nn.Module class against a spec loss (--loss). Needs torch and hypothesis."
        ),
        epilog=_epilog(),
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=HELP_WIDTH),
    )
    parser.add_argument("candidate", help="what to audit, as package.module:Name")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--rule", help="audit an optimizer against this spec rule (list below)")
    kind.add_argument("--loss", help="audit a loss against this spec loss (list below)")
    parser.add_argument("--config", default="{}", help="hyperparameters for both sides, as a JSON object")
    parser.add_argument("--candidate-kwargs", default="{}", help="arguments for the candidate only, as a JSON object")
    parser.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="SPEC=CANDIDATE",
        help="the candidate's name for a spec hyperparameter or state entry (repeatable)",
    )
    parser.add_argument("--problems", default="quadratic,rosenbrock,tiny_mlp", help="comma-separated golden problems")
    parser.add_argument("--steps", type=int, default=50, help="steps per problem (default 50)")
    parser.add_argument("--examples", type=int, default=100, help="Hypothesis-drawn examples (default 100; 0: none)")
    parser.add_argument(
        "--reductions", default="none,mean,sum", help="--loss: the reductions to compare (default none,mean,sum)"
    )
    parser.add_argument(
        "--min-dims", type=int, default=0, help="--loss: draw inputs of at least this many dimensions (default 0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the problems' and Hypothesis' seed (default 0)")
    parser.add_argument("--dtype", default="float64", choices=sorted(AUDIT_TOLERANCES))
    parser.add_argument("--device", default="cpu", help="the candidate's device (default cpu)")
    parser.add_argument("--rtol", type=float, default=None, help="default: the audit's for --dtype (below)")
    parser.add_argument("--atol", type=float, default=None, help="default: the audit's for --dtype (below)")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH ('-': stdout only)")
    return parser


def help_text() -> str:
    """``python -m lossopt_spec.audit --help``, as printed."""
    return build_parser().format_help()


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise AuditError(f"{option}: not JSON ({error}): {text!r}") from error
    if not isinstance(value, dict):
        raise AuditError(f"{option}: expected a JSON object, got {text!r}")
    # JSON has no tuples; torch.optim takes betas=(b1, b2) as a tuple
    return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def _run(args: argparse.Namespace) -> AuditResult:
    from lossopt_spec.audit.candidates import parse_renames

    common: dict[str, Any] = {
        "candidate_kwargs": _json_object(args.candidate_kwargs, "--candidate-kwargs"),
        "rename": parse_renames(args.rename),
        "examples": args.examples,
        "seed": args.seed,
        "dtype": args.dtype,
        "device": args.device,
        "rtol": args.rtol,
        "atol": args.atol,
    }
    config = _json_object(args.config, "--config")
    if args.loss is not None:
        from lossopt_spec.audit.loss_runner import audit_loss

        reductions = [r for r in args.reductions.split(",") if r]
        return audit_loss(args.candidate, args.loss, config, reductions=reductions, min_dims=args.min_dims, **common)
    from lossopt_spec.audit.runner import audit

    problems = [p for p in args.problems.split(",") if p]
    return audit(args.candidate, args.rule, config, problems=problems, steps=args.steps, **common)


def _write_json(path: str | None, document: dict[str, Any]) -> None:
    if path is None:
        return
    text = json.dumps(document, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise AuditError(f"--json {path!r}: cannot write it: {error}") from error


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 conforms, 1 diverges, 2 could not run)."""
    args = build_parser().parse_args(argv)  # a usage error exits 2 here, with argparse's message
    known = {"candidate": args.candidate, "rule": args.rule or args.loss, "kind": "loss" if args.loss else "optimizer"}
    try:
        result = _run(args)
        if args.json != "-":
            print(result.render())
        _write_json(args.json, result.to_json())
    except AuditError as error:
        message = str(error)
    except Exception as error:  # a failure inside the audit itself: still exit 2, with what it was
        message = f"the audit itself failed: {failure_text(error)}"
    else:
        return 0 if result.conforms else 1
    print(f"audit error: {message}", file=sys.stderr)
    try:
        _write_json(args.json, error_json(message, **known))
    except AuditError as error:
        print(f"audit error: {error}", file=sys.stderr)
    return 2
