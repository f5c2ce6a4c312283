"""The configuration's values: frozen, typed dataclasses, one per section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telemetry.model import Route


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
    # The instance's name: in republished topics (`telemetry/<name>/...`) and in Home
    # Assistant's device names; None: the machine's hostname (`telemetry.instance`).
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AuthConfig:
    file: str | None = None  # credentials (`telemetry passwd`, `telemetry token`); None: no auth
    session: float = 30 * 86400.0  # how long a login lasts


# `format = "telemetry"`'s template when a subscription gives none: another
# instance's name is the device, its series id the sensor
# (telemetry/normalize/families/republished.py).
REPUBLISHED_TEMPLATE = "{ignore}/{device}/{sensor...}"


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    template: str | None = None
    format: str = "auto"
    qos: int = 0
    device: str | None = None
    timezone: str | None = None
    precision: str | None = None
    radio: bool = False  # keep radio metadata (rssi, snr, freq) of gateways' packets
    prefix: str = ""  # put before every device name
    time: str = "device"  # or "receive": device times are not used

    def route(self, source: str) -> Route:
        """How messages this subscription brings in are read.  `format = "telemetry"`
        without a template names its parts as the default republish prefix
        `telemetry/<instance>` lays them out (`REPUBLISHED_TEMPLATE`)."""
        template = self.template
        if template is None and self.format == "telemetry":
            template = REPUBLISHED_TEMPLATE
        return Route(
            source,
            "mqtt",
            self.format,
            template,
            self.device,
            self.timezone,
            self.precision,
            self.radio,
            self.prefix,
            self.time,
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
    prefix: str = ""  # put before the device name
    time: str = "device"  # or "receive": device times are not used

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
            prefix=self.prefix,
            time=self.time,
        )


# The kinds of kernel sensors `[[system]]` reads, each `true` (all), `false` (none)
# or a list of globs on the names it goes by (zone type, chip, 1-Wire id, IIO name).
SYSTEM_KINDS = ("thermal", "hwmon", "w1", "iio")


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """One `[[system]]` reader: the kernel's sensors under `root` (sysfs), polled."""

    name: str  # the device name of its readings, and the reader's name
    root: str = "/"
    interval: float = 10.0
    rescan: float = 60.0  # how often sensors are looked for again (hot-plugged 1-Wire)
    # Per kind of SYSTEM_KINDS: the globs of what is read (("*",): all; (): none).
    thermal: tuple[str, ...] = ("*",)
    hwmon: tuple[str, ...] = ("*",)
    w1: tuple[str, ...] = ("*",)
    iio: tuple[str, ...] = ("*",)
    throttled: bool = True  # the Raspberry Pi's undervoltage and throttling flags

    @property
    def route(self) -> Route:
        return Route(self.name, "system", "system", device=self.name, time="receive")


@dataclass(frozen=True, slots=True)
class CommandConfig:
    """One `[[command]]`: a program run every `interval`, its stdout read as lines of
    `format` (the serial formats), each line a message of device `name`."""

    name: str
    argv: tuple[str, ...] = ()  # run as is, no shell; empty when `shell` is given
    shell: str | None = None  # run by /bin/sh -c, only when given
    interval: float = 60.0
    timeout: float = 10.0
    format: str = "auto"
    # Added to the server's own environment; values may be secrets: never shown.
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    max_output: int = 64 * 1024  # bytes of stdout kept per run; the rest is discarded
    split: str = "lines"  # or "none": the whole output is one message (a JSON document)

    @property
    def route(self) -> Route:
        return Route(self.name, "serial", self.format, device=self.name)


@dataclass(frozen=True, slots=True)
class FilterSpec:
    name: str
    arg: Any


@dataclass(frozen=True, slots=True)
class SeriesRule:
    match: str
    unit: str | None = None
    filters: tuple[FilterSpec, ...] = ()
    name: str | None = None  # the display name
    hide: bool = False  # kept and streamed, not charted unless chosen
    drop: bool = False  # not stored nor streamed at all, counted as `dropped`
    chart: str | None = None  # a group name: the series of one group share a chart


# An `[[alert]]` rule's condition: exactly one of these keys in each rule.
ALERT_CONDITIONS = ("above", "below", "outside", "stale", "reader", "state")


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One `[[alert]]` rule.  `match` holds globs on series ids, or, for a `reader`
    rule, globs on reader names.  `threshold` is `above`'s or `below`'s level and
    `clear` the level the value must get back to (hysteresis; the threshold when
    not set); `low` and `high` are `outside`'s; `stale` the silence in seconds;
    `state` 1.0 for "on", 0.0 for "off"."""

    name: str
    match: tuple[str, ...]
    condition: str  # one of ALERT_CONDITIONS
    threshold: float | None = None
    clear: float | None = None
    low: float | None = None
    high: float | None = None
    stale: float | None = None
    state: float | None = None
    hold: float = 0.0  # `for`: seconds the condition must hold before it fires
    repeat: float | None = None  # seconds between notices while firing; None: never
    notify: tuple[str, ...] = ()  # `[[notify]]` sink names


NOTIFY_TYPES = ("webhook", "ntfy", "mqtt")


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """One `[[notify]]` sink: where an alert's notices go.  `url` is a webhook's or an
    ntfy topic's (http or https); an mqtt sink names a `[[mqtt]]` broker (`mqtt`) and
    the topic its messages go under.  `token` is sent as a Bearer token, never shown."""

    name: str
    type: str  # one of NOTIFY_TYPES
    url: str | None = field(default=None, repr=False)  # a webhook URL may be a secret
    token: str | None = field(default=None, repr=False)
    priority: str | None = None  # ntfy's
    mqtt: str | None = None
    topic: str = "telemetry/alerts"
    queue: int = 100
    timeout: float = 10.0


# The ranges the page offers (web/static/view.js, RANGES), and its grouping modes.
PAGE_RANGES = ("1m", "15m", "1h", "6h", "24h")
PAGE_GROUPS = ("quantity", "device", "none")


@dataclass(frozen=True, slots=True)
class PageConfig:
    """What the page shows before a visitor chooses otherwise."""

    range: str = "1h"
    series: tuple[str, ...] = ()  # globs on series ids: the default selection; none: all
    group: str = "quantity"  # charts by quantity (unit), by device, or one per series


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    raw_span: float = 15 * 60.0
    raw_points: int = 20_000
    # (bucket width, kept for) in seconds: 360 buckets for each of the page's ranges
    # (1 h, 6 h, 24 h) and for a month, so that 500 series full for 30 days stay
    # inside 100 MB on a Pi (the reasoning: README, "How history is kept"; what a
    # series takes: bench/README.md, memory).
    rollups: tuple[tuple[float, float], ...] = (
        (10.0, 3600.0),
        (60.0, 6 * 3600.0),
        (240.0, 86400.0),
        (7200.0, 30 * 86400.0),
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
    max_clock_skew: float = 600.0  # how far ahead of or behind the receive time
    timezone: str = "local"  # of zone-less device times: the machine's own


# -- inputs: HTTP ingest and recording (issue 24) ------------------------------


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """`[ingest]`: `POST /api/write` (and `/write`, `/api/v2/write`) and `/api/ingest`."""

    http: bool = False  # off unless asked for
    source: str = "http"  # the source name of what arrives (catalog, counters)
    max_body: int = 1024**2  # bytes of a request body as sent (413)
    max_inflated: int = 8 * 1024**2  # bytes of a gzip body once inflated (413)
    max_lines: int = 5000  # lines of one request (413); half the default inbox
    rate: int = 600  # requests a minute per client address (429)


RECORD_SIZES = (4096, 64 * 1024**3)  # a file's max_size: smaller rotates at every message
RECORD_KEEP = (0, 1000)


@dataclass(frozen=True, slots=True)
class RecordConfig:
    """`[record]`: every raw message kept as gzip JSON lines while serving."""

    file: str | None = None  # None: nothing recorded
    max_size: int = 16 * 1024**2  # compressed bytes per file, then it is rotated
    keep: int = 3  # rotated files kept beside the current one


@dataclass(frozen=True, slots=True)
class MqttOutputConfig:
    """One `[[output.mqtt]]`: readings republished to a broker (`devices.republish`).

    The broker is a configured `[[mqtt]]` one, named by `mqtt`, or the output's own
    (`broker`, from its `url`, `username`, `password` and TLS files).  `prefix` None
    is `telemetry/<instance>`; `interval` 0 sends every stored point; `session`
    "persistent" (QoS 1 only) connects with `client_id` and clean_session false."""

    name: str
    mqtt: str | None = None
    broker: MqttConfig | None = None
    prefix: str | None = None
    match: tuple[str, ...] = ()  # globs on series ids; none: every series
    qos: int = 0
    retain: bool = True
    interval: float = 0.0
    queue: int = 10_000
    session: str = "clean"  # or "persistent"
    client_id: str | None = None
    discovery: bool = False
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True, slots=True)
class InfluxOutputConfig:
    """One `[[output.influx]]`: readings written as line protocol over HTTP
    (`devices.influx`).  `api` "v1" posts to `{url}/write?db=`, "v2" to
    `{url}/api/v2/write?org=&bucket=`; `token` (v2) or `username`/`password` (v1)
    are never shown.  Each point is `measurement,device=..,sensor=..,unit=..
    value=<float> <time>` plus the static `tags`; `match` (globs on series ids)
    narrows what is written, empty for every series."""

    name: str
    url: str = field(default="", repr=False)  # checked: no credentials, query or fragment
    api: str = "v1"  # one of INFLUX_APIS
    database: str = "telemetry"  # v1
    org: str = ""  # v2
    bucket: str = ""  # v2
    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    precision: str = "ms"  # one of INFLUX_PRECISIONS
    measurement: str = "telemetry"
    tags: tuple[tuple[str, str], ...] = ()  # static tags, sorted by key
    match: tuple[str, ...] = ()
    batch: int = 5000  # points per request at most
    flush: float = 1.0  # seconds between requests when fewer than `batch` are waiting
    gzip: bool = True
    queue: int = 100_000  # points held while the database is away; the oldest dropped
    timeout: float = 10.0  # one request
    ca_file: str | None = None  # https: the CA that signed the database's certificate


INFLUX_APIS = ("v1", "v2")
INFLUX_PRECISIONS = ("s", "ms", "us", "ns")


@dataclass(frozen=True, slots=True)
class PrometheusOutputConfig:
    """`[output.prometheus]`: the last values of matching series in `/metrics`, at
    most `max_series` of them."""

    match: tuple[str, ...] = ()
    max_series: int = 1000


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """`[output]`: where readings leave the server (`telemetry.outputs`)."""

    mqtt: tuple[MqttOutputConfig, ...] = ()
    influx: tuple[InfluxOutputConfig, ...] = ()
    prometheus: PrometheusOutputConfig | None = None

    def __bool__(self) -> bool:
        """Whether any output that takes points is configured."""
        return bool(self.mqtt or self.influx)


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = ServerConfig()
    mqtt: tuple[MqttConfig, ...] = ()
    serial: tuple[SerialConfig, ...] = ()
    series: tuple[SeriesRule, ...] = ()
    history: HistoryConfig = HistoryConfig()
    limits: LimitsConfig = LimitsConfig()
    auth: AuthConfig = AuthConfig()
    page: PageConfig = PageConfig()
    alerts: tuple[AlertRule, ...] = ()
    notify: tuple[NotifyConfig, ...] = ()
    output: OutputConfig = OutputConfig()
    ingest: IngestConfig = IngestConfig()
    record: RecordConfig = RecordConfig()
    system: tuple[SystemConfig, ...] = ()
    command: tuple[CommandConfig, ...] = ()
