"""The deployment files in deploy/: checked by the tools that will read them.

`systemd-analyze verify` on the unit, `nginx -t` on the site (with a throwaway
certificate, as an ordinary user), the example config through the project's own
loader, and every runtime dependency as a wheel for a 64-bit Raspberry Pi.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from telemetry.config import ServerConfig, load_config
from telemetry.parsetool import ParseTool
from tests.harness.parts import find_program, unavailable

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "telemetry.service"
SITE = DEPLOY / "nginx-telemetry.conf"
EXAMPLE = DEPLOY / "telemetry.toml"


# --- systemd -----------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """The unit's `[Section]` -> key -> values (a key may be given more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a setting outside any section: {raw!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service() -> dict[str, list[str]]:
    return unit_settings(UNIT.read_text(encoding="utf-8"))["Service"]


def test_unit_runs_the_server_as_its_own_user_with_the_hardening() -> None:
    s = service()
    one = {key: values[-1] for key, values in s.items()}
    assert one["ExecStart"] == (
        "/opt/telemetry/venv/bin/telemetry serve --config /etc/telemetry/telemetry.toml"
    )
    assert one["DynamicUser"] == "no"
    assert one["User"] == "telemetry"
    assert one["Group"] == "telemetry"
    assert "dialout" in " ".join(s["SupplementaryGroups"]).split()
    assert one["Restart"] == "on-failure"
    assert "RestartSec" in one
    assert one["NoNewPrivileges"] == "yes"
    assert one["ProtectSystem"] == "strict"
    assert one["ProtectHome"] == "yes"
    assert one["PrivateTmp"] == "yes"
    assert one["StateDirectory"] == "telemetry"
    assert one["ConfigurationDirectory"] == "telemetry"
    assert one["KillSignal"] == "SIGTERM"
    assert one["TimeoutStopSec"] == "10"
    assert one["LimitNOFILE"] == "1024"  # soft and hard: no library raises it unseen
    # Serial ports are reached through the dialout group: device access stays open.
    assert one.get("DevicePolicy", "auto") == "auto"
    assert "PrivateDevices" not in one


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = find_program("systemd-analyze", hint="sudo apt-get install systemd")
    # verify checks that ExecStart's program exists: point it at one that does.
    program = Path(sys.executable).parent / "telemetry"
    if not program.is_file():
        program = Path(shutil.which("true") or "/bin/true")
    text = UNIT.read_text(encoding="utf-8")
    text, count = re.subn(
        r"^ExecStart=/opt/telemetry/venv/bin/telemetry ",
        f"ExecStart={program} ",
        text,
        flags=re.MULTILINE,
    )
    assert count == 1
    unit = tmp_path / UNIT.name
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(done.stdout, done.stderr, sep="\n")  # shown when the test fails
    # Problems elsewhere on this machine (other units) are not the unit's.
    own = [line for line in done.stderr.splitlines() if UNIT.name in line or str(unit) in line]
    assert done.returncode == 0, done.stderr
    assert own == [], "\n".join(own)


def test_unit_and_example_config_agree_on_the_paths() -> None:
    s = service()
    assert "/etc/" + s["ConfigurationDirectory"][-1] + "/" in s["ExecStart"][-1]
    history = load_config(EXAMPLE).history.file
    assert history is not None
    assert history.startswith("/var/lib/" + s["StateDirectory"][-1] + "/")


# --- nginx -------------------------------------------------------------------------


def location(conf: str, path: str) -> str:
    """The body of `location [=] PATH { ... }` (the site's locations hold no blocks)."""
    found = re.search(r"location\s+(?:=\s*)?" + re.escape(path) + r"\s*\{([^{}]*)\}", conf)
    assert found, f"no location {path} in {SITE.name}"
    return found.group(1)


def directive(body: str, name: str) -> list[str]:
    """The arguments of every `name ...;` in a block body, comments left out."""
    lines = (line.split("#", 1)[0] for line in body.splitlines())
    text = "\n".join(lines)
    return [m.group(1).strip() for m in re.finditer(rf"^\s*{name}\s+([^;]*);", text, re.M)]


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}
    total = 0.0
    parts = re.findall(r"(\d+)(ms|s|m|h|d|)", value)
    assert parts, f"not an nginx time: {value!r}"
    for number, unit in parts:
        total += int(number) * units[unit]
    return total


def test_site_streams_events_unbuffered() -> None:
    conf = SITE.read_text(encoding="utf-8")
    events = location(conf, "/events")
    assert directive(events, "proxy_buffering") == ["off"]
    assert directive(events, "proxy_cache") == ["off"]
    assert directive(events, "gzip") == ["off"]
    assert directive(events, "proxy_http_version") == ["1.1"]
    assert directive(events, "proxy_set_header Connection") == ['""']
    assert directive(events, "proxy_pass") == ["http://127.0.0.1:8000"]
    (timeout,) = directive(events, "proxy_read_timeout")
    assert seconds(timeout) >= 60
    assert seconds(timeout) > ServerConfig().ping * 2
    # proxy_set_header in a location drops the server's: the forwarded ones must be here.
    headers = {h.split()[0] for h in directive(events, "proxy_set_header")}
    assert {"Host", "X-Forwarded-For", "X-Forwarded-Proto"} <= headers

    root = location(conf, "/")
    assert directive(root, "proxy_pass") == ["http://127.0.0.1:8000"]
    assert re.search(r"^\s*listen\s+443\s+ssl\b", conf, re.M)
    assert re.search(r"return\s+301\s+https://", conf)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = find_program("nginx", "/usr/sbin", hint="sudo apt-get install nginx")
    openssl = find_program("openssl", hint="sudo apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*make_cert, "-subj", "/CN=pi.example.lan", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = SITE.read_text(encoding="utf-8")
    site, n = re.subn(r"(?m)^(\s*ssl_certificate)\s+\S+;", rf"\1 {cert};", site)
    assert n == 1
    site, n = re.subn(r"(?m)^(\s*ssl_certificate_key)\s+\S+;", rf"\1 {key};", site)
    assert n == 1
    # `nginx -t` binds the listen addresses: as an ordinary user 80 and 443 are refused,
    # so listen on free loopback ports (IPv6 may be missing here; its lines go).
    ports = {"80": free_port(), "443": free_port()}
    site = re.sub(r"(?m)^\s*listen\s+\[::\]:\d+[^;]*;\n", "", site)
    site, n = re.subn(
        r"(?m)^(\s*listen\s+)(\d+)\b",
        lambda m: f"{m.group(1)}127.0.0.1:{ports[m.group(2)]}",
        site,
    )
    assert n == 2
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'logs' / 'error.log'};\n"
        "events {}\n"
        "http {\n"
        f"    access_log off;\n{temp_paths}\n"
        f"    include {tmp_path / 'site.conf'};\n"
        "}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(done.stdout, done.stderr, sep="\n")
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


# --- configuration -----------------------------------------------------------------


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.server.host == "0.0.0.0"
    assert config.server.allowed_hosts
    assert [m.url for m in config.mqtt] == ["mqtt://127.0.0.1:1883"]
    (port,) = config.serial
    assert port.port.startswith("/dev/serial/by-id/")
    assert config.history.file == "/var/lib/telemetry/history.sqlite"
    # nginx (deploy/nginx-telemetry.conf) proxies from this machine: only it is believed.
    assert config.server.trusted_proxies == ("127.0.0.1",)


def test_central_example_config_reads_every_site_with_a_persistent_session() -> None:
    """deploy/telemetry-central.toml: the federation's central instance (deploy/README.md);
    the bridge itself runs in tests/e2e/test_federation.py."""
    config = load_config(DEPLOY / "telemetry-central.toml")
    (broker,) = config.mqtt
    assert broker.client_id  # the broker keeps its QoS 1 session across restarts
    sites = broker.subscribe[0]
    assert (sites.topic, sites.format, sites.qos) == ("telemetry/+/#", "telemetry", 1)
    assert sites.route(broker.name).template == "{ignore}/{device}/{sensor...}"


def test_central_example_alerts_on_the_series_its_bridge_subscription_makes() -> None:
    """The bridge's notification read as `telemetry parse` (so the server) reads it
    is the series that the `site-link-down` rule matches."""
    config = load_config(DEPLOY / "telemetry-central.toml")
    line = json.dumps(
        {
            "transport": "mqtt",
            "topic": "$SYS/broker/connection/telemetry-greenhouse/state",
            "payload": "0",
        }
    )
    out = ParseTool(config).run_line(line, 1)
    assert out["errors"] == []
    (reading,) = out["readings"]
    series = f"{reading['device']}/{reading['sensor']}"
    assert (series, reading["value"]) == ("telemetry-greenhouse/state", 0.0)
    (rule,) = [r for r in config.alerts if r.name == "site-link-down"]
    assert any(fnmatch.fnmatchcase(series, glob) for glob in rule.match)


# --- wheels for the Pi -------------------------------------------------------------

UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "Could not fetch URL",
    "ProxyError",
    "Connection refused",
)


@pytest.mark.index
def test_every_runtime_dependency_has_an_aarch64_wheel(tmp_path: Path) -> None:
    """`pip install` on 64-bit Raspberry Pi OS (Bookworm, Python 3.11) builds nothing."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    requirements: list[str] = project["project"]["dependencies"]
    assert requirements
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:"]
    command += ["--platform", "manylinux2014_aarch64", "--platform", "manylinux_2_17_aarch64"]
    command += ["--python-version", "3.11", "--implementation", "cp", "-d", str(tmp_path)]
    command += ["--timeout", "30", "--retries", "2", "--progress-bar", "off"]
    command += ["--disable-pip-version-check", *requirements]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        unavailable("the package index did not answer pip download within 15 minutes")
        raise AssertionError("unreachable") from None
    output = done.stdout + done.stderr
    if done.returncode != 0 and any(sign in output for sign in UNREACHABLE):
        unavailable(
            "the package index is unreachable (pip download needs it; see `pip config list`):\n"
            + output[-2000:]
        )
    assert done.returncode == 0, f"no aarch64 wheel for some dependency:\n{output[-4000:]}"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files
    assert all(name.endswith(".whl") for name in files), files
    assert not [name for name in files if "x86_64" in name], files
