//! The rules each setting's value must follow (`docs/reference.md` §1.2):
//! pure functions from the trimmed text to a typed value, or a message
//! that says what is accepted.

use std::time::Duration;

use crate::error::quoted;
use crate::log::Level;
use crate::partition;

/// The role to assume, split into the parts the endpoint rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    /// The whole ARN.
    pub arn: String,
    /// `aws`, `aws-cn`, ...
    pub partition: String,
    /// The 12-digit account id.
    pub account: String,
}

/// The output format (`docs/reference.md` §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `KEY=VALUE` lines.
    Dotenv,
    /// `export KEY='VALUE'` lines.
    Shell,
    /// One JSON object.
    Json,
    /// AWS's `credential_process` JSON.
    CredentialProcess,
    /// `set -gx KEY 'VALUE'` lines, for fish.
    Fish,
    /// `$env:KEY = 'VALUE'` lines, for PowerShell.
    PowerShell,
}

impl Format {
    /// The name as users write it (`dotenv`, `credential-process`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Dotenv => "dotenv",
            Format::Shell => "shell",
            Format::Json => "json",
            Format::CredentialProcess => "credential-process",
            Format::Fish => "fish",
            Format::PowerShell => "powershell",
        }
    }
}

/// The account of a value shaped like an ARN: its fifth `:` field, when
/// that is 12 digits. The ARN rule reads it here, and so does the account
/// mask, which must hide it even when another part of the ARN is wrong.
pub fn account_of(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn parse_role_arn(s: &str) -> Result<RoleArn, String> {
    const WANT: &str = "expected arn:PARTITION:iam::ACCOUNT:role/NAME, for example arn:aws:iam::123456789012:role/ci-deploy";
    let n = s.chars().count();
    if !(20..=2048).contains(&n) {
        return Err(format!(
            "a role ARN is 20-2048 chars, this one is {n}; {WANT}"
        ));
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(format!("{} is not a role ARN; {WANT}", quoted(s)));
    };
    if arn != "arn" || service != "iam" || !region.is_empty() {
        return Err(format!("{} is not an IAM role ARN; {WANT}", quoted(s)));
    }
    if !partition::is_known(partition) {
        return Err(format!(
            "partition {} is not known; use one of {}",
            quoted(partition),
            partition::names()
        ));
    }
    if account_of(s) != Some(account) {
        return Err(format!(
            "account {} is not 12 digits; {WANT}",
            quoted(account)
        ));
    }
    let Some(path) = resource.strip_prefix("role/") else {
        return Err(format!(
            "{} is not a role (role/NAME); {WANT}",
            quoted(resource)
        ));
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    if path.is_empty() || path.ends_with('/') || path.starts_with('/') || !path.chars().all(ok) {
        return Err(format!(
            "role name {} is not valid; names and paths use A-Z a-z 0-9 +=,.@_- and /",
            quoted(path)
        ));
    }
    Ok(RoleArn {
        arn: s.to_string(),
        partition: partition.to_string(),
        account: account.to_string(),
    })
}

/// Replaces characters STS rejects with `-` and cuts to 64. Returns the name
/// and whether it changed.
pub fn sanitize_session_name(s: &str) -> Result<(String, bool), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let name: String = s
        .chars()
        .map(|c| if ok(c) { c } else { '-' })
        .take(64)
        .collect();
    // A token with a stray character is JWT-shaped once it is cleaned: it
    // is described by the cleaned form, never quoted.
    let cleaned: String = s.chars().map(|c| if ok(c) { c } else { '-' }).collect();
    if crate::error::a_jwt(&cleaned) {
        return Err(format!(
            "{} is not a session name; {SESSION_TOKEN}",
            quoted(&cleaned)
        ));
    }
    if name.len() < 2 {
        return Err("a session name needs 2-64 chars of A-Z a-z 0-9 _+=,.@-".into());
    }
    let changed = name != s;
    Ok((name, changed))
}

/// What to do about a token given as the session name, which is refused
/// rather than cut to 64 characters and sent.
pub const SESSION_TOKEN: &str = "STS records the session name in CloudTrail, \
    so set it to a name such as the pipeline's (2-64 chars of A-Z a-z 0-9 _+=,.@-)";

/// Splits `90`, `90s`, `15m`, `1h` into seconds.
fn parse_seconds(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(n * mult)
}

/// `DurationSeconds`: 900-43200, as `3600`, `3600s`, `15m` or `1h`.
pub fn parse_duration(s: &str) -> Result<u32, String> {
    match parse_seconds(s) {
        Some(n @ 900..=43200) => Ok(n as u32),
        Some(n) => Err(format!(
            "{n} seconds is outside 900-43200 (15m-12h); the role's maximum session duration also caps it"
        )),
        None => Err(format!("{} is not a duration; use seconds (3600) or 3600s, 15m, 1h", quoted(s))),
    }
}

/// The whole-run timeout, 1 s to 1 h.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    match parse_seconds(s) {
        Some(n @ 1..=3600) => Ok(Duration::from_secs(n)),
        Some(n) => Err(format!("{n} seconds is outside 1s-1h")),
        None => Err(format!(
            "{} is not a duration; use 90, 90s or 2m",
            quoted(s)
        )),
    }
}

/// The attempt cap, 1-1000.
pub fn parse_attempts(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ 1..=1000) => Ok(n),
        _ => Err(format!(
            "{} is not accepted; use a whole number 1-1000 (1 means no retry)",
            quoted(s)
        )),
    }
}

/// A region (`^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$`) or `aws-global`.
pub fn parse_region(s: &str) -> Result<String, String> {
    if s == "aws-global" || is_region(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{} is not a region; use a region code such as us-east-1 or eu-west-2, or aws-global",
            quoted(s)
        ))
    }
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && first.len() >= 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Booleans: true/false/1/0/yes/no/on/off in any case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{} is not a boolean; use true/false, 1/0, yes/no or on/off",
            quoted(s)
        )),
    }
}

/// Log levels, any case.
pub fn parse_level(s: &str) -> Result<Level, String> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Ok(Level::Error),
        "warn" | "warning" => Ok(Level::Warn),
        "info" => Ok(Level::Info),
        "debug" => Ok(Level::Debug),
        "trace" => Ok(Level::Trace),
        _ => Err(format!(
            "{} is not a log level; use error, warn, info, debug or trace",
            quoted(s)
        )),
    }
}

/// Output formats.
pub fn parse_format(s: &str) -> Result<Format, String> {
    match s.to_ascii_lowercase().as_str() {
        "dotenv" | "env" => Ok(Format::Dotenv),
        "shell" | "sh" => Ok(Format::Shell),
        "json" => Ok(Format::Json),
        "credential-process" | "credential_process" => Ok(Format::CredentialProcess),
        "fish" => Ok(Format::Fish),
        "powershell" | "pwsh" => Ok(Format::PowerShell),
        _ => Err(format!(
            "{} is not a format; use dotenv, shell, json, credential-process, fish or powershell",
            quoted(s)
        )),
    }
}

/// The entries of a list setting: separated by commas or newlines, each
/// trimmed, blanks dropped (a trailing comma, a YAML block's last newline).
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect()
}

/// Managed policy ARNs, separated by commas or newlines, at most 10.
pub fn parse_policy_arns(s: &str) -> Result<Vec<String>, String> {
    let arns = split_list(s);
    if arns.len() > 10 {
        return Err(format!(
            "{} policy ARNs given; STS accepts at most 10",
            arns.len()
        ));
    }
    for arn in &arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = matches!(parts[..], ["arn", p, "iam", "", _, r]
            if partition::is_known(p) && r.starts_with("policy/") && r.len() > 7)
            && (20..=2048).contains(&arn.len());
        if !ok {
            return Err(format!(
                "{} is not a managed policy ARN; expected arn:aws:iam::ACCOUNT:policy/NAME or arn:aws:iam::aws:policy/NAME",
                quoted(arn)
            ));
        }
    }
    Ok(arns)
}

/// An inline session policy: 1-2048 characters STS accepts (tab, newline,
/// carriage return and U+0020-U+00FF, checked here so that STS never has
/// to quote the policy back), holding JSON. The policy is never quoted.
pub fn check_policy(policy: &str) -> Result<(), String> {
    let n = policy.chars().count();
    if n > 2048 {
        return Err(format!(
            "the session policy is {n} chars; STS accepts 1-2048 (whitespace counts)"
        ));
    }
    if let Some(c) = policy
        .chars()
        .find(|c| !matches!(*c, '\t' | '\n' | '\r' | ' '..='\u{ff}'))
    {
        return Err(format!("the session policy holds U+{:04X}, which STS does not accept (tab, newline and U+0020-U+00FF only)", c as u32));
    }
    if crate::json::parse(policy).is_none() {
        return Err(format!("the session policy ({n} chars) is not valid JSON; pass an IAM policy document such as {{\"Version\":\"2012-10-17\",\"Statement\":[...]}}"));
    }
    Ok(())
}

/// Allowed account ids (`docs/reference.md` §12): 12-digit ids separated
/// by commas or newlines, blanks around them ignored. The first entry that
/// is not 12 digits is named, so the user sees which one to fix.
pub fn parse_account_ids(s: &str) -> Result<Vec<String>, String> {
    let ids = split_list(s);
    if let Some(bad) = ids
        .iter()
        .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{} is not a 12-digit account id; list account ids separated by commas, such as 123456789012,210987654321",
            quoted(bad)
        ));
    }
    match ids.is_empty() {
        true => Err("the list holds no account id; list 12-digit account ids separated by commas, or leave it unset to allow any account".into()),
        false => Ok(ids),
    }
}
