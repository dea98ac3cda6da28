// SPDX-License-Identifier: GPL-2.0-only
//! The errors of the usched framework.
use std::fmt;

/// Everything that can go wrong in usched, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The running kernel has no sched_ext.
    #[error(
        "this kernel ({kernel}) has no sched_ext support: /sys/kernel/sched_ext is missing; \
         boot a kernel built with CONFIG_SCHED_CLASS_EXT=y (and CONFIG_DEBUG_INFO_BTF=y)"
    )]
    NoSchedExt {
        /// `uname -r` of the running kernel.
        kernel: String,
    },
    /// Loading a BPF scheduler needs root or CAP_BPF + CAP_SYS_ADMIN.
    #[error(
        "permission denied: loading a sched_ext scheduler needs root, or both CAP_BPF and \
         CAP_SYS_ADMIN (effective capabilities: {caps:#x})"
    )]
    NotPermitted {
        /// The process's effective capability mask (/proc/self/status CapEff).
        caps: u64,
    },
    /// Another sched_ext scheduler is attached.
    #[error(
        "another sched_ext scheduler is already loaded: '{ops}' (state {state}); stop it first"
    )]
    AlreadyLoaded {
        /// Its name, from /sys/kernel/sched_ext/root/ops.
        ops: String,
        /// /sys/kernel/sched_ext/state.
        state: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The BPF verifier rejected the program.
    #[error(
        "the BPF verifier rejected the scheduler: {error}\n--- verifier log (tail) ---\n{log}"
    )]
    Verifier {
        /// libbpf's error.
        error: String,
        /// The last lines libbpf logged.
        log: String,
    },
    /// Opening, loading or attaching the BPF program failed for another reason.
    #[error("{what} failed: {error}")]
    Bpf {
        /// The step that failed.
        what: &'static str,
        /// Its error chain.
        error: String,
    },
    /// The user ring buffer is full: the decision was not sent, retry it.
    #[error("the dispatch ring buffer is full; the decision for pid {pid} was not sent")]
    DispatchQueueFull {
        /// The task whose decision was refused.
        pid: i32,
    },
    /// The BPF scheduler exited with an error.
    #[error("the BPF scheduler exited: {0}")]
    Exited(String),
    /// An OS call failed.
    #[error("{what}: {source}")]
    Os {
        /// What was attempted.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn bpf(what: &'static str, e: impl fmt::Display) -> Self {
        Error::Bpf { what, error: format!("{e:#}") }
    }

    pub(crate) fn os(what: &'static str) -> Self {
        Error::Os { what, source: std::io::Error::last_os_error() }
    }
}

/// usched's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
