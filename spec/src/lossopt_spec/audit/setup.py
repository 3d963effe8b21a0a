"""Checks before an audit runs: something to run, a known dtype, a device torch can use; the tolerance.

Each failure is an :class:`~lossopt_spec.audit.results.AuditError` naming the option, the value
and what is allowed, so the command line exits 2 with that message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lossopt_spec.audit.results import AuditError
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.tolerances import Tolerance


def check_device(device: str) -> None:
    """The device exists for this torch: ``--device cuda`` on a machine without a GPU is refused."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise AuditError(f"--device {device!r}: not a torch device ({error}); use 'cpu', 'cuda' or 'cuda:N'") from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise AuditError(
            f"--device {device!r}: torch {torch.__version__} sees no CUDA device here "
            "(torch.cuda.is_available() is False); audit on 'cpu', or where a GPU is present"
        )
    try:
        torch.zeros(1, device=parsed)
    except (RuntimeError, AssertionError) as error:
        raise AuditError(f"--device {device!r}: torch cannot allocate there: {error}") from error


def check_run(problems: Sequence[str], steps: int, examples: int, dtype: str, device: str) -> None:
    """Problems known, counts not negative, something to run, the dtype in the table, the device usable."""
    from lossopt_spec.tolerances import AUDIT_TOLERANCES

    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        raise AuditError(f"unknown problem(s) {unknown}; known: {sorted(PROBLEMS)}")
    if steps < 1 and problems:
        raise AuditError(f"--steps {steps}: must be at least 1")
    if examples < 0:
        raise AuditError(f"--examples {examples}: must be 0 or more")
    if not problems and examples == 0:
        raise AuditError("nothing to audit: no problem (--problems is empty) and no drawn example (--examples 0)")
    check_dtype_and_device(dtype, device, AUDIT_TOLERANCES)


def check_dtype_and_device(dtype: str, device: str, table: Mapping[str, Tolerance]) -> None:
    if dtype not in table:
        raise AuditError(f"dtype {dtype!r}: use one of {sorted(table)}")
    check_device(device)


def tolerance_for(dtype: str, rtol: float | None, atol: float | None, table: Mapping[str, Tolerance]) -> Tolerance:
    """``--rtol`` / ``--atol`` where given, else the table's audit column for ``dtype``."""
    default = table[dtype]
    for name, value in (("--rtol", rtol), ("--atol", atol)):
        if value is not None and not value >= 0:
            raise AuditError(f"{name} {value!r}: must be 0 or more")
    return Tolerance(default.rtol if rtol is None else rtol, default.atol if atol is None else atol)
