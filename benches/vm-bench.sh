#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM benchmark: one boot, the same workloads under EEVDF, scx_usched in
# each poll mode and any other scheduler binaries given as arguments (e.g. an
# upstream scx_rustland from `cargo install scx_rustland --root DIR`, never
# committed). Prints the table of vm/scenarios/bench.sh.
#
#   benches/vm-bench.sh [--cpus N] [BINARY ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cpus=2
if [ "${1:-}" = --cpus ]; then cpus=$2; shift 2; fi
. scripts/env.sh
cargo build --release --workspace --bins --examples
USCHED_EXTRA_BINS="$*" vm/usched-vm run bench --cpus "$cpus" --mem 4096 --tcg multi --timeout 1800 || true
grep -a '^BENCH-TABLE' target/vm-logs/bench.log | sed 's/^BENCH-TABLE //'
grep -aq 'USCHED-RESULT: PASS' target/vm-logs/bench.log
