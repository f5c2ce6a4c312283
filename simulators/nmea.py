"""NMEA 0183 sentences as a GPS with a weather sensor sends them: GGA, RMC and XDR.

Every sentence is `$<talker><type>,<fields>*HH` with HH the XOR of the bytes
between `$` and `*`, in upper-case hex, under the standard's 82-character
limit.  The position wanders a little around a seeded start, as a GPS fix
does while standing still.  Times are UTC from the caller's wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from simulators.firmware import Sample


def checksum(body: str) -> str:
    """The two hex digits after `*`: the XOR of every character of `body`."""
    value = 0
    for byte in body.encode("ascii"):
        value ^= byte
    return f"{value:02X}"


def sentence(body: str) -> str:
    """`$body*HH`, without the CRLF the line ends with."""
    return f"${body}*{checksum(body)}"


def _angle(value: float, degree_digits: int, hemispheres: str) -> str:
    """`ddmm.mmmm,N` (or `dddmm.mmmm,E` with three degree digits)."""
    hemisphere = hemispheres[0] if value >= 0 else hemispheres[1]
    degrees, minutes = divmod(abs(value) * 60.0, 60.0)
    return f"{int(degrees):0{degree_digits}d}{minutes:07.4f},{hemisphere}"


# XDR transducer (type, units, name) per quantity; others go out as generic (`G`, no unit).
XDR = {
    "temperature": ("C", "C", "AirTemp"),
    "humidity": ("H", "P", "Humidity"),
    "pressure": ("P", "B", "Barometer"),
}


def xdr_field(sample: Sample) -> str:
    kind, unit, name = XDR.get(sample.name, ("G", "", sample.name))
    value = sample.value / 1000.0 if sample.name == "pressure" else sample.value  # hPa -> bar
    decimals = 4 if sample.name == "pressure" else sample.decimals
    return f"{kind},{value:.{decimals}f},{unit},{name}"


class Gps:
    """A GPS receiver standing near (`lat`, `lon`), its fix wandering by a metre or two."""

    def __init__(
        self, rng: np.random.Generator, lat: float = 48.1173, lon: float = 11.5167
    ) -> None:
        self._rng = rng
        self.lat, self.lon = lat, lon
        self.altitude = 545.4

    def fix(self, wall: float) -> list[str]:
        """GGA and RMC for the fix at `wall` (epoch s)."""
        self.lat += float(self._rng.normal(0.0, 1e-5))
        self.lon += float(self._rng.normal(0.0, 1e-5))
        utc = time.gmtime(wall)
        clock = time.strftime("%H%M%S", utc) + f".{int(wall * 100) % 100:02d}"
        position = f"{_angle(self.lat, 2, 'NS')},{_angle(self.lon, 3, 'EW')}"
        satellites = 7 + int(self._rng.integers(0, 4))
        gga = f"GPGGA,{clock},{position},1,{satellites:02d},0.9,{self.altitude:.1f},M,46.9,M,,"
        speed = abs(float(self._rng.normal(0.0, 0.05)))
        rmc = f"GPRMC,{clock},A,{position},{speed:.2f},,{time.strftime('%d%m%y', utc)},,,A"
        return [sentence(gga), sentence(rmc)]


def weather(samples: Sequence[Sample]) -> list[str]:
    """One XDR sentence with every sample, or none when there is none."""
    if not samples:
        return []
    return [sentence("WIXDR," + ",".join(xdr_field(s) for s in samples))]
