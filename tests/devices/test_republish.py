"""`[[output.mqtt]]` (`devices.republish.Republisher`) against a real mosquitto: the
topic and payload a subscriber reads, the retained last value, globs, the
interval, an outage with a bounded buffer, a persistent QoS 1 session, and a
broker that refuses or is not there."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from devices.mqtt_packets import split_packets
from devices.republish_wire import form, packets, payload, series_topic
from simulators.broker import Broker, free_port
from telemetry.config import MqttConfig
from telemetry.outputs import OutPoint
from tests.harness.broker import MosquittoFactory
from tests.harness.mqtt_watch import Watcher
from tests.harness.republish import PREFIX, T0, decoded, point
from tests.harness.waiting import wait_until


def wire(p: OutPoint) -> bytes | None:
    return payload(form("t", p.unit, p.kind, retain=True, v5=False), p)


@pytest.mark.parametrize("v5", [False, True])
def test_republish_packets_are_the_mqtt_publishes_of_the_payloads(v5: bool) -> None:
    readings = [point(f"d/s{i}", i * 1.5, T0 + i, unit="µg/m³") for i in range(50)]
    long = point("d/" + "x" * 200, 1.0)  # a remaining length over 127
    huge = point("d/" + "y" * 17_000, 2.0)  # over 16383
    nan = point("d/nan", float("nan"))
    messages = [
        (form(f"p/{p.series}", p.unit, p.kind, retain=True, v5=v5), p)
        for p in [*readings, long, huge, nan]
    ]
    cleared = (form("p/d/gone", None, "number", retain=True, v5=v5), None)
    data, count, refused = packets([*messages, cleared])
    assert (count, refused) == (53, 1)
    publishes, others, used, missing = split_packets(data, v5)
    assert (others, used, missing) == ([], len(data), 0)
    expected = [(f.topic.encode(), payload(f, p)) for f, p in messages if p is not nan]
    assert publishes == [*expected, (b"p/d/gone", b"")]
    # Retained, QoS 0: the first byte of each.
    assert data[0] == 0x31


def test_republish_sends_the_contract_topic_and_payload_retained(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, f"{PREFIX}/#")
    out = outputs(mosquitto)
    out.submit([point("kitchen/temp", 21.5, T0 + 0.1234), point("door/open", 1.0, T0, "state")], [])
    seen = w.wait_for(f"{PREFIX}/kitchen/temp")
    assert decoded(seen.payload) == {"v": 21.5, "u": "°C", "ts": T0 + 0.123, "kind": "number"}
    assert decoded(w.wait_for(f"{PREFIX}/door/open").payload) == {
        "v": 1.0,
        "u": None,
        "ts": T0,
        "kind": "state",
    }
    assert w.wait_for(f"{PREFIX}/status").payload == b"online"
    wait_until(lambda: out.status().sent == 2, what="both counted as sent")
    # A new subscriber gets the last value and the status, retained.
    late: Watcher = watch(mosquitto, f"{PREFIX}/#")
    assert late.wait_for(f"{PREFIX}/kitchen/temp").retain
    assert late.wait_for(f"{PREFIX}/status", b"online").retain
    status = out.status()
    assert (status.name, status.type, status.state, status.dropped) == ("out", "mqtt", "ok", 0)


def test_republish_topics_replace_wildcards_and_the_prefix_is_configurable() -> None:
    assert series_topic("x/y", "dev+1", "a/#/b") == "x/y/dev_1/a/_/b"
    assert wire(point("a/b", float("nan"))) is None
    assert (
        wire(point("a/b", 1e20, unit=None))
        == b'{"v":1e+20,"ts":1765000000.000,"u":null,"kind":"number"}'
    )


def test_republish_keeps_the_newest_value_retained_and_skips_late_points(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "late/#")
    out = outputs(mosquitto, prefix="late")
    out.submit([point("a/t", 1.0, T0 + 10)], [])
    out.submit([point("a/t", 2.0, T0 + 5)], [])  # older than the last sent: skipped
    out.submit([point("a/t", 3.0, T0 + 11)], [])
    wait_until(lambda: out.status().sent == 2, what="two sent")
    w.wait_for("late/a/t", wire(point("a/t", 3.0, T0 + 11)))
    assert [decoded(m.payload)["v"] for m in w.messages() if m.topic == "late/a/t"] == [1.0, 3.0]
    assert out.late == 1
    again: Watcher = watch(mosquitto, "late/a/t")
    assert decoded(again.wait_for("late/a/t").payload)["v"] == 3.0


def test_republish_match_globs_choose_the_series(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "globs/#")
    out = outputs(mosquitto, prefix="globs", match=("kitchen/*", "*/co2"))
    out.submit(
        [point("kitchen/temp", 1), point("garage/temp", 2), point("office/co2", 3, unit="ppm")],
        [],
    )
    w.wait_for("globs/office/co2")
    w.wait_for("globs/kitchen/temp")
    wait_until(lambda: out.status().sent == 2, what="two sent")
    assert "globs/garage/temp" not in w.last()


def test_republish_interval_sends_at_most_one_per_interval_and_the_latest_at_its_end(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "rate/#")
    out = outputs(mosquitto, prefix="rate", interval=0.5)
    start = time.monotonic()
    for i in range(10):  # 10 points over about 0.45 s
        out.submit([point("a/t", float(i), T0 + i)], [])
        time.sleep(0.05)
    w.wait_for("rate/a/t", None)
    wait_until(lambda: len([m for m in w.messages() if m.topic == "rate/a/t"]) == 2, what="two")
    values = [decoded(m.payload)["v"] for m in w.messages() if m.topic == "rate/a/t"]
    assert values == [0.0, 9.0]  # the first at once, the latest at the interval's end
    assert time.monotonic() - start >= 0.5
    assert out.status().queued == 0


def test_republish_buffer_through_an_outage_drops_the_oldest_counted_and_sends_the_newest(
    mosquitto_factory: MosquittoFactory, outputs: Any, watch: Any
) -> None:
    broker = mosquitto_factory()
    out = outputs(broker, prefix="cut", queue=5)
    out.submit([point("a/t", 0.0, T0)], [])
    wait_until(lambda: out.status().sent == 1, what="connected and sending")
    broker.stop()
    wait_until(lambda: out.status().state == "failing", what="the outage seen")
    for i in range(1, 13):  # 12 readings during the outage, buffer of 5
        out.submit([point(f"a/s{i}", float(i), T0 + i)], [])
    status = out.status()
    assert (status.queued, status.dropped, status.sent) == (5, 7, 1)
    assert status.last_error is not None and "lost the connection" in status.last_error
    broker.start()
    w: Watcher = watch(broker, "cut/#")
    wait_until(lambda: out.status().sent == 6, timeout=10, what="the buffer sent after reconnect")
    for i in range(8, 13):
        assert decoded(w.wait_for(f"cut/a/s{i}").payload)["v"] == float(i)
    assert not any(m.topic == f"cut/a/s{i}" for i in range(1, 8) for m in w.messages())
    status = out.status()
    assert (status.state, status.queued, status.dropped) == ("ok", 0, 7)
    assert status.failed >= 1


def test_republish_qos1_persistent_session_keeps_its_client_id_and_session(
    mosquitto_factory: MosquittoFactory, outputs: Any, watch: Any
) -> None:
    broker = mosquitto_factory()
    w: Watcher = watch(broker, "keep/#")
    out = outputs(broker, prefix="keep", qos=1, session="persistent", client_id="pi1-keep")
    out.submit([point("a/t", 1.0)], [])
    seen = w.wait_for("keep/a/t")
    assert seen.qos == 1
    wait_until(lambda: out.status().sent == 1, what="acknowledged")
    # mosquitto logs the connect flags: c0 is clean session false.
    wait_until(lambda: "as pi1-keep (p2, c0" in broker.log.read_text(), what="c0 in the log")


def test_republish_shows_failing_on_a_refused_login_and_never_logs_the_password(
    mosquitto_factory: MosquittoFactory, outputs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = mosquitto_factory(anonymous=False)
    cfg = MqttConfig(
        name="own", host=broker.host, port=broker.port, username="pi", password="s3cret-pw"
    )
    out = outputs(cfg)
    started = time.perf_counter()
    for i in range(200):
        out.submit([point("a/t", float(i), T0 + i)], [])
    assert time.perf_counter() - started < 0.5  # submit never waits on the broker
    status = wait_until(
        lambda: out.status() if out.status().state == "failing" else None, what="failing"
    )
    assert status.last_error is not None and "refused" in status.last_error
    assert status.queued == 200 and status.sent == 0
    assert all("s3cret-pw" not in r.getMessage() for r in caplog.records)
    assert "s3cret-pw" not in repr(out.status())


def test_republish_unreachable_broker_is_failing_and_stops_in_time(
    outputs: Any,
) -> None:
    out = outputs(MqttConfig(name="gone", host="127.0.0.1", port=free_port()), queue=3)
    for i in range(5):
        out.submit([point("a/t", float(i), T0 + i)], [])
    wait_until(lambda: out.status().state == "failing", what="failing")
    assert out.status().failed >= 1
    started = time.monotonic()
    out.stop(1.0)
    assert time.monotonic() - started < 2.0
    status = out.status()
    assert (status.state, status.queued, status.dropped) == ("stopped", 0, 5)


def test_republish_stop_flushes_and_publishes_offline(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "bye/#")
    out = outputs(mosquitto, prefix="bye", interval=60.0)
    out.submit([point("a/t", 1.0, T0)], [])
    out.submit([point("a/t", 2.0, T0 + 1)], [])  # held for the interval
    w.wait_for("bye/a/t")
    out.stop(2.0)
    assert decoded(w.wait_for("bye/a/t", None).payload)["v"] in (1.0, 2.0)
    w.wait_for("bye/status", b"offline")
    assert decoded(w.last()["bye/a/t"])["v"] == 2.0  # the held latest was flushed
    assert out.status().state == "stopped"
