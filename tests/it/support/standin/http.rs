//! HTTP/1.1 as the stand-in and the test proxy speak it: one reader for a
//! request's head, the body and form of a request, and the answer.

use std::io::{BufRead, Write};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`.
    pub method: String,
    /// Request target, e.g. `/`.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, form-decoded.
    pub form: Vec<(String, String)>,
    /// The body as it arrived, before decoding (lossy UTF-8).
    pub body: String,
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

/// Reads a request line and headers up to the blank line, names
/// lower-cased. `None` when the peer closes early or sends a line that is
/// not a header. Bytes after the head stay in `reader`.
pub fn read_head(reader: &mut impl BufRead) -> Option<Recorded> {
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
    Some(Recorded {
        method,
        path,
        headers,
        form: Vec::new(),
        body: String::new(),
    })
}

/// Reads a whole request: its head, then a body of `Content-Length` bytes
/// (at most 1 MiB), form-decoded.
pub fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut req = read_head(reader)?;
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let body = String::from_utf8_lossy(&body).into_owned();
    req.form = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    req.body = body;
    Some(req)
}

/// Writes a whole answer: status line, `extra_headers` (each ending in
/// CRLF), content type and length, `Connection: close`, then the body.
pub fn respond(
    stream: &mut impl Write,
    status: u16,
    request_id: &str,
    extra_headers: &str,
    content_type: &str,
    body: &[u8],
) {
    let head = head(status, request_id, extra_headers, content_type, body.len());
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// The header block [`respond`] writes, status line to the blank line.
pub fn head(
    status: u16,
    request_id: &str,
    extra_headers: &str,
    content_type: &str,
    body_len: usize,
) -> String {
    format!(
        "HTTP/1.1 {status} {}\r\nx-amzn-RequestId: {request_id}\r\n{extra_headers}Content-Type: {content_type}\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n",
        reason(status),
    )
}

/// Header lines of exactly `bytes` bytes in all (at least 10), each under
/// 4 KB so the count of headers stays small.
pub fn padding(mut bytes: usize) -> String {
    assert!(bytes >= 10, "a padding header takes at least 10 bytes");
    let mut out = String::new();
    while bytes > 0 {
        // `x-pad: ` and CRLF are 9 bytes; never leave a rest under 10.
        let mut line = bytes.min(4000);
        if bytes - line > 0 && bytes - line < 10 {
            line -= 10;
        }
        out.push_str(&format!("x-pad: {}\r\n", "p".repeat(line - 9)));
        bytes -= line;
    }
    out
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

/// Where a raw form body breaks `application/x-www-form-urlencoded`: pairs
/// joined by `&`, one `=` in each, and nothing but letters, digits,
/// `!()*-._~`, `+` (a space) and `%` with two hex digits. Checked on the
/// bytes as they arrived, so a client that forgets to encode is refused
/// here instead of being decoded into the values the test expects.
pub fn form_encoding_error(body: &str) -> Option<String> {
    // Values are not quoted: they may be secrets.
    for (n, pair) in body.split('&').enumerate().map(|(n, p)| (n + 1, p)) {
        if pair.matches('=').count() != 1 {
            return Some(format!("pair {n} is not one name=value"));
        }
        let b = pair.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let ok = match b[i] {
                b'%' => {
                    let hex = b
                        .get(i + 1..i + 3)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                    i += 2;
                    hex
                }
                c => c.is_ascii_alphanumeric() || b"!()*-._~+=".contains(&c),
            };
            if !ok {
                return Some(format!(
                    "pair {n} holds a byte that must be percent-encoded"
                ));
            }
            i += 1;
        }
    }
    None
}
