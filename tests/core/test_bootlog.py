"""Serial boot messages and logs: recognised whatever the port's format, never series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry.normalize.bootlog import boot_message
from tests.core._serial_helpers import feed, reasons

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# An ESP32's ROM banner (esptool docs, boot-mode-selection.rst), then an ESP-IDF
# bootloader log line and a register dump line: the lines that made fifteen series.
BANNER = [
    "ets Jun  8 2016 00:22:57",
    "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
    "configsip: 0, SPIWP:0xee",
    "clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00",
    "mode:DIO, clock div:1",
    "load:0x3fff0018,len:4",
    "load:0x3fff001c,len:1216",
    "ho 0 tail 12 room 4",
    "load:0x40078000,len:10944",
    "load:0x40080400,len:6388",
    "entry 0x400806b4",
    "I (29) boot: ESP-IDF v4.4.4-dirty 2nd stage bootloader",
    "I (40) boot.esp32: SPI Speed      : 40MHz",
    "PC      : 0x400d1567  PS      : 0x00060830  A0      : 0x800d2a1c  A1      : 0x3ffb1f70",
]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b"ets Jun  8 2016 00:22:57", "ESP ROM banner"),
        (b" ets Jan  8 2013,rst cause:2, boot mode:(3,6)", "ESP ROM banner"),
        (b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", "ESP32 reset reason"),
        (b"load 0x4010f000, len 3460, room 16", "ESP ROM"),
        (b"chksum 0xcc", "ESP ROM"),
        (b"\x1b[0;32mI (29) boot: ESP-IDF v4.4 2nd stage bootloader\x1b[0m", "ESP-IDF log"),
        (b"W (462) spi_flash: Detected size(4096k) larger than the size", "ESP-IDF log"),
        (b"[  4521][I][WiFiGeneric.cpp:1040] _eventCallback(): Reason: 0", "Arduino-ESP32 log"),
        (b"[E][WiFiGeneric.cpp:739] hostByName(): DNS Failed", "Arduino-ESP32 log"),
        (b"Guru Meditation Error: Core  1 panic'ed (LoadProhibited).", "ESP32 panic"),
        (b"MEPC    : 0x420048b4  RA      : 0x420048b4  SP      : 0x3fc8f2f0", "ESP32 panic"),
        (b"Brownout detector was triggered", "ESP32 panic"),
        (b"epc1=0x40202c1c epc2=0x00000000 epc3=0x00000000", "ESP8266 exception"),
        (b"3ffffdb0:  00000000 00000000 00000000 3ffee66c", "ESP8266 exception"),
    ],
)
def test_boot_message_names_what_a_line_is(line: bytes, kind: str) -> None:
    assert boot_message(line) == kind


def _sensor_lines() -> list[str]:
    """Every serial line of the corpus that is meant as a reading."""
    lines = []
    for path in CORPUS.glob("*.json"):
        if path.stem == "bootlog":
            continue
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            if case["input"]["transport"] == "serial" and case["readings"]:
                lines += case["input"]["payload"].splitlines()
    return [line for line in lines if line.strip()]


def test_no_sensor_line_of_the_corpus_is_taken_for_a_boot_message() -> None:
    lines = _sensor_lines()
    assert len(lines) > 50
    assert [line for line in lines if boot_message(line.encode())] == []


@pytest.mark.parametrize("fmt", ["auto", "text", "kv", "plotter", "csv", "number"])
def test_an_esp32_boot_banner_makes_no_series_whatever_the_format_and_however_often(
    fmt: str,
) -> None:
    # Twice: a brown-out loop prints the banner again and again, and a label seen
    # on two lines would otherwise become a series.
    for out in feed(BANNER + BANNER, fmt):
        assert out.readings == []
        assert reasons(out) == ["not_a_reading"]
