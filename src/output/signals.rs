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
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: an all-zero sigaction is valid (empty mask, no flags);
        // sigaction only reads `act` and writes `old`. A signal ignored at
        // start (nohup) stays ignored.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESETHAND;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
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
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(sig) };
}
