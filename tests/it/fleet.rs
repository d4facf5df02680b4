//! Issue 12: many runs at once against a throttling, failing or refusing
//! STS, and how one run paces itself, through the real binary with default
//! retry settings. Counts only: `make fleet` measures the times.

use std::time::{Duration, Instant};

use crate::support::standin::Mode;
use crate::support::*;

/// A Harness step with the default retry settings: no attempt cap, the 60 s
/// timeout.
fn default_step(sts: &StandIn) -> Step {
    Step::harness(sts)
        .unset("PLUGIN_MAX_ATTEMPTS")
        .unset("PLUGIN_TIMEOUT")
}

/// A stand-in that lets `rate` requests a second through (a token bucket
/// holding `rate`) and answers `Throttling` beyond.
fn throttling(rate: f64) -> StandIn {
    let sts = StandIn::start();
    sts.mode(Mode::Throttle { rate, burst: rate });
    sts
}

/// Runs every step at once and returns what each printed.
fn all_at_once(steps: &[Step]) -> Vec<Output> {
    std::thread::scope(|scope| {
        let running: Vec<_> = steps
            .iter()
            .map(|step| scope.spawn(move || step.run(&[])))
            .collect();
        running
            .into_iter()
            .map(|r| r.join().expect("a run's thread does not panic"))
            .collect()
    })
}

#[test]
fn twenty_runs_against_five_a_second_all_succeed() {
    let sts = throttling(5.0);
    let steps: Vec<Step> = (0..20).map(|_| default_step(&sts)).collect();
    let outs = all_at_once(&steps);
    for (step, out) in steps.iter().zip(&outs) {
        out.expect(0);
        assert_eq!(step.secrets().lines().count(), 3, "{}", out.stderr);
        out.assert_hides(
            &secrets_of(&sts, &step.token)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    let (requests, issued) = sts.counts();
    assert_eq!(issued, 20);
    assert!(requests >= 20, "{requests} requests");
}

#[test]
fn twenty_runs_meeting_access_denied_make_twenty_requests() {
    let sts = StandIn::start();
    sts.mode(Mode::Refuse);
    let steps: Vec<Step> = (0..20).map(|_| default_step(&sts)).collect();
    for (step, out) in steps.iter().zip(all_at_once(&steps)) {
        out.expect(3);
        assert!(out.last_line().contains("AccessDenied"), "{}", out.stderr);
        out.says_not("retrying");
        assert_eq!(step.secrets(), "");
    }
    assert_eq!(sts.counts(), (20, 0), "one request per run");
}

#[test]
fn endless_throttling_ends_at_the_timeout_with_exit_3() {
    let sts = throttling(0.0);
    let out = default_step(&sts).set("PLUGIN_TIMEOUT", "3").run(&[]);
    out.expect(3);
    let line = out.last_line();
    assert!(
        line.contains("Throttling: Rate exceeded (after "),
        "{}",
        out.stderr
    );
    assert!(
        line.contains(
            "s of it waiting: the 3s timeout (from PLUGIN_TIMEOUT) leaves no room for another)"
        ),
        "{}",
        out.stderr
    );
    let (requests, issued) = sts.counts();
    assert!(requests >= 2 && issued == 0, "{requests} requests");
    out.says("attempt 1 failed: HTTP 400 Throttling; retrying in ");
}

#[test]
fn five_runs_wait_out_an_outage() {
    let sts = StandIn::start();
    sts.mode(Mode::OutageUntil(Instant::now() + Duration::from_secs(2)));
    let steps: Vec<Step> = (0..5).map(|_| default_step(&sts)).collect();
    for out in all_at_once(&steps) {
        out.expect(0);
    }
    let (requests, issued) = sts.counts();
    assert_eq!(issued, 5);
    assert!(requests > 5, "the outage was met: {requests} requests");
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let sts = StandIn::start();
    sts.script([Reply::RetryAfter("1".into())]);
    let out = default_step(&sts).set("PLUGIN_LOG_LEVEL", "debug").run(&[]);
    out.expect(0);
    let waited: u64 = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("aws-oidc: debug: waiting "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no wait logged:\n{}", out.stderr));
    assert!(
        (1000..=2000).contains(&waited),
        "Retry-After: 1 planned a wait of {waited} ms"
    );
    assert_eq!(sts.counts(), (2, 1));

    // A date already past means "now"; one after the timeout means "stop".
    let sts = StandIn::start();
    sts.script([Reply::RetryAfter("Thu, 01 Jan 1970 00:00:00 GMT".into())]);
    default_step(&sts).run(&[]).expect(0);
    assert_eq!(sts.counts(), (2, 1));
    let sts = StandIn::start();
    sts.script([Reply::RetryAfter("Fri, 01 Jan 2100 00:00:00 GMT".into())]);
    let out = default_step(&sts).run(&[]);
    out.expect(3);
    assert!(
        out.last_line()
            .contains("past the 60s timeout (from default)"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts(), (1, 0));
}

#[test]
fn an_unreachable_server_gets_three_attempts() {
    let port = closed_port();
    let sts = StandIn::start();
    let out = default_step(&sts)
        .set("PLUGIN_STS_ENDPOINT", &format!("https://127.0.0.1:{port}"))
        .run(&[]);
    out.expect(4);
    out.says("attempt 2 failed: connection refused; retrying in ");
    out.says_not("attempt 3 failed");
    assert!(
        out.last_line()
            .contains("cannot reach 127.0.0.1: connection refused after 3 attempts in "),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line()
            .contains("(3 attempts at a server that cannot be reached)"),
        "{}",
        out.stderr
    );
}
