//! A TLS stand-in for AWS STS on 127.0.0.1, for tests, `make demo`, `make fleet` and
//! `make bench`. It checks requests the way STS does (SPEC §3), answers with
//! STS's XML shapes, records every request, and can be told to misbehave.
//!
//! It is test code: included by `tests/` and `examples/`, never part of the
//! shipped binary.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The STS namespace.
pub const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A host name the stand-in's certificate is valid for that does not
/// resolve: reachable only through the test proxy.
pub const PROXY_ONLY_HOST: &str = "sts.stand-in.test";

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
}

/// One request as received.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// `POST`.
    pub method: String,
    /// Request target, e.g. `/`.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: String,
    /// The body, form-decoded.
    pub form: Vec<(String, String)>,
}

impl Recorded {
    /// A form field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Credentials the stand-in issued, so tests can look for leaks.
#[derive(Clone, Debug)]
pub struct Issued {
    /// AccessKeyId.
    pub access_key_id: String,
    /// SecretAccessKey.
    pub secret_access_key: String,
    /// SessionToken.
    pub session_token: String,
    /// Expiration as sent.
    pub expiration: String,
    /// AssumedRoleUser/Arn.
    pub assumed_role_arn: String,
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
}

/// How the stand-in answers once its script is used up: as STS does, or as
/// a fleet sees it on a bad day (`make fleet`, `tests/fleet.rs`).
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// Like STS.
    #[default]
    Sts,
    /// A token bucket: `rate` requests a second, `burst` at once; beyond
    /// that, HTTP 400 `Throttling`, as STS throttles. Rate 0 never stops.
    Throttle { rate: f64, burst: f64 },
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

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A scratch folder that is removed, with everything in it, when the guard
/// is dropped: at the end of the test, pass or fail (a failing assertion
/// unwinds through it). Derefs to its path.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new folder `aws-oidc-TAG-PID-N` in the system's temp folder. Created
/// with `create_dir`, not `create_dir_all`, so it is always a fresh one:
/// a folder left by a killed run under a recycled pid is skipped.
fn scratch_dir(tag: &str) -> TempDir {
    loop {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("aws-oidc-{tag}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return TempDir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
}

/// A CA and a server certificate for 127.0.0.1, localhost and
/// [`PROXY_ONLY_HOST`]. Returns the CA PEM, the server chain and key.
fn make_certs(trusted: bool) -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("no names, no error");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "aws-oidc test CA");
    let ca_key = KeyPair::generate().expect("ring makes keys");
    let ca_cert = ca.self_signed(&ca_key).expect("self-signing works");
    let issuer = Issuer::new(ca, ca_key);
    let names = vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        PROXY_ONLY_HOST.to_string(),
    ];
    let mut leaf = CertificateParams::new(names).expect("valid names");
    leaf.distinguished_name
        .push(DnType::CommonName, "sts stand-in");
    let leaf_key = KeyPair::generate().expect("ring makes keys");
    let leaf_cert = if trusted {
        leaf.signed_by(&leaf_key, &issuer).expect("signing works")
    } else {
        // Self-signed, so the CA in ca.pem does not vouch for it.
        leaf.self_signed(&leaf_key).expect("self-signing works")
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca_cert.pem(), vec![leaf_cert.der().clone()], key)
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
        let dir = scratch_dir("sts");
        let (ca_pem, chain, key) = make_certs(transport != Transport::UntrustedTls);
        std::fs::write(dir.join("ca.pem"), &ca_pem).expect("write ca.pem");
        let tls = match transport {
            Transport::Plain => None,
            _ => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default versions")
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .expect("the generated key matches the certificate");
                Some(Arc::new(config))
            }
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
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    let reply = {
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
    let mut extra_headers = String::new();
    let (status, content_type, body) = match reply {
        Reply::Sts => sts(&req, &state, None),
        Reply::StsWithHeaders(bytes) => {
            while extra_headers.len() < bytes {
                let n = extra_headers.len();
                let pad = "p".repeat((bytes - n).clamp(1, 4000));
                extra_headers.push_str(&format!("x-padding-{n}: {pad}\r\n"));
            }
            sts(&req, &state, None)
        }
        Reply::StsExpiringIn(secs) => sts(&req, &state, Some(secs)),
        Reply::Error(status, code, message) => (
            status,
            "text/xml",
            error_xml(status, code, &message).into_bytes(),
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
            let xml = error_xml(503, "ServiceUnavailable", "Service unavailable");
            (503, "text/xml", xml.into_bytes())
        }
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nx-amzn-RequestId: {}\r\n{extra_headers}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        request_id(),
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn read_request(stream: &mut Box<dyn Stream>) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let form = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    Some(Recorded {
        method,
        path,
        headers,
        body,
        form,
    })
}

/// `application/x-www-form-urlencoded` decoding.
pub fn form_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::SeqCst));
    h.finish()
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut r = random_u64();
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            out.push(alphabet[(r % alphabet.len() as u64) as usize] as char);
            r /= alphabet.len() as u64;
        }
    }
    out
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn request_id() -> String {
    let h = random_string(32, b"0123456789abcdef");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// An `ErrorResponse` as STS sends it.
pub fn error_xml(status: u16, code: &str, message: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(message),
        request_id()
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn missing(parameter: &str) -> (u16, &'static str, Vec<u8>) {
    let message = format!("The request must contain the parameter {parameter}");
    (
        400,
        "text/xml",
        error_xml(400, "MissingParameter", &message).into_bytes(),
    )
}

fn validation(msg: String) -> (u16, &'static str, Vec<u8>) {
    (
        400,
        "text/xml",
        error_xml(400, "ValidationError", &msg).into_bytes(),
    )
}

/// The payload of a JWT, decoded, for `SubjectFromWebIdentityToken` and
/// friends. Only claims a success echoes are looked at.
fn jwt_claim(token: &str, claim: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let key = format!("\"{claim}\":\"");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

/// What STS does with a request: check it, then issue credentials.
fn sts(
    req: &Recorded,
    state: &Arc<Mutex<State>>,
    expiring_in: Option<i64>,
) -> (u16, &'static str, Vec<u8>) {
    if req.method != "POST" {
        return (
            405,
            "text/xml",
            error_xml(405, "InvalidAction", "Only POST is supported here").into_bytes(),
        );
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return validation("Content-Type must be application/x-www-form-urlencoded".into());
    }
    if req.field("Action") != Some("AssumeRoleWithWebIdentity") {
        return (
            400,
            "text/xml",
            error_xml(400, "InvalidAction", "Could not find operation").into_bytes(),
        );
    }
    if req.field("Version") != Some("2011-06-15") {
        return validation("Version must be 2011-06-15".into());
    }
    let Some(role) = req.field("RoleArn") else {
        return missing("RoleArn");
    };
    let Some(session) = req.field("RoleSessionName") else {
        return missing("RoleSessionName");
    };
    let Some(token) = req.field("WebIdentityToken") else {
        return missing("WebIdentityToken");
    };
    let session_ok = (2..=64).contains(&session.len())
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !session_ok {
        return validation(format!(
            "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        ));
    }
    if !(4..=20000).contains(&token.len()) {
        return validation("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000".into());
    }
    let parts: Vec<&str> = role.split(':').collect();
    if parts.len() < 6
        || parts[0] != "arn"
        || parts[2] != "iam"
        || parts[4].len() != 12
        || !parts[5].starts_with("role/")
    {
        return validation(format!("Request ARN is invalid: {role}"));
    }
    let max = state.lock().unwrap().max_session;
    let duration = match req.field("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (900..=43200).contains(&n) && n <= max => n,
            Ok(n) if (900..=43200).contains(&n) => {
                return validation(format!(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role. ({n} > {max})"
                ))
            }
            _ => return validation(format!("1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")),
        },
    };
    if req.field("Policy").is_some_and(|p| p.len() > 2048) {
        return validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048".into());
    }
    if req
        .form
        .iter()
        .filter(|(k, _)| k.starts_with("PolicyArns.member."))
        .count()
        > 10
    {
        return validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10".into());
    }
    let (fractional, one_line) = {
        let st = state.lock().unwrap();
        (st.fractional, st.one_line)
    };
    let expires = now() + expiring_in.unwrap_or(i64::from(duration));
    let mut expiration = iso(expires);
    if fractional {
        expiration = expiration.replace('Z', ".123456Z");
    }
    let role_name = parts[5].rsplit('/').next().unwrap_or("role");
    let issued = Issued {
        access_key_id: format!("ASIA{}", random_string(16, UPPER)),
        secret_access_key: random_string(40, B64),
        session_token: format!("IQoJb3JpZ2luX2Vj{}", random_string(356, B64)),
        expiration: expiration.clone(),
        assumed_role_arn: format!(
            "arn:{}:sts::{}:assumed-role/{role_name}/{session}",
            parts[1], parts[4]
        ),
    };
    let subject = jwt_claim(token, "sub").unwrap_or_else(|| "opaque-token-subject".into());
    let audience = jwt_claim(token, "aud").unwrap_or_else(|| "sts.amazonaws.com".into());
    let provider = jwt_claim(token, "iss").unwrap_or_else(|| "https://oidc.example".into());
    let xml = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NS}\">
  <AssumeRoleWithWebIdentityResult>
    <Audience>{}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>AROA{}:{session}</AssumedRoleId>
      <Arn>{}</Arn>
    </AssumedRoleUser>
    <Provider>{}</Provider>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>{}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
",
        xml_escape(&audience),
        random_string(17, UPPER),
        issued.assumed_role_arn,
        xml_escape(provider.trim_start_matches("https://")),
        issued.access_key_id,
        issued.secret_access_key,
        issued.session_token,
        issued.expiration,
        xml_escape(&subject),
        request_id()
    );
    let xml = if one_line {
        xml.lines().map(str::trim).collect::<String>()
    } else {
        xml
    };
    state.lock().unwrap().issued.push(issued);
    (200, "text/xml", xml.into_bytes())
}

/// An HTTP CONNECT proxy on 127.0.0.1 that tunnels every CONNECT to one
/// port, whatever host was asked for, and records the CONNECT requests.
pub struct Proxy {
    /// The port on 127.0.0.1.
    pub port: u16,
    connects: Arc<Mutex<Vec<Recorded>>>,
}

impl Proxy {
    /// Starts a proxy that tunnels to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("bound").port();
        let connects = Arc::new(Mutex::new(Vec::new()));
        let shared = connects.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                thread::spawn(move || tunnel(conn, target, shared));
            }
        });
        Proxy { port, connects }
    }

    /// The CONNECT requests so far.
    pub fn connects(&self) -> Vec<Recorded> {
        self.connects.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, target: u16, connects: Arc<Mutex<Vec<Recorded>>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(reader_side) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_side);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut rec = Recorded::default();
    let mut parts = line.split_whitespace();
    rec.method = parts.next().unwrap_or_default().to_string();
    rec.path = parts.next().unwrap_or_default().to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            rec.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    connects.lock().unwrap().push(rec);
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let mut client_w = client;
    if client_w
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (Ok(mut up_r), Ok(mut up_w)) = (upstream.try_clone(), upstream.try_clone()) else {
        return;
    };
    let Ok(mut client_w2) = client_w.try_clone() else {
        return;
    };
    // Bytes the reader already buffered belong to the tunnel.
    let buffered = reader.buffer().to_vec();
    let _ = up_w.write_all(&buffered);
    thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w2);
        let _ = client_w2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(reader.get_mut(), &mut up_w);
    let _ = up_w.shutdown(Shutdown::Write);
}

/// For the processes that own a stand-in (the demo, the stand-in example):
/// Ctrl-C (SIGINT) closes standard input instead of killing the process, so
/// a read of stdin ends and the process returns normally, dropping its
/// `StandIn` and `TempDir`s, which removes their folders. A child it runs
/// still gets the terminal's SIGINT (an exec resets caught signals).
pub fn end_on_interrupt() {
    extern "C" fn close_stdin(_: i32) {
        extern "C" {
            fn close(fd: i32) -> i32;
        }
        // SAFETY: close is async-signal-safe; fd 0 is ours to close.
        unsafe {
            close(0);
        }
    }
    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }
    const SIGINT: i32 = 2;
    // SAFETY: libc's `signal` (std links libc); the handler does only a
    // close(2), which is async-signal-safe.
    unsafe {
        signal(SIGINT, close_stdin);
    }
}

/// A fresh scratch folder for a test's files, removed when the guard drops.
pub fn temp_dir(tag: &str) -> TempDir {
    scratch_dir(tag)
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A success answer carrying exactly these values (XML-escaped), as a
/// hostile or altered answer would send them.
pub fn success_xml(
    key_id: &str,
    secret: &str,
    token: &str,
    expiration: &str,
    arn: &str,
) -> Vec<u8> {
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NS}\"><AssumeRoleWithWebIdentityResult>\
         <AssumedRoleUser><Arn>{}</Arn></AssumedRoleUser><Credentials>\
         <AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration>\
         </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        xml_escape(arn),
        xml_escape(key_id),
        xml_escape(secret),
        xml_escape(token),
        xml_escape(expiration)
    )
    .into_bytes()
}
