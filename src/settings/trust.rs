//! `--trust-policy`'s settings (`docs/reference.md` §15): whether the run
//! prints the trust policies instead of asking STS, and in what form.

use super::defs::{FORMAT, TRUST_POLICY};
use super::Inputs;
use crate::error::{quoted, Error};

/// The form `--trust-policy` prints in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustFormat {
    /// IAM's JSON policy documents, one per role.
    Json,
    /// Terraform: `aws_iam_openid_connect_provider` and `aws_iam_role`.
    Terraform,
    /// CloudFormation templates, one per account.
    CloudFormation,
}

/// `--trust-policy`'s formats, any case.
pub fn parse_trust_format(s: &str) -> Result<TrustFormat, String> {
    match s.to_ascii_lowercase().as_str() {
        "json" => Ok(TrustFormat::Json),
        "terraform" | "tf" | "hcl" => Ok(TrustFormat::Terraform),
        "cloudformation" | "cfn" => Ok(TrustFormat::CloudFormation),
        _ => Err(format!(
            "{} is not a format of --trust-policy; use json, terraform or cloudformation",
            quoted(s)
        )),
    }
}

/// The trust-policy mode and its format when `--trust-policy` is on; the
/// output format setting is then read as its format (json by default).
pub(super) fn mode(inputs: &Inputs) -> Result<Option<TrustFormat>, Error> {
    if !inputs.boolean(&TRUST_POLICY)?.value {
        return Ok(None);
    }
    let format = inputs.parsed(&FORMAT, parse_trust_format)?;
    Ok(Some(format.map_or(TrustFormat::Json, |f| f.value)))
}
