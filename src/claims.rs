//! Reads the claims of a JWT without verifying it, for hints and `--check`.
//! STS verifies the token; we only show the user what is in it.

use base64::Engine;

use crate::error::Error;
use crate::json::{self, Json};

/// The claims a trust policy conditions on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: the OIDC provider's URL.
    pub iss: Option<String>,
    /// Audiences.
    pub aud: Vec<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
}

impl Claims {
    /// `iss=… aud=… sub=… exp=…` for log lines.
    pub fn summary(&self, now: i64) -> String {
        let aud = if self.aud.is_empty() {
            "-".to_string()
        } else {
            self.aud.join(",")
        };
        let exp = match self.exp {
            Some(t) if t <= now => format!(
                "{} (expired {} ago)",
                crate::time::format_utc(t),
                crate::time::human(now - t)
            ),
            Some(t) => format!(
                "{} (in {})",
                crate::time::format_utc(t),
                crate::time::human(t - now)
            ),
            None => "-".to_string(),
        };
        format!(
            "iss={} aud={} sub={} exp={}",
            self.iss.as_deref().unwrap_or("-"),
            aud,
            self.sub.as_deref().unwrap_or("-"),
            exp
        )
    }
}

/// How far this machine's clock may be ahead of STS's before a token whose
/// `exp` has passed by it is refused unsent (`docs/reference.md` §1.3).
pub const CLOCK_SKEW: i64 = 60;

/// What a token's `exp` means at `now`: an error (exit 3, the same for a
/// run and `--check`) when it passed more than [`CLOCK_SKEW`] ago, since
/// STS would refuse it; a warning when it passed within it, since STS's
/// clock decides; else nothing (no claims or no `exp` included).
pub fn expiry(claims: Option<&Claims>, now: i64) -> Result<Option<String>, Error> {
    let Some(exp) = claims.and_then(|c| c.exp).filter(|exp| *exp <= now) else {
        return Ok(None);
    };
    let ago = format!(
        "the token expired {} ago (exp {})",
        crate::time::human(now - exp),
        crate::time::format_utc(exp)
    );
    match now - exp > CLOCK_SKEW {
        true => Err(Error::WouldBeRefused(format!(
            "{ago}, so STS would refuse it with ExpiredTokenException and it was not sent; \
             request the token closer to this step or with a longer lifetime, and check this machine's clock"
        ))),
        false => Ok(Some(format!(
            "{ago} by this machine's clock; sending it, as STS's clock may be up to {}s behind; \
             if STS refuses it, check this machine's clock (NTP)",
            CLOCK_SKEW
        ))),
    }
}

/// Decodes the payload of a `header.payload.signature` token. `None` when
/// the token is not JWT-shaped (STS also takes opaque OAuth tokens).
pub fn decode(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 16_384 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let Json::Object(fields) = json::parse(text)? else {
        return None;
    };
    let mut claims = Claims::default();
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("iss", Json::String(s)) => claims.iss = Some(s),
            ("sub", Json::String(s)) => claims.sub = Some(s),
            ("aud", Json::String(s)) => claims.aud = vec![s],
            ("aud", Json::Array(items)) => {
                claims.aud = items
                    .into_iter()
                    .filter_map(|v| match v {
                        Json::String(s) => Some(s),
                        _ => None,
                    })
                    .collect()
            }
            // Only an instant a timestamp can show (years 0000-9999). The
            // summary and the hints subtract `exp` from the clock, which
            // overflows near i64::MIN; a value out there is no real expiry.
            ("exp", Json::Number(n)) => {
                claims.exp = n.filter(|t| (-62_167_219_200..=253_402_300_799).contains(t))
            }
            _ => {}
        }
    }
    Some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"RS256"}"#),
            e.encode(payload)
        )
    }

    #[test]
    fn claims_from_tokens() {
        let c = decode(&jwt(
            r#"{"iss":"https://app.harness.io/ng/api/oidc/account/abc","aud":"sts.amazonaws.com","sub":"pipeline:x","exp":1795629600,"iat":1}"#,
        ))
        .unwrap();
        assert_eq!(
            c.iss.as_deref(),
            Some("https://app.harness.io/ng/api/oidc/account/abc")
        );
        assert_eq!(c.aud, vec!["sts.amazonaws.com"]);
        assert_eq!(c.sub.as_deref(), Some("pipeline:x"));
        assert_eq!(c.exp, Some(1795629600));
        assert_eq!(
            c.summary(1795629400),
            "iss=https://app.harness.io/ng/api/oidc/account/abc aud=sts.amazonaws.com sub=pipeline:x exp=2026-11-25T18:00:00Z (in 3m 20s)"
        );
        assert!(c.summary(1795629700).ends_with("(expired 1m 40s ago)"));
        let c = decode(&jwt(
            r#"{"aud":["a","b",3],"exp":1700000000.75,"sub":"\u00e9\ud83d\ude00"}"#,
        ))
        .unwrap();
        assert_eq!(c.aud, vec!["a", "b"]);
        assert_eq!(c.exp, Some(1_700_000_000));
        assert_eq!(decode(&jwt(r#"{"exp":1.7e9}"#)).unwrap().exp, None);
        assert_eq!(c.sub.as_deref(), Some("é😀"));
        for not_jwt in [
            "opaque-oauth-token",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &jwt("[1,2]"),
            &jwt("{\"a\":"),
        ] {
            assert_eq!(decode(not_jwt), None, "{not_jwt}");
        }
    }

    #[test]
    fn an_expired_token_is_refused_past_the_clock_skew_and_warned_of_within_it() {
        let at = |exp: Option<i64>| Claims {
            exp,
            ..Claims::default()
        };
        let now = 1_795_629_600; // 2026-11-25T18:00:00Z
        assert_eq!(expiry(None, now), Ok(None));
        assert_eq!(expiry(Some(&at(None)), now), Ok(None));
        assert_eq!(expiry(Some(&at(Some(now + 1))), now), Ok(None));
        let warned = expiry(Some(&at(Some(now))), now).unwrap().unwrap();
        assert!(warned.starts_with("the token expired 0s ago (exp 2026-11-25T18:00:00Z) by this machine's clock; sending it"), "{warned}");
        let edge = expiry(Some(&at(Some(now - CLOCK_SKEW))), now).unwrap();
        assert!(edge.unwrap().starts_with("the token expired 1m 0s ago"));
        let e = expiry(Some(&at(Some(now - CLOCK_SKEW - 1))), now).unwrap_err();
        assert_eq!(e.code(), 3);
        assert!(
            e.to_string().starts_with(
                "the token expired 1m 1s ago (exp 2026-11-25T17:58:59Z), so STS would refuse it with ExpiredTokenException and it was not sent; "
            ),
            "{e}"
        );
    }

    #[test]
    fn absurd_exp_is_no_expiry() {
        // Found by fuzzing (fuzz/fuzz_targets/claims.rs): an `exp` near
        // i64::MIN made `summary` overflow subtracting it from the clock.
        let payload = crate::testing::fixture("fuzz/claims-exp-overflow");
        let c = decode(&jwt(&payload)).unwrap();
        assert_eq!(c.exp, None);
        assert_eq!(c.summary(1795629600), "iss=- aud=- sub=- exp=-");
        let edge = decode(&jwt(r#"{"exp":253402300799}"#)).unwrap();
        assert_eq!(edge.exp, Some(253402300799));
        assert!(edge
            .summary(0)
            .starts_with("iss=- aud=- sub=- exp=9999-12-31T23:59:59Z (in "));
    }

    #[test]
    fn a_fourth_part_is_not_a_jwt() {
        // A well-formed payload, so only the part count refuses it (issue
        // 13: "a.b.c.d" above fails at the base64 of "b" already).
        let token = jwt(r#"{"sub":"x"}"#);
        assert!(decode(&token).is_some());
        assert_eq!(decode(&format!("{token}.d")), None);
    }

    #[test]
    fn a_payload_of_16_kib_is_read_and_a_longer_one_is_not() {
        // 12,288 bytes of JSON are 16,384 base64 characters, no padding.
        let at_limit = format!(r#"{{"sub":"{}"}}"#, "x".repeat(12_278));
        let token = jwt(&at_limit);
        assert_eq!(token.split('.').nth(1).unwrap().len(), 16_384);
        assert_eq!(decode(&token).unwrap().sub.unwrap().len(), 12_278);
        // 3 bytes more: 16,388 characters, valid base64, refused unread.
        let over = format!(r#"{{"sub":"{}"}}"#, "x".repeat(12_281));
        let token = jwt(&over);
        assert_eq!(token.split('.').nth(1).unwrap().len(), 16_388);
        assert_eq!(decode(&token), None);
    }
}
