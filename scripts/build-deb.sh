#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the Debian package of scx_usched from the release build:
#
#   scripts/build-deb.sh [OUTDIR]       (default: $CARGO_TARGET_DIR or target, /deb)
#
# Prints the package's path. Needs `cargo build --release` first, and
# dpkg-deb (part of dpkg, on every Debian and Ubuntu). The package holds:
#   /usr/bin/scx_usched, /usr/bin/usched-stat     (debug info stripped)
#   /lib/systemd/system/scx_usched.service        (sched-bin/scx_usched.service,
#                                                  ExecStart in /usr/bin)
#   /etc/default/scx_usched                       (a conffile: SCX_USCHED_FLAGS)
#   /usr/share/doc/usched/                        (tuning.md, copyright)
# Installing it does not start or enable the service: `systemctl enable --now
# scx_usched` does, once the flags are as wanted. Removing it stops the
# service. The data is gzip-compressed, which every dpkg reads (busybox's
# too: the VM's `package` scenario installs it with that).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bindir=${USCHED_BINDIR:-$target/release}    # where the binaries are
out=${1:-$target/deb}
die() { echo "build-deb: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null || die "dpkg-deb missing (package dpkg)"
for b in scx_usched usched-stat; do
    [ -x "$bindir/$b" ] || die "$bindir/$b missing: run cargo build --release --workspace --bins"
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
[ -n "$version" ] || die "no version in Cargo.toml"
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" \
    "$stage/etc/default" "$stage/usr/share/doc/usched"
for b in scx_usched usched-stat; do
    objcopy --strip-debug "$bindir/$b" "$stage/usr/bin/$b"
    chmod 0755 "$stage/usr/bin/$b"
done
sed -e 's|^ExecStart=/usr/local/bin/scx_usched|ExecStart=/usr/bin/scx_usched|' \
    -e 's|^Documentation=.*|Documentation=file:///usr/share/doc/usched/tuning.md|' \
    -e '/^# systemd unit for scx_usched. Install:/,/^#   sudo systemctl daemon-reload/d' \
    "$root/sched-bin/scx_usched.service" > "$stage/lib/systemd/system/scx_usched.service"
grep -q '^ExecStart=/usr/bin/scx_usched ' "$stage/lib/systemd/system/scx_usched.service" \
    || die "the unit's ExecStart was not rewritten to /usr/bin"
chmod 0644 "$stage/lib/systemd/system/scx_usched.service"
cat > "$stage/etc/default/scx_usched" <<'EOF'
# Flags for scx_usched's systemd unit (scx_usched --help; modes and knobs in
# /usr/share/doc/usched/tuning.md), e.g. SCX_USCHED_FLAGS="--mode gaming".
SCX_USCHED_FLAGS=""
EOF
install -m 0644 "$root/docs/tuning.md" "$stage/usr/share/doc/usched/tuning.md"
cat > "$stage/usr/share/doc/usched/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: usched
License: GPL-2.0-only
 On Debian systems, the full text is in /usr/share/common-licenses/GPL-2.
EOF
echo "/etc/default/scx_usched" > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: scx-usched
Version: $version
Architecture: $arch
Maintainer: usched developers <usched@localhost>
Installed-Size: $size
Depends: libc6, libelf1 | libelf1t64, zlib1g, libgcc-s1
Section: admin
Priority: optional
Description: low-latency sched_ext scheduler with its policy in user space
 scx_usched schedules every task of a Linux kernel with sched_ext (6.12 or
 later, CONFIG_SCHED_CLASS_EXT) for low wake-up latency on gaming and audio
 desktops. Its policy runs in user space, on the usched framework.
 .
 The systemd unit is installed but neither enabled nor started: set the
 flags in /etc/default/scx_usched, then systemctl enable --now scx_usched.
EOF
cat > "$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload || true
fi
EOF
cat > "$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl stop scx_usched.service || true
fi
EOF
cat > "$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload || true
fi
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/scx-usched_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" > /dev/null
echo "$deb"
