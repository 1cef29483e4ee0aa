#!/usr/bin/env python3
"""Say whether re-recorded snapshot baselines still show the same cells as a git revision's.

A change in how a line is cut into pieces (one blank run instead of padding, content and padding of one colour)
re-records a snapshot whose picture did not change: the SVG draws one rectangle where it drew three. This reads each
changed baseline and the revision's as a grid of cells (background colour of each cell; character and style of
each printed one) and compares the grids, so a reviewer can accept such a change knowing nothing on screen moved.

    .venv/bin/python scripts/snapshot_cells.py              # changed baselines against HEAD
    .venv/bin/python scripts/snapshot_cells.py --base REV   # ... against REV

Exit 0 when every changed baseline shows the same cells, 1 otherwise (the first differing cells are printed).
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = "tests/snapshots/__snapshots__"
CELL_WIDTH, LINE_HEIGHT = 12.2, 24.4  # Rich's SVG export: char width and line height in its units

_RECT = re.compile(r'<rect fill="(?P<fill>[^"]+)" x="(?P<x>[\d.]+)" y="(?P<y>[\d.]+)" width="(?P<w>[\d.]+)"')
_TEXT = re.compile(r'<text class="(?P<cls>[^"]+)" x="(?P<x>[\d.]+)" y="(?P<y>[\d.]+)"[^>]*>(?P<text>.*?)</text>')
_STYLE = re.compile(r"\.(terminal-r\d+)\s*\{([^}]*)\}")


def cells(svg: str) -> dict[tuple, object]:
    """(kind, row, column) -> the cell's background, or its character and style (classes resolved to CSS)."""
    svg = re.sub(r"terminal-\d+-", "terminal-", svg)  # the per-picture hash in class names
    styles = dict(_STYLE.findall(svg))
    grid: dict[tuple, object] = {}
    for match in _RECT.finditer(svg):
        row = round((float(match["y"]) - 1.5) / LINE_HEIGHT)
        first = round(float(match["x"]) / CELL_WIDTH)
        for column in range(first, first + round(float(match["w"]) / CELL_WIDTH)):
            grid[("background", row, column)] = match["fill"]
    for match in _TEXT.finditer(svg):
        row, first = round(float(match["y"]) / LINE_HEIGHT), round(float(match["x"]) / CELL_WIDTH)
        style = " ".join(styles.get(name, name) for name in match["cls"].split())
        for offset, char in enumerate(html.unescape(match["text"]).replace("\u00a0", " ")):
            if char != " ":  # a space's style shows only through its background, compared above
                grid[("text", row, first + offset)] = (char, style)
    return grid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the revision to compare with (default HEAD)")
    args = parser.parse_args()
    changed = subprocess.run(["git", "diff", "--name-only", args.base, "--", SNAPSHOTS], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
    differing = 0
    for path in (p for p in changed if p.endswith(".svg")):
        old = subprocess.run(["git", "show", f"{args.base}:{path}"], cwd=ROOT, capture_output=True, text=True)
        if old.returncode != 0 or not (ROOT / path).exists():
            print(f"{path}: new or removed")
            differing += 1
            continue
        before, after = cells(old.stdout), cells((ROOT / path).read_text(encoding="utf-8"))
        diff = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
        differing += bool(diff)
        print(f"{path}: {'same cells' if not diff else f'{len(diff)} cells differ, first {diff[:3]}'}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
