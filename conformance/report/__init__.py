"""The conformance report: what every comparison with the spec measured, per run and merged.

Every call of :func:`conformance.assertions.assert_matches_spec` made inside a test is recorded in
a *cell* keyed by (entry, check, device, dtype): how many examples reached it, how many elements
were compared, and the largest absolute and relative error against the spec. A cell fails when a
test that touched it fails. ``check`` is the kind of test (the test module's name without
``test_``) and the compared quantity without its parameter index: ``steps: param`` holds
``param0``, ``param1``, ... of every single-step test.

A pytest run of the conformance suite writes one run record (JSON) and its Markdown table, by
default to ``reports/conformance/torch-<version>-<devices>.{json,md}`` under the rootdir
(``--conformance-report=PATH.json`` to choose, ``--conformance-report=none`` to write nothing).
``nox -s conformance`` writes one record per (torch, device) cell of the matrix and merges them::

    python -m conformance.report merge OUT_DIR RUN.json [RUN.json ...]

which writes ``OUT_DIR/report.json`` and ``OUT_DIR/report.md`` (rows: entry and check; columns:
torch version, device, dtype), prints where they are and a one-line verdict, and exits non-zero
when anything failed: a failing cell, a failing test, a run that ended badly or never wrote its
record. A run skipped for a reason (a CUDA cell with no GPU) is listed with the reason and blocks
nothing.

The package uses only the standard library (the merge step runs outside any test environment).
Its modules, by role: :mod:`~conformance.report.recording` (cells while tests run),
:mod:`~conformance.report.runs` (run records, and the placeholder nox writes for a cell that
runs no pytest), :mod:`~conformance.report.merging` (table, verdict, Markdown),
:mod:`~conformance.report.plugin` (:class:`ReportPlugin`, registered by ``conformance/conftest.py``;
tests marked ``not_in_report``, the harness's own tests, which make comparisons fail on purpose,
are not recorded) and :mod:`~conformance.report.cli` (the command above).
"""

from conformance.report.cli import main
from conformance.report.merging import blocking_problems, merge, merged_cells, render_markdown, verdict
from conformance.report.plugin import ReportPlugin, write_run
from conformance.report.recording import Cell, Recorder, check_label, record, recording_into
from conformance.report.runs import SCHEMA, load_runs, new_run, placeholder_run, write_record

__all__ = [
    "SCHEMA",
    "Cell",
    "Recorder",
    "ReportPlugin",
    "blocking_problems",
    "check_label",
    "load_runs",
    "main",
    "merge",
    "merged_cells",
    "new_run",
    "placeholder_run",
    "record",
    "recording_into",
    "render_markdown",
    "verdict",
    "write_record",
    "write_run",
]
