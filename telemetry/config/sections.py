"""Each section of the file, read into its dataclass; `build_config`, `parse_config` and
`load_config` read them all."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from telemetry import filters as filters_mod
from telemetry import normalize
from telemetry.config.alerts import alert_rule
from telemetry.config.broker import broker_url, tls_files
from telemetry.config.inputs import check_ingest_name, ingest_section, record_section
from telemetry.config.local_inputs import command_section, system_section
from telemetry.config.model import (
    PAGE_GROUPS,
    PAGE_RANGES,
    AuthConfig,
    Config,
    FilterSpec,
    HistoryConfig,
    LimitsConfig,
    MqttConfig,
    PageConfig,
    SerialConfig,
    SeriesRule,
    ServerConfig,
    Subscription,
)
from telemetry.config.notify import check_names, notify_sink
from telemetry.config.output_mqtt import check_brokers
from telemetry.config.outputs import output_section
from telemetry.config.table import (
    MAX_GLOBS,
    NAME,
    PATH,
    Problems,
    Table,
    check_globs,
    show,
    unique_names,
)
from telemetry.errors import ConfigError
from telemetry.normalize.timestamps import LOCAL, ClockPolicy, zone
from telemetry.topics import TopicTemplate, check_filter


def _server(t: Table) -> ServerConfig:
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
        name=t.string("name", None, pattern=NAME, form="a name of letters, digits, _.-"),
    )
    for i, origin in enumerate(cfg.cors_origins):
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            t.problems.add(
                f"{t.key('cors_origins')}[{i}]",
                f"{show(origin)} is not an origin; expected like https://grafana.lan:3000",
            )
    for i, proxy in enumerate(cfg.trusted_proxies):
        try:
            # Strict, as uvicorn reads them: a network with host bits set would
            # otherwise be taken as a name and silently match nothing.
            ipaddress.ip_network(proxy, strict=True)
        except ValueError:
            t.problems.add(
                f"{t.key('trusted_proxies')}[{i}]",
                f"{show(proxy)} is not an IP address or network; "
                'expected like "127.0.0.1", "::1" or "10.0.0.0/8"',
            )
    t.finish()
    return cfg


_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?"
)


def _auth(t: Table) -> AuthConfig:
    d = AuthConfig()
    cfg = AuthConfig(
        file=t.string("file", d.file),
        session=t.duration("session", d.session, 60.0, 366 * 86400.0),
    )
    t.finish()
    return cfg


PRECISIONS = ("s", "ms", "us", "ns")
TIMES = ("device", "receive")  # `time`: whose clock stamps a reading
_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _prefix(t: Table) -> str:
    """`prefix`: text put before every device name of a subscription or port."""
    return t.string("prefix", None, pattern=_PREFIX, form="1 to 64 letters, digits, _.:-") or ""


def _timezone(t: Table, name: str, default: str | None) -> str | None:
    text = t.string(name, default)
    if text is None or text in (default, LOCAL):
        return text
    try:
        zone(text)
    except ValueError:
        t.problems.add(
            t.key(name),
            f"{show(text)} is not a time zone; expected UTC, local (the machine's) "
            'or an IANA name such as "Europe/Berlin"',
        )
        return default
    return text


def _check_format(t: Table, name: str, options: tuple[str, ...]) -> str:
    return t.choice(name, "auto", options)


def _subscription(t: Table) -> Subscription | None:
    ok = t.required("topic")
    topic = t.string("topic", None)
    if topic is not None:
        problem = check_filter(topic)
        if problem:
            t.problems.add(t.key("topic"), f"{show(topic)} {problem}")
            ok = False
    template = t.string("template", None)
    device = t.string("device", None, pattern=NAME, form="a device name")
    if template is not None:
        try:
            names = TopicTemplate(template).names
        except ValueError as exc:
            t.problems.add(t.key("template"), f"{show(template)}: {exc}")
            ok = False
        else:
            if "device" not in names and device is None:
                t.problems.add(
                    t.key("template"),
                    f"{show(template)} names no {{device}}; add one or set device",
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
        radio=t.typed("radio", bool, "true or false") is True,
        prefix=_prefix(t),
        time=t.choice("time", "device", TIMES),
    )
    t.finish()
    return sub if ok else None


def _publishers(data: Mapping[str, Any]) -> set[str]:
    """The `[[mqtt]]` names a `[[notify]]` sink or an `[[output.mqtt]]` publishes to:
    such a broker may have no subscription of its own (publish only)."""
    output = data.get("output")
    names = set()
    for value in (data.get("notify"), output.get("mqtt") if isinstance(output, dict) else None):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("mqtt"), str):
                names.add(item["mqtt"])
    return names


def _mqtt(t: Table, index: int, publishers: AbstractSet[str] = frozenset()) -> MqttConfig | None:
    name = t.string("name", f"mqtt{index}", pattern=NAME, form="a name of letters, digits, _.-")
    ok = t.required("url")
    address = broker_url(t)
    ok = ok and address is not None
    host, port, tls = address or ("", 0, False)
    files = tls_files(t)
    sub_tables = t.tables("subscribe")
    subs = [_subscription(s) for s in sub_tables]
    seen_topics: set[str] = set()
    for table in sub_tables:
        topic = table.data.get("topic")
        if isinstance(topic, str) and topic in seen_topics:
            # the broker keeps one subscription per filter: the second would replace it.
            t.problems.add(
                f"{table.path}.topic",
                f"{show(topic)} is subscribed twice; expected each filter once per broker",
            )
            ok = False
        elif isinstance(topic, str):
            seen_topics.add(topic)
    publish_only = not sub_tables and name in publishers
    if not subs and not publish_only:
        t.problems.add(
            t.key("subscribe"),
            "is missing; expected at least one [[mqtt.subscribe]], unless a [[notify]] sink "
            "or an [[output.mqtt]] publishes to this broker",
        )
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
    return cfg if ok and len(cfg.subscribe) == len(subs) and (subs or publish_only) else None


def _serial(t: Table, index: int) -> SerialConfig | None:
    ok = t.required("name") & t.required("port")
    cfg = SerialConfig(
        name=t.string(
            "name", f"serial{index}", pattern=NAME, form="a name of letters, digits, _.-"
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
        prefix=_prefix(t),
        time=t.choice("time", "device", TIMES),
    )
    t.finish()
    return cfg if ok else None


# A display name or chart group: shown on the page as text, one line.
LABEL = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}")
LABEL_FORM = "a name of 1 to 100 characters on one line"


def _series(t: Table) -> SeriesRule | None:
    ok = t.required("match")
    specs: list[FilterSpec] = []
    raw = t.typed("filters", list, "a list of filters such as [{ clamp = [-40, 85] }]")
    for i, item in enumerate(raw or []):
        path = f"{t.key('filters')}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            t.problems.add(path, f"{show(item)} is not one filter such as {{ offset = -0.5 }}")
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
        name=t.string("name", None, pattern=LABEL, form=LABEL_FORM),
        hide=t.typed("hide", bool, "true or false") is True,
        drop=t.typed("drop", bool, "true or false") is True,
        chart=t.string("chart", None, pattern=LABEL, form=LABEL_FORM),
    )
    if rule.drop:
        kept = [k for k in ("unit", "filters", "name", "hide", "chart") if k in t.data]
        if kept:
            t.problems.add(
                t.key("drop"),
                f"true drops every reading, so {', '.join(kept)} would never apply; "
                "expected drop alone with match",
            )
            ok = False
    t.finish()
    return rule if ok else None


# The default selection goes to `/events?series=...`: what a stream takes (web/events.py).
MAX_PAGE_SERIES = MAX_GLOBS


def _page(t: Table) -> PageConfig:
    d = PageConfig()
    patterns = t.strings("series")
    if len(patterns) > MAX_PAGE_SERIES:
        t.problems.add(
            t.key("series"), f"{len(patterns)} patterns; expected at most {MAX_PAGE_SERIES}"
        )
        patterns = ()
    check_globs(t, "series", patterns)
    cfg = PageConfig(
        range=t.choice("range", d.range, PAGE_RANGES),
        series=patterns,
        group=t.choice("group", d.group, PAGE_GROUPS),
    )
    t.finish()
    return cfg


def _history(t: Table) -> HistoryConfig:
    d = HistoryConfig()
    cfg = HistoryConfig(
        raw_span=t.duration("raw_span", d.raw_span, 1.0, 7 * 86400.0),
        raw_points=t.integer("raw_points", d.raw_points, 10, 10_000_000),
        rollups=_rollups(t) if "rollups" in t.data else d.rollups,
        file=t.string("file", d.file, pattern=PATH, form="a file path") or None,
        commit_interval=t.duration("commit_interval", d.commit_interval, 1.0, 3600.0),
    )
    t.finish()
    return cfg


MAX_ROLLUPS = 6


def _rollups(t: Table) -> tuple[tuple[float, float], ...]:
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
            r.problems.add(r.key("keep"), f"{show(r.data['keep'])} is shorter than the bucket")
        elif ok and any(bucket == b for b, _ in tiers):
            r.problems.add(r.key("bucket"), f"{show(r.data['bucket'])} is used twice")
        elif ok:
            tiers.append((bucket, keep))
        r.finish()
    return tuple(sorted(tiers))


def _limits(t: Table) -> LimitsConfig:
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
    problems = Problems(os.environ if env is None else env)
    root = Table(data, "", problems)
    mqtt_tables, serial_tables = root.tables("mqtt"), root.tables("serial")
    alert_tables, notify_tables = root.tables("alert"), root.tables("notify")
    publishers = _publishers(data)
    mqtt = [_mqtt(t, i, publishers) for i, t in enumerate(mqtt_tables)]
    serial = [_serial(t, i) for i, t in enumerate(serial_tables)]
    unique_names(problems, mqtt_tables, "mqtt")
    unique_names(problems, serial_tables, "serial")
    system_tables, command_tables = root.tables("system"), root.tables("command")
    system = [system_section(t, i) for i, t in enumerate(system_tables)]
    command = [command_section(t, i) for i, t in enumerate(command_tables)]
    unique_names(problems, system_tables, "system")
    unique_names(problems, command_tables, "command")
    config = Config(
        server=_server(root.table("server")),
        mqtt=tuple(m for m in mqtt if m is not None),
        serial=tuple(s for s in serial if s is not None),
        series=tuple(r for r in (_series(t) for t in root.tables("series")) if r is not None),
        history=_history(root.table("history")),
        limits=_limits(root.table("limits")),
        auth=_auth(root.table("auth")),
        page=_page(root.table("page")),
        alerts=tuple(a for a in (alert_rule(t, i) for i, t in enumerate(alert_tables)) if a),
        notify=tuple(n for n in (notify_sink(t, i) for i, t in enumerate(notify_tables)) if n),
        output=output_section(root.table("output")),
        ingest=ingest_section(root.table("ingest")),
        record=record_section(root.table("record")),
        system=tuple(s for s in system if s is not None),
        command=tuple(c for c in command if c is not None),
    )
    unique_names(problems, alert_tables, "alert")
    unique_names(problems, notify_tables, "notify")
    check_names(problems, alert_tables, notify_tables, config.mqtt)
    check_ingest_name(problems, config)
    check_brokers(problems, data.get("output"), config.mqtt)
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
