#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs everything a fresh Debian/Ubuntu machine needs to build usched and
# to run its VM tests: the BPF toolchain (clang >= 17), libbpf's build deps,
# qemu (TCG), busybox-static and the workload tools copied into the guest.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: must run as root (it installs Debian packages)" >&2
    exit 1
fi

pkgs=(clang-19 llvm-19 libelf-dev zlib1g-dev pkg-config make
      qemu-system-x86 busybox-static cpio zstd
      stress-ng rt-tests valgrind util-linux procps curl perl)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# scx_utils' build script runs a plain `clang`; keep the one it finds inside
# the project (tools/bin is put on PATH by scripts/env.sh) instead of touching
# the system's alternatives.
mkdir -p "$here/tools/bin"
ln -sf "$(command -v clang-19)" "$here/tools/bin/clang"
ln -sf "$(command -v llvm-strip-19 || command -v llvm-strip)" "$here/tools/bin/llvm-strip" 2>/dev/null || true

echo "setup.sh: toolchain ready ($("$here/tools/bin/clang" --version | head -1))"
