"""`[[output.influx]]`: readings written as line protocol over HTTP (`devices.influx`);
and `[output.prometheus]`: the last values of matching series in `/metrics`."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from telemetry.config.alerts import _globs
from telemetry.config.model import (
    INFLUX_APIS,
    INFLUX_PRECISIONS,
    InfluxOutputConfig,
    PrometheusOutputConfig,
)
from telemetry.config.notify import http_url
from telemetry.config.table import NAME, Table, show

# A database, bucket, org or measurement name, a static tag's value: printable,
# one line (line protocol has no way to write a newline in a name).
_WORD = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_SECRET = re.compile(r"[!-~]{1,1024}")  # a token or a password: printable ASCII, no space
RESERVED_TAGS = ("device", "sensor", "unit")


def _base_url(t: Table) -> str:
    """The database's base URL, without credentials, query or fragment: it is safe
    to show, and the write path is added to it."""
    url = http_url(t, 'username/password or token, e.g. "${INFLUX_PASSWORD}"')
    if url is None:
        return ""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        t.problems.add(
            t.key("url"),
            "has a query or a fragment; expected the database's base URL like "
            "http://127.0.0.1:8086 (value not shown)",
        )
        return ""
    return url.rstrip("/")


def _word(t: Table, name: str, default: str) -> str:
    return t.string(name, default, pattern=_WORD, form="1 to 256 characters on one line")


def _measurement(t: Table) -> str:
    name = _word(t, "measurement", "telemetry")
    if name.startswith("#"):  # no escape helps: the line is skipped, answered 204
        t.problems.add(
            t.key("measurement"),
            f"{show(name)} starts with #, which makes each line a comment the database "
            "ignores; expected a name starting otherwise",
        )
    return name


def _secret(t: Table, name: str) -> str | None:
    value = t.string(name, None)
    if value is not None and not _SECRET.fullmatch(value):
        # It would break the Authorization header (and http.client's error would show it).
        t.problems.add(t.key(name), "is not printable ASCII without spaces (value not shown)")
        return None
    return value


def _tags(t: Table) -> tuple[tuple[str, str], ...]:
    """`tags = { site = "greenhouse" }`: static tags on every point."""
    if "tags" not in t.data:
        t.used.add("tags")
        return ()
    table = t.table("tags")
    out = []
    for key in table.data:
        value = _word(table, key, "")
        if not NAME.fullmatch(key):
            t.problems.add(table.key(key), "is not a tag name of letters, digits, _.- (1 to 64)")
        elif key in RESERVED_TAGS:
            t.problems.add(table.key(key), "is a tag every point has; expected another name")
        elif value:
            out.append((key, value))
    return tuple(sorted(out))


def _api_keys(t: Table, api: str) -> dict[str, str | None]:
    """The keys of the chosen API (v1: database, username, password; v2: org,
    bucket, token); the other API's keys are refused."""
    mine, other = (
        (("database", "username", "password"), ("org", "bucket", "token"))
        if api == "v1"
        else (("org", "bucket", "token"), ("database", "username", "password"))
    )
    for key in other:
        if key in t.data:
            t.used.add(key)
            t.problems.add(
                t.key(key), f'is not used with api = "{api}"; expected {", ".join(mine)}'
            )
    if api == "v2":
        t.required("org")
        t.required("bucket")
        return {
            "org": _word(t, "org", ""),
            "bucket": _word(t, "bucket", ""),
            "token": _secret(t, "token"),
        }
    username, password = _secret(t, "username"), _secret(t, "password")
    if ("username" in t.data) != ("password" in t.data):
        missing = "password" if "username" in t.data else "username"
        t.problems.add(t.key(missing), "is missing; username and password go together")
    return {
        "database": _word(t, "database", "telemetry"),
        "username": username,
        "password": password,
    }


def output_influx(t: Table, index: int) -> InfluxOutputConfig | None:
    before = len(t.problems.lines)
    name = t.string("name", f"influx{index}", pattern=NAME, form="a name of letters, digits, _.-")
    t.required("url")
    url = _base_url(t)
    api = t.choice("api", "v1", INFLUX_APIS)
    keys = _api_keys(t, api)
    batch = t.integer("batch", 5000, 1, 100_000)
    queue = t.integer("queue", 100_000, 1, 10_000_000)
    if queue < batch and "queue" in t.data:
        t.problems.add(
            t.key("queue"), f"{queue} is smaller than batch ({batch}); expected at least as many"
        )
    cfg = InfluxOutputConfig(
        name=name,
        url=url,
        api=api,
        database=keys.get("database") or "telemetry",
        org=keys.get("org") or "",
        bucket=keys.get("bucket") or "",
        token=keys.get("token"),
        username=keys.get("username"),
        password=keys.get("password"),
        precision=t.choice("precision", "ms", INFLUX_PRECISIONS),
        measurement=_measurement(t),
        tags=_tags(t),
        match=_globs(t, "match", "series ids", show("kitchen/*")),
        batch=batch,
        flush=t.duration("flush", 1.0, 0.05, 300.0),
        gzip=t.typed("gzip", bool, "true or false") is not False,
        queue=max(queue, batch),
        timeout=t.duration("timeout", 10.0, 0.5, 120.0),
        ca_file=_ca_file(t, url),
    )
    t.finish()
    return cfg if len(t.problems.lines) == before else None


def _ca_file(t: Table, url: str) -> str | None:
    path = t.string("ca_file", None)
    if path is None:
        return None
    if not Path(path).is_file():
        t.problems.add(t.key("ca_file"), f"{show(path)} is not a readable file")
    elif url and not url.startswith("https://"):
        t.problems.add(t.key("ca_file"), 'is for an https URL; expected url = "https://..."')
    return path


def output_prometheus(t: Table) -> PrometheusOutputConfig | None:
    before = len(t.problems.lines)
    t.required("match")
    cfg = PrometheusOutputConfig(
        match=_globs(t, "match", "series ids", show("kitchen/*")),
        max_series=t.integer("max_series", 1000, 1, 100_000),
    )
    t.finish()
    return cfg if len(t.problems.lines) == before else None
