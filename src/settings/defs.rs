//! The table of every setting (`docs/reference.md` §1.2): each [`Def`]
//! holds its name, flag, env spellings, default and what it accepts, and
//! drives the argument reader, `--help` and the typo warnings (§1.6); a
//! unit test checks the reference's table against it.

use super::profiles::{ENV_PREFIX, OVERWRITE_PROFILE, PROFILE, PROFILES, REFRESHABLE, ROLES};
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
    /// Env names, first non-empty wins: each `PLUGIN_` name as written in
    /// the table, then each of them with its words joined (Harness's
    /// `maskAccountId` arrives as `PLUGIN_MASKACCOUNTID`), then the other
    /// names. Derived by [`spellings`], never listed by hand.
    pub envs: &'static [&'static str],
    /// How many of `envs`, from the start, are `PLUGIN_` names.
    pub plugin: usize,
    /// How the flag takes its value.
    pub kind: Kind,
    /// The default, as `--help` shows it.
    pub default: &'static str,
    /// What is accepted, as `--help` shows it.
    pub accepts: &'static str,
}

impl Def {
    /// The `PLUGIN_` names, which come first in `envs`.
    pub fn plugin_envs(&self) -> &'static [&'static str] {
        &self.envs[..self.plugin]
    }

    /// How a hint names this setting: as the user set it (`source`, the
    /// flag or the env spelling read), else by its flag and first env name
    /// (`--duration / PLUGIN_DURATION`).
    pub fn named(&self, source: Option<super::Source>) -> String {
        match (source, self.flag) {
            (Some(s @ (super::Source::Flag(_) | super::Source::Env(_))), _) => s.name().to_string(),
            (_, Some(flag)) => format!("{flag} / {}", self.envs[0]),
            (_, None) => self.envs[0].to_string(),
        }
    }
}

/// A setting of the table: its `PLUGIN_` names are given once, with
/// underscores between words (`PLUGIN_MASK_ACCOUNT_ID`), and each gets its
/// joined spelling too (`PLUGIN_MASKACCOUNTID`), as Harness and Drone
/// upper-case a camelCase `settings:` key; `also` are the names that are
/// not `PLUGIN_` (AWS's, the runners').
macro_rules! def {
    ($name:ident, $title:expr, $flag:expr, plugin [$($env:expr),*], also [$($also:expr),*], $kind:ident, $default:expr, $accepts:expr) => {
        #[doc = concat!("The ", $title, " setting.")]
        pub const $name: $crate::settings::defs::Def = {
            use $crate::settings::defs::{Def, Kind};
            use $crate::settings::spelling::{spellings, spellings_len};
            const PLUGIN: &[&str] = &[$($env),*];
            const JOINED: &[&str] = &[$($crate::settings::defs::joined!($env)),*];
            const ALSO: &[&str] = &[$($also),*];
            const N: usize = spellings_len(PLUGIN, JOINED, ALSO);
            const ENVS: [&str; N] = spellings(PLUGIN, JOINED, ALSO);
            Def {
                name: $title,
                flag: $flag,
                envs: &ENVS,
                plugin: N - ALSO.len(),
                kind: Kind::$kind,
                default: $default,
                accepts: $accepts,
            }
        };
    };
}

/// `PLUGIN_A_B_C` as `PLUGIN_ABC`, at compile time.
macro_rules! joined {
    ($env:expr) => {{
        use $crate::settings::spelling::{joined_bytes, joined_len};
        const SNAKE: &str = $env;
        const BYTES: [u8; joined_len(SNAKE)] = joined_bytes(SNAKE);
        match std::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("a setting's name is ASCII"),
        }
    }};
}
// Other files of the table (`settings/profiles.rs`) write their entries
// with the same macro.
pub(super) use {def, joined};

def!(
    ROLE_ARN,
    "role ARN",
    Some("--role-arn"),
    plugin ["PLUGIN_IAM_ROLE_ARN", "PLUGIN_ROLE_ARN"],
    also ["AWS_ROLE_ARN"],
    Value,
    "required",
    "arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME"
);
def!(
    TOKEN,
    "token",
    Some("--token"),
    plugin ["PLUGIN_OIDC_TOKEN_ID", "PLUGIN_OIDC_TOKEN"],
    also [],
    Value,
    "required (or a token file or command)",
    "the OIDC token, 4-20000 chars; visible in process lists as a flag, prefer env or a file"
);
def!(
    TOKEN_FILE,
    "token file",
    Some("--token-file"),
    plugin["PLUGIN_OIDC_TOKEN_FILE"],
    also["AWS_WEB_IDENTITY_TOKEN_FILE"],
    Value,
    "none",
    "a file holding the token, read at run time and again before each retry; - reads stdin (once)"
);
def!(
    TOKEN_COMMAND,
    "token command",
    Some("--token-command"),
    plugin["PLUGIN_OIDC_TOKEN_COMMAND"],
    also[],
    Value,
    "none",
    "a command that prints the token, split as a shell splits words and run without one, again before each retry (§14.3)"
);
def!(
    SESSION_NAME,
    "session name",
    Some("--session-name"),
    plugin["PLUGIN_ROLE_SESSION_NAME"],
    also["AWS_ROLE_SESSION_NAME"],
    Value,
    DEFAULT_SESSION_NAME,
    "2-64 chars of A-Z a-z 0-9 _+=,.@- (others become -)"
);
def!(
    DURATION,
    "duration",
    Some("--duration"),
    plugin ["PLUGIN_DURATION", "PLUGIN_DURATION_SECONDS"],
    also [],
    Value,
    "not sent (STS default 3600)",
    "900-43200 seconds: 3600, 3600s, 15m, 1h"
);
def!(
    REGION,
    "region",
    Some("--region"),
    plugin ["PLUGIN_REGION"],
    also ["AWS_REGION", "AWS_DEFAULT_REGION"],
    Value,
    "none (global endpoint)",
    "a region such as us-east-1, or aws-global"
);
def!(
    ENDPOINT, "STS endpoint", Some("--endpoint"),
    plugin ["PLUGIN_STS_ENDPOINT", "PLUGIN_ENDPOINT"],
    also ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"],
    Value, "from the region",
    "https:// URL (http:// only for 127.0.0.1, ::1, localhost); AWS_* ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true");
def!(
    FIPS,
    "FIPS endpoint",
    Some("--fips"),
    plugin["PLUGIN_FIPS"],
    also["AWS_USE_FIPS_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    DUALSTACK,
    "dual-stack endpoint",
    Some("--dualstack"),
    plugin["PLUGIN_DUALSTACK"],
    also["AWS_USE_DUALSTACK_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    REGIONAL_ENDPOINTS,
    "regional vs global",
    None,
    plugin [],
    also ["AWS_STS_REGIONAL_ENDPOINTS"],
    Value,
    "regional",
    "regional or legacy"
);
def!(
    CA_BUNDLE,
    "CA bundle",
    Some("--ca-bundle"),
    plugin ["PLUGIN_CA_BUNDLE"],
    also ["AWS_CA_BUNDLE", "SSL_CERT_FILE"],
    Value,
    "built-in Mozilla roots",
    "a PEM file of CA certificates; replaces the built-in roots"
);
def!(
    POLICY,
    "inline session policy",
    Some("--policy"),
    plugin ["PLUGIN_POLICY"],
    also [],
    Value,
    "none",
    "inline session policy JSON, 1-2048 chars"
);
def!(
    POLICY_ARNS,
    "managed session policies",
    Some("--policy-arns"),
    plugin ["PLUGIN_POLICY_ARNS"],
    also [],
    Value,
    "none",
    "managed policy ARNs separated by commas or newlines, at most 10"
);
def!(
    TIMEOUT,
    "timeout",
    Some("--timeout"),
    plugin ["PLUGIN_TIMEOUT"],
    also [],
    Value,
    "60s",
    "whole run including retries, 1s-1h: 90, 90s, 2m"
);
def!(
    MAX_ATTEMPTS,
    "attempts",
    Some("--max-attempts"),
    plugin ["PLUGIN_MAX_ATTEMPTS"],
    also [],
    Value,
    "none: retry until the timeout",
    "1-1000; 1 means no retry"
);
def!(
    LOG_LEVEL,
    "log level",
    Some("--log-level"),
    plugin ["PLUGIN_LOG_LEVEL"],
    also [],
    Value,
    "info",
    "error, warn, info, debug, trace"
);
def!(
    SECRET_FILE,
    "secret output file",
    None,
    plugin [],
    also ["HARNESS_OUTPUT_SECRET_FILE"],
    Value,
    "set by Harness",
    "receives the three credentials (dotenv)"
);
def!(
    VARS_FILE,
    "output variables file",
    None,
    plugin [],
    also ["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
    Value,
    "set by the runner",
    "receives region, expiry, account and role (never credentials)"
);
def!(
    OUTPUT,
    "explicit output",
    Some("--output"),
    plugin ["PLUGIN_OUTPUT_FILE"],
    also [],
    Value,
    "HARNESS_OUTPUT_SECRET_FILE, else stdout for credential-process, else exit 6",
    "a file to append the credentials to (created 0600), or - (or /dev/stdout) for stdout"
);
def!(
    FORMAT,
    "output format",
    Some("--format"),
    plugin ["PLUGIN_OUTPUT_FORMAT"],
    also [],
    Value,
    "dotenv",
    "dotenv, shell, json, credential-process, fish, powershell; with --trust-policy: json, terraform, cloudformation"
);
def!(
    MASK_ACCOUNT,
    "mask account id",
    Some("--mask-account-id"),
    plugin ["PLUGIN_MASK_ACCOUNT_ID"],
    also [],
    Bool,
    "false",
    "true: account id and role ARNs go only to the secret file"
);
def!(
    CACHE,
    "credential cache",
    Some("--cache"),
    plugin ["PLUGIN_CACHE"],
    also [],
    Bool,
    "false",
    "true: reuse credentials while more than 15m remain (see --cache-dir)"
);
def!(
    CACHE_DIR,
    "cache folder",
    Some("--cache-dir"),
    plugin ["PLUGIN_CACHE_DIR"],
    also [],
    Value,
    "$XDG_CACHE_HOME/aws-oidc, else $HOME/.cache/aws-oidc (Windows: %LOCALAPPDATA%\\aws-oidc)",
    "an absolute path to a folder of the cache's own, made 0700 when missing"
);
def!(
    ALLOWED_ACCOUNT_IDS,
    "allowed account ids",
    Some("--allowed-account-ids"),
    plugin ["PLUGIN_ALLOWED_ACCOUNT_IDS"],
    also [],
    Value,
    "any account",
    "12-digit account ids separated by commas or newlines; every role and the answer must be in one"
);
def!(
    CHAIN_ROLE_ARN,
    "chained role ARNs",
    Some("--chain-role-arn"),
    plugin ["PLUGIN_CHAIN_ROLE_ARN"],
    also [],
    Value,
    "none (one hop)",
    "role ARNs assumed in order after the first (sts:AssumeRole), commas or newlines, at most 10"
);
def!(
    EXTERNAL_ID,
    "external ID",
    Some("--external-id"),
    plugin ["PLUGIN_EXTERNAL_ID"],
    also [],
    Value,
    "none",
    "2-1224 chars of A-Z a-z 0-9 _+=,.@:/-; sent on every chained hop, needs chained role ARNs"
);
def!(
    VERIFY,
    "verify",
    Some("--verify"),
    plugin ["PLUGIN_VERIFY"],
    also [],
    Bool,
    "false",
    "true: check the credentials with sts:GetCallerIdentity before writing them"
);

def!(
    SERVE,
    "serve",
    Some("--serve"),
    plugin ["PLUGIN_SERVE"],
    also [],
    Bool,
    "false",
    "true: with -- COMMAND, give it a refreshing credential endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) instead of keys"
);
def!(
    TAGS,
    "session tags",
    Some("--tags"),
    plugin ["PLUGIN_TAGS"],
    also [],
    Value,
    "none",
    "KEY=VALUE pairs, commas or newlines, at most 50; sent on every chained hop, needs chained role ARNs"
);
def!(
    TRANSITIVE_TAG_KEYS,
    "transitive tag keys",
    Some("--transitive-tag-keys"),
    plugin ["PLUGIN_TRANSITIVE_TAG_KEYS"],
    also [],
    Value,
    "none",
    "keys among the session tags, commas or newlines; they pass on to later hops' sessions"
);
def!(
    SOURCE_IDENTITY,
    "source identity",
    Some("--source-identity"),
    plugin ["PLUGIN_SOURCE_IDENTITY"],
    also [],
    Value,
    "none",
    "2-64 chars of A-Z a-z 0-9 _+=,.@-; sent on every chained hop, needs chained role ARNs"
);
def!(
    TRUST_POLICY,
    "trust policy",
    Some("--trust-policy"),
    plugin ["PLUGIN_TRUST_POLICY"],
    also [],
    Bool,
    "false",
    "true: print the trust policy each role needs for this token, and the OIDC provider; send nothing"
);

pub use crate::proxy::{NO_PROXY_ENVS, PROXY_ENVS};
/// When true, the AWS_* endpoint variables are ignored.
pub const IGNORE_ENDPOINT_URLS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
/// The folders the cache's default folder is made under (§13.3): on
/// Windows the first, elsewhere the second, else the third.
pub const CACHE_BASE_ENVS: [&str; 3] = ["LOCALAPPDATA", "XDG_CACHE_HOME", "HOME"];
/// The shared credentials file and the config file (§16.1), and the home
/// folders their defaults are under: on Windows the last, elsewhere the
/// third.
pub const PROFILE_FILE_ENVS: [&str; 4] = [
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "HOME",
    "USERPROFILE",
];

/// Every env name aws-oidc reads as an input: each setting's, the proxy's,
/// and those read for a default. No output may write one of them unless it
/// holds what a re-run would read there (`docs/reference.md` §6.1).
pub fn read_env_names() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = ALL.iter().flat_map(|d| d.envs.iter().copied()).collect();
    all.extend(PROXY_ENVS.iter().chain(NO_PROXY_ENVS));
    all.push(IGNORE_ENDPOINT_URLS);
    all.extend(CACHE_BASE_ENVS);
    all.extend(PROFILE_FILE_ENVS);
    all
}

/// Every setting, in the order `--help` lists them.
pub const ALL: &[&Def] = &[
    &ROLE_ARN,
    &TOKEN,
    &TOKEN_FILE,
    &TOKEN_COMMAND,
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
    &SERVE,
    &TAGS,
    &TRANSITIVE_TAG_KEYS,
    &SOURCE_IDENTITY,
    &TRUST_POLICY,
    &PROFILE,
    &PROFILES,
    &REFRESHABLE,
    &OVERWRITE_PROFILE,
    &ROLES,
    &ENV_PREFIX,
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

/// The known name closest to `name`, compared without `PLUGIN_` (or a
/// flag's `--`), underscores, dashes and case: within an edit distance of 2, or one a prefix or a suffix of
/// the other (`ROLE_SESSION` for `ROLE_SESSION_NAME`, `ACCOUNT_ID` for
/// `MASK_ACCOUNT_ID`; the shorter at least 3 letters, so a stray
/// `PLUGIN_R` is not a prefix of everything). The smallest
/// distance wins; on a tie, the spelling written as the name was, with or
/// without underscores (`IAM_ROLE` suggests `IAM_ROLE_ARN`, not `IAMROLEARN`).
pub(super) fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let squash = |s: &str| -> Vec<u8> {
        s.trim_start_matches("PLUGIN_")
            .trim_start_matches("--")
            .bytes()
            .filter(|b| *b != b'_' && *b != b'-')
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
