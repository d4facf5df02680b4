//! STS itself as the stand-in plays it: the checks STS makes on a request
//! (docs/reference.md §3), the credentials it issues, and its XML shapes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::http::Recorded;
use super::State;

/// The STS namespace.
pub const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

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

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds (from 1970 on) as `YYYY-MM-DDTHH:MM:SSZ`. Counted year by
/// year and month by month, not with the binary's day-number formula
/// (`src/time.rs`), so the two do not share a mistake.
pub fn iso(t: i64) -> String {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let (mut days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
    let mut year = 1970;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let feb = if leap(year) { 29 } else { 28 };
    let mut month = 1;
    for len in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        days + 1,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
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

pub fn request_id() -> String {
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
pub fn answer(
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
    if let Some(why) = super::http::form_encoding_error(&req.body) {
        return validation(format!("the form is not URL-encoded: {why}"));
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
