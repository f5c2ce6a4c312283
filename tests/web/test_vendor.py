"""The vendored chart library is exactly the recorded files, and the page loads it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import web

VENDOR = Path(web.__file__).parent / "static" / "vendor"


def _recorded() -> dict[str, str]:
    sums = {}
    for line in (VENDOR / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    return sums


def test_vendored_files_match_their_recorded_sha256() -> None:
    recorded = _recorded()
    assert "uplot/uPlot.iife.min.js" in recorded
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_nothing_unrecorded_is_vendored() -> None:
    present = {
        str(p.relative_to(VENDOR))
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name not in ("SHA256SUMS", "README.md")
    }
    assert present == set(_recorded())


def test_the_vendored_uplot_is_the_pinned_version_with_its_licence() -> None:
    head = (VENDOR / "uplot" / "uPlot.iife.min.js").read_text(encoding="utf-8")[:80]
    assert "(v1.6.32)" in head
    assert "MIT" in (VENDOR / "uplot" / "LICENSE").read_text(encoding="utf-8")
    assert "uplot@1.6.32" in (VENDOR / "README.md").read_text(encoding="utf-8")
