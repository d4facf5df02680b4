//! An independent SigV4 verifier, for the stand-in to check a signed
//! request as STS would, and for tests to check `aws_oidc::request::sigv4` against.
//!
//! Written apart from `src/sigv4.rs` and shaped the other way round: it
//! starts from the request as received, reads the `Authorization` header,
//! rebuilds what the client must have signed from the headers the header
//! names, and compares. It shares no code with the signer, so a mistake in
//! one is not repeated in the other; both are held to AWS's published
//! vectors in `tests/it/sigv4.rs`.

use ring::{digest, hmac};

/// Why a request is refused, with the code STS would answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `MissingAuthenticationToken`, `IncompleteSignature`,
    /// `InvalidClientTokenId` or `SignatureDoesNotMatch`.
    pub code: &'static str,
    /// What was wrong, for the test's message.
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// What a valid signature says about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed it.
    pub access_key_id: String,
    /// The scope's date.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service.
    pub service: String,
    /// The `X-Amz-Date` header.
    pub amz_date: String,
    /// The headers signed, as the `Authorization` header lists them.
    pub signed_headers: Vec<String>,
    /// The `X-Amz-Security-Token` header, signed or not (AWS accepts a
    /// token added after signing): the caller checks it belongs to the key.
    pub session_token: Option<String>,
}

/// A request as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Raw {
    /// `POST`.
    pub method: String,
    /// The request target as sent.
    pub path: String,
    /// Names as sent (any case), in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl Raw {
    /// Reads a request in the test suite's text form: a request line,
    /// `Name:value` lines, then an empty line and the body. Lines end in
    /// `\n` or `\r\n`.
    pub fn parse(text: &str) -> Raw {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default();
        let mut words = request_line.split(' ');
        let method = words.next().unwrap_or_default().to_string();
        let path = words.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Raw {
            method,
            path,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    /// Every value of a header, by name in any case, in the order sent,
    /// without the optional white space around it (RFC 9110 §5.5).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim_matches([' ', '\t']))
            .collect()
    }
}

/// Checks a request's SigV4 signature as STS would. `secret_for` gives the
/// secret key of an access key id the server issued (or knows), if any.
pub fn verify(raw: &Raw, secret_for: impl Fn(&str) -> Option<String>) -> Result<Verified, Refusal> {
    let authz = match raw.values("authorization")[..] {
        [] => {
            return Err(refuse(
                "MissingAuthenticationToken",
                "no Authorization header",
            ))
        }
        [one] => one.trim(),
        _ => return Err(refuse("IncompleteSignature", "two Authorization headers")),
    };
    let rest = authz
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| refuse("IncompleteSignature", format!("not SigV4: {authz}")))?;
    // `Credential=…, SignedHeaders=…, Signature=…`, in any order.
    let mut credential = None;
    let mut signed = None;
    let mut claimed = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => claimed = Some(v),
            _ => return Err(refuse("IncompleteSignature", format!("bad part {part:?}"))),
        }
    }
    let (Some(credential), Some(signed), Some(claimed)) = (credential, signed, claimed) else {
        return Err(refuse("IncompleteSignature", "a part is missing"));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(refuse(
            "IncompleteSignature",
            format!("bad credential {credential}"),
        ));
    };
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    let mut sorted = signed_headers.clone();
    sorted.sort();
    sorted.dedup();
    if sorted != signed_headers {
        return Err(refuse(
            "SignatureDoesNotMatch",
            "SignedHeaders not sorted and unique",
        ));
    }
    for must in ["host", "x-amz-date"] {
        if !signed_headers.iter().any(|h| h == must) {
            return Err(refuse(
                "SignatureDoesNotMatch",
                format!("{must} is not signed"),
            ));
        }
    }
    let amz_date = match raw.values("x-amz-date")[..] {
        [one] => one.trim().to_string(),
        _ => return Err(refuse("IncompleteSignature", "one X-Amz-Date is needed")),
    };
    if amz_date.len() != 16 || !amz_date.starts_with(date) {
        return Err(refuse(
            "SignatureDoesNotMatch",
            format!("X-Amz-Date {amz_date} is not of the scope's day {date}"),
        ));
    }
    let secret = secret_for(key_id).ok_or_else(|| {
        refuse(
            "InvalidClientTokenId",
            format!("unknown access key {key_id}"),
        )
    })?;

    // What the client must have signed, rebuilt from the request.
    let mut creq = Vec::new();
    creq.extend_from_slice(raw.method.as_bytes());
    creq.push(b'\n');
    creq.extend_from_slice(path_as_signed(&raw.path).as_bytes());
    creq.extend_from_slice(b"\n\n");
    for name in &signed_headers {
        let values = raw.values(name);
        if values.is_empty() {
            return Err(refuse(
                "SignatureDoesNotMatch",
                format!("signed header {name} not sent"),
            ));
        }
        let joined: Vec<String> = values.iter().map(|v| squeeze(v)).collect();
        creq.extend_from_slice(format!("{name}:{}\n", joined.join(",")).as_bytes());
    }
    creq.push(b'\n');
    creq.extend_from_slice(signed.as_bytes());
    creq.push(b'\n');
    creq.extend_from_slice(to_hex(digest::digest(&digest::SHA256, &raw.body).as_ref()).as_bytes());

    let mut sts = Vec::new();
    for line in [
        "AWS4-HMAC-SHA256",
        &amz_date,
        &format!("{date}/{region}/{service}/aws4_request"),
    ] {
        sts.extend_from_slice(line.as_bytes());
        sts.push(b'\n');
    }
    sts.extend_from_slice(to_hex(digest::digest(&digest::SHA256, &creq).as_ref()).as_bytes());

    let mut key = hmac::Key::new(hmac::HMAC_SHA256, format!("AWS4{secret}").as_bytes());
    for step in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(&key, step.as_bytes());
        key = hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref());
    }
    let Some(claimed_bytes) = from_hex(claimed) else {
        return Err(refuse(
            "IncompleteSignature",
            format!("signature {claimed:?} is not hex"),
        ));
    };
    // ring compares in constant time, as a server must.
    if hmac::verify(&key, &sts, &claimed_bytes).is_err() {
        return Err(refuse(
            "SignatureDoesNotMatch",
            format!(
                "the signature does not match; canonical request:\n{}",
                String::from_utf8_lossy(&creq)
            ),
        ));
    }
    let session_token = match raw.values("x-amz-security-token")[..] {
        [] => None,
        [one] => Some(one.trim().to_string()),
        _ => {
            return Err(refuse(
                "IncompleteSignature",
                "two X-Amz-Security-Token headers",
            ))
        }
    };
    Ok(Verified {
        access_key_id: key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        amz_date,
        signed_headers,
        session_token,
    })
}

/// A header value trimmed, with inner runs of spaces and tabs one space.
fn squeeze(v: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in v.trim_matches([' ', '\t']).chars() {
        if c == ' ' || c == '\t' {
            gap = true;
            continue;
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
    }
    out
}

/// The request path as non-S3 services sign it: dot and empty segments
/// resolved, a trailing slash kept, then every byte but the unreserved
/// ones as `%XX` (so `%` itself becomes `%25`).
fn path_as_signed(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let mut kept: Vec<&str> = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
        if seg == ".." {
            kept.pop();
        } else {
            kept.push(seg);
        }
    }
    let mut out = String::new();
    for seg in &kept {
        out.push('/');
        for &b in seg.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    if out.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}
