#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Ports a scheduler written for scx_rustland_core 2.4 to usched by the recipe
# of docs/porting.md, and builds it: the proof that the recipe is all it
# takes. The crate comes from crates.io (its checksum checked against the
# index) into target/ports/, never into the repository.
#
#   scripts/port-rustland.sh [CRATE [VERSION]]     (default: scx_rlfifo 1.1.4)
#
# The binary lands in $CARGO_TARGET_DIR (default target)/release/ports/,
# where the VM harness picks it up. The recipe, applied below and nothing more:
#   1. in the sources, the block `mod bpf_skel; pub use bpf_skel::*;
#      pub mod bpf_intf; mod bpf; use bpf::*;` becomes
#      `use usched::rustland::*;`, and `scx_rustland_core::` becomes
#      `usched::rustland::`;
#   2. build.rs goes (usched brings its BPF side built), with the two files
#      that included its output (src/bpf_skel.rs, src/bpf_intf.rs);
#   3. Cargo.toml depends on usched instead of scx_rustland_core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
crate=${1:-scx_rlfifo}
version=${2:-1.1.4}
die() { echo "port-rustland: $*" >&2; exit 1; }
[[ "$crate" =~ ^[a-z0-9_-]+$ ]] || die "bad crate name '$crate'"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad version '$version'"

work="$root/target/ports/$crate-$version"
rm -rf "$work"
mkdir -p "$root/target/ports"

# Fetch, and check the archive against the checksum the index publishes.
# The index's path of a name: by its length, 1/, 2/, 3/first letter/, else
# first two letters/next two/.
case ${#crate} in
    1|2) ipath=${#crate}/$crate ;;
    3) ipath=3/${crate:0:1}/$crate ;;
    *) ipath=${crate:0:2}/${crate:2:2}/$crate ;;
esac
index="https://index.crates.io/$ipath"
want=$(curl -sSfL --retry 3 "$index" | grep -E "\"vers\": *\"${version//./\\.}\"" \
    | grep -oE '"cksum": *"[0-9a-f]{64}"' | cut -d'"' -f4) || die "$crate $version is not on crates.io"
[ -n "$want" ] || die "$crate $version is not on crates.io"
archive="$root/target/ports/$crate-$version.crate"
curl -sSfL --retry 3 -o "$archive" "https://static.crates.io/crates/$crate/$crate-$version.crate" \
    || die "cannot download $crate $version"
got=$(sha256sum "$archive" | cut -d' ' -f1)
[ "$got" = "$want" ] || die "$crate $version: checksum $got, the index says $want"
tar -xzf "$archive" -C "$root/target/ports"
rm -f "$archive"
cd "$work"
grep -q 'scx_rustland_core' Cargo.toml || die "$crate $version does not use scx_rustland_core"

# 1. Sources.
for f in src/*.rs; do
    perl -0777 -pi -e '
        s/^#\[rustfmt::skip\]\n(mod bpf;\n)/$1/mg;
        s/^(mod bpf_skel;|pub use bpf_skel::\*;|pub mod bpf_intf;|mod bpf;)\n//mg;
        s/^use bpf::\*;$/use usched::rustland::*;/mg;
        s/scx_rustland_core::/usched::rustland::/g;
    ' "$f"
done
# 2. The BPF build and what included it.
rm -f build.rs src/bpf_skel.rs src/bpf_intf.rs
# 3. The manifest (crates.io's normalised form: one [section] per dependency).
# Its own workspace (it is built outside usched's), with usched's release
# profile, so that the registry crates built for usched are reused; usched
# itself is built again for it (cargo keys a path crate by its workspace).
grep -qE '^\[(workspace|profile\.)' Cargo.toml && die "$crate's manifest has a [workspace] or [profile]: extend the recipe"
USCHED_ROOT=$root perl -0777 -pi -e '
    s/^build = "build\.rs"\n//m;
    s/^\[build-dependencies[^\]]*\]\n(?:(?!\[).*\n)*//mg;
    s/^\[dependencies\.scx_rustland_core\]\n(?:(?!\[).*\n)*/[dependencies.usched]\npath = "$ENV{USCHED_ROOT}"\n\n/m;
    $_ .= "\n[workspace]\n\n[profile.release]\ndebug = 1\n";
' Cargo.toml

# Nothing of the old framework may be left.
if grep -rnE 'scx_rustland_core::|bpf_skel|bpf_intf|^ *mod bpf;|use bpf::' src \
    || grep -nE 'scx_rustland_core|build-dependencies|build\.rs' Cargo.toml; then
    die "the recipe left the lines above in $crate"
fi
cp "$root/Cargo.lock" Cargo.lock
echo "port-rustland: $crate $version ported (diff: target/ports/$crate-$version)"

. "$root/scripts/env.sh"
target=${CARGO_TARGET_DIR:-$root/target}
rm -f "$target/release/$crate" "$target/release/ports/$crate"
CARGO_TARGET_DIR="$target" cargo build --release --bins
# The scheduler's binary is named after its crate (as upstream's all are).
[ -x "$target/release/$crate" ] || die "no $crate binary was built"
install -D -m 0755 "$target/release/$crate" "$target/release/ports/$crate"
echo "port-rustland: built $target/release/ports/$crate"
