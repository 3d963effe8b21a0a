"""Print lossopt/torch time ratios and effective bandwidth from a pytest-benchmark JSON file.

python benchmarks/ratios.py reports/bench.json
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

BYTES_PER_PARAM = {
    "sgd": 20,
    "adamw": 28,
    "adam": 28,
    "radam": 28,
    "adabelief": 28,
}  # mirrors benchmarks/baselines.py, kept import-free


def main(path: str) -> int:
    with open(path) as handle:
        data = json.load(handle)
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        groups[bench["group"]][bench["extra_info"]["side"]] = bench
    copy = groups.get("copy", {}).get("copy")
    copy_gbs = copy["extra_info"]["bytes"] / copy["stats"]["median"] / 1e9 if copy else None
    print(f"machine: {data['machine_info'].get('cpu', {}).get('brand_raw', '?')}; torch run {data['datetime']}")
    if copy_gbs:
        print(f"copy bandwidth (torch._foreach_copy_): {copy_gbs:.1f} GB/s")
    print(
        f"{'group':40s} {'lossopt/torch':>14s} {'lossopt ms':>11s} {'torch ms':>9s} "
        f"{'lossopt GB/s':>13s} {'% of copy':>10s}"
    )
    worst = 0.0
    for group, sides in sorted(groups.items()):
        if "lossopt" not in sides or "torch" not in sides:
            continue
        if "compile_s" in sides["lossopt"]["extra_info"]:
            print(f"{group}: first step (compilation) {sides['lossopt']['extra_info']['compile_s']:.1f} s")
        ours, theirs = sides["lossopt"], sides["torch"]
        ratio = ours["stats"]["median"] / theirs["stats"]["median"]
        worst = max(worst, ratio)
        gbs = ""
        share = ""
        info = ours["extra_info"]
        per_param = info.get("bytes_per_param", BYTES_PER_PARAM.get(info.get("name", "")))
        reference_gbs = copy_gbs
        if "copy_group" in info:  # a benchmark may name the copy measured over its own tensors
            same = groups.get(info["copy_group"], {}).get("copy")
            reference_gbs = same["extra_info"]["bytes"] / same["stats"]["median"] / 1e9 if same else None
        if "numel" in info and per_param:
            rate = per_param * info["numel"] / ours["stats"]["median"] / 1e9
            gbs = f"{rate:.1f}"
            share = f"{100 * rate / reference_gbs:.0f}%" if reference_gbs else ""
        print(
            f"{group:40s} {ratio:14.3f} {1e3 * ours['stats']['median']:11.3f} "
            f"{1e3 * theirs['stats']['median']:9.3f} {gbs:>13s} {share:>10s}"
        )
        if "peak_extra_ratio" in info:  # measured in separate processes (benchmarks/linear_cross_entropy_memory.py)
            print(
                f"{group}: peak extra memory {info['peak_extra_bytes'] / 2**20:.1f} MiB vs "
                f"{info['reference_peak_extra_bytes'] / 2**20:.1f} MiB, ratio {info['peak_extra_ratio']:.3f}"
            )
    for group, sides in sorted(groups.items()):
        if group.startswith("copy-") and "copy" in sides:
            same = sides["copy"]
            print(f"{group:28s} copy bandwidth {same['extra_info']['bytes'] / same['stats']['median'] / 1e9:.1f} GB/s")
    print(f"worst ratio: {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
