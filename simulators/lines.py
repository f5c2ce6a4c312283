"""The line formats of simulated serial devices, as microcontroller sketches print them.

- `number`: one sample per line, `21.37` or `21.37 °C` (the server parses this today);
- `plotter`: the Arduino Serial Plotter's `temperature:21.50,humidity:40.2`
  (`separator` may be a space or a tab too);
- `csv`: a header line at power-up (`temperature,humidity`), then rows; an empty
  field for a sensor in a dropout;
- `json`: one compact object per line, `{"temperature":21.5,"humidity":40.2}`;
- `nmea`: GGA and RMC from a GPS, and XDR with the samples, ending CRLF.
A format is picked by name with `line_format(name, rng)`.  Formats are pure
text; `simulators.serial` writes them to a pty.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from simulators import nmea
from simulators.firmware import Quantity, Sample
from simulators.firmware.base import compact_json


class LineFormat(ABC):
    name: ClassVar[str]
    terminator: ClassVar[bytes] = b"\n"  # Serial.println ends with CRLF; most sketches use \n

    def boot(self, channels: Sequence[Quantity]) -> list[str]:
        """What the sketch prints once at power-up, before its first reading."""
        return []

    @abstractmethod
    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        """The lines for one reading; `samples` lacks the channels in a dropout."""


class Number(LineFormat):
    name = "number"

    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        return [sample.plain for sample in samples]


class Plotter(LineFormat):
    name = "plotter"

    def __init__(self, separator: str = ",") -> None:
        if separator not in (",", " ", "\t"):
            raise ValueError(
                f"the Serial Plotter separates by comma, space or tab, not {separator!r}"
            )
        self.separator = separator

    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        if not samples:
            return []
        return [self.separator.join(f"{s.name}:{s.text}" for s in samples)]


class Csv(LineFormat):
    name = "csv"

    def boot(self, channels: Sequence[Quantity]) -> list[str]:
        return [",".join(channel.name for channel in channels)]

    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        if not samples:
            return []
        by_name = {s.name: s.text for s in samples}
        return [",".join(by_name.get(channel.name, "") for channel in channels)]


class Json(LineFormat):
    name = "json"

    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        if not samples:
            return []
        return [compact_json({s.name: s.number for s in samples}).decode("utf-8")]


class Nmea(LineFormat):
    name = "nmea"
    terminator = b"\r\n"  # the standard's line end

    def __init__(self, rng: np.random.Generator) -> None:
        self.gps = nmea.Gps(rng)

    def lines(
        self, channels: Sequence[Quantity], samples: Sequence[Sample], wall: float
    ) -> list[str]:
        return [*self.gps.fix(wall), *nmea.weather(samples)]


LINE_FORMATS = ("number", "plotter", "csv", "json", "nmea")


def line_format(name: str, rng: np.random.Generator) -> LineFormat:
    """The format called `name` (one of `LINE_FORMATS`); `rng` feeds the GPS of `nmea`."""
    simple: dict[str, type[LineFormat]] = {
        "number": Number,
        "plotter": Plotter,
        "csv": Csv,
        "json": Json,
    }
    if name in simple:
        return simple[name]()
    if name == "nmea":
        return Nmea(rng)
    raise ValueError(f"unknown line format {name!r}; expected one of {', '.join(LINE_FORMATS)}")
