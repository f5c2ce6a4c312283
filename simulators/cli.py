"""`telemetry sim mqtt|serial`: simulated devices run by hand.

The main CLI calls `add_sim_parser(subparsers)` and, for the `sim` command,
`args.func(args)`, which is `run_sim`.  A run lasts until `--duration` is over
or SIGINT/SIGTERM arrives, and then exits 0 after stopping cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

from simulators import signals
from simulators.firmware import FAMILIES, Quantity
from simulators.lines import LINE_FORMATS
from simulators.mqtt import MqttSimulator
from simulators.serial import PtyDevice, SerialFaults, SerialSimulator

# How often the main thread looks for the end of a run.
POLL = 0.2


def add_sim_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `sim` with its `mqtt` and `serial` subcommands; return the `sim` parser."""
    sim = subparsers.add_parser("sim", help="run simulated devices (MQTT or serial)")
    sim.set_defaults(func=run_sim)
    kinds = sim.add_subparsers(dest="sim_kind", metavar="{mqtt,serial}", required=True)

    mqtt = kinds.add_parser("mqtt", help="publish simulated sensors to an MQTT broker")
    mqtt.add_argument("--host", default="127.0.0.1", help="broker host (default: %(default)s)")
    mqtt.add_argument("--port", type=int, default=1883, help="broker port (default: %(default)s)")
    mqtt.add_argument(
        "--devices",
        type=_positive_int,
        default=3,
        help="simulated devices, two sensors each (default: %(default)s)",
    )
    mqtt.add_argument(
        "--prefix",
        default=None,
        help="the topic root: PREFIX/DEVICE/SENSOR for the number format (default: sim), "
        "the firmware's configurable base for the others (default: the firmware's own)",
    )
    mqtt.add_argument(
        "--format",
        choices=list(FAMILIES),
        default="number",
        help="the firmware whose payloads to publish (default: %(default)s)",
    )
    mqtt.add_argument(
        "--malformed",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share of payloads replaced by bad ones, 0..1 (default: %(default)s)",
    )
    mqtt.add_argument(
        "--disconnect-every",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="cut one device's connection this often, so the broker sends its will",
    )

    serial = kinds.add_parser("serial", help="a simulated serial device on a pseudo-terminal")
    serial.add_argument(
        "--link",
        required=True,
        metavar="PATH",
        help="the symlink to create, pointing at the pty (give it to [[serial]] port)",
    )
    serial.add_argument(
        "--format",
        choices=LINE_FORMATS,
        default="number",
        help="what the simulated sketch prints (default: %(default)s)",
    )
    serial.add_argument(
        "--baud",
        type=_positive_int,
        default=115200,
        help="lines come no faster than this baud rate carries them (default: %(default)s)",
    )
    for option, what in (
        ("--garbage", "lines preceded by garbage (wrong baud, boot log, NUL bytes)"),
        ("--split", "lines written in pieces with a pause between"),
        ("--endless-line", "lines preceded by a long line that never ends"),
    ):
        serial.add_argument(
            option, type=_share, default=0.0, metavar="SHARE", help=f"share of {what}, 0..1"
        )
    serial.add_argument(
        "--unplug-every",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="unplug the device this often, and plug it in again half a second later",
    )
    serial.add_argument(
        "--same-pty",
        action="store_true",
        help="replug on the same pty number when the kernel gives it back",
    )

    for parser in (mqtt, serial):
        parser.add_argument(
            "--rate",
            type=_positive_float,
            default=1.0,
            help="readings per sensor per second (default: %(default)s)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="makes the signals repeatable (default: %(default)s)",
        )
        parser.add_argument(
            "--duration",
            type=_positive_float,
            default=None,
            metavar="SECONDS",
            help="stop after this long (default: until Ctrl-C)",
        )
    return sim


def run_sim(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with _stop_on_signals(stop):
        if args.sim_kind == "mqtt":
            return _run_mqtt(args, stop)
        return _run_serial(args, stop)


def _run_mqtt(args: argparse.Namespace, stop: threading.Event) -> int:
    sim = MqttSimulator(
        args.host,
        args.port,
        args.devices,
        args.rate,
        seed=args.seed,
        prefix=args.prefix,
        duration=args.duration,
        format=args.format,
        malformed=args.malformed,
        disconnect_every=args.disconnect_every,
    )
    print(
        f"publishing {sim.sensors} sensors of {args.devices} devices to "
        f"mqtt://{args.host}:{args.port} in the {args.format} format "
        f"(topic root {sim.family.root or 'DEVICE'}); Ctrl-C stops",
        flush=True,
    )
    _run_until_done(sim, stop)
    print(
        f"published {sim.published} messages ({sim.failed} not sent: broker away; "
        f"{sim.spoiled} malformed, {sim.drops} connections cut)",
        flush=True,
    )
    return 0


def _run_serial(args: argparse.Namespace, stop: threading.Event) -> int:
    device = PtyDevice(args.link)
    try:
        device.open()
    except OSError as exc:
        print(f"sim serial: cannot create the device at {args.link!r}: {exc}", file=sys.stderr)
        return 1
    try:
        sim = SerialSimulator(
            device,
            _serial_channels(args.format, args.seed),
            args.rate,
            duration=args.duration,
            format=args.format,
            baud=args.baud,
            faults=SerialFaults(
                garbage=args.garbage,
                split=args.split,
                endless=args.endless_line,
                unplug_every=args.unplug_every,
                same_pty=args.same_pty,
            ),
            seed=args.seed,
        )
        print(
            f"simulated serial device at {device.link} -> {device.slave_name}; Ctrl-C stops",
            flush=True,
        )
        _run_until_done(sim, stop)
        print(
            f"wrote {sim.lines} lines ({device.dropped} bytes dropped: no reader kept up; "
            f"faults: {sim.injected or 'none'})",
            flush=True,
        )
    finally:
        device.close()
    return 0


def _serial_channels(format: str, seed: int) -> list[Quantity]:
    """One temperature for a one-number sketch; temperature, humidity and pressure else."""
    temperature = Quantity("temperature", "°C", signals.sine(21.0, 3.0, 60.0, 0.05, seed))
    if format == "number":
        return [temperature]
    return [
        temperature,
        Quantity("humidity", "%", signals.random_walk(40.0, 70.0, 0.8, seed + 1), 1),
        Quantity("pressure", "hPa", signals.sine(1013.0, 4.0, 900.0, 0.1, seed + 2), 1),
    ]


class _Simulator(Protocol):
    def start(self) -> None: ...
    def stop(self, timeout: float = 2.0) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


def _run_until_done(sim: _Simulator, stop: threading.Event) -> None:
    """Run `sim` until its duration is over or `stop` is set; always stop it."""
    sim.start()
    try:
        while not stop.is_set() and not sim.wait(POLL):
            pass
    finally:
        sim.stop()


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `stop` for the run; restore the handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (the tests call run_sim elsewhere)
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of 1 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value
