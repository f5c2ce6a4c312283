"""An emulated 64-bit ARM Debian (Raspberry Pi OS's base) for the benchmarks: `setup.sh`
builds it, `python -m bench.arm64` runs a benchmark in it (bench/README.md, "arm64")."""
