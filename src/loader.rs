// SPDX-License-Identifier: GPL-2.0-only
//! The loader: checks the machine and the configuration, opens the BPF
//! object, writes the configuration into its read-only data, loads it
//! (keeping libbpf's log to report a verifier error) and attaches the
//! scheduler.
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::Mutex;

use libbpf_rs::libbpf_sys::bpf_object_open_opts;
use libbpf_rs::{Link, OpenObject, PrintLevel};
// scx_ops_attach! expands to a call of itself by its bare name.
use scx_utils::scx_ops_attach;

use crate::bpf::intf;
use crate::bpf::skel::{types, BpfSkel, BpfSkelBuilder};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::libbpf_opts::OpenOpts;
use crate::sys;
use crate::topology::CpuTopology;

const MAX_CPUS: usize = intf::usched_consts_USCHED_MAX_CPUS as usize;
/// Length of `sched_ext_ops.name`, terminator included (the kernel's
/// `SCX_OPS_NAME_LEN`); the assignment in `load` checks it against the
/// skeleton's array.
const SCX_OPS_NAME_LEN: usize = 128;

/// The libbpf log lines kept while loading, for verifier errors.
static LOAD_LOG: Mutex<String> = Mutex::new(String::new());

/// libbpf's print callback while loading: keeps the log's tail.
fn capture_libbpf_log(_level: PrintLevel, msg: String) {
    if let Ok(mut log) = LOAD_LOG.lock() {
        log.push_str(&msg);
        // Keep the tail: the verifier's verdict is at the end.
        if log.len() > 64 * 1024 {
            let cut = log.len() - 32 * 1024;
            log.drain(..cut);
        }
    }
}

/// The last `lines` lines of the captured log.
fn log_tail(lines: usize) -> String {
    let log = LOAD_LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let v: Vec<&str> = log.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// A loaded and attached scheduler.
pub(crate) struct Loaded<'a> {
    /// The skeleton: programs and maps.
    pub(crate) skel: BpfSkel<'a>,
    /// The struct_ops link: dropping it detaches the scheduler.
    pub(crate) link: Link,
    /// The mmap'd `.bss`, alive as long as `skel`.
    pub(crate) bss: NonNull<types::bss>,
    /// Possible CPU ids (at most `USCHED_MAX_CPUS`).
    pub(crate) nr_cpu_ids: usize,
    /// The topology written into `.rodata`.
    pub(crate) topology: CpuTopology,
}

/// Loads and attaches the scheduler with `cfg`.
///
/// # Errors
/// [`Error::NoSchedExt`], [`Error::NotPermitted`], [`Error::AlreadyLoaded`]
/// and [`Error::InvalidConfig`] before anything is loaded;
/// [`Error::Verifier`] with the tail of the verifier log, or [`Error::Bpf`]
/// when opening, loading or attaching fails.
/// `raw_opts`, when given, are libbpf's open options as the caller made them
/// (the `rustland` face's `init` takes them so); else `cfg.libbpf`'s.
pub(crate) fn load<'a>(
    open_object: &'a mut MaybeUninit<OpenObject>,
    cfg: &Config,
    raw_opts: Option<bpf_object_open_opts>,
) -> Result<Loaded<'a>> {
    let nr_cpu_ids = *scx_utils::NR_CPU_IDS;
    if nr_cpu_ids > MAX_CPUS {
        return Err(Error::InvalidConfig(format!(
            "this machine has {nr_cpu_ids} possible CPU ids; usched supports at most {MAX_CPUS} \
             (USCHED_MAX_CPUS in bpf/intf.h)"
        )));
    }
    cfg.validate(nr_cpu_ids)?;
    sys::preflight()?;

    if raw_opts.is_some() && !cfg.libbpf.is_default() {
        return Err(Error::InvalidConfig(
            "libbpf options given twice: raw and in Config::libbpf".into(),
        ));
    }
    // Read and checked before anything is loaded; alive until the open
    // below has copied what it points to.
    let open_opts = OpenOpts::new(&cfg.libbpf)?;
    let mut topo = CpuTopology::detect(nr_cpu_ids);
    if let Some(cpus) = &cfg.fast_cpus {
        topo = topo.with_fast_cpus(cpus);
    }
    if !topo.fast_cpus.is_empty() && cfg.fast_wakeup.is_some() && !cfg.pack {
        log::info!("fast wakers prefer CPUs {:?} when idle", topo.fast_cpus);
    }
    let builder = BpfSkelBuilder::default();
    let opts = raw_opts.or_else(|| open_opts.raw());
    let mut skel = scx_utils::scx_ops_open!(builder, open_object, usched_ops, opts)
        .map_err(|e| Error::bpf("opening the BPF object", e))?;
    drop(open_opts);

    {
        let ro = skel
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| Error::bpf("opening the BPF object", "no .rodata map"))?;
        ro.usersched_tgid = std::process::id() as i32;
        ro.slice_ns = cfg.slice.as_nanos() as u64;
        ro.builtin_idle = cfg.builtin_idle;
        ro.sync_handoff = cfg.sync_handoff;
        ro.dispatcher_cpu = cfg.dispatcher_cpu.map_or(-1, |c| c as i32);
        ro.poll_mode = cfg.poll.abi();
        ro.heartbeat_ns = cfg.heartbeat.as_nanos() as u64;
        ro.starve_ns = cfg.starve_after().as_nanos() as u64;
        ro.debug = cfg.debug;
        ro.fast_wakeup_ns = cfg.fast_wakeup.map_or(0, |d| d.as_nanos() as u64);
        ro.cpufreq = cfg.cpufreq;
        ro.pack_work = cfg.pack;
        ro.run_events_on = cfg.run_events;
        for (c, &next) in topo.smt_next.iter().enumerate() {
            ro.cpu_smt_next[c] = next;
            ro.cpu_llc[c] = topo.llc[c];
            ro.cpu_node[c] = topo.node[c];
        }
        // CPU ids below nr_cpu_ids (at most USCHED_MAX_CPUS, checked
        // above), distinct (validated, or one per CPU when detected).
        let mut n = 0;
        for (slot, &c) in ro.fast_cpus.iter_mut().zip(&topo.fast_cpus) {
            *slot = c;
            ro.cpu_fast[c as usize] = 1;
            n += 1;
        }
        ro.nr_fast_cpus = n;
    }
    skel.maps
        .queued
        .set_max_entries(cfg.ring_bytes)
        .map_err(|e| Error::bpf("sizing the ring buffer", e))?;
    if cfg.run_events {
        skel.maps
            .run_events
            .set_max_entries(intf::usched_consts_USCHED_RUN_EVENTS_RB_BYTES)
            .map_err(|e| Error::bpf("sizing the run-event ring buffer", e))?;
    }
    {
        let ops = skel.struct_ops.usched_ops_mut();
        ops.exit_dump_len = cfg.exit_dump_len;
        ops.timeout_ms = cfg.watchdog.as_millis() as u32;
        if let Some(name) = &cfg.name {
            // Checked by `validate`: ASCII, at most NAME_MAX bytes, which
            // leaves room for the terminator.
            const _: () = assert!(Config::NAME_MAX < SCX_OPS_NAME_LEN);
            ops.name = [0; SCX_OPS_NAME_LEN];
            for (dst, &b) in ops.name.iter_mut().zip(name.as_bytes()) {
                *dst = b as _;
            }
        }
        if cfg.partial {
            ops.flags |= *scx_utils::compat::SCX_OPS_SWITCH_PARTIAL;
        }
    }

    {
        use libbpf_rs::AsRawLibbpf;
        // The struct_ops map is attached by hand below (its link is ours);
        // libbpf's skeleton attach would try as well and warn that the
        // skeleton has no link for it.
        let map = skel.maps.usched_ops.as_libbpf_object();
        // SAFETY: `map` points to the open object's struct_ops map, alive
        // as long as `skel`; the call only sets a flag on it.
        unsafe { libbpf_rs::libbpf_sys::bpf_map__set_autoattach(map.as_ptr(), false) };
    }

    if let Ok(mut l) = LOAD_LOG.lock() {
        l.clear();
    }
    let prev = libbpf_rs::set_print(Some((PrintLevel::Debug, capture_libbpf_log)));
    let loaded = scx_utils::scx_ops_load!(skel, usched_ops, uei);
    libbpf_rs::set_print(prev);
    let mut skel = loaded.map_err(|e| {
        let log = log_tail(40);
        if log.contains("processed") || log.contains("R0") || log.contains("invalid") {
            Error::Verifier { error: format!("{e:#}"), log }
        } else {
            Error::bpf("loading the BPF program", e)
        }
    })?;

    // Attaching fails if another scheduler got there since the preflight.
    let link =
        scx_utils::scx_ops_attach!(skel, usched_ops).map_err(|e| {
            match sys::check_not_loaded() {
                Err(loaded @ Error::AlreadyLoaded { .. }) => loaded,
                _ => Error::bpf("attaching the scheduler", e),
            }
        })?;

    let bss = skel
        .maps
        .bss_data
        .as_deref_mut()
        .map(NonNull::from)
        .ok_or_else(|| Error::bpf("loading the BPF program", "no .bss map"))?;
    Ok(Loaded { skel, link, bss, nr_cpu_ids, topology: topo })
}
