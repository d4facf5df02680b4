//! The exchange: one `AssumeRoleWithWebIdentity` POST (`docs/reference.md`
//! §3), retried as §4 says. The only module that touches the network.

use std::thread;
use std::time::{Duration, Instant};

use crate::claims::Claims;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::log::{Level, Log};
use crate::proxy::{self, Proxy};
use crate::response::{self, Answer, Credentials};

use crate::secret::Scrubber;
use crate::settings::{Fetched, Settings, Source, Sourced};

mod agent;
mod chain;
pub mod diagnose;
mod failure;
mod forms;
pub mod retry;
pub mod sigv4;
mod tls;
/// The TLS provider every call uses (rustls on ring, AES-GCM only): the
/// benchmark's bare client uses it too, so both link the same TLS.
pub use tls::provider as tls_provider;

pub use agent::HEADER_LIMIT;
use agent::{agent, host_header};
pub use chain::{as_asked, exchange, rechain, verify, Verified};
pub use failure::preview;
use failure::{sts_failure, transport_failure};
pub use forms::{caller_identity_form, chained_duration, form, hop_forms, Field, Form};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("aws-oidc/", env!("CARGO_PKG_VERSION"));

/// Largest response body read (`docs/reference.md` §3.4).
pub const BODY_LIMIT: u64 = 1 << 20;

/// What one attempt came to.
enum Outcome {
    /// A success answer: credentials, or `--verify`'s identity.
    Done(Box<Answer>),
    Retry {
        why: String,
        failure: retry::Failure,
        error: Error,
    },
    Fail(Error),
}

/// What the exchange needs besides the settings.
pub struct Context<'a> {
    /// The token's claims, when it is a JWT, for hints.
    pub claims: Option<&'a Claims>,
    /// Where the web-identity hop's credentials are kept when a chained
    /// run may re-assume its chained roles with them later (`--serve`,
    /// `docs/reference.md` §14.2).
    pub first_hop: Option<&'a std::cell::RefCell<Option<Credentials>>>,
    /// Gets the token again from its file or command
    /// (`settings::fresh_token` over the run's files), before every attempt
    /// of the web-identity hop after the first; `None` for a token that is
    /// not read again.
    pub fresh: Option<Refetch<'a>>,
}

/// Gets the token again, within the deadline given; its errors end with
/// the text given (what the failure kept from STS).
pub type Refetch<'a> = &'a dyn Fn(Instant, &str) -> Result<Option<Fetched>, Error>;

/// The content type of every form sent, signed as sent.
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// One STS call: its form, the keys that sign it (none for the
/// web-identity hop), and what its failures name.
pub(crate) struct Call<'a> {
    /// The form, in the order sent.
    pub fields: &'a [(String, Field<'a>)],
    /// The previous hop's credentials, which sign the call.
    pub signer: Option<&'a Credentials>,
    /// How a refusal names the call: `AssumeRoleWithWebIdentity`, or
    /// `AssumeRole (hop 2 of 2, role …)`.
    pub what: String,
    /// What the hint for a refusal is worked out from.
    pub hint: Hint<'a>,
}

impl Call<'_> {
    /// The call's `Action`.
    pub(crate) fn action(&self) -> &str {
        self.field("Action").unwrap_or("AssumeRoleWithWebIdentity")
    }

    /// A field's value as sent.
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.send())
    }

    /// The role the call asks for, as its form names it.
    pub(crate) fn role_arn(&self) -> &str {
        self.field("RoleArn").unwrap_or("the role")
    }
}

/// What a refusal's hint is worked out from.
pub(crate) enum Hint<'a> {
    /// The web-identity hop: the token's claims.
    WebIdentity(Option<&'a Claims>),
    /// A chained hop: the previous hop's assumed-role ARN, when STS sent
    /// one (the role asked for is the call's `RoleArn`).
    Chained(Option<&'a str>),
    /// `--verify`: STS's own words say enough.
    Verify,
}

/// What every call of a run shares: the settings, the endpoint, one agent
/// (one TLS setup), the secrets network text is scrubbed of, and the one
/// deadline every hop and `--verify` fit within.
pub(crate) struct Conn<'a> {
    s: &'a Settings,
    endpoint: &'a Endpoint,
    agent: ureq::Agent,
    /// The `Host` header, which is also signed.
    host: String,
    /// The URL's path, as signed.
    path: String,
    /// The region signatures are scoped to (`docs/reference.md` §3.5).
    region: String,
    secrets: Vec<String>,
    scrubber: Scrubber,
    /// How many of `secrets` the scrubber was built from: secrets learnt
    /// from an answer are added before the next call is sent, not when
    /// learnt, so a run whose last answer is its only one never rebuilds
    /// it (the rebuild was an eighth of the instructions of a run).
    scrubbed: usize,
    started: Instant,
    deadline: Instant,
    /// Gets the token again before a retry of the web-identity hop.
    fresh: Option<Refetch<'a>>,
}

impl<'a> Conn<'a> {
    /// Sets up the client for the endpoint, within the run's one
    /// `deadline` (its timeout from when the run started: a wait for the
    /// cache's lock and a hit's `--verify` came out of it too).
    pub(crate) fn new(
        s: &'a Settings,
        endpoint: &'a Endpoint,
        deadline: Instant,
        log: &mut Log,
    ) -> Result<Conn<'a>, Error> {
        let started = deadline.checked_sub(s.timeout.value).unwrap_or(deadline);
        let secrets = crate::secret::run_secrets(
            Some(s.token.expose()),
            s.policy.as_ref().map(|p| p.expose()),
            s.proxy.as_ref().map(|p| p.url.expose()),
        );
        let uri = endpoint.url.parse::<ureq::http::Uri>().ok();
        let bare_host = uri.as_ref().and_then(|u| u.host()).unwrap_or_default();
        Ok(Conn {
            s,
            endpoint,
            agent: agent(s, endpoint, log)?,
            host: host_header(&endpoint.url),
            path: match uri.as_ref().map_or("", |u| u.path()) {
                "" => "/".to_string(),
                p => p.to_string(),
            },
            region: crate::request::sigv4::signing_region(
                s.region.as_deref().map(String::as_str),
                bare_host,
            ),
            scrubber: Scrubber::new(secrets.iter().map(String::as_str)),
            scrubbed: secrets.len(),
            secrets,
            started,
            deadline,
            fresh: None,
        })
    }

    /// The request's headers and fields, secrets redacted, at trace.
    fn trace_request(&self, call: &Call, log: &mut Log) {
        if !log.enabled(Level::Trace) {
            return;
        }
        let signed = call.signer.map_or(String::new(), |c| {
            format!(
                "; signed (SigV4, {}/sts) by {}",
                self.region, c.access_key_id
            )
        });
        log.trace(&format!(
            "request headers: Host: {}; User-Agent: {USER_AGENT}; Content-Type: {FORM_TYPE}{signed}; body fields: {}",
            self.host,
            call.fields.iter().map(|(k, v)| format!("{k}={}", v.show())).collect::<Vec<_>>().join("&")
        ));
    }

    /// The final error of a call that stops retrying after `attempt`
    /// attempts: the last failure's, with how many and how long (`spent`:
    /// when the call started, and how long it waited in all).
    fn stopped(
        &self,
        stop: retry::Stop,
        attempt: u32,
        (call_started, waited): (Instant, Duration),
        why: &str,
        error: Error,
    ) -> Error {
        let s = self.s;
        // The deadline is the run's; the time spent is this call's own, or
        // the whole run's once it ran out.
        let spent = match stop {
            retry::Stop::Deadline => self.started.elapsed(),
            _ => call_started.elapsed(),
        };
        let mut note = retry::note(
            stop,
            attempt,
            spent,
            waited,
            (s.timeout.value, s.timeout.source.name()),
            s.max_attempts
                .as_ref()
                .map_or(Source::Default, |a| a.source)
                .name(),
        );
        // A timeout's own message already names the timeout: the note says
        // how many and how long, not the timeout again.
        if stop == retry::Stop::Deadline && why.ends_with("timed out") {
            note.truncate(note.find(": the ").unwrap_or(note.len()));
        }
        gave_up(error, &note)
    }

    /// The token again from its file or command, before attempt `attempt`
    /// of the web-identity hop (`docs/reference.md` §1.3): hidden from
    /// every line and from network text before anything is printed, then
    /// the command's standard error logged, and `body` rebuilt with it.
    fn reread(
        &mut self,
        call: &Call,
        attempt: u32,
        body: &mut String,
        log: &mut Log,
    ) -> Result<(), Error> {
        let Some(fresh) = self.fresh else {
            return Ok(());
        };
        let Some(f) = fresh(self.deadline, &format!("attempt {attempt} was not sent"))? else {
            return Ok(());
        };
        log.hide(std::slice::from_ref(&f.token));
        self.secrets.push(f.token.expose().to_string());
        self.scrubber = Scrubber::new(self.secrets.iter().map(String::as_str));
        self.scrubbed = self.secrets.len();
        for line in &f.stderr {
            log.info(line);
        }
        log.debug(&format!(
            "read the token again from {} for attempt {attempt} ({} chars)",
            self.s.token_from(),
            f.token.len()
        ));
        *body = forms::encoded_with_token(call.fields, &f.token);
        Ok(())
    }

    /// From now on, these credentials' secrets are removed from every log
    /// line (as [`learn`] does) and, from the next call sent on, from
    /// network text.
    pub(crate) fn learn(&mut self, c: &Credentials, log: &mut Log) {
        learn(c, self.s.mask_account, log);
        self.secrets.extend(
            [&c.secret_access_key, &c.session_token]
                .iter()
                .map(|s| s.expose().to_string()),
        );
    }

    /// Sends one call with retries, as `retry::next` decides: "later"
    /// answers until the deadline, an unreachable server a few times,
    /// within any attempt cap the user set (per call). Signed or not, every
    /// STS call goes through here.
    pub(crate) fn send(&mut self, call: &Call, log: &mut Log) -> Result<Answer, Error> {
        if self.scrubbed != self.secrets.len() {
            self.scrubber = Scrubber::new(self.secrets.iter().map(String::as_str));
            self.scrubbed = self.secrets.len();
        }
        let (s, endpoint) = (self.s, self.endpoint);
        let mut body = forms::encoded(call.fields);
        // Only a token from a file or a command is read again; a value
        // costs nothing more (§1.3).
        let rereads = matches!(call.hint, Hint::WebIdentity(_)) && s.token_source.rereads();
        let max_attempts = s.max_attempts.as_ref().map(|m| m.value);
        let of = max_attempts.map_or(String::new(), |m| format!(" of {m}"));
        let call_started = Instant::now();
        let (mut attempt, mut waited) = (0u32, Duration::ZERO);
        loop {
            attempt += 1;
            if rereads && attempt > 1 {
                self.reread(call, attempt, &mut body, log)?;
            }
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            log.debug(&format!(
                "attempt {attempt}{of}: POST {} ({}s left)",
                endpoint.url,
                remaining.as_secs()
            ));
            self.trace_request(call, log);
            let t0 = Instant::now();
            let wire = Wire {
                agent: &self.agent,
                host: &self.host,
                scrubber: &self.scrubber,
                proxy: proxy::choose(
                    s.proxy.as_ref(),
                    &s.no_proxy,
                    &endpoint.host,
                    endpoint.loopback,
                ),
            };
            let outcome = self.attempt_once(&wire, call, &body, remaining, log);
            log.debug(&format!(
                "attempt {attempt} took {} ms",
                t0.elapsed().as_millis() as u64
            ));
            let (why, failure, error) = match outcome {
                Outcome::Done(a) => return Ok(*a),
                Outcome::Fail(e) => return Err(e),
                Outcome::Retry {
                    why,
                    failure,
                    error,
                } => (why, failure, error),
            };
            let left = self.deadline.saturating_duration_since(Instant::now());
            let wait = match retry::next(failure, attempt, left, max_attempts, retry::random()) {
                retry::Next::Wait(wait) => wait,
                retry::Next::Stop(stop) => {
                    let spent = (call_started, waited);
                    return Err(self.stopped(stop, attempt, spent, &why, error));
                }
            };
            log.info(&format!(
                "attempt {attempt}{of} failed: {why}; retrying in {}",
                retry::seconds(wait)
            ));
            log.debug(&format!(
                "waiting {} ms before attempt {}",
                wait.as_millis() as u64,
                attempt + 1
            ));
            thread::sleep(wait);
            waited += wait;
        }
    }
}

/// What every set of credentials the run holds tells the log, whether STS
/// just sent it or the cache kept it (`docs/reference.md` §8, §13.1): its
/// secret key and session token are hidden from every line from now on,
/// and with mask account (`mask`) the account of its assumed role is
/// masked.
pub fn learn(c: &Credentials, mask: bool, log: &mut Log) {
    log.hide(&[c.secret_access_key.clone(), c.session_token.clone()]);
    let account = c
        .assumed_role_arn
        .as_deref()
        .and_then(crate::settings::account_of);
    if let Some(account) = account.filter(|_| mask) {
        log.mask_account(account);
    }
}

/// Adds "after N attempts" to the final error where it reads naturally.
fn gave_up(error: Error, note: &str) -> Error {
    // Messages read "what happened; what to check": the note belongs to the
    // first half, which ends at the first "; " outside parentheses and
    // backticks (a content type `text/html; charset=utf-8` holds one).
    let insert = |m: String| match first_clause_end(&m) {
        Some(at) => format!("{} {note}{}", &m[..at], &m[at..]),
        None => format!("{m} {note}"),
    };
    match error {
        Error::Network(m) => Error::Network(insert(m)),
        Error::Response(m) => Error::Response(insert(m)),
        Error::Sts(mut f) => {
            f.message = format!("{} ({note})", f.message);
            Error::Sts(f)
        }
        e => e,
    }
}

/// Where the first "; " outside parentheses and backticks starts.
fn first_clause_end(m: &str) -> Option<usize> {
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in m.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ';' if !quoted && depth == 0 && m[i..].starts_with("; ") => return Some(i),
            _ => {}
        }
    }
    None
}

/// What one attempt is made with.
struct Wire<'a> {
    agent: &'a ureq::Agent,
    /// The `Host` header.
    host: &'a str,
    /// Cleans what the network says before it is shown.
    scrubber: &'a Scrubber,
    /// The proxy in use, if any, to name when it fails.
    proxy: Option<&'a Sourced<Proxy>>,
}

impl Wire<'_> {
    /// Text from the network as it may be shown: secrets removed, one line.
    fn heard(&self, text: &str) -> String {
        self.scrubber.heard(text)
    }
}

impl Conn<'_> {
    /// One POST, signed when the call has a signer, and what its answer
    /// means.
    // Kept out of `send`'s retry loop (as is `redirected`):
    // inlined there, it cost 2.4 KB more in the release binary.
    #[inline(never)]
    fn attempt_once(
        &self,
        wire: &Wire,
        call: &Call,
        body: &str,
        remaining: Duration,
        log: &mut Log,
    ) -> Outcome {
        let mut req = wire
            .agent
            .post(&self.endpoint.url)
            .header("Host", wire.host)
            .header("Content-Type", FORM_TYPE);
        // Signed at each attempt: a retry is a new request, at a new time.
        if let Some(c) = call.signer {
            let signed = crate::request::sigv4::sign(
                &crate::request::sigv4::Request {
                    method: "POST",
                    host: wire.host,
                    path: &self.path,
                    headers: &[("Content-Type", FORM_TYPE)],
                    body: body.as_bytes(),
                },
                &crate::request::sigv4::Credentials {
                    access_key_id: &c.access_key_id,
                    secret_access_key: &c.secret_access_key,
                    session_token: Some(&c.session_token),
                },
                &crate::request::sigv4::Scope {
                    region: &self.region,
                    service: crate::request::sigv4::STS_SERVICE,
                    time: crate::time::now(),
                },
            );
            for (name, value) in signed.headers() {
                req = req.header(name, value);
            }
        }
        let sent = req
            .config()
            .timeout_global(Some(remaining))
            .build()
            .send(body.as_bytes());
        attempt_answer(sent, wire, self.s, self.endpoint, call, log)
    }
}

/// What an attempt's answer (or its failure to come) means.
/// The answer's body, at most [`BODY_LIMIT`] bytes: a larger one is no
/// STS answer (retried as its status says).
fn read_body(
    resp: &mut ureq::http::Response<ureq::Body>,
    (status, content_type): (u16, &str),
    later: retry::Failure,
    s: &Settings,
    endpoint: &Endpoint,
    wire: &Wire,
) -> Result<Vec<u8>, Outcome> {
    match resp
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
    {
        Ok(b) => Ok(b),
        Err(ureq::Error::BodyExceedsLimit(_)) => {
            let e = Error::Response(format!(
                "{} answered HTTP {status} ({content_type}) with a body over 1 MiB, which is not an STS answer; check the endpoint and any proxy in between",
                endpoint.host
            ));
            Err(retry_if(
                retry::retryable_status(status).then_some(later),
                format!("HTTP {status} with an oversized body"),
                e,
            ))
        }
        Err(e) => Err(transport_failure(e, endpoint, s, wire)),
    }
}

fn attempt_answer(
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    wire: &Wire,
    s: &Settings,
    endpoint: &Endpoint,
    call: &Call,
    log: &mut Log,
) -> Outcome {
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return transport_failure(e, endpoint, s, wire),
    };
    let (status, retry_after, content_type) = head(&resp, wire, log);
    if (300..400).contains(&status) {
        let named = crate::settings::ENDPOINT.named(s.endpoint.as_ref().map(|e| e.source));
        return Outcome::Fail(redirected(&resp, status, endpoint, &named, wire));
    }
    let later = retry::Failure::Later(retry_after);
    let body = match read_body(&mut resp, (status, &content_type), later, s, endpoint, wire) {
        Ok(b) => b,
        Err(outcome) => return outcome,
    };
    // Lossy only for the preview of a body that is not understood.
    let text = String::from_utf8_lossy(&body);
    // A refused answer that carries credentials: no part of it is shown.
    // `--verify`'s answer carries none, so it is not said to.
    let carrying = match call.action() {
        "GetCallerIdentity" => "",
        _ => " with credentials",
    };
    let with_credentials = |why: &str| {
        Error::Response(format!(
            "{} answered HTTP {status}{carrying}, but {why}; nothing was written; check that the endpoint is STS and that nothing in between alters its answers",
            endpoint.host
        ))
    };
    let credentials = response::carries_credentials(&body);
    let not_understood = |why: String| {
        Error::Response(format!(
            "{} answered HTTP {status} ({content_type}) that is not an STS answer: {why}; first bytes: `{}`; check that the endpoint is STS and that no proxy or firewall answers instead",
            endpoint.host,
            // Scrubbed before (the preview is cut) and after (it is
            // collapsed to one line).
            wire.heard(&preview(&wire.scrubber.scrub(&text)))
        ))
    };
    match response::decode(&body, &content_type).and_then(|t| response::parse(t, call.action())) {
        Ok(Answer::Success(c)) if (200..300).contains(&status) => {
            log.debug(&format!(
                "RequestId {}",
                wire.heard(c.request_id.as_deref().unwrap_or("-"))
            ));
            Outcome::Done(Box::new(Answer::Success(c)))
        }
        Ok(Answer::Identity(id)) if (200..300).contains(&status) => {
            Outcome::Done(Box::new(Answer::Identity(id)))
        }
        Ok(Answer::Success(_) | Answer::Identity(_)) => retry_if(
            retry::retryable_status(status).then_some(later),
            format!("HTTP {status}"),
            with_credentials("with an error status"),
        ),
        Ok(Answer::Error(e)) => {
            log.debug(&format!(
                "STS error {} (RequestId {})",
                wire.heard(&e.code),
                wire.heard(e.request_id.as_deref().unwrap_or("-"))
            ));
            let retry = retry::retry_sts_error(status, &e.code, &e.message).then_some(later);
            let why = format!("HTTP {status} {}", wire.heard(&e.code));
            retry_if(retry, why, sts_failure(status, e, s, call, wire))
        }
        // A refused success answer: its text is credentials, never shown.
        Err(m) if credentials || m.in_credentials() => {
            Outcome::Fail(with_credentials(&m.without_body_text()))
        }
        Err(m) => retry_if(
            retry::retryable_status(status).then_some(later),
            format!("HTTP {status}"),
            not_understood(wire.heard(&m.to_string())),
        ),
    }
}

/// An answer's status, its `Retry-After` if any, and its content type as
/// safe to show; logged at debug, with every header at trace.
fn head(
    resp: &ureq::http::Response<ureq::Body>,
    wire: &Wire,
    log: &mut Log,
) -> (u16, Option<Duration>, String) {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(ureq::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::retry_after(v, crate::time::now()));
    let content_type = resp
        .headers()
        .get(ureq::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map_or("no content type".to_string(), |v| wire.heard(v));
    log.debug(&format!("HTTP {status} {content_type}"));
    if log.enabled(Level::Trace) {
        let headers: Vec<String> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = v.to_str().unwrap_or("<binary>");
                // A redirect's target may carry a user and password.
                let v = match k == ureq::http::header::LOCATION {
                    true => crate::secret::mask_url(v),
                    false => v.to_string(),
                };
                format!("{k}: {}", wire.heard(&v))
            })
            .collect();
        log.trace(&format!("response headers: {}", headers.join("; ")));
    }
    (status, retry_after, content_type)
}

/// A redirect, which is never followed (the token would go wherever it
/// points): where it points, masked and scrubbed, and what to set instead.
#[inline(never)]
fn redirected(
    resp: &ureq::http::Response<ureq::Body>,
    status: u16,
    endpoint: &Endpoint,
    named: &str,
    wire: &Wire,
) -> Error {
    let location = resp
        .headers()
        .get(ureq::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map_or("nowhere (no Location)".to_string(), |l| {
            wire.heard(&crate::secret::mask_url(l))
        });
    Error::Response(format!(
        "{} answered HTTP {status} redirecting to {location} (redirects are not followed); set the endpoint ({named}) to STS's own URL, such as https://sts.REGION.amazonaws.com",
        endpoint.host
    ))
}

/// A retry of this kind of failure, or, with none, a final failure.
fn retry_if(failure: Option<retry::Failure>, why: String, error: Error) -> Outcome {
    match failure {
        Some(failure) => Outcome::Retry {
            why,
            failure,
            error,
        },
        None => Outcome::Fail(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_hide_secret_looking_runs() {
        let p = preview(&crate::testing::fixture("proxy-page.html"));
        assert!(
            p.starts_with("<!DOCTYPE html> <html><head><title>Access blocked</title>"),
            "{p}"
        );
        assert!(!p.contains("QWxhZGRpbjpvcGVu"), "{p}");
        let p = preview("token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl and\nmore");
        assert_eq!(p, "<redacted> and more");
        assert!(preview(&"a ".repeat(500)).ends_with('…'));
        // 160 characters are shown whole; one more is cut.
        let full = format!("{}abcd", "abc ".repeat(39));
        assert_eq!(full.chars().count(), 160);
        assert_eq!(preview(&full), full);
        assert_eq!(preview(&format!("{full}e")), format!("{full}…"));
        // Control characters and backticks (which quote the preview) are
        // spaces.
        assert_eq!(preview("a`b\u{1}c\u{7f}d"), "a b c d");
    }

    #[test]
    fn the_retry_note_goes_after_the_first_clause() {
        let m = "h answered HTTP 500 (text/html; charset=utf-8) that is not an STS answer: x; first bytes: `a; b`; check";
        let e = gave_up(Error::Response(m.into()), "after 2 attempts");
        assert_eq!(
            e.to_string(),
            "h answered HTTP 500 (text/html; charset=utf-8) that is not an STS answer: x after 2 attempts; first bytes: `a; b`; check"
        );
        assert_eq!(first_clause_end("`a; b` (c; d)"), None);
        // A parenthesis inside backticks is quoted text, not nesting.
        assert_eq!(first_clause_end("`(`; x"), Some(3));
        assert_eq!(first_clause_end("`)`; x"), Some(3));
    }

    #[test]
    fn a_loopback_name_without_a_port_gets_the_scheme_s() {
        let port = |url: &str| agent::port_of(&url.parse::<ureq::http::Uri>().unwrap());
        assert_eq!(port("https://localhost/"), 443);
        assert_eq!(port("http://localhost/"), 80);
        assert_eq!(port("https://localhost:8443/"), 8443);
        assert_eq!(port("http://localhost:8080/"), 8080);
    }

    #[test]
    fn the_host_header_carries_a_port_that_is_not_the_default() {
        let rows = [
            ("https://127.0.0.1:8443/", "127.0.0.1:8443"),
            ("https://sts.amazonaws.com/", "sts.amazonaws.com"),
            ("https://sts.amazonaws.com:443/", "sts.amazonaws.com"),
            ("http://LOCALHOST:80/", "LOCALHOST"),
            ("http://[::1]:4566/", "[::1]:4566"),
        ];
        for (url, want) in rows {
            assert_eq!(host_header(url), want, "{url}");
        }
    }
}

#[cfg(test)]
mod https_only {
    use super::*;

    /// The client's own guard, beneath the settings' `http://` rule: an
    /// agent built for an endpoint that is not loopback refuses plain http
    /// before it connects (the address here is loopback all the same, so
    /// nothing could leave the machine if the guard were gone).
    #[test]
    fn an_agent_for_a_remote_endpoint_refuses_plain_http() {
        let s = crate::testing::settings(&[]);
        let mut log = Log::stderr(Level::Error);
        let remote = Endpoint {
            url: "http://127.0.0.1:9/".into(),
            host: "sts.example.com".into(),
            loopback: false,
        };
        let sent = agent(&s, &remote, &mut log)
            .expect("an agent")
            .post(&remote.url)
            .send_form([("Action", "x")]);
        assert!(
            matches!(sent, Err(ureq::Error::RequireHttpsOnly(_))),
            "{sent:?}"
        );
    }
}
