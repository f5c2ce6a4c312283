"""The `telemetry` command: serve, demo, parse, record, replay, check-config, sim.

The only place that sets up logging.  Exit codes: 0 success, 1 failure at run
time, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from telemetry import __version__
from telemetry.config import Config, load_config
from telemetry.errors import ConfigError, TelemetryError
from telemetry.logs import setup_logging
from telemetry.summary import summarize

if TYPE_CHECKING:
    from web.credentials import Credentials

logger = logging.getLogger(__name__)


def _print_url(url: str) -> None:
    print(f"Telemetry is live at {url}", flush=True)


def _with_address(config: Config, host: str | None, port: int | None) -> Config:
    server = config.server
    server = dataclasses.replace(
        server,
        host=server.host if host is None else host,
        port=server.port if port is None else port,
    )
    return dataclasses.replace(config, server=server)


def _load(path: str | None) -> Config:
    return Config() if path is None else load_config(path)


def cmd_serve(args: argparse.Namespace) -> int:
    from telemetry.server import serve

    config = _with_address(_load(args.config), args.host, args.port)
    return serve(config, on_ready=_print_url)


def _recording(config: Config, args: argparse.Namespace) -> Config:
    """`config` with `[record]` as the arguments say (`--out`/`--record`, `--max-size`,
    `--keep`)."""
    from telemetry.config.model import RECORD_KEEP, RECORD_SIZES
    from telemetry.quantities import format_size, parse_size

    record = config.record
    out = getattr(args, "out", None) or getattr(args, "record", None)
    if out:
        record = dataclasses.replace(record, file=out)
    if getattr(args, "max_size", None):
        try:
            size = parse_size(args.max_size)
        except ValueError:
            raise TelemetryError(f"--max-size {args.max_size!r} is not a size like 10MB") from None
        low, high = RECORD_SIZES
        if not low <= size <= high:
            raise TelemetryError(
                f"--max-size {args.max_size!r} is out of range; expected from "
                f"{format_size(low)} to {format_size(high)}"
            )
        record = dataclasses.replace(record, max_size=size)
    if getattr(args, "keep", None) is not None:
        if not RECORD_KEEP[0] <= args.keep <= RECORD_KEEP[1]:
            raise TelemetryError(
                f"--keep {args.keep} is out of range; expected from {RECORD_KEEP[0]} to "
                f"{RECORD_KEEP[1]}"
            )
        record = dataclasses.replace(record, keep=args.keep)
    return dataclasses.replace(config, record=record)


def cmd_demo(args: argparse.Namespace) -> int:
    from telemetry.demo import run_demo

    config = _recording(_with_address(Config(), args.host, args.port), args)
    return run_demo(config, on_ready=_print_url)


def cmd_record(args: argparse.Namespace) -> int:
    from telemetry.sessions import record

    config = _recording(load_config(args.config), args)
    if config.record.file is None:
        raise TelemetryError("nowhere to record: give --out FILE, or [record] file in the config")
    print(f"recording to {config.record.file}; Ctrl-C to stop", file=sys.stderr, flush=True)
    return record(config, args.duration)


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from telemetry.sessions import ReplaySource, replay_print

    if not Path(args.file).is_file():
        raise TelemetryError(f"{args.file}: no such recording")
    if args.speed is not None and args.speed < 0:
        raise TelemetryError("--speed must be 0 (as fast as it goes) or more")
    config = _load(args.config)
    if not args.serve:
        for line in replay_print(config, args.file, args.speed or 0.0):
            print(line)
        return 0
    from telemetry.server import serve

    config = _with_address(config, args.host, args.port)
    speed = 1.0 if args.speed is None else args.speed
    source = ReplaySource(args.file, speed, args.times)
    return serve(config, [source], on_ready=_print_url)


def cmd_parse(args: argparse.Namespace) -> int:
    from telemetry.parsetool import ParseTool

    tool = ParseTool(_load(args.config))
    if args.input in (None, "-"):
        for out in tool.run(sys.stdin):
            print(out, flush=True)
        return 0
    with open(args.input, encoding="utf-8", errors="surrogateescape") as lines:
        for out in tool.run(lines):
            print(out)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(summarize(config, args.file))
    return 0


def _credentials_file(args: argparse.Namespace) -> str:
    if args.file:
        return str(args.file)
    path = load_config(args.config).auth.file if args.config else None
    if path is None:
        raise TelemetryError("no credentials file: give --file, or --config with [auth] file")
    return path


def _credentials(args: argparse.Namespace, name: str, what: str) -> tuple[str, Credentials]:
    """The credentials file the arguments name, read (or new), once `name` is valid."""
    from web.credentials import NAME, Credentials

    if not NAME.fullmatch(name):
        raise TelemetryError(f"a {what} name is 1 to 64 letters, digits, '.', '_' or '-'")
    path = _credentials_file(args)
    return path, Credentials.load_or_new(path)


def cmd_passwd(args: argparse.Namespace) -> int:
    from web.credentials import hash_password

    path, credentials = _credentials(args, args.user, "user")
    if args.delete:
        credentials.users.pop(args.user, None)
    else:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.user}: ")
            if getpass.getpass("again: ") != password:
                raise TelemetryError("the passwords differ")
        if len(password) < 8:
            raise TelemetryError("a password needs at least 8 characters")
        credentials.users[args.user] = hash_password(password)
    credentials.save(path)
    print(f"{path}: {'removed' if args.delete else 'set'} {args.user}; restart the server to apply")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    import secrets

    from web.credentials import hash_token

    path, credentials = _credentials(args, args.name, "token")
    if args.delete:
        credentials.tokens.pop(args.name, None)
        credentials.save(path)
        print(f"{path}: removed token {args.name}; restart the server to apply")
        return 0
    token = secrets.token_urlsafe(32)
    credentials.tokens[args.name] = hash_token(token)
    credentials.save(path)
    print(f"{path}: token {args.name} added; restart the server to apply.", file=sys.stderr)
    print("It is shown once; send it as `Authorization: Bearer <token>`:", file=sys.stderr)
    print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from simulators.cli import add_sim_parser

    parser = argparse.ArgumentParser(
        prog="telemetry", description="Live sensor telemetry from MQTT, serial and HTTP devices."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: INFO",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the server from a config file")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (default: built-in)")
    p.add_argument("--host", help="address to listen on (overrides [server].host)")
    p.add_argument("--port", type=int, help="port to listen on, 0 for any free one")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="run the server with simulated devices, no hardware needed")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0 to open it to the LAN)"
    )
    p.add_argument("--port", type=int, default=8000, help="default: 8000; 0 for any free port")
    p.add_argument("--record", metavar="FILE", help="record every raw message (.jsonl.gz)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "record", help="record every raw message the config's readers receive (gzip JSON lines)"
    )
    p.add_argument("--config", metavar="FILE", required=True, help="TOML configuration")
    p.add_argument("--out", metavar="FILE", help="e.g. session.jsonl.gz (default: [record] file)")
    p.add_argument("--max-size", metavar="SIZE", help="per file, then rotated (default: 16MiB)")
    p.add_argument("--keep", type=int, metavar="N", help="rotated files kept (default: 3)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after (default: Ctrl-C)")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser(
        "replay", help="play a recording: print its readings, or --serve it to the page"
    )
    p.add_argument("file", metavar="FILE", help="a recording (.jsonl.gz)")
    p.add_argument(
        "--speed",
        type=float,
        help="times the recorded pace; 0 as fast as it goes (default: 1 with --serve, else 0)",
    )
    p.add_argument("--serve", action="store_true", help="run a server fed by the recording")
    p.add_argument(
        "--times",
        choices=["shift", "keep"],
        default="shift",
        help="--serve: stamp messages as played (shift, default) or keep the recorded times",
    )
    p.add_argument("--config", metavar="FILE", help="TOML configuration (limits, series, server)")
    p.add_argument("--host", help="--serve: address to listen on")
    p.add_argument("--port", type=int, help="--serve: port to listen on")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("parse", help="show the readings the server would take from messages")
    p.add_argument("--config", metavar="FILE", help="TOML configuration for topics and ports")
    p.add_argument("--input", metavar="FILE", help="JSON lines (default: standard input)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("check-config", help="validate a configuration file and summarize it")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_check_config)

    for command, name, what, func in (
        ("passwd", "user", "set (or --delete) a user's password for the login", cmd_passwd),
        ("token", "name", "add (or --delete) a bearer token for scripts; prints it", cmd_token),
    ):
        p = sub.add_parser(command, help=what)
        p.add_argument(name)
        p.add_argument("--config", metavar="FILE", help="the server's config: its [auth] file")
        p.add_argument("--file", metavar="FILE", help="the credentials file itself")
        p.add_argument("--delete", action="store_true")
        if command == "passwd":
            p.add_argument("--password-stdin", action="store_true", help="read it from stdin")
        p.set_defaults(func=func)

    add_sim_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except TelemetryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
