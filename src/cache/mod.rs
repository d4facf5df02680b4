//! The credential cache (`docs/reference.md` §13): credentials kept in a
//! private folder, keyed by a hash of everything that changes them, and
//! reused while more than [`REFRESH_WINDOW`] remains, so that a
//! `credential_process` called by every SDK client asks STS once.
//!
//! The key and the entry's text are pure; the folder (made private, never
//! reached through a link, locked per entry) is in [`folder`]. Besides
//! `output`, the only module that writes files.

mod folder;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ring::digest;

use crate::error::Error;
use crate::json::{self, quote, Json};
use crate::log::Log;
use crate::request::Field;
use crate::response::Credentials;
use crate::secret::Secret;
use crate::settings::Sourced;

/// Cached credentials are reused while more than this many seconds remain:
/// the AWS SDKs refresh credentials that expire within 15 minutes, so an
/// entry inside that window would only send them back at once.
pub const REFRESH_WINDOW: i64 = 15 * 60;

/// The entry format; an entry of another version is ignored.
const VERSION: i64 = 1;

/// What a cache entry may weigh; anything larger is not ours.
const ENTRY_LIMIT: u64 = 64 << 10;

/// The cache key, in hex: SHA-256 over the endpoint URL and every hop's
/// form, in order, each part length-prefixed so that no two different
/// inputs encode alike. Secret fields (the token, the inline policy) go in
/// as their own SHA-256, so the key is made from the same fields that are
/// sent, and a field added to a form later is covered without a change
/// here.
pub fn key(endpoint: &str, forms: &[Vec<(String, Field<'_>)>]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut part = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    part(b"aws-oidc cache key v1");
    part(endpoint.as_bytes());
    part(&(forms.len() as u64).to_be_bytes());
    for form in forms {
        part(&(form.len() as u64).to_be_bytes());
        for (name, value) in form {
            part(name.as_bytes());
            match value {
                Field::Plain(v) => {
                    part(b"plain");
                    part(v.as_bytes());
                }
                Field::Secret(v) => {
                    part(b"sha256");
                    part(digest::digest(&digest::SHA256, v.expose().as_bytes()).as_ref());
                }
            }
        }
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// An entry's text: a small versioned JSON object naming its own key, so
/// that an entry copied under another name is not taken for that one.
pub fn encode(key: &str, c: &Credentials) -> Secret {
    Secret::new(format!(
        "{{\"Version\":{VERSION},\"Key\":{},\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{},\"AssumedRoleArn\":{}}}\n",
        quote(key),
        quote(&c.access_key_id),
        quote(c.secret_access_key.expose()),
        quote(c.session_token.expose()),
        quote(&c.expiration),
        c.assumed_role_arn.as_deref().map_or("null".to_string(), quote),
    ))
}

/// An entry's credentials, or why it is not one to use. Every value is held
/// to the same rules as STS's answer (`response::check_fields`, strict
/// RFC 3339 for `Expiration`), so a planted entry can put nothing into an
/// output that an answer could not. The reason never quotes the text.
pub fn decode(key: &str, text: &str) -> Result<Credentials, &'static str> {
    let Some(Json::Object(fields)) = json::parse(text) else {
        return Err("is not a JSON object (corrupt or cut short)");
    };
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    // An empty value is a missing one, as an answer's empty element is.
    const EMPTY: &str = "has an empty value";
    let string = |name: &str| match get(name) {
        Some(Json::String(s)) if s.is_empty() => Err(EMPTY),
        Some(Json::String(s)) => Ok(s.clone()),
        _ => Err("lacks one of its fields"),
    };
    if get("Version") != Some(&Json::Number(Some(VERSION))) {
        return Err("is of another version");
    }
    if string("Key")? != key {
        return Err("belongs to another key (copied or renamed)");
    }
    let assumed_role_arn = match get("AssumedRoleArn") {
        Some(Json::String(s)) if s.is_empty() => return Err(EMPTY),
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Null) | None => None,
        Some(_) => return Err("has an AssumedRoleArn that is not a string"),
    };
    let (id, secret, token, expiration) = (
        string("AccessKeyId")?,
        string("SecretAccessKey")?,
        string("SessionToken")?,
        string("Expiration")?,
    );
    crate::response::check_fields([
        Some(id.as_str()),
        Some(secret.as_str()),
        Some(token.as_str()),
        assumed_role_arn.as_deref(),
    ])
    .map_err(|_| "holds a value STS would never send")?;
    let expires_at =
        crate::time::parse_utc(&expiration).ok_or("has an Expiration that is not RFC 3339 UTC")?;
    Ok(Credentials {
        access_key_id: id,
        secret_access_key: Secret::new(secret),
        session_token: Secret::new(token),
        expiration,
        expires_at,
        assumed_role_arn,
        subject: None,
        audience: None,
        provider: None,
        request_id: None,
    })
}

/// Whether a hit may be used (the account guard, `--verify`): `None` when
/// it may, else by what it was refused; an error when that cannot be told
/// (no answer), which is the run's.
pub type Accept<'a> = &'a mut dyn FnMut(&Credentials, &mut Log) -> Result<Option<String>, Error>;

/// How an exchange is made when the cache has nothing to reuse, given how
/// long the run waited for the entry's lock, which its timeout has spent.
pub type Exchange<'a> = &'a mut dyn FnMut(&mut Log, Duration) -> Result<Credentials, Error>;

/// The credentials for `key`: from the cache while more than
/// [`REFRESH_WINDOW`] remains and `accept` takes them (a refused entry is
/// removed), else from `exchange`, stored before they
/// are returned. The folder is made or checked first (a refusal is exit 6,
/// before any request), and the entry is locked throughout, so that runs
/// started together make one exchange and the others read its result.
pub fn fetch(
    dir: &Sourced<String>,
    key: &str,
    patience: Duration,
    log: &mut Log,
    accept: Accept<'_>,
    exchange: Exchange<'_>,
) -> Result<Credentials, Error> {
    let (folder, tightened) =
        folder::Folder::open(&dir.value).map_err(|problem| refused(dir, &problem))?;
    if let Some(mode) = tightened {
        log.warn(&format!(
            "the cache folder {} could be opened by group or others (mode {mode:04o}); made it 0700, as the cache holds credentials",
            dir.value
        ));
    }
    let short = &key[..12];
    let entry = format!("the cache entry {short}… in {}", dir.value);
    // Held until this function returns: the entry is written under it.
    let (_lock, waited) = lock(&folder, key, patience, &entry, log);
    let name = format!("{key}.json");
    folder.remove_dead_temps(&name);
    let reason = match folder.read(&name, ENTRY_LIMIT) {
        Ok(None) => "there is no entry".to_string(),
        Ok(Some(text)) => match decode(key, &text) {
            Ok(c) => {
                let left = c.expires_at - crate::time::now();
                match left > REFRESH_WINDOW {
                    true => match accept(&c, log)? {
                        None => {
                            log.info(&format!(
                                "from cache, expires in {} ({}; entry {short}… in {})",
                                crate::time::human(left),
                                c.expiration,
                                dir.value
                            ));
                            return Ok(c);
                        }
                        // Kept, it would fail every run until it expires.
                        Some(why) => drop_refused(&folder, &name, &entry, &why, log),
                    },
                    false => why_stale(left),
                }
            }
            Err(why) => format!("the entry {why}, so it is ignored"),
        },
        Err(why) => format!("the entry {why}, so it is ignored"),
    };
    log.debug(&format!(
        "cache miss for {short}… in {}: {reason}; asking STS",
        dir.value
    ));
    let creds = exchange(log, waited)?;
    let left = creds.expires_at - crate::time::now();
    if left <= REFRESH_WINDOW {
        log.info(&format!(
            "the credentials expire in {}, so the cache cannot reuse them (it reuses credentials with more than 15m left); ask a longer duration (--duration / PLUGIN_DURATION) to make use of it",
            crate::time::human(left)
        ));
    }
    match folder.replace(&name, encode(key, &creds).expose()) {
        Ok(()) => log.debug(&format!(
            "cached the credentials as {short}… in {}",
            dir.value
        )),
        // The credentials are good; only the next run loses.
        Err(e) => log.warn(&format!(
            "cannot write {entry} ({}); the credentials are used, and the next run asks STS again",
            crate::error::io_reason(&e)
        )),
    }
    Ok(creds)
}

/// Removes an entry a hit's checks refused, saying so: why the run asks STS.
fn drop_refused(
    folder: &folder::Folder,
    name: &str,
    entry: &str,
    why: &str,
    log: &mut Log,
) -> String {
    let removed = match folder.remove(name) {
        Ok(()) => "removed the entry".to_string(),
        Err(e) => format!("cannot remove the entry ({})", crate::error::io_reason(&e)),
    };
    log.warn(&format!(
        "the cached credentials ({entry}) were refused {why}; {removed}, asking STS"
    ));
    "the cached credentials were refused".to_string()
}

/// A folder the cache cannot use: exit 6, before any request.
fn refused(dir: &Sourced<String>, problem: &str) -> Error {
    Error::Output(format!(
        "the cache folder {} (from {}) {problem}; nothing was sent",
        dir.value, dir.source
    ))
}

/// What `--check` says of the folder: the checks of a run, making and
/// changing nothing; a folder a run would refuse is the run's error.
pub fn inspect(dir: &Sourced<String>) -> Result<String, Error> {
    let state = match folder::Folder::inspect(&dir.value).map_err(|p| refused(dir, &p))? {
        None => "missing; a run makes it, 0700".to_string(),
        Some(None) => "ready".to_string(),
        Some(Some(mode)) => {
            format!("group or others may open it (mode {mode:04o}); a run makes it 0700")
        }
    };
    Ok(format!("{} (from {}): {state}", dir.value, dir.source))
}

/// Why an entry with `left` seconds to live, no more than the refresh
/// window, is not used: it expires within the window, or has expired (at
/// 0 it has: STS's `Expiration` is the first second it is no longer good).
fn why_stale(left: i64) -> String {
    match left > 0 {
        true => format!(
            "the entry expires in {}, within the 15m refresh window",
            crate::time::human(left)
        ),
        false => "the entry has expired".to_string(),
    }
}

/// Takes the entry's lock, polling while another run holds it for at most
/// `patience` (§13.4): a stopped holder must not hold up the run past its
/// own timeout. Without the lock (with a warning) when it cannot be had;
/// also how long it waited.
fn lock(
    folder: &folder::Folder,
    key: &str,
    patience: Duration,
    entry: &str,
    log: &mut Log,
) -> (Option<std::fs::File>, Duration) {
    let file = match folder.lock_file(&format!("{key}.lock")) {
        Ok(file) => file,
        Err(why) => {
            log.warn(&format!(
                "cannot lock {entry}: its lock file {why}; going on without the lock"
            ));
            return (None, Duration::ZERO);
        }
    };
    let started = Instant::now();
    let mut said = false;
    loop {
        let waited = started.elapsed();
        // Nothing was spent until the run waited (and said so): a lock
        // taken, or refused, at the first try leaves the whole timeout.
        let spent = if said { waited } else { Duration::ZERO };
        match file.try_lock() {
            Ok(()) => return (Some(file), spent),
            Err(std::fs::TryLockError::WouldBlock) if waited < patience => {
                if !said {
                    log.debug(
                        "another run holds this cache entry's lock; waiting for it to finish",
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                log.warn(&format!(
                    "another run has held the cache entry's lock for {}s; going on without it",
                    waited.as_secs()
                ));
                return (None, spent);
            }
            Err(std::fs::TryLockError::Error(e)) => {
                log.warn(&format!(
                    "cannot lock {entry} ({}); going on without the lock",
                    crate::error::io_reason(&e)
                ));
                return (None, spent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_stale_until_its_expiration_then_expired() {
        assert_eq!(
            why_stale(REFRESH_WINDOW),
            "the entry expires in 15m 0s, within the 15m refresh window"
        );
        assert_eq!(
            why_stale(1),
            "the entry expires in 1s, within the 15m refresh window"
        );
        assert_eq!(why_stale(0), "the entry has expired");
        assert_eq!(why_stale(-1), "the entry has expired");
    }

    fn creds(arn: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: Secret::new("secret/Key+0000000000000000000000000000"),
            session_token: Secret::new("Session=Token0000000000000000000000"),
            expiration: "2099-01-01T00:00:00Z".into(),
            expires_at: 4070908800,
            assumed_role_arn: arn.map(String::from),
            subject: None,
            audience: None,
            provider: None,
            request_id: None,
        }
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        for arn in [None, Some("arn:aws:sts::123456789012:assumed-role/r/s")] {
            let c = decode("k1", encode("k1", &creds(arn)).expose()).unwrap();
            assert_eq!(c.access_key_id, "ASIAEXAMPLE000000001");
            assert_eq!(
                c.secret_access_key.expose(),
                creds(arn).secret_access_key.expose()
            );
            assert_eq!(c.session_token.expose(), creds(arn).session_token.expose());
            assert_eq!(
                (c.expiration.as_str(), c.expires_at),
                ("2099-01-01T00:00:00Z", 4070908800)
            );
            assert_eq!(c.assumed_role_arn.as_deref(), arn);
        }
    }

    #[test]
    fn a_bad_entry_is_refused_with_a_reason_that_quotes_nothing() {
        let good = encode("k1", &creds(None)).expose().to_string();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "not a JSON object"),
            (good[..good.len() / 2].to_string(), "not a JSON object"),
            ("[1]".into(), "not a JSON object"),
            (
                good.replace("\"Version\":1", "\"Version\":2"),
                "another version",
            ),
            (
                good.replace("\"Key\":\"k1\"", "\"Key\":\"k2\""),
                "another key",
            ),
            (
                good.replace("\"SessionToken\"", "\"Other\""),
                "lacks one of its fields",
            ),
            (good.replace("Session=Token", "Session$Token"), "never send"),
            (
                good.replace("ASIAEXAMPLE000000001", "ASIA\\nX000000000001"),
                "never send",
            ),
            (
                good.replace("ASIAEXAMPLE000000001", "ASIASHORT"),
                "never send",
            ),
            (
                good.replace("\"AssumedRoleArn\":null", "\"AssumedRoleArn\":\"a;b\""),
                "never send",
            ),
            (
                good.replace("\"AssumedRoleArn\":null", "\"AssumedRoleArn\":7"),
                "not a string",
            ),
            (
                good.replace("2099-01-01T00:00:00Z", "tomorrow"),
                "not RFC 3339",
            ),
        ];
        // An empty value, as an answer's empty element, is a missing one.
        let mut cases = cases;
        for field in [
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration",
        ] {
            let from = good.find(&format!("\"{field}\":\"")).unwrap() + field.len() + 4;
            let to = from + good[from..].find('"').unwrap();
            let text = format!("{}{}", &good[..from], &good[to..]);
            cases.push((text, "has an empty value"));
        }
        cases.push((
            good.replace("\"AssumedRoleArn\":null", "\"AssumedRoleArn\":\"\""),
            "has an empty value",
        ));
        for (text, want) in cases {
            let why = decode("k1", &text).map(|_| ()).unwrap_err();
            assert!(why.contains(want), "{text}: {why}");
            assert!(!why.contains("Session") && !why.contains("ASIA"), "{why}");
        }
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, Field<'static>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Field::Plain(v.to_string())))
            .collect()
    }

    #[test]
    fn the_key_changes_with_every_input_and_is_unambiguous() {
        let token = Secret::new("token-one");
        let other = Secret::new("token-two");
        let with = |t: &'static Secret| vec![("WebIdentityToken".to_string(), Field::Secret(t))];
        let token: &'static Secret = Box::leak(Box::new(token));
        let other: &'static Secret = Box::leak(Box::new(other));
        let base = key("https://e", &[form(&[("RoleArn", "a"), ("X", "b")])]);
        assert_eq!(base.len(), 64);
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
        let variants = [
            key("https://f", &[form(&[("RoleArn", "a"), ("X", "b")])]),
            key("https://e", &[form(&[("RoleArn", "a"), ("X", "c")])]),
            // The same bytes split differently.
            key("https://e", &[form(&[("RoleArn", "aX"), ("", "b")])]),
            key(
                "https://e",
                &[form(&[("RoleArn", "a")]), form(&[("X", "b")])],
            ),
            key("https://e", &[form(&[("X", "b"), ("RoleArn", "a")])]),
            key("https://e", &[with(token)]),
            key("https://e", &[with(other)]),
            key("https://e", &[form(&[("WebIdentityToken", "token-one")])]),
        ];
        let mut all = vec![base.clone()];
        for v in variants {
            assert!(!all.contains(&v), "{v} repeats");
            all.push(v);
        }
        assert_eq!(
            base,
            key("https://e", &[form(&[("RoleArn", "a"), ("X", "b")])])
        );
    }
}
