// SPDX-License-Identifier: GPL-2.0-only
//! The generated skeleton and ABI bindings (OUT_DIR), plus layout checks.
#![allow(missing_docs)]

/// bindgen's view of bpf/intf.h.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    dead_code,
    clippy::all,
    clippy::unwrap_used,
    clippy::undocumented_unsafe_blocks
)]
pub mod intf {
    include!(concat!(env!("OUT_DIR"), "/bpf_intf.rs"));
}

/// libbpf-cargo's skeleton of bpf/main.bpf.c.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unused_imports,
    clippy::all,
    clippy::unwrap_used,
    clippy::undocumented_unsafe_blocks
)]
pub mod skel {
    include!(concat!(env!("OUT_DIR"), "/bpf_skel.rs"));
}

// The ABI header asserts these sizes in C; assert them here too, so that a
// change on one side alone fails to build.
const _: () = assert!(core::mem::size_of::<intf::queued_task>() == 128);
const _: () = assert!(
    intf::usched_consts_USCHED_COMM_LEN as usize == crate::record::COMM_LEN,
    "QueuedTask::comm holds the kernel's TASK_COMM_LEN"
);
const _: () = assert!(core::mem::size_of::<intf::dispatched_task>() == 48);
const _: () = assert!(core::mem::size_of::<intf::kick_args>() == 3 * 16 * 8 + 8);
const _: () = assert!(core::mem::size_of::<intf::usched_counters>() == 23 * 8);
const _: () = assert!(intf::usched_consts_USCHED_CPUPERF_ONE == usched_core::cpuperf::CPUPERF_ONE);
const _: () =
    assert!(intf::usched_consts_USCHED_WEIGHT_NICE0 as u64 == usched_core::policy::WEIGHT_NICE0);
const _: () =
    assert!(intf::usched_consts_USCHED_HIST_BUCKETS as usize == usched_core::histogram::BUCKETS);
// Flags and limits both sides use: the header's values are the policy's.
const _: () =
    assert!(intf::usched_task_flags_USCHED_TASK_WAKEUP as u64 == usched_core::policy::Task::WAKEUP);
const _: () = assert!(
    intf::usched_task_flags_USCHED_TASK_KTHREAD as u64 == usched_core::policy::Task::KTHREAD
);
const _: () = assert!(
    intf::usched_limits_USCHED_SLICE_MIN_NS == usched_core::policy::DeadlineConfig::SLICE_NS_MIN
);
const _: () = assert!(
    intf::usched_limits_USCHED_SLICE_MAX_NS == usched_core::policy::DeadlineConfig::SLICE_NS_MAX
);
// The core's Deadline defaults are usched's: its slice, and its aging bound
// the starvation guard's threshold (the watchdog / USCHED_STARVE_DIV).
const _: () = assert!(
    intf::usched_defaults_USCHED_SLICE_DEFAULT_NS as u64
        == usched_core::policy::DeadlineConfig::DEFAULT.slice_max_ns
);
const _: () = assert!(
    intf::usched_defaults_USCHED_WATCHDOG_DEFAULT_MS as u64 * 1_000_000
        / intf::usched_limits_USCHED_STARVE_DIV
        == usched_core::policy::DeadlineConfig::DEFAULT.max_wait_ns
);
