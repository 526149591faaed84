"""Print the growth benchmark's results (bench/results/growth-*.json) as Markdown tables.

.venv/bin/python bench/growth_report.py            # every database measured
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
#: the issue's targets, by measure (p99 ms), and for the drain (share of the drain at 0)
KEYED = ("?qj_contact_id=", "?id_externo=", "/contacts/<id>")
KEYED_P99_MS, PAGE_P99_MS, DRAIN_SHARE = 20.0, 300.0, 0.80


def target(name: str) -> str:
    if any(key in name for key in KEYED):
        return f"p99 <= {KEYED_P99_MS:.0f}"
    if name.startswith("page "):
        return f"p99 <= {PAGE_P99_MS:.0f}"
    return ""


def table(rows: list[dict[str, Any]]) -> str:
    sizes = [f"{row['events']:,} events" for row in rows]
    lines = ["| measure | " + " | ".join(sizes) + " | target |", "|---|" + "---|" * (len(rows) + 1)]
    first = rows[0]["drain"]
    drains = [f"{row['drain']:,.0f} ({row['drain'] / first:.0%})" for row in rows]
    lines.append(
        "| drain, events/s (share of the drain at 0) | " + " | ".join(drains) + " | >= 80 % |"
    )
    loads = [f"{row['load']:.1f}" for row in rows]
    lines.append("| load average at the drain | " + " | ".join(loads) + " | |")
    for name in rows[0]["requests"]:
        cells = []
        for row in rows:
            found = row["requests"].get(name)
            cells.append("" if found is None else f"{found['p50']:.1f} / {found['p99']:.1f}")
        lines.append(f"| `{name}` p50 / p99 ms | " + " | ".join(cells) + f" | {target(name)} |")
    stored = [
        f"{row['bytes']['all']:,.0f} / {row['bytes']['without_inbox']:,.0f}" if row["bytes"] else ""
        for row in rows
    ]
    lines.append("| bytes per event: all / all but the inbox | " + " | ".join(stored) + " | |")
    return "\n".join(lines)


def main() -> None:
    for path in sorted(RESULTS.glob("growth-*.json")):
        print(f"### {path.stem.removeprefix('growth-')}\n")
        print(table(json.loads(path.read_text())))
        print()


if __name__ == "__main__":
    main()
