// SPDX-License-Identifier: GPL-2.0-only
//! What libbpf is told when it opens the BPF object: the options upstream
//! sched_ext schedulers take as `--kconfig` and friends (scx_utils'
//! `LibbpfOpts`), for immutable distributions without `/proc/config.gz`,
//! a custom BTF, or a BPF token. Files are read and checked here, so that a
//! bad path is a clear error before anything is loaded.
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libbpf_rs::libbpf_sys::bpf_object_open_opts;

use crate::error::{Error, Result};

/// Options for libbpf's `bpf_object__open` (see [`Config::libbpf`](crate::Config::libbpf)).
/// All unset (the default): libbpf's own defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LibbpfOptions {
    /// A kernel config file (`CONFIG_X=y` lines, as in `/boot/config-*`)
    /// that augments and overrides the system's for the BPF object's
    /// `CONFIG_*` externs.
    pub kconfig: Option<PathBuf>,
    /// A BTF file used instead of `/sys/kernel/btf/vmlinux` for CO-RE
    /// relocations (struct_ops still needs the kernel's own BTF).
    pub btf_custom_path: Option<PathBuf>,
    /// Directory in which maps with a `pinning` attribute are pinned
    /// (libbpf's default: `/sys/fs/bpf`).
    pub pin_root_path: Option<PathBuf>,
    /// BPF FS mount point to derive a BPF token from (libbpf's default: the
    /// `LIBBPF_BPF_TOKEN_PATH` environment variable, else `/sys/fs/bpf`).
    pub bpf_token_path: Option<PathBuf>,
    /// Parse map definitions leniently, accepting attributes libbpf does
    /// not know.
    pub relaxed_maps: bool,
}

impl LibbpfOptions {
    /// Whether every option is unset.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Reads and checks the files and directories named, as loading will
    /// (loading checks again: this is for an early, clear error).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the option and the path.
    pub fn check(&self) -> Result<()> {
        OpenOpts::new(self).map(drop)
    }
}

/// [`LibbpfOptions`] read and turned into C strings, which must outlive
/// the open that uses [`OpenOpts::raw`] (libbpf copies them there).
#[derive(Debug, Default)]
pub(crate) struct OpenOpts {
    kconfig: Option<CString>,
    btf_custom_path: Option<CString>,
    pin_root_path: Option<CString>,
    bpf_token_path: Option<CString>,
    relaxed_maps: bool,
    set: bool,
}

impl OpenOpts {
    /// Reads the kconfig file and checks the paths.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the option and the path: a file
    /// that cannot be read, a path that does not exist, a NUL byte.
    pub(crate) fn new(o: &LibbpfOptions) -> Result<Self> {
        let kconfig = match &o.kconfig {
            Some(p) => {
                let text = std::fs::read(p).map_err(|e| bad("kconfig", p, &e.to_string()))?;
                Some(CString::new(text).map_err(|_| bad("kconfig", p, "holds a NUL byte"))?)
            }
            None => None,
        };
        Ok(Self {
            kconfig,
            btf_custom_path: existing("btf-custom-path", o.btf_custom_path.as_deref())?,
            pin_root_path: existing("pin-root-path", o.pin_root_path.as_deref())?,
            bpf_token_path: existing("bpf-token-path", o.bpf_token_path.as_deref())?,
            relaxed_maps: o.relaxed_maps,
            set: !o.is_default(),
        })
    }

    /// libbpf's open options pointing into `self`, or `None` when nothing
    /// is set (libbpf's defaults).
    pub(crate) fn raw(&self) -> Option<bpf_object_open_opts> {
        if !self.set {
            return None;
        }
        let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        Some(bpf_object_open_opts {
            sz: std::mem::size_of::<bpf_object_open_opts>() as _,
            relaxed_maps: self.relaxed_maps,
            kconfig: ptr(&self.kconfig),
            btf_custom_path: ptr(&self.btf_custom_path),
            pin_root_path: ptr(&self.pin_root_path),
            bpf_token_path: ptr(&self.bpf_token_path),
            ..Default::default()
        })
    }
}

fn bad(what: &str, path: &Path, why: &str) -> Error {
    Error::InvalidConfig(format!("--{what} {}: {why}", path.display()))
}

/// `path` as a C string if it exists.
fn existing(what: &str, path: Option<&Path>) -> Result<Option<CString>> {
    let Some(p) = path else { return Ok(None) };
    std::fs::metadata(p).map_err(|e| bad(what, p, &e.to_string()))?;
    CString::new(p.as_os_str().as_bytes()).map(Some).map_err(|_| bad(what, p, "holds a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_gives_libbpf_defaults() {
        let o = OpenOpts::new(&LibbpfOptions::default()).unwrap();
        assert!(o.raw().is_none());
    }

    #[test]
    fn set_options_point_at_their_strings() {
        let dir = std::env::temp_dir().join(format!("usched-libbpf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kconfig = dir.join("config");
        std::fs::write(&kconfig, "CONFIG_HZ=250\n").unwrap();
        let o = OpenOpts::new(&LibbpfOptions {
            kconfig: Some(kconfig),
            pin_root_path: Some(dir.clone()),
            relaxed_maps: true,
            ..Default::default()
        })
        .unwrap();
        let raw = o.raw().unwrap();
        assert_eq!(raw.sz as usize, std::mem::size_of::<bpf_object_open_opts>());
        assert!(raw.relaxed_maps);
        // SAFETY: the pointers point into `o`'s C strings, alive here.
        let kc = unsafe { std::ffi::CStr::from_ptr(raw.kconfig) };
        assert_eq!(kc.to_str().unwrap(), "CONFIG_HZ=250\n");
        // SAFETY: as above.
        let pin = unsafe { std::ffi::CStr::from_ptr(raw.pin_root_path) };
        assert_eq!(pin.to_bytes(), dir.as_os_str().as_bytes());
        assert!(raw.btf_custom_path.is_null() && raw.bpf_token_path.is_null());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_paths_are_named() {
        let e = OpenOpts::new(&LibbpfOptions {
            kconfig: Some("/nonexistent/usched-config".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("--kconfig /nonexistent/usched-config"), "{e}");
        let e = OpenOpts::new(&LibbpfOptions {
            btf_custom_path: Some("/nonexistent/vmlinux".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("--btf-custom-path /nonexistent/vmlinux"), "{e}");
    }
}
