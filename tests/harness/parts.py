"""Finding the real outside parts the tests run (mosquitto, chromium, nginx...).

A missing part fails the test with the command that installs it when `CI` is
set, and skips with the same hint otherwise: CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def unavailable(message: str) -> None:
    """An outside part the test needs is not there: fail under `CI`, skip otherwise."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def missing(what: str, hint: str) -> None:
    unavailable(f"{what} is not installed; install it with: {hint}")


def find_program(name: str, *extra_dirs: str, hint: str) -> str:
    """The path of program `name` (also looked for in `extra_dirs`), or fail/skip."""
    found = shutil.which(name)
    if found:
        return found
    for folder in extra_dirs:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    missing(name, hint)
    raise AssertionError("unreachable")  # missing() always raises
