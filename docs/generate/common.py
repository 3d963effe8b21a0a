"""What every generator shares: where the documentation lives, the registered names, reST helpers."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
SINGULAR = {"losses": "loss", "optimizers": "optimizer"}


def registered_names() -> dict[str, list[str]]:
    """Entry names by kind (``"losses"``, ``"optimizers"``): the union of lossopt's and the spec's registries."""
    import lossopt
    import lossopt_spec

    return {
        "losses": sorted(set(lossopt.LOSSES) | set(lossopt_spec.LOSSES)),
        "optimizers": sorted(set(lossopt.OPTIMIZERS) | set(lossopt_spec.OPTIMIZERS)),
    }


def unmet(token: str) -> str | None:
    """Why ``token`` (a registered ``name``, or ``name:keyword`` its class takes) is not in this build, or None."""
    import lossopt

    name, _, keyword = token.partition(":")
    cls = lossopt.LOSSES.get(name) or lossopt.OPTIMIZERS.get(name)
    if cls is None:
        return f"{name!r} is not registered"
    if keyword and keyword not in inspect.signature(cls.__init__).parameters:
        return f"{cls.__name__} takes no {keyword!r}"
    return None


def target(obj: Any) -> str:
    """The dotted path autodoc imports ``obj`` by: where it is defined, not where it is re-exported."""
    return f"{obj.__module__}.{obj.__qualname__}"


def heading(text: str, char: str, over: bool = False) -> str:
    line = char * max(len(text), 3)
    return f"{line}\n{text}\n{line}\n" if over else f"{text}\n{line}\n"


def list_table(header: tuple[str, ...], rows: list[tuple[str, ...]], widths: str, title: str = "") -> str:
    """A ``list-table`` with a header row (and ``title`` as its caption); every cell one line of reST."""
    lines = [f".. list-table:: {title}".rstrip(), "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in (header, *rows):
        lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
    return "\n".join(lines) + "\n\n"
