"""The kernel's sensors in sysfs: where they are, and what their files mean.

`discover(root, cfg)` lists the `Probe`s under a root (`/`, or a fake tree in
the tests); `Probe.read()` reads one and returns its readings, each in the
vocabulary's unit.  The files and their units are the kernel's ABI:

- thermal zones, `Documentation/ABI/testing/sysfs-class-thermal`:
  `/sys/class/thermal/thermal_zone*/temp` in millidegrees Celsius, `type` the
  zone's name (`cpu-thermal` on a Raspberry Pi);
- hwmon, `Documentation/hwmon/sysfs-interface.rst`: `temp*_input` m°C,
  `in*_input` mV, `fan*_input` RPM, `power*_input` µW, `curr*_input` mA,
  `humidity*_input` m% (milli-percent), `*_label` the channel's name; the chip's
  `name` (older drivers put the files under `device/`);
- 1-Wire thermometers (`w1_therm`, `Documentation/w1/slaves/w1_therm.rst`):
  `/sys/bus/w1/devices/28-*/w1_slave`, two lines, the first ending `crc=XX YES`
  (or `NO`), the second `t=` in m°C; newer kernels also have `temperature` (m°C);
- IIO, `Documentation/ABI/testing/sysfs-bus-iio`: `in_<type>[N]_input`, or
  `in_<type>[N]_raw` with `_scale` and `_offset` (value = (raw + offset) *
  scale) per channel or shared per type, in the ABI's units: temp m°C,
  humidityrelative m%, pressure kPa, voltage mV, current mA, power mW,
  illuminance lx.  The BME280 and BMP280 (`bmp280` driver) give
  `in_temp_input`, `in_pressure_input`, `in_humidityrelative_input`; the
  ADS1015/ADS1115 (`ti-ads1015`) `in_voltageN_raw` and `in_voltageN_scale`.
  (The SHT3x's driver, `sht3x`, is a hwmon driver: its files are hwmon's.)
- the Raspberry Pi firmware's throttling flags (`get_throttled`, hex; bits
  from the firmware's documentation of `vcgencmd get_throttled`).

Pressure is given in hPa (the kPa of IIO times ten: what weather sites and the
other payload families say), voltage in V, current in A, power in W.

A file that is gone or fails to read (ENODEV, EIO from an unplugged 1-Wire
sensor) makes `read` raise OSError; the reader skips that probe this poll.
"""

from __future__ import annotations

import fnmatch
import glob
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from telemetry.config import SystemConfig

# A value and its unit, or "state" for an on/off flag; what a probe's read gives.
Value = tuple[str, float, str | None]


class Refused(ValueError):
    """A file read but its value refused; `reason` is the counter's name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def read_text(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read(4096)


def read_number(path: str) -> float:
    """A file's number; `nan`, `inf` and overflows, which `float` takes and no kernel
    file holds, are refused with the rest of the garbage."""
    text = read_text(path).strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Refused("not_a_number", f"{path}: {text[:40]!r} is not a number")
    return value


@dataclass(frozen=True, slots=True)
class Probe:
    """One sensor file and how to read it."""

    sensor: str
    path: str
    read: Callable[[], list[Value]]


def _scaled(sensor: str, path: str, factor: float, unit: str | None) -> Probe:
    return Probe(sensor, path, lambda: [(sensor, read_number(path) * factor, unit)])


def _clean(name: str) -> str:
    """A file's text as a sensor name part: one line, no '/'."""
    return "".join(c if c.isprintable() and c != "/" else "_" for c in name.strip())[:64]


def _wanted(name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def _sys(root: str, *parts: str) -> str:
    return os.path.join(root, "sys", *parts)


def _glob(root: str, *parts: str) -> list[str]:
    """The paths under `root` that `parts` (the last a pattern) match, in natural order."""
    return sorted(glob.glob(os.path.join(glob.escape(root), "sys", *parts)), key=_natural)


def _name_of(path: str) -> str | None:
    """The name a file holds (a zone's type, a chip's name, a label); None if none."""
    try:
        return _clean(read_text(path)) or None
    except OSError:
        return None


# Thermal zones -------------------------------------------------------------


def thermal(root: str, globs: tuple[str, ...]) -> list[Probe]:
    probes = []
    seen: set[str] = set()
    for zone in _glob(root, "class", "thermal", "thermal_zone*"):
        kind = _name_of(os.path.join(zone, "type"))
        if kind is None or not _wanted(kind, globs):
            continue
        sensor = kind if kind not in seen else f"{kind}-{os.path.basename(zone)[12:]}"
        seen.add(kind)
        probes.append(_scaled(sensor, os.path.join(zone, "temp"), 0.001, "°C"))
    return probes


# hwmon ---------------------------------------------------------------------

# hwmon's input files: prefix -> (factor to the unit, unit).
HWMON = {
    "temp": (0.001, "°C"),
    "in": (0.001, "V"),
    "fan": (1.0, "rpm"),
    "power": (1e-6, "W"),
    "curr": (0.001, "A"),
    "humidity": (0.001, "%"),
}
_HWMON_INPUT = re.compile(r"(temp|in|fan|power|curr|humidity)(\d+)_input")


def hwmon(root: str, globs: tuple[str, ...], skip: set[str]) -> list[Probe]:
    """The chips' inputs; chips named in `skip` (a thermal zone's own hwmon twin,
    `cpu_thermal` beside the zone `cpu-thermal`) are left out."""
    probes = []
    seen: set[str] = set()
    for chip in _glob(root, "class", "hwmon", "hwmon*"):
        base = chip
        name = _name_of(os.path.join(chip, "name"))
        if name is None:  # older drivers: the attributes are the device's
            base = os.path.join(chip, "device")
            name = _name_of(os.path.join(base, "name"))
        if name is None or name in skip or not _wanted(name, globs):
            continue
        if name in seen:  # two chips of one driver: tell them apart
            name = f"{name}-{os.path.basename(chip)}"
        seen.add(name)
        try:
            files = sorted(os.listdir(base), key=_natural)
        except OSError:
            continue
        for file in files:
            match = _HWMON_INPUT.fullmatch(file)
            if match is None:
                continue
            channel = f"{match.group(1)}{match.group(2)}"
            label = _name_of(os.path.join(base, f"{channel}_label")) or channel
            factor, unit = HWMON[match.group(1)]
            probes.append(_scaled(f"{name}/{label}", os.path.join(base, file), factor, unit))
    return probes


# 1-Wire --------------------------------------------------------------------

W1_FAMILIES = ("10-*", "22-*", "28-*", "3b-*", "42-*")  # w1_therm's thermometers
POWER_ON_RESET = 85000  # m°C: the DS18B20's register before its first conversion


def _w1_value(sensor: str, milli: int) -> list[Value]:
    if milli == POWER_ON_RESET:
        raise Refused("power_on_reset", f"{sensor}: 85 °C, the power-on value, not a reading")
    return [(sensor, milli / 1000, "°C")]


def read_w1_slave(sensor: str, text: str) -> list[Value]:
    """`w1_slave`'s two lines: the CRC check, then `t=` in m°C."""
    lines = text.splitlines()
    if len(lines) < 2 or "crc=" not in lines[0]:
        raise Refused("not_a_number", f"{sensor}: w1_slave is not two lines with crc=")
    if not lines[0].rstrip().endswith("YES"):
        raise Refused("crc_failed", f"{sensor}: the CRC check failed")
    if set(lines[0].partition(":")[0].split()) == {"00"}:
        # A shorted or unpowered data line reads nine zero bytes, whose CRC is 00.
        raise Refused("crc_failed", f"{sensor}: the scratchpad read as zeros (the CRC of nothing)")
    text = lines[1].rpartition("t=")[2].strip()
    try:
        milli = int(text)
    except ValueError:
        raise Refused("not_a_number", f"{sensor}: {text[:20]!r} is not t=<m°C>") from None
    return _w1_value(sensor, milli)


def w1(root: str, globs: tuple[str, ...]) -> list[Probe]:
    probes = []
    for device in _glob(root, "bus", "w1", "devices", "*-*"):
        ident = os.path.basename(device)
        if not _wanted(ident, W1_FAMILIES) or not _wanted(ident, globs):
            continue
        slave = os.path.join(device, "w1_slave")
        if os.path.exists(slave):
            probes.append(Probe(ident, slave, _w1_reader(ident, slave)))
        else:
            temperature = os.path.join(device, "temperature")
            probes.append(Probe(ident, temperature, _w1_temp_reader(ident, temperature)))
    return probes


def _w1_reader(sensor: str, path: str) -> Callable[[], list[Value]]:
    return lambda: read_w1_slave(sensor, read_text(path))


def _w1_temp_reader(sensor: str, path: str) -> Callable[[], list[Value]]:
    return lambda: _w1_value(sensor, int(read_number(path)))


# IIO -----------------------------------------------------------------------

# IIO channel types the ABI gives units for: type -> (factor to the unit, unit).
IIO = {
    "temp": (0.001, "°C"),
    "humidityrelative": (0.001, "%"),
    "pressure": (10.0, "hPa"),  # kPa
    "voltage": (0.001, "V"),
    "current": (0.001, "A"),
    "power": (0.001, "W"),
    "illuminance": (1.0, "lx"),
}
SUMMARIES = ("_peak", "_trough", "_mean")
_IIO_CHANNEL = re.compile(r"in_([a-z]+?)(\d*)((?:-[a-z]+\d*)?(?:_[a-z]+)?)_(input|raw)")


def _iio_reader(
    sensor: str, path: str, factor: float, unit: str, *, scale: str | None, offset: str | None
) -> Callable[[], list[Value]]:
    def read() -> list[Value]:
        value = read_number(path)
        if offset is not None:
            value += read_number(offset)
        if scale is not None:
            value *= read_number(scale)
        return [(sensor, value * factor, unit)]

    return read


def iio(root: str, globs: tuple[str, ...]) -> list[Probe]:
    probes = []
    for device in _glob(root, "bus", "iio", "devices", "iio:device*"):
        name = _name_of(os.path.join(device, "name")) or os.path.basename(device)
        if not _wanted(name, globs):
            continue
        try:
            files = set(os.listdir(device))
        except OSError:
            continue
        for file in sorted(files, key=_natural):
            match = _IIO_CHANNEL.fullmatch(file)
            if match is None or match.group(1) not in IIO:
                continue
            kind, number, extra, which = match.groups()
            if extra.endswith(SUMMARIES):
                continue  # the highest, lowest or mean since a reset: not the reading
            channel = f"{kind}{number}{extra}"
            if which == "raw" and f"in_{channel}_input" in files:
                continue  # the driver scaled it already
            factor, unit = IIO[kind]
            scale = offset = None
            if which == "raw":
                scale = _first(device, files, f"in_{channel}_scale", f"in_{kind}_scale")
                offset = _first(device, files, f"in_{channel}_offset", f"in_{kind}_offset")
            sensor = f"{name}/{channel}"
            path = os.path.join(device, file)
            probes.append(
                Probe(
                    sensor,
                    path,
                    _iio_reader(sensor, path, factor, unit, scale=scale, offset=offset),
                )
            )
    return probes


def _first(device: str, files: set[str], *names: str) -> str | None:
    for name in names:
        if name in files:
            return os.path.join(device, name)
    return None


# The Raspberry Pi's throttling flags ----------------------------------------

# Bit -> sensor, from the firmware's documentation of `vcgencmd get_throttled`.
THROTTLED_BITS = {
    0: "undervoltage",
    1: "freq_capped",
    2: "throttled",
    3: "soft_temp_limit",
    16: "undervoltage_occurred",
    17: "freq_capped_occurred",
    18: "throttled_occurred",
    19: "soft_temp_limit_occurred",
}
THROTTLED_FILE = ("devices", "platform", "soc", "soc:firmware", "get_throttled")
VCGENCMD_TIMEOUT = 2.0


def throttled_values(text: str) -> list[Value]:
    """`50005`, `0x50005` or `throttled=0x50005` as one state per flag."""
    word = text.strip().rpartition("=")[2]
    try:
        bits = int(word, 16)
    except ValueError:
        raise Refused("not_a_number", f"get_throttled: {word[:20]!r} is not hex") from None
    return [
        (f"throttled/{name}", float(bits >> bit & 1), "state")
        for bit, name in THROTTLED_BITS.items()
    ]


def vcgencmd(program: str) -> list[Value]:
    try:
        done = subprocess.run(
            [program, "get_throttled"],
            capture_output=True,
            timeout=VCGENCMD_TIMEOUT,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise OSError(f"vcgencmd get_throttled failed: {exc}") from None
    return throttled_values(done.stdout.decode("ascii", "replace"))


def throttled(root: str) -> list[Probe]:
    path = _sys(root, *THROTTLED_FILE)
    if os.path.exists(path):
        return [Probe("throttled", path, lambda: throttled_values(read_text(path)))]
    program = shutil.which("vcgencmd") if os.path.realpath(root) == "/" else None
    if program is not None:
        return [Probe("throttled", program, lambda: vcgencmd(program))]
    return []


# ---------------------------------------------------------------------------


def discover(cfg: SystemConfig) -> list[Probe]:
    """Every sensor `cfg` asks for that is there now."""
    root = cfg.root
    zones = thermal(root, cfg.thermal) if cfg.thermal else []
    # The thermal framework registers a hwmon chip for each zone, named as the
    # zone with '_' for '-': the same reading, read once.
    twins = {p.sensor.replace("-", "_") for p in zones}
    probes = zones
    if cfg.hwmon:
        probes += hwmon(root, cfg.hwmon, twins)
    if cfg.w1:
        probes += w1(root, cfg.w1)
    if cfg.iio:
        probes += iio(root, cfg.iio)
    if cfg.throttled:
        probes += throttled(root)
    return probes


def _natural(text: str) -> tuple[str | int, ...]:
    """`hwmon2` before `hwmon10`."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
