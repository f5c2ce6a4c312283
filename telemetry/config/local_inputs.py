"""The inputs on the machine itself, `[[system]]` (the kernel's sensors) and
`[[command]]` (a program's output), read into their dataclasses."""

from __future__ import annotations

import re
import socket

from telemetry import normalize
from telemetry.config.model import SYSTEM_KINDS, CommandConfig, SystemConfig
from telemetry.config.table import NAME, PATH, Table, check_globs, show

NAME_FORM = "a name of letters, digits, _.-"
# Environment variable names as POSIX shells take them.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_ARGS = 256
SPLITS = ("lines", "none")


def default_system_name() -> str:
    """The machine's host name without its domain, when it makes a device name."""
    host = socket.gethostname().partition(".")[0]
    return host if NAME.fullmatch(host) else "system"


def _kind(t: Table, name: str) -> tuple[str, ...]:
    """`true` (every sensor of the kind), `false` (none) or a list of globs."""
    t.used.add(name)
    value = t.data.get(name, True)
    if value is True:
        return ("*",)
    if value is False:
        return ()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        globs = tuple(value)
        return globs if check_globs(t, name, globs, what="sensor names", like='"28-*"') else ()
    t.problems.add(
        t.key(name), f"{show(value)} is not true, false or a non-empty list of glob strings"
    )
    return ()


def system_section(t: Table, index: int) -> SystemConfig | None:
    root = t.string("root", "/", pattern=PATH, form="a directory path")
    ok = True
    if not root.startswith("/"):
        t.problems.add(t.key("root"), f'{show(root)} is not an absolute path; expected like "/"')
        ok = False
    kinds = {kind: _kind(t, kind) for kind in SYSTEM_KINDS}
    cfg = SystemConfig(
        name=t.string(
            "name",
            default_system_name() if index == 0 else f"system{index}",
            pattern=NAME,
            form=NAME_FORM,
        ),
        root=root,
        interval=t.duration("interval", 10.0, 0.1, 86400.0),
        rescan=t.duration("rescan", 60.0, 1.0, 86400.0),
        throttled=t.typed("throttled", bool, "true or false") is not False,
        **kinds,
    )
    t.finish()
    return cfg if ok else None


def _env(t: Table) -> tuple[tuple[str, str], ...]:
    t.used.add("env")
    value = t.data.get("env", {})
    if not isinstance(value, dict):
        t.problems.add(t.key("env"), f"{show(value)} is not a table of names and strings")
        return ()
    sub = Table(value, t.key("env"), t.problems)
    out = []
    for key in value:
        if not ENV_NAME.fullmatch(key):
            t.problems.add(f"{sub.path}.{key}", "is not an environment variable name")
            sub.used.add(key)
            continue
        text = sub.string(key, None, form="a string")
        if text is not None:
            out.append((key, text))
    return tuple(out)


def command_section(t: Table, index: int) -> CommandConfig | None:
    ok = t.required("name")
    argv = t.strings("argv")
    shell = t.string("shell", None, form="a command line for /bin/sh -c")
    if ("argv" in t.data) == ("shell" in t.data):
        t.problems.add(
            t.key("argv"),
            "give exactly one of argv (a list: the program and its arguments, run "
            "without a shell) and shell (a string run by /bin/sh -c)",
        )
        ok = False
    elif "argv" in t.data and (not argv or not argv[0] or len(argv) > MAX_ARGS):
        t.problems.add(
            t.key("argv"),
            f"expected a list of 1 to {MAX_ARGS} strings, the first the program, like "
            '["/usr/bin/sensors", "-j"]',
        )
        ok = False
    elif shell is not None and not shell.strip():
        t.problems.add(t.key("shell"), "is empty; expected a command line for /bin/sh -c")
        ok = False
    env = _env(t)
    given = [(f"argv[{i}]", a) for i, a in enumerate(argv)] + [(f"env.{k}", v) for k, v in env]
    for key, text in [*given, ("shell", shell or "")]:
        if "\0" in text:  # the kernel takes C strings: Popen would raise at every run
            t.problems.add(t.key(key), "holds a NUL character, which no program can be given")
            ok = False
    interval = t.duration("interval", 60.0, 0.1, 86400.0)
    timeout = t.duration("timeout", min(10.0, interval), 0.1, 86400.0)
    cfg = CommandConfig(
        name=t.string("name", f"command{index}", pattern=NAME, form=NAME_FORM),
        argv=argv if "argv" in t.data else (),
        shell=shell,
        interval=interval,
        timeout=timeout,
        format=t.choice("format", "auto", normalize.SERIAL_FORMATS),
        env=env,
        max_output=t.size("max_output", 64 * 1024, 1, 16 * 1024 * 1024),
        split=t.choice("split", "lines", SPLITS),
    )
    t.finish()
    return cfg if ok else None
