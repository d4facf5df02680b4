//! Shared by the examples that own a stand-in.

/// For the processes that own a stand-in (the demo, the stand-in example):
/// Ctrl-C (SIGINT) closes standard input instead of killing the process, so
/// a read of stdin ends and the process returns normally, dropping its
/// `StandIn` and `TempDir`s, which removes their folders. A child it runs
/// still gets the terminal's SIGINT (an exec resets caught signals).
pub fn end_on_interrupt() {
    extern "C" fn close_stdin(_: i32) {
        extern "C" {
            fn close(fd: i32) -> i32;
        }
        // SAFETY: close is async-signal-safe; fd 0 is ours to close.
        unsafe {
            close(0);
        }
    }
    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }
    const SIGINT: i32 = 2;
    // SAFETY: libc's `signal` (std links libc); the handler does only a
    // close(2), which is async-signal-safe.
    unsafe {
        signal(SIGINT, close_stdin);
    }
}
