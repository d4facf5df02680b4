//! The cache's own files as destinations never to write
//! (`docs/reference.md` §6.2): with `--cache`, no output may be in the
//! cache folder, or be this run's entry or lock under another name.

use std::fs::Metadata;
use std::path::Path;

use super::destinations::{dir_of, key_of};
use crate::settings::Sourced;

/// The credential cache's folder and this run's key in it (with
/// `--cache`): no destination may be in that folder, or be its entry or
/// lock under another name (`docs/reference.md` §6.2).
#[derive(Debug, Clone, Copy)]
pub struct CacheFiles<'a> {
    /// The cache folder, as set.
    pub dir: &'a Sourced<String>,
    /// This run's cache key: its entry is `KEY.json`, its lock `KEY.lock`.
    pub key: &'a str,
}

impl CacheFiles<'_> {
    /// The folder's key, when it exists, and its entry and lock as input
    /// files (keyed as `open` keys the inputs), for those that exist.
    pub(super) fn claimed(&self) -> (Option<String>, Vec<(String, String, bool)>) {
        let dir = Path::new(&self.dir.value);
        // A link there is the cache's to refuse, with its own words.
        let folder = std::fs::symlink_metadata(dir)
            .ok()
            .filter(Metadata::is_dir)
            .and_then(|m| key_of(&m, dir));
        let files = [".json", ".lock"]
            .iter()
            .filter_map(|ext| {
                let path = dir.join(format!("{}{ext}", self.key));
                let key = key_of(&std::fs::metadata(&path).ok()?, &path)?;
                let named = format!(
                    "the cache entry's file {} (from {})",
                    path.display(),
                    self.dir.source
                );
                Some((key, named, true))
            })
            .collect();
        (folder, files)
    }

    /// Why `path` may not be a destination, when its folder is the cache's.
    pub(super) fn refuses(&self, folder: Option<&String>, path: &str) -> Option<String> {
        let parent = dir_of(Path::new(path));
        let key = key_of(&std::fs::metadata(parent).ok()?, parent)?;
        (Some(&key) == folder).then(|| {
            format!(
                "is in the cache folder {} (from {}), which holds only the cache's own files; write the credentials to a file outside it",
                self.dir.value, self.dir.source
            )
        })
    }
}
