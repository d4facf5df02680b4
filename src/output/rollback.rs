//! The one record of what undoing a run takes (`docs/reference.md` §6.2),
//! read by both ways a run can end before its outputs are all written: a
//! failure, when `Destinations` is dropped, and a signal (a runner's timeout
//! or cancel), in the handler of `signals`. Both run the same steps over the
//! same [`Record`], and the record is updated before each write starts, so a
//! signal undoes exactly what a failure would, however far the writing got.
//!
//! A handler may run at any instruction, so the record is read through
//! atomics only, is never freed (a handler on another thread could still be
//! reading it; a run makes one), and undoing uses only calls that are
//! async-signal-safe on Unix (`ftruncate`, `fsync`, `unlink`).

use std::ffi::CString;
use std::fs::File;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// An open file as the system knows it: a descriptor on Unix, a handle on
/// Windows (as a number, so the record can be shared).
#[cfg(unix)]
type Raw = std::os::unix::io::RawFd;
#[cfg(windows)]
type Raw = usize;

/// What undoing a run takes, for each destination file it opened.
#[derive(Debug)]
pub(super) struct Record {
    /// One per destination file (credentials, variables); null until that
    /// file is opened. An entry is complete before it is stored here.
    files: [AtomicPtr<Entry>; 2],
    /// Every output was written: the run keeps them, nothing is undone.
    kept: AtomicBool,
}

/// One destination file of the run.
#[derive(Debug)]
pub(super) struct Entry {
    path: CString,
    raw: Raw,
    /// The length before this run, which undoing cuts the file back to.
    len: u64,
    /// The file did not exist: this run created it, and undoing removes it.
    new: bool,
    /// A write to this file has started (set before it starts) and not
    /// been cut off again.
    started: AtomicBool,
}

impl Record {
    /// A record for one run, with no file yet. It is never freed (see the
    /// module's comment).
    pub(super) fn new() -> &'static Record {
        Box::leak(Box::new(Record {
            files: [AtomicPtr::new(null_mut()), AtomicPtr::new(null_mut())],
            kept: AtomicBool::new(false),
        }))
    }

    /// Records a file the run just opened (`new`: created) with its length
    /// before the run, and, on Unix, has a signal undo the run from now on.
    pub(super) fn add(
        &'static self,
        path: &str,
        file: &File,
        len: u64,
        new: bool,
    ) -> &'static Entry {
        let entry: &'static Entry = Box::leak(Box::new(Entry {
            // A path with a NUL byte cannot have been opened.
            path: CString::new(path).unwrap_or_default(),
            raw: raw(file),
            len,
            new,
            started: AtomicBool::new(false),
        }));
        let e = entry as *const Entry as *mut Entry;
        let stored = self.files.iter().any(|slot| {
            slot.compare_exchange(null_mut(), e, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        // A run opens at most two files, one per slot.
        assert!(stored, "a run records at most two destination files");
        #[cfg(unix)]
        super::signals::arm(self);
        entry
    }

    /// Undoes the run, as a signal's handler does: [`Record::cut`], then
    /// [`Record::remove`].
    #[cfg(unix)]
    pub(super) fn undo(&self) {
        self.cut();
        self.remove();
    }

    /// Cuts each file the run appended to back to its old length and syncs
    /// it, unless the run kept its outputs. Best effort: the error that
    /// failed the run is the one to report.
    pub(super) fn cut(&self) {
        for e in self.entries() {
            if !e.new && e.started.load(Ordering::SeqCst) {
                cut(e);
                // Cut: a signal from here on leaves the file alone, so it may
                // be closed.
                e.started.store(false, Ordering::SeqCst);
            }
        }
    }

    /// Removes each file the run created, unless it kept its outputs.
    pub(super) fn remove(&self) {
        for e in self.entries().filter(|e| e.new) {
            remove(e);
        }
    }

    /// The run succeeded: nothing is undone from now on, for every file at
    /// once.
    pub(super) fn keep(&self) {
        self.kept.store(true, Ordering::SeqCst);
    }

    /// The files still to undo: none once the run kept them.
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        let kept = self.kept.load(Ordering::SeqCst);
        self.files.iter().filter(move |_| !kept).filter_map(|slot| {
            // SAFETY: a non-null slot points at an entry that was complete
            // when stored and is never freed.
            unsafe { slot.load(Ordering::SeqCst).as_ref() }
        })
    }
}

impl Entry {
    /// Marks a write as started: from now on undoing cuts this file.
    pub(super) fn start(&self) {
        self.started.store(true, Ordering::SeqCst);
    }
}

#[cfg(unix)]
fn raw(file: &File) -> Raw {
    use std::os::unix::io::AsRawFd;
    file.as_raw_fd()
}

#[cfg(windows)]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn raw(file: &File) -> Raw {
    use std::os::windows::io::AsRawHandle;
    file.as_raw_handle() as Raw
}

#[cfg(unix)]
fn cut(e: &Entry) {
    // SAFETY: the descriptor is open while the entry can be cut (the run
    // cuts before it closes its files, and clears `started`); ftruncate and
    // fsync are async-signal-safe and only act on it.
    unsafe {
        if libc::ftruncate(e.raw, e.len as libc::off_t) == 0 {
            libc::fsync(e.raw);
        }
    }
}

#[cfg(unix)]
fn remove(e: &Entry) {
    // SAFETY: `path` is NUL-terminated and never freed; unlink is
    // async-signal-safe.
    unsafe { libc::unlink(e.path.as_ptr()) };
}

#[cfg(windows)]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn cut(e: &Entry) {
    use std::os::windows::io::{FromRawHandle, RawHandle};
    // SAFETY: the handle is open while the entry can be cut (as on Unix);
    // ManuallyDrop leaves it open, for the destination that owns it.
    let file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_handle(e.raw as RawHandle) });
    let _ = file.set_len(e.len).and_then(|()| file.sync_all());
}

/// Windows removes no file that is still open: the run closes its files
/// before it removes.
#[cfg(windows)]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn remove(e: &Entry) {
    if let Ok(path) = e.path.to_str() {
        let _ = std::fs::remove_file(path);
    }
}
