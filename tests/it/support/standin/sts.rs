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
    /// The access key id that signed the `AssumeRole` that issued these;
    /// `None` for the web-identity hop.
    pub signed_by: Option<String>,
    /// The session's tags, as `AssumeRole` was given them, in order.
    pub tags: Vec<(String, String)>,
    /// Its transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// Its source identity.
    pub source_identity: Option<String>,
}

/// What a session is given besides its role: tags, transitive keys and
/// the source identity.
#[derive(Default)]
struct Given {
    tags: Vec<(String, String)>,
    transitive_tag_keys: Vec<String>,
    source_identity: Option<String>,
}

/// `Name.member.1`, `.2`, … in order, as STS reads a list: the first
/// number missing ends it, and a member past the gap is refused.
fn members(req: &Recorded, name: &str, suffix: &str) -> Result<Vec<String>, Answer> {
    let mut out = Vec::new();
    while let Some(v) = req.field(&format!("{name}.member.{}{suffix}", out.len() + 1)) {
        out.push(v.to_string());
    }
    let prefix = format!("{name}.member.");
    let listed = req
        .form
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix) && k.ends_with(suffix))
        .count();
    match listed == out.len() {
        true => Ok(out),
        false => Err(validation(format!(
            "{name} members must be numbered from 1 without gaps"
        ))),
    }
}

/// The session tags, transitive keys and source identity of an
/// `AssumeRole`, checked as the STS API reference says: at most 50 tags
/// and keys; keys 1-128 and values 0-256 characters of
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`; no key twice (without case); every
/// transitive key one of the tags; a source identity of 2-64 `[\w+=,.@-]`.
fn given(req: &Recorded) -> Result<Given, Answer> {
    let ok = |c: char| {
        c.is_alphabetic()
            || c.is_numeric()
            || matches!(
                c,
                ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
                    ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
            )
            || "_.:/=+-@".contains(c)
    };
    let keys = members(req, "Tags", ".Key")?;
    let values = members(req, "Tags", ".Value")?;
    if keys.len() != values.len() {
        return Err(missing("Tags.member.N.Value"));
    }
    if keys.len() > 50 {
        return Err(validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50".into()));
    }
    for (k, v) in keys.iter().zip(&values) {
        let key_ok = (1..=128).contains(&k.chars().count()) && k.chars().all(ok);
        let value_ok = v.chars().count() <= 256 && v.chars().all(ok);
        if !key_ok || !value_ok {
            return Err(validation(format!(
                "1 validation error detected: Value '{k}' at 'tags' failed to satisfy constraint"
            )));
        }
    }
    let mut lower: Vec<String> = keys.iter().map(|k| k.to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    if lower.len() != keys.len() {
        return Err(invalid(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ));
    }
    let transitive = members(req, "TransitiveTagKeys", "")?;
    if transitive.len() > 50
        || transitive
            .iter()
            .any(|t| !lower.contains(&t.to_lowercase()))
    {
        return Err(invalid(
            "The specified transitive tag key must be included in the requested tags.",
        ));
    }
    let source_identity = req.field("SourceIdentity").map(String::from);
    if let Some(id) = &source_identity {
        let id_ok = (2..=64).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !id_ok {
            return Err(validation("1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint".into()));
        }
    }
    Ok(Given {
        tags: keys.into_iter().zip(values).collect(),
        transitive_tag_keys: transitive,
        source_identity,
    })
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

fn missing(parameter: &str) -> Answer {
    let message = format!("The request must contain the parameter {parameter}");
    (
        400,
        "text/xml",
        error_xml(400, "MissingParameter", &message).into_bytes(),
    )
}

/// `InvalidParameterValue`, as STS answers a value it refuses.
fn invalid(message: &str) -> Answer {
    (
        400,
        "text/xml",
        error_xml(400, "InvalidParameterValue", message).into_bytes(),
    )
}

fn validation(msg: String) -> Answer {
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

type Answer = (u16, &'static str, Vec<u8>);

/// What STS does with a request: check it, then issue credentials.
pub fn answer(req: &Recorded, state: &Arc<Mutex<State>>, expiring_in: Option<i64>) -> Answer {
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
    let action = req.field("Action").unwrap_or_default();
    if ![
        "AssumeRoleWithWebIdentity",
        "AssumeRole",
        "GetCallerIdentity",
    ]
    .contains(&action)
    {
        return (
            400,
            "text/xml",
            error_xml(400, "InvalidAction", "Could not find operation").into_bytes(),
        );
    }
    if req.field("Version") != Some("2011-06-15") {
        return validation("Version must be 2011-06-15".into());
    }
    let result = match action {
        "AssumeRoleWithWebIdentity" => web_identity(req, state, expiring_in),
        "AssumeRole" => {
            signed_by(req, state).and_then(|by| assume_role(req, state, &by, expiring_in))
        }
        _ => signed_by(req, state).and_then(|by| caller_identity(state, &by)),
    };
    result.unwrap_or_else(|refused| refused)
}

/// Who signed a request, as STS decides it: the independent verifier
/// (`support/sigv4.rs`) checks the `Authorization` header against the
/// secret key of credentials this stand-in issued, and the
/// `X-Amz-Security-Token` must be the one issued with that key.
fn signed_by(req: &Recorded, state: &Arc<Mutex<State>>) -> Result<Issued, Answer> {
    let raw = super::sigv4::Raw {
        method: req.method.clone(),
        path: req.path.clone(),
        headers: req.headers.clone(),
        body: req.body.as_bytes().to_vec(),
    };
    let issued = state.lock().unwrap().issued.clone();
    let find = |key: &str| issued.iter().find(|i| i.access_key_id == key).cloned();
    // STS answers every authentication failure with 403.
    let refused =
        |code: &str, message: &str| (403, "text/xml", error_xml(403, code, message).into_bytes());
    let verified = super::sigv4::verify(&raw, |key| find(key).map(|i| i.secret_access_key))
        .map_err(|r| {
            let message = match r.code {
                "InvalidClientTokenId" => "The security token included in the request is invalid.",
                "SignatureDoesNotMatch" => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
                "MissingAuthenticationToken" => "Request is missing Authentication Token",
                _ => "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
            };
            refused(r.code, message)
        })?;
    let Some(issued) = find(&verified.access_key_id) else {
        return Err(refused(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ));
    };
    if verified.session_token.as_deref() != Some(issued.session_token.as_str()) {
        return Err(refused(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ));
    }
    if verified.service != "sts" {
        return Err(refused(
            "SignatureDoesNotMatch",
            "Credential should be scoped to correct service: 'sts'.",
        ));
    }
    state.lock().unwrap().signatures.push(verified);
    Ok(issued)
}

/// The checks every hop's form gets: the role, the session name and the
/// duration (at most `max`), and the session policies.
fn hop_checks(req: &Recorded, max: u32) -> Result<(Vec<&str>, &str, u32), Answer> {
    let Some(role) = req.field("RoleArn") else {
        return Err(missing("RoleArn"));
    };
    let Some(session) = req.field("RoleSessionName") else {
        return Err(missing("RoleSessionName"));
    };
    let session_ok = (2..=64).contains(&session.len())
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !session_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    let parts: Vec<&str> = role.split(':').collect();
    if parts.len() < 6
        || parts[0] != "arn"
        || parts[2] != "iam"
        || parts[4].len() != 12
        || !parts[5].starts_with("role/")
    {
        return Err(validation(format!("Request ARN is invalid: {role}")));
    }
    let duration = match req.field("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (900..=43200).contains(&n) && n <= max => n,
            Ok(n) if (900..=43200).contains(&n) => {
                return Err(validation(format!(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role. ({n} > {max})"
                )))
            }
            _ => return Err(validation(format!("1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"))),
        },
    };
    if req.field("Policy").is_some_and(|p| p.len() > 2048) {
        return Err(validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048".into()));
    }
    if req
        .form
        .iter()
        .filter(|(k, _)| k.starts_with("PolicyArns.member."))
        .count()
        > 10
    {
        return Err(validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10".into()));
    }
    Ok((parts, session, duration))
}

fn web_identity(
    req: &Recorded,
    state: &Arc<Mutex<State>>,
    expiring_in: Option<i64>,
) -> Result<Answer, Answer> {
    let Some(token) = req.field("WebIdentityToken") else {
        return Err(missing("WebIdentityToken"));
    };
    if req.field("ExternalId").is_some() {
        return Err(validation(
            "AssumeRoleWithWebIdentity has no parameter ExternalId".into(),
        ));
    }
    // Its session tags and source identity come from the token's claims.
    if let Some((k, _)) = req.form.iter().find(|(k, _)| {
        k.starts_with("Tags.") || k.starts_with("TransitiveTagKeys.") || k == "SourceIdentity"
    }) {
        return Err(validation(format!(
            "AssumeRoleWithWebIdentity has no parameter {k}"
        )));
    }
    let max = state.lock().unwrap().max_session;
    let (parts, session, duration) = hop_checks(req, max)?;
    let role = req.field("RoleArn").unwrap_or_default();
    if state.lock().unwrap().deny.iter().any(|d| d == role) {
        let message = "Not authorized to perform sts:AssumeRoleWithWebIdentity";
        return Err((
            403,
            "text/xml",
            error_xml(403, "AccessDenied", message).into_bytes(),
        ));
    }
    if !(4..=20000).contains(&token.len()) {
        return Err(validation("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000".into()));
    }
    let issued = issue(
        state,
        &parts,
        session,
        expiring_in.unwrap_or(i64::from(duration)),
        None,
        Given::default(),
    );
    let subject = jwt_claim(token, "sub").unwrap_or_else(|| "opaque-token-subject".into());
    let audience = jwt_claim(token, "aud").unwrap_or_else(|| "sts.amazonaws.com".into());
    let provider = jwt_claim(token, "iss").unwrap_or_else(|| "https://oidc.example".into());
    let extra = format!(
        "<Audience>{}</Audience><Provider>{}</Provider><SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>",
        xml_escape(&audience),
        xml_escape(provider.trim_start_matches("https://")),
        xml_escape(&subject),
    );
    Ok(credentials_xml(
        state,
        "AssumeRoleWithWebIdentity",
        &issued,
        session,
        &extra,
    ))
}

/// `AssumeRole`, signed by `by`: a session reached by chaining lasts at
/// most an hour, as STS enforces; a role told to refuse answers
/// AccessDenied naming the caller, as STS does.
fn assume_role(
    req: &Recorded,
    state: &Arc<Mutex<State>>,
    by: &Issued,
    expiring_in: Option<i64>,
) -> Result<Answer, Answer> {
    if req.field("WebIdentityToken").is_some() {
        return Err(validation(
            "AssumeRole has no parameter WebIdentityToken".into(),
        ));
    }
    if let Some(id) = req.field("ExternalId") {
        let ok = (2..=1224).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if !ok {
            return Err(validation(
                "1 validation error detected: Value at 'externalId' failed to satisfy constraint"
                    .into(),
            ));
        }
    }
    if req
        .field("DurationSeconds")
        .and_then(|d| d.parse::<u32>().ok())
        .is_some_and(|d| d > 3600)
    {
        return Err(validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into()));
    }
    let max = state.lock().unwrap().max_session;
    let (parts, session, duration) = hop_checks(req, max)?;
    let given = given(req)?;
    let role = req.field("RoleArn").unwrap_or_default();
    if state.lock().unwrap().deny.iter().any(|d| d == role) {
        let message = format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role}",
            by.assumed_role_arn
        );
        return Err((
            403,
            "text/xml",
            error_xml(403, "AccessDenied", &message).into_bytes(),
        ));
    }
    let issued = issue(
        state,
        &parts,
        session,
        expiring_in.unwrap_or(i64::from(duration)),
        Some(by.access_key_id.clone()),
        given,
    );
    Ok(credentials_xml(state, "AssumeRole", &issued, session, ""))
}

/// `GetCallerIdentity`: the signer's assumed-role ARN, or the ARN a test
/// told it to answer instead.
fn caller_identity(state: &Arc<Mutex<State>>, by: &Issued) -> Result<Answer, Answer> {
    let arn = state
        .lock()
        .unwrap()
        .caller
        .clone()
        .unwrap_or_else(|| by.assumed_role_arn.clone());
    let account = arn.split(':').nth(4).unwrap_or_default().to_string();
    let xml = format!(
        "<GetCallerIdentityResponse xmlns=\"{NS}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>AROA{}:x</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        xml_escape(&arn),
        random_string(17, UPPER),
        request_id()
    );
    Ok((200, "text/xml", xml.into_bytes()))
}

/// New credentials for the role in `parts` (its split ARN), recorded as
/// issued.
fn issue(
    state: &Arc<Mutex<State>>,
    parts: &[&str],
    session: &str,
    lifetime: i64,
    signed_by: Option<String>,
    given: Given,
) -> Issued {
    let mut expiration = iso(now() + lifetime);
    if state.lock().unwrap().fractional {
        expiration = expiration.replace('Z', ".123456Z");
    }
    let role_name = parts[5].rsplit('/').next().unwrap_or("role");
    let issued = Issued {
        access_key_id: format!("ASIA{}", random_string(16, UPPER)),
        secret_access_key: random_string(40, B64),
        session_token: format!("IQoJb3JpZ2luX2Vj{}", random_string(356, B64)),
        expiration,
        assumed_role_arn: format!(
            "arn:{}:sts::{}:assumed-role/{role_name}/{session}",
            parts[1], parts[4]
        ),
        signed_by,
        tags: given.tags,
        transitive_tag_keys: given.transitive_tag_keys,
        source_identity: given.source_identity,
    };
    state.lock().unwrap().issued.push(issued.clone());
    issued
}

/// A success answer for `action` carrying `issued`, with `extra` elements
/// in its result.
fn credentials_xml(
    state: &Arc<Mutex<State>>,
    action: &str,
    issued: &Issued,
    session: &str,
    extra: &str,
) -> Answer {
    let xml = format!(
        "<{action}Response xmlns=\"{NS}\">
  <{action}Result>
    <AssumedRoleUser>
      <AssumedRoleId>AROA{}:{session}</AssumedRoleId>
      <Arn>{}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>
    {extra}
  </{action}Result>
  <ResponseMetadata>
    <RequestId>{}</RequestId>
  </ResponseMetadata>
</{action}Response>
",
        random_string(17, UPPER),
        issued.assumed_role_arn,
        issued.access_key_id,
        issued.secret_access_key,
        issued.session_token,
        issued.expiration,
        request_id()
    );
    let xml = match state.lock().unwrap().one_line {
        true => xml.lines().map(str::trim).collect::<String>(),
        false => xml,
    };
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
