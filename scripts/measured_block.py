"""Rewrites one generated block of docs/measured.md, between its markers.

`make bench` (bench.py, costs.py) and `make fleet` (fleet.py) each own a
block; this is the one place that finds the markers and replaces what is
between them, so the three cannot disagree about the markers' lines.
"""
import os

MEASURED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "measured.md")


def replace(begin, end, block, error):
    """Replace docs/measured.md's lines from `begin` to `end` (markers
    included) with `block`, which holds both markers and ends with a
    newline. Raises `error` when the page has no such block."""
    with open(MEASURED) as f:
        text = f.read()
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise error(f"docs/measured.md has no {begin} … {end} block to rewrite")
    with open(MEASURED, "w") as f:
        f.write(text[:start] + block + text[stop + len(end) + 1:])
