// SPDX-License-Identifier: GPL-2.0-only
//! Reads the statistics of a usched scheduler running in another process,
//! straight from its BPF `.bss` map (root only). Works for any scheduler
//! built on usched, even one that exports no statistics itself.
//!
//! The map is found through the scheduler's own program (`usched_enqueue`,
//! the most recently loaded one) and the maps it uses, not by guessing from
//! sizes, and it is opened read-only: a monitor cannot write into a running
//! scheduler.
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libbpf_rs::libbpf_sys;
use libbpf_rs::query::{MapInfoIter, ProgInfoIter, ProgInfoQueryOptions};

use crate::bpf::skel::types;
use crate::error::{Error, Result};
use crate::stats::Stats;

/// The name of the BPF program that identifies a usched scheduler.
const MARKER_PROG: &str = "usched_enqueue";

/// A read-only handle on a running usched scheduler's `.bss` map.
#[derive(Debug)]
pub struct BssMap {
    fd: OwnedFd,
    id: u32,
}

impl BssMap {
    /// The map's kernel id.
    pub fn id(&self) -> u32 {
        self.id
    }
}

/// The `.bss` map of the running usched scheduler (the most recently loaded
/// program named `usched_enqueue`), opened read-only.
///
/// # Errors
/// [`Error::Bpf`] when no usched scheduler is loaded, when its `.bss` is not
/// the size this build expects (a scheduler built from another usched
/// version), or when maps cannot be listed or opened (that needs root).
pub fn find_bss_map() -> Result<BssMap> {
    let what = "finding a running usched scheduler";
    let opts = ProgInfoQueryOptions::default().include_map_ids(true);
    let prog = ProgInfoIter::with_query_opts(opts)
        .filter(|p| p.name.to_string_lossy() == MARKER_PROG)
        .max_by_key(|p| p.id)
        .ok_or_else(|| Error::bpf(what, "no usched scheduler is loaded"))?;
    let bss = MapInfoIter::default()
        .find(|m| prog.map_ids.contains(&m.id) && m.name.to_string_lossy().ends_with(".bss"))
        .ok_or_else(|| Error::bpf(what, "the usched program uses no .bss map"))?;
    // The Rust struct may end in padding (its size is a multiple of 8);
    // the map's value is the C section's exact size.
    let want = std::mem::size_of::<types::bss>() as u32;
    if bss.value_size > want || want - bss.value_size >= 8 {
        return Err(Error::bpf(
            what,
            format!(
                "its .bss is {} bytes, this build of usched expects {want}: \
                 use the usched-stat built with that scheduler",
                bss.value_size
            ),
        ));
    }
    let opts = libbpf_sys::bpf_get_fd_by_id_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_get_fd_by_id_opts>() as _,
        open_flags: libbpf_sys::BPF_F_RDONLY,
        token_fd: 0,
    };
    // SAFETY: `opts` is a valid, fully initialised options struct that
    // outlives the call.
    let fd = unsafe { libbpf_sys::bpf_map_get_fd_by_id_opts(bss.id, &opts) };
    if fd < 0 {
        return Err(Error::bpf(
            "opening the scheduler's .bss map",
            std::io::Error::from_raw_os_error(-fd),
        ));
    }
    // SAFETY: `fd` is a new file descriptor that nothing else owns.
    Ok(BssMap { fd: unsafe { OwnedFd::from_raw_fd(fd) }, id: bss.id })
}

/// What one BPF program of a scheduler has cost while the kernel counted
/// (see [`count_costs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgCost {
    /// The program's name (the kernel keeps 15 bytes of it).
    pub name: String,
    /// Its kernel id.
    pub id: u32,
    /// Its runs while counted.
    pub runs: u64,
    /// Their time, ns.
    pub run_ns: u64,
}

/// While this lives the kernel counts each BPF program's runs and their
/// time (`BPF_ENABLE_STATS`, as `sysctl kernel.bpf_stats_enabled=1` does
/// for as long as it is set). Counting costs two clock reads per run of
/// every BPF program on the machine.
#[derive(Debug)]
pub struct CostCounting {
    _fd: OwnedFd,
}

/// Makes the kernel count BPF programs' runs and time until the returned
/// guard is dropped.
///
/// # Errors
/// [`Error::Bpf`] when the kernel refuses (root is needed).
pub fn count_costs() -> Result<CostCounting> {
    // SAFETY: no pointers; the call returns a new file descriptor or an
    // error.
    let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
    if fd < 0 {
        return Err(Error::bpf(
            "making the kernel count BPF run time",
            std::io::Error::from_raw_os_error(-fd),
        ));
    }
    // SAFETY: `fd` is a new file descriptor that nothing else owns.
    Ok(CostCounting { _fd: unsafe { OwnedFd::from_raw_fd(fd) } })
}

/// The counted cost so far of each BPF program of the scheduler whose
/// `.bss` is `map` (the programs that use that map: its callbacks, its
/// timer and its kick program), by id. The counts only grow while some
/// [`CostCounting`] (or the sysctl) is on: take two and subtract.
/// Programs that vanish while listed are skipped: the list is empty once
/// the scheduler has gone.
pub fn prog_costs(map: &BssMap) -> Vec<ProgCost> {
    let opts = ProgInfoQueryOptions::default().include_map_ids(true);
    let mut out: Vec<ProgCost> = ProgInfoIter::with_query_opts(opts)
        .filter(|p| p.map_ids.contains(&map.id))
        .map(|p| ProgCost {
            name: p.name.to_string_lossy().into_owned(),
            id: p.id,
            runs: p.run_cnt,
            run_ns: p.run_time_ns,
        })
        .collect();
    out.sort_by_key(|c| c.id);
    out
}

/// A statistics snapshot of the running usched scheduler.
///
/// # Errors
/// As [`find_bss_map`], or when the map cannot be read.
pub fn snapshot() -> Result<Stats> {
    snapshot_of(&find_bss_map()?)
}

/// A statistics snapshot read from `map`.
///
/// # Errors
/// [`Error::Bpf`] when the map cannot be read.
pub fn snapshot_of(map: &BssMap) -> Result<Stats> {
    let mut bss = zeroed_bss();
    read_bss(map.fd.as_fd(), &mut bss)?;
    Ok(Stats::from_bss(&bss))
}

/// A `.bss` image of all zeroes, on the heap (it is tens of KiB).
fn zeroed_bss() -> Box<types::bss> {
    let layout = std::alloc::Layout::new::<types::bss>();
    const _: () = assert!(std::mem::size_of::<types::bss>() > 0);
    // SAFETY: the layout's size is not zero (asserted above).
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<types::bss>();
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `p` was allocated by the global allocator with the layout of
    // `types::bss`, as `Box` requires, and is zeroed: `types::bss` holds
    // integers, arrays of them, one `bool` and one pointer (never
    // dereferenced), for all of which all zeroes is a valid value.
    unsafe { Box::from_raw(p) }
}

/// Copies the `.bss` map behind `fd` (a usched scheduler's, of this build's
/// size) into `out`.
///
/// # Errors
/// [`Error::Bpf`] when the map cannot be read.
fn read_bss(fd: BorrowedFd<'_>, out: &mut types::bss) -> Result<()> {
    let key = 0u32;
    // SAFETY: the map's key is a u32 and its value at most one `types::bss`
    // (checked by `find_bss_map`, or the skeleton's own map); both pointers
    // are valid for those sizes. What the kernel copies is a valid
    // `types::bss`: integers, and one `bool` (scx's
    // `__scx_prolog_disables_migration`) that the BPF side only ever sets
    // to 0 or 1.
    let rc = unsafe {
        libbpf_sys::bpf_map_lookup_elem(
            fd.as_raw_fd(),
            std::ptr::addr_of!(key).cast(),
            std::ptr::from_mut(out).cast(),
        )
    };
    if rc != 0 {
        return Err(Error::bpf(
            "reading the scheduler's .bss map",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
