"""A fake sysfs tree: the kernel's sensor files as a Raspberry Pi with sensors shows them.

`build_tree(root)` writes the files `[[system]] root = ...` reads, with the
layouts of the kernel's documentation (see `devices/sysfs.py`) and contents
as seen on a Raspberry Pi 4 (`cpu-thermal` zone and its `cpu_thermal` hwmon
twin, `rpi_volt` with no input), a PC's hwmon chips, DS18B20s on 1-Wire and
IIO sensors; `twenty_sensors(root)` the benchmark's 20 of every kind.
The tests change the files as the kernel would (a new value, an unplug).
"""

from __future__ import annotations

from pathlib import Path


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")


def w1_slave(milli: int, crc_ok: bool = True) -> str:
    """A `w1_slave` file: the scratchpad bytes and the CRC check, then `t=`."""
    raw = (milli * 16 // 1000) & 0xFFFF
    data = f"{raw & 0xFF:02x} {raw >> 8:02x} 4b 46 7f ff 0c 10 1c"
    verdict = "YES" if crc_ok else "NO"
    return f"{data} : crc=1c {verdict}\n{data} t={milli}\n"


DS18B20_GOOD = "28-0316a2795cff"
DS18B20_BAD_CRC = "28-0417c1a3e9ff"
DS18B20_RESET = "28-3c01d607d4a1"


def build_tree(root: Path) -> Path:
    sys = root / "sys"
    # The Pi 4's CPU: a thermal zone and the hwmon chip the thermal framework makes of it.
    zone = sys / "class/thermal/thermal_zone0"
    write(zone / "type", "cpu-thermal\n")
    write(zone / "temp", "48686\n")
    write(zone / "mode", "enabled\n")
    write(sys / "class/hwmon/hwmon0/name", "cpu_thermal\n")
    write(sys / "class/hwmon/hwmon0/temp1_input", "48686\n")
    # The Pi's undervoltage alarm chip: no input files, only an alarm.
    write(sys / "class/hwmon/hwmon1/name", "rpi_volt\n")
    write(sys / "class/hwmon/hwmon1/in0_lcrit_alarm", "0\n")
    # A PC's chips, with labels (coretemp) and without (nct6775's fan).
    chip = sys / "class/hwmon/hwmon2"
    write(chip / "name", "coretemp\n")
    write(chip / "temp1_label", "Package id 0\n")
    write(chip / "temp1_input", "45000\n")
    write(chip / "temp1_max", "80000\n")
    write(chip / "temp2_label", "Core 0\n")
    write(chip / "temp2_input", "43000\n")
    chip = sys / "class/hwmon/hwmon3"
    write(chip / "name", "nct6775\n")
    write(chip / "in0_input", "1032\n")
    write(chip / "in0_label", "Vcore\n")
    write(chip / "fan1_input", "1241\n")
    write(chip / "power1_input", "5250000\n")
    write(chip / "curr1_input", "1500\n")
    # SHT3x: a hwmon driver (sht3x), humidity in milli-percent.
    chip = sys / "class/hwmon/hwmon4"
    write(chip / "name", "sht3x\n")
    write(chip / "temp1_input", "22437\n")
    write(chip / "humidity1_input", "45312\n")
    # 1-Wire: the bus master and three DS18B20s.
    w1 = sys / "bus/w1/devices"
    write(w1 / "w1_bus_master1/w1_master_slave_count", "3\n")
    write(w1 / DS18B20_GOOD / "w1_slave", w1_slave(23125))
    write(w1 / DS18B20_GOOD / "name", DS18B20_GOOD + "\n")
    write(w1 / DS18B20_BAD_CRC / "w1_slave", w1_slave(21500, crc_ok=False))
    write(w1 / DS18B20_RESET / "w1_slave", w1_slave(85000))
    # IIO: a BME280 (bmp280 driver, scaled values) and an HDC1080 (raw, scale, offset).
    iio = sys / "bus/iio/devices"
    write(iio / "iio:device0/name", "bme280\n")
    write(iio / "iio:device0/in_temp_input", "25730\n")
    write(iio / "iio:device0/in_humidityrelative_input", "48560\n")
    write(iio / "iio:device0/in_pressure_input", "100.512000000\n")
    write(iio / "iio:device0/in_temp_oversampling_ratio", "2\n")
    write(iio / "iio:device1/name", "hdc100x\n")
    write(iio / "iio:device1/in_humidityrelative_raw", "32768\n")
    write(iio / "iio:device1/in_humidityrelative_scale", "1.525878\n")
    write(iio / "iio:device1/in_temp_raw", "26000\n")
    write(iio / "iio:device1/in_temp_scale", "2.517700\n")
    write(iio / "iio:device1/in_temp_offset", "-15887.515151\n")
    write(iio / "iio:device1/in_temp_peak_raw", "27000\n")  # the highest since a reset
    # An ADS1115 (ti-ads1015): raw counts and a per-channel scale in mV.
    write(iio / "iio:device2/name", "ads1115\n")
    write(iio / "iio:device2/in_voltage0_raw", "13290\n")
    write(iio / "iio:device2/in_voltage0_scale", "0.187500000\n")
    # The firmware's flags (0x50005): under-voltage and throttled now, both have occurred.
    write(sys / "devices/platform/soc/soc:firmware/get_throttled", "50005\n")
    return root


def twenty_sensors(root: Path) -> Path:
    """A Pi with 20 sensors of every kind: 8 thermal zones, a hwmon chip with 6
    inputs, 4 DS18B20s and an IIO device with 2 raw channels (scale and offset)."""
    sys = root / "sys"
    for i in range(8):
        zone = sys / "class/thermal" / f"thermal_zone{i}"
        write(zone / "type", f"zone{i}-thermal\n")
        write(zone / "temp", f"{40000 + i * 100}\n")
    chip = sys / "class/hwmon/hwmon0"
    write(chip / "name", "nct6775\n")
    for i in range(3):
        write(chip / f"temp{i + 1}_input", f"{30000 + i}\n")
        write(chip / f"temp{i + 1}_label", f"SYSTIN{i}\n")
        write(chip / f"in{i}_input", f"{1000 + i}\n")
    for i in range(4):
        write(sys / "bus/w1/devices" / f"28-00000000000{i}" / "w1_slave", w1_slave(21000 + i))
    iio = sys / "bus/iio/devices/iio:device0"
    write(iio / "name", "hdc100x\n")
    write(iio / "in_humidityrelative_raw", "32768\n")
    write(iio / "in_humidityrelative_scale", "1.525878\n")
    write(iio / "in_temp_raw", "26000\n")
    write(iio / "in_temp_scale", "2.517700\n")
    write(iio / "in_temp_offset", "-15887.515151\n")
    return root
