"""The `[[system]]` reader against a fake sysfs tree laid out as the kernel's (simulators.sysfs)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from devices import sysfs
from devices.sysfs import Refused, read_w1_slave, throttled_values
from devices.system import SystemSource
from simulators.sysfs import (
    DS18B20_BAD_CRC,
    DS18B20_GOOD,
    DS18B20_RESET,
    build_tree,
    w1_slave,
    write,
)
from telemetry import record
from telemetry.config import Config, make_normalizer, parse_config
from telemetry.handoff import Inbox
from telemetry.model import Reading
from telemetry.pipeline import Pipeline
from tests.harness.http import fetch
from tests.harness.server import StartServer
from tests.harness.waiting import wait_for_state, wait_until

W1 = "sys/bus/w1/devices"


def config(root: Path, extra: str = "", name: str = "pi") -> Config:
    return parse_config(f'[[system]]\nname = "{name}"\nroot = "{root}"\n{extra}', env={})


def source(root: Path, extra: str = "") -> SystemSource:
    (cfg,) = config(root, extra).system
    return SystemSource(cfg)


def readings(src: SystemSource) -> dict[str, Reading]:
    """One poll through the real normalizer, by series id."""
    src.rescan()
    msg = src.poll()
    assert msg is not None
    outcome = make_normalizer(Config().limits).normalize(msg)
    assert outcome.errors == []
    return {r.series: r for r in outcome.readings}


def values(src: SystemSource) -> dict[str, tuple[float, str | None]]:
    return {sid: (round(r.value, 3), r.unit) for sid, r in readings(src).items()}


def test_system_reads_every_kind_in_its_unit(tmp_path: Path) -> None:
    got = values(source(build_tree(tmp_path), "throttled = false"))
    assert got == {
        "pi/cpu-thermal": (48.686, "°C"),
        "pi/coretemp/Package id 0": (45.0, "°C"),
        "pi/coretemp/Core 0": (43.0, "°C"),
        "pi/nct6775/Vcore": (1.032, "V"),
        "pi/nct6775/fan1": (1241.0, "rpm"),
        "pi/nct6775/power1": (5.25, "W"),
        "pi/nct6775/curr1": (1.5, "A"),
        "pi/sht3x/temp1": (22.437, "°C"),
        "pi/sht3x/humidity1": (45.312, "%"),
        f"pi/{DS18B20_GOOD}": (23.125, "°C"),
        "pi/bme280/temp": (25.73, "°C"),
        "pi/bme280/humidityrelative": (48.56, "%"),
        "pi/bme280/pressure": (1005.12, "hPa"),  # IIO's kPa
        "pi/hdc100x/humidityrelative": (50.0, "%"),  # raw * scale
        "pi/hdc100x/temp": (25.46, "°C"),  # (raw + offset) * scale
        "pi/ads1115/voltage0": (2.492, "V"),  # raw * scale, in mV
    }


def test_system_reads_the_cpu_temperature_once_not_again_from_its_hwmon_twin(
    tmp_path: Path,
) -> None:
    got = values(source(build_tree(tmp_path), "hwmon = true\nw1 = false\niio = false"))
    assert [sid for sid in got if "thermal" in sid] == ["pi/cpu-thermal"]


def test_system_refuses_a_bad_crc_and_the_power_on_value_and_counts_them(tmp_path: Path) -> None:
    src = source(build_tree(tmp_path), 'w1 = ["28-*"]')
    got = readings(src)
    assert f"pi/{DS18B20_BAD_CRC}" not in got
    assert f"pi/{DS18B20_RESET}" not in got
    assert src.rejected == {"crc_failed": 1, "power_on_reset": 1}
    # The first conversion done, the sensor reads.
    write(tmp_path / W1 / DS18B20_RESET / "w1_slave", w1_slave(19812))
    assert readings(src)[f"pi/{DS18B20_RESET}"].value == 19.812


def test_system_w1_driver_temperature_file_is_read_when_there_is_no_w1_slave(
    tmp_path: Path,
) -> None:
    write(tmp_path / W1 / "28-00000a1b2c3d" / "temperature", "-1250\n")
    src = source(tmp_path, "throttled = false")
    assert values(src) == {"pi/28-00000a1b2c3d": (-1.25, "°C")}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not_a_number"),
        ("00 00 00 00 00 00 00 00 00 : crc=00 NO\n00 00 t=0\n", "crc_failed"),
        # Nine zero bytes (a shorted or unpowered data line): their CRC is 00, so
        # the kernel says YES, and t=0.
        ("00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n", "crc_failed"),
        ("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 t=85000\n", "power_on_reset"),
        ("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 t=\n", "not_a_number"),
    ],
)
def test_system_w1_slave_refusals_are_named(text: str, reason: str) -> None:
    with pytest.raises(Refused) as caught:
        read_w1_slave("28-x", text)
    assert caught.value.reason == reason


def test_system_w1_slave_reads_negative_and_top_of_range_temperatures() -> None:
    assert read_w1_slave("28-x", w1_slave(-10125)) == [("28-x", -10.125, "°C")]
    assert read_w1_slave("28-x", w1_slave(-55000)) == [("28-x", -55.0, "°C")]
    assert read_w1_slave("28-x", w1_slave(125000)) == [("28-x", 125.0, "°C")]


@pytest.mark.parametrize("garbage", ["nan", "inf", "-1e999", "Infinity"])
def test_system_garbage_that_float_would_read_is_counted_and_skipped(
    tmp_path: Path, garbage: str
) -> None:
    write(tmp_path / W1 / "28-00000a1b2c3d" / "temperature", f"{garbage}\n")
    write(tmp_path / "sys/class/hwmon/hwmon0/name", "nct6775\n")
    write(tmp_path / "sys/class/hwmon/hwmon0/temp1_input", f"{garbage}\n")
    write(tmp_path / "sys/class/hwmon/hwmon0/temp2_input", "30000\n")
    src = source(tmp_path, "throttled = false")
    assert values(src) == {"pi/nct6775/temp2": (30.0, "°C")}
    assert src.rejected == {"not_a_number": 2}


def test_system_chooses_sensors_by_globs(tmp_path: Path) -> None:
    extra = (
        'thermal = false\nhwmon = ["sht*"]\nw1 = ["28-0316*"]\niio = ["bme280"]\nthrottled = false'
    )
    assert sorted(values(source(build_tree(tmp_path), extra))) == [
        f"pi/{DS18B20_GOOD}",
        "pi/bme280/humidityrelative",
        "pi/bme280/pressure",
        "pi/bme280/temp",
        "pi/sht3x/humidity1",
        "pi/sht3x/temp1",
    ]


@pytest.mark.parametrize(
    ("text", "on"),
    [
        ("50005\n", {"undervoltage", "throttled", "undervoltage_occurred", "throttled_occurred"}),
        ("throttled=0x0\n", set()),
        ("throttled=0x80008\n", {"soft_temp_limit", "soft_temp_limit_occurred"}),
    ],
)
def test_system_throttled_flags_are_one_state_each(text: str, on: set[str]) -> None:
    flags = {sensor.removeprefix("throttled/"): (v, u) for sensor, v, u in throttled_values(text)}
    assert len(flags) == 8
    assert {name for name, (v, _) in flags.items() if v == 1.0} == on
    assert {u for _, u in flags.values()} == {"state"}


def test_system_throttled_flags_are_state_series(tmp_path: Path) -> None:
    got = readings(
        source(build_tree(tmp_path), "thermal = false\nhwmon = false\nw1 = false\niio = false")
    )
    assert {sid: (r.value, r.kind) for sid, r in got.items()} == {
        "pi/throttled/undervoltage": (1.0, "state"),
        "pi/throttled/freq_capped": (0.0, "state"),
        "pi/throttled/throttled": (1.0, "state"),
        "pi/throttled/soft_temp_limit": (0.0, "state"),
        "pi/throttled/undervoltage_occurred": (1.0, "state"),
        "pi/throttled/freq_capped_occurred": (0.0, "state"),
        "pi/throttled/throttled_occurred": (1.0, "state"),
        "pi/throttled/soft_temp_limit_occurred": (0.0, "state"),
    }


def test_system_skips_a_sensor_whose_file_is_gone_and_counts_it(tmp_path: Path) -> None:
    src = source(build_tree(tmp_path))
    src.rescan()
    shutil.rmtree(tmp_path / W1 / DS18B20_GOOD)  # unplugged: the kernel removes the directory
    msg = src.poll()
    assert msg is not None
    assert DS18B20_GOOD not in msg.payload.decode()
    assert "cpu-thermal" in msg.payload.decode()
    assert src.rejected["sensor_unreadable"] == 1
    src.rescan()  # forgotten until it comes back
    src.poll()
    assert src.rejected["sensor_unreadable"] == 1


def test_system_with_nothing_to_read_sends_nothing(tmp_path: Path) -> None:
    src = source(tmp_path)
    src.rescan()
    assert src.probes == []
    assert src.poll() is None


def series(url: str) -> dict[str, Any]:
    status, body, _ = fetch(url + "api/series")
    assert status == 200
    return json.loads(body)  # type: ignore[no-any-return]


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in doc["series"]}


def series_with(url: str, sid: str) -> dict[str, Any] | None:
    """The catalog once it has `sid`."""
    doc = series(url)
    return doc if sid in by_id(doc) else None


def test_system_server_streams_readings_and_a_removed_sensor_goes_stale(
    tmp_path: Path, start_server: StartServer
) -> None:
    build_tree(tmp_path)
    cfg = config(
        tmp_path,
        'interval = "200ms"\nrescan = "1s"\n'
        '[[series]]\nmatch = "pi/28-*"\nfilters = [{ stale = "1s" }]\n',
    )
    server = start_server(cfg, None)  # the readers the config names, as `telemetry serve`
    (src,) = server.runtime.sources
    wait_for_state(src, "connected")
    doc = wait_until(lambda: series_with(server.url, f"pi/{DS18B20_GOOD}"), what="the DS18B20")
    cpu = by_id(doc)["pi/cpu-thermal"]
    assert (cpu["last_value"], cpu["unit"], cpu["source"]) == (48.686, "°C", "pi")
    assert by_id(doc)["pi/throttled/undervoltage"]["kind"] == "state"
    reader = next(s for s in doc["sources"] if s["name"] == "pi")
    assert reader["kind"] == "system"
    assert set(reader["rejected"]) == {"crc_failed", "power_on_reset"}
    shutil.rmtree(tmp_path / W1 / DS18B20_GOOD)
    wait_until(
        lambda: by_id(series(server.url))[f"pi/{DS18B20_GOOD}"]["stale"],
        timeout=10,
        interval=0.2,
        what="the unplugged DS18B20's series is stale",
    )
    after = series(server.url)
    assert not by_id(after)["pi/cpu-thermal"]["stale"]
    assert next(s for s in after["sources"] if s["name"] == "pi")["state"] == "connected"
    status, body, _ = fetch(server.url + "metrics")
    assert status == 200
    text = body.decode()
    assert 'telemetry_reader_state{kind="system",source="pi",state="connected"} 1.0' in text
    assert 'telemetry_rejected_total{reason="crc_failed",source="pi"}' in text


def test_system_finds_a_hot_plugged_ds18b20_at_the_next_rescan(
    tmp_path: Path, start_server: StartServer
) -> None:
    cfg = config(tmp_path, 'interval = "100ms"\nrescan = "1s"\nthrottled = false')
    write(tmp_path / "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
    write(tmp_path / "sys/class/thermal/thermal_zone0/temp", "51000\n")
    server = start_server(cfg, None)
    wait_until(lambda: "pi/cpu-thermal" in by_id(series(server.url)), what="the CPU series")
    write(tmp_path / W1 / "28-00000b0b0b0b" / "w1_slave", w1_slave(20500))
    got = wait_until(
        lambda: by_id(series(server.url)).get("pi/28-00000b0b0b0b"),
        timeout=5,
        what="the new DS18B20",
    )
    assert (got["last_value"], got["unit"]) == (20.5, "°C")


def test_system_stop_wakes_the_sleeping_reader_at_once(tmp_path: Path) -> None:
    build_tree(tmp_path)
    src = source(tmp_path, 'interval = "1h"')
    batches: list[int] = []
    inbox = Inbox(100, lambda batch: batches.append(len(batch)))
    src.start(inbox)
    wait_until(lambda: src.received == 1, what="the first poll")
    started = time.monotonic()
    src.stop(timeout=5)
    assert time.monotonic() - started < 1.0
    assert src.status().state == "stopped"


def test_system_reads_vcgencmd_get_throttled_where_the_firmware_file_is_missing(
    tmp_path: Path,
) -> None:
    program = tmp_path / "vcgencmd"
    program.write_text('#!/bin/sh\n[ "$1" = get_throttled ] && echo throttled=0x20002\n')
    program.chmod(0o755)
    flags = {sensor: v for sensor, v, _ in sysfs.vcgencmd(str(program))}
    assert [s for s, v in flags.items() if v] == [
        "throttled/freq_capped",
        "throttled/freq_capped_occurred",
    ]
    # Under a fake root, never the machine's own vcgencmd: no flags without the file.
    assert sysfs.throttled(str(tmp_path)) == []


def test_system_unplugged_sensor_goes_stale_by_its_own_rhythm(tmp_path: Path) -> None:
    """No `stale` filter: the pipeline's derived limit (five usual intervals, 30 s at
    least) marks the unplugged DS18B20 stale while the CPU temperature stays live."""
    src = source(build_tree(tmp_path), 'interval = "10s"')
    clock = [1000.0]
    pipeline = Pipeline(config(tmp_path), clock=lambda: clock[0])
    src.rescan()

    def poll() -> None:
        msg = src.poll()
        assert msg is not None
        pipeline.ingest([msg])
        pipeline.take_tick(clock[0])
        clock[0] += 10.0

    for _ in range(5):
        poll()
    shutil.rmtree(tmp_path / W1 / DS18B20_GOOD)
    for _ in range(4):  # 40 s without it: under five intervals (50 s)
        poll()
    entries = {e.id: e for e in pipeline.store.entries()}
    assert not entries[f"pi/{DS18B20_GOOD}"].stale
    for _ in range(3):
        poll()
    assert entries[f"pi/{DS18B20_GOOD}"].stale
    assert not entries["pi/cpu-thermal"].stale
    assert src.rejected["sensor_unreadable"] == 7


def test_system_root_with_glob_characters_and_nameless_zones(tmp_path: Path) -> None:
    root = tmp_path / "root[1]*"
    write(root / "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
    write(root / "sys/class/thermal/thermal_zone0/temp", "50000\n")
    write(root / "sys/class/thermal/thermal_zone1/type", "\n")  # no name: not a series
    write(root / "sys/class/thermal/thermal_zone1/temp", "51000\n")
    assert values(source(root)) == {"pi/cpu-thermal": (50.0, "°C")}


def test_system_messages_record_and_replay_to_the_same_readings(tmp_path: Path) -> None:
    src = source(build_tree(tmp_path))
    src.rescan()
    msg = src.poll()
    assert msg is not None
    replayed = record.decode(json.loads(json.dumps(record.encode(msg))))
    assert replayed == msg
    live = make_normalizer(Config().limits).normalize(msg).readings
    again = make_normalizer(Config().limits).normalize(replayed).readings
    assert [(r.series, r.value, r.unit, r.kind) for r in again] == [
        (r.series, r.value, r.unit, r.kind) for r in live
    ]
