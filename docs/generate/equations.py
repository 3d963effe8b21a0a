"""Display math that MathJax would refuse as Sphinx wraps it (``docs/conf.py`` applies this to every page)."""

from __future__ import annotations


def display_math_tex(text: str) -> str | None:
    """The TeX for a display-math block whose lines carry ``\\tag``, or None when Sphinx's wrapping is fine.

    Sphinx wraps a multi-line block in ``split``, where MathJax refuses ``\\tag`` ("\\tag not allowed
    in split environment"): the docstrings tag each line of their equations, ``(1)``, ``(2)``.
    Such a part goes into ``align*`` (which takes a ``\\tag`` per line) instead; the others keep
    Sphinx's form. Parts are separated by blank lines, as Sphinx separates them.
    """
    parts = [part for part in text.split("\n\n") if part.strip()]
    if not any("\\tag" in part and "\\\\" in part for part in parts):
        return None
    out = []
    for part in parts:
        if "\\tag" in part and "\\\\" in part:
            out.append("\\begin{align*}" + part + "\\end{align*}")
        elif "\\\\" in part:
            out.append("\\[\\begin{split}" + part + "\\end{split}\\]")
        else:
            out.append("\\[" + part + "\\]")
    return "\n".join(out)
