#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fetches Debian's trixie-backports cloud kernel (CONFIG_SCHED_CLASS_EXT=y,
# BTF) into a cache directory, without touching the system's apt state:
# apt runs with a private state/cache/sources directory, and the mirror URI is
# read from the host's configured Debian sources (no host name is written here).
#
# Output: $USCHED_CACHE/kernel/{vmlinuz,config,version}
set -euo pipefail

cache=${USCHED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/usched}
out="$cache/kernel"
if [ -s "$out/vmlinuz" ] && [ -s "$out/config" ] && [ -s "$out/version" ]; then
    echo "fetch-kernel: cached $(cat "$out/version")"
    exit 0
fi

die() { echo "fetch-kernel: $*" >&2; exit 1; }

# The first Debian mirror URI the host already uses (deb822 or one-line form).
uri=$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
if [ -z "$uri" ]; then
    uri=$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '{print $NF}' | grep -v -- '-security' | head -1 || true)
fi
[ -n "$uri" ] || die "no Debian mirror URI found in /etc/apt/sources.list{,.d}; cannot fetch the kernel"

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.d" "$state/dl"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"
cat > "$state/sources.d/trixie-bpo.sources" <<SRC
Types: deb
URIs: $uri
Suites: trixie-backports
Components: main
Signed-By: $keyring
SRC
: > "$state/sources.list"
aptopts=(-o "Dir::State::Lists=$state/lists" -o "Dir::State::Status=/dev/null"
         -o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/sources.d"
         -o "Dir::Cache=$state/cache" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

apt-get "${aptopts[@]}" update -qq || die "apt update of trixie-backports from $uri failed"
# linux-image-cloud-amd64 -> linux-image-<ver>-cloud-amd64 -> linux-binary-<ver>-cloud-amd64
meta_dep=$(apt-cache "${aptopts[@]}" depends linux-image-cloud-amd64 2>/dev/null \
            | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$meta_dep" ] || die "linux-image-cloud-amd64 not found in trixie-backports"
ver=${meta_dep#linux-image-}
echo "fetch-kernel: kernel $ver"
(cd "$state/dl" && apt-get "${aptopts[@]}" download -qq "linux-binary-$ver" "linux-base-$ver" 2>/dev/null) \
  || (cd "$state/dl" && apt-get "${aptopts[@]}" download -qq "$meta_dep") \
  || die "could not download the kernel packages for $ver"

mkdir -p "$state/x"
for d in "$state"/dl/*.deb; do dpkg-deb -x "$d" "$state/x"; done
vmlinuz=$(find "$state/x" -name vmlinuz -o -name "vmlinuz-*" | head -1)
config=$(find "$state/x" -name config -path '*modules*' -o -name "config-*" -path '*boot*' | head -1)
[ -n "$vmlinuz" ] || die "no vmlinuz in the downloaded packages"
[ -n "$config" ] || die "no kernel config in the downloaded packages"
grep -q '^CONFIG_SCHED_CLASS_EXT=y' "$config" || die "$ver lacks CONFIG_SCHED_CLASS_EXT"
mkdir -p "$out"
cp "$vmlinuz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$config" "$out/config"
echo "$ver" > "$out/version"
echo "fetch-kernel: cached $ver in $out"
