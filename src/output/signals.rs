//! Undoing a run that a signal ends (`docs/reference.md` §6.2): a runner's
//! timeout or cancel sends SIGTERM (or SIGINT, SIGHUP) at any point, while
//! the request is under way or between two writes. The handler undoes the
//! run from the same [`Record`] a failure undoes it from, so both leave the
//! files alike: each file appended to back at its old length, each file
//! created removed.

use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::rollback::Record;

/// The record of the run under way, which the handler undoes; null when no
/// run has a file open.
static ARMED: AtomicPtr<Record> = AtomicPtr::new(null_mut());

/// Has a signal undo `record`'s run from now on, installing the handlers
/// (again for a second file, which changes nothing). Another run's record
/// already armed (unit tests, in parallel) keeps the slot.
pub(super) fn arm(record: &'static Record) {
    install();
    let r = record as *const Record as *mut Record;
    let _ = ARMED.compare_exchange(null_mut(), r, Ordering::SeqCst, Ordering::SeqCst);
}

/// The run is over with its files (kept, or undone by the run itself, and
/// about to be closed): a signal no longer touches them.
pub(super) fn disarm(record: &'static Record) {
    let r = record as *const Record as *mut Record;
    let _ = ARMED.compare_exchange(r, null_mut(), Ordering::SeqCst, Ordering::SeqCst);
}

fn install() {
    crate::signal::install(on_signal, libc::SA_RESETHAND);
}

/// A cache entry's temporary file while it is written (`docs/reference.md`
/// §13.3): the folder's descriptor and the name in it, which the handler
/// removes, as it holds credentials. Never freed, as a record is not.
struct Temp {
    dir: libc::c_int,
    name: std::ffi::CString,
}

static TEMP: AtomicPtr<Temp> = AtomicPtr::new(null_mut());

/// Removes `name` in the folder `dir` (an open descriptor) if a signal
/// ends the run before the returned guard is dropped.
pub fn remove_on_signal(dir: libc::c_int, name: &str) -> TempGuard {
    install();
    let temp = Box::leak(Box::new(Temp {
        dir,
        name: std::ffi::CString::new(name).unwrap_or_default(),
    }));
    TEMP.store(temp, Ordering::SeqCst);
    TempGuard(())
}

/// While it lives, a signal removes the temporary file it was made for.
#[derive(Debug)]
pub struct TempGuard(());

impl Drop for TempGuard {
    fn drop(&mut self) {
        TEMP.store(null_mut(), Ordering::SeqCst);
    }
}

/// Undoes the armed run, then raises the signal again: with
/// `SA_RESETHAND` its default action is back, and it ends the process as
/// the signal when the handler returns.
extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: a non-null pointer is a record, which is never freed.
    if let Some(record) = unsafe { ARMED.load(Ordering::SeqCst).as_ref() } {
        record.undo();
    }
    // SAFETY: a non-null pointer is a `Temp`, which is never freed.
    if let Some(temp) = unsafe { TEMP.load(Ordering::SeqCst).as_ref() } {
        // SAFETY: unlinkat is async-signal-safe; the name is NUL-terminated
        // and the folder's descriptor open while the guard lives.
        unsafe { libc::unlinkat(temp.dir, temp.name.as_ptr(), 0) };
    }
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(sig) };
}
