#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prints the criterion results under target/criterion as markdown tables,
with the ratios the targets of docs/benchmarks.md are stated in.
Run after `cargo bench --bench core --bench dispatch`."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
est = {}
for f in root.glob("**/new/estimates.json"):
    name = str(f.parent.parent.relative_to(root))
    est[name] = json.loads(f.read_text())["median"]["point_estimate"]

def ns(name):
    return est.get(name)

def row(label, name, base=None):
    v = ns(name)
    if v is None:
        return
    r = ""
    if base and ns(base):
        r = f"{v / ns(base):.2f}x"
    print(f"| {label} | {v:.2f} ns | {r} |")

print("| benchmark | median | vs baseline |")
print("| --- | --- | --- |")
for q in ["usched_spsc", "usched_spsc_owned", "usched_mpmc", "rtrb", "std_sync_channel", "crossbeam_arrayqueue"]:
    row(f"push+pop, 1 thread: {q}", f"queue_push_pop_1thread/{q}", "queue_push_pop_1thread/crossbeam_arrayqueue")
for q in ["usched_spsc", "usched_spsc_batched", "usched_mpmc", "rtrb", "std_sync_channel", "crossbeam_arrayqueue"]:
    row(f"per item, 2 threads: {q}", f"queue_cross_thread_per_item/{q}", "queue_cross_thread_per_item/crossbeam_arrayqueue")
for n in [64, 1024, 4096]:
    for h in ["usched_vtimeheap", "btreeset", "std_binaryheap"]:
        row(f"heap push+pop_min @{n}: {h}", f"heap_push_pop/{h}/{n}", f"heap_push_pop/btreeset/{n}")
for n in [64, 1024, 4096]:
    for h in ["usched_vtimeheap", "btreeset"]:
        row(f"heap push+pop_min, near-monotone keys @{n}: {h}", f"heap_push_pop_near_monotone/{h}/{n}", f"heap_push_pop_near_monotone/btreeset/{n}")
for n in [64, 1024, 4096]:
    for h in ["usched_vtimeheap", "btreeset"]:
        row(f"remove(pid)+reinsert @{n}: {h}", f"heap_remove_reinsert/{h}/{n}", f"heap_remove_reinsert/btreeset/{n}")
row("Deadline enqueue+dispatch @4096", "deadline_enqueue_dispatch_4096")
row("histogram record", "histogram_record")
row("atomic histogram record", "atomic_histogram_record")
row("trace record encode + SPSC push (--record)", "trace_record_encode_push")
v = ns("decode_policy_encode_batch64")
if v:
    print(f"| decode + Deadline + encode, batch of 64 | {v:.0f} ns ({v / 64:.1f} ns/task) | |")
