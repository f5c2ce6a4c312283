"""Habits of STYLE.md that a test can hold: no benchmark figures in code comments."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("telemetry", "devices", "web", "simulators")

# A timing (`0.45 µs`, `60 ns`), a before -> after (`1.2 -> 0.9`), a ratio
# (`0.42x`), or a `bench:` note.  Units that describe data (`epoch s, ms, µs or
# ns`, `64 KiB`, `10 s`) carry no number before µs/ns or are not matched.
FIGURE = re.compile(
    r"\d+(\.\d+)?\s*(µs|μs|ns)\b"
    r"|\d+(\.\d+)?\s*(->|→)\s*\d+(\.\d+)?"
    r"|\b\d+\.\d+\s*[x×](?![\w])"
    r"|\bbench:"
)


def _notes(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring in `path`."""
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                yield node.body[0].lineno, doc


def figures_in(path: Path) -> list[tuple[int, str]]:
    """(line, figure) of each benchmark figure in a comment or docstring of `path`."""
    return [(line, m.group()) for line, text in _notes(path) for m in FIGURE.finditer(text)]


def test_figures_in_finds_timings_and_speedups(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Read fast: 0.43 µs a message."""\n'
        "X = 1  # remembered (0.45 -> 0.17 a message)\n"
        "def f() -> None:\n"
        '    """bench: 0.42x paho\'s loop."""\n'
        "Y = 2  # epoch numbers in s, ms, µs or ns; 64 KiB; 10 s; `a` -> `b`\n",
        encoding="utf-8",
    )
    assert figures_in(sample) == [(2, "0.45 -> 0.17"), (1, "0.43 µs"), (4, "bench:"), (4, "0.42x")]


def test_no_benchmark_figures_in_code_comments() -> None:
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {figure}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, figure in figures_in(path)
    ]
    assert found == [], "figures go to bench/README.md; a comment says why"
