"""`[[notify]]`: a sink an `[[alert]]` rule's notices go to, and the checks that tie
the sections together (each name an alert's `notify` lists, each broker an mqtt
sink names, must exist)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from telemetry.config.model import NOTIFY_TYPES, MqttConfig, NotifyConfig
from telemetry.config.table import NAME, Problems, Table, show
from telemetry.topics import check_filter

NTFY_PRIORITIES = ("min", "low", "default", "high", "urgent", "max")
_TOKEN = re.compile(r"[!-~]{1,1024}")


def http_url(t: Table, credentials: str) -> str | None:
    """`url`, http or https with a host and a numeric port; no `user:password@`: it is
    sent by none of our clients, and `credentials` says where it goes instead."""
    url = t.string("url", None)
    if url is None:
        return None
    if not url.isascii() or not url.isprintable() or " " in url:
        t.problems.add(
            t.key("url"),
            "holds spaces, control or non-ASCII characters; expected a URL with them "
            "percent-encoded (value not shown)",
        )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # A webhook URL may carry a secret in its path or query: the scheme is shown alone.
        t.problems.add(
            t.key("url"),
            f"has the scheme {show(parts.scheme)} or no host; expected http://HOST/... or "
            "https://HOST/... (value not shown)",
        )
        return None
    if parts.username is not None or parts.password is not None:
        t.problems.add(
            t.key("url"), f"holds credentials; expected them in {credentials} (value not shown)"
        )
        return None
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range: its text is not shown
        port = 0
    if port == 0:
        t.problems.add(
            t.key("url"), "has a port that is not a number from 1 to 65535 (value not shown)"
        )
        return None
    return url


def notify_sink(t: Table, index: int) -> NotifyConfig | None:
    before = len(t.problems.lines)
    t.required("name")
    t.required("type")
    name = t.string("name", f"notify{index}", pattern=NAME, form="a name of letters, digits, _.-")
    kind = t.choice("type", "", NOTIFY_TYPES)
    url = mqtt = None
    topic = "telemetry/alerts"
    if kind in ("webhook", "ntfy"):
        t.required("url")
        url = http_url(t, 'token, e.g. "${NTFY_TOKEN}" (sent as a Bearer token)')
        for key in ("mqtt", "topic"):
            if key in t.data:
                t.used.add(key)
                t.problems.add(t.key(key), f"is not used by a {kind} sink; expected it with mqtt")
    elif kind == "mqtt":
        t.required("mqtt")
        mqtt = t.string("mqtt", None, pattern=NAME, form="the name of an [[mqtt]] broker")
        topic = t.string("topic", topic)
        if not topic or check_filter(topic) is not None or set("+#") & set(topic):
            t.problems.add(
                t.key("topic"), f"{show(topic)} is not a topic to publish to; expected like a/b"
            )
        for key in ("url", "token"):
            if key in t.data:
                t.used.add(key)
                t.problems.add(
                    t.key(key), "is not used by an mqtt sink; the [[mqtt]] broker's settings are"
                )
    priority = t.choice("priority", None, NTFY_PRIORITIES) if "priority" in t.data else None
    if priority is not None and kind != "ntfy":
        t.problems.add(t.key("priority"), 'is ntfy\'s; expected it with type = "ntfy"')
    token = t.string("token", None)
    if token is not None and not _TOKEN.fullmatch(token):
        # It would break the Authorization header (and http.client's error would show it).
        t.problems.add(t.key("token"), "is not a token of printable ASCII (value not shown)")
    cfg = NotifyConfig(
        name=name,
        type=kind,
        url=url,
        token=token,
        priority=priority,
        mqtt=mqtt,
        topic=topic,
        queue=t.integer("queue", 100, 1, 10_000),
        timeout=t.duration("timeout", 10.0, 0.5, 120.0),
    )
    t.finish()
    return cfg if len(t.problems.lines) == before else None


def check_names(
    problems: Problems,
    alert_tables: list[Table],
    notify_tables: list[Table],
    brokers: tuple[MqttConfig, ...],
) -> None:
    """Every sink an alert names is a `[[notify]]`; every broker a sink names is an
    `[[mqtt]]`.  Checked against the sections as written, valid or not."""
    written = {t.data.get("name") for t in notify_tables}
    for table in alert_tables:
        listed = table.data.get("notify")
        for i, sink in enumerate(listed if isinstance(listed, list) else ()):
            if isinstance(sink, str) and NAME.fullmatch(sink) and sink not in written:
                known = ", ".join(sorted(str(n) for n in written if isinstance(n, str)))
                problems.add(
                    f"{table.path}.notify[{i}]",
                    f"{show(sink)} is not a [[notify]] sink; expected one of: {known or 'none'}",
                )
    names = {m.name for m in brokers}
    for table in notify_tables:
        broker = table.data.get("mqtt")
        if table.data.get("type") == "mqtt" and isinstance(broker, str) and broker not in names:
            problems.add(
                f"{table.path}.mqtt",
                f"{show(broker)} is not a configured [[mqtt]] broker; expected one of: "
                + (", ".join(sorted(names)) or "none"),
            )
