//! The forms the run sends (`docs/reference.md` §3.1 and §11): the
//! `AssumeRoleWithWebIdentity` form, one `AssumeRole` form for each
//! chained hop, and `--verify`'s `GetCallerIdentity`. Pure.

use crate::secret::Secret;
use crate::settings::{RoleArn, Settings};

/// AWS caps a session reached by chaining roles at one hour.
pub const CHAINED_MAX: u32 = 3600;

/// What the first hop asks for when chaining: its credentials only sign
/// the next call.
pub const FIRST_OF_CHAIN: u32 = 900;

/// A form value: plain, or a secret that is shown redacted.
#[derive(Debug, Clone)]
pub enum Field<'a> {
    /// Safe to show.
    Plain(String),
    /// Sent as is, shown as `<redacted, N chars>`.
    Secret(&'a Secret),
}

impl Field<'_> {
    /// The value as it is sent.
    pub fn send(&self) -> &str {
        match self {
            Field::Plain(s) => s,
            Field::Secret(s) => s.expose(),
        }
    }

    /// The value as it may be shown.
    pub fn show(&self) -> String {
        match self {
            Field::Plain(s) => s.clone(),
            Field::Secret(s) => format!("<redacted, {} chars>", s.len()),
        }
    }
}

/// One form: its fields in the order sent.
pub type Form<'a> = Vec<(String, Field<'a>)>;

/// The first hop's form (`docs/reference.md` §3.1). The token goes only
/// here, never into a URL.
pub fn form(s: &Settings) -> Form<'_> {
    let mut f = head("AssumeRoleWithWebIdentity", &s.role, s);
    f.push(("WebIdentityToken".to_string(), Field::Secret(&s.token)));
    match s.chained().is_empty() {
        true => {
            if let Some(d) = &s.duration {
                f.push(("DurationSeconds".into(), Field::Plain(d.to_string())));
            }
            policies(s, &mut f);
        }
        // With --serve its credentials re-assume the chain at every
        // refresh (§14.2): they get the duration asked for, else STS's.
        false if s.serve.value => {
            if let Some(d) = &s.duration {
                f.push(("DurationSeconds".into(), Field::Plain(d.to_string())));
            }
        }
        false => f.push((
            "DurationSeconds".into(),
            Field::Plain(FIRST_OF_CHAIN.to_string()),
        )),
    }
    f
}

/// Every hop's form, in order: the first hop's, then one `AssumeRole` form
/// for each chained role. Everything that changes the credentials written
/// is in these forms but the token's value and the endpoint, so a cache
/// key can hash them (each field's `send()` value).
pub fn hop_forms(s: &Settings) -> Vec<Form<'_>> {
    let chained = s.chained();
    let mut hops = vec![form(s)];
    for (i, role) in chained.iter().enumerate() {
        let mut f = head("AssumeRole", role, s);
        if let Some(id) = &s.chain.external_id {
            f.push(("ExternalId".into(), Field::Plain(id.value.clone())));
        }
        session_tags(s, &mut f);
        if let Some(d) = chained_duration(s) {
            f.push(("DurationSeconds".into(), Field::Plain(d.to_string())));
        }
        if i + 1 == chained.len() {
            policies(s, &mut f);
        }
        hops.push(f);
    }
    hops
}

/// What every chained hop asks for: the duration, at most
/// [`CHAINED_MAX`]; none when the duration is unset (STS's default is
/// the hour).
pub fn chained_duration(s: &Settings) -> Option<u32> {
    s.duration.as_ref().map(|d| d.value.min(CHAINED_MAX))
}

/// `--verify`'s form.
pub fn caller_identity_form() -> Form<'static> {
    vec![
        (
            "Action".to_string(),
            Field::Plain("GetCallerIdentity".into()),
        ),
        ("Version".to_string(), Field::Plain("2011-06-15".into())),
    ]
}

/// Action, Version, RoleArn and RoleSessionName: the same session name on
/// every hop.
fn head<'a>(action: &str, role: &RoleArn, s: &'a Settings) -> Form<'a> {
    vec![
        ("Action".to_string(), Field::Plain(action.into())),
        ("Version".to_string(), Field::Plain("2011-06-15".into())),
        ("RoleArn".to_string(), Field::Plain(role.arn.clone())),
        (
            "RoleSessionName".to_string(),
            Field::Plain(s.session_name.value.clone()),
        ),
    ]
}

/// The session tags, the transitive keys and the source identity, which go
/// on every chained hop and never on the first (§11.6).
fn session_tags(s: &Settings, f: &mut Form) {
    let t = &s.chain.tags;
    for (i, (key, value)) in t.tags().iter().enumerate() {
        let n = i + 1;
        f.push((format!("Tags.member.{n}.Key"), Field::Plain(key.clone())));
        f.push((
            format!("Tags.member.{n}.Value"),
            Field::Plain(value.clone()),
        ));
    }
    for (i, key) in t.transitive().iter().enumerate() {
        let name = format!("TransitiveTagKeys.member.{}", i + 1);
        f.push((name, Field::Plain(key.clone())));
    }
    if let Some(id) = &t.source_identity {
        f.push(("SourceIdentity".into(), Field::Plain(id.value.clone())));
    }
}

/// The session policies, which go only on the last hop: the one whose
/// credentials are written.
fn policies<'a>(s: &'a Settings, f: &mut Form<'a>) {
    if let Some(p) = &s.policy {
        f.push(("Policy".into(), Field::Secret(&p.value)));
    }
    for (i, arn) in s.policy_arns().iter().enumerate() {
        f.push((
            format!("PolicyArns.member.{}.arn", i + 1),
            Field::Plain(arn.clone()),
        ));
    }
}

/// The form as `application/x-www-form-urlencoded` text: every byte but
/// `A-Z a-z 0-9 - _ . ~` percent-encoded, a space as `+`. Built once, so
/// the body signed is the body sent.
pub fn encoded(fields: &[(String, Field)]) -> String {
    let enc = |s: &str| crate::request::sigv4::uri_encode(s).replace("%20", "+");
    let pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v.send())))
        .collect();
    pairs.join("&")
}

/// The form as [`encoded`] writes it, with `token` as its
/// `WebIdentityToken`: a token read again before a retry
/// (`docs/reference.md` §1.3).
pub fn encoded_with_token(fields: &[(String, Field)], token: &Secret) -> String {
    let fields: Vec<(String, Field)> = fields
        .iter()
        .map(|(k, v)| match k == "WebIdentityToken" {
            true => (k.clone(), Field::Secret(token)),
            false => (k.clone(), v.clone()),
        })
        .collect();
    encoded(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(form: &Form) -> Vec<String> {
        form.iter()
            .map(|(k, v)| format!("{k}={}", v.show()))
            .collect()
    }

    #[test]
    fn chained_hops_carry_the_external_id_the_capped_duration_and_the_policies_last() {
        let s = crate::testing::settings(&[
            (
                "PLUGIN_CHAIN_ROLE_ARN",
                "arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b",
            ),
            ("PLUGIN_EXTERNAL_ID", "ext-1"),
            ("PLUGIN_DURATION", "7200"),
            ("PLUGIN_POLICY", "{}"),
            (
                "PLUGIN_POLICY_ARNS",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
        ]);
        let hops: Vec<Vec<String>> = hop_forms(&s).iter().map(shown).collect();
        let session = format!("RoleSessionName={}", s.session_name.value);
        assert_eq!(hops.len(), 3);
        assert_eq!(hops[0][0], "Action=AssumeRoleWithWebIdentity");
        assert_eq!(hops[0][5], "DurationSeconds=900");
        assert_eq!(hops[0].len(), 6, "{:?}", hops[0]);
        assert_eq!(
            hops[1],
            [
                "Action=AssumeRole",
                "Version=2011-06-15",
                "RoleArn=arn:aws:iam::111111111111:role/a",
                &session,
                "ExternalId=ext-1",
                "DurationSeconds=3600"
            ]
        );
        assert_eq!(
            hops[2],
            [
                "Action=AssumeRole",
                "Version=2011-06-15",
                "RoleArn=arn:aws:iam::222222222222:role/b",
                &session,
                "ExternalId=ext-1",
                "DurationSeconds=3600",
                "Policy=<redacted, 2 chars>",
                "PolicyArns.member.1.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"
            ]
        );
    }

    #[test]
    fn session_tags_go_on_every_chained_hop_and_never_on_the_first() {
        let s = crate::testing::settings(&[
            (
                "PLUGIN_CHAIN_ROLE_ARN",
                "arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b",
            ),
            ("PLUGIN_TAGS", "team=ci, env=prod 1"),
            ("PLUGIN_TRANSITIVE_TAG_KEYS", "team"),
            ("PLUGIN_SOURCE_IDENTITY", "alice"),
        ]);
        let hops: Vec<Vec<String>> = hop_forms(&s).iter().map(shown).collect();
        assert!(
            !hops[0].iter().any(|f| f.starts_with("Tags.")
                || f.starts_with("Transitive")
                || f.starts_with("SourceIdentity")),
            "{:?}",
            hops[0]
        );
        for hop in &hops[1..] {
            assert_eq!(
                hop[4..],
                [
                    "Tags.member.1.Key=team",
                    "Tags.member.1.Value=ci",
                    "Tags.member.2.Key=env",
                    "Tags.member.2.Value=prod 1",
                    "TransitiveTagKeys.member.1=team",
                    "SourceIdentity=alice",
                ]
            );
        }
    }

    #[test]
    fn one_hop_is_the_web_identity_form_as_before() {
        let s = crate::testing::settings(&[("PLUGIN_DURATION", "7200")]);
        let hops = hop_forms(&s);
        assert_eq!(hops.len(), 1);
        let f = shown(&hops[0]);
        assert!(f.contains(&"DurationSeconds=7200".to_string()), "{f:?}");
        assert!(!f.iter().any(|x| x.starts_with("ExternalId")), "{f:?}");
    }

    #[test]
    fn a_token_read_again_replaces_only_the_token() {
        let s = crate::testing::settings(&[("PLUGIN_DURATION", "7200")]);
        let f = form(&s);
        let again = Secret::new("efgh");
        assert_eq!(
            encoded_with_token(&f, &again),
            encoded(&f).replace("WebIdentityToken=abcd", "WebIdentityToken=efgh")
        );
        assert!(encoded(&f).contains("WebIdentityToken=abcd&"));
    }

    #[test]
    fn the_body_is_form_encoded() {
        let f = vec![
            ("A b".to_string(), Field::Plain("x+y z&%/~".into())),
            ("C".to_string(), Field::Plain(String::new())),
        ];
        assert_eq!(encoded(&f), "A+b=x%2By+z%26%25%2F~&C=");
    }
}
