"""Debian's headless Chromium, as the tests and the benchmarks launch it.

Playwright drives it through `executable_path`; it never downloads a browser of
its own (no `playwright install`).  The flags keep Chromium off the network it
cannot reach here: no background networking, component updates, sync or QUIC
probes.
"""

from __future__ import annotations

import shutil

from bench.model import BenchError

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]

INSTALL_HINT = "sudo apt-get install chromium (Debian's package; no browser download)"


class ChromiumMissing(BenchError):
    """No Chromium on the PATH."""


def chromium_path() -> str:
    """The Chromium executable: Debian's `chromium` (older Raspberry Pi OS releases
    name it `chromium-browser`), or a ChromiumMissing that says how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise ChromiumMissing(f"no chromium on the PATH: {INSTALL_HINT}")
    return found
