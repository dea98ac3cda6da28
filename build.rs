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
    // The program is one translation unit: main.bpf.c and the .bpf.h files
    // it includes, each one concern.
    println!("cargo:rerun-if-changed=bpf");
}
