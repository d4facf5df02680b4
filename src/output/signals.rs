//! Removing the files a run created when a signal ends it
//! (`docs/reference.md` §6.2): a runner's timeout or cancel sends SIGTERM
//! (or SIGINT, SIGHUP) while the request is under way, after the
//! destinations were created. Files appended to need nothing: nothing is
//! written to them before the answer.

use std::ffi::{c_char, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The paths this run created and has not finished, as C strings the
/// handler can pass to `unlink` (async-signal-safe) without allocating.
static CREATED: [AtomicPtr<c_char>; 2] = [AtomicPtr::new(null_mut()), AtomicPtr::new(null_mut())];

/// A created path the handler removes until this is dropped.
#[derive(Debug)]
pub(super) struct Created(usize);

/// Remembers a path this run just created, installing the handlers (again
/// for a second file, which changes nothing). `None` when there is no free
/// slot (there is one per destination, so never).
pub(super) fn remember(path: &str) -> Option<Created> {
    install();
    let c = CString::new(path).ok()?.into_raw();
    let slot = CREATED.iter().position(|s| {
        s.compare_exchange(null_mut(), c, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    if slot.is_none() {
        // SAFETY: `c` came from `into_raw` above and was stored nowhere.
        drop(unsafe { CString::from_raw(c) });
    }
    slot.map(Created)
}

/// The run finished with the file (written, or removed by the run itself).
/// The string is left allocated: a handler on another thread could be
/// reading it, and a run creates at most two.
impl Drop for Created {
    fn drop(&mut self) {
        CREATED[self.0].store(null_mut(), Ordering::SeqCst);
    }
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

/// Unlinks every remembered path, then raises the signal again: with
/// `SA_RESETHAND` its default action is back, and it ends the process as
/// the signal when the handler returns.
extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &CREATED {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: a non-null slot holds a NUL-terminated string that is
            // never freed; unlink and raise are async-signal-safe.
            unsafe { libc::unlink(p) };
        }
    }
    // SAFETY: as above.
    unsafe { libc::raise(sig) };
}
