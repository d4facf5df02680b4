//! The STS stand-in as a process, for tests of built artifacts (chroot,
//! qemu, image) and for `make bench`: prints `PORT CA_PEM_PATH` on one line,
//! then serves until killed.
//!
//! Usage: sts-standin [--plain]

#[path = "../tests/support/standin.rs"]
mod standin;

use std::io::Write;

fn main() {
    let plain = std::env::args().any(|a| a == "--plain");
    let sts = standin::StandIn::with(if plain {
        standin::Transport::Plain
    } else {
        standin::Transport::Tls
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}", sts.port, sts.ca().display()).expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    loop {
        std::thread::park();
    }
}
