//! The STS stand-in as a process, for tests of built artifacts (chroot,
//! qemu, image), `make bench` and `make fleet`: prints `PORT CA_PEM_PATH` on
//! one line, then serves until its standard input closes, and removes its
//! folder (the CA) on the way out. The parent holds the pipe, so the
//! stand-in ends when the parent closes it or dies, pass or fail, and on
//! Ctrl-C. Each line read on stdin is answered with `requests=N issued=M`,
//! the counts so far.
//!
//! Usage: sts-standin [--plain] [--throttle RATE/BURST | --outage SECONDS | --refuse] < pipe
//!
//! `--throttle 20/20` answers 20 requests a second (a token bucket holding
//! 20) and `Throttling` beyond; `--outage 20` answers 503 for 20 s from
//! start, then like STS; `--refuse` answers `AccessDenied` to everything.

// The stand-in is a library to this example: `pub` so the compiler checks
// it for dead code in the test binary, which uses all of it, rather than
// in each example, which uses a part.
#[path = "../tests/it/support/standin/mod.rs"]
pub mod standin;
// Ctrl-C handling shared by the examples that own a stand-in.
#[path = "shared/interrupt.rs"]
mod interrupt;

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

fn usage(why: &str) -> ! {
    eprintln!("sts-standin: {why}; usage: sts-standin [--plain] [--throttle RATE/BURST | --outage SECONDS | --refuse]");
    std::process::exit(2)
}

fn main() {
    // Ctrl-C closes stdin, which ends the run below as a closed pipe does.
    interrupt::end_on_interrupt();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plain = false;
    let mut mode = standin::Mode::Sts;
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).map(String::as_str).unwrap_or_default();
        match args[i].as_str() {
            "--plain" => plain = true,
            "--refuse" => mode = standin::Mode::Refuse,
            "--throttle" => {
                let parsed = value
                    .split_once('/')
                    .and_then(|(r, b)| Some((r.parse().ok()?, b.parse().ok()?)));
                let Some((rate, burst)) = parsed else {
                    usage("--throttle takes RATE/BURST, e.g. 20/20")
                };
                mode = standin::Mode::Throttle { rate, burst };
                i += 1;
            }
            "--outage" => {
                let Ok(secs) = value.parse::<f64>() else {
                    usage("--outage takes seconds, e.g. 20")
                };
                let until = Instant::now() + Duration::from_secs_f64(secs);
                mode = standin::Mode::OutageUntil(until);
                i += 1;
            }
            other => usage(&format!("unknown argument `{other}`")),
        }
        i += 1;
    }
    let sts = standin::StandIn::with(if plain {
        standin::Transport::Plain
    } else {
        standin::Transport::Tls
    });
    sts.mode(mode);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}", sts.port, sts.ca().display()).expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    // Counts on request; end of input (or an error) ends the run.
    for _ in std::io::stdin().lock().lines() {
        let (requests, issued) = sts.counts();
        let mut out = std::io::stdout().lock();
        if writeln!(out, "requests={requests} issued={issued}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    drop(sts);
}
