"""Serial lines that are a chip's boot messages or logs, never readings.

An ESP32 or ESP8266 prints its ROM bootloader's banner on every reset, at the
port's baud rate or near it, and the second-stage bootloader and the SDK log
more; read as text, `load:0x3fff0018,len:4` looks like two labelled values and
a banner made fifteen series.  These lines are recognised by their start and
counted as `not_a_reading` whatever the port's format, before any family reads
them.  The patterns, and where they are printed:

- ESP32 ROM (esptool docs, `advanced-topics/boot-mode-selection.rst`, "Boot
  Log"): `ets Jun  8 2016 00:22:57`, `rst:0x1 (POWERON_RESET),boot:0x13 (...)`,
  `configsip: 0, SPIWP:0xee`, `clk_drv:0x00,q_drv:0x00,...`, `mode:DIO, clock
  div:1`, `load:0x3fff0018,len:4`, `ho 0 tail 12 room 4`, `entry 0x40080034`,
  `flash read err, 1000`, `ets_main.c 384`, `invalid header: 0xffffffff`.
- ESP8266 ROM (the same page, at 74880 baud): `ets Jan  8 2013,rst cause:2,
  boot mode:(3,6)`, `load 0x4010f000, len 3460, room 16`, `tail 4`, `chksum
  0xcc`, `csum 0xcc`, and the Arduino core's `v00044e80` and `~ld`; its
  exception dump (`Exception (28):`, `epc1=0x...`, `>>>stack>>>`, `ctx: cont`,
  `sp: 3ffffdb0 end: 3fffffc0 offset: 01a0`, `3ffffdb0:  00000000 ...`,
  `--------------- CUT HERE FOR EXCEPTION DECODER ---------------`) and the
  NONOS SDK's Wi-Fi chatter (`rf cal sector: 1017`, `scandone`, its `state:`
  changes, `pm open,type:2 0`, `add if0`, `mode : sta(...)`).
- ESP-IDF's log format, the bootloader's and every component's: `I (29) boot:
  ESP-IDF v4.4 2nd stage bootloader`, `W (462) spi_flash: ...` (`E`, `W`, `I`,
  `D`, `V`, the milliseconds since boot, the tag); the Arduino-ESP32 core's
  `[   123][I][WiFiGeneric.cpp:1040] _eventCallback(): ...` and older
  `[E][WiFiGeneric.cpp:739] ...`.  These are logs whatever they say: a sketch
  that means a line as a reading prints it with `Serial.print`, not `ESP_LOGI`.
- ESP-IDF's monitor (`idf.py monitor`) decodes code addresses in the output
  it shows: `0x40080400: _init at ??:?`, in captures of it.
- ESP32 panics: `Guru Meditation Error: Core  1 panic'ed (...)`, `Core  1
  register dump:`, `PC      : 0x400d1567  PS      : 0x00060830 ...` (and on
  RISC-V chips `MEPC    : 0x420048b4  RA      : ...`; esp-idf docs,
  `api-guides/fatal-errors.rst`),
  `Backtrace: 0x...`, `ELF file SHA256: ...`, `Rebooting...`, `Brownout
  detector was triggered`, `abort() was called at PC ...`, `CORRUPT HEAP: ...`.
"""

from __future__ import annotations

import re

# Anchored at the line's start (after blanks); bytes, so nothing is decoded first.
_PATTERNS: tuple[tuple[str, bytes], ...] = (
    ("ESP ROM banner", rb"ets [A-Z][a-z]{2} [ \d]\d \d{4}"),
    ("ESP32 reset reason", rb"rst:0x[0-9a-fA-F]+ \("),
    ("ESP8266 reset reason", rb"rst cause:? ?\d"),
    ("ESP32 ROM", rb"configsip: \d|SPIWP:0x|clk_drv:0x|mode:(?:DIO|DOUT|QIO|QOUT)\b"),
    ("ESP ROM", rb"load:0x[0-9a-fA-F]+,len:\d|load 0x[0-9a-fA-F]+, len \d"),
    ("ESP ROM", rb"entry 0x[0-9a-fA-F]+|ho \d+ tail \d+ room \d+|tail \d+\s*$"),
    ("ESP ROM", rb"chksum 0x[0-9a-fA-F]+|csum 0x[0-9a-fA-F]+"),
    ("ESP ROM", rb"flash read err|ets_main\.c|invalid header: 0x"),
    ("ESP8266 core", rb"v[0-9a-f]{8}\s*$|~ld\s*$"),
    ("ESP-IDF log", rb"[EWIDV] \(\d+\) [^:]{0,40}:"),
    ("Arduino-ESP32 log", rb"\[ *\d+\]\[[EWIDV]\]\[|\[[EWIDV]\]\[[^\]]{1,60}\]"),
    ("ESP32 panic", rb"Guru Meditation Error|Core +\d+ register dump|Backtrace: ?0x"),
    ("ESP32 panic", rb"[A-Z][A-Z0-9/]{0,7} *: 0x[0-9a-f]{8}\b"),  # a register dump
    ("ESP32 panic", rb"ELF file SHA256|Rebooting\.\.\.|Brownout detector|abort\(\) was called"),
    ("ESP32 panic", rb"CORRUPT HEAP|assert failed: "),
    ("ESP8266 exception", rb"Exception \(\d+\):|epc1=0x|>>>stack>>>|<<<stack<<<"),
    ("ESP8266 exception", rb"ctx: (?:cont|sys|bearssl)|sp: [0-9a-f]{8} end: |last failed alloc"),
    ("ESP8266 exception", rb"-+ ?CUT HERE"),
    ("ESP8266 SDK", rb"rf cal sector: \d|freq trace enable|rf\[\d+\]|scandone\s*$"),
    ("ESP8266 SDK", rb"state: \d+ -> \d+ \(|pm open,type:|add if\d|mode : (?:sta|softAP)"),
    ("ESP8266 SDK", rb"SDK ver(?:sion)?: "),
)
# Lines that start with a digit, as sensor lines mostly do, can only be these:
_DIGIT_LED: tuple[tuple[str, bytes], ...] = (
    ("ESP8266 exception", rb"[0-9a-f]{8}: +[0-9a-f]{8} [0-9a-f]{8}"),  # a stack dump
    ("ESP-IDF monitor", rb"0x[0-9a-f]{8}: \S"),  # idf_monitor's decoding of an address
)


def _compile(patterns: tuple[tuple[str, bytes], ...]) -> tuple[re.Pattern[bytes], tuple[str, ...]]:
    return re.compile(b"|".join(b"(" + p + b")" for _, p in patterns)), tuple(
        n for n, _ in patterns
    )


_ANY, _NAMES = _compile(_PATTERNS)
_DIGITS, _DIGIT_NAMES = _compile(_DIGIT_LED)
_NEVER = frozenset(b"{$!+.")  # JSON, NMEA, signed and bare numbers: no boot message
_LEADS = (b" ", b"\t", b"\x1b")
# ESP-IDF and Arduino-ESP32 colour their log lines (`\x1b[0;32mI (29) boot: ...`)
_COLOUR = re.compile(rb"\s*(?:\x1b\[[0-9;]*m)?")


def boot_message(line: bytes) -> str | None:
    """What `line` is (`ESP ROM banner`, `ESP-IDF log`, ...) if it is a boot message or
    a log line, else None."""
    start = 0
    if line[:1] in _LEADS:  # blanks or a colour first
        colour = _COLOUR.match(line)
        start = colour.end() if colour else 0
    first = line[start : start + 1]
    if not first or first[0] in _NEVER:
        return None
    if first.isdigit():  # most sensor lines: no regex unless a `:` comes early
        if b":" not in line[start : start + 11]:
            return None
        pattern, names = _DIGITS, _DIGIT_NAMES
    else:
        pattern, names = _ANY, _NAMES
    found = pattern.match(line, start)
    if found is None:
        return None
    return names[found.lastindex - 1] if found.lastindex else "boot message"
