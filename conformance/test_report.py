"""The conformance report: recording from assert_matches_spec, the run record, merging and the verdict."""

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conformance import report
from conformance.assertions import assert_matches_spec
from conformance.tolerances import Tolerance

pytestmark = pytest.mark.not_in_report  # these tests make comparisons fail on purpose

TOL = Tolerance(rtol=1e-6, atol=1e-8)


def compare(got, want, *, entry="sgd", check="param0", context=None):
    assert_matches_spec(
        got,
        want,
        entry=entry,
        check=check,
        tolerance=TOL,
        context={"dtype": "float32", "device": "cpu"} if context is None else context,
        call="sgd(lr=0.1)",
    )


def test_check_label_is_test_kind_and_check_without_parameter_index():
    assert report.check_label("conformance.test_steps", "param12") == "steps: param"
    assert report.check_label("test_trajectories", "momentum_buffer1") == "trajectories: momentum_buffer"
    assert report.check_label("conformance.test_gradients", "grad[predictions]") == "gradients: grad[predictions]"


def test_comparisons_record_max_abs_rel_error_and_tolerance_used_per_cell():
    with report.recording_into(report.Recorder()) as recorder:
        recorder.begin_test("t::a", "conformance.test_steps")
        compare(np.array([1.0, 2.0 + 1e-6]), np.array([1.0, 2.0]))
        compare(np.array([0.0, 4.0 + 2e-6]), np.array([0.0, 4.0]), check="param1")  # same cell: param*
        compare(np.array([3.0]), np.array([3.0]), check="momentum_buffer0")
    cell = recorder.cells[("sgd", "steps: param", "cpu", "float32")]
    assert (cell.examples, cell.comparisons, cell.elements) == (1, 2, 4)  # one test call = one example
    assert cell.max_abs_error == pytest.approx(2e-6, rel=1e-6)
    assert cell.max_rel_error == pytest.approx(5e-7, rel=1e-6)  # 1e-6 / 2 and 2e-6 / 4
    assert cell.max_tolerance_used == pytest.approx(2e-6 / (1e-8 + 1e-6 * 4), rel=1e-6)
    assert recorder.cells[("sgd", "steps: momentum_buffer", "cpu", "float32")].max_abs_error == 0
    assert recorder.touched["t::a"] == set(recorder.cells)


def test_dtype_and_device_come_from_the_tensor_when_the_context_lacks_them():
    with report.recording_into(report.Recorder()) as recorder:
        recorder.begin_test("t::b", "conformance.test_values")
        compare(torch.tensor([1.0], dtype=torch.float16), np.array([1.0]), entry="mse", check="value", context={})
    assert list(recorder.cells) == [("mse", "values: value", "cpu", "float16")]


def test_a_failing_comparison_records_its_error_and_nan_against_a_number_is_infinite():
    with report.recording_into(report.Recorder()) as recorder:
        recorder.begin_test("t::c", "conformance.test_steps")
        with pytest.raises(AssertionError):
            compare(np.array([1.5]), np.array([1.0]))
        with pytest.raises(AssertionError):
            compare(np.array([np.nan]), np.array([1.0]), check="momentum_buffer0")
    assert recorder.cells[("sgd", "steps: param", "cpu", "float32")].max_abs_error == pytest.approx(0.5)
    assert math.isinf(recorder.cells[("sgd", "steps: momentum_buffer", "cpu", "float32")].max_abs_error)


def test_nothing_is_recorded_outside_a_test():
    with report.recording_into(report.Recorder()) as recorder:
        compare(np.array([1.0]), np.array([1.0]))
        recorder.begin_test("t::d", "m")
        recorder.end_test()
        compare(np.array([1.0]), np.array([1.0]))
    assert recorder.cells == {}


def test_each_test_call_counts_as_one_example_per_cell():
    with report.recording_into(report.Recorder()) as recorder:
        for name in ("t::e", "t::f", "t::g"):
            recorder.begin_test(name, "conformance.test_trajectories")
            for step in range(5):
                compare(np.array([1.0]), np.array([1.0]), check=f"param{step % 2}")
    cell = recorder.cells[("sgd", "trajectories: param", "cpu", "float32")]
    assert (cell.examples, cell.comparisons) == (3, 15)


def _fake_report(nodeid, when, outcome, longrepr=None):
    return SimpleNamespace(
        nodeid=nodeid,
        when=when,
        longrepr=longrepr,
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=outcome == "skipped",
    )


def _plugin_run(tmp_path, *, fail: bool):
    """Drive the plugin's hooks as pytest would: one passing test, one failing (or passing) test, one skip."""
    plugin = report.ReportPlugin(tmp_path / "run.json", torch_version="9.9.9", devices=["cpu"])
    plugin.pytest_sessionstart(None)
    for nodeid, error in (("t.py::ok", 0.0), ("t.py::bad", 0.5 if fail else 0.0)):
        item = SimpleNamespace(nodeid=nodeid, module=SimpleNamespace(__name__="conformance.test_steps"))
        item.get_closest_marker = lambda name: None
        plugin.pytest_runtest_setup(item)
        entry = "sgd" if nodeid.endswith("ok") else "adam"
        try:
            compare(np.array([1.0 + error]), np.array([1.0]), entry=entry)
            outcome, longrepr = "passed", None
        except AssertionError as exc:
            outcome, longrepr = "failed", f"    def test():\nE   AssertionError: {exc}"
        plugin.pytest_runtest_logreport(_fake_report(nodeid, "call", outcome, longrepr))
        plugin.pytest_runtest_logreport(_fake_report(nodeid, "teardown", "passed"))
    skipped = _fake_report("t.py::gpu", "setup", "skipped", ("t.py", 1, "Skipped: no CUDA device"))
    plugin.pytest_runtest_logreport(skipped)
    plugin.pytest_sessionfinish(None, 1 if fail else 0)
    return plugin


def test_plugin_writes_the_run_record_and_its_table(tmp_path):
    plugin = _plugin_run(tmp_path, fail=False)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "passed"
    assert run["torch"] == "9.9.9"
    assert run["tests"] == {"passed": 2, "failed": 0, "skipped": 1, "error": 0}
    assert run["skips"] == {"no CUDA device": 1}
    assert [(c["entry"], c["check"], c["status"]) for c in run["cells"]] == [
        ("adam", "steps: param", "pass"),
        ("sgd", "steps: param", "pass"),
    ]
    markdown = (tmp_path / "run.md").read_text()
    assert "| entry | check | 9.9.9<br>cpu<br>float32 |" in markdown
    assert "| sgd | steps: param | pass 1 ex, abs 0, rel 0, tol 0 |" in markdown
    assert plugin.written == (tmp_path / "run.json", tmp_path / "run.md")


def test_a_failing_test_fails_the_cells_it_touched_and_blocks_the_release(tmp_path):
    _plugin_run(tmp_path, fail=True)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "failed"
    statuses = {c["entry"]: c["status"] for c in run["cells"]}
    assert statuses == {"sgd": "pass", "adam": "fail"}
    assert run["failures"][0]["test"] == "t.py::bad"
    assert run["failures"][0]["message"].startswith("AssertionError: adam: param0[0]=1.5 vs spec 1 ")
    line = report.verdict([run])
    assert line.startswith("conformance FAILED, release blocked: torch 9.9.9, cpu: pytest exit status 1, 1 failed")


def _run(torch_version, device, status="passed", cells=(), reason=None):
    record = report.placeholder_run(torch_version=torch_version, device=device, status=status, reason=reason or "")
    record["reason"] = reason
    record["cells"] = list(cells)
    record["exit_status"] = 0 if status == "passed" else None
    record["tests"]["passed"] = 3 if status == "passed" else 0
    return record


def _cell(entry, dtype, abs_error, status="pass"):
    cell = report.Cell(entry, "steps: param", "cpu", dtype, status=status, examples=2, max_abs_error=abs_error)
    return cell.to_json()


def test_merge_puts_versions_devices_dtypes_in_columns_and_combines_equal_keys(tmp_path):
    paths = []
    runs = [
        _run("2.13.0", "cpu", cells=[_cell("sgd", "float32", 1e-7), _cell("sgd", "float64", 0.0)]),
        _run("2.14.1", "cpu", cells=[_cell("sgd", "float32", 3e-7)]),
        _run("2.14.1", "cpu", cells=[_cell("sgd", "float32", 2e-7)]),  # the same cell again: combined
        _run("2.13.0", "cuda", status="skipped", reason="no CUDA GPU on this machine"),
    ]
    for i, run in enumerate(runs):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(run))
    json_path, md_path, line, passed = report.merge(tmp_path / "out", paths)
    assert passed
    assert line.startswith("conformance PASSED: 3 run(s) on torch 2.13.0, 2.14.1; 9 tests passed, 0 failed; 4/4")
    assert line.endswith("1 matrix cell(s) skipped")
    markdown = md_path.read_text()
    header = "| entry | check | 2.13.0<br>cpu<br>float32 | 2.13.0<br>cpu<br>float64 | 2.14.1<br>cpu<br>float32 |"
    assert header in markdown
    assert "| sgd | steps: param | pass 2 ex, abs 1.0e-07, rel 0, tol 0 | pass 2 ex, abs 0, rel 0, tol 0 " in markdown
    assert "| pass 4 ex, abs 3.0e-07, rel 0, tol 0 |" in markdown  # 2.14.1: examples summed, errors maxed
    assert "torch 2.13.0, cuda: no CUDA GPU on this machine" in markdown
    merged = json.loads(json_path.read_text())
    assert merged["passed"] is True
    assert len(merged["table"]) == 3


@pytest.mark.parametrize(
    ("runs", "problem"),
    [
        ([_run("2.13.0", "cpu", cells=[_cell("sgd", "float32", 1.0, status="fail")])], "sgd / steps: param"),
        ([_run("2.14.1", "cpu", status="error", reason="pip install failed")], "torch 2.14.1, cpu: pip install failed"),
        ([_run("2.13.0", "cuda", status="skipped", reason="no GPU")], "no conformance run executed"),
    ],
    ids=["failing-cell", "run-never-wrote-its-record", "everything-skipped"],
)
def test_release_is_blocked_by_any_failure(runs, problem):
    assert problem in report.blocking_problems(runs)[0]
    assert report.verdict(runs).startswith("conformance FAILED, release blocked: ")


def test_merge_command_prints_path_and_verdict_and_exits_non_zero_on_failure(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_run("2.13.0", "cpu", cells=[_cell("sgd", "float32", 0.0)])))
    bad.write_text(json.dumps(_run("2.14.1", "cpu", status="error", reason="crashed")))
    command = [sys.executable, "-m", "conformance.report", "merge", str(tmp_path / "out")]
    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        f"conformance report: {tmp_path / 'out' / 'report.md'} (JSON: {tmp_path / 'out' / 'report.json'})",
        "conformance PASSED: 1 run(s) on torch 2.13.0; 3 tests passed, 0 failed; 1/1 report cells pass; "
        "0 matrix cell(s) skipped",
    ]
    failed = subprocess.run([*command, str(good), str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[1].startswith("conformance FAILED, release blocked: torch 2.14.1, cpu: crashed")
    empty = subprocess.run(command, capture_output=True, text=True, check=False)
    assert empty.returncode == 1


def test_report_module_imports_nothing_outside_the_standard_library():
    code = "import sys, conformance.report; print(sorted(m for m in ('numpy', 'torch', 'pytest') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_real_run_writes_cells_for_what_it_compared(tmp_path):
    target = tmp_path / "values.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "conformance/test_values.py",
            "-k",
            "float64",
            "-q",
            "--devices=cpu",
            f"--conformance-report={target}",
            "-p",
            "no:randomly",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert "conformance PASSED: 1 run(s)" in result.stdout
    run = json.loads(target.read_text())
    cells = {(c["entry"], c["check"], c["dtype"]): c for c in run["cells"]}
    from conformance.registry import LOSS_INFOS

    expected = {(name, "values: value", "float64") for name, info in LOSS_INFOS.items() if info.generic}
    assert set(cells) == expected  # -k float64: one value cell per entry, not the module test
    value = cells[("mse", "values: value", "float64")]
    assert value["examples"] >= 3 * 3  # three reductions, a few Hypothesis examples each
    assert 0 <= value["max_abs_error"] < 1e-6


def test_the_report_lists_what_each_torch_offered_and_the_kernels_it_ran():
    from conformance.kernel_paths import kernel_paths
    from lossopt import _torch_compat

    run = _run("2.9.1", "cpu")
    run["torch_features"] = {**_torch_compat.describe(), "kernel_paths": kernel_paths()}
    text = report.render_markdown([run])
    line = next(x for x in text.splitlines() if x.startswith("- torch 2.9.1: "))
    math = _torch_compat.cpu_math()
    assert "foreach ops yes" in line
    assert f"F.linear_cross_entropy {'yes' if _torch_compat.linear_cross_entropy() else 'no'}" in line
    assert f"sqrt fingerprint {math['sqrt_fingerprint']}" in line
    assert f"CPU math: {math['cpu_capability']}, MKL" in line
    assert "adamw execute.foreach (fused=True: cpu.adam > torch_fused.torch_fused_adam > execute.foreach)" in line
