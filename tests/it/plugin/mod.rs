//! The Harness plugin step, end to end: the real binary, a Harness-shaped
//! environment, the TLS STS stand-in, and the two output files; grouped as
//! `step`, `network`, `files` and `guard`.

use crate::support::*;

mod files;
mod guard;
mod network;
mod step;

/// Sets the permission bits of `path`.
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Planting files as another user needs root; without it the test says so
/// and skips that part.
fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: planting a file as user nobody needs root");
    }
    root
}
