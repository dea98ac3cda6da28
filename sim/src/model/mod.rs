// SPDX-License-Identifier: GPL-2.0-only
//! The schedulers the simulator can run: the EEVDF-like reference, and the
//! usched framework model driving any usched-core policy.

pub mod eevdf;
pub mod framework;

pub use eevdf::Eevdf;
pub use framework::{DispatcherMode, Framework, Rules};
