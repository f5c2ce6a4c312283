"""A broker's address and TLS files as a config table gives them: `[[mqtt]]`'s and
an `[[output.mqtt]]`'s own broker (`url`, `ca_file`, `cert_file`, `key_file`)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from telemetry.config.table import Table, show


class Address(NamedTuple):
    host: str
    port: int
    tls: bool


def broker_url(t: Table) -> Address | None:
    """`url = "mqtt://HOST[:PORT]"` or `mqtts://`; None (a problem recorded) when it is
    not one, or is absent.  A password put in the URL is never echoed."""
    url = t.string("url", None)
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        parsed_port = parts.port
    except ValueError:
        parsed_port = -1
    shown = show(url.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1))
    expected = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parsed_port in (-1, 0):
        t.problems.add(t.key("url"), f"{shown} is not a broker URL; {expected}")
        return None
    if "@" in parts.netloc or parts.path not in ("", "/") or parts.query:
        t.problems.add(
            t.key("url"),
            f"{shown} holds more than a broker address; {expected}, with credentials "
            "in username and password",
        )
        return None
    tls = parts.scheme == "mqtts"
    return Address(unquote(parts.hostname), parsed_port or (8883 if tls else 1883), tls)


def tls_files(t: Table) -> dict[str, str | None]:
    """`ca_file`, `cert_file` and `key_file`, each checked to be a readable file."""
    files = {k: t.string(k, None) for k in ("ca_file", "cert_file", "key_file")}
    for key, path in files.items():
        if path is not None and not Path(path).is_file():
            t.problems.add(t.key(key), f"{show(path)} is not a readable file")
    if (files["cert_file"] is None) != (files["key_file"] is None):
        t.problems.add(t.key("cert_file"), "cert_file and key_file go together; set both")
    return files
