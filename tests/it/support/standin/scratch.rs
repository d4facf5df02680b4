//! Scratch folders that are removed when their guard drops, pass or fail.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A scratch folder that is removed, with everything in it, when the guard
/// is dropped: at the end of the test, pass or fail (a failing assertion
/// unwinds through it). Derefs to its path.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh scratch folder `aws-oidc-TAG-PID-N` in the system's temp folder. Created
/// with `create_dir`, not `create_dir_all`, so it is always a fresh one:
/// a folder left by a killed run under a recycled pid is skipped.
pub fn temp_dir(tag: &str) -> TempDir {
    loop {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("aws-oidc-{tag}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return TempDir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
}

impl TempDir {
    /// Guards a folder made elsewhere (the exe's default cache folder in
    /// the Wine prefix, which outlives the test): whatever is at `dir` now
    /// is removed, and the folder is removed when the guard drops, pass or
    /// fail, as a scratch folder is.
    pub fn adopt(dir: PathBuf) -> TempDir {
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}
