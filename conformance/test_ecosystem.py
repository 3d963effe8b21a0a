"""The ecosystem audit's data and runner (conformance/ecosystem): the table's rows, readings and pins.

The packages themselves are installed only by ``nox -s audit_ecosystem``; the tests that audit one
skip, with the reason, where it is absent.
"""

import importlib.util
import tomllib
from pathlib import Path

import pytest

import lossopt_spec
from conformance.ecosystem import run
from conformance.ecosystem.table import READING_KINDS, markdown

ROOT = Path(__file__).resolve().parent.parent
DATA = tomllib.loads(run.CANDIDATES.read_text(encoding="utf-8"))
ENTRIES = [*DATA["optimizer"], *DATA["loss"]]


def _noxfile_pins() -> dict[str, str]:
    namespace: dict[str, object] = {}
    text = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    start = text.index("ECOSYSTEM_TORCH = ")
    exec(text[start : text.index("]", text.index("ECOSYSTEM_PACKAGES = ")) + 1], namespace)  # two list literals
    pins = [*namespace["ECOSYSTEM_TORCH"], *namespace["ECOSYSTEM_PACKAGES"]]  # type: ignore[misc]
    return dict(pin.split("==") for pin in pins)


def test_every_package_is_pinned_exactly_in_the_noxfile():
    pins = _noxfile_pins()
    for entry in ENTRIES:
        assert entry["package"] in {*pins, "lossopt"}, entry["implementation"]


def test_entries_name_known_configurations_and_readings_with_sources():
    for entry in ENTRIES:
        name = entry.get("rule") or entry.get("loss")
        for config in entry.get("configs", ["defaults"]):
            assert config in DATA["configs"].get(name, {}), (entry["implementation"], config)
        for config, reading in entry.get("readings", {}).items():
            assert config in entry.get("configs", ["defaults"]), (entry["implementation"], config)
            assert reading["kind"] in READING_KINDS, reading
            path, _, line = reading["source"].rpartition(":")
            assert path.endswith(".py"), reading["source"]
            assert line.isdigit(), reading["source"]


def test_the_candidate_list_includes_the_rules_that_are_coming():
    coming = {"muon", "lion", "adopt", "schedule_free_adamw", "schedule_free_sgd"}
    listed = {entry.get("rule") for entry in DATA["optimizer"]}
    assert coming <= listed
    targets = {entry["target"] for entry in DATA["optimizer"]}
    assert {"torch.optim:Muon", "schedulefree:AdamWScheduleFree", "lion_pytorch:Lion", "adopt:ADOPT"} <= targets


def test_a_rule_not_in_this_build_is_listed_not_run():
    entry = {"implementation": "torch.optim.SGD", "package": "torch", "target": "torch.optim:SGD", "rule": "nesgd"}
    (row,) = run.run_entry(entry, {}, examples=0)
    assert (row["verdict"], row["why"]) == ("not run", "rule not in this build")
    missing = {**entry, "package": "no-such-distribution", "rule": "sgd"}
    assert run.run_entry(missing, {}, examples=0)[0]["why"] == "package 'no-such-distribution' not installed"


def test_a_row_is_audited_at_the_candidates_own_defaults_and_tabled():
    entry = {"implementation": "torch.optim.RAdam", "package": "torch", "target": "torch.optim:RAdam", "rule": "radam"}
    (row,) = run.run_entry(entry, {"defaults": {}}, examples=10)
    assert row["verdict"] == "conforms", row
    assert row["audit"]["first_divergence"] is None
    table = markdown([row], {"date": "today", "torch": "x", "python": "3", "examples_per_audit": 10, "wall_seconds": 1})
    assert "| `torch.optim.RAdam` | torch " in table
    assert "| conforms |" in table


@pytest.mark.skipif(
    importlib.util.find_spec("pytorch_optimizer") is None,
    reason="pytorch_optimizer is installed by `nox -s audit_ecosystem` only",
)
def test_pytorch_optimizer_conforms_past_its_per_group_step_and_its_radam_l2_bug_is_found():
    entries = {e["implementation"]: e for e in DATA["optimizer"]}
    rows = run.run_entry(entries["pytorch_optimizer.AdaBelief"], DATA["configs"]["adabelief"], examples=30)
    assert {r["verdict"] for r in rows} == {"conforms"}, [r["audit"]["first_divergence"] for r in rows]
    radam = {
        r["config_name"]: r for r in run.run_entry(entries["pytorch_optimizer.RAdam"], DATA["configs"]["radam"], 30)
    }
    first = radam["l2"]["audit"]["first_divergence"]
    assert (first["step"], first["tensor"]) == (1, "exp_avg")  # the L2 term never reaches the moments
    assert radam["l2"]["reading"]["kind"] == "bug"


def test_the_docs_copy_of_the_table_is_the_one_published():
    page = (ROOT / "docs" / "ecosystem_audit.rst").read_text(encoding="utf-8")
    assert "nox -s audit_ecosystem" in page
    assert "docs/ecosystem_audit.md" in page
    table = (ROOT / "docs" / "ecosystem_audit.md").read_text(encoding="utf-8")
    assert "| `torch.optim.AdamW` |" in table
    assert "rule not in this build" in table
    assert "**bug**" in table
    assert set(lossopt_spec.OPTIMIZERS) <= {e["rule"] for e in DATA["optimizer"]}
