//! The SigV4 signer's canonicalisation (`sigv4::sign`) and the signing
//! region (`sigv4::signing_region`).
//!
//! Input: eight bytes of time, then NUL-separated fields (lossy UTF-8):
//! host, path, headers (`name:value` lines), body, secret key, session
//! token (empty: none), region, service.
//!
//! Asserted: nothing panics; the same input signs the same; a change to
//! any signed input (a body byte, a header value, the host, the secret, the
//! token, the time, the region, the service) changes the signature; the
//! secret and token never appear in the `Debug` form of what is signed.
#![no_main]

use aws_oidc::secret::Secret;
use aws_oidc::request::sigv4::{self, Credentials, Request, Scope};
use libfuzzer_sys::fuzz_target;

#[derive(Clone)]
struct Input {
    time: i64,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    secret: String,
    token: String,
    region: String,
    service: String,
}

fn sign(i: &Input) -> sigv4::Signed {
    let headers: Vec<(&str, &str)> = i
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let secret = Secret::new(i.secret.as_str());
    let token = Secret::new(i.token.as_str());
    sigv4::sign(
        &Request {
            method: "POST",
            host: &i.host,
            path: &i.path,
            headers: &headers,
            body: &i.body,
        },
        &Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: &secret,
            session_token: (!i.token.is_empty()).then_some(&token),
        },
        &Scope {
            region: &i.region,
            service: &i.service,
            time: i.time,
        },
    )
}

/// The value with its first non-blank character replaced by another
/// non-blank one, so that its canonical form changes too.
fn changed(value: &str) -> Option<String> {
    let (at, c) = value
        .char_indices()
        .find(|(_, c)| *c != ' ' && *c != '\t')?;
    let other = if c == 'a' { 'b' } else { 'a' };
    Some(format!(
        "{}{other}{}",
        &value[..at],
        &value[at + c.len_utf8()..]
    ))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    // Years 0 to 9999, the range X-Amz-Date can write.
    let raw = i64::from_le_bytes(data[..8].try_into().unwrap());
    let time = raw.rem_euclid(253_402_300_800) - 62_167_219_200;
    let fields: Vec<String> = data[8..]
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let field = |n: usize| fields.get(n).cloned().unwrap_or_default();
    let headers = field(2)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let input = Input {
        time,
        host: field(0),
        path: field(1),
        headers,
        body: fields
            .get(3)
            .map(|f| f.as_bytes().to_vec())
            .unwrap_or_default(),
        secret: field(4),
        token: field(5),
        region: field(6),
        service: field(7),
    };
    let _ = sigv4::signing_region(None, &input.host);
    let _ = sigv4::signing_region(Some(&input.region), &input.host);

    let signed = sign(&input);
    assert_eq!(
        sign(&input).authorization,
        signed.authorization,
        "not deterministic"
    );
    let shown = format!("{signed:?}");
    // A secret shows if the text is there only because of it: signing the
    // same request with other keys must not show it too (the secret may
    // be `aws4_request`, or the region's text).
    let mut other = input.clone();
    other.secret = "S".into();
    if !other.token.is_empty() {
        other.token = "T".into();
    }
    let shown_other = format!("{:?}", sign(&other));
    for s in [&input.secret, &input.token] {
        if s.len() >= 8 && shown.contains(s.as_str()) {
            assert!(shown_other.contains(s.as_str()), "a secret shows: {shown}");
        }
    }

    let mut variants: Vec<(&str, Input)> = Vec::new();
    let mut v = input.clone();
    v.body.push(b'&');
    variants.push(("body", v));
    let mut v = input.clone();
    v.time += 1;
    variants.push(("time", v));
    let mut v = input.clone();
    v.secret.push('x');
    variants.push(("secret", v));
    let mut v = input.clone();
    v.token.push('x');
    variants.push(("token", v));
    let mut v = input.clone();
    v.region.push('x');
    variants.push(("region", v));
    let mut v = input.clone();
    v.service.push('x');
    variants.push(("service", v));
    if let Some(host) = changed(&input.host) {
        let mut v = input.clone();
        v.host = host;
        variants.push(("host", v));
    }
    for i in 0..input.headers.len() {
        if let Some(value) = changed(&input.headers[i].1) {
            let mut v = input.clone();
            v.headers[i].1 = value;
            variants.push(("header", v));
        }
    }
    for (what, v) in variants {
        assert_ne!(
            sign(&v).authorization,
            signed.authorization,
            "{what} changed, the signature did not"
        );
    }
});
