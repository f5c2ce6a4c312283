"""What a configuration will run, in a few lines, for `telemetry check-config`."""

from __future__ import annotations

from telemetry.config import Config
from telemetry.quantities import format_duration, format_size


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
            extra = f" template {sub.template}" if sub.template else ""
            extra += f" device {sub.device}" if sub.device else ""
            extra += " with radio metadata" if sub.radio else ""
            lines.append(f"  subscribe {sub.topic} qos {sub.qos} format {sub.format}{extra}")
    for p in config.serial:
        stop = f"{p.stopbits:g}"
        lines.append(
            f"serial {p.name}: {p.port} {p.baudrate} {p.bytesize}{p.parity}{stop} "
            f"{p.terminator} {p.encoding}, format {p.format}"
        )
    for rule in config.series:
        parts = [f"unit {rule.unit}"] if rule.unit else []
        parts += [f"{f.name} {f.arg}" for f in rule.filters]
        lines.append(f"series {rule.match}: {', '.join(parts) or 'no changes'}")
    if not config.mqtt and not config.serial:
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
    return "\n".join(lines)
