//! Installing a handler for the signals a runner sends when it times out
//! or cancels a step (SIGTERM, SIGINT, SIGHUP), for the two modules that
//! need one: `output`'s undo (`docs/reference.md` §6.2) and `exec`'s
//! passing them on to the command (§14.1). Unix only.

/// The signals a runner's timeout or cancel sends.
pub const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Has `handler` handle each of [`SIGNALS`], with `flags`; a signal ignored
/// when the program started (`nohup`) stays ignored.
pub fn install(handler: extern "C" fn(libc::c_int), flags: libc::c_int) {
    for sig in SIGNALS {
        // SAFETY: an all-zero sigaction is valid (empty mask, no flags);
        // sigaction only reads `act` and writes `old`.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler as libc::sighandler_t;
            act.sa_flags = flags;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}
