//! A TLS stand-in for AWS STS on 127.0.0.1, for tests, `make demo`, `make fleet` and
//! `make bench`. It checks requests the way STS does (docs/reference.md §3),
//! answers with STS's XML shapes, records every request, and can be told to
//! misbehave.
//!
//! Its parts: `tls` (the test CA and certificate), `http` (reading a request,
//! writing an answer), `sts` (what STS checks and answers), `proxy` (a
//! CONNECT proxy for the proxy tests) and `scratch` (folders removed on
//! drop). It is test code: included by `tests/it/` and `examples/`, never
//! part of the shipped binary.

mod http;
mod proxy;
mod scratch;
// The independent SigV4 verifier, which the stand-in checks chained hops
// with; included here so that the examples that run the stand-in get it
// without the rest of the test support, and re-exported as
// `support::sigv4` for the tests.
#[path = "../sigv4.rs"]
pub mod sigv4;
mod sts;
mod tls;

use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use http::Recorded;
pub use proxy::Proxy;
pub use scratch::{temp_dir, TempDir};
pub use sts::{iso, success_xml, Issued, NS};

/// A host name the stand-in's certificate is valid for that does not
/// resolve: reachable only through the test proxy. Under `.invalid`, which
/// RFC 6761 reserves so that every resolver fails it, whatever the
/// machine's DNS says about other names.
pub const PROXY_ONLY_HOST: &str = "sts.stand-in.invalid";

/// What the stand-in answers with.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Behave like STS: validate the request, then issue credentials or
    /// answer with the ErrorResponse STS would send.
    Sts,
    /// Like `Sts`, with `Expiration` this many seconds from now instead of
    /// the requested duration (to test clock warnings).
    StsExpiringIn(i64),
    /// An `ErrorResponse` with this status, code and message.
    Error(u16, &'static str, String),
    /// Any status, content type and body.
    Raw(u16, &'static str, Vec<u8>),
    /// Read the request, then say nothing until the client gives up.
    Stall,
    /// Close the connection without answering.
    Close,
    /// Bytes that are not HTTP at all.
    Garbage,
    /// Like `Sts`, with this many bytes of extra response headers (in
    /// lines of about 4 KB, so the count of headers stays small).
    StsWithHeaders(usize),
    /// HTTP 503 `ServiceUnavailable` with this `Retry-After` value.
    RetryAfter(String),
    /// A redirect with this status to this `Location` (an HTML body, as
    /// a captive portal sends).
    Redirect(u16, String),
    /// Like `Sts`, but the assumed-role ARN in the answer (and in what
    /// `issued` records) is in this account, as a misrouted or hostile
    /// server would answer (the account guard, docs/reference.md §12).
    StsAsAccount(&'static str),
    /// Like `Sts`, with a header block (status line to the blank line) of
    /// exactly this many bytes.
    StsWithHeaderBlock(usize),
    /// Like `Sts`, with every `from` in the answer's body replaced by
    /// `to`, as a hostile or altering server in between would answer
    /// (what `issued` records is unchanged).
    StsEdited(&'static str, String),
    /// 403 AccessDenied whose message quotes the first 20 characters of
    /// the secret key and of the session token issued last, as a hostile
    /// server would: the run must hide what an earlier hop was given, in
    /// part as well as whole.
    EchoIssued,
    /// Like `Sts`, with a session token of exactly this many characters
    /// (in the answer and in what `issued` records, so a request signed
    /// with it is verified against it).
    StsWithTokenOf(usize),
    /// Runs the hook as the request arrives (a test's change to the world,
    /// such as a token file rotated), then answers as the reply does: what
    /// the client does next sees the change, with no waiting.
    Before(Hook, Box<Reply>),
}

/// A test's action, run by [`Reply::Before`].
#[derive(Clone)]
pub struct Hook(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// How the stand-in presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TLS with a certificate from the test CA in `ca.pem`.
    Tls,
    /// TLS with a self-signed certificate that nothing trusts.
    UntrustedTls,
    /// Plain HTTP (for the loopback `http://` rule).
    Plain,
    /// TLS 1.2 only, as older gateways in between speak.
    Tls12,
    /// TLS whose only cipher suites are ChaCha20-Poly1305, which aws-oidc
    /// does not offer.
    ChaChaOnly,
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    requests: Vec<Recorded>,
    issued: Vec<Issued>,
    fractional: bool,
    one_line: bool,
    max_session: u32,
    mode: Mode,
    bucket: Bucket,
    /// Roles `AssumeRole` refuses with AccessDenied.
    deny: Vec<String>,
    /// The ARN `GetCallerIdentity` answers instead of the signer's.
    caller: Option<String>,
    /// Every signature verified, in order.
    signatures: Vec<sigv4::Verified>,
}

/// How the stand-in answers once its script is used up: as STS does, or as
/// a fleet sees it on a bad day (`make fleet`, `tests/it/fleet.rs`).
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// Like STS.
    #[default]
    Sts,
    /// A token bucket: `rate` requests a second, `burst` at once; beyond
    /// that, HTTP 400 `Throttling`, as STS throttles. Rate 0 never stops.
    Throttle {
        /// Requests a second the bucket refills with.
        rate: f64,
        /// Requests the bucket holds at most.
        burst: f64,
    },
    /// HTTP 503 `ServiceUnavailable` until this instant, then like STS.
    OutageUntil(Instant),
    /// HTTP 403 `AccessDenied` to every request.
    Refuse,
}

/// The token bucket of [`Mode::Throttle`]: tokens and when they were
/// counted.
#[derive(Default)]
struct Bucket {
    tokens: f64,
    at: Option<Instant>,
}

impl Mode {
    /// The answer this mode gives instead of STS's, if any.
    fn answer(&self, bucket: &mut Bucket) -> Option<Reply> {
        match self {
            Mode::Sts => None,
            Mode::Throttle { rate, burst } => {
                let now = Instant::now();
                let since = bucket
                    .at
                    .map_or(*burst, |at| (now - at).as_secs_f64() * rate);
                bucket.tokens = (bucket.tokens + since).min(*burst);
                bucket.at = Some(now);
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    None
                } else {
                    Some(Reply::Error(400, "Throttling", "Rate exceeded".into()))
                }
            }
            Mode::OutageUntil(until) if Instant::now() < *until => Some(Reply::Error(
                503,
                "ServiceUnavailable",
                "Service unavailable".into(),
            )),
            Mode::OutageUntil(_) => None,
            Mode::Refuse => Some(Reply::Error(
                403,
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
            )),
        }
    }
}

/// A running stand-in. It serves until the process ends; its folder (the
/// CA) is removed when it is dropped.
pub struct StandIn {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// A folder holding `ca.pem`, the test CA that signed the certificate.
    pub dir: TempDir,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    /// Starts a TLS stand-in that behaves like STS.
    pub fn start() -> StandIn {
        StandIn::with(Transport::Tls)
    }

    /// Starts a stand-in with the given transport.
    pub fn with(transport: Transport) -> StandIn {
        StandIn::bound(transport, "127.0.0.1:0").expect("bind 127.0.0.1")
    }

    /// Starts a stand-in listening on `addr` (a loopback address and port),
    /// or says why it cannot listen there.
    pub fn bound(transport: Transport, addr: &str) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr)?;
        let dir = temp_dir("sts");
        let (ca_pem, chain, key) = tls::make_certs(transport != Transport::UntrustedTls);
        std::fs::write(dir.join("ca.pem"), &ca_pem).expect("write ca.pem");
        let tls = match transport {
            Transport::Plain => None,
            t => Some(tls::server_config(
                chain,
                key,
                t == Transport::Tls12,
                t == Transport::ChaChaOnly,
            )),
        };
        let port = listener.local_addr().expect("bound").port();
        let state = Arc::new(Mutex::new(State {
            max_session: 43200,
            ..State::default()
        }));
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                let tls = tls.clone();
                thread::spawn(move || serve(conn, tls, state));
            }
        });
        Ok(StandIn { port, dir, state })
    }

    /// `https://127.0.0.1:PORT` (or `http://` for a plain stand-in).
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Path of the test CA's PEM.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Answers the next requests with these replies, then behaves like STS.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Sends `Expiration` with fractional seconds.
    pub fn fractional_seconds(&self, on: bool) {
        self.state.lock().unwrap().fractional = on;
    }

    /// Sends the XML on one line, as some STS-compatible servers do.
    pub fn one_line(&self, on: bool) {
        self.state.lock().unwrap().one_line = on;
    }

    /// The role's maximum session duration (STS rejects longer requests).
    pub fn max_session(&self, secs: u32) {
        self.state.lock().unwrap().max_session = secs;
    }

    /// How to answer once the script is used up.
    pub fn mode(&self, mode: Mode) {
        let mut st = self.state.lock().unwrap();
        st.mode = mode;
        st.bucket = Bucket::default();
    }

    /// How many requests so far, and how many got credentials.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.state.lock().unwrap();
        (st.requests.len(), st.issued.len())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Every credential issued so far.
    pub fn issued(&self) -> Vec<Issued> {
        self.state.lock().unwrap().issued.clone()
    }

    /// `AssumeRole` or `AssumeRoleWithWebIdentity` on this role answers 403
    /// AccessDenied, as STS does when the caller's policy or the role's
    /// trust policy does not allow it.
    pub fn deny_role(&self, arn: &str) {
        self.state.lock().unwrap().deny.push(arn.to_string());
    }

    /// `GetCallerIdentity` answers this ARN, whoever signed.
    pub fn caller_arn(&self, arn: &str) {
        self.state.lock().unwrap().caller = Some(arn.to_string());
    }

    /// Every signature the stand-in verified: key, scope and headers.
    pub fn signatures(&self) -> Vec<sigv4::Verified> {
        self.state.lock().unwrap().signatures.clone()
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn serve(conn: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, state: Arc<Mutex<State>>) {
    // Bounded so a test that goes wrong cannot leave a thread forever.
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let raw = conn.try_clone().ok();
    let mut stream: Box<dyn Stream> = match tls {
        Some(config) => match rustls::ServerConnection::new(config) {
            Ok(c) => Box::new(rustls::StreamOwned::new(c, conn)),
            Err(_) => return,
        },
        None => Box::new(conn),
    };
    let Some(req) = http::read_request(&mut BufReader::new(&mut stream)) else {
        return;
    };
    let mut reply = {
        let mut st = state.lock().unwrap();
        st.requests.push(req.clone());
        match st.script.pop_front() {
            Some(reply) => reply,
            None => {
                let State { mode, bucket, .. } = &mut *st;
                mode.answer(bucket).unwrap_or(Reply::Sts)
            }
        }
    };
    while let Reply::Before(Hook(hook), then) = reply {
        hook();
        reply = *then;
    }
    let mut extra_headers = String::new();
    let mut block = None;
    let (status, content_type, body) = match reply {
        Reply::Sts => sts::answer(&req, &state, None),
        Reply::StsWithHeaders(bytes) => {
            while extra_headers.len() < bytes {
                let n = extra_headers.len();
                let pad = "p".repeat((bytes - n).clamp(1, 4000));
                extra_headers.push_str(&format!("x-padding-{n}: {pad}\r\n"));
            }
            sts::answer(&req, &state, None)
        }
        Reply::StsExpiringIn(secs) => sts::answer(&req, &state, Some(secs)),
        Reply::Error(status, code, message) => (
            status,
            "text/xml",
            sts::error_xml(status, code, &message).into_bytes(),
        ),
        Reply::Raw(status, ct, body) => (status, ct, body),
        Reply::Stall => {
            // Wait for the client to give up and close; no answer.
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            return;
        }
        Reply::Close => {
            if let Some(raw) = raw {
                let _ = raw.shutdown(Shutdown::Both);
            }
            return;
        }
        Reply::Garbage => {
            let _ = stream.write_all(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n");
            let _ = stream.flush();
            return;
        }
        Reply::RetryAfter(value) => {
            extra_headers = format!("Retry-After: {value}\r\n");
            let xml = sts::error_xml(503, "ServiceUnavailable", "Service unavailable");
            (503, "text/xml", xml.into_bytes())
        }
        Reply::Redirect(status, location) => {
            extra_headers = format!("Location: {location}\r\n");
            (status, "text/html", b"<html>moved</html>".to_vec())
        }
        Reply::StsAsAccount(account) => {
            let (status, ct, body) = sts::answer(&req, &state, None);
            let moved = |text: &str| match text.find(":sts::") {
                Some(at) if text.len() >= at + 18 => {
                    format!("{}{account}{}", &text[..at + 6], &text[at + 18..])
                }
                _ => text.to_string(),
            };
            // Only this answer's record: a refused request issued nothing.
            if status == 200 {
                if let Some(last) = state.lock().unwrap().issued.last_mut() {
                    last.assumed_role_arn = moved(&last.assumed_role_arn);
                }
            }
            (
                status,
                ct,
                moved(&String::from_utf8_lossy(&body)).into_bytes(),
            )
        }
        Reply::StsWithHeaderBlock(bytes) => {
            block = Some(bytes);
            sts::answer(&req, &state, None)
        }
        Reply::StsEdited(from, to) => {
            let (status, ct, body) = sts::answer(&req, &state, None);
            let body = String::from_utf8_lossy(&body).replace(from, &to);
            (status, ct, body.into_bytes())
        }
        Reply::StsWithTokenOf(len) => {
            let (status, ct, body) = sts::answer(&req, &state, None);
            let mut body = String::from_utf8_lossy(&body).into_owned();
            if status == 200 {
                if let Some(last) = state.lock().unwrap().issued.last_mut() {
                    let long: String = last.session_token.chars().cycle().take(len).collect();
                    body = body.replace(&last.session_token, &long);
                    last.session_token = long;
                }
            }
            (status, ct, body.into_bytes())
        }
        Reply::Before(..) => unreachable!("unwrapped above"),
        Reply::EchoIssued => {
            let last = state.lock().unwrap().issued.last().cloned();
            let quoted = last.map_or(String::new(), |c| {
                format!(
                    "key {} token {}",
                    &c.secret_access_key[..20],
                    &c.session_token[..20]
                )
            });
            let msg = format!("denied for {quoted}");
            (
                403,
                "text/xml",
                sts::error_xml(403, "AccessDenied", &msg).into_bytes(),
            )
        }
    };
    let id = sts::request_id();
    if let Some(bytes) = block {
        let bare = http::head(status, &id, "", content_type, body.len()).len();
        extra_headers = http::padding(bytes - bare);
    }
    http::respond(
        &mut stream,
        status,
        &id,
        &extra_headers,
        content_type,
        &body,
    );
}
