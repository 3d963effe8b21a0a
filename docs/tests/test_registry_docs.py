"""Every registry entry has its API page and its "differences" table; the generators say so by name."""

from __future__ import annotations

from pathlib import Path

import pytest

import lossopt
import lossopt_spec
from docs import check_build, generate
from docs.generate import common, difference_tables, equations, reference, reports
from docs.generate.difference_tables import Difference, EntryDifferences


def test_every_registered_entry_has_an_api_page_and_a_differences_table():
    problems = difference_tables.documentation_problems(
        common.registered_names(), difference_tables.load_differences(), reference.api_pages()
    )
    assert not problems, "\n".join(problems)


def test_registered_names_are_both_registries():
    names = common.registered_names()
    assert set(lossopt.LOSSES) | set(lossopt_spec.LOSSES) == set(names["losses"])
    assert set(lossopt.OPTIMIZERS) | set(lossopt_spec.OPTIMIZERS) == set(names["optimizers"])


def _row(**overrides: str) -> Difference:
    fields = {
        "against": "torch",
        "lossopt": "a",
        "other": "b",
        "test": "docs/tests/test_registry_docs.py::test_a_page_that_documents_nothing_is_a_problem",
    }
    return Difference(**{**fields, **overrides})


def test_problems_name_the_entry_missing_its_page_and_its_table():
    pages = {"reference/losses/mse.rst": "x\n.. autofunction:: f\n"}
    differences = {"mse": EntryDifferences("mse", "", (_row(test="docs/tests/test_registry_docs.py::_row"),))}
    problems = difference_tables.documentation_problems({"losses": ["mse", "tversky"]}, differences, pages)
    assert problems == [
        "loss 'tversky' has no API page (reference/losses/tversky.rst)",
        "loss 'tversky' has no table in docs/differences.toml (add [tversky] with rows)",
    ]


def test_problems_name_a_bad_row_its_field_and_its_missing_test():
    pages = {"reference/optimizers/sgd.rst": "x\n.. autoclass:: C\n"}
    rows = (
        _row(against="numpy"),
        _row(other=""),
        _row(test="docs/tests/test_registry_docs.py::test_that_does_not_exist"),
        _row(test="docs/tests/no_such_file.py::test_x"),
        _row(test="a test somewhere"),
    )
    problems = difference_tables.documentation_problems(
        {"optimizers": ["sgd"]}, {"sgd": EntryDifferences("sgd", "", rows)}, pages
    )
    assert len(problems) == 5, problems
    assert "row 0 (numpy): unknown 'against' 'numpy'" in problems[0]
    assert "row 1 (torch): empty field(s) ['other']" in problems[1]
    assert "has no test function 'test_that_does_not_exist'" in problems[2]
    assert "docs/tests/no_such_file.py does not exist" in problems[3]
    assert "is not of the form path/to/test_file.py::test_name" in problems[4]


def test_a_page_that_documents_nothing_is_a_problem():
    problems = difference_tables.documentation_problems(
        {"losses": ["mse"]}, difference_tables.load_differences(), {"reference/losses/mse.rst": "mse\n===\n"}
    )
    assert problems == ["loss 'mse': its API page documents no object from lossopt or lossopt_spec"]


def test_every_row_of_every_table_is_well_formed_even_before_its_entry_lands():
    problems = []
    for name, table in difference_tables.load_differences().items():
        assert table.rows, f"[{name}] has no rows"
        for index, row in enumerate(table.rows):
            if row.against not in difference_tables.AGAINST:
                problems.append(f"{name} row {index}: unknown against {row.against!r}")
            problems += [
                f"{name} row {index}: empty {key}" for key in difference_tables.ROW_FIELDS if not getattr(row, key)
            ]
            if "::" not in row.test:
                problems.append(f"{name} row {index}: test {row.test!r} is not path::name")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(lossopt.LOSSES))
def test_loss_page_pairs_the_spec_functions_with_the_torch_function_and_module(name):
    page = reference.loss_page(name)
    spec = lossopt_spec.LOSSES[name]
    assert f".. autofunction:: {spec.value.__module__}.{spec.value.__qualname__}\n" in page
    assert f".. autofunction:: {spec.grad.__module__}.{spec.grad.__qualname__}\n" in page
    module = lossopt.LOSSES[name]
    assert f".. autoclass:: {module.__module__}.{module.__qualname__}\n" in page
    functional = getattr(lossopt.functional, spec.value.__name__)
    assert f".. autofunction:: {functional.__module__}.{functional.__qualname__}\n" in page
    assert f":ref:`differences-{name}`" in page


@pytest.mark.parametrize("name", sorted(lossopt.OPTIMIZERS))
def test_optimizer_page_pairs_the_spec_rule_with_the_torch_class(name):
    page = reference.optimizer_page(name)
    rule = lossopt_spec.OPTIMIZERS[name]
    assert f".. automodule:: {rule.update.__module__}\n" in page
    assert f".. autofunction:: {rule.update.__module__}.{rule.update.__qualname__}\n" in page
    cls = lossopt.OPTIMIZERS[name]
    assert f".. autoclass:: {cls.__module__}.{cls.__qualname__}\n" in page
    for key in rule.defaults:
        assert f"``{key}``" in page


def test_an_object_documented_twice_is_indexed_once():
    directives = reference._Directives()
    first = directives("function", "pkg.f")
    second = directives("function", "pkg.f")
    assert ":no-index:" not in first
    assert ":no-index:" in second
    module_twice = directives("module", "pkg", ":no-index:") + directives("module", "pkg", ":no-index:")
    assert module_twice.count(":no-index:") == 2  # once per directive: a repeated option is a docutils error


def test_differences_render_one_labelled_table_per_entry_and_a_note_for_a_missing_one():
    differences = {"mse": EntryDifferences("mse", "Summary.", (_row(lossopt="``strict``"),))}
    text = difference_tables.differences_rst({"losses": ["mse", "tversky"]}, differences)
    assert ".. _differences-mse:" in text
    assert ".. _differences-tversky:" in text
    assert "   * - PyTorch\n     - ``strict``\n\n       .. container:: test-pointer\n\n" in text
    assert (
        "          ``docs/tests/test_registry_docs.py::test_a_page_that_documents_nothing_is_a_problem``\n     - b"
        in text
    )
    assert "No table yet for ``tversky``" in text


def test_conformance_report_is_included_as_markdown_when_present_and_explained_when_not(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSOPT_CONFORMANCE_REPORT", raising=False)
    generated = tmp_path / "_generated"
    assert "nox -s conformance" in reports.conformance_report_rst(generated, tmp_path)
    run = tmp_path / "reports" / "conformance" / "run-1"
    run.mkdir(parents=True)
    markdown = "# Report\n\nverdict: **PASS** <ok>\n\n| entry | err<br>cpu |\n|---|---:|\n| `mse` | 1e-7 |\n"
    (run / "report.md").write_text(markdown, encoding="utf-8")
    text = reports.conformance_report_rst(generated, tmp_path)
    assert "``reports/conformance/run-1/report.md``" in text
    assert ".. include:: /_generated/conformance_report.md\n   :parser: myst_parser.sphinx_\n" in text
    assert (generated / "conformance_report.md").read_text(encoding="utf-8") == markdown  # as written
    (run / "report.md").unlink()
    assert "nox -s conformance" in reports.conformance_report_rst(generated, tmp_path)
    assert not (generated / "conformance_report.md").exists()  # no stale report shown


def test_the_report_is_read_by_myst_with_html_off():
    conf = (common.DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"myst_parser",' in conf
    assert 'myst_disable_syntax = ["html_block", "html_inline"]' in conf  # "<lambda>" in a message stays text
    requirements = (common.DOCS / "requirements.txt").read_text(encoding="utf-8").split()
    assert any(line.startswith("myst-parser") for line in requirements)


def test_the_build_check_names_a_report_that_did_not_render():
    note = "<p>No conformance report was found when these pages were built</p>"
    assert check_build.report_problems(note) == []
    table = '<table class="conformance-report docutils">{}</table>'
    good = "<p>Report: x " + table.format("<thead><tr><th>entry</th></tr></thead><tr><td>mse</td></tr>")
    assert check_build.report_problems(good) == []
    assert check_build.report_problems("<p>Report: x <p>| entry | verdict |</p>") == [
        "conformance.html: the report's Markdown tables did not become tables"
    ]
    headless = "<p>Report: x " + table.format("<tr><td>mse</td></tr>")
    assert check_build.report_problems(headless) == ["conformance.html: report table 0 has no header row"]
    leaked = good + "<th>2.13.0&lt;br&gt;cpu</th>"
    assert check_build.report_problems(leaked) == [
        "conformance.html: a '<br>' of the report's column headers was shown as text"
    ]
    assert check_build.report_problems("<p>nothing</p>") == [
        "conformance.html shows neither a report nor the note saying there was none"
    ]


def test_demo_plots_are_shown_when_present_and_explained_when_not(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSOPT_DEMO_DIR", raising=False)
    target = tmp_path / "out"
    empty = reports.demo_plots_rst(target, tmp_path)
    assert "python -m lossopt demo" in empty["loss"]
    assert "python -m lossopt demo" in empty["optimizer"]
    demo = tmp_path / "reports" / "demo"
    demo.mkdir(parents=True)
    names = ("regression_losses.png", "focal_vs_ce.png", "optimizers_quadratic.png", "training.png")
    for name in names:
        (demo / name).write_bytes(b"\x89PNG\r\n")
    text = reports.demo_plots_rst(target, tmp_path)
    assert sorted(p.name for p in target.iterdir()) == sorted(names)
    assert text["loss"].index("regression_losses.png") < text["loss"].index("focal_vs_ce.png")
    assert "optimizers_quadratic.png" not in text["loss"]
    assert text["optimizer"].index("optimizers_quadratic.png") < text["optimizer"].index("training.png")


def test_generate_writes_pages_and_removes_those_of_unregistered_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSOPT_DEMO_DIR", str(tmp_path / "none"))
    stale = tmp_path / "reference" / "losses" / "retired.rst"
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")
    pages = generate.generate(docs=tmp_path, root=tmp_path)
    assert not stale.exists()
    for relative in pages:
        assert (tmp_path / relative).is_file()
    for inc in ("differences", "conformance_report", "loss_plots", "optimizer_plots", "signatures", "loss_guide"):
        assert (tmp_path / "_generated" / f"{inc}.inc").is_file()
    assert Path(tmp_path / "reference" / "optimizers" / "sgd.rst").is_file()


def test_tagged_multiline_math_goes_into_align_and_the_rest_keeps_sphinx_wrapping():
    tagged = "a &= b \\tag{1} \\\\\n c &= d \\tag{2}"
    assert equations.display_math_tex(tagged) == "\\begin{align*}" + tagged + "\\end{align*}"
    assert equations.display_math_tex("x = y \\tag{3}") is None  # one line: \[ ... \tag{3} \] is fine
    assert equations.display_math_tex("a \\\\ b") is None  # no tag: Sphinx's split is fine
    mixed = equations.display_math_tex("u = v\n\n" + tagged + "\n\na \\\\ b")
    assert mixed == "\\[u = v\\]\n\\begin{align*}" + tagged + "\\end{align*}\n\\[\\begin{split}a \\\\ b\\end{split}\\]"


def test_a_row_for_a_feature_this_build_lacks_is_neither_shown_nor_checked():
    rows = (
        _row(lossopt="``kept``"),
        _row(lossopt="``later``", test="docs/tests/no_such_file.py::test_x", when="sgd:no_such_flag"),
    )
    differences = {"sgd": EntryDifferences("sgd", "", rows)}
    pages = {"reference/optimizers/sgd.rst": "x\n.. autoclass:: C\n"}
    assert difference_tables.documentation_problems({"optimizers": ["sgd"]}, differences, pages) == []
    text = difference_tables.differences_rst({"optimizers": ["sgd"]}, differences)
    assert "``kept``" in text
    assert "``later``" not in text
    assert difference_tables.shown(_row(when="sgd"))


def test_the_audit_help_in_the_docs_is_the_programs():
    from docs.generate import audit_help_rst
    from lossopt_spec.audit.cli import help_text

    rst = audit_help_rst()
    assert rst.startswith(".. code-block:: text")
    for line in help_text().splitlines():
        assert f"   {line}".rstrip() in rst
    for code in ("0  conforms", "1  diverges", "2  the audit could not run"):
        assert code in help_text()
    assert "quadratic" in help_text()
    assert "state entries:" in help_text()
