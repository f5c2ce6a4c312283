"""The page's files: uPlot as a classic script, then the ES modules from main.js, all preloaded.

What the browser tests cannot see: a module that nothing imports any more, or
one that `index.html` does not preload (the page still works, one round trip
later per level of imports).  Served modules must be JavaScript to the browser.
"""

from __future__ import annotations

import http.client
import re
from pathlib import Path

import web
from tests.harness.server import StartServer

STATIC = Path(web.__file__).parent / "static"
IMPORT = re.compile(r'^import\s+(?:[^"\']*?\s+from\s+)?["\']\./([\w.-]+\.js)["\'];', re.MULTILINE)


def _imports(module: str) -> set[str]:
    return set(IMPORT.findall((STATIC / module).read_text(encoding="utf-8")))


def _reached_from(entry: str) -> set[str]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_imports(module))
    return seen


def test_index_loads_uplot_as_a_classic_script_then_main_as_a_module() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts == [
        ' src="/static/vendor/uplot/uPlot.iife.min.js" defer',
        ' type="module" src="/static/main.js"',
    ]
    assert "<script>" not in html  # the CSP allows no inline script


def test_index_preloads_every_module_main_imports_and_every_module_is_imported() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([\w.-]+\.js)">', html))
    reached = _reached_from("main.js")
    assert preloaded == reached - {"main.js"}
    assert {p.name for p in STATIC.glob("*.js")} == reached
    assert _imports("buckets.js") == set()  # the bucket table stands alone


def test_every_module_is_served_as_javascript(start_server: StartServer) -> None:
    server = start_server()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for module in sorted(_reached_from("main.js")):
            conn.request("GET", f"/static/{module}")
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, module
            assert response.getheader("content-type", "").split(";")[0] in (
                "text/javascript",
                "application/javascript",
            ), module
            assert body == (STATIC / module).read_bytes()
    finally:
        conn.close()
