//! The token-claims decoder: `claims::decode`, the small JSON parser under
//! it (`json::parse`), `json::quote`, and the time helpers the claims summary uses.
//! Input: any text, tried as a token, as a JWT payload, as JSON and as a
//! timestamp.
#![no_main]

use aws_oidc::claims;
use aws_oidc::json::{self, Json};
use aws_oidc::time;
use libfuzzer_sys::fuzz_target;

/// Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the span
/// a four-digit year can write.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;

/// JSON text for a value, to feed back into the parser.
fn write(v: &Json, out: &mut String) -> bool {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(Some(n)) => out.push_str(&n.to_string()),
        // A number kept as no whole value (an exponent, out of range).
        Json::Number(None) => out.push_str("1e0"),
        Json::String(s) => out.push_str(&json::quote(s)),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write(item, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Json::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json::quote(k));
                out.push(':');
                if !write(item, out) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    true
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn check_claims(c: &claims::Claims) {
    // The summary is shown in log lines and hints, at any plausible clock.
    for now in [0, time::now(), LAST] {
        let _ = c.summary(now);
    }
    for code in ["AccessDenied", "InvalidIdentityToken", "ExpiredTokenException"] {
        let _ = aws_oidc::request::diagnose::hint(code, "m", Some(c), ("aws-cn", "123456789012"), &aws_oidc::request::diagnose::Named::default(), time::now());
    }
    if let Some(exp) = c.exp {
        if (FIRST..=LAST).contains(&exp) {
            assert_eq!(time::parse_utc(&time::format_utc(exp)), Some(exp), "{exp}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // As a token.
    if let Some(c) = claims::decode(text) {
        check_claims(&c);
    }

    // As JSON: whatever parses writes back to the same value.
    let json = json::parse(text);
    if let Some(v) = &json {
        let mut again = String::new();
        if write(v, &mut again) {
            assert_eq!(json::parse(&again).as_ref(), Some(v), "{again}");
        }
    }

    // As a JWT payload: decode finds claims exactly when it is an object.
    let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", b64url(data));
    let decoded = claims::decode(&jwt);
    if b64url(data).len() <= 16_384 {
        assert_eq!(decoded.is_some(), matches!(json, Some(Json::Object(_))), "{text:?}");
    }
    if let Some(c) = &decoded {
        check_claims(c);
        if let Some(Json::Object(fields)) = &json {
            let last = |k: &str| fields.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v);
            if let Some(Json::String(s)) = last("iss") {
                assert_eq!(c.iss.as_deref(), Some(s.as_str()));
            }
            if let Some(Json::String(s)) = last("sub") {
                assert_eq!(c.sub.as_deref(), Some(s.as_str()));
            }
        }
    }

    // As a string: quote then parse gives it back.
    assert_eq!(json::parse(&json::quote(text)), Some(Json::String(text.to_string())));

    // As a timestamp: what parses formats back to the same instant, and a
    // date that parses is a real date (format gives the same fields back).
    if let Some(t) = time::parse_utc(text) {
        let shown = time::format_utc(t);
        // A leap second at the very end of 9999 is the one instant past it.
        if t <= LAST {
            assert_eq!(time::parse_utc(&shown), Some(t), "{text:?} -> {shown}");
        }
        let leap = text.get(17..19) == Some("60");
        if !leap {
            assert_eq!(
                shown.get(..19),
                text.get(..19).map(|s| s.replace('t', "T")).as_deref(),
                "{text:?} is read as {shown}"
            );
        }
    }
    // Every instant a four-digit year can write round trips.
    if data.len() >= 8 {
        let t = i64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let t = FIRST + t.rem_euclid(LAST - FIRST + 1);
        assert_eq!(time::parse_utc(&time::format_utc(t)), Some(t), "{t}");
    }
    let _ = time::human(i64::from_le_bytes(data.get(..8).and_then(|d| d.try_into().ok()).unwrap_or_default()));
});
