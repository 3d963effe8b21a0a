"""The API reference: one page per registered loss and optimizer, and the factories' signatures.

Each page pairs the spec (``lossopt_spec``) with the torch side (``lossopt``) through autodoc
directives; the objects are found in the registries, so a new entry gets its page with no edit here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from docs.generate.common import heading, list_table, registered_names, target


class _Directives:
    """autodoc directives, ``:no-index:`` on every repeat of an object (two entries can share one)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, kind: str, target: str, *options: str) -> str:
        opts = list(options)
        if (kind, target) in self.seen and ":no-index:" not in opts:
            opts.append(":no-index:")
        self.seen.add((kind, target))
        body = "".join(f"   {opt}\n" for opt in opts)
        return f".. auto{kind}:: {target}\n{body}\n"


def _field_table(rows: Iterable[tuple[str, str]]) -> str:
    lines = [".. list-table::", "   :widths: 20 80", "   :class: entry-summary", ""]
    for key, value in rows:
        lines += [f"   * - {key}", f"     - {value}"]
    return "\n".join(lines) + "\n\n"


def _page_start(kind: str, name: str, summary: list[tuple[str, str]]) -> list[str]:
    """The label, the title, the summary table (with its link to the differences) and the spec's heading."""
    summary = [*summary, ("differences", f":ref:`differences-{name}`")]
    spec_heading = heading("Specification (lossopt_spec, float64 NumPy)", "-") + "\n"
    return [f".. _api-{kind}-{name}:\n\n", heading(name, "="), "\n", _field_table(summary), spec_heading]


def loss_page(name: str, directives: _Directives | None = None) -> str:
    """The API page of the loss ``name``: the spec's value and gradient, lossopt's function and module."""
    import lossopt
    import lossopt.functional
    import lossopt_spec

    directives = directives or _Directives()
    spec = lossopt_spec.LOSSES.get(name)
    module_cls = lossopt.LOSSES.get(name)
    functional = getattr(lossopt.functional, spec.value.__name__, None) if spec is not None else None
    summary: list[tuple[str, str]] = [("name", f"``{name!r}``: ``create_loss_function({name!r}, ...)``")]
    if module_cls is not None:
        summary.append(("module", f":class:`{target(module_cls)}`"))
    if functional is not None:
        summary.append(("function", f":func:`{target(functional)}`"))
    if spec is not None:
        summary.append(("spec", f":func:`{target(spec.value)}`, gradient :func:`{target(spec.grad)}`"))
    parts = _page_start("loss", name, summary)
    if spec is None:
        parts.append(f"The spec has no loss {name!r} yet (``lossopt_spec.LOSSES``).\n\n")
    else:
        parts.append(directives("function", target(spec.value)))
        parts.append(directives("function", target(spec.grad)))
    parts.append(heading("PyTorch (lossopt)", "-") + "\n")
    if functional is not None:
        parts.append(directives("function", target(functional)))
    if module_cls is not None:
        parts.append(directives("class", target(module_cls), ":members: forward"))
    if functional is None and module_cls is None:
        parts.append(f"lossopt has no loss {name!r} yet (``lossopt.LOSSES``).\n\n")
    return "".join(parts)


def _defaults_table(defaults: Mapping[str, Any]) -> str:
    if not defaults:
        return ""
    rows = [(f"``{key}``", f"``{value!r}``") for key, value in defaults.items()]
    title = "Hyperparameters and defaults (the spec rule's, equal to the constructor's)"
    return list_table(("argument", "default"), rows, "40 60", title)


def optimizer_page(name: str, directives: _Directives | None = None) -> str:
    """The API page of the optimizer ``name``: the spec rule (module equations, init, update), lossopt's class."""
    import lossopt
    import lossopt_spec

    directives = directives or _Directives()
    rule = lossopt_spec.OPTIMIZERS.get(name)
    cls = lossopt.OPTIMIZERS.get(name)
    summary: list[tuple[str, str]] = [("name", f"``{name!r}``: ``create_optimizer({name!r}, params, ...)``")]
    if cls is not None:
        summary.append(("class", f":class:`{target(cls)}`"))
    if rule is not None:
        summary.append(("spec rule", f"``lossopt_spec.OPTIMIZERS[{name!r}]`` in :mod:`{rule.update.__module__}`"))
        keys = ", ".join(f"``{key}``" for key in rule.state_keys) or "none"
        summary.append(("state", f"{keys} per parameter (torch.optim's names)"))
    parts = _page_start("optimizer", name, summary)
    if rule is None:
        parts.append(f"The spec has no rule {name!r} yet (``lossopt_spec.OPTIMIZERS``).\n\n")
    else:
        parts.append(_defaults_table(rule.defaults))
        parts.append(directives("module", rule.update.__module__, ":no-index:"))
        parts.append(directives("function", target(rule.init)))
        parts.append(directives("function", target(rule.update)))
    parts.append(heading("PyTorch (lossopt)", "-") + "\n")
    if cls is None:
        parts.append(f"lossopt has no optimizer {name!r} yet (``lossopt.OPTIMIZERS``).\n\n")
    else:
        parts.append(directives("class", target(cls), ":members: step"))
    return "".join(parts)


def api_pages() -> dict[str, str]:
    """Relative path under ``docs/`` -> text, for every page of the API reference generated from the registries."""
    names = registered_names()
    directives = _Directives()
    pages = {f"reference/losses/{name}.rst": loss_page(name, directives) for name in names["losses"]}
    pages |= {f"reference/optimizers/{name}.rst": optimizer_page(name, directives) for name in names["optimizers"]}
    return pages


def factory_signatures_rst() -> str:
    """Every registered name with the constructor signature its factory call accepts."""
    import lossopt

    rows = []
    for registry in (lossopt.LOSSES, lossopt.OPTIMIZERS):
        for name, cls in sorted(registry.items()):
            params = list(inspect.signature(cls.__init__).parameters.values())[1:]
            shown = ", ".join(
                p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
                for p in params
                if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            )
            rows.append((f"``{name}``", f"``{shown}``" if shown else "(none)"))
    return list_table(("name", "keyword arguments"), rows, "15 85")
