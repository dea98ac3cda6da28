// SPDX-License-Identifier: GPL-2.0-only
//! usched: a framework for sched_ext schedulers whose policy runs in user space.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

pub use usched_core as core;
