"""The audit tool lives in the spec but imports torch only when an audit runs."""

import subprocess
import sys


def test_importing_the_spec_and_its_audit_module_does_not_import_torch():
    code = "import sys, lossopt_spec, lossopt_spec.audit; print('torch' in sys.modules, 'hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_audit_help_runs_without_torch_imported():
    out = subprocess.run(
        [sys.executable, "-m", "lossopt_spec.audit", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "python -m lossopt_spec.audit" in out
    assert "--rule" in out
