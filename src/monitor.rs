// SPDX-License-Identifier: GPL-2.0-only
//! Reads the statistics of a usched scheduler running in another process,
//! straight from its BPF `.bss` map (root only). Works for any scheduler
//! built on usched, even one that exports no statistics itself.
use libbpf_rs::query::MapInfoIter;
use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType};

use crate::bpf::skel::types;
use crate::error::{Error, Result};
use crate::stats::Stats;

/// The `.bss` map of the most recently loaded usched scheduler.
///
/// # Errors
/// [`Error::Bpf`] when no usched scheduler is loaded (or maps cannot be
/// listed: that needs root).
pub fn find_bss_map() -> Result<MapHandle> {
    let want = std::mem::size_of::<types::bss>() as u32;
    let id = MapInfoIter::default()
        .filter(|m| {
            m.ty == MapType::Array
                && m.value_size == want
                && m.name.to_string_lossy().ends_with(".bss")
        })
        .map(|m| m.id)
        .max()
        .ok_or_else(|| {
            Error::bpf("finding a running usched scheduler", "no usched .bss map is loaded")
        })?;
    MapHandle::from_map_id(id).map_err(|e| Error::bpf("opening the scheduler's .bss map", e))
}

/// A statistics snapshot of the running usched scheduler.
///
/// # Errors
/// As [`find_bss_map`], or when the map cannot be read.
pub fn snapshot() -> Result<Stats> {
    snapshot_of(&find_bss_map()?)
}

/// A statistics snapshot read from `map`, a usched `.bss` map.
///
/// # Errors
/// [`Error::Bpf`] when the map cannot be read or is of the wrong size.
pub fn snapshot_of(map: &MapHandle) -> Result<Stats> {
    let bytes = map
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .map_err(|e| Error::bpf("reading the scheduler's .bss map", e))?
        .ok_or_else(|| Error::bpf("reading the scheduler's .bss map", "empty"))?;
    if bytes.len() < std::mem::size_of::<types::bss>() {
        return Err(Error::bpf("reading the scheduler's .bss map", "value too short"));
    }
    // SAFETY: `bytes` holds at least one `types::bss`, a plain struct of
    // integers (its one pointer field is never dereferenced here);
    // read_unaligned copies it out of the byte buffer.
    let bss = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<types::bss>()) };
    Ok(Stats::from_bss(&bss))
}
