//! What every mode shares (`docs/reference.md` §3, §4, §13): the checks a
//! run makes before any request ([`prepare`]: the account guard over every
//! role, the endpoint, the token's claims and expiry, the cache key), and
//! the exchange itself ([`credentials`]: from the cache, else from STS,
//! every hop within one deadline). The modes share these, never copy them.

use std::ffi::OsString;

use crate::error::Error;
use crate::log::Log;
use crate::settings::{self, Settings, System};
use crate::{cache, claims, endpoint, guard, request, response, time};

/// What the process was started with besides the settings: the command
/// after `--`, if any, and the environment it inherits.
pub(crate) struct Process<'a> {
    pub(crate) child: Option<&'a [OsString]>,
    pub(crate) env: &'a [(OsString, OsString)],
    /// This program's path, found when asked.
    pub(crate) exe: fn() -> Option<std::path::PathBuf>,
}

/// What the checks before any request found, which every mode is given.
pub(crate) struct Prepared {
    endpoint: endpoint::Endpoint,
    claims: Option<claims::Claims>,
    cache_key: Option<String>,
}

impl Prepared {
    /// The shared part as the modes borrow it.
    pub(crate) fn modes(&self) -> Modes<'_> {
        Modes {
            endpoint: &self.endpoint,
            claims: self.claims.as_ref(),
            cache_key: self.cache_key.as_deref(),
        }
    }
}

/// Logs the settings' warnings and listing, then makes the checks every
/// mode makes before it sends anything: every role in an allowed account
/// (§12), the endpoint (§2), the token's claims and expiry (§1.3), and the
/// cache key over every hop's form (§13.2).
pub(crate) fn prepare(s: &Settings, log: &mut Log) -> Result<Prepared, Error> {
    for w in &s.warnings {
        log.warn(w);
    }
    for line in s.listing() {
        log.debug(&line);
    }
    let mut roles = vec![(s.role.arn.as_str(), s.role.source)];
    if let Some(chained) = &s.chain.roles {
        roles.extend(chained.iter().map(|r| (r.arn.as_str(), chained.source)));
    }
    guard::check_roles(s, &roles)?;
    let endpoint = endpoint::for_settings(s)?;
    let claims = claims::decode(s.token.expose());
    match &claims {
        Some(c) => log.debug(&format!("token claims: {}", c.summary(time::now()))),
        None => log.debug(
            "the token is not a JWT; sending it as is (STS also accepts OAuth 2.0 access tokens)",
        ),
    }
    // Refused by the run as by `--check`, before the cache is looked at
    // or anything is sent.
    if let Some(warning) = claims::expiry(claims.as_ref(), time::now())? {
        log.warn(&warning);
    }
    let cache_key = s
        .cache
        .as_ref()
        .map(|_| cache::key(&endpoint.url, &request::hop_forms(s)));
    Ok(Prepared {
        endpoint,
        claims,
        cache_key,
    })
}

/// What every mode shares once the settings, the endpoint and the token
/// were checked.
pub(crate) struct Modes<'a> {
    pub(crate) endpoint: &'a endpoint::Endpoint,
    pub(crate) claims: Option<&'a claims::Claims>,
    pub(crate) cache_key: Option<&'a str>,
}

/// A warning when credentials live less than 5 minutes by this machine's
/// clock (`now`): STS never issues so few, so the clock is wrong. At their
/// `Expiration` they no longer work, so 0 left is in the past (as for the
/// cache, §13.1).
pub(crate) fn clock_warning(creds: &response::Credentials, now: i64) -> Option<String> {
    let left = creds.expires_at - now;
    (left < 300).then(|| {
        format!(
            "the credentials expire at {} but this machine's clock says {} ({}); check the runner's clock (NTP)",
            creds.expiration,
            time::format_utc(now),
            if left <= 0 { format!("already {} in the past", time::human(left)) } else { format!("only {} ahead", time::human(left)) }
        )
    })
}

/// The credentials to write: from the cache when it holds them, else from
/// STS (every hop, and `--verify`), each held to the account guard (§12).
/// One deadline, the run's timeout from here less what getting the token
/// took (a token command's run), covers every path: the wait for the
/// cache's lock, a hit's `--verify` and the exchange (§4.2, §13.4). A
/// token from a file or a command is got again for every retry, in `env`
/// (§1.3).
pub(crate) fn credentials(
    s: &Settings,
    endpoint: &endpoint::Endpoint,
    claims: Option<&claims::Claims>,
    first_hop: Option<&std::cell::RefCell<Option<response::Credentials>>>,
    cache_key: Option<&str>,
    env: &[(OsString, OsString)],
    log: &mut Log,
) -> Result<response::Credentials, Error> {
    let fresh = |deadline, not_sent: &str| {
        settings::fresh_token(s, &mut System { env }, deadline, not_sent)
    };
    let ctx = request::Context {
        claims,
        first_hop,
        fresh: s
            .token_source
            .rereads()
            .then_some(&fresh as request::Refetch),
    };
    let deadline = std::time::Instant::now() + s.timeout.value.saturating_sub(s.token_took);
    // Said only when STS is asked: a cache hit says so instead.
    let mut exchange = |log: &mut Log, waited: std::time::Duration| {
        if !waited.is_zero() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            log.debug(&format!(
                "waited {} for the cache entry's lock; {} of the {}s timeout (from {}) is left for STS",
                request::retry::seconds(waited),
                request::retry::seconds(left),
                s.timeout.value.as_secs(),
                s.timeout.source.name()
            ));
        }
        log.info(&assuming(s, endpoint));
        // Every hop, each answer held to the account guard (§12), and
        // `--verify` when on, before the cache keeps it.
        request::exchange(s, endpoint, &ctx, deadline, log)
    };
    // A hit is held to what an answer is: its secrets and account hidden,
    // the role and session asked for, the list, and `--verify`. One
    // refused is removed and STS asked (§13.1). Only a refusal of the
    // credentials refuses them: no answer to `--verify`, or a throttle,
    // is the run's error, and the entry stays.
    let mut accept = |c: &response::Credentials, log: &mut Log| {
        request::learn(c, s.mask_account, log);
        if let Err(why) = request::as_asked(
            c.assumed_role_arn.as_deref(),
            &s.last_role().arn,
            &s.session_name.value,
        ) {
            return Ok(Some(format!("as not the role asked for ({why})")));
        }
        if let Some(a) = &s.allowed_accounts {
            if guard::check_answer(s, c.assumed_role_arn.as_deref()).is_err() {
                return Ok(Some(format!(
                    "by the account guard (their account is not one {} lists)",
                    a.source
                )));
            }
        }
        match s.chain.verify {
            true => match request::verify(s, endpoint, c, deadline, log)? {
                request::Verified::Yes => Ok(None),
                request::Verified::No(e) => Ok(Some(format!("by --verify ({e})"))),
            },
            false => Ok(None),
        }
    };
    match (&s.cache, cache_key) {
        (Some(dir), Some(key)) => {
            let patience = s.timeout.value / 2;
            cache::fetch(dir, key, patience, log, &mut accept, &mut exchange)
        }
        _ => exchange(log, std::time::Duration::ZERO),
    }
}

/// The line that says what the run asks STS for.
fn assuming(s: &Settings, endpoint: &endpoint::Endpoint) -> String {
    let chained: Vec<&str> = s.chained().iter().map(|r| r.arn.as_str()).collect();
    let duration = match chained.is_empty() {
        true => s.duration.as_ref().map(|d| d.value),
        false => request::chained_duration(s),
    };
    format!(
        "assuming {}{} as session {} via {} for {}",
        s.role.arn,
        chained
            .iter()
            .map(|a| format!(" then {a}"))
            .collect::<String>(),
        s.session_name.value,
        endpoint.url,
        duration.map_or(
            "the role's default duration (STS: 3600s)".to_string(),
            |d| format!("{d}s")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret;

    #[test]
    fn the_clock_is_questioned_under_five_minutes_left() {
        // 2026-11-26T12:00:00Z
        let expires_at = 1_795_694_400;
        let creds = response::Credentials {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: secret::Secret::new("secret"),
            session_token: secret::Secret::new("token"),
            expiration: "2026-11-26T12:00:00Z".into(),
            expires_at,
            assumed_role_arn: None,
            subject: None,
            audience: None,
            provider: None,
            request_id: None,
        };
        assert_eq!(clock_warning(&creds, expires_at - 300), None);
        assert_eq!(
            clock_warning(&creds, expires_at - 299).unwrap(),
            "the credentials expire at 2026-11-26T12:00:00Z but this machine's clock says \
             2026-11-26T11:55:01Z (only 4m 59s ahead); check the runner's clock (NTP)"
        );
        assert!(clock_warning(&creds, expires_at)
            .unwrap()
            .contains(" (already 0s in the past); "));
        assert_eq!(
            clock_warning(&creds, expires_at + 60).unwrap(),
            "the credentials expire at 2026-11-26T12:00:00Z but this machine's clock says \
             2026-11-26T12:01:00Z (already 1m 0s in the past); check the runner's clock (NTP)"
        );
    }
}
