"""Checks of a built HTML tree: ``python -m docs.check_build docs/_build/html`` (run by ``nox -s docs``).

- every registered loss and optimizer has its page, and the differences page has its table;
- the conformance page shows the report it included (MyST's tables, with header rows) or the note
  saying there was none, and no HTML of the report's text got through as markup;
- no page loads a script, style sheet or font from the network (the math renderer is local);
- pages with equations load the local MathJax, and its files are in the tree;
- with ``--render`` (needs Debian's ``chromium``): every page is opened in headless Chromium, its
  MathJax runs, and any equation MathJax refuses (``<mjx-merror>``) is reported with its message.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from docs.generate.common import SINGULAR, registered_names

REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


def problems(html_dir: Path) -> list[str]:
    found = []
    differences = (html_dir / "differences.html").read_text(encoding="utf-8")
    for kind, names in registered_names().items():
        for name in names:
            if not (html_dir / "reference" / kind / f"{name}.html").is_file():
                found.append(f"{SINGULAR[kind]} {name!r}: no page reference/{kind}/{name}.html")
            anchor = re.sub(r"[^a-z0-9]+", "-", f"differences-{name}".lower())  # docutils' ids: _ -> -
            if f'id="{anchor}"' not in differences:
                found.append(f"{SINGULAR[kind]} {name!r}: no table on differences.html")
    found += report_problems((html_dir / "conformance.html").read_text(encoding="utf-8"))
    mathjax = html_dir / "_static" / "mathjax" / "tex-chtml.js"
    if not mathjax.is_file():
        found.append(f"the local MathJax is missing: {mathjax}")
    pages = sorted(html_dir.rglob("*.html"))
    with_math = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in REMOTE.finditer(text):
            found.append(f"{page.relative_to(html_dir)} loads from the network: {match.group(0)}")
        if 'class="math' in text:
            with_math += 1
            if "_static/mathjax/tex-chtml.js" not in text:
                found.append(f"{page.relative_to(html_dir)} has equations but does not load the local MathJax")
    if with_math == 0:
        found.append("no page has an equation: the docstrings' math did not reach the HTML")
    return found


def report_problems(page: str) -> list[str]:
    """What is wrong with the conformance page's report: missing, tables without headers, markup leaked."""
    if "No conformance report was found" in page:
        return []
    if "<p>Report: " not in page:
        return ["conformance.html shows neither a report nor the note saying there was none"]
    report = page[page.index("<p>Report: ") :]
    found = []
    tables = re.findall(r'<table class="[^"]*conformance-report[^"]*">(.*?)</table>', report, re.DOTALL)
    if not tables:
        found.append("conformance.html: the report's Markdown tables did not become tables")
    found += [f"conformance.html: report table {i} has no header row" for i, t in enumerate(tables) if "<th" not in t]
    if "&lt;br&gt;" in report:
        found.append("conformance.html: a '<br>' of the report's column headers was shown as text")
    return found


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=8000",
    "--dump-dom",
]
MERROR = re.compile(r'<mjx-merror[^>]*data-mjx-error="([^"]*)"')


def render_problems(html_dir: Path, chromium: str) -> list[str]:
    """Equations MathJax refuses, per page, after Chromium has run each page's scripts."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        if 'class="math' not in page.read_text(encoding="utf-8"):
            continue
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", page.resolve().as_uri()],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            ).stdout
        if "<mjx-container" not in dom:
            found.append(f"{page.relative_to(html_dir)}: MathJax rendered nothing")
        for message in MERROR.findall(dom):
            found.append(f"{page.relative_to(html_dir)}: MathJax error: {html.unescape(message)}")
    return found


def main(argv: list[str]) -> int:
    render = "--render" in argv
    argv = [a for a in argv if a != "--render"]
    html_dir = Path(argv[0]) if argv else Path("docs/_build/html")
    found = problems(html_dir)
    if render:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            found.append("--render needs chromium (Debian: apt-get install chromium)")
        else:
            found += render_problems(html_dir, chromium)
    for line in found:
        print(f"docs check: {line}")
    print(f"docs check: {html_dir}: " + ("OK" if not found else f"{len(found)} problem(s)"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
