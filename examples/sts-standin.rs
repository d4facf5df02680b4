//! The STS stand-in as a process, for tests of built artifacts (chroot,
//! qemu, image) and for `make bench`: prints `PORT CA_PEM_PATH` on one line,
//! then serves until its standard input closes, and removes its folder (the
//! CA) on the way out. The parent holds the pipe, so the stand-in ends when
//! the parent closes it or dies, pass or fail, and on Ctrl-C.
//!
//! Usage: sts-standin [--plain] < pipe

#[path = "../tests/support/standin.rs"]
mod standin;

use std::io::Write;

fn main() {
    // Ctrl-C closes stdin, which ends the run below as a closed pipe does.
    standin::end_on_interrupt();
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
    // Whatever arrives is ignored; end of input (or an error) ends the run.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    drop(sts);
}
