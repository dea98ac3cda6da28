// SPDX-License-Identifier: GPL-2.0-only
//! # usched
//!
//! A framework for Linux sched_ext schedulers whose policy runs in user
//! space. The BPF component (`bpf/main.bpf.c`) sends every task that becomes
//! runnable to user space over a BPF ring buffer; a Rust policy orders them
//! and sends decisions back (target CPU, slice, vruntime, preemption) over a
//! user ring buffer; the BPF side dispatches them. See `docs/architecture.md`.
//!
//! - [`BpfScheduler`]: the scx_rustland_core-compatible API (`init`,
//!   `dequeue_task`, `dispatch_task`, `select_cpu`, `notify_complete`,
//!   `exited`, `shutdown_and_report`).
//! - [`rustland`]: the same framework with scx_rustland_core 2.4's API, for
//!   schedulers written against it (port by changing imports:
//!   `docs/porting.md`).
//! - [`runtime::run`]: drives any [`usched_core::policy::Policy`].
//! - [`thread`]: the dispatcher thread's explicit set-up (pinning, mlock).
//! - [`procfs`]: online CPUs, page faults and CPU time, as /sys and /proc say.
//! - [`usched_core`]: re-exported, the allocation-free queues, heap, policies and
//!   histograms.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bpf;
mod config;
pub mod cpufreq;
mod error;
pub mod escape;
mod exit;
mod kick;
mod libbpf_opts;
mod loader;
pub mod monitor;
pub mod procfs;
mod record;
pub mod run_events;
pub mod runtime;
pub mod rustland;
mod scheduler;
mod shared;
mod staging;
mod stats;
pub mod sys;
pub mod thread;
mod topology;

pub use config::{Config, PollMode};
pub use error::{Error, Result};
pub use exit::{clear_exit_request, exit_requested, request_exit};
pub use libbpf_opts::LibbpfOptions;
pub use record::{DispatchedTask, QueuedTask, RL_CPU_ANY, RL_PREEMPT};
pub use scheduler::{BpfScheduler, FULL_RING_WAIT};
pub use stats::{Placement, Stats};
/// usched-core, re-exported under its own name (not as `core`, which would
/// clash with the language's `core` crate in code that glob-imports usched).
pub use usched_core;

/// What a scheduler's `main` needs from scx_utils and libbpf-rs, re-exported
/// so that a scheduler built on usched depends on usched alone.
pub use libbpf_rs::OpenObject;
pub use scx_utils::UserExitInfo;
