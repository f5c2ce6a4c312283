"""What a configuration will run, in a few lines, for `telemetry check-config`."""

from __future__ import annotations

import datetime as dt
import shlex
from urllib.parse import urlsplit

from telemetry.config import AlertRule, CommandConfig, Config, NotifyConfig, SystemConfig
from telemetry.config.model import SYSTEM_KINDS, InfluxOutputConfig, MqttOutputConfig
from telemetry.config.output_mqtt import output_prefix
from telemetry.normalize.timestamps import LOCAL
from telemetry.quantities import format_duration, format_size


def _reading(prefix: str, time: str, timezone: str | None) -> str:
    """What a subscription or port changes in how its readings are named and timed."""
    extra = f" prefix {prefix}" if prefix else ""
    extra += " receive times" if time == "receive" else ""
    return extra + (f" timezone {timezone}" if timezone else "")


def _zone(name: str) -> str:
    """`local` with what the machine's zone is now (`local, now CET +01:00`)."""
    if name != LOCAL:
        return name
    now = dt.datetime.now().astimezone()
    offset = now.strftime("%z")
    return f"local, now {now.tzname()} {offset[:3]}:{offset[3:]}"


def _alert(rule: AlertRule) -> str:
    """`alert freezer-warm: freezer/temperature above -15 (clears at -17) for 10m`."""
    what = ", ".join(rule.match)
    if rule.condition in ("above", "below"):
        cond = f"{rule.condition} {rule.threshold:g}"
        cond += f" (clears at {rule.clear:g})" if rule.clear != rule.threshold else ""
    elif rule.condition == "outside":
        cond = f"outside {rule.low:g} to {rule.high:g}"
    elif rule.condition == "stale":
        cond = f"no reading for {format_duration(rule.stale or 0.0)}"
    elif rule.condition == "state":
        cond = f"state {'on' if rule.state else 'off'}"
    else:
        cond = "not connected"
        what = "reader " + what
    text = f"alert {rule.name}: {what} {cond}"
    text += f" for {format_duration(rule.hold)}" if rule.hold else ""
    text += f", repeated every {format_duration(rule.repeat)}" if rule.repeat else ""
    if rule.notify:
        text += f", notify {', '.join(rule.notify)}"
    return text


def _system(s: SystemConfig) -> str:
    kinds = ", ".join(f"{kind} {' '.join(getattr(s, kind)) or 'none'}" for kind in SYSTEM_KINDS)
    return (
        f"system {s.name}: {s.root} every {format_duration(s.interval)} "
        f"(rescan {format_duration(s.rescan)}): {kinds}"
        + (", throttled flags" if s.throttled else "")
    )


def _command(c: CommandConfig) -> str:
    run = f"/bin/sh -c {shlex.quote(c.shell)}" if c.shell is not None else shlex.join(c.argv)
    env = f", env {', '.join(name for name, _ in c.env)}" if c.env else ""
    whole = ", the whole output one message" if c.split == "none" else ""
    return (
        f"command {c.name}: {run} every {format_duration(c.interval)}, "
        f"timeout {format_duration(c.timeout)}, format {c.format}, "
        f"output cap {format_size(c.max_output)}{env}{whole}"
    )


def _sink(sink: NotifyConfig) -> str:
    """`notify phone: ntfy to https://ntfy.sh (with a token), priority high`: the URL's
    host only, since a webhook's path or query may be its secret."""
    if sink.type == "mqtt":
        where = f"mqtt broker {sink.mqtt}, retained at {sink.topic}/<rule>/<series>"
    else:
        parts = urlsplit(sink.url or "")
        where = f"{sink.type} to {parts.scheme}://{parts.netloc.rpartition('@')[2]}/..."
        where += " (with a token)" if sink.token else ""
        where += f", priority {sink.priority}" if sink.priority else ""
    return f"notify {sink.name}: {where}; queue {sink.queue}, timeout {sink.timeout:g} s"


def _influx(cfg: InfluxOutputConfig) -> str:
    """`output influx db: v1 to http://127.0.0.1:8428 database telemetry ...`: the URL
    holds no credentials (the config refuses them); whether some are set is said."""
    where = f"database {cfg.database}" if cfg.api == "v1" else f"org {cfg.org} bucket {cfg.bucket}"
    auth = " (with a token)" if cfg.token else " (with a password)" if cfg.password else ""
    return (
        f"output influx {cfg.name}: {cfg.api} to {cfg.url}{auth}, {where}, measurement "
        f"{cfg.measurement!r}, precision {cfg.precision}, "
        + (f"series {', '.join(cfg.match)}" if cfg.match else "every series")
        + f"; batch {cfg.batch}, flush {format_duration(cfg.flush)}, "
        f"{'gzip, ' if cfg.gzip else ''}queue {cfg.queue}, timeout {cfg.timeout:g} s"
    )


def _output_mqtt(out: MqttOutputConfig, config: Config) -> str:
    """`output mqtt ha: to mqtt broker home, under telemetry/pi1/<device>/<sensor>, ...`:
    an own broker by its address and user only."""
    if out.broker is not None:
        who = f" as {out.broker.username}" if out.broker.username else ""
        where = f"{out.broker.url}{who}"
    else:
        where = f"mqtt broker {out.mqtt}"
    parts = [
        f"output mqtt {out.name}: to {where}, under "
        f"{output_prefix(out, config.server)}/<device>/<sensor>",
        f"series {', '.join(out.match)}" if out.match else "every series",
        f"qos {out.qos}" + (", retained" if out.retain else ", not retained"),
        f"at most one per series every {format_duration(out.interval)}"
        if out.interval
        else "every point",
        f"queue {out.queue}",
    ]
    if out.session == "persistent":
        parts.append(f"persistent session as {out.client_id or '<default id>'}")
    if out.discovery:
        parts.append(f"Home Assistant discovery under {out.discovery_prefix}")
    return "; ".join(parts)


def summarize(config: Config, source: str) -> str:
    s = config.server
    lines = [
        f"{source}: OK",
        f"server: http://{s.host}:{s.port}/ tick {format_duration(s.tick)}"
        + (f", allowed hosts {', '.join(s.allowed_hosts)}" if s.allowed_hosts else ""),
    ]
    for m in config.mqtt:
        who = f" as {m.username}" if m.username else ""
        tls = f" (CA {m.ca_file})" if m.ca_file else ""
        lines.append(
            f"mqtt {m.name}: {m.url}{who}{tls}, MQTT {m.protocol}, "
            f"keepalive {format_duration(m.keepalive)}"
        )
        for sub in m.subscribe:
            template = sub.route(m.name).template
            extra = f" template {template}" if template else ""
            extra += (
                " (the default: the site's name is the device)" if template != sub.template else ""
            )
            extra += f" device {sub.device}" if sub.device else ""
            extra += " with radio metadata" if sub.radio else ""
            extra += _reading(sub.prefix, sub.time, sub.timezone)
            lines.append(f"  subscribe {sub.topic} qos {sub.qos} format {sub.format}{extra}")
    for p in config.serial:
        stop = f"{p.stopbits:g}"
        lines.append(
            f"serial {p.name}: {p.port} {p.baudrate} {p.bytesize}{p.parity}{stop} "
            f"{p.terminator} {p.encoding}, format {p.format}"
            + _reading(p.prefix, p.time, p.timezone)
        )
    lines.extend(_system(s) for s in config.system)
    lines.extend(_command(c) for c in config.command)
    for rule in config.series:
        parts = ["dropped: not stored nor streamed"] if rule.drop else []
        parts += [f"name {rule.name!r}"] if rule.name else []
        parts += [f"unit {rule.unit}"] if rule.unit else []
        parts += [f"{f.name} {f.arg}" for f in rule.filters]
        parts += ["hidden until chosen"] if rule.hide else []
        parts += [f"chart {rule.chart!r}"] if rule.chart else []
        lines.append(f"series {rule.match}: {', '.join(parts) or 'no changes'}")
    lines.extend(_alert(rule) for rule in config.alerts)
    lines.extend(_sink(sink) for sink in config.notify)
    lines.extend(_output_mqtt(out, config) for out in config.output.mqtt)
    lines.extend(_influx(cfg) for cfg in config.output.influx)
    if config.output.prometheus is not None:
        prom = config.output.prometheus
        lines.append(
            f"output prometheus: the last values of {', '.join(prom.match)} in /metrics, "
            f"at most {prom.max_series} series"
        )
    page = config.page
    lines.append(
        f"page: range {page.range}, "
        + (f"series {', '.join(page.series)}" if page.series else "every series")
        + f", charts grouped by {page.group}"
    )
    ingest, record = config.ingest, config.record
    if ingest.http:
        lines.append(
            f"http ingest {ingest.source!r}: POST /api/write, /write, /api/v2/write, /api/ingest; "
            f"bodies up to {format_size(ingest.max_body)} "
            f"({format_size(ingest.max_inflated)} inflated), {ingest.max_lines} lines, "
            f"{ingest.rate} requests a minute per address; "
            + ("a token from [auth] file" if config.auth.file else "no token (loopback only)")
        )
    if record.file:
        lines.append(
            f"record: every raw message to {record.file}, rotated at "
            f"{format_size(record.max_size)}, {record.keep} older files kept"
        )
    if not (config.mqtt or config.serial or config.system or config.command or ingest.http):
        lines.append("no readers configured: the server will run with no devices")
    h, lim = config.history, config.limits
    lines.append(
        f"history: last {format_duration(h.raw_span)}, at most {h.raw_points} points per series"
        + "".join(
            f"; {format_duration(bucket)} buckets for {format_duration(keep)}"
            for bucket, keep in h.rollups
        )
        + (
            f"; saved to {h.file} every {format_duration(h.commit_interval)}"
            if h.file
            else "; kept in memory only"
        )
    )
    lines.append(
        f"limits: {lim.max_series} series, payloads up to {format_size(lim.max_payload)}, "
        f"lines up to {format_size(lim.max_line)}, {lim.max_clients} clients "
        f"({lim.max_clients_per_host} per address)"
    )
    lines.append(
        f"device times: zone-less ones in {_zone(lim.timezone)}; used when at most "
        f"{format_duration(lim.max_clock_skew)} ahead of or behind the receive time"
    )
    return "\n".join(lines)
