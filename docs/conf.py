"""Sphinx configuration: ``nox -s docs`` builds these pages into ``docs/_build/html``.

The API reference and the "differences" tables are generated from the registries when the build
starts (:func:`docs.generate.generate`). Equations are rendered by MathJax 3.2.2 from the
``sphinx-mathjax-offline`` package (PyPI), copied into ``_static/mathjax``: the pages load no
script, font or style from the network. The conformance report, Markdown, is included through
MyST's parser (``myst-parser``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for ``docs.generate``; lossopt and lossopt_spec come installed

import lossopt  # noqa: E402
from docs.generate import generate  # noqa: E402
from docs.generate.equations import display_math_tex  # noqa: E402
from docs.generate.reports import REPORT_COPY  # noqa: E402

project = "lossopt"
author = "the lossopt authors"
copyright = "the lossopt authors"
release = version = lossopt.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # sets mathjax_path to the local copy and copies it into _static
    "myst_parser",  # the conformance report's Markdown (included from _generated/, not a page)
]

exclude_patterns = [
    "_build",
    "_generated",
    "tests",
    "examples/README.md",
    "ecosystem_audit.md",  # included by ecosystem_audit.rst, not a page of its own
    "**/__pycache__",
]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["lossopt.css"]
html_theme = "furo"
html_title = f"lossopt {release}"
html_theme_options = {"navigation_with_keys": True}
pygments_style = "sphinx"

# MyST reads no HTML in the report's Markdown: a "<lambda>" in a failure message stays text. The
# one tag the report writes, "<br>" between torch version, device and dtype in a column header,
# becomes a line break in _report_tables below.
myst_disable_syntax = ["html_block", "html_inline"]

# MathJax: equation tags written as \tag{n} in the docstrings, AMS environments.
mathjax3_config = {"tex": {"tags": "ams"}}

autodoc_default_options = {"undoc-members": False}
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # no torch boilerplate ("Define the computation performed at every call")
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes:" as fields: no duplicate object descriptions of dataclass fields

# Lowercase-named pages for entries: "mse", "sgd" read as headings, not as warnings.
suppress_warnings: list[str] = []


def _generate(app: object) -> None:
    generate()


def _tagged_math(app: object, doctree: nodes.document) -> None:
    for node in doctree.findall(nodes.math_block):
        if node.get("nowrap"):
            continue
        tex = display_math_tex(node.astext())
        if tex is not None:
            node.children = [nodes.Text(tex)]
            node["nowrap"] = True


def _report_tables(app: object, doctree: nodes.document) -> None:
    """The included report's tables: the report's table style, header cells split at "<br>" into lines."""
    for table in doctree.findall(nodes.table):
        if not str(table.source or "").endswith(REPORT_COPY):
            continue
        table["classes"].append("conformance-report")
        for paragraph in list(table.findall(nodes.paragraph)):
            text = paragraph.astext()
            plain = all(isinstance(child, nodes.Text) for child in paragraph.children)
            if plain and isinstance(paragraph.parent, nodes.entry) and "<br>" in text:
                lines = [nodes.line(part, part) for part in text.split("<br>")]
                paragraph.replace_self(nodes.line_block("", *lines))


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("builder-inited", _generate)
    app.connect("doctree-read", _tagged_math)
    app.connect("doctree-read", _report_tables)
