"""The one unit vocabulary, and the spellings devices use for each unit.

`canonical_unit(text)` maps a source spelling to the vocabulary (`degC` ->
`°C`) and returns None for text that is not a unit we know: a unit is never
guessed.  Emit keeps an unknown but printable unit text as stated, so this
table decides only which spellings are merged, never whether a unit survives.

References for the canonical spellings and the aliases:
- Home Assistant's unit constants (`homeassistant/const.py`: `UnitOfTemperature`,
  `UnitOfPressure`, `UnitOfEnergy`, `UnitOfPower`, `UnitOfVolumeFlowRate`,
  `CONCENTRATION_MICROGRAMS_PER_CUBIC_METER = "µg/m³"` with the MICRO SIGN
  U+00B5, `SIGNAL_STRENGTH_DECIBELS_MILLIWATT = "dBm"`, `LIGHT_LUX = "lx"`,
  `UnitOfReactivePower.VOLT_AMPERE_REACTIVE = "var"`, `UnitOfSpeed` with
  `km/h`, `mph`, `kn`, `m/s`), which is what most MQTT discovery payloads copy.
- UCUM / SenML (RFC 8428 §12.1 and the IANA "SenML Units" registry): `Cel`,
  `%RH`, `lx`, `W`, `J`, `dBm`, `m/s`, `Hz`, `ppm` (SenML writes `/` or `ppm`),
  `ug/m3`-style ASCII spellings used by firmware without Unicode.
- The Homie convention's recommended unit strings (`°C`, `°F`, `°`, `L`, `gal`,
  `V`, `W`, `kW`, `kWh`, `A`, `Hz`, `rpm`, `%`, `m`, `m³`, `ft`, `m/s`, `kn`,
  `Pa`, `psi`, `ppm`, `s`, `min`, `h`, `lx`, `K`, `#`).

Decisions: `%RH` is a percentage (relative humidity is a percent of saturation;
the quantity is in the sensor name), so it maps to `%`.  Case matters (`mW`
is not `MW`), except for a few whole words listed explicitly (`lux`, `Lux`).
`°c` (lower-case c) appears in hand-written firmware and maps to `°C`; a bare
`c` does not (it could be a count or centi-).
"""

from __future__ import annotations

UNITS = (
    # temperature
    "°C",
    "°F",
    "K",
    # ratios
    "%",
    "ppm",
    "ppb",
    # pressure
    "hPa",
    "Pa",
    "kPa",
    "bar",
    "mbar",
    "inHg",
    "mmHg",
    "psi",
    # electricity
    "V",
    "mV",
    "kV",
    "A",
    "mA",
    "µA",
    "W",
    "kW",
    "MW",
    "mW",
    "Wh",
    "kWh",
    "MWh",
    "VA",
    "kVA",
    "var",
    "kvar",
    "VAh",
    "kVAh",
    "varh",
    "kvarh",
    "Ω",
    "kΩ",
    # frequency, rotation
    "Hz",
    "kHz",
    "MHz",
    "rpm",
    # concentration, light, sound, radio
    "µg/m³",
    "mg/m³",
    "lx",
    "dB",
    "dBm",
    "dBA",
    # length, speed, angle
    "m",
    "cm",
    "mm",
    "km",
    "in",
    "ft",
    "mi",
    "m/s",
    "km/h",
    "mph",
    "kn",
    "°",
    # volume and flow
    "L",
    "mL",
    "m³",
    "gal",
    "m³/h",
    "L/min",
    "L/h",
    # time
    "s",
    "ms",
    "µs",
    "min",
    "h",
    "d",
    # mass
    "g",
    "kg",
    # rain and irradiance
    "mm/h",
    "W/m²",
)

_ALIASES = {
    # temperature
    "C": "°C",
    "*C": "°C",
    "degC": "°C",
    "deg C": "°C",
    "\u00baC": "°C",  # MASCULINE ORDINAL INDICATOR, a common look-alike of the degree sign
    "°c": "°C",
    "\u2103": "°C",  # DEGREE CELSIUS
    "Cel": "°C",  # UCUM / SenML
    "celsius": "°C",
    "Celsius": "°C",
    "F": "°F",
    "*F": "°F",
    "degF": "°F",
    "deg F": "°F",
    "\u00baF": "°F",
    "°f": "°F",
    "\u2109": "°F",  # DEGREE FAHRENHEIT
    "fahrenheit": "°F",
    "Fahrenheit": "°F",
    "Kelvin": "K",
    # ratios
    "percent": "%",
    "%RH": "%",
    "% RH": "%",
    "%rh": "%",
    # SenML's "/" (a fraction of 1: 0.5 means 50 %) is deliberately absent:
    # mapping it to "%" would misstate the value a hundredfold.
    # electricity
    "\u2126": "Ω",  # OHM SIGN, to GREEK CAPITAL OMEGA
    "ohm": "Ω",
    "Ohm": "Ω",
    "k\u2126": "kΩ",
    "kohm": "kΩ",
    "uA": "µA",
    "\u03bcA": "µA",  # GREEK SMALL MU
    "VAr": "var",
    "VAR": "var",
    "kVAr": "kvar",
    "kVAR": "kvar",
    # concentration
    "ug/m3": "µg/m³",
    "ug/m³": "µg/m³",
    "\u03bcg/m³": "µg/m³",  # GREEK SMALL MU
    "µg/m3": "µg/m³",
    "\u03bcg/m3": "µg/m³",
    "mg/m3": "mg/m³",
    # light
    "lux": "lx",
    "Lux": "lx",
    "LUX": "lx",
    # pressure
    "mBar": "mbar",
    "hpa": "hPa",
    "HPa": "hPa",
    "kpa": "kPa",
    # speed, angle
    "kmh": "km/h",
    "km/hr": "km/h",
    "kph": "km/h",
    "kt": "kn",
    "kts": "kn",
    "knots": "kn",
    "mps": "m/s",
    "deg": "°",
    "degrees": "°",
    # volume, flow
    "l": "L",
    "m3": "m³",
    "m3/h": "m³/h",
    "l/min": "L/min",
    "l/h": "L/h",
    # time
    "sec": "s",
    "secs": "s",
    "us": "µs",
    "\u03bcs": "µs",
    "hr": "h",
    "day": "d",
    "days": "d",
    # irradiance
    "W/m2": "W/m²",
    # as the common sensor libraries' example sketches print them (Adafruit
    # SHT4x, AHTX0, SCD30: `degrees C`, `% rH`; BME680: `KOhms`)
    "degrees C": "°C",
    "degrees F": "°F",
    "% rH": "%",
    "%rH": "%",
    "pct": "%",
    "Ohms": "Ω",
    "ohms": "Ω",
    "KOhms": "kΩ",
    "kOhms": "kΩ",
    "KOhm": "kΩ",
    "kOhm": "kΩ",
    "ug/m^3": "µg/m³",
}
_KNOWN = {u: u for u in UNITS} | _ALIASES


def canonical_unit(text: str) -> str | None:
    """The vocabulary's spelling of `text`, or None when it is not a known unit."""
    return _KNOWN.get(text.strip())
