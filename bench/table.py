"""The results as text: an aligned table for the terminal, Markdown for the README.

Rates are shown with k/M suffixes (three significant digits: more would claim a
precision a shared machine does not have), each as `median (min–max)` over the
repeats; a ratio is project / baseline, so below 1× means the project does less.

With `boards` (name -> how many times slower a board runs CPython than this
machine, see `bench.pi`), each row whose unit is per CPU-second gets a column
per board: the project's median divided by the factor, what one core of that
board would do.  Other rows (latencies, memory) do not scale so; they get "–".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.model import Row, Stat

HEADER = ("figure", "project", "baseline", "ratio")
Boards = Mapping[str, float]


def rate(x: float) -> str:
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def _stat(stat: Stat, fmt: str = "rate") -> str:
    if fmt == "ratio":
        return f"{stat.median:.2f}× ({stat.low:.2f}–{stat.high:.2f})"
    return f"{rate(stat.median)} ({rate(stat.low)}–{rate(stat.high)})"


def scales(row: Row) -> bool:
    """Whether a row's figure is CPU-bound work per CPU-second (it scales with a
    board's speed)."""
    return row.unit.endswith("CPU-s")


def cells(row: Row, boards: Boards | None = None) -> tuple[str, ...]:
    on_boards = tuple(
        rate(row.project.median / factor) if scales(row) else "–"
        for factor in (boards or {}).values()
    )
    return (
        f"{row.benchmark}, {row.figure}: {row.unit}",
        _stat(row.project),
        f"{row.baseline_name} {_stat(row.baseline)}",
        _stat(row.ratio, "ratio"),
        *on_boards,
    )


def header(boards: Boards | None = None) -> tuple[str, ...]:
    return (*HEADER, *(f"{name} (÷{factor:.1f})" for name, factor in (boards or {}).items()))


def text(rows: Sequence[Row], boards: Boards | None = None) -> str:
    head = header(boards)
    lines = [head, *(cells(row, boards) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if n == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(part.rstrip() for part in out)


def markdown(rows: Sequence[Row], boards: Boards | None = None) -> str:
    head = header(boards)
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|") for c in cells(row, boards)) + " |" for row in rows
    ]
    return "\n".join(lines)


def machine(info: Mapping[str, str]) -> str:
    width = max(len(key) for key in info)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in info.items())
