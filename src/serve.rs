//! The credential endpoint of `--serve` (`docs/reference.md` §14.2): the
//! container-credentials protocol every AWS SDK reads
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), on 127.0.0.1 only, for the one
//! command aws-oidc runs. The SDKs refresh from it by themselves, and it
//! refreshes what it serves when they come within [`REFRESH_WINDOW`] of
//! their expiry.
//!
//! One small thread serves one connection at a time, each cut off after
//! [`CLIENT_TIME`]; the request is judged by a pure function ([`judge`]).
//! The only listener of the program; `request` is the only client.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cache::REFRESH_WINDOW;
use crate::error::Error;
use crate::json::quote;
use crate::log::Log;
use crate::response::Credentials;
use crate::secret::Secret;

/// The path credentials are served at.
const PATH: &str = "/credentials";

/// How long one client may take to send its whole request, and then to
/// read the answer: an SDK sends its few hundred bytes at once.
const CLIENT_TIME: Duration = Duration::from_secs(1);

/// The largest request head read: SDKs send a few hundred bytes.
const HEAD_LIMIT: usize = 8 << 10;

/// After a failed refresh, the next is tried no sooner than this, so that
/// an SDK asking again and again during an outage does not become a storm.
const RETRY_AFTER: i64 = 30;

/// After a refresh, the next is made no sooner than this: credentials of
/// 15 minutes (`--duration 15m`) are always inside the SDKs' window, and
/// every request would otherwise ask STS again.
const REFRESH_EVERY: i64 = 60;

/// The bound, not yet serving endpoint.
pub struct Endpoint {
    listener: TcpListener,
    port: u16,
    token: Secret,
}

impl Endpoint {
    /// Listens on 127.0.0.1, on a port the system picks, with a fresh
    /// random authorization token.
    pub fn bind() -> Result<Endpoint, Error> {
        let cannot = |what: &str, e: &dyn std::fmt::Display| {
            Error::Output(format!(
                "cannot {what} for --serve ({e}); run without --serve to give the command the keys instead"
            ))
        };
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .map_err(|e| cannot("listen on 127.0.0.1", &crate::error::io_reason(&e)))?;
        let port = listener
            .local_addr()
            .map_err(|e| cannot("listen on 127.0.0.1", &crate::error::io_reason(&e)))?
            .port();
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| cannot("make a random token", &"no randomness"))?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(Endpoint {
            listener,
            port,
            token: Secret::new(token),
        })
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.port)
    }

    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`: a secret.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// Serves `creds` until `stop` is set (and the listener woken by
    /// [`Endpoint::wake`]), refreshing them with `refresh` when a request
    /// comes within [`REFRESH_WINDOW`] of their expiry. A failed refresh
    /// keeps the old credentials until they expire, and says so.
    pub fn serve(
        &self,
        mut creds: Credentials,
        stop: &AtomicBool,
        refresh: &mut dyn FnMut(&mut Log) -> Result<Credentials, Error>,
        log: &mut Log,
    ) {
        let mut next_try = i64::MIN;
        for conn in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(CLIENT_TIME));
            let _ = conn.set_write_timeout(Some(CLIENT_TIME));
            let head = read_head(&mut conn);
            let verdict = judge(&head, self.port, &self.token);
            if let Err((status, why)) = verdict {
                log.debug(&format!(
                    "the credential endpoint refused a request ({status}): {why}"
                ));
                answer(
                    &mut conn,
                    status,
                    &format!("{{\"message\":{}}}", quote(why)),
                );
                continue;
            }
            let now = crate::time::now();
            log.forget_expired(now);
            if creds.expires_at - now <= REFRESH_WINDOW && now >= next_try {
                match refresh(log) {
                    Ok(fresh) => {
                        log.info(&format!(
                            "refreshed the command's credentials: {} until {}",
                            fresh.assumed_role_arn.as_deref().unwrap_or("assumed"),
                            fresh.expiration
                        ));
                        // The old ones stay hidden while an SDK may
                        // still use them, then are forgotten.
                        log.hide_until(
                            &[creds.secret_access_key.clone(), creds.session_token.clone()],
                            creds.expires_at,
                        );
                        creds = fresh;
                        next_try = now + REFRESH_EVERY;
                    }
                    Err(e) => {
                        next_try = now + RETRY_AFTER;
                        log.warn(&format!(
                            "cannot refresh the command's credentials ({e}); serving the old ones until they expire at {}, trying again in {RETRY_AFTER}s",
                            creds.expiration
                        ));
                    }
                }
            }
            match creds.expires_at > crate::time::now() {
                true => {
                    log.debug(&format!(
                        "served the command's credentials (they expire in {})",
                        crate::time::human(creds.expires_at - crate::time::now())
                    ));
                    answer(&mut conn, 200, &body(&creds));
                }
                false => answer(
                    &mut conn,
                    503,
                    "{\"message\":\"the credentials expired and could not be refreshed\"}",
                ),
            }
        }
    }

    /// Wakes a [`Endpoint::serve`] waiting for a connection, to see `stop`.
    pub fn wake(&self) {
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            CLIENT_TIME,
        );
    }
}

/// The request head as received, at most [`HEAD_LIMIT`] bytes, up to its
/// blank line (lossy: a request that is not text is refused anyway).
/// The whole of it must come within [`CLIENT_TIME`] of the connection,
/// however it is sent: a byte at a time does not stretch it.
fn read_head(conn: &mut TcpStream) -> String {
    let deadline = Instant::now() + CLIENT_TIME;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < HEAD_LIMIT && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Whether a request may have the credentials: a whole head, `GET` of
/// [`PATH`], `Host` this endpoint's own (a page that made a browser's name
/// resolve to 127.0.0.1 sends its own), and `Authorization` the token.
/// Else the status and why, which never quotes what was sent.
pub fn judge(head: &str, port: u16, token: &Secret) -> Result<(), (u16, &'static str)> {
    // The head ends at its blank line; nothing after it is read as one.
    let Some((head, _)) = head.split_once("\r\n\r\n") else {
        return Err((400, "the request head is incomplete, too large or not HTTP"));
    };
    let mut lines = head.split("\r\n");
    let request: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    let [method, target, version] = request[..] else {
        return Err((400, "not an HTTP request line"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err((400, "not an HTTP request line"));
    }
    let mut fields = Vec::new();
    for line in lines {
        // A folded line, or a name with space before its colon, is
        // something proxies read differently: refused (RFC 9112 §5).
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains([' ', '\t']) => fields.push((k, v.trim())),
            _ => return Err((400, "a header line is not NAME: VALUE")),
        }
    }
    let header = |name: &str| {
        fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    let host = format!("127.0.0.1:{port}");
    match header("Host")[..] {
        [h] if h == host => {}
        _ => return Err((403, "its Host is not this endpoint (127.0.0.1:PORT)")),
    }
    if method != "GET" {
        return Err((403, "only GET is answered"));
    }
    if target != PATH {
        return Err((403, "not the credentials' path"));
    }
    match header("Authorization")[..] {
        [t] if same(t.as_bytes(), token.expose().as_bytes()) => Ok(()),
        [] => Err((401, "no Authorization header")),
        _ => Err((401, "the Authorization header is not the token")),
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The container-credentials answer.
fn body(c: &Credentials) -> String {
    let mut b = format!(
        "{{\"AccessKeyId\":{},\"SecretAccessKey\":{},\"Token\":{},\"Expiration\":{}",
        quote(&c.access_key_id),
        quote(c.secret_access_key.expose()),
        quote(c.session_token.expose()),
        quote(&crate::time::format_utc(c.expires_at)),
    );
    if let Some(arn) = &c.assumed_role_arn {
        b.push_str(&format!(",\"RoleArn\":{}", quote(arn)));
    }
    b.push('}');
    b
}

fn answer(conn: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "Service Unavailable",
    };
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(text.as_bytes());
    let _ = conn.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_of_the_path_with_the_host_and_token_is_answered() {
        let token = Secret::new("t0ken");
        let req = |lines: &[&str]| format!("{}\r\n\r\n", lines.join("\r\n"));
        let ok = [
            "GET /credentials HTTP/1.1",
            "Host: 127.0.0.1:8080",
            "Authorization: t0ken",
        ];
        assert_eq!(judge(&req(&ok), 8080, &token), Ok(()));
        let lower = [
            "GET /credentials HTTP/1.1",
            "host: 127.0.0.1:8080",
            "authorization:t0ken",
        ];
        assert_eq!(judge(&req(&lower), 8080, &token), Ok(()));
        let cases: [(&[&str], u16); 9] = [
            (&["GET /credentials HTTP/1.1", "Host: 127.0.0.1:8080"], 401),
            (
                &[
                    "GET /credentials HTTP/1.1",
                    "Host: 127.0.0.1:8080",
                    "Authorization: t0ke",
                ],
                401,
            ),
            (
                &[
                    "GET /credentials HTTP/1.1",
                    "Host: 127.0.0.1:8080",
                    "Authorization: t0ken",
                    "Authorization: t0ken",
                ],
                401,
            ),
            (
                &[
                    "GET /credentials HTTP/1.1",
                    "Host: evil.example:8080",
                    "Authorization: t0ken",
                ],
                403,
            ),
            (
                &[
                    "GET /credentials HTTP/1.1",
                    "Host: 127.0.0.1:8081",
                    "Authorization: t0ken",
                ],
                403,
            ),
            (&["GET /credentials HTTP/1.1", "Authorization: t0ken"], 403),
            (
                &[
                    "GET /credentials HTTP/1.1",
                    "Host: 127.0.0.1:8080",
                    "Host: 127.0.0.1:8080",
                    "Authorization: t0ken",
                ],
                403,
            ),
            (
                &[
                    "POST /credentials HTTP/1.1",
                    "Host: 127.0.0.1:8080",
                    "Authorization: t0ken",
                ],
                403,
            ),
            (
                &[
                    "GET /other HTTP/1.1",
                    "Host: 127.0.0.1:8080",
                    "Authorization: t0ken",
                ],
                403,
            ),
        ];
        for (lines, status) in cases {
            assert_eq!(
                judge(&req(lines), 8080, &token).unwrap_err().0,
                status,
                "{lines:?}"
            );
        }
        assert_eq!(judge("GET / HTTP/1.1", 8080, &token).unwrap_err().0, 400);
        let bad: [&[&str]; 6] = [
            &[
                "GET /credentials",
                "Host: 127.0.0.1:8080",
                "Authorization: t0ken",
            ],
            &[
                "GET /credentials FOO/9 x",
                "Host: 127.0.0.1:8080",
                "Authorization: t0ken",
            ],
            &[
                "GET /credentials HTTP/2",
                "Host: 127.0.0.1:8080",
                "Authorization: t0ken",
            ],
            &[
                "GET /credentials HTTP/1.1",
                "X: y",
                " Host: 127.0.0.1:8080",
                "Authorization: t0ken",
            ],
            &[
                "GET /credentials HTTP/1.1",
                "Host : 127.0.0.1:8080",
                "Authorization: t0ken",
            ],
            &["\u{16}\u{3}\u{1}", "Host: 127.0.0.1:8080"],
        ];
        for lines in bad {
            assert_eq!(
                judge(&req(lines), 8080, &token).unwrap_err().0,
                400,
                "{lines:?}"
            );
        }
        // A Host in the body is no Host.
        let body =
            "GET /credentials HTTP/1.1\r\nAuthorization: t0ken\r\n\r\nHost: 127.0.0.1:8080\r\n\r\n";
        assert_eq!(judge(body, 8080, &token).unwrap_err().0, 403);
    }
}
