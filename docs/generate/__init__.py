"""The generated parts of the documentation, computed from the registries at build time.

Nothing here imports Sphinx: ``docs/conf.py`` calls :func:`generate` when a build starts, and the
tests in ``docs/tests`` call the same functions to check that every registry entry has its page
and its "differences" table. A new entry in ``lossopt.LOSSES`` / ``lossopt.OPTIMIZERS`` (and the
spec's registries) gets an API page with no edit here; its differences table is data in
``docs/differences.toml``.

Generated files (all ignored by git), by the module that writes them:

- :mod:`~docs.generate.reference`: ``reference/losses/<name>.rst`` and
  ``reference/optimizers/<name>.rst``, one page per entry, pairing the spec (``lossopt_spec``) and
  the torch side (``lossopt``) with autodoc; ``_generated/signatures.inc``, the factories' keywords;
- :mod:`~docs.generate.difference_tables`: ``_generated/differences.inc``, one table per
  registered entry, from ``differences.toml``;
- :mod:`~docs.generate.reports`: ``_generated/conformance_report.inc`` (and the report's copy,
  ``conformance_report.md``), the newest conformance report under ``reports/``, or a note saying
  how to make one; ``_generated/ecosystem_audit.inc``, the committed table of
  ``nox -s audit_ecosystem`` (``docs/ecosystem_audit.md``); ``_generated/loss_plots.inc``,
  ``optimizer_plots.inc``, the plots
  ``python -m lossopt demo`` wrote (``reports/demo/``), or a note;
- :mod:`~docs.generate.guides`: ``_generated/loss_guide.inc``, ``optimizer_guide.inc``;
- :func:`audit_help_rst`: ``_generated/audit_help.inc``, ``python -m lossopt_spec.audit --help`` as printed.
"""

from __future__ import annotations

from pathlib import Path

from docs.generate.common import DOCS, ROOT, registered_names
from docs.generate.difference_tables import differences_rst, load_differences
from docs.generate.guides import loss_guide_rst, optimizer_guide_rst
from docs.generate.reference import api_pages, factory_signatures_rst
from docs.generate.reports import conformance_report_rst, demo_plots_rst, ecosystem_audit_rst


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def audit_help_rst() -> str:
    """``python -m lossopt_spec.audit --help``, as a literal block: the command line's reference, never retyped."""
    from lossopt_spec.audit.cli import help_text

    return (
        ".. code-block:: text\n\n" + "".join(f"   {line}".rstrip() + "\n" for line in help_text().splitlines()) + "\n"
    )


def generate(docs: Path = DOCS, root: Path = ROOT) -> dict[str, str]:
    """Write every generated file under ``docs`` and return the API pages written."""
    pages = api_pages()
    for kind in ("losses", "optimizers"):  # drop pages of entries no longer registered
        for stale in (docs / "reference" / kind).glob("*.rst"):
            if f"reference/{kind}/{stale.name}" not in pages:
                stale.unlink()
    for relative, text in pages.items():
        _write_if_changed(docs / relative, text)
    generated = docs / "_generated"
    _write_if_changed(generated / "differences.inc", differences_rst(registered_names(), load_differences()))
    _write_if_changed(generated / "conformance_report.inc", conformance_report_rst(generated, root))
    plots = demo_plots_rst(generated / "plots", root)
    _write_if_changed(generated / "loss_plots.inc", plots["loss"])
    _write_if_changed(generated / "optimizer_plots.inc", plots["optimizer"])
    _write_if_changed(generated / "signatures.inc", factory_signatures_rst())
    _write_if_changed(generated / "ecosystem_audit.inc", ecosystem_audit_rst(docs))
    _write_if_changed(generated / "audit_help.inc", audit_help_rst())
    _write_if_changed(generated / "loss_guide.inc", loss_guide_rst())
    _write_if_changed(generated / "optimizer_guide.inc", optimizer_guide_rst())
    return pages
