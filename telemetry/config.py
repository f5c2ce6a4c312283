"""The configuration: one TOML file loaded into frozen, typed dataclasses.

`load_config(path)` and `parse_config(text)` read, substitute `${ENV_VAR}`s,
validate every key and raise one `ConfigError` listing every problem, each as
`key.path: what was wrong; expected what`.  Unknown keys and sections are
problems too: a typo must not be silently ignored.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from telemetry import filters as filters_mod
from telemetry import normalize
from telemetry.errors import ConfigError
from telemetry.model import Route
from telemetry.normalize.timestamps import ClockPolicy, zone
from telemetry.quantities import (
    DURATION_FORM,
    SIZE_FORM,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)
from telemetry.topics import TopicTemplate, check_filter

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    tick: float = 0.1
    allowed_hosts: tuple[str, ...] = ()
    ping: float = 15.0
    retry: float = 3.0
    replay: float = 300.0  # how far back Last-Event-ID can resume
    cors_origins: tuple[str, ...] = ()  # none: no CORS headers at all
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-* count


@dataclass(frozen=True, slots=True)
class AuthConfig:
    file: str | None = None  # credentials (`telemetry passwd`, `telemetry token`); None: no auth
    session: float = 30 * 86400.0  # how long a login lasts


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    template: str | None = None
    format: str = "auto"
    qos: int = 0
    device: str | None = None
    timezone: str | None = None
    precision: str | None = None

    def route(self, source: str) -> Route:
        """How messages this subscription brings in are read."""
        return Route(
            source, "mqtt", self.format, self.template, self.device, self.timezone, self.precision
        )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    name: str
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    keepalive: float = 60.0
    protocol: str = "3.1.1"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    subscribe: tuple[Subscription, ...] = ()

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SerialConfig:
    name: str
    port: str
    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    terminator: str = "LF"
    encoding: str = "utf-8"
    format: str = "auto"
    timezone: str | None = None
    precision: str | None = None

    @property
    def route(self) -> Route:
        """How lines from this port are read: the port's name is their device."""
        return Route(
            self.name,
            "serial",
            self.format,
            device=self.name,
            timezone=self.timezone,
            precision=self.precision,
        )


@dataclass(frozen=True, slots=True)
class FilterSpec:
    name: str
    arg: Any


@dataclass(frozen=True, slots=True)
class SeriesRule:
    match: str
    unit: str | None = None
    filters: tuple[FilterSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    raw_span: float = 15 * 60.0
    raw_points: int = 20_000
    # (bucket width, kept for) in seconds.  Sized so that 500 series at 1 Hz for a day
    # stay well inside 100 MB on a Pi (what a series takes: bench/README.md, memory).
    rollups: tuple[tuple[float, float], ...] = (
        (10.0, 3600.0),
        (60.0, 86400.0),
        (900.0, 30 * 86400.0),
    )
    # Optional SQLite file the history is saved to every `commit_interval` seconds
    # and restored from at start; None: nothing is written to disk.
    file: str | None = None
    commit_interval: float = 60.0


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    max_series: int = 1000
    max_payload: int = 64 * 1024
    max_line: int = 4096
    max_json_depth: int = 32
    max_id_length: int = 200
    inbox: int = 10_000
    max_clients: int = 64
    max_clients_per_host: int = 8
    client_backlog: int = 64
    send_timeout: float = 10.0
    max_clock_skew: float = 600.0
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = ServerConfig()
    mqtt: tuple[MqttConfig, ...] = ()
    serial: tuple[SerialConfig, ...] = ()
    series: tuple[SeriesRule, ...] = ()
    history: HistoryConfig = HistoryConfig()
    limits: LimitsConfig = LimitsConfig()
    auth: AuthConfig = AuthConfig()


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH = re.compile(r"[^\x00]+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SECRET_KEYS = frozenset({"password"})


class _Problems:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.lines: list[str] = []
        self.env = env

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}")


def _show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Table:
    """A TOML table being read: typed getters that record problems, not raise."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: _Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def typed(self, name: str, kind: type | tuple[type, ...], expected: str) -> Any:
        self.used.add(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if name in _SECRET_KEYS and not isinstance(value, kind):
            self.problems.add(self.key(name), f"is not {expected} (value not shown)")
            return None
        # TOML booleans are Python ints: never let `true` pass as a number.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.problems.add(self.key(name), f"{_show(value)} is not {expected}")
            return None
        if not isinstance(value, kind):
            self.problems.add(self.key(name), f"{_show(value)} is not {expected}")
            return None
        if isinstance(value, str):
            value = self._substitute(name, value)
        return value

    def _substitute(self, name: str, value: str) -> str | None:
        missing: list[str] = []

        def repl(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in self.problems.env:
                missing.append(var)
                return ""
            return self.problems.env[var]

        out = _ENV.sub(repl, value)
        if missing:
            self.problems.add(
                self.key(name),
                f"environment variable {missing[0]} is not set; expected it to hold this value",
            )
            return None
        return out

    def required(self, name: str) -> bool:
        if name not in self.data:
            self.used.add(name)
            self.problems.add(self.key(name), "is missing; it is required")
            return False
        return True

    def string(
        self,
        name: str,
        default: T,
        *,
        pattern: re.Pattern[str] | None = None,
        form: str = "a string",
    ) -> str | T:
        value = self.typed(name, str, form)
        if value is None:
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.problems.add(self.key(name), f"{_show(value)} is not {form}")
            return default
        return str(value)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.typed(name, int, f"a whole number from {low} to {high}")
        if value is None:
            return default
        if not low <= value <= high:
            self.problems.add(self.key(name), f"{value} is not a whole number from {low} to {high}")
            return default
        return int(value)

    def choice(self, name: str, default: T, options: tuple[T, ...]) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, str):
            value = self._substitute(name, value)
            if value is None:
                return default
        # `1.0 in (0, 1, 2)` is true in Python: compare types too.
        if isinstance(value, bool) or not any(
            value == o and type(value) is type(o) for o in options
        ):
            listed = ", ".join(_show(o) for o in options)
            self.problems.add(self.key(name), f"{_show(value)} is not one of {listed}")
            return default
        return value  # type: ignore[no-any-return]

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], form: str) -> T:
        value = self.typed(name, str, form)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            self.problems.add(self.key(name), f"{_show(value)} is not {form}")
            return default

    def duration(self, name: str, default: float, low: float, high: float) -> float:
        seconds = self._parsed(name, default, parse_duration, DURATION_FORM)
        if not low <= seconds <= high:
            self.problems.add(
                self.key(name),
                f"{_show(self.data[name])} is out of range; expected from "
                f"{format_duration(low)} to {format_duration(high)}",
            )
            return default
        return seconds

    def size(self, name: str, default: int, low: int, high: int) -> int:
        if isinstance(self.data.get(name), int) and not isinstance(self.data.get(name), bool):
            self.used.add(name)
            size = int(self.data[name])
        else:
            size = self._parsed(name, default, parse_size, SIZE_FORM)
        if not low <= size <= high:
            self.problems.add(
                self.key(name),
                f"{_show(self.data[name])} is out of range; expected from "
                f"{format_size(low)} to {format_size(high)}",
            )
            return default
        return size

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.typed(name, list, "a list of strings")
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.problems.add(f"{self.key(name)}[{i}]", f"{_show(item)} is not a string")
                continue
            text = self._substitute(f"{name}[{i}]", item)
            if text is not None:
                out.append(text)
        return tuple(out)

    def tables(self, name: str) -> list[_Table]:
        """An array of tables (`[[mqtt]]`); a single table is accepted as a list of one."""
        self.used.add(name)
        value = self.data.get(name)
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            self.problems.add(self.key(name), f"{_show(value)} is not a list of tables")
            return []
        out = []
        for i, item in enumerate(value):
            path = f"{self.key(name)}[{i}]"
            if not isinstance(item, dict):
                self.problems.add(path, f"{_show(item)} is not a table")
                continue
            out.append(_Table(item, path, self.problems))
        return out

    def table(self, name: str) -> _Table:
        self.used.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            self.problems.add(self.key(name), f"{_show(value)} is not a table")
            value = {}
        return _Table(value, self.key(name), self.problems)

    def finish(self) -> None:
        """Report every key nobody asked for, with the nearest known key."""
        for name in self.data:
            if name in self.used:
                continue
            hint = difflib.get_close_matches(name, sorted(self.used), n=1)
            what = "section" if not self.path else "key"
            known = (
                f"did you mean {hint[0]!r}?"
                if hint
                else f"known {what}s: " + ", ".join(sorted(self.used))
            )
            self.problems.add(self.key(name), f"unknown {what}; {known}")


def _server(t: _Table) -> ServerConfig:
    d = ServerConfig()
    cfg = ServerConfig(
        host=t.string("host", d.host),
        port=t.integer("port", d.port, 0, 65535),
        tick=t.duration("tick", d.tick, 0.01, 10.0),
        allowed_hosts=t.strings("allowed_hosts"),
        ping=t.duration("ping", d.ping, 1.0, 300.0),
        retry=t.duration("retry", d.retry, 0.1, 300.0),
        replay=t.duration("replay", d.replay, 0.0, 3600.0),
        cors_origins=t.strings("cors_origins"),
        trusted_proxies=t.strings("trusted_proxies"),
    )
    for i, origin in enumerate(cfg.cors_origins):
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            t.problems.add(
                f"{t.key('cors_origins')}[{i}]",
                f"{_show(origin)} is not an origin; expected like https://grafana.lan:3000",
            )
    for i, proxy in enumerate(cfg.trusted_proxies):
        try:
            # Strict, as uvicorn reads them: a network with host bits set would
            # otherwise be taken as a name and silently match nothing.
            ipaddress.ip_network(proxy, strict=True)
        except ValueError:
            t.problems.add(
                f"{t.key('trusted_proxies')}[{i}]",
                f"{_show(proxy)} is not an IP address or network; "
                'expected like "127.0.0.1", "::1" or "10.0.0.0/8"',
            )
    t.finish()
    return cfg


_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?"
)


def _auth(t: _Table) -> AuthConfig:
    d = AuthConfig()
    cfg = AuthConfig(
        file=t.string("file", d.file),
        session=t.duration("session", d.session, 60.0, 366 * 86400.0),
    )
    t.finish()
    return cfg


PRECISIONS = ("s", "ms", "us", "ns")


def _timezone(t: _Table, name: str, default: str | None) -> str | None:
    text = t.string(name, default)
    if text is None or text == default:
        return text
    try:
        zone(text)
    except ValueError:
        t.problems.add(
            t.key(name),
            f"{_show(text)} is not a time zone; expected UTC or an IANA name "
            'such as "Europe/Berlin"',
        )
        return default
    return text


def _check_format(t: _Table, name: str, options: tuple[str, ...]) -> str:
    return t.choice(name, "auto", options)


def _subscription(t: _Table) -> Subscription | None:
    ok = t.required("topic")
    topic = t.string("topic", None)
    if topic is not None:
        problem = check_filter(topic)
        if problem:
            t.problems.add(t.key("topic"), f"{_show(topic)} {problem}")
            ok = False
    template = t.string("template", None)
    device = t.string("device", None, pattern=_NAME, form="a device name")
    if template is not None:
        try:
            names = TopicTemplate(template).names
        except ValueError as exc:
            t.problems.add(t.key("template"), f"{_show(template)}: {exc}")
            ok = False
        else:
            if "device" not in names and device is None:
                t.problems.add(
                    t.key("template"),
                    f"{_show(template)} names no {{device}}; add one or set device",
                )
                ok = False
    sub = Subscription(
        topic=topic or "",
        template=template,
        format=_check_format(t, "format", normalize.MQTT_FORMATS),
        qos=t.choice("qos", 0, (0, 1, 2)),
        device=device,
        timezone=_timezone(t, "timezone", None),
        precision=t.choice("precision", None, PRECISIONS),
    )
    t.finish()
    return sub if ok else None


def _mqtt(t: _Table, index: int) -> MqttConfig | None:
    name = t.string("name", f"mqtt{index}", pattern=_NAME, form="a name of letters, digits, _.-")
    ok = t.required("url")
    url = t.string("url", None)
    host, port, tls = "", 0, False
    if url is not None:
        parts = urlsplit(url)
        try:
            parsed_port = parts.port
        except ValueError:
            parsed_port = -1
        # Never echo a password someone put in the URL.
        shown = _show(url.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1))
        expected = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parsed_port in (-1, 0):
            t.problems.add(t.key("url"), f"{shown} is not a broker URL; {expected}")
            ok = False
        elif "@" in parts.netloc or parts.path not in ("", "/") or parts.query:
            t.problems.add(
                t.key("url"),
                f"{shown} holds more than a broker address; {expected}, with credentials "
                "in username and password",
            )
            ok = False
        else:
            tls = parts.scheme == "mqtts"
            host = unquote(parts.hostname)
            port = parsed_port or (8883 if tls else 1883)
    files = {k: t.string(k, None) for k in ("ca_file", "cert_file", "key_file")}
    for key, path in files.items():
        if path is not None and not Path(path).is_file():
            t.problems.add(t.key(key), f"{_show(path)} is not a readable file")
    if (files["cert_file"] is None) != (files["key_file"] is None):
        t.problems.add(t.key("cert_file"), "cert_file and key_file go together; set both")
    sub_tables = t.tables("subscribe")
    subs = [_subscription(s) for s in sub_tables]
    seen_topics: set[str] = set()
    for table in sub_tables:
        topic = table.data.get("topic")
        if isinstance(topic, str) and topic in seen_topics:
            # the broker keeps one subscription per filter: the second would replace it.
            t.problems.add(
                f"{table.path}.topic",
                f"{_show(topic)} is subscribed twice; expected each filter once per broker",
            )
            ok = False
        elif isinstance(topic, str):
            seen_topics.add(topic)
    if not subs:
        t.problems.add(t.key("subscribe"), "is missing; expected at least one [[mqtt.subscribe]]")
    cfg = MqttConfig(
        name=name,
        host=host,
        port=port,
        tls=tls,
        username=t.string("username", None),
        password=t.string("password", None),
        client_id=t.string("client_id", None),
        keepalive=t.duration("keepalive", 60.0, 5.0, 3600.0),
        protocol=t.choice("protocol", "3.1.1", ("3.1.1", "5")),
        ca_file=files["ca_file"],
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        subscribe=tuple(s for s in subs if s is not None),
    )
    t.finish()
    return cfg if ok and len(cfg.subscribe) == len(subs) and subs else None


def _serial(t: _Table, index: int) -> SerialConfig | None:
    ok = t.required("name") & t.required("port")
    cfg = SerialConfig(
        name=t.string(
            "name", f"serial{index}", pattern=_NAME, form="a name of letters, digits, _.-"
        ),
        port=t.string("port", ""),
        baudrate=t.integer("baudrate", 115200, 50, 4_000_000),
        bytesize=t.choice("bytesize", 8, (5, 6, 7, 8)),
        parity=t.choice("parity", "N", ("N", "E", "O", "M", "S")),
        stopbits=t.choice("stopbits", 1, (1, 1.5, 2)),
        terminator=t.choice("terminator", "LF", ("LF", "CR", "CRLF")),
        encoding=t.choice("encoding", "utf-8", ("utf-8", "ascii", "latin-1")),
        format=_check_format(t, "format", normalize.SERIAL_FORMATS),
        timezone=_timezone(t, "timezone", None),
        precision=t.choice("precision", None, PRECISIONS),
    )
    t.finish()
    return cfg if ok else None


def _series(t: _Table) -> SeriesRule | None:
    ok = t.required("match")
    specs: list[FilterSpec] = []
    raw = t.typed("filters", list, "a list of filters such as [{ clamp = [-40, 85] }]")
    for i, item in enumerate(raw or []):
        path = f"{t.key('filters')}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            t.problems.add(path, f"{_show(item)} is not one filter such as {{ offset = -0.5 }}")
            continue
        ((fname, arg),) = item.items()
        problem = filters_mod.check(fname, arg)
        if problem:
            t.problems.add(f"{path}.{fname}", problem)
            ok = False
            continue
        specs.append(FilterSpec(fname, arg))
    rule = SeriesRule(
        match=t.string("match", ""),
        unit=t.string("unit", None),
        filters=tuple(specs),
    )
    t.finish()
    return rule if ok else None


def _history(t: _Table) -> HistoryConfig:
    d = HistoryConfig()
    cfg = HistoryConfig(
        raw_span=t.duration("raw_span", d.raw_span, 1.0, 7 * 86400.0),
        raw_points=t.integer("raw_points", d.raw_points, 10, 10_000_000),
        rollups=_rollups(t) if "rollups" in t.data else d.rollups,
        file=t.string("file", d.file, pattern=_PATH, form="a file path") or None,
        commit_interval=t.duration("commit_interval", d.commit_interval, 1.0, 3600.0),
    )
    t.finish()
    return cfg


MAX_ROLLUPS = 6


def _rollups(t: _Table) -> tuple[tuple[float, float], ...]:
    """`rollups = [{ bucket = "10s", keep = "1h" }, ...]`; an empty list turns them off."""
    tiers: list[tuple[float, float]] = []
    tables = t.tables("rollups")
    if len(tables) > MAX_ROLLUPS:
        t.problems.add(t.key("rollups"), f"{len(tables)} rollups; expected at most {MAX_ROLLUPS}")
        return ()
    for r in tables:
        ok = r.required("bucket") & r.required("keep")
        bucket = r.duration("bucket", 60.0, 1.0, 86400.0)
        keep = r.duration("keep", 86400.0, 60.0, 400 * 86400.0)
        if ok and keep < bucket:
            r.problems.add(r.key("keep"), f"{_show(r.data['keep'])} is shorter than the bucket")
        elif ok and any(bucket == b for b, _ in tiers):
            r.problems.add(r.key("bucket"), f"{_show(r.data['bucket'])} is used twice")
        elif ok:
            tiers.append((bucket, keep))
        r.finish()
    return tuple(sorted(tiers))


def _limits(t: _Table) -> LimitsConfig:
    d = LimitsConfig()
    cfg = LimitsConfig(
        max_series=t.integer("max_series", d.max_series, 1, 1_000_000),
        max_payload=t.size("max_payload", d.max_payload, 16, 16 * 1024**2),
        max_line=t.size("max_line", d.max_line, 16, 1024**2),
        max_json_depth=t.integer("max_json_depth", d.max_json_depth, 1, 256),
        max_id_length=t.integer("max_id_length", d.max_id_length, 16, 4096),
        inbox=t.integer("inbox", d.inbox, 10, 10_000_000),
        max_clients=t.integer("max_clients", d.max_clients, 1, 100_000),
        max_clients_per_host=t.integer("max_clients_per_host", d.max_clients_per_host, 1, 100_000),
        client_backlog=t.integer("client_backlog", d.client_backlog, 1, 100_000),
        send_timeout=t.duration("send_timeout", d.send_timeout, 0.1, 600.0),
        max_clock_skew=t.duration("max_clock_skew", d.max_clock_skew, 0.0, 366 * 86400.0),
        timezone=_timezone(t, "timezone", d.timezone) or d.timezone,
    )
    t.finish()
    return cfg


def _unique(problems: _Problems, tables: list[_Table], section: str) -> None:
    """Reader names must differ; check the entries as written, valid or not."""
    seen: set[str] = set()
    for i, table in enumerate(tables):
        name = table.data.get("name", f"{section}{i}")
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.add(f"{table.path}.name", f"{_show(name)} is used twice; names must differ")
        seen.add(name)


def make_normalizer(limits: LimitsConfig) -> normalize.Normalizer:
    """The normalizer the server (and `telemetry parse`) use with these limits."""
    return normalize.Normalizer(
        limits.max_payload,
        limits.max_id_length,
        limits.max_json_depth,
        ClockPolicy(max_skew=limits.max_clock_skew, timezone=limits.timezone),
    )


def build_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document; raise `ConfigError` with every problem."""
    problems = _Problems(os.environ if env is None else env)
    root = _Table(data, "", problems)
    mqtt_tables, serial_tables = root.tables("mqtt"), root.tables("serial")
    mqtt = [_mqtt(t, i) for i, t in enumerate(mqtt_tables)]
    serial = [_serial(t, i) for i, t in enumerate(serial_tables)]
    _unique(problems, mqtt_tables, "mqtt")
    _unique(problems, serial_tables, "serial")
    config = Config(
        server=_server(root.table("server")),
        mqtt=tuple(m for m in mqtt if m is not None),
        serial=tuple(s for s in serial if s is not None),
        series=tuple(r for r in (_series(t) for t in root.tables("series")) if r is not None),
        history=_history(root.table("history")),
        limits=_limits(root.table("limits")),
        auth=_auth(root.table("auth")),
    )
    if config.auth.file is not None and "*" in config.server.cors_origins:
        problems.add(
            "server.cors_origins",
            '"*" with authentication would hand every site the logged-in data; name the origins',
        )
    root.finish()
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def parse_config(text: str, env: Mapping[str, str] | None = None, source: str = "config") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from exc
    return build_config(data, env)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from exc
    return parse_config(text, env, source=str(path))
