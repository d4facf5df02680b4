//! Hints: what to check when STS says no (`docs/reference.md` §5.4). Pure.

use crate::claims::Claims;
use crate::time::human;

/// A hint for an STS error code, from the token's claims and the role's
/// partition. `None` when there is nothing more useful to say than STS did.
pub fn hint(
    code: &str,
    message: &str,
    claims: Option<&Claims>,
    partition: &str,
    account: &str,
    now: i64,
) -> Option<String> {
    let claims_text = match claims {
        Some(c) => format!("the token has {}", c.summary(now)),
        None => "the token is not a JWT, so its claims cannot be shown".to_string(),
    };
    let expired = claims.and_then(|c| c.exp).filter(|exp| *exp <= now);
    let cn = if partition == "aws-cn" {
        "; in aws-cn the audience must be sts.amazonaws.com.cn"
    } else {
        ""
    };
    let provider = claims.and_then(|c| c.iss.as_deref()).map(|iss| {
        iss.trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string()
    });
    let trust = match &provider {
        Some(p) => format!(
            "the role's trust policy must allow sts:AssumeRoleWithWebIdentity for Federated arn:{partition}:iam::{account}:oidc-provider/{p}, and its conditions on {p}:aud and {p}:sub must match these values{cn}"
        ),
        None => format!("the role's trust policy must name this token's OIDC provider and match its aud and sub{cn}"),
    };
    match code {
        "AccessDenied" => Some(format!("{claims_text}; {trust}")),
        "InvalidIdentityToken" => {
            let what = match (expired, &provider) {
                (Some(exp), _) => format!("the token expired {} ago", human(now - exp)),
                (None, Some(p)) => format!(
                    "check that account {account} has an IAM OIDC provider for https://{p} whose audiences include the token's aud"
                ),
                (None, None) => "check that the account has an IAM OIDC provider for the token's issuer".to_string(),
            };
            Some(format!("{claims_text}; {what}{cn}"))
        }
        "ExpiredTokenException" => Some(match expired {
            Some(exp) => format!("the token expired {} ago; request it closer to this step or with a longer lifetime", human(now - exp)),
            None => format!("{claims_text}; STS considers it expired, so check this machine's clock and the token's lifetime"),
        }),
        "IDPRejectedClaim" => Some(format!("{claims_text}; the identity provider or the trust policy rejected one of these claims")),
        "IDPCommunicationError" => Some(match &provider {
            Some(p) => format!("STS could not reach the identity provider; check that https://{p}/.well-known/openid-configuration is reachable from the internet"),
            None => "STS could not reach the identity provider; check that its discovery document is reachable from the internet".to_string(),
        }),
        "RegionDisabledException" => Some(
            "STS is not activated for this account in this region; activate it in IAM account settings, or choose another region (PLUGIN_REGION)".into(),
        ),
        "MalformedPolicyDocument" => Some("fix the session policy in PLUGIN_POLICY (--policy); it must be a valid IAM policy JSON document".into()),
        "PackedPolicyTooLarge" => Some("the session policies are too large once packed; shorten PLUGIN_POLICY or pass fewer PLUGIN_POLICY_ARNS".into()),
        "ValidationError" | "InvalidParameterValue" if message.contains("DurationSeconds") || message.to_ascii_lowercase().contains("duration") => Some(
            "the duration (PLUGIN_DURATION) must not exceed the role's maximum session duration, which is 1h unless raised on the role".into(),
        ),
        "ValidationError" | "InvalidParameterValue" => Some("check the setting the message names".into()),
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => Some(
            "STS kept throttling; raise PLUGIN_TIMEOUT (and PLUGIN_MAX_ATTEMPTS, if set), or stagger the pipelines that start together".into(),
        ),
        _ => None,
    }
}

/// Whether a code's hint from [`hint`] is about the token and the
/// web-identity trust, which a chained hop does not use.
pub fn about_web_identity(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "InvalidIdentityToken"
            | "ExpiredTokenException"
            | "IDPRejectedClaim"
            | "IDPCommunicationError"
    )
}

/// A hint for refused credentials: the previous hop's, that signed a
/// chained hop, or the new ones `--verify` signed with.
fn credentials_refused(code: &str, whose: &str) -> Option<String> {
    matches!(
        code,
        "ExpiredToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch" | "IncompleteSignature"
    )
    .then(|| format!(
        "STS did not accept {whose}; check this machine's clock, and that the endpoint is STS itself (every call goes to the same endpoint)"
    ))
}

/// A hint for `--verify`'s refused `GetCallerIdentity`, signed with the
/// credentials just issued.
pub fn verify_hint(code: &str) -> Option<String> {
    credentials_refused(code, "the new credentials that signed GetCallerIdentity")
}

/// A hint for a refused chained hop (`sts:AssumeRole` signed with the
/// previous hop's credentials): `previous` is the previous hop's
/// assumed-role ARN when STS sent one, `target` the role asked for,
/// `external_id` where the external ID sent came from (none sent: `None`).
/// `None` when the code says nothing particular to chaining.
pub fn chained_hint(
    code: &str,
    previous: Option<&str>,
    target: &str,
    external_id: Option<&str>,
) -> Option<String> {
    let previous = previous.unwrap_or("the previous hop's assumed role");
    match code {
        "AccessDenied" => Some(format!(
            "three things must hold: the previous role's policy allows sts:AssumeRole on {target}; \
             the trust policy of {target} names the previous assumed role {previous} (as its role ARN, \
             arn:PARTITION:iam::ACCOUNT:role/NAME) as a Principal; and {}",
            match external_id {
                Some(source) => format!("its sts:ExternalId condition, if any, matches the external ID (from {source})"),
                None => "if that trust policy requires an sts:ExternalId, set it (PLUGIN_EXTERNAL_ID, --external-id)".into(),
            }
        )),
        _ => credentials_refused(code, &format!("the credentials of {previous} that signed this hop")),
    }
}

/// What to do after an outage: STS, or something between, failed.
pub const OUTAGE: &str = "STS or something in between failed; it is retried until the timeout (or the attempt cap); raise PLUGIN_TIMEOUT or try later";

/// The hint when [`hint`] has none: an outage for a 5xx (STS sends
/// `InternalFailure` and `ServiceUnavailable` so), else where to look up a
/// code this tool does not know.
pub fn fallback(status: u16, action: &str) -> String {
    match status {
        500.. => OUTAGE.to_string(),
        _ => format!("aws-oidc has no hint for this code; look it up under Errors in STS's {action} API reference, and check the settings its message names"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: Some("https://app.harness.io/ng/api/oidc/account/acc1".into()),
            aud: vec!["sts.amazonaws.com".into()],
            sub: Some("pipeline:p1".into()),
            exp: Some(exp),
        }
    }

    #[test]
    fn hints() {
        let now = 1_800_000_000;
        let h = hint(
            "AccessDenied",
            "Not authorized",
            Some(&claims(now + 60)),
            "aws",
            "123456789012",
            now,
        )
        .unwrap();
        assert!(h.contains("iss=https://app.harness.io/ng/api/oidc/account/acc1 aud=sts.amazonaws.com sub=pipeline:p1"), "{h}");
        assert!(
            h.contains("oidc-provider/app.harness.io/ng/api/oidc/account/acc1"),
            "{h}"
        );
        assert!(
            h.contains("app.harness.io/ng/api/oidc/account/acc1:aud"),
            "{h}"
        );
        let h = hint(
            "AccessDenied",
            "",
            Some(&claims(now)),
            "aws-cn",
            "123456789012",
            now,
        )
        .unwrap();
        assert!(
            h.contains("sts.amazonaws.com.cn") && h.contains("arn:aws-cn:iam::"),
            "{h}"
        );
        let h = hint(
            "InvalidIdentityToken",
            "",
            Some(&claims(now - 200)),
            "aws",
            "123456789012",
            now,
        )
        .unwrap();
        assert!(h.contains("the token expired 3m 20s ago"), "{h}");
        let h = hint(
            "InvalidIdentityToken",
            "",
            Some(&claims(now + 200)),
            "aws",
            "123456789012",
            now,
        )
        .unwrap();
        assert!(
            h.contains("IAM OIDC provider for https://app.harness.io"),
            "{h}"
        );
        let h = hint(
            "ExpiredTokenException",
            "",
            Some(&claims(now - 7200)),
            "aws",
            "1",
            now,
        )
        .unwrap();
        assert!(h.starts_with("the token expired 2h 0m ago"), "{h}");
        let h = hint("AccessDenied", "", None, "aws", "1", now).unwrap();
        assert!(h.contains("not a JWT"), "{h}");
        let h = hint(
            "ValidationError",
            "1 validation error detected: Value '43200' at 'durationSeconds'",
            None,
            "aws",
            "1",
            now,
        )
        .unwrap();
        assert!(h.contains("maximum session duration"), "{h}");
        // Any other validation error is about the setting it names.
        for code in ["ValidationError", "InvalidParameterValue"] {
            let h = hint(
                code,
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint",
                None,
                "aws",
                "1",
                now,
            );
            assert_eq!(h.as_deref(), Some("check the setting the message names"));
        }
        assert_eq!(hint("SomethingElse", "", None, "aws", "1", now), None);
        for code in [
            "IDPRejectedClaim",
            "IDPCommunicationError",
            "RegionDisabledException",
            "MalformedPolicyDocument",
            "PackedPolicyTooLarge",
            "InvalidParameterValue",
            "Throttling",
        ] {
            assert!(
                hint(code, "", Some(&claims(now)), "aws", "1", now).is_some(),
                "{code}"
            );
        }
    }
}

#[cfg(test)]
mod chained {
    use super::*;

    #[test]
    fn access_denied_on_a_chained_hop_says_what_must_hold() {
        let prev = "arn:aws:sts::123456789012:assumed-role/ci/s";
        let target = "arn:aws:iam::210987654321:role/deploy";
        let h = chained_hint("AccessDenied", Some(prev), target, None).unwrap();
        for want in [
            "the previous role's policy allows sts:AssumeRole on arn:aws:iam::210987654321:role/deploy",
            "names the previous assumed role arn:aws:sts::123456789012:assumed-role/ci/s",
            "if that trust policy requires an sts:ExternalId, set it",
        ] {
            assert!(h.contains(want), "{want}\n{h}");
        }
        let h = chained_hint("AccessDenied", None, target, Some("--external-id")).unwrap();
        assert!(h.contains("the previous hop's assumed role"), "{h}");
        assert!(
            h.ends_with("matches the external ID (from --external-id)"),
            "{h}"
        );
        let h = chained_hint("ExpiredToken", Some(prev), target, None).unwrap();
        assert!(h.contains(prev) && h.contains("clock"), "{h}");
        assert_eq!(chained_hint("Throttling", Some(prev), target, None), None);
        assert!(verify_hint("InvalidClientTokenId")
            .unwrap()
            .contains("new credentials"));
        assert!(about_web_identity("InvalidIdentityToken") && !about_web_identity("Throttling"));
        assert!(fallback(400, "AssumeRole").contains("STS's AssumeRole API reference"));
    }
}
