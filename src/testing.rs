//! Helpers the unit tests share: saved inputs from `tests/fixtures/`, fake
//! [`Files`], and settings from an environment.

use std::io;

use crate::error::Error;
use crate::settings::{self, Command, Files, Inputs, Settings};

/// A file system with no files.
pub struct NoFiles;

impl Files for NoFiles {
    fn read(&mut self, _: &str, _: u64) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
}

/// A file system with one file: `(path, text)`.
pub struct OneFile(pub &'static str, pub &'static str);

impl Files for OneFile {
    fn read(&mut self, path: &str, _: u64) -> io::Result<Vec<u8>> {
        match path == self.0 {
            true => Ok(self.1.as_bytes().to_vec()),
            false => Err(io::ErrorKind::NotFound.into()),
        }
    }
}

/// The text of `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The value of `KEY=` in a saved fuzz input (`tests/fixtures/fuzz/NAME`).
pub fn fuzz_value(name: &str, key: &str) -> String {
    let text = fixture(&format!("fuzz/{name}"));
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("{name} has no {key}="))
        .to_string()
}

/// Inputs from an environment and command-line flags.
pub fn inputs(env: &[(&str, &str)], flags: &[&str]) -> Inputs {
    let args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let Ok(Command::Run { flags, .. }) = settings::parse_args(&args) else {
        panic!("not a run: {args:?}")
    };
    Inputs {
        flags,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// The settings `resolve` makes of these inputs, or its error.
pub fn resolve(inputs: &Inputs, files: &mut dyn Files) -> Result<Settings, Error> {
    settings::resolve(inputs, files).settings
}

/// Valid settings from an environment with a role and a token, plus `env`.
pub fn settings(env: &[(&str, &str)]) -> Settings {
    let mut all = vec![
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
        ("PLUGIN_OIDC_TOKEN", "abcd"),
    ];
    all.extend_from_slice(env);
    resolve(&inputs(&all, &[]), &mut NoFiles).unwrap()
}

/// Every `.rs` file under `src/`, as `(path, text)`.
pub fn sources() -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                all.push((path.display().to_string(), text));
            }
        }
    }
    all
}

/// A folder of a unit test's own, new (never one a failed run left behind)
/// and removed when dropped, pass or fail.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Makes `aws-oidc-unit-TAG-…` under the system's temp folder.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = std::env::temp_dir().join(format!(
                "aws-oidc-unit-{tag}-{}-{n}-{nanos}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return TempDir(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot make {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
