"""Bad input as devices really produce it, for the fault options of the simulators.

MQTT: `malformed_payload` replaces a good payload by one of the bad ones that
brokers carry every day.  Serial: `garbage` is what a reader meets on a
serial line besides readings (a wrong baud rate, a boot log, NUL bytes), and
`endless_line` a line that never ends.  All draw from a caller's seeded
generator, so a seed gives the same faults every run.
"""

from __future__ import annotations

import numpy as np

MALFORMED = ("truncated", "nan", "unavailable", "not-utf8", "empty")


def malformed_payload(payload: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """A bad payload in place of `payload`, and which kind it is (one of `MALFORMED`)."""
    kind = MALFORMED[int(rng.integers(len(MALFORMED)))]
    if kind == "truncated":  # a JSON document cut short: a full buffer on the device
        return kind, payload[: len(payload) // 2]
    if kind == "nan":  # a failed sensor read printed as a float
        return kind, b"nan"
    if kind == "unavailable":  # ESPHome and Home Assistant's word for no value
        return kind, b"unavailable"
    if kind == "not-utf8":  # one corrupted byte: 0xFF never occurs in UTF-8
        at = int(rng.integers(len(payload))) if payload else 0
        return kind, payload[:at] + b"\xff" + payload[at + 1 :]
    return kind, b""


# An ESP32 printing its ROM boot log after a reset, at 115200 baud, lines ending CRLF.
BOOT_LOG = (
    b"ets Jun  8 2016 00:22:57\r\n\r\n"
    b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    b"configsip: 0, SPIWP:0xee\r\n"
    b"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n"
    b"mode:DIO, clock div:1\r\n"
    b"load:0x3fff0030,len:1184\r\n"
    b"load:0x40078000,len:13192\r\n"
    b"entry 0x400805e4\r\n"
)

GARBAGE = ("wrong-baud", "boot-log", "nul")


def garbage(rng: np.random.Generator) -> tuple[str, bytes]:
    """A block of what is not a reading, and its kind (one of `GARBAGE`).

    Each block ends with a line end, as the noise before a reset or a baud change
    does in practice, so the line after it is intact and must be read.
    """
    kind = GARBAGE[int(rng.integers(len(GARBAGE)))]
    if kind == "wrong-baud":
        # Read at the wrong speed, frames come out as high bytes and framing errors.
        size = int(rng.integers(16, 64))
        return kind, rng.integers(0x80, 0x100, size=size, dtype=np.uint8).tobytes() + b"\r\n"
    if kind == "boot-log":
        return kind, BOOT_LOG
    return kind, b"\x00" * int(rng.integers(1, 16)) + b"\n"


def endless_line(rng: np.random.Generator, size: int = 4096) -> bytes:
    """`size` bytes of plausible digits and separators with no line end: a stuck print loop.

    The line that follows is joined to it, so a reader loses that one too.
    """
    alphabet = np.frombuffer(b"0123456789.,-", dtype=np.uint8)
    return rng.choice(alphabet, size=size).tobytes()
