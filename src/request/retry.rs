//! The retry policy (`docs/reference.md` §4): which answers are worth
//! another attempt, how long to wait, and when to stop. Pure: the time left
//! and the random number come in as arguments, so a simulated clock can
//! drive it.
//!
//! "Later" answers (throttling, 5xx, `IDPCommunicationError`) are retried
//! until the run's timeout leaves no room for another attempt: a fleet of
//! runs started together gets through a throttling STS if the deadline has
//! room for it, and through an outage shorter than the deadline. A server
//! that cannot be reached at all gets [`UNREACHABLE_ATTEMPTS`]: that usually
//! means a wrong endpoint or proxy, and a typo should not cost a minute.

use std::time::Duration;

/// How waits grow for one kind of failure: the n-th wait is drawn uniformly
/// from the upper half of `min(cap, base * 2^(n-1))` ("equal jitter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// The first ceiling.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

/// Pacing after a "later" answer. Measured with `make fleet` and the
/// simulated storms in the tests below: a smaller base or cap costs more
/// requests per success in a storm, a larger cap slows the last runs of a
/// storm (they sleep past the moment the server has room).
pub const LATER: Pacing = Pacing {
    base: Duration::from_millis(1000),
    cap: Duration::from_secs(6),
};

/// Pacing after a failure to reach the server.
pub const UNREACHABLE: Pacing = Pacing {
    base: Duration::from_millis(200),
    cap: Duration::from_secs(1),
};

/// Attempts at a server that cannot be reached (refused, reset, no such
/// host, connect timeout). Connection refused costs about 0.5 s in all;
/// each connect timeout costs up to 10 s.
pub const UNREACHABLE_ATTEMPTS: u32 = 3;

/// Time kept for an attempt: no attempt starts with less of the timeout
/// left than this, since it could not finish.
pub const ROOM: Duration = Duration::from_secs(1);

/// HTTP statuses that are retried whatever the body says (unless the code is
/// a permanent one).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 509)
}

/// What an STS error code means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// Transient: try again.
    Transient,
    /// Permanent: fail on the first answer.
    Permanent,
    /// Not a code the policy names; the HTTP status decides.
    Unknown,
}

/// Classifies an STS error code (and, for `InvalidIdentityToken`, its
/// message).
pub fn classify_code(code: &str, message: &str) -> CodeClass {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "IDPCommunicationError" => CodeClass::Transient,
        "InvalidIdentityToken" if is_key_retrieval(message) => CodeClass::Transient,
        "AccessDenied"
        | "InvalidIdentityToken"
        | "ExpiredTokenException"
        | "IDPRejectedClaim"
        | "MalformedPolicyDocument"
        | "PackedPolicyTooLarge"
        | "RegionDisabledException"
        | "ValidationError"
        | "InvalidParameterValue" => CodeClass::Permanent,
        _ => CodeClass::Unknown,
    }
}

/// STS says this when it could not fetch the provider's JWKS, which is often
/// a blip at the provider.
fn is_key_retrieval(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("verification key") && (m.contains("retriev") || m.contains("fetch"))
}

/// Whether an STS error answer is retried.
pub fn retry_sts_error(status: u16, code: &str, message: &str) -> bool {
    match classify_code(code, message) {
        CodeClass::Transient => true,
        CodeClass::Permanent => false,
        CodeClass::Unknown => retryable_status(status),
    }
}

impl Pacing {
    /// The ceiling of the wait after `failures` failures.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doubled = ms(self.base) << failures.saturating_sub(1).min(16);
        Duration::from_millis(doubled.min(ms(self.cap)))
    }

    /// The wait after `failures` failures: the upper half of the ceiling,
    /// so a throttled fleet does not come straight back, spread by
    /// `random` over the other half.
    pub fn wait(&self, failures: u32, random: u64) -> Duration {
        Duration::from_millis(upper_half(ms(self.ceiling(failures)), random))
    }
}

/// Whole milliseconds. The policy counts in them: `Duration` arithmetic
/// links more code for no better answer.
fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Milliseconds drawn uniformly from `[span/2, span]`.
fn upper_half(span: u64, random: u64) -> u64 {
    span / 2 + up_to(span - span / 2, random)
}

/// Milliseconds drawn uniformly from `[0, span]`.
fn up_to(span: u64, random: u64) -> u64 {
    random % (span + 1)
}

/// Why an attempt failed, as far as the next one is concerned. Answers that
/// are final never get here: they fail on the first answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered "later", with its `Retry-After` if it sent one.
    Later(Option<Duration>),
    /// The server was not reached.
    Unreachable,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    Wait(Duration),
    /// Stop, for this reason.
    Stop(Stop),
}

/// Why the retries stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The attempt cap the user set.
    Attempts(u32),
    /// [`UNREACHABLE_ATTEMPTS`] at a server that cannot be reached.
    Unreachable,
    /// The timeout leaves no room for another attempt.
    Deadline,
    /// The server asked to wait this long, past the timeout.
    RetryAfter(Duration),
}

/// The policy: after attempt number `attempt` failed with `failure`, with
/// `left` of the timeout left and `max_attempts` the user's cap (if any),
/// wait how long, or stop. `random` is any random number.
pub fn next(
    failure: Failure,
    attempt: u32,
    left: Duration,
    max_attempts: Option<u32>,
    random: u64,
) -> Next {
    if let Some(cap) = max_attempts.filter(|cap| attempt >= *cap) {
        return Next::Stop(Stop::Attempts(cap));
    }
    if failure == Failure::Unreachable && attempt >= UNREACHABLE_ATTEMPTS {
        return Next::Stop(Stop::Unreachable);
    }
    let room = ms(left).saturating_sub(ms(ROOM));
    if room == 0 {
        return Next::Stop(Stop::Deadline);
    }
    let wait = match failure {
        Failure::Later(Some(asked)) if ms(asked) > room => {
            return Next::Stop(Stop::RetryAfter(asked))
        }
        // What the server asked for, and a little more so that a fleet told
        // the same second does not come back at the same instant.
        Failure::Later(Some(asked)) => {
            ms(asked) + up_to(ms(LATER.base).min(room - ms(asked)), random)
        }
        Failure::Later(None) => ms(LATER.wait(attempt, random)),
        Failure::Unreachable => ms(UNREACHABLE.wait(attempt, random)),
    };
    // Near the deadline, the last wait is drawn from what is left.
    Next::Wait(Duration::from_millis(if wait <= room {
        wait
    } else {
        upper_half(room, random)
    }))
}

/// A `Retry-After` value (RFC 9110: seconds, or an HTTP-date) as a wait
/// from `now` (Unix seconds). A date in the past means no wait; a value
/// that is neither form is ignored.
pub fn retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    // u32 (136 years) as elsewhere: its parser is already linked.
    let secs = match value.parse::<u32>() {
        Ok(secs) => u64::from(secs),
        Err(_) => crate::time::parse_http_date(value)?
            .saturating_sub(now)
            .max(0) as u64,
    };
    Some(Duration::from_secs(secs))
}

/// A span to a tenth of a second, rounded down: `2.1s`. In u64 arithmetic:
/// formatting a float or a u128 would link code for it (some 20 KB and
/// 1.5 KB).
pub fn seconds(d: Duration) -> String {
    let tenths = d.as_millis() as u64 / 100;
    format!("{}.{}s", tenths / 10, tenths % 10)
}

/// The note the final error carries when retries stop: how many attempts,
/// how long in all and waiting, and why no more. `timeout` and
/// `attempts_from`/`timeout_from` are the settings and where they came from.
pub fn note(
    stop: Stop,
    attempts: u32,
    spent: Duration,
    waited: Duration,
    timeout: (Duration, &str),
    attempts_from: &str,
) -> String {
    let (timeout, timeout_from) = (timeout.0.as_secs(), timeout.1);
    let why = match stop {
        Stop::Attempts(cap) => format!(" (max attempts {cap}, from {attempts_from})"),
        // A literal, not UNREACHABLE_ATTEMPTS formatted: a few bytes less,
        // and the tests pin the two together.
        Stop::Unreachable => " (3 attempts at a server that cannot be reached)".into(),
        Stop::Deadline => {
            format!(": the {timeout}s timeout (from {timeout_from}) leaves no room for another")
        }
        Stop::RetryAfter(asked) => format!(
            ": the server asked to wait {}s, past the {timeout}s timeout (from {timeout_from})",
            asked.as_secs()
        ),
    };
    format!(
        "after {attempts} attempt{} in {}, {} of it waiting{why}",
        if attempts == 1 { "" } else { "s" },
        seconds(spent),
        seconds(waited)
    )
}

/// A random number from the standard library's per-process hash keys, which
/// the OS seeds. Enough for jitter, and it costs no dependency.
pub fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::time::now() as u64);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_of_the_policy() {
        // (status, code, message, retried)
        let rows = [
            (400, "Throttling", "Rate exceeded", true),
            (400, "ThrottlingException", "", true),
            (400, "RequestLimitExceeded", "", true),
            (500, "InternalFailure", "", true),
            (503, "ServiceUnavailable", "", true),
            (400, "IDPCommunicationError", "timeout contacting provider", true),
            (400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements", true),
            (400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://x", false),
            (400, "InvalidIdentityToken", "Incorrect token audience", false),
            // Both halves: a verification key, and fetching it.
            (400, "InvalidIdentityToken", "Could not fetch the verification key from the issuer", true),
            (400, "InvalidIdentityToken", "The verification key does not match the token's signature", false),
            (400, "InvalidIdentityToken", "Could not retrieve the token's issuer", false),
            (403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", false),
            (400, "ExpiredTokenException", "Token expired", false),
            (403, "IDPRejectedClaim", "", false),
            (400, "MalformedPolicyDocument", "", false),
            (400, "PackedPolicyTooLarge", "", false),
            (403, "RegionDisabledException", "", false),
            (400, "ValidationError", "", false),
            (400, "InvalidParameterValue", "", false),
            (400, "SomethingNew", "", false),
            (404, "NotFound", "", false),
            (429, "SomethingNew", "", true),
            (500, "SomethingNew", "", true),
            (502, "SomethingNew", "", true),
            (503, "SomethingNew", "", true),
            (504, "SomethingNew", "", true),
            (509, "SomethingNew", "", true),
            (501, "SomethingNew", "", false),
            (503, "AccessDenied", "", false),
        ];
        for (status, code, message, want) in rows {
            assert_eq!(
                retry_sts_error(status, code, message),
                want,
                "{status} {code} {message}"
            );
        }
        for s in [429, 500, 502, 503, 504, 509] {
            assert!(retryable_status(s));
        }
        for s in [200, 301, 400, 403, 404, 501, 505] {
            assert!(!retryable_status(s));
        }
    }

    /// Splitmix64: a reproducible stand-in for [`random`].
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    const S: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_are_the_upper_half_of_a_capped_ceiling() {
        let rows = [(1, 1000), (2, 2000), (3, 4000), (4, 6000), (40, 6000)];
        for (failures, ceiling) in rows {
            let c = Duration::from_millis(ceiling);
            assert_eq!(LATER.ceiling(failures), c);
            assert_eq!(LATER.wait(failures, 0), c / 2);
            assert_eq!(LATER.wait(failures, ceiling / 2), c);
            assert_eq!(LATER.wait(failures, ceiling / 2 + 1), c / 2);
        }
        assert_eq!(UNREACHABLE.ceiling(1), 200 * MS);
        assert_eq!(UNREACHABLE.ceiling(9), S);
        let mut rng = Rng(7);
        for failures in 0..40 {
            let w = LATER.wait(failures, rng.next());
            assert!(w >= LATER.ceiling(failures) / 2 && w <= LATER.cap, "{w:?}");
        }
        assert_ne!(random(), random());
    }

    /// Runs one exchange whose attempts all fail with `failure`, each taking
    /// `took`, on a simulated clock. Returns the attempts made, the time
    /// spent and why it stopped.
    fn run(
        failure: Failure,
        timeout: Duration,
        took: Duration,
        cap: Option<u32>,
    ) -> (u32, Duration, Stop) {
        let mut rng = Rng(42);
        let mut clock = Duration::ZERO;
        for attempt in 1.. {
            assert!(
                timeout - clock >= ROOM.min(timeout),
                "attempt {attempt} started with too little left"
            );
            clock += took;
            match next(
                failure,
                attempt,
                timeout.saturating_sub(clock),
                cap,
                rng.next(),
            ) {
                Next::Wait(w) => clock += w,
                Next::Stop(stop) => return (attempt, clock, stop),
            }
        }
        unreachable!()
    }

    #[test]
    fn each_failure_on_a_simulated_clock() {
        let took = 50 * MS;
        // "Later" answers go on until the timeout leaves no room.
        let (n, spent, stop) = run(Failure::Later(None), 60 * S, took, None);
        assert_eq!(stop, Stop::Deadline);
        assert!((10..=20).contains(&n), "{n} attempts");
        assert!(spent <= 60 * S && spent >= 59 * S - LATER.cap, "{spent:?}");
        let (n, spent, stop) = run(Failure::Later(None), 5 * S, took, None);
        assert_eq!(stop, Stop::Deadline);
        assert!(
            (3..=6).contains(&n) && spent <= 5 * S,
            "{n} attempts in {spent:?}"
        );
        // The user's cap wins over the deadline.
        assert_eq!(
            run(Failure::Later(None), 60 * S, took, Some(4)).2,
            Stop::Attempts(4)
        );
        assert_eq!(run(Failure::Later(None), 60 * S, took, Some(1)).0, 1);
        // A server that cannot be reached gets three attempts, quickly.
        let (n, spent, stop) = run(Failure::Unreachable, 60 * S, took, None);
        assert_eq!((n, stop), (3, Stop::Unreachable));
        assert!(spent <= 3 * took + 600 * MS, "{spent:?}");
        assert_eq!(
            run(Failure::Unreachable, 60 * S, took, Some(2)).2,
            Stop::Attempts(2)
        );
        // A connect timeout that eats the deadline stops at once.
        assert_eq!(
            run(Failure::Unreachable, 2 * S, 2 * S, None),
            (1, 2 * S, Stop::Deadline)
        );
        // Retry-After is honoured, with a little jitter, within the deadline.
        let mut rng = Rng(1);
        for _ in 0..100 {
            let asked = Failure::Later(Some(3 * S));
            match next(asked, 1, 60 * S, None, rng.next()) {
                Next::Wait(w) => assert!(w >= 3 * S && w <= 4 * S, "{w:?}"),
                other => panic!("{other:?}"),
            }
            match next(asked, 1, 4500 * MS, None, rng.next()) {
                Next::Wait(w) => assert!(w >= 3 * S && w <= 3500 * MS, "{w:?}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            next(Failure::Later(Some(120 * S)), 1, 60 * S, None, 0),
            Next::Stop(Stop::RetryAfter(120 * S))
        );
        // Near the deadline the wait is drawn from what is left.
        assert_eq!(
            next(Failure::Later(None), 9, 2 * S, None, 0),
            Next::Wait(500 * MS)
        );
        assert_eq!(
            next(Failure::Later(None), 9, ROOM, None, 0),
            Next::Stop(Stop::Deadline)
        );
    }

    /// One fleet on a simulated clock: `n` runs with the default settings
    /// start within a second against a server that answers `Later` until
    /// `outage` and then lets `rate` requests a second through (a token
    /// bucket holding `rate`). Returns successes, requests, and the slowest
    /// completion.
    fn fleet(n: u64, rate: u64, outage: Duration, seed: u64) -> (u64, u64, Duration) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = Rng(seed);
        let took = 30 * MS;
        let timeout = 60 * S;
        // (when, run, attempt), earliest first.
        let mut queue: BinaryHeap<Reverse<(Duration, u64, u32)>> = (0..n)
            .map(|run| Reverse((Duration::from_millis(rng.next() % 1000), run, 1)))
            .collect();
        let (mut tokens, mut filled) = (rate as f64, Duration::ZERO);
        let (mut ok, mut requests, mut slowest) = (0, 0, Duration::ZERO);
        while let Some(Reverse((now, run, attempt))) = queue.pop() {
            requests += 1;
            if now >= outage {
                tokens = (tokens + (now - filled.max(outage)).as_secs_f64() * rate as f64)
                    .min(rate as f64);
                filled = now;
                if tokens >= 1.0 {
                    tokens -= 1.0;
                    ok += 1;
                    slowest = slowest.max(now + took);
                    continue;
                }
            }
            let done = now + took;
            if let Next::Wait(w) = next(
                Failure::Later(None),
                attempt,
                timeout.saturating_sub(done),
                None,
                rng.next(),
            ) {
                queue.push(Reverse((done + w, run, attempt + 1)));
            }
        }
        (ok, requests, slowest)
    }

    #[test]
    fn storms_on_a_simulated_clock() {
        // Issue 12's goal: all succeed, at most 6 requests per success, the
        // slowest within 1.5 times the ideal N / rate.
        for n in [100, 300, 500] {
            for seed in 0..4 {
                let (ok, requests, slowest) = fleet(n, 20, Duration::ZERO, seed);
                let ideal = Duration::from_secs(n / 20);
                assert_eq!(ok, n, "{n} runs, seed {seed}");
                assert!(requests <= 6 * n, "{n} runs: {requests} requests");
                if n >= 300 {
                    assert!(
                        slowest.as_secs_f64() <= 1.5 * ideal.as_secs_f64(),
                        "{n} runs: slowest {slowest:?}"
                    );
                }
            }
        }
        // 50 runs through 20 s of 503s, with room to spare.
        for seed in 0..4 {
            let (ok, _, slowest) = fleet(50, 20, 20 * S, seed);
            assert_eq!(ok, 50);
            assert!(slowest <= 20 * S + LATER.cap + 5 * S, "{slowest:?}");
        }
    }

    #[test]
    fn retry_after_values() {
        let now = 1_795_629_600; // Wed, 25 Nov 2026 18:00:00 GMT
        let rows = [
            ("120", Some(120 * S)),
            (" 0 ", Some(Duration::ZERO)),
            ("Wed, 25 Nov 2026 18:00:30 GMT", Some(30 * S)),
            ("Wed, 25 Nov 2026 17:00:00 GMT", Some(Duration::ZERO)),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            ("", None),
        ];
        for (value, want) in rows {
            assert_eq!(retry_after(value, now), want, "{value:?}");
        }
    }

    #[test]
    fn notes_say_how_many_how_long_and_why() {
        let note = |stop| {
            note(
                stop,
                3,
                2150 * MS,
                2 * S,
                (60 * S, "default"),
                "PLUGIN_MAX_ATTEMPTS",
            )
        };
        assert_eq!(note(Stop::Attempts(3)), "after 3 attempts in 2.1s, 2.0s of it waiting (max attempts 3, from PLUGIN_MAX_ATTEMPTS)");
        assert_eq!(note(Stop::Unreachable), "after 3 attempts in 2.1s, 2.0s of it waiting (3 attempts at a server that cannot be reached)");
        assert_eq!(note(Stop::Deadline), "after 3 attempts in 2.1s, 2.0s of it waiting: the 60s timeout (from default) leaves no room for another");
        assert_eq!(note(Stop::RetryAfter(120 * S)), "after 3 attempts in 2.1s, 2.0s of it waiting: the server asked to wait 120s, past the 60s timeout (from default)");
    }

    #[test]
    fn retry_after_that_fills_the_room_exactly_is_waited() {
        // The edge of "past the timeout": a Retry-After equal to the time
        // left less ROOM still fits, and is waited to the millisecond.
        let asked = Duration::from_secs(5);
        for random in [0, 7, u64::MAX] {
            assert_eq!(
                next(Failure::Later(Some(asked)), 1, asked + ROOM, None, random),
                Next::Wait(asked)
            );
        }
        let over = asked + Duration::from_millis(1);
        assert_eq!(
            next(Failure::Later(Some(over)), 1, asked + ROOM, None, 0),
            Next::Stop(Stop::RetryAfter(over))
        );
    }
}
