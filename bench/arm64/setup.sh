#!/bin/sh
# Build (or bring up to date) an emulated 64-bit ARM Debian for the benchmarks:
# Raspberry Pi OS's base (Debian bookworm, arm64) with python3 (3.11), python3-venv,
# mosquitto, and a venv at /opt/venv holding the project's dependencies as aarch64
# wheels.  Idempotent: each step is skipped when done.  Nothing of it is committed;
# `python -m bench.arm64` runs a benchmark inside it (bench/README.md, "arm64").
#
#     sudo bench/arm64/setup.sh [ROOT]        # ROOT defaults to /work/arm64root
#
# Needs root (debootstrap, chroot, mounts) and qemu-user-static registered with
# binfmt_misc (flag F), so that every aarch64 program, children included, runs
# emulated: this script registers it if the kernel lets it.
set -eu

ROOT=${1:-${ARM64_ROOT:-/work/arm64root}}
SUITE=bookworm
MIRROR=${ARM64_MIRROR:-http://deb.debian.org/debian}
CHECKOUT=$(cd "$(dirname "$0")/../.." && pwd)
# Debian's packages inside: what `python -m bench` needs besides the venv.
PACKAGES="python3 python3-venv python3-dev mosquitto mosquitto-clients ca-certificates procps"

say() { printf 'arm64: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot)"; exit 1; }

# 1. The host's tools.
if ! command -v debootstrap >/dev/null || ! [ -x /usr/bin/qemu-aarch64-static ] \
    || ! command -v update-binfmts >/dev/null; then
    say "installing debootstrap, qemu-user-static, binfmt-support"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap qemu-user-static binfmt-support
fi

# 2. binfmt_misc: without it an emulated program could not start another one
#    (a benchmark's server, mosquitto): qemu-user does not follow execve.
if ! [ -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
        || { say "cannot mount binfmt_misc: no emulated children (see bench/README.md)"; exit 1; }
fi
if ! [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    update-binfmts --enable qemu-aarch64
fi
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
    || { say "qemu-aarch64 is registered without flag F: it cannot run inside a chroot"; exit 1; }

# 3. The root file system.
if ! [ -e "$ROOT/.debootstrap-done" ]; then
    say "debootstrap $SUITE arm64 into $ROOT (several minutes, emulated)"
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    debootstrap --arch=arm64 --variant=minbase \
        --include="$(echo "$PACKAGES" | tr ' ' ,)" \
        "$SUITE" "$ROOT" "$MIRROR"
    touch "$ROOT/.debootstrap-done"
fi

in_root() {
    # A private mount namespace: the mounts vanish with it, even on a kill.
    unshare --mount --propagation private sh -eu -c '
        root=$1; checkout=$2; shift 2
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount --rbind /sys "$root/sys"
        mkdir -p "$root/src"
        mount --bind "$checkout" "$root/src"
        cp /etc/resolv.conf "$root/etc/resolv.conf"
        # The host'"'"'s trust store, for pip: a proxy that intercepts TLS has its CA there.
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-certificates.crt"
        exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
            LANG=C.UTF-8 PIP_CERT=/etc/ssl/host-ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
    ' sh "$ROOT" "$CHECKOUT" "$@"
}

# 4. Debian's packages, in case an earlier run stopped half-way or the list grew.
status=$(in_root sh -c "dpkg-query -W -f='\${db:Status-Status}\n' $PACKAGES" 2>/dev/null || echo missing)
if printf '%s\n' "$status" | grep -qvx installed; then
    say "apt-get install $PACKAGES"
    in_root sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES"
fi

# 5. The venv: the project's dependencies as aarch64 wheels, pinned to the
#    versions of the host's venv when there is one (so both measure the same code).
if ! [ -x "$ROOT/opt/venv/bin/python" ]; then
    say "python3 -m venv /opt/venv"
    in_root python3 -m venv /opt/venv
fi
pins="$ROOT/opt/pins.txt"
: > "$pins"
if [ -x "$CHECKOUT/.venv/bin/python" ]; then
    "$CHECKOUT/.venv/bin/python" -m pip freeze --exclude-editable 2>/dev/null | grep -v '^-e ' > "$pins" || true
elif [ -x /work/main/.venv/bin/python ]; then
    /work/main/.venv/bin/python -m pip freeze --exclude-editable 2>/dev/null | grep -v '^-e ' > "$pins" || true
fi
stamp="$ROOT/opt/venv/.installed"
want=$(cat "$CHECKOUT/pyproject.toml" "$pins" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "pip install -e /src[dev] (aarch64 wheels only)"
    in_root /opt/venv/bin/python -m pip install -q --only-binary=:all: \
        -c /opt/pins.txt -e '/src[dev]'
    echo "$want" > "$stamp"
fi
in_root /opt/venv/bin/python -c 'import platform, sys, numpy, orjson, uvloop, httptools, tsdownsample; print("arm64:", platform.machine(), sys.version.split()[0], "numpy", numpy.__version__)'
