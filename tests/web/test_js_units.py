"""The page's pure modules, tested without a browser: node's own test runner on tests/web/js.

The modules are imported as they are served (`web/static/*.js`, ES modules;
the repository's `package.json` only says so to node).  node is an outside part
like chromium: missing, the test fails under `CI` with the command that
installs it, and skips otherwise.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.harness.parts import find_program, missing

JS_TESTS = Path(__file__).parent / "js"
NODE_HINT = "sudo apt-get install nodejs"
NODE_MIN = 18  # node:test, `node --test FILE...` and --test-reporter (18.15)


def _node() -> str:
    node = find_program("node", hint=NODE_HINT)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    found = re.match(r"v(\d+)\.", version.stdout)
    if found is None or int(found.group(1)) < NODE_MIN:
        missing(f"node {NODE_MIN} or newer (found {version.stdout.strip()})", NODE_HINT)
    return node


def test_page_modules_pass_their_node_tests() -> None:
    node = _node()
    files = sorted(JS_TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {JS_TESTS}"
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", *map(str, files)],
        cwd=JS_TESTS.parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"node --test failed ({done.returncode}):\n{report}", pytrace=False)
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", report, re.MULTILINE))
    assert int(counts["fail"]) == 0 and int(counts["pass"]) == int(counts["tests"]) > 0, report
