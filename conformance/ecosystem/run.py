"""Running every audit of ``candidates.toml`` and writing the ecosystem report.

::

    python -m conformance.ecosystem reports/audit [--docs docs/ecosystem_audit.md] [--examples 60]

Per entry and configuration: the package's installed version (or "package not installed"),
whether its rule or loss is in this build of ``lossopt_spec`` ("rule not in this build"
otherwise: the entry waits for its rule), then the audit with the candidate's own defaults
(every hyperparameter of the spec that the candidate names takes the candidate's default) updated
by the configuration. A configuration setting something the candidate does not take is left
out for that candidate. Writes ``ecosystem.json`` (every audit's ``--json`` document, the
reading and its source) and ``ecosystem.md`` (the table) into the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import inspect
import io
import json
import platform
import sys
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lossopt_spec
from conformance.ecosystem.table import markdown
from lossopt_spec.audit import AuditError, audit
from lossopt_spec.audit.candidates import NOT_PASSED, load_candidate, read_signature, same_value
from lossopt_spec.audit.loss_runner import audit_loss, spec_keywords

CANDIDATES = Path(__file__).with_name("candidates.toml")


def own_defaults(factory: Any, spec_defaults: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """The candidate's defaults of the spec's hyperparameters it names, where they differ from the spec's."""
    signature = read_signature(factory)
    config: dict[str, Any] = {}
    for name, spec_default in spec_defaults.items():
        target = renames.get(name, name)
        if target == NOT_PASSED or not signature.takes(target):
            continue
        own = signature.defaults[target]
        if own is inspect.Parameter.empty or same_value(own, spec_default):
            continue
        if own is None or isinstance(own, bool | int | float | str | tuple | list):
            config[name] = tuple(own) if isinstance(own, list) else own
    return config


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _row(entry: Mapping[str, Any], config_name: str, config: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    reading = entry.get("readings", {}).get(config_name)
    return {
        "implementation": entry["implementation"],
        "package": entry["package"],
        "version": _version(entry["package"]),
        "kind": "loss" if "loss" in entry else "optimizer",
        "rule": entry.get("rule") or entry.get("loss"),
        "config_name": config_name,
        "config": dict(config),
        "reading": reading,
        **fields,
    }


def run_entry(
    entry: Mapping[str, Any], configs: Mapping[str, Mapping[str, Any]], examples: int
) -> list[dict[str, Any]]:
    """Every configuration of one entry: a row each (verdict, the audit's JSON, wall time, the reading)."""
    kind_loss = "loss" in entry
    name = entry.get("loss") if kind_loss else entry["rule"]
    registry = lossopt_spec.LOSSES if kind_loss else lossopt_spec.OPTIMIZERS
    wanted = entry.get("configs", ["defaults"])
    if _version(entry["package"]) is None:
        return [
            _row(entry, c, {}, verdict="not run", why=f"package {entry['package']!r} not installed") for c in wanted
        ]
    if name not in registry:
        return [_row(entry, c, {}, verdict="not run", why="rule not in this build") for c in wanted]
    try:
        factory = load_candidate(entry["target"])
    except AuditError as error:
        return [_row(entry, c, {}, verdict="error", why=str(error)) for c in wanted]
    renames = dict(entry.get("rename", {}))
    spec_defaults = spec_keywords(registry[name]) if kind_loss else dict(registry[name].defaults)
    signature = read_signature(factory)
    rows = []
    for config_name in wanted:
        overrides = {**configs.get(config_name, {}), **entry.get("config", {})}
        untaken = [
            k
            for k in overrides
            if signature.complete and renames.get(k, k) != NOT_PASSED and not signature.takes(renames.get(k, k))
        ]
        if untaken:
            continue  # the candidate has no such hyperparameter: this configuration does not apply
        config = {**own_defaults(factory, spec_defaults, renames), **overrides}
        config = {k: tuple(v) if isinstance(v, list) and not kind_loss else v for k, v in config.items()}
        started = time.perf_counter()
        try:
            common = {"candidate_kwargs": entry.get("candidate_kwargs", {}), "rename": renames, "examples": examples}
            if kind_loss:
                reductions = entry.get("reductions", ["none", "mean", "sum"])
                result = audit_loss(
                    factory, name, config, reductions=reductions, min_dims=entry.get("min_dims", 0), **common
                )
            else:
                result = audit(factory, name, config, **common)
            document = result.to_json()
            document["candidate"] = entry["target"]
            verdict, why = result.verdict, ""
        except AuditError as error:
            document, verdict, why = None, "error", str(error)
        rows.append(
            _row(
                entry,
                config_name,
                config,
                verdict=verdict,
                why=why,
                audit=document,
                seconds=round(time.perf_counter() - started, 2),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.ecosystem", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for ecosystem.md and ecosystem.json")
    parser.add_argument("--docs", type=Path, help="also copy the table to this file (the committed docs copy)")
    parser.add_argument("--examples", type=int, default=60, help="Hypothesis examples per audit (default 60)")
    args = parser.parse_args(argv)
    data = tomllib.loads(CANDIDATES.read_text(encoding="utf-8"))
    started = time.perf_counter()
    rows = []
    for entry in [*data["optimizer"], *data["loss"]]:
        configs = data["configs"].get(entry.get("rule") or entry.get("loss"), {})
        with contextlib.redirect_stdout(io.StringIO()):  # the change logs some candidates print on every build
            entry_rows = run_entry(entry, configs, args.examples)
        for row in entry_rows:
            rows.append(row)
            print(f"{row['implementation']:<42} {row['config_name']:<14} {row['verdict']}", flush=True)
    seconds = time.perf_counter() - started
    environment = {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "lossopt-spec": _version("lossopt-spec"),
        "examples_per_audit": args.examples,
        "wall_seconds": round(seconds, 1),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"environment": environment, "rows": rows}
    (args.out / "ecosystem.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    table = markdown(rows, environment)
    (args.out / "ecosystem.md").write_text(table, encoding="utf-8")
    if args.docs is not None:
        args.docs.write_text(table, encoding="utf-8")
    print(f"ecosystem audit: {len(rows)} rows in {seconds:.0f} s -> {args.out / 'ecosystem.md'}")
    unread = [r for r in rows if r["verdict"] in ("diverges", "error") and not r["reading"]]
    for row in unread:
        print(f"  no reading recorded for {row['implementation']} [{row['config_name']}]: {row['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
