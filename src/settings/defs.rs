//! The table of every setting (`docs/reference.md` §1.2): each [`Def`]
//! holds its name, flag, env spellings, default and what it accepts, and
//! drives the argument reader, `--help`, the typo warnings (§1.6) and
//! README's settings table, which a unit test checks against it.

use super::Inputs;
use crate::error::shown;

/// The default `RoleSessionName`, the same as Harness's own plugin uses, so
/// existing trust policies and CloudTrail filters keep working.
pub const DEFAULT_SESSION_NAME: &str = "harness-aws-oidc";

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag value` or `--flag=value`.
    Value,
    /// `--flag` alone means true; `--flag=false` and `--flag=true` also work.
    Bool,
}

/// One setting: its name, its flag, its env spellings in order, and what
/// `--help` and the reference table say (`docs/reference.md` §1.2).
#[derive(Debug)]
pub struct Def {
    /// What the setting is, as `--help`, messages and the reference name it.
    pub name: &'static str,
    /// The flag with its leading dashes, or `None` for runner-only files.
    pub flag: Option<&'static str>,
    /// Env names, first non-empty wins.
    pub envs: &'static [&'static str],
    /// How the flag takes its value.
    pub kind: Kind,
    /// The default, as `--help` shows it.
    pub default: &'static str,
    /// What is accepted, as `--help` shows it.
    pub accepts: &'static str,
}

macro_rules! def {
    ($name:ident, $title:expr, $flag:expr, [$($env:expr),*], $kind:ident, $default:expr, $accepts:expr) => {
        #[doc = concat!("The ", $title, " setting.")]
        pub const $name: Def = Def {
            name: $title,
            flag: $flag,
            envs: &[$($env),*],
            kind: Kind::$kind,
            default: $default,
            accepts: $accepts,
        };
    };
}

def!(
    ROLE_ARN,
    "role ARN",
    Some("--role-arn"),
    [
        "PLUGIN_IAMROLEARN",
        "PLUGIN_IAM_ROLE_ARN",
        "PLUGIN_ROLE_ARN",
        "PLUGIN_ROLEARN",
        "AWS_ROLE_ARN"
    ],
    Value,
    "required",
    "arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME"
);
def!(
    TOKEN,
    "token",
    Some("--token"),
    [
        "PLUGIN_OIDC_TOKEN_ID",
        "PLUGIN_OIDCTOKENID",
        "PLUGIN_OIDC_TOKEN"
    ],
    Value,
    "required (or a token file)",
    "the OIDC token, 4-20000 chars; visible in process lists as a flag, prefer env or a file"
);
def!(
    TOKEN_FILE,
    "token file",
    Some("--token-file"),
    [
        "PLUGIN_OIDC_TOKEN_FILE",
        "PLUGIN_OIDCTOKENFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE"
    ],
    Value,
    "none",
    "a file holding the token, read at run time; - reads stdin"
);
def!(
    SESSION_NAME,
    "session name",
    Some("--session-name"),
    [
        "PLUGIN_ROLE_SESSION_NAME",
        "PLUGIN_ROLESESSIONNAME",
        "AWS_ROLE_SESSION_NAME"
    ],
    Value,
    DEFAULT_SESSION_NAME,
    "2-64 chars of A-Z a-z 0-9 _+=,.@- (others become -)"
);
def!(
    DURATION,
    "duration",
    Some("--duration"),
    [
        "PLUGIN_DURATION",
        "PLUGIN_DURATION_SECONDS",
        "PLUGIN_DURATIONSECONDS"
    ],
    Value,
    "not sent (STS default 3600)",
    "900-43200 seconds: 3600, 3600s, 15m, 1h"
);
def!(
    REGION,
    "region",
    Some("--region"),
    ["PLUGIN_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
    Value,
    "none (global endpoint)",
    "a region such as us-east-1, or aws-global"
);
def!(ENDPOINT, "STS endpoint", Some("--endpoint"),
    ["PLUGIN_STS_ENDPOINT", "PLUGIN_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"],
    Value, "from the region",
    "https:// URL (http:// only for 127.0.0.1, ::1, localhost); AWS_* ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true");
def!(
    FIPS,
    "FIPS endpoint",
    Some("--fips"),
    ["PLUGIN_FIPS", "AWS_USE_FIPS_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    DUALSTACK,
    "dual-stack endpoint",
    Some("--dualstack"),
    ["PLUGIN_DUALSTACK", "AWS_USE_DUALSTACK_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    REGIONAL_ENDPOINTS,
    "regional vs global",
    None,
    ["AWS_STS_REGIONAL_ENDPOINTS"],
    Value,
    "regional",
    "regional or legacy"
);
def!(
    CA_BUNDLE,
    "CA bundle",
    Some("--ca-bundle"),
    ["PLUGIN_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"],
    Value,
    "built-in Mozilla roots",
    "a PEM file of CA certificates; replaces the built-in roots"
);
def!(
    POLICY,
    "inline session policy",
    Some("--policy"),
    ["PLUGIN_POLICY"],
    Value,
    "none",
    "inline session policy JSON, 1-2048 chars"
);
def!(
    POLICY_ARNS,
    "managed session policies",
    Some("--policy-arns"),
    ["PLUGIN_POLICY_ARNS", "PLUGIN_POLICYARNS"],
    Value,
    "none",
    "managed policy ARNs separated by commas or newlines, at most 10"
);
def!(
    TIMEOUT,
    "timeout",
    Some("--timeout"),
    ["PLUGIN_TIMEOUT"],
    Value,
    "60s",
    "whole run including retries, 1s-1h: 90, 90s, 2m"
);
def!(
    MAX_ATTEMPTS,
    "attempts",
    Some("--max-attempts"),
    ["PLUGIN_MAX_ATTEMPTS", "PLUGIN_MAXATTEMPTS"],
    Value,
    "none: retry until the timeout",
    "1-1000; 1 means no retry"
);
def!(
    LOG_LEVEL,
    "log level",
    Some("--log-level"),
    ["PLUGIN_LOG_LEVEL", "PLUGIN_LOGLEVEL"],
    Value,
    "info",
    "error, warn, info, debug, trace"
);
def!(
    SECRET_FILE,
    "secret output file",
    None,
    ["HARNESS_OUTPUT_SECRET_FILE"],
    Value,
    "set by Harness",
    "receives the three credentials (dotenv)"
);
def!(
    VARS_FILE,
    "output variables file",
    None,
    ["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
    Value,
    "set by the runner",
    "receives region, expiry, account and role (never credentials)"
);
def!(
    OUTPUT,
    "explicit output",
    Some("--output"),
    ["PLUGIN_OUTPUT_FILE"],
    Value,
    "HARNESS_OUTPUT_SECRET_FILE, else stdout for credential-process, else exit 6",
    "a file to append the credentials to (created 0600), or - (or /dev/stdout) for stdout"
);
def!(
    FORMAT,
    "output format",
    Some("--format"),
    ["PLUGIN_OUTPUT_FORMAT"],
    Value,
    "dotenv",
    "dotenv, shell, json, credential-process"
);
def!(
    MASK_ACCOUNT,
    "mask account id",
    Some("--mask-account-id"),
    ["PLUGIN_MASK_ACCOUNT_ID"],
    Bool,
    "false",
    "true: account id and role ARNs go only to the secret file"
);
def!(
    CACHE,
    "credential cache",
    Some("--cache"),
    ["PLUGIN_CACHE"],
    Bool,
    "false",
    "true: reuse credentials while more than 15m remain (see --cache-dir)"
);
def!(
    CACHE_DIR,
    "cache folder",
    Some("--cache-dir"),
    ["PLUGIN_CACHE_DIR"],
    Value,
    "$XDG_CACHE_HOME/aws-oidc, else $HOME/.cache/aws-oidc (Windows: %LOCALAPPDATA%\\aws-oidc)",
    "an absolute path to a folder of the cache's own, made 0700 when missing"
);
def!(
    ALLOWED_ACCOUNT_IDS,
    "allowed account ids",
    Some("--allowed-account-ids"),
    ["PLUGIN_ALLOWEDACCOUNTIDS", "PLUGIN_ALLOWED_ACCOUNT_IDS"],
    Value,
    "any account",
    "12-digit account ids separated by commas or newlines; every role and the answer must be in one"
);
def!(
    CHAIN_ROLE_ARN,
    "chained role ARNs",
    Some("--chain-role-arn"),
    ["PLUGIN_CHAINROLEARN", "PLUGIN_CHAIN_ROLE_ARN"],
    Value,
    "none (one hop)",
    "role ARNs assumed in order after the first (sts:AssumeRole), commas or newlines, at most 10"
);
def!(
    EXTERNAL_ID,
    "external ID",
    Some("--external-id"),
    ["PLUGIN_EXTERNALID", "PLUGIN_EXTERNAL_ID"],
    Value,
    "none",
    "2-1224 chars of A-Z a-z 0-9 _+=,.@:/-; sent on every chained hop, needs chained role ARNs"
);
def!(
    VERIFY,
    "verify",
    Some("--verify"),
    ["PLUGIN_VERIFY"],
    Bool,
    "false",
    "true: check the credentials with sts:GetCallerIdentity before writing them"
);

pub use crate::proxy::{NO_PROXY_ENVS, PROXY_ENVS};
/// When true, the AWS_* endpoint variables are ignored.
pub const IGNORE_ENDPOINT_URLS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// Every setting, in the order `--help` lists them.
pub const ALL: &[&Def] = &[
    &ROLE_ARN,
    &TOKEN,
    &TOKEN_FILE,
    &SESSION_NAME,
    &DURATION,
    &REGION,
    &ENDPOINT,
    &FIPS,
    &DUALSTACK,
    &REGIONAL_ENDPOINTS,
    &CA_BUNDLE,
    &POLICY,
    &POLICY_ARNS,
    &TIMEOUT,
    &MAX_ATTEMPTS,
    &LOG_LEVEL,
    &SECRET_FILE,
    &VARS_FILE,
    &OUTPUT,
    &FORMAT,
    &MASK_ACCOUNT,
    &CACHE,
    &CACHE_DIR,
    &ALLOWED_ACCOUNT_IDS,
    &CHAIN_ROLE_ARN,
    &EXTERNAL_ID,
    &VERIFY,
];

/// are never a user's typo. Harness's lite-engine always sets
/// `PLUGIN_ARTIFACT_FILE` (`<shared>/<step>-artifact`) and rewrites the other
/// four into the shared folder when Harness's own steps set them.
pub const RUNNER_PLUGIN_ENVS: &[&str] = &[
    "PLUGIN_ARTIFACT_FILE",
    "PLUGIN_METADATA_FILE",
    "PLUGIN_CACHE_METRICS_FILE",
    "PLUGIN_CACHE_INTEL_METRICS_FILE",
    "PLUGIN_BUILD_TOOL_FILE",
];

/// Harness and Drone turn any `settings:` key into `PLUGIN_<KEY>`, so a
/// misspelt key arrives silently. Each `PLUGIN_*` variable that is neither a
/// spelling aws-oidc reads nor one the runner sets gets a warning, with the
/// spelling it probably meant. `run` prints these first, before any error,
/// because a misspelt role or token is exactly what makes a later check fail.
pub fn unknown_plugin_settings(inputs: &Inputs) -> Vec<String> {
    let known: Vec<&str> = ALL.iter().flat_map(|d| d.envs.iter().copied()).collect();
    inputs
        .env
        .keys()
        .filter(|k| {
            k.starts_with("PLUGIN_")
                && !known.contains(&k.as_str())
                && !RUNNER_PLUGIN_ENVS.contains(&k.as_str())
        })
        .map(|k| {
            // A setting written under its flag's name (`format:` arrives as
            // PLUGIN_FORMAT) finds its own names this way too: every flag,
            // with and without underscores, is tested.
            let near = known.iter().filter(|n| n.starts_with("PLUGIN_")).copied();
            match nearest(k, near) {
                Some(n) => format!("{} is not a setting aws-oidc reads, so it is ignored; did you mean {n}?", shown(k)),
                None => format!("{} is not a setting aws-oidc reads, so it is ignored (aws-oidc --help lists them)", shown(k)),
            }
        })
        .collect()
}

/// The known name closest to `name`, compared without `PLUGIN_`, underscores
/// and case: within an edit distance of 2, or one a prefix or a suffix of
/// the other (`ROLE_SESSION` for `ROLE_SESSION_NAME`, `ACCOUNT_ID` for
/// `MASK_ACCOUNT_ID`; the shorter at least 3 letters, so a stray
/// `PLUGIN_R` is not a prefix of everything). The smallest
/// distance wins; on a tie, the spelling written as the name was, with or
/// without underscores (`IAM_ROLE` suggests `IAM_ROLE_ARN`, not `IAMROLEARN`).
pub(super) fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let squash = |s: &str| -> Vec<u8> {
        s.trim_start_matches("PLUGIN_")
            .bytes()
            .filter(|b| *b != b'_')
            .map(|b| b.to_ascii_lowercase())
            .collect()
    };
    let typed = squash(name);
    known
        .filter_map(|n| {
            let cand = squash(n);
            let d = edit_distance(&typed, &cand);
            let (short, long) = match typed.len() <= cand.len() {
                true => (&typed, &cand),
                false => (&cand, &typed),
            };
            let prefix = short.len() >= 3 && (long.starts_with(short) || long.ends_with(short));
            // Between spellings of one setting, the one written as typed:
            // with underscores between words, or without.
            let words = |s: &str| s.trim_start_matches("PLUGIN_").contains('_');
            let unlike = words(name) != words(n);
            (d <= 2 || prefix).then_some(((d, unlike), n))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance: insertions, deletions and substitutions.
pub(super) fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// All spellings of a setting, for "nothing is set" messages.
pub(super) fn names(def: &Def) -> String {
    let mut all: Vec<String> = def.flag.map(String::from).into_iter().collect();
    all.extend(def.envs.iter().map(|e| e.to_string()));
    all.join(", ")
}
