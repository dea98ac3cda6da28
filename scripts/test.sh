#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole test suite: setup, fmt, clippy, host tests (core under valgrind,
# loom models), release build, then the VM suite on the sched_ext kernel.
# Run as root on a Debian/Ubuntu machine: `sudo scripts/test.sh`.
# USCHED_SKIP_VM=1 skips the VM suite (for machines without qemu).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - t0 ))s)"; }

step "setup"
scripts/setup.sh
. scripts/env.sh
export RUST_MIN_STACK=16777216

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "no_std build of usched-core"
cargo build -p usched-core --no-default-features --release
if cargo tree -p usched-core --no-default-features -e normal --prefix none | grep -v '^usched-core' | grep -q .; then
    echo "usched-core has dependencies in its no_std build"; exit 1
fi

step "host tests"
cargo test --workspace --release

step "usched-core tests under valgrind (memcheck)"
for t in $(cargo test -p usched-core --features std --release --no-run --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*"' | cut -d'"' -f4); do
    echo "valgrind $(basename "$t")"
    # --fair-sched: valgrind runs one thread at a time; fair hand-over keeps
    # the two-thread tests from crawling. The timeout turns a hang into a failure.
    USCHED_STRESS_ITEMS=200000 timeout 900 valgrind -q --fair-sched=yes --error-exitcode=1 \
        --leak-check=no "$t" --test-threads=2 -q
done

step "loom models of the lock-free queues"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p usched-core --test loom --release

step "release build for the VM"
cargo build --release --workspace --bins --examples

step "cargo package: usched-core and usched build from their packaged files alone"
# cargo verifies usched against usched-core from a local registry under
# target/package, and keys both its unpacked copy of that crate (in
# CARGO_HOME) and the copy's build (in target/debug) by name and version
# only. On a checkout that is tested again at the same path, the copy of an
# earlier commit would be verified instead of this one: remove both.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/usched-core-* target/debug/.fingerprint/usched-core-*
# The verification is a debug build that nothing else uses: without debug
# info it builds sooner, and proves the same.
CARGO_PROFILE_DEV_DEBUG=0 cargo package -p usched-core -p usched --allow-dirty --quiet

step "scx_rlfifo (written for scx_rustland_core 2.4) ported by docs/porting.md's recipe"
scripts/port-rustland.sh scx_rlfifo 1.1.4

if [ "${USCHED_SKIP_VM:-0}" = 1 ]; then
    echo "VM suite skipped (USCHED_SKIP_VM=1)"
else
    step "VM suite"
    vm/usched-vm test
fi
step "all tests passed"
