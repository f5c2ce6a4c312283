"""The one unit vocabulary, and the spellings devices use for each unit.

`canonical_unit(text)` maps a source spelling to the vocabulary (`degC` ->
`°C`) and returns None for text that is not a unit we know: a unit is never
guessed.
"""

from __future__ import annotations

UNITS = (
    "°C",
    "°F",
    "K",
    "%",
    "hPa",
    "Pa",
    "kPa",
    "bar",
    "mbar",
    "V",
    "mV",
    "A",
    "mA",
    "W",
    "kW",
    "Wh",
    "kWh",
    "VA",
    "var",
    "Hz",
    "ppm",
    "ppb",
    "µg/m³",
    "lx",
    "Ω",
    "m",
    "cm",
    "mm",
    "km",
    "m/s",
    "km/h",
    "kn",
    "°",
    "dBm",
    "dB",
    "s",
    "ms",
    "min",
    "h",
    "L",
    "m³",
    "g",
    "kg",
)

_ALIASES = {
    "C": "°C",
    "*C": "°C",
    "degC": "°C",
    "ºC": "°C",
    "℃": "°C",
    "Cel": "°C",
    "celsius": "°C",
    "F": "°F",
    "*F": "°F",
    "degF": "°F",
    "ºF": "°F",
    "℉": "°F",
    "fahrenheit": "°F",
    "\u2126": "Ω",  # OHM SIGN, to GREEK CAPITAL OMEGA
    "ohm": "Ω",
    "Ohm": "Ω",
    "ug/m3": "µg/m³",
    "μg/m³": "µg/m³",
    "µg/m3": "µg/m³",
    "μg/m3": "µg/m³",
    "lux": "lx",
    "Lux": "lx",
    "deg": "°",
    "kmh": "km/h",
    "km/hr": "km/h",
    "percent": "%",
    "%RH": "%",
    "sec": "s",
}
_KNOWN = {u: u for u in UNITS} | _ALIASES


def canonical_unit(text: str) -> str | None:
    """The vocabulary's spelling of `text`, or None when it is not a known unit."""
    return _KNOWN.get(text.strip())
