//! The account guard (`docs/reference.md` §12): every role a run assumes,
//! and the role STS says it assumed, must be in an account the user
//! allowed. Pure: settings and ARNs in, an error out.

use crate::error::Error;
use crate::settings::{account_of, Settings, Source, Sourced};

/// An account id under mask account, as `Log` shows the role's.
const MASKED: &str = "************";

/// Checks, before any request, that every role of the run (the first
/// hop's, then each chained hop's, with the setting each came from) is in
/// an allowed account. The first that is not stops the run (exit 2),
/// named with its account.
pub fn check_roles(s: &Settings, roles: &[(&str, Source)]) -> Result<(), Error> {
    let Some(allowed) = &s.allowed_accounts else {
        return Ok(());
    };
    for (i, (arn, source)) in roles.iter().enumerate() {
        let account = account_of(arn).unwrap_or_default();
        if allowed.iter().any(|a| a == account) {
            continue;
        }
        let hop = match roles.len() {
            1 => String::new(),
            n => format!("hop {} of {n}: ", i + 1),
        };
        return Err(Error::Conflict(format!(
            "{hop}the role {} (from {source}) is in account {}, which {}; \
             fix the role ARN, or add the account to {} if the role is meant to be used{}",
            hidden(arn, account, s.mask_account),
            hidden(account, account, s.mask_account),
            not_allowed(allowed, s.mask_account),
            allowed.source,
            masked_note(s.mask_account),
        )));
    }
    Ok(())
}

/// Checks the role STS says it assumed (`AssumedRoleUser/Arn` of each
/// hop's answer, and of a cached entry) against the same list, after the
/// answer and before any output is written or the next hop is signed: an
/// answer for another account, or one that names no role, is not what was
/// asked (exit 5), and nothing is written.
pub fn check_answer(s: &Settings, assumed: Option<&str>) -> Result<(), Error> {
    let Some(allowed) = &s.allowed_accounts else {
        return Ok(());
    };
    const WHERE: &str = "nothing was written; check that the STS endpoint is AWS STS \
         and that nothing between (a proxy, a private endpoint) answers in its place";
    let Some(arn) = assumed else {
        return Err(Error::Response(format!(
            "STS answered without AssumedRoleUser/Arn, so its account cannot be checked against {}; {WHERE}",
            allowed.source
        )));
    };
    let account = account_of(arn).unwrap_or_default();
    if allowed.iter().any(|a| a == account) {
        return Ok(());
    }
    Err(Error::Response(format!(
        "STS answered with credentials for {} in account {}, which {}; {WHERE}{}",
        hidden(arn, account, s.mask_account),
        match account {
            "" => "(none in the ARN)".to_string(),
            a => hidden(a, a, s.mask_account),
        },
        not_allowed(allowed, s.mask_account),
        masked_note(s.mask_account),
    )))
}

/// `text` with `account` shown as `************` under mask account, as
/// every log line shows the role's account; a disallowed account is
/// usually another one, which `Log` does not know to mask.
fn hidden(text: &str, account: &str, masked: bool) -> String {
    match masked && !account.is_empty() {
        true => text.replace(account, MASKED),
        false => text.to_string(),
    }
}

fn not_allowed(allowed: &Sourced<Vec<String>>, masked: bool) -> String {
    format!(
        "{} does not list ({})",
        allowed.source,
        crate::settings::listed(allowed, masked)
    )
}

/// Under mask account the message cannot show which ids differ, so it
/// says where to compare them.
fn masked_note(masked: bool) -> &'static str {
    match masked {
        true => " (account ids are masked because mask account is on; compare them where the log is private, with mask account off)",
        false => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::settings;

    const ROLE: &str = "arn:aws:iam::123456789012:role/ci";
    const OTHER: &str = "arn:aws:iam::210987654321:role/deploy";

    fn with(allowed: &str, mask: bool) -> Settings {
        let mask = if mask { "true" } else { "false" };
        settings(&[
            ("PLUGIN_ALLOWED_ACCOUNT_IDS", allowed),
            ("PLUGIN_MASK_ACCOUNT_ID", mask),
        ])
    }

    #[test]
    fn every_role_must_be_in_an_allowed_account() {
        let role = (ROLE, Source::Env("PLUGIN_IAMROLEARN"));
        let other = (OTHER, Source::Env("PLUGIN_CHAIN_ROLE_ARN"));
        let s = with("123456789012, 210987654321", false);
        assert_eq!(check_roles(&s, &[role, other]), Ok(()));
        let s = with("123456789012", false);
        assert_eq!(check_roles(&s, &[role]), Ok(()));
        let e = check_roles(&s, &[role, other]).unwrap_err();
        assert_eq!(e.code(), 2);
        assert_eq!(
            e.to_string(),
            "hop 2 of 2: the role arn:aws:iam::210987654321:role/deploy (from PLUGIN_CHAIN_ROLE_ARN) \
             is in account 210987654321, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (123456789012); \
             fix the role ARN, or add the account to PLUGIN_ALLOWED_ACCOUNT_IDS if the role is meant to be used"
        );
        let s = with("210987654321", false);
        let e = check_roles(&s, &[role]).unwrap_err().to_string();
        assert!(e.starts_with("the role arn:aws:iam::123456789012:role/ci (from PLUGIN_IAMROLEARN) is in account 123456789012, which"), "{e}");
        // Unset: any account.
        let mut s = with("123456789012", false);
        s.allowed_accounts = None;
        assert_eq!(check_roles(&s, &[role, other]), Ok(()));
        assert_eq!(check_answer(&s, None), Ok(()));
    }

    #[test]
    fn under_mask_account_no_account_id_is_shown() {
        let s = with("123456789012,111111111111", true);
        let other = (OTHER, Source::Env("PLUGIN_CHAIN_ROLE_ARN"));
        let e = check_roles(&s, &[other]).unwrap_err().to_string();
        for id in ["123456789012", "111111111111", "210987654321"] {
            assert!(!e.contains(id), "{e}");
        }
        assert!(e.contains("arn:aws:iam::************:role/deploy"), "{e}");
        assert!(e.contains("does not list (2 account ids, masked)"), "{e}");
        assert!(
            e.contains("account ids are masked because mask account is on"),
            "{e}"
        );
        let e = check_answer(&s, Some("arn:aws:sts::210987654321:assumed-role/x/s"));
        let e = e.unwrap_err().to_string();
        assert!(!e.contains("210987654321"), "{e}");
        assert_eq!(
            crate::settings::listed(&["123456789012".into()], true),
            "1 account id, masked"
        );
    }

    #[test]
    fn the_answer_must_name_a_role_in_an_allowed_account() {
        let s = with("123456789012", false);
        let ok = "arn:aws:sts::123456789012:assumed-role/ci/s";
        assert_eq!(check_answer(&s, Some(ok)), Ok(()));
        for (arn, says) in [
            (
                Some("arn:aws:sts::210987654321:assumed-role/ci/s"),
                "STS answered with credentials for arn:aws:sts::210987654321:assumed-role/ci/s in account 210987654321, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (123456789012); nothing was written",
            ),
            (Some("not-an-arn"), "in account (none in the ARN), which"),
            (None, "STS answered without AssumedRoleUser/Arn, so its account cannot be checked against PLUGIN_ALLOWED_ACCOUNT_IDS; nothing was written"),
        ] {
            let e = check_answer(&s, arn).unwrap_err();
            assert_eq!(e.code(), 5);
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
