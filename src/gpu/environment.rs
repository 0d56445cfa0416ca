//! The process environment Mesa's Vulkan drivers expect. Their
//! device-select layer connects to Wayland whenever GPUs are enumerated,
//! and where `XDG_RUNTIME_DIR` is unset (services, containers, ssh
//! sessions) that prints `error: XDG_RUNTIME_DIR is invalid or not set in
//! the environment.` twice on stderr: harmless, but an "error" in every
//! journal. The variable can only be set by the process before its other
//! threads start, so this is a call for `main`, not something the engine
//! can do behind a caller's back.

use std::path::PathBuf;

/// Points `XDG_RUNTIME_DIR` at a private directory of this user's (made
/// 0700, as the XDG spec asks) where it is unset or not a directory, and
/// returns it; `None` where the variable was fine or no fit directory could
/// be made. The CLI, the C ABI's `hashrig_set_runtime_dir`, the Go binding
/// and `examples/daemon.rs` call it first.
///
/// # Safety
/// It changes the process environment: call it before any other thread of
/// the process runs (first thing in `main`), when nothing can read the
/// environment at the same time.
#[cfg(unix)]
pub unsafe fn set_runtime_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let given = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir());
    if given.is_some() {
        return None;
    }
    let me = std::fs::metadata("/proc/self").ok()?;
    let dir = std::env::temp_dir().join(format!("hashrig-runtime-{}", me.uid()));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    // Only a directory of our own, closed to others, is fit.
    let fit = std::fs::symlink_metadata(&dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == me.uid() && m.permissions().mode() & 0o077 == 0);
    if !fit {
        return None;
    }
    // The caller's contract: no other thread reads the environment now.
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
    Some(dir)
}

/// Elsewhere there is nothing to set.
///
/// # Safety
/// None needed; the same signature as on Unix.
#[cfg(not(unix))]
pub unsafe fn set_runtime_dir() -> Option<PathBuf> {
    None
}
