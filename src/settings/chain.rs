//! Role chaining's settings (`docs/reference.md` §11): the chained role
//! ARNs, the external ID and `--verify`.

use super::defs::{EXTERNAL_ID, VERIFY};
use super::rules::{parse_role_arn, RoleArn};
use super::{Inputs, Sourced};
use crate::error::{quoted, Error};
use crate::secret::Secret;

/// The most chained hops after the first: each is one more call within the
/// one timeout, and AWS's own tools chain one or two.
pub const MAX_CHAINED: usize = 10;

/// What role chaining reads: the chained roles (none for one hop), the
/// external ID, and whether to verify.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// The roles assumed after the first, in order.
    pub roles: Option<Sourced<Vec<RoleArn>>>,
    /// `ExternalId`, sent on every chained hop.
    pub external_id: Option<Sourced<String>>,
    /// `--verify`.
    pub verify: bool,
    /// Session tags and the source identity, sent on every chained hop.
    pub tags: super::tags::SessionTags,
}

/// Chained role ARNs, separated by commas or newlines (as the managed
/// policy ARNs), each checked as the role ARN is.
pub fn parse_chain_role_arns(s: &str) -> Result<Vec<RoleArn>, String> {
    let arns: Vec<&str> = entries(s).collect();
    if arns.len() > MAX_CHAINED {
        return Err(format!(
            "{} chained role ARNs given; at most {MAX_CHAINED} are accepted",
            arns.len()
        ));
    }
    arns.iter()
        .enumerate()
        .map(|(i, a)| parse_role_arn(a).map_err(|p| format!("hop {}: {p}", i + 2)))
        .collect()
}

/// An external ID as STS accepts it: 2-1224 characters of `[\w+=,.@:/-]`.
/// Not a secret (AWS says so; it is shown in `--check`), but a JWT pasted
/// here is described, not quoted.
pub fn parse_external_id(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    if !(2..=1224).contains(&n) {
        return Err(format!(
            "an external ID is 2-1224 chars, this one is {n}; use the value the target role's trust policy names in sts:ExternalId"
        ));
    }
    if !s.chars().all(ok) {
        return Err(format!(
            "{} holds a character STS does not accept in an external ID; use A-Z a-z 0-9 and _+=,.@:/-",
            quoted(s)
        ));
    }
    Ok(s.to_string())
}

/// Reads the chained roles, the external ID and `--verify`. The token is
/// the run's, which the external ID must not be: it is sent and shown.
/// The entries of a list setting: separated by commas or newlines, each
/// trimmed, blank ones dropped (the chained roles, `--roles`).
pub(super) fn entries(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
}

/// Reads the chained roles (`chained`, the value `resolve` read once), the
/// external ID, the session tags and `--verify`.
pub(super) fn chain(
    inputs: &Inputs,
    token: &Secret,
    chained: Option<&Sourced<String>>,
) -> Result<Chain, Error> {
    let roles = match chained {
        Some(f) => Some(Sourced {
            value: parse_chain_role_arns(&f.value).map_err(|p| Error::setting(f.source, p))?,
            source: f.source,
        }),
        None => None,
    }
    .filter(|r| !r.value.is_empty());
    let external_id = inputs.parsed(&EXTERNAL_ID, parse_external_id)?;
    if let Some(id) = external_id.as_ref().filter(|id| id.value == token.expose()) {
        return Err(Error::setting(
            id.source,
            "the external ID is the token; set it to the value the target role's trust policy names in sts:ExternalId",
        ));
    }
    if let (Some(id), None) = (&external_id, &roles) {
        return Err(Error::setting(
            id.source,
            "an external ID is sent only on chained hops (sts:AssumeRole), and AssumeRoleWithWebIdentity takes none; \
             set chained role ARNs (PLUGIN_CHAIN_ROLE_ARN, --chain-role-arn) or remove it",
        ));
    }
    let tags = super::tags::session_tags(inputs, roles.is_some(), token)?;
    Ok(Chain {
        roles,
        external_id,
        verify: inputs.boolean(&VERIFY)?.value,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_role_arns() {
        let arns = parse_chain_role_arns(
            " arn:aws:iam::111111111111:role/a ,\narn:aws-cn:iam::222222222222:role/p/b\n",
        )
        .unwrap();
        let accounts: Vec<&str> = arns.iter().map(|a| a.account.as_str()).collect();
        assert_eq!(accounts, ["111111111111", "222222222222"]);
        let e = parse_chain_role_arns("arn:aws:iam::111111111111:role/a,arn:aws:iam::1:role/b")
            .unwrap_err();
        assert!(e.starts_with("hop 3: account `1` is not 12 digits"), "{e}");
        let ten = ["arn:aws:iam::111111111111:role/a"; 10].join(",");
        assert_eq!(parse_chain_role_arns(&ten).unwrap().len(), 10);
        let eleven = ["arn:aws:iam::111111111111:role/a"; 11].join(",");
        assert!(parse_chain_role_arns(&eleven)
            .unwrap_err()
            .contains("at most 10"));
        assert_eq!(parse_chain_role_arns(" , ").unwrap(), vec![]);
    }

    #[test]
    fn external_ids() {
        for ok in ["ab", "Ext_ID+=,.@:/-9", &"x".repeat(1224)] {
            assert_eq!(parse_external_id(ok).as_deref(), Ok(ok));
        }
        for bad in ["a", &"x".repeat(1225)] {
            assert!(
                parse_external_id(bad).unwrap_err().contains("2-1224"),
                "{bad}"
            );
        }
        for bad in ["a b", "a;b", "ü-id", "a\tb"] {
            let e = parse_external_id(bad).unwrap_err();
            assert!(e.contains("does not accept"), "{e}");
        }
    }
}
