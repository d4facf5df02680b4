//! Hints: what to check when STS says no (`docs/reference.md` §5.4). Pure.

use crate::claims::Claims;
use crate::time::human;

/// How hints name the settings they point to: as the user set them (the
/// flag or the env spelling read, `--duration`, `PLUGIN_DURATION_SECONDS`),
/// else by their flag and first env name. The caller fills it from the
/// settings' sources; this module knows nothing of settings.
#[derive(Debug, Clone, Default)]
pub struct Named {
    /// The duration.
    pub duration: String,
    /// The region.
    pub region: String,
    /// The inline session policy.
    pub policy: String,
    /// The managed session policies.
    pub policy_arns: String,
    /// The timeout.
    pub timeout: String,
    /// The attempt cap, only when set.
    pub max_attempts: Option<String>,
    /// The session tags, only when set (they count towards the packed
    /// size on chained hops).
    pub tags: Option<String>,
}

/// What an AccessDenied hint ends with: the mode that prints the policy
/// that would have let the token in (`docs/reference.md` §15).
pub const TRUST_POLICY_POINTER: &str =
    "`aws-oidc --trust-policy` (PLUGIN_TRUST_POLICY=true) with these settings prints the trust policies this token and chain need";

/// A hint for an STS error code, from the token's claims and the role's
/// partition, naming settings as `named` says. `None` when there is nothing
/// more useful to say than STS did.
pub fn hint(
    code: &str,
    message: &str,
    claims: Option<&Claims>,
    (partition, account): (&str, &str),
    named: &Named,
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
        "AccessDenied" => Some(format!("{claims_text}; {trust}; {TRUST_POLICY_POINTER}")),
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
        "RegionDisabledException" => Some(format!(
            "STS is not activated for this account in this region; activate it in IAM account settings, or choose another region ({})",
            named.region
        )),
        "MalformedPolicyDocument" => Some(format!("fix the session policy in {}; it must be a valid IAM policy JSON document", named.policy)),
        "PackedPolicyTooLarge" => Some(match &named.tags {
            Some(tags) => format!(
                "the session policies and session tags are too large once packed; pass fewer or shorter tags in {tags}, shorten {} or pass fewer in {}",
                named.policy, named.policy_arns
            ),
            None => format!(
                "the session policies are too large once packed; shorten {} or pass fewer in {}",
                named.policy, named.policy_arns
            ),
        }),
        "ValidationError" | "InvalidParameterValue" if message.contains("DurationSeconds") || message.to_ascii_lowercase().contains("duration") => Some(format!(
            "the duration ({}) must not exceed the role's maximum session duration, which is 1h unless raised on the role",
            named.duration
        )),
        "ValidationError" | "InvalidParameterValue" => Some("check the setting the message names".into()),
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => Some(format!(
            "STS kept throttling; raise {}{}, or stagger the pipelines that start together",
            named.timeout,
            named.max_attempts.as_ref().map_or(String::new(), |a| format!(" and {a}"))
        )),
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
        ) + &format!("; with session tags or a source identity, it must also allow sts:TagSession or sts:SetSourceIdentity; {TRUST_POLICY_POINTER}")),
        _ => credentials_refused(code, &format!("the credentials of {previous} that signed this hop")),
    }
}

/// The hint when [`hint`] has none: an outage for a 5xx (STS sends
/// `InternalFailure` and `ServiceUnavailable` so), naming the timeout as
/// `named` does, else where to look up a code this tool does not know.
pub fn fallback(status: u16, action: &str, named: &Named) -> String {
    match status {
        500.. => format!(
            "STS or something in between failed; it is retried until the timeout (or the attempt cap); raise {} or try later",
            named.timeout
        ),
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
            ("aws", "123456789012"),
            &Named::default(),
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
            ("aws-cn", "123456789012"),
            &Named::default(),
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
            ("aws", "123456789012"),
            &Named::default(),
            now,
        )
        .unwrap();
        assert!(h.contains("the token expired 3m 20s ago"), "{h}");
        let h = hint(
            "InvalidIdentityToken",
            "",
            Some(&claims(now + 200)),
            ("aws", "123456789012"),
            &Named::default(),
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
            ("aws", "1"),
            &Named::default(),
            now,
        )
        .unwrap();
        assert!(h.starts_with("the token expired 2h 0m ago"), "{h}");
        let h = hint(
            "AccessDenied",
            "",
            None,
            ("aws", "1"),
            &Named::default(),
            now,
        )
        .unwrap();
        assert!(h.contains("not a JWT"), "{h}");
        let h = hint(
            "ValidationError",
            "1 validation error detected: Value '43200' at 'durationSeconds'",
            None,
            ("aws", "1"),
            &Named::default(),
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
                ("aws", "1"),                &Named::default(),
                now,
            );
            assert_eq!(h.as_deref(), Some("check the setting the message names"));
        }
        assert_eq!(
            hint(
                "SomethingElse",
                "",
                None,
                ("aws", "1"),
                &Named::default(),
                now
            ),
            None
        );
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
                hint(
                    code,
                    "",
                    Some(&claims(now)),
                    ("aws", "1"),
                    &Named::default(),
                    now
                )
                .is_some(),
                "{code}"
            );
        }
    }
}

#[cfg(test)]
mod named {
    use super::*;

    /// Every hint that points to a setting names it as `Named` says: the
    /// flag or env spelling the user wrote (issue 18).
    #[test]
    fn hints_name_settings_as_they_were_set() {
        let named = Named {
            duration: "--duration".into(),
            region: "AWS_DEFAULT_REGION".into(),
            policy: "PLUGIN_POLICY".into(),
            policy_arns: "PLUGIN_POLICYARNS".into(),
            timeout: "--timeout".into(),
            max_attempts: Some("PLUGIN_MAXATTEMPTS".into()),
            tags: None,
        };
        let h = |code, message| hint(code, message, None, ("aws", "1"), &named, 0).unwrap();
        for (code, message, says) in [
            (
                "ValidationError",
                "The requested DurationSeconds exceeds",
                "the duration (--duration) must not exceed",
            ),
            (
                "RegionDisabledException",
                "",
                "choose another region (AWS_DEFAULT_REGION)",
            ),
            (
                "MalformedPolicyDocument",
                "",
                "fix the session policy in PLUGIN_POLICY;",
            ),
            (
                "PackedPolicyTooLarge",
                "",
                "shorten PLUGIN_POLICY or pass fewer in PLUGIN_POLICYARNS",
            ),
            (
                "Throttling",
                "",
                "raise --timeout and PLUGIN_MAXATTEMPTS, or stagger",
            ),
        ] {
            assert!(
                h(code, message).contains(says),
                "{code}: {}",
                h(code, message)
            );
        }
        let tagged = Named {
            tags: Some("--tags".into()),
            ..named.clone()
        };
        let h = hint("PackedPolicyTooLarge", "", None, ("aws", "1"), &tagged, 0).unwrap();
        assert!(
            h.contains("session tags are too large once packed; pass fewer or shorter tags in --tags, shorten PLUGIN_POLICY"),
            "{h}"
        );
        let h = hint("AccessDenied", "", None, ("aws", "1"), &named, 0).unwrap();
        assert!(h.ends_with(TRUST_POLICY_POINTER), "{h}");
        let outage = fallback(503, "AssumeRoleWithWebIdentity", &named);
        assert!(outage.ends_with("raise --timeout or try later"), "{outage}");
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
            h.contains("matches the external ID (from --external-id); "),
            "{h}"
        );
        assert!(h.ends_with(TRUST_POLICY_POINTER), "{h}");
        let h = chained_hint("ExpiredToken", Some(prev), target, None).unwrap();
        assert!(h.contains(prev) && h.contains("clock"), "{h}");
        assert_eq!(chained_hint("Throttling", Some(prev), target, None), None);
        assert!(verify_hint("InvalidClientTokenId")
            .unwrap()
            .contains("new credentials"));
        assert!(about_web_identity("InvalidIdentityToken") && !about_web_identity("Throttling"));
        assert!(fallback(400, "AssumeRole", &Named::default())
            .contains("STS's AssumeRole API reference"));
    }
}
