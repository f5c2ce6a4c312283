"""The alerts load of `bench.loads`: 100 `[[alert]]` rules over 200 sensors' series.

    python -m bench.loads_alerts [--seconds 60] [--repeat 3] [--json FILE] [--same]
                                 [--alone | --twin]

Two project servers side by side on the same publisher (200 sensors at 1 Hz,
own phases, `bench.loads_publisher`) and one client each: one with the usual
config, one with the same config and `alert_rules()` (issue 22: 100 rules over
200 sensors at 1 Hz add at most 5% to the server's CPU).  The ratio is CPU with
the rules / CPU without, window by window.  `python -m bench --only loads` runs
this load with the others; this command runs it alone, each repeat a pair of
windows in both start orders (`bench.loads.orders`); `--same` runs the second
server without rules too, for the noise between two identical servers.
`--alone` runs one server at a time instead (with the rules, then without, then
without, then with, ...): no start order to skew a window, at the price of the
machine's drift between two windows; each repeat is again a pair, its figure the
ratio of its two windows.  `--twin` keeps the servers side by side but gives each
a broker and a publisher of its own (`bench.loads.measure`'s `twins`): no broker
serves one server's subscription before the other's.

The rules are what an owner of these sensors would write: too warm, too cold
(with `clear` and `for`), outside a range, silent; most name one series, some
are globs over several or all of one kind.  The thresholds sit outside what the
sensors send, so most never fire, except on the link quality, which steps by 7
(mod 50) each second (`bench.loads_publisher.payload`): `link-high-*` and
`links-weak-*` fire and resolve every few tens of seconds, `link-held-*` go
pending and now and then fire; and `gone-silent` names a sensor that never
publishes, so it fires once its silence has lasted.  So the engine works on
every reading of a watched series, and changes state during every window.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ingest import private_broker

RULES = 100
SILENT_AFTER = "3s"  # `gone-silent`: short, so that it fires in a short smoke run


def _rule(name: str, match: str | Sequence[str], condition: str, **more: Any) -> str:
    globs = json.dumps(match if isinstance(match, str) else list(match))
    lines = [f'[[alert]]\nname = "{name}"\nmatch = {globs}\n{condition}\n']
    lines += [f"{'for' if key == 'hold' else key} = {json.dumps(v)}\n" for key, v in more.items()]
    return "".join(lines) + "\n"


def alert_rules(sensors: int = 200) -> str:
    """100 rules (TOML) over the series of `sensors` sensors (at least 200): even
    numbers are Zigbee2MQTT devices (`sensorN/temperature`, `humidity`, `battery`,
    `linkquality`, `stamp`), odd ones Tasmota (`tasmotaN/AM2301.Temperature`,
    `AM2301.Humidity`, `DS18B20.Temperature`, `Stamp`)."""
    if sensors < 200:
        raise ValueError(f"{sensors} sensors; the rules' globs expect at least 200")
    zigbee = list(range(0, sensors, 2))
    tasmota = list(range(1, sensors, 2))
    out = []
    # One series each (65).
    for n in zigbee[1:100:5]:  # 20: a freezer-like rule, never fires
        out.append(_rule(f"warm-{n}", f"sensor{n}/temperature", "above = 30", clear=28, hold="5m"))
    for n in tasmota[3:99:8]:  # 12
        m = f"tasmota{n}/DS18B20.Temperature"
        out.append(_rule(f"cold-{n}", m, "below = 5", clear=6, hold="10m"))
    for n in zigbee[2:96:8]:  # 12
        out.append(_rule(f"humidity-{n}", f"sensor{n}/humidity", "outside = [20, 80]"))
    for n in zigbee[4:100:20] + tasmota[7:100:20]:  # 10: plain ids, watched from the start
        m = f"sensor{n}/linkquality" if n % 2 == 0 else f"tasmota{n}/Stamp"
        out.append(_rule(f"silent-{n}", m, 'stale = "2m"'))
    for n in zigbee[6:100:17]:  # 6: fire at 146..149, resolve at 110 or less
        out.append(_rule(f"link-high-{n}", f"sensor{n}/linkquality", "above = 145", clear=110))
    for n in zigbee[9:100:25]:  # 4: pending at 141..149, firing when it holds a second
        out.append(_rule(f"link-held-{n}", f"sensor{n}/linkquality", "above = 140", hold="1s"))
    out.append(
        _rule("gone-silent", f"sensor{2 * sensors}/temperature", f'stale = "{SILENT_AFTER}"')
    )
    # Globs (35).
    for d in range(1, 10):  # 9 x 5 series
        out.append(_rule(f"room-{d}x-hot", f"sensor{d}?/temperature", "above = 30", clear=28))
    for d in range(1, 10):  # 9 x 5
        m = f"tasmota{d}?/AM2301.Temperature"
        out.append(_rule(f"tasmota-{d}x-cold", m, "below = 5", hold="2m"))
    for d in range(1, 10):  # 9 x 10
        probes = [f"tasmota{d}?/DS18B20.Temperature", f"tasmota{d}?/AM2301.Temperature"]
        out.append(_rule(f"probes-{d}x", probes, "outside = [0, 40]"))
    for d in (1, 2):  # 2 x 5: fire at 100..101, resolve above 120
        m = f"sensor{d}?/linkquality"
        out.append(_rule(f"links-weak-{d}x", m, "below = 102", clear=120))
    out.append(_rule("batteries-low", "sensor*/battery", "below = 15", clear=20, hold="1h"))
    out.append(_rule("humidity-all", "tasmota*/AM2301.Humidity", "outside = [10, 95]"))
    out.append(_rule("stamps-silent", "sensor*/stamp", 'stale = "1m"'))
    out.append(_rule("tasmota-silent", "tasmota*/Stamp", 'stale = "1m"'))
    out.append(_rule("humidity-dry", "sensor[1-4]?/humidity", "below = 20"))
    out.append(
        _rule("temps-2x", ["sensor2?/temperature", "tasmota2?/AM2301.Temperature"], "above = 35")
    )
    assert len(out) == RULES, len(out)
    return "".join(out)


def run(
    seconds: float, repeat: int, *, same: bool = False, alone: bool = False, twin: bool = False
) -> list[dict[str, Any]]:
    """`repeat` pairs of windows, each pair in both start orders.  `same`: the
    second server runs without rules too (the project from this directory again,
    as "project@."), to see what two identical servers differ by.  `alone`: each
    pair is two windows of one server each (`run_alone`)."""
    from bench.loads import LOADS, measure, orders  # noqa: PLC0415 (it imports this module)

    (load,) = [load for load in LOADS if load.alerts]
    other = f"project@{Path.cwd()}" if same else "alerts"
    runs = []
    with (
        private_broker() as broker,
        private_broker() if twin else contextlib.nullcontext(broker) as second,
        tempfile.TemporaryDirectory(prefix="bench-alerts-") as name,
    ):
        twins = (broker, second) if twin else ()
        if alone:
            return run_alone(load, broker, Path(name), seconds, repeat, other=other)
        for i in range(repeat):
            for kinds in orders(load, i):
                order = tuple(other if kind == "alerts" else kind for kind in kinds)
                r = measure(
                    load, broker, Path(name), window=seconds, settle=5.0, order=order, twins=twins
                )
                r["alerts"], r["first"] = r.pop(other), "alerts" if order[0] == other else "project"
                runs.append(r)
                with_, without = r["alerts"]["percent"], r["project"]["percent"]
                print(
                    f"{i + 1}/{repeat}, {'twin brokers, ' if twin else ''}{r['first']} first: "
                    f"with rules {with_:.3f}%, without "
                    f"{without:.3f}%, ratio {with_ / without:.3f}, "
                    f"{r['alerts'].get('alert_changes', 0)} changes in the window, "
                    f"{r['alerts'].get('alert_states', 0)} states",
                    flush=True,
                )
    return runs


def run_alone(
    load: Any, broker: Any, folder: Path, seconds: float, repeat: int, *, other: str
) -> list[dict[str, Any]]:
    """`repeat` pairs of windows, one server alone on the publisher in each: the
    one with the rules first in even pairs, second in odd ones (ABBA), so that a
    drift of the machine's load over the run cancels out over two pairs."""
    from bench.loads import measure  # noqa: PLC0415 (it imports this module)

    runs = []
    for i in range(repeat):
        r: dict[str, Any] = {"first": "alerts" if i % 2 == 0 else "project", "alone": True}
        for kind in (other, "project") if i % 2 == 0 else ("project", other):
            one = measure(load, broker, folder, window=seconds, settle=5.0, order=(kind,))
            r["alerts" if kind == other else "project"] = one[kind]
        runs.append(r)
        with_, without = r["alerts"]["percent"], r["project"]["percent"]
        print(
            f"{i + 1}/{repeat}, alone, {r['first']} first: with rules {with_:.3f}%, without "
            f"{without:.3f}%, ratio {with_ / without:.3f}, "
            f"{r['alerts'].get('alert_changes', 0)} changes in the window, "
            f"{r['alerts'].get('alert_states', 0)} states",
            flush=True,
        )
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loads_alerts", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the windows to this file")
    parser.add_argument(
        "--same", action="store_true", help="both servers without rules: the noise floor"
    )
    parser.add_argument("--alone", action="store_true", help="one server at a time: no start order")
    parser.add_argument(
        "--twin", action="store_true", help="a broker and a publisher for each server"
    )
    args = parser.parse_args(argv)
    runs = run(args.seconds, args.repeat, same=args.same, alone=args.alone, twin=args.twin)
    ratios = [r["alerts"]["percent"] / r["project"]["percent"] for r in runs]
    if args.alone:  # a run is a pair already
        pairs = ratios
    else:
        pairs = [math.sqrt(a * b) for a, b in zip(ratios[::2], ratios[1::2], strict=True)]
    with_ = statistics.median(r["alerts"]["percent"] for r in runs)
    without = statistics.median(r["project"]["percent"] for r in runs)
    print(
        f"median: with rules {with_:.3f}%, without {without:.3f}%, ratio "
        f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
        f"by pair ({'alone' if args.alone else 'both orders, geometric mean'}): "
        + ", ".join(f"{p:.3f}" for p in pairs)
    )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
