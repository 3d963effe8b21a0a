"""The audit's text report: the setup, one line per phase, the notes, the verdict.

A conforming phase shows its largest error as the fraction of the tolerance it used, with that
element's absolute and relative error and where it was; a diverging one its first divergence.
The verdict line comes last: ``conforms: ...`` or ``DIVERGES: ...``, followed by the later
divergences found.
"""

from __future__ import annotations

from lossopt_spec.audit.results import AuditResult, LargestError

SHOWN_LATER = 3  # later divergences in the text; --json has every one kept


def largest_text(largest: LargestError) -> str:
    """``0.3% of the tolerance (abs 1.1e-16, rel 2.2e-16 at step 4, group 0, parameter 1, exp_avg[2])``."""
    if not largest.where:
        return "no error"
    rel = f", rel {largest.rel_error:.1e}" if largest.rel_error is not None else ""
    fraction = f"{largest.fraction:.1%}" if largest.fraction >= 1e-3 else f"{largest.fraction * 100:.0e}%"
    return f"{fraction} of the tolerance (abs {largest.abs_error:.1e}{rel} at {largest.where})"


def render(result: AuditResult) -> str:
    against = "loss" if result.kind == "loss" else "rule"
    lines = [
        f"audit: {result.candidate} against the spec {against} {result.rule!r}",
        "  spec hyperparameters: " + (", ".join(f"{k}={v!r}" for k, v in result.hparams.items()) or "-"),
        "  passed to the candidate: "
        + (", ".join(f"{k}={v!r}" for k, v in {**result.passed, **result.candidate_kwargs}.items()) or "-"),
        f"  {result.dtype} on {result.device}; tolerance {result.tolerance}"
        + (
            "; lock-step (each step starts the spec from the candidate's parameters and state)"
            if against == "rule"
            else ""
        ),
    ]
    for phase in result.phases:
        size = f"{phase.examples} examples, {phase.steps} steps" if phase.examples else f"{phase.steps} steps"
        if against == "loss":
            size = f"{phase.examples} examples, {phase.steps} calls"
        if phase.divergences:
            status = f"DIVERGES at {phase.divergences[0].describe(result.tolerance)}"
        else:
            status = f"conforms  largest error {largest_text(phase.largest)}"
        lines.append(f"  {phase.name:<11} {size:<26} {status}" + (f" ({phase.note})" if phase.note else ""))
    lines += [f"  note: {note}" for note in result.notes]
    first = result.first_divergence
    if first is None:
        lines.append(f"conforms: largest error {largest_text(result.largest)}")
        return "\n".join(lines)
    if result.precision:
        lines.append(
            f"  precision: the candidate computes in {result.precision}, lower than the {result.dtype} asked "
            "(see the divergence's detail)"
        )
    lines.append(f"DIVERGES: first on {first.phase} at {first.describe(result.tolerance)}")
    later = result.divergences[1:]
    for divergence in later[:SHOWN_LATER]:
        lines.append(f"  then on {divergence.phase} at {divergence.describe(result.tolerance)}")
    if len(later) > SHOWN_LATER:
        lines.append(f"  ... and {len(later) - SHOWN_LATER} more (--json lists them)")
    return "\n".join(lines)
