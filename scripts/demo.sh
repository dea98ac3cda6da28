#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job: install what is needed, build, boot a sched_ext kernel in
# qemu, run scx_usched under an audio-like workload against CPU hogs, and
# print its live statistics and a before/after latency line.
# Run as root: `sudo scripts/demo.sh`. VM size: USCHED_CPUS (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
. scripts/env.sh
cargo build --release --workspace --bins --examples
vm/usched-vm run demo --cpus "${USCHED_CPUS:-2}" --tcg multi --timeout 600 || true
log=target/vm-logs/demo.log
# Show the guest's story without the kernel's boot noise.
grep -a -E '^\[scenario\]|^dispatch:|^tasks:|^ +(enq->dispatch|wake->run)|^cpu:|^dispatcher:|^before/after|^  (eevdf|scx_usched)|^PROBE|USCHED-RESULT' "$log"
grep -aq 'USCHED-RESULT: PASS' "$log"
