// SPDX-License-Identifier: GPL-2.0-only
//! # usched-core
//!
//! Allocation-free building blocks for latency-sensitive schedulers, usable
//! with or without the rest of usched:
//!
//! - [`spsc`]: a bounded single-producer/single-consumer ring queue with inline
//!   storage, split into [`spsc::Producer`] and [`spsc::Consumer`] roles.
//! - [`mpmc`]: a bounded multi-producer/multi-consumer queue (Vyukov's
//!   algorithm) with inline storage.
//! - [`heap`]: a fixed-capacity indexed min-heap keyed by wrap-safe `u64`
//!   deadlines, with `remove(pid)` and `update(pid, key)`.
//! - [`policy`]: scheduling policies ([`policy::Fifo`], [`policy::Deadline`])
//!   as pure state machines behind the [`policy::Policy`] trait.
//! - [`histogram`]: log-linear latency histograms (≤ 1 % relative error)
//!   with a lock-free variant one thread records into while others read.
//! - [`time`]: wrap-safe comparisons of `u64` clocks.
//! - [`cpuperf`]: the CPU frequency rule (a performance target from a
//!   CPU's utilisation).
//!
//! Nothing in this crate allocates: every container stores its elements
//! inline, its capacity a const generic fixed at compile time, so it can live
//! in a `static`, on the stack or in a `Box` made once at start-up. The one
//! exception is opt-in: with the `alloc` feature, `spsc::channel` puts a
//! ring in an `Arc` once, at creation, so that its ends own it.
//!
//! The crate is `#![no_std]`; the `alloc` feature adds `spsc::channel`, the
//! `std` feature (which implies `alloc`) `std::error::Error` impls and
//! `Policy` for `Box<P>`.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::unwrap_used)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod cache_padded;
mod sync;

pub mod cpuperf;
pub mod heap;
pub mod histogram;
pub mod mpmc;
pub mod policy;
pub mod spsc;
pub mod time;
pub mod trace;

pub use cache_padded::CachePadded;
