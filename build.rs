// SPDX-License-Identifier: GPL-2.0-only
//! Compiles bpf/main.bpf.c with clang (scx headers from scx_cargo), generates
//! the libbpf-rs skeleton and bindgen's view of bpf/intf.h into OUT_DIR.

fn main() {
    if let Err(e) = scx_cargo::BpfBuilder::new().and_then(|mut b| {
        b.enable_intf("bpf/intf.h", "bpf_intf.rs").enable_skel("bpf/main.bpf.c", "bpf").build()
    }) {
        // A build script reports by failing; say what to do about it.
        panic!(
            "building the BPF component failed: {e:#}\n\
             usched needs clang >= 17 on PATH (or BPF_CLANG): run scripts/setup.sh, \
             then `. scripts/env.sh`"
        );
    }
    println!("cargo:rerun-if-changed=bpf/intf.h");
    println!("cargo:rerun-if-changed=bpf/main.bpf.c");
}
