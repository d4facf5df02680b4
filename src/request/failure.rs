//! What a failed attempt means: STS's refusals with their hints, and
//! transport failures (TLS, proxy, timeout, connection) sorted into "retry
//! later", "unreachable" or final (`docs/reference.md` §4.1 and §5.4). Every
//! piece of network text shown passes through the run's scrubber.

use super::{retry_if, Call, Hint, Outcome, Wire, HEADER_LIMIT};
use crate::endpoint::Endpoint;
use crate::error::{Error, StsFailure};
use crate::request::retry;
use crate::response::StsError;
use crate::settings::Settings;

/// The longest STS `Message` quoted, in characters, so that the hint after
/// it still fits on the line.
const MESSAGE_CAP: usize = 400;

pub(super) fn sts_failure(
    status: u16,
    e: StsError,
    s: &Settings,
    call: &Call,
    wire: &Wire,
) -> Error {
    // STS's validation messages can quote what was sent; the token and the
    // policy must not come back out through them.
    let message = crate::log::capped(&wire.heard(&e.message), MESSAGE_CAP).into_owned();
    let named = named(s);
    let general = |claims| {
        crate::request::diagnose::hint(
            &e.code,
            &e.message,
            claims,
            (&s.role.partition, &s.role.account),
            &named,
            crate::time::now(),
        )
    };
    let hint = match call.hint {
        Hint::WebIdentity(claims) => general(claims),
        Hint::Chained(previous) => crate::request::diagnose::chained_hint(
            &e.code,
            previous,
            call.role_arn(),
            s.chain
                .external_id
                .as_ref()
                .map(|id| id.source.to_string())
                .as_deref(),
        )
        .or_else(|| {
            general(None).filter(|_| !crate::request::diagnose::about_web_identity(&e.code))
        }),
        Hint::Verify => crate::request::diagnose::verify_hint(&e.code),
    };
    Error::Sts(Box::new(StsFailure {
        action: call.what.clone(),
        status,
        hint: Some(
            hint.unwrap_or_else(|| {
                crate::request::diagnose::fallback(status, call.action(), &named)
            }),
        ),
        code: wire.heard(&e.code),
        message,
        request_id: e.request_id.map(|id| wire.heard(&id)),
    }))
}

/// How the hints name the settings they point to: as set, with the flag or
/// env spelling the user wrote (`docs/reference.md` §5.4).
fn named(s: &Settings) -> crate::request::diagnose::Named {
    use crate::settings::{DURATION, POLICY, POLICY_ARNS, REGION, TIMEOUT};
    crate::request::diagnose::Named {
        duration: DURATION.named(s.duration.as_ref().map(|d| d.source)),
        region: REGION.named(s.region.as_ref().map(|r| r.source)),
        policy: POLICY.named(s.policy.as_ref().map(|p| p.source)),
        policy_arns: POLICY_ARNS.named(s.policy_arns.as_ref().map(|p| p.source)),
        timeout: TIMEOUT.named(Some(s.timeout.source)),
        max_attempts: s.max_attempts.as_ref().map(|a| a.source.to_string()),
        tags: s.chain.tags.tags.as_ref().map(|t| t.source.to_string()),
    }
}

pub(super) fn transport_failure(
    e: ureq::Error,
    endpoint: &Endpoint,
    s: &Settings,
    wire: &Wire,
) -> Outcome {
    let host = endpoint.host.clone();
    if let Some(problem) = tls_problem(&e) {
        return Outcome::Fail(Error::Tls { host, problem });
    }
    // Not the server's doing, nor the network's: said so, and not retried.
    if let Some(problem) = local_problem(&e) {
        return Outcome::Fail(Error::Internal(format!(
            "cannot send the request to {host}: {} ({}); this is aws-oidc's doing, not the server's or the network's; nothing was written; please report it, with the log at debug",
            problem,
            wire.heard(&format!("ureq: {e}")),
        )));
    }
    // Through a proxy, the connection is to the proxy: when it cannot be
    // made, or is refused or dropped, the proxy is what to check.
    if let Some(p) = wire.proxy {
        let why = match &e {
            ureq::Error::HostNotFound => Some("the proxy's host name does not resolve".to_string()),
            ureq::Error::Io(io) => Some(io_kind(io)),
            ureq::Error::ConnectionFailed => Some("connection failed".to_string()),
            // Only an answer with a status is a refusal; a proxy that took
            // the CONNECT and closed without one was not reached either.
            ureq::Error::ConnectProxyFailed(_) if proxy_status(&e).is_none() => {
                Some("it closed the connection without answering the CONNECT".to_string())
            }
            _ => None,
        };
        if let Some(why) = why {
            let msg = format!(
                "cannot reach {host} through the proxy {} (from {}): {why}; check that the proxy runs and that this runner can reach it, or set NO_PROXY to bypass it",
                p.display, p.source
            );
            return retry_if(
                Some(retry::Failure::Unreachable),
                format!("proxy: {why}"),
                Error::Network(msg),
            );
        }
    }
    let (why, msg, retry) = match &e {
        ureq::Error::Timeout(_) => (
            "timed out".to_string(),
            format!(
                "no answer from {host}{} within the {}s timeout (from {}); check that this runner can reach it (firewall, proxy: HTTPS_PROXY)",
                wire.proxy.map_or(String::new(), |p| format!(" through the proxy {} (from {})", p.display, p.source)),
                s.timeout.as_secs(),
                s.timeout.source
            ),
            true,
        ),
        ureq::Error::HostNotFound => (
            "host not found".into(),
            format!("cannot resolve {host}; check DNS on the runner, the region and the endpoint setting"),
            true,
        ),
        ureq::Error::Io(io) => (
            io_kind(io),
            format!("cannot reach {host}: {}; check that this runner can reach it (firewall, proxy: HTTPS_PROXY, NO_PROXY)", io_kind(io)),
            true,
        ),
        ureq::Error::ConnectionFailed => (
            "connection failed".into(),
            format!("cannot connect to {host}; check that this runner can reach it (firewall, proxy: HTTPS_PROXY)"),
            true,
        ),
        ureq::Error::ConnectProxyFailed(m) => {
            let proxy = wire.proxy.map_or(String::new(), |p| format!(" {} (from {})", p.display, p.source));
            let answer = proxy_status(&e).map_or_else(|| wire.heard(m), |s| {
                format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or("(no reason)"))
            });
            (
                "proxy refused".into(),
                format!("the proxy{proxy} refused to connect to {host}: {answer}; check HTTPS_PROXY and its credentials"),
                false,
            )
        }
        ureq::Error::LargeResponseHeader(..) => {
            return Outcome::Fail(Error::Response(format!(
                "{host} answered with response headers over {} KiB, which is not an STS answer; check the endpoint and any proxy in between",
                HEADER_LIMIT >> 10
            )))
        }
        ureq::Error::Protocol(p) => {
            let msg = format!("{host} did not answer with HTTP ({}); check that the endpoint is STS", wire.heard(&p.to_string()));
            return Outcome::Fail(Error::Response(msg));
        }
        other => (
            "request failed".into(),
            format!("the request to {host} failed: {}", wire.heard(&other.to_string())),
            false,
        ),
    };
    // Not reaching the server usually means a wrong endpoint or proxy: a
    // few attempts, not the whole timeout (retry::UNREACHABLE_ATTEMPTS).
    retry_if(
        retry.then_some(retry::Failure::Unreachable),
        why,
        Error::Network(msg),
    )
}

/// What went wrong on this side, when ureq could not build or write the
/// request this program made: nothing the server or the network did. Only
/// the errors that can come from nowhere else count; one that could also
/// describe an answer (a bad `Content-Length`, an HTTP version) is the
/// server's.
fn local_problem(e: &ureq::Error) -> Option<&'static str> {
    use ureq_proto::Error as P;
    Some(match e {
        ureq::Error::Protocol(P::OutputOverflow) => {
            "a request line or header is longer than the client's output buffer"
        }
        ureq::Error::Protocol(
            P::BadHeader(_)
            | P::TooManyHostHeaders
            | P::BadHostHeader
            | P::BadAuthorizationHeader
            | P::MethodVersionMismatch(..)
            | P::BodyNotAllowed
            | P::BodyIsChunked
            | P::BodyContentAfterFinish
            | P::BodyLargerThanContentLength,
        ) => "the client refused the request it was given",
        ureq::Error::Http(_) | ureq::Error::BadUri(_) => "the client could not build the request",
        ureq::Error::InvalidProxyUrl
        | ureq::Error::RequireHttpsOnly(_)
        | ureq::Error::TlsRequired => "the client's setup refused the connection",
        ureq::Error::BodyStalled => "the client stopped making progress",
        _ => return None,
    })
}

/// The status a proxy refused the CONNECT with, read from ureq's text
/// (`proxy server responded 407/407`).
fn proxy_status(e: &ureq::Error) -> Option<ureq::http::StatusCode> {
    let ureq::Error::ConnectProxyFailed(m) = e else {
        return None;
    };
    let code = m
        .strip_prefix("proxy server responded ")?
        .split('/')
        .next()?;
    ureq::http::StatusCode::from_u16(code.parse().ok()?).ok()
}

fn io_kind(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        ConnectionAborted => "connection aborted".into(),
        UnexpectedEof => "connection closed before an answer".into(),
        TimedOut => "timed out".into(),
        _ => crate::error::io_reason(e),
    }
}

/// The certificate or handshake problem, if that is what failed.
fn tls_problem(e: &ureq::Error) -> Option<String> {
    let rustls_err = match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        ureq::Error::Tls(m) => return Some(format!("TLS error: {m}")),
        _ => None,
    }?;
    use rustls::CertificateError as C;
    Some(match rustls_err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "the server's certificate is not trusted (unknown issuer)".into(),
            C::BadSignature => "the server's certificate is not trusted (bad signature)".into(),
            C::Expired | C::ExpiredContext { .. } => {
                "the server's certificate has expired (or this machine's clock is wrong)".into()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check this machine's clock)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for this host name".into()
            }
            C::Revoked => "the server's certificate is revoked".into(),
            other => format!("the server's certificate is not trusted ({other:?})"),
        },
        other => format!("the TLS handshake failed ({other})"),
    })
}

/// A body preview safe to print: one line, at most 160 chars, with every
/// long token-like run (keys, JWT parts, session ids) replaced.
pub fn preview(body: &str) -> String {
    let head: String = body.chars().take(4096).collect();
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 20 {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in head.chars() {
        if c.is_ascii_alphanumeric() || "+/=_-.%".contains(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(if c.is_control() || c == '`' { ' ' } else { c });
        }
    }
    flush(&mut run, &mut out);
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut shown: String = collapsed.chars().take(160).collect();
    if collapsed.chars().count() > 160 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::local_problem;
    use ureq_proto::Error as P;

    /// Only what ureq refuses on this side is local; anything that could
    /// describe the server's answer or the network is not.
    #[test]
    fn local_problems_are_only_this_side_s() {
        let bad_header = ureq::http::Request::builder()
            .header("x", "\n")
            .body(())
            .unwrap_err();
        let check = |e: ureq::Error, local: bool| {
            assert_eq!(local_problem(&e).is_some(), local, "{e:?}");
        };
        check(ureq::Error::Protocol(P::OutputOverflow), true);
        check(ureq::Error::Protocol(P::BadHeader("x".into())), true);
        check(ureq::Error::Protocol(P::BodyLargerThanContentLength), true);
        check(ureq::Error::Http(bad_header), true);
        check(ureq::Error::BadUri("x".into()), true);
        check(ureq::Error::RequireHttpsOnly("http://x".into()), true);
        check(ureq::Error::TlsRequired, true);
        check(ureq::Error::Protocol(P::HttpParseFail("x".into())), false);
        check(ureq::Error::Protocol(P::BadContentLengthHeader), false);
        check(ureq::Error::Protocol(P::ChunkLenNotANumber), false);
        check(ureq::Error::Protocol(P::UnsupportedVersion), false);
        check(
            ureq::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            false,
        );
        check(ureq::Error::Timeout(ureq::Timeout::Global), false);
        check(ureq::Error::HostNotFound, false);
        check(ureq::Error::ConnectionFailed, false);
        check(ureq::Error::LargeResponseHeader(1, 1), false);
        assert_eq!(
            local_problem(&ureq::Error::Protocol(P::OutputOverflow)),
            Some("a request line or header is longer than the client's output buffer")
        );
    }
}
