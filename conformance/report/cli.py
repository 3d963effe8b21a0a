"""The command line, ``python -m conformance.report merge OUT_DIR RUN.json [RUN.json ...]``.

Writes ``OUT_DIR/report.json`` and ``OUT_DIR/report.md``, prints where they are and the verdict,
and exits 1 when anything failed (or there is nothing to merge). Standard library only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from conformance.report.merging import merge


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.report", description="Merge conformance run records.")
    sub = parser.add_subparsers(dest="command", required=True)
    merge_parser = sub.add_parser("merge", help="merge run records into OUT_DIR/report.{json,md}; exit 1 on failure")
    merge_parser.add_argument("out_dir", type=Path)
    merge_parser.add_argument("runs", type=Path, nargs="*")
    args = parser.parse_args(argv)
    if not args.runs:
        print(f"conformance FAILED, release blocked: no run records to merge into {args.out_dir}")
        return 1
    json_path, md_path, line, passed = merge(args.out_dir, args.runs)
    print(f"conformance report: {md_path} (JSON: {json_path})")
    print(line)
    return 0 if passed else 1
