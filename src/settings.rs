//! Settings: command-line flags and environment in, a validated [`Settings`]
//! out (SPEC §1).
//!
//! Every setting is read under each of its spellings; a flag wins over env and
//! the first non-empty env name wins after that. A value that fails its rule
//! stops the run here, before any network traffic, with an error naming the
//! flag or env variable that was read.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::log::Level;
use crate::secret::Secret;

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

/// One setting: its flag, its env spellings in order, and what `--help` says.
#[derive(Debug)]
pub struct Def {
    /// Flag name without the leading dashes, or `None` for runner-only files.
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
    ($name:ident, $flag:expr, [$($env:expr),*], $kind:ident, $default:expr, $accepts:expr) => {
        #[doc = concat!("The `", stringify!($name), "` setting.")]
        pub const $name: Def = Def {
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
    Some("role-arn"),
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
    Some("token"),
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
    Some("token-file"),
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
    Some("session-name"),
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
    Some("duration"),
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
    Some("region"),
    ["PLUGIN_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
    Value,
    "none (global endpoint)",
    "a region such as us-east-1, or aws-global"
);
def!(ENDPOINT, Some("endpoint"),
    ["PLUGIN_STS_ENDPOINT", "PLUGIN_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"],
    Value, "from the region",
    "https:// URL (http:// only for 127.0.0.1, ::1, localhost); AWS_* ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true");
def!(
    FIPS,
    Some("fips"),
    ["PLUGIN_FIPS", "AWS_USE_FIPS_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    DUALSTACK,
    Some("dualstack"),
    ["PLUGIN_DUALSTACK", "AWS_USE_DUALSTACK_ENDPOINT"],
    Bool,
    "false",
    "true/false/1/0/yes/no/on/off"
);
def!(
    REGIONAL_ENDPOINTS,
    None,
    ["AWS_STS_REGIONAL_ENDPOINTS"],
    Value,
    "regional",
    "regional or legacy"
);
def!(
    CA_BUNDLE,
    Some("ca-bundle"),
    ["PLUGIN_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"],
    Value,
    "built-in Mozilla roots",
    "a PEM file of CA certificates; replaces the built-in roots"
);
def!(
    POLICY,
    Some("policy"),
    ["PLUGIN_POLICY"],
    Value,
    "none",
    "inline session policy JSON, 1-2048 chars"
);
def!(
    POLICY_ARNS,
    Some("policy-arns"),
    ["PLUGIN_POLICY_ARNS", "PLUGIN_POLICYARNS"],
    Value,
    "none",
    "managed policy ARNs separated by commas or newlines, at most 10"
);
def!(
    TIMEOUT,
    Some("timeout"),
    ["PLUGIN_TIMEOUT"],
    Value,
    "60s",
    "whole run including retries, 1s-1h: 90, 90s, 2m"
);
def!(
    MAX_ATTEMPTS,
    Some("max-attempts"),
    ["PLUGIN_MAX_ATTEMPTS", "PLUGIN_MAXATTEMPTS"],
    Value,
    "none: retry until the timeout",
    "1-1000; 1 means no retry"
);
def!(
    LOG_LEVEL,
    Some("log-level"),
    ["PLUGIN_LOG_LEVEL", "PLUGIN_LOGLEVEL"],
    Value,
    "info",
    "error, warn, info, debug, trace"
);
def!(
    SECRET_FILE,
    None,
    ["HARNESS_OUTPUT_SECRET_FILE"],
    Value,
    "set by Harness",
    "receives the three credentials (dotenv)"
);
def!(
    VARS_FILE,
    None,
    ["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
    Value,
    "set by the runner",
    "receives region, expiry, account and role (never credentials)"
);
def!(
    OUTPUT,
    Some("output"),
    ["PLUGIN_OUTPUT_FILE"],
    Value,
    "HARNESS_OUTPUT_SECRET_FILE, else stdout for credential-process, else exit 6",
    "a file to append the credentials to (created 0600), or - (or /dev/stdout) for stdout"
);
def!(
    FORMAT,
    Some("format"),
    ["PLUGIN_OUTPUT_FORMAT"],
    Value,
    "dotenv",
    "dotenv, shell, json, credential-process"
);
def!(
    MASK_ACCOUNT,
    Some("mask-account-id"),
    ["PLUGIN_MASK_ACCOUNT_ID"],
    Bool,
    "false",
    "true: account id and role ARNs go only to the secret file"
);

/// The proxy settings (SPEC §1: curl's order for an https URL).
pub const PROXY_ENVS: &[&str] = &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// Hosts that bypass the proxy.
pub const NO_PROXY_ENVS: &[&str] = &["NO_PROXY", "no_proxy"];
/// When true, the AWS_* endpoint variables are ignored.
pub const IGNORE_ENDPOINT_URLS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// Every setting, in the order `--help` lists them.
pub const ALL: &[(&str, &Def)] = &[
    ("role ARN", &ROLE_ARN),
    ("token", &TOKEN),
    ("token file", &TOKEN_FILE),
    ("session name", &SESSION_NAME),
    ("duration", &DURATION),
    ("region", &REGION),
    ("STS endpoint", &ENDPOINT),
    ("FIPS endpoint", &FIPS),
    ("dual-stack endpoint", &DUALSTACK),
    ("regional vs global", &REGIONAL_ENDPOINTS),
    ("CA bundle", &CA_BUNDLE),
    ("inline session policy", &POLICY),
    ("managed session policies", &POLICY_ARNS),
    ("timeout", &TIMEOUT),
    ("attempts", &MAX_ATTEMPTS),
    ("log level", &LOG_LEVEL),
    ("secret output file", &SECRET_FILE),
    ("output variables file", &VARS_FILE),
    ("explicit output", &OUTPUT),
    ("output format", &FORMAT),
    ("mask account id", &MASK_ACCOUNT),
];

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// An exchange, or with `check` only its validation.
    Run {
        /// Flags as given, `(flag name, value)`, later ones win.
        flags: Vec<(&'static str, String)>,
        /// `--check`: validate and print, no network traffic.
        check: bool,
    },
}

/// Reads the command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, Error> {
    let mut flags = Vec::new();
    let mut check = false;
    let mut rest = args.iter().enumerate();
    while let Some((i, arg)) = rest.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            "--check" => {
                check = true;
                continue;
            }
            _ => {}
        }
        if arg.starts_with("--check=") {
            return Err(Error::Usage("flag `--check` takes no value".into()));
        }
        let Some(body) = arg.strip_prefix("--") else {
            if arg.starts_with('-') && arg.len() > 1 {
                return Err(Error::Usage(format!(
                    "{}; aws-oidc takes --flags (and -h, -V)",
                    unknown("option", arg)
                )));
            }
            let after_bool = i > 0
                && matches!(arg.to_ascii_lowercase().as_str(), "true" | "false")
                && ALL.iter().any(|(_, d)| {
                    d.kind == Kind::Bool && d.flag.is_some_and(|f| args[i - 1] == format!("--{f}"))
                });
            if after_bool {
                return Err(Error::Usage(format!(
                    "`{} {arg}`: boolean flags take their value with =, as in {}={}",
                    args[i - 1],
                    args[i - 1],
                    arg.to_ascii_lowercase()
                )));
            }
            // Other arguments are not echoed: a token pasted in the wrong
            // place must not end up in the log.
            return Err(Error::Usage(format!(
                "unexpected argument in position {}; aws-oidc takes only --flags",
                i + 1
            )));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some((flag, def)) = ALL
            .iter()
            .find_map(|(_, d)| d.flag.filter(|f| *f == name).map(|f| (f, *d)))
        else {
            return Err(Error::Usage(unknown("flag", &format!("--{name}"))));
        };
        let value = match (def.kind, inline) {
            (_, Some(v)) if v.trim().is_empty() => {
                return Err(Error::Usage(format!("flag `--{flag}` needs a value")))
            }
            (_, Some(v)) => v,
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Value, None) => match rest.next() {
                Some((_, v)) if !v.starts_with("--") && !v.trim().is_empty() => v.clone(),
                _ => return Err(Error::Usage(format!("flag `--{flag}` needs a value"))),
            },
        };
        flags.push((flag, value));
    }
    Ok(Command::Run { flags, check })
}

/// "unknown flag `--x`", naming the argument unless it could be a token
/// pasted after `--`: one word (no whitespace or control character) that is
/// long or holds characters no flag name has.
fn unknown(what: &str, arg: &str) -> String {
    let name = arg.trim_start_matches('-');
    let word = !name.contains(|c: char| c.is_whitespace() || c.is_control());
    let token_like = word
        && (name.len() > 32
            || name.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')));
    match token_like {
        false => format!("unknown {what} `{}`", shown(arg)),
        true => format!(
            "unknown {what} ({} characters, not shown as it does not look like a flag name)",
            arg.chars().count()
        ),
    }
}

/// Where a value came from, for error messages and the debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The trimmed value.
    pub value: String,
    /// `--flag` or the env name.
    pub source: String,
}

/// Flags and environment, read once at the edge.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    /// `(flag name, value)` as given on the command line.
    pub flags: Vec<(&'static str, String)>,
    /// The process environment.
    pub env: BTreeMap<String, String>,
}

impl Inputs {
    /// The first non-empty value among the env names, trimmed.
    pub fn env_first(&self, names: &[&str]) -> Option<Found> {
        names.iter().find_map(|name| {
            let v = self.env.get(*name)?.trim();
            (!v.is_empty()).then(|| Found {
                value: v.to_string(),
                source: name.to_string(),
            })
        })
    }

    /// The flag's value if given, else the first non-empty env name.
    pub fn get(&self, def: &Def) -> Option<Found> {
        self.flag(def).or_else(|| self.env_first(def.envs))
    }

    fn flag(&self, def: &Def) -> Option<Found> {
        let flag = def.flag?;
        self.flags.iter().rev().find_map(|(f, v)| {
            let v = v.trim();
            (*f == flag && !v.is_empty()).then(|| Found {
                value: v.to_string(),
                source: format!("--{flag}"),
            })
        })
    }
}

/// Reads files named by settings: the token file and the CA bundle. `-`
/// means standard input. Tests hand in a fake.
pub trait Files {
    /// Reads at most `limit` bytes of the file. Symlinks are followed, but
    /// what they lead to must be a regular file: anything else (a FIFO, a
    /// device, a directory) is an error saying what it is, given at once,
    /// without waiting on it.
    fn read(&mut self, path: &str, limit: u64) -> io::Result<Vec<u8>>;
}

/// The error [`Files::read`] gives for a path that is not a regular file:
/// what it is instead, as `read_file` quotes it ("… is a FIFO (named pipe),
/// not a regular file").
pub fn not_a_regular_file(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file"),
    )
}

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

/// The output format (SPEC §3).
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
}

impl Format {
    /// The name as users write it (`dotenv`, `credential-process`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Dotenv => "dotenv",
            Format::Shell => "shell",
            Format::Json => "json",
            Format::CredentialProcess => "credential-process",
        }
    }
}

/// A proxy to reach STS through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as given, with any user:password, for ureq.
    pub url: Secret,
    /// The URL with the password replaced, for logs.
    pub display: String,
    /// The env variable it came from.
    pub source: String,
}

/// The flag or env name each of a few settings was read from (`default`
/// when none was set).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Region.
    pub region: String,
    /// FIPS.
    pub fips: String,
    /// Dual-stack.
    pub dualstack: String,
    /// Timeout.
    pub timeout: String,
    /// Attempts.
    pub attempts: String,
}

/// Every setting, validated. Built only by [`resolve`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The role to assume.
    pub role: RoleArn,
    /// The OIDC token.
    pub token: Secret,
    /// Where the token came from.
    pub token_source: String,
    /// `RoleSessionName`, sanitised.
    pub session_name: String,
    /// `DurationSeconds`, if set.
    pub duration: Option<u32>,
    /// The region, if set.
    pub region: Option<String>,
    /// An explicit endpoint URL and where it came from.
    pub endpoint: Option<Found>,
    /// FIPS endpoint.
    pub fips: bool,
    /// Dual-stack endpoint.
    pub dualstack: bool,
    /// `AWS_STS_REGIONAL_ENDPOINTS=legacy`.
    pub legacy_global: bool,
    /// A CA bundle's certificates, which replace the built-in roots.
    pub ca_bundle: Option<(Found, Vec<ureq::tls::Certificate<'static>>)>,
    /// The proxy from the environment, before NO_PROXY and loopback rules.
    pub proxy: Option<Proxy>,
    /// NO_PROXY entries.
    pub no_proxy: Vec<String>,
    /// Inline session policy.
    pub policy: Option<Secret>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
    /// Whole-run deadline.
    pub timeout: Duration,
    /// The attempt cap the user chose, 1 means no retry; without one, the
    /// timeout alone bounds the retries of "later" answers.
    pub max_attempts: Option<u32>,
    /// Log level.
    pub log_level: Level,
    /// HARNESS_OUTPUT_SECRET_FILE.
    pub secret_file: Option<String>,
    /// DRONE_OUTPUT or HARNESS_OUTPUT_FILE, and which.
    pub vars_file: Option<Found>,
    /// `--output` / PLUGIN_OUTPUT_FILE.
    pub output: Option<String>,
    /// Output format.
    pub format: Format,
    /// Keep the account id out of logs and the variables file.
    pub mask_account: bool,
    /// Where region, FIPS, dual-stack, timeout and attempts came from, for
    /// messages that must name what to change.
    pub sources: Sources,
    /// Warnings found while resolving, logged once the logger exists.
    pub warnings: Vec<String>,
    /// `(setting, value as safe to log, source)` for the debug log.
    pub resolved: Vec<(&'static str, String, String)>,
}

/// The log level alone, read before anything else so that even a settings
/// error is printed at the level the user asked for.
pub fn log_level(inputs: &Inputs) -> Result<Level, Error> {
    match inputs.get(&LOG_LEVEL) {
        None => Ok(Level::Info),
        Some(f) => parse_level(&f.value).map_err(|p| Error::setting(&f.source, p)),
    }
}

/// Validates every setting.
pub fn resolve(inputs: &Inputs, files: &mut dyn Files) -> Result<Settings, Error> {
    let mut resolved = Vec::new();
    let mut warnings = Vec::new();
    let mut note = |name: &'static str, value: &str, source: &str| {
        resolved.push((name, value.to_string(), source.to_string()));
    };

    let role = match inputs.get(&ROLE_ARN) {
        Some(f) => {
            let role = parse_role_arn(&f.value).map_err(|p| Error::setting(&f.source, p))?;
            note("role ARN", &role.arn, &f.source);
            role
        }
        None => {
            return Err(Error::setting(
                names(&ROLE_ARN),
                "no role ARN is set; set iamRoleArn in the step's settings \
                 (PLUGIN_IAMROLEARN) or --role-arn to arn:aws:iam::ACCOUNT:role/NAME",
            ))
        }
    };

    let (token, token_source) = read_token(inputs, files)?;
    if !jwt_shaped(token.expose()) {
        warnings.push(format!(
            "{token_source}: the token is not a JWT (three base64url parts joined by dots); it is sent as is, since some providers issue opaque tokens, but check that it is the OIDC ID token"
        ));
    }
    note(
        "token",
        &format!("<redacted, {} chars>", token.len()),
        &token_source,
    );

    let (session_name, source) = match inputs.get(&SESSION_NAME) {
        Some(f) => {
            let (name, changed) =
                sanitize_session_name(&f.value).map_err(|p| Error::setting(&f.source, p))?;
            if changed {
                warnings.push(format!(
                    "{}: the session name has characters STS does not allow or is longer than 64; using `{name}`",
                    f.source
                ));
            }
            (name, f.source)
        }
        None => (DEFAULT_SESSION_NAME.to_string(), "default".to_string()),
    };
    note("session name", &session_name, &source);

    let duration = optional(inputs, &DURATION, parse_duration)?;
    if let Some((d, s)) = &duration {
        note("duration", &format!("{d}s"), s);
    }
    let region = optional(inputs, &REGION, parse_region)?;
    if let Some((r, s)) = &region {
        note("region", r, s);
    }

    let ignore_aws = match inputs.env_first(&[IGNORE_ENDPOINT_URLS]) {
        Some(f) => parse_bool(&f.value).map_err(|p| Error::setting(&f.source, p))?,
        None => false,
    };
    let endpoint_envs: &[&str] = if ignore_aws {
        &ENDPOINT.envs[..2]
    } else {
        ENDPOINT.envs
    };
    let endpoint = inputs
        .flag(&ENDPOINT)
        .or_else(|| inputs.env_first(endpoint_envs));
    if let Some(f) = &endpoint {
        // A user:password in the URL is refused later; it is never logged.
        note("endpoint", &crate::secret::mask_url(&f.value), &f.source);
    }

    let (fips, fips_source) = flag_bool_from(inputs, &FIPS)?;
    let (dualstack, dualstack_source) = flag_bool_from(inputs, &DUALSTACK)?;
    let legacy_global = match inputs.get(&REGIONAL_ENDPOINTS) {
        None => false,
        Some(f) => match f.value.to_ascii_lowercase().as_str() {
            "regional" => false,
            "legacy" => true,
            _ => {
                return Err(Error::setting(
                    &f.source,
                    format!("`{}` is not accepted; use regional or legacy", f.value),
                ))
            }
        },
    };

    let ca_bundle = match inputs.get(&CA_BUNDLE) {
        None => None,
        Some(f) => {
            let pem = read_file(files, &f, 16 << 20)?;
            let (certs, blocks) = certificates(&pem);
            let count = certs.len();
            if blocks == 0 {
                return Err(Error::setting(
                    &f.source,
                    format!(
                        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at a PEM CA bundle",
                        f.value
                    ),
                ));
            }
            if count == 0 {
                return Err(Error::setting(
                    &f.source,
                    format!(
                        "{} holds {blocks} PEM certificate block{} but no usable X.509 certificate; point it at a PEM bundle of CA certificates",
                        f.value,
                        if blocks == 1 { "" } else { "s" }
                    ),
                ));
            }
            if count < blocks {
                let bad = blocks - count;
                warnings.push(format!(
                    "{}: {bad} of the {blocks} PEM certificate blocks in {} are not usable X.509 certificates and are ignored",
                    f.source, f.value,
                ));
            }
            note(
                "CA bundle",
                &format!("{} ({count} certificates)", f.value),
                &f.source,
            );
            Some((f, certs))
        }
    };

    let proxy = match inputs.env_first(PROXY_ENVS) {
        None => None,
        Some(f) => {
            let p = parse_proxy(&f.value).map_err(|p| Error::setting(&f.source, p))?;
            let proxy = Proxy {
                url: Secret::new(p.0),
                display: p.1,
                source: f.source,
            };
            note("proxy", &proxy.display, &proxy.source);
            Some(proxy)
        }
    };
    let no_proxy = inputs
        .env_first(NO_PROXY_ENVS)
        .map(|f| {
            f.value
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();

    let policy = match inputs.get(&POLICY) {
        None => None,
        Some(f) => {
            let n = f.value.chars().count();
            if n > 2048 {
                return Err(Error::setting(
                    &f.source,
                    format!(
                        "the session policy is {n} chars; STS accepts 1-2048 (whitespace counts)"
                    ),
                ));
            }
            // STS accepts tab, newline, carriage return and U+0020-U+00FF;
            // checked here so that STS never has to quote the policy back.
            if let Some(c) = f
                .value
                .chars()
                .find(|c| !matches!(*c, '\t' | '\n' | '\r' | ' '..='\u{ff}'))
            {
                return Err(Error::setting(
                    &f.source,
                    format!("the session policy holds U+{:04X}, which STS does not accept (tab, newline and U+0020-U+00FF only)", c as u32),
                ));
            }
            if crate::claims::parse_json(&f.value).is_none() {
                return Err(Error::setting(
                    &f.source,
                    format!("the session policy ({n} chars) is not valid JSON; pass an IAM policy document such as {{\"Version\":\"2012-10-17\",\"Statement\":[...]}}"),
                ));
            }
            note("policy", &format!("<redacted, {n} chars>"), &f.source);
            Some(Secret::new(f.value))
        }
    };
    let policy_arns = match optional(inputs, &POLICY_ARNS, parse_policy_arns)? {
        None => Vec::new(),
        Some((arns, s)) => {
            note("policy ARNs", &arns.join(","), &s);
            arns
        }
    };

    let timeout = optional(inputs, &TIMEOUT, parse_timeout)?;
    note(
        "timeout",
        &format!("{}s", timeout.as_ref().map_or(60, |t| t.0.as_secs())),
        timeout.as_ref().map_or("default", |t| t.1.as_str()),
    );
    let max_attempts = optional(inputs, &MAX_ATTEMPTS, parse_attempts)?;
    note(
        "attempts",
        &max_attempts
            .as_ref()
            .map_or("none".into(), |a| a.0.to_string()),
        max_attempts.as_ref().map_or("default", |a| a.1.as_str()),
    );
    let log_level = log_level(inputs)?;

    let secret_file = inputs.get(&SECRET_FILE).map(|f| f.value);
    let vars_file = inputs.get(&VARS_FILE);
    let output = inputs.get(&OUTPUT).map(|f| f.value);
    let format = optional(inputs, &FORMAT, parse_format)?.map_or(Format::Dotenv, |f| f.0);
    let mask_account = flag_bool_from(inputs, &MASK_ACCOUNT)?.0;
    let sources = Sources {
        region: region.as_ref().map_or("default".into(), |r| r.1.clone()),
        fips: fips_source,
        dualstack: dualstack_source,
        timeout: timeout.as_ref().map_or("default".into(), |t| t.1.clone()),
        attempts: max_attempts
            .as_ref()
            .map_or("default".into(), |a| a.1.clone()),
    };
    Ok(Settings {
        role,
        token,
        token_source,
        session_name,
        duration: duration.map(|d| d.0),
        region: region.map(|r| r.0),
        endpoint,
        fips,
        dualstack,
        legacy_global,
        ca_bundle,
        proxy,
        no_proxy,
        policy,
        policy_arns,
        timeout: timeout.map_or(Duration::from_secs(60), |t| t.0),
        max_attempts: max_attempts.map(|a| a.0),
        log_level,
        secret_file,
        vars_file,
        output,
        format,
        mask_account,
        sources,
        warnings,
        resolved,
    })
}

/// All spellings of a setting, for "nothing is set" messages.
fn names(def: &Def) -> String {
    let mut all: Vec<String> = def.flag.map(|f| format!("--{f}")).into_iter().collect();
    all.extend(def.envs.iter().map(|e| e.to_string()));
    all.join(", ")
}

fn optional<T>(
    inputs: &Inputs,
    def: &Def,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<(T, String)>, Error> {
    match inputs.get(def) {
        None => Ok(None),
        Some(f) => match parse(&f.value) {
            Ok(v) => Ok(Some((v, f.source))),
            Err(p) => Err(Error::setting(&f.source, p)),
        },
    }
}

/// A boolean setting and where it came from (`default` when unset).
fn flag_bool_from(inputs: &Inputs, def: &Def) -> Result<(bool, String), Error> {
    Ok(optional(inputs, def, parse_bool)?.map_or((false, "default".into()), |b| b))
}

/// `PLUGIN_*` names the runners set themselves in every plugin step, so they
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
    let known: Vec<&str> = ALL
        .iter()
        .flat_map(|(_, d)| d.envs.iter().copied())
        .collect();
    inputs
        .env
        .keys()
        .filter(|k| {
            k.starts_with("PLUGIN_")
                && !known.contains(&k.as_str())
                && !RUNNER_PLUGIN_ENVS.contains(&k.as_str())
        })
        .map(|k| {
            let near = known.iter().filter(|n| n.starts_with("PLUGIN_")).copied();
            match nearest(k, near) {
                Some(n) => format!("{} is not a setting aws-oidc reads, so it is ignored; did you mean {n}?", shown(k)),
                None => format!("{} is not a setting aws-oidc reads, so it is ignored (aws-oidc --help lists them)", shown(k)),
            }
        })
        .collect()
}

/// The known name closest to `name`, compared without `PLUGIN_`, underscores
/// and case: within an edit distance of 2, or one a prefix of the other
/// (`ROLE_SESSION` for `ROLE_SESSION_NAME`; the shorter at least 3 letters,
/// so a stray `PLUGIN_R` is not a prefix of everything). The smallest
/// distance wins; on a tie, the spelling written as the name was, with or
/// without underscores (`IAM_ROLE` suggests `IAM_ROLE_ARN`, not `IAMROLEARN`).
fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
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
            let prefix = short.len() >= 3 && long.starts_with(short);
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
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
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

/// The account id to mask from the very first line, before the settings
/// are validated: when mask account is set and the role ARN carries a
/// 12-digit account, even an error about another setting hides it.
pub fn early_mask(inputs: &Inputs) -> Option<String> {
    let on = inputs
        .get(&MASK_ACCOUNT)
        .is_some_and(|f| parse_bool(&f.value) == Ok(true));
    let role = inputs.get(&ROLE_ARN)?.value;
    let account = role.split(':').nth(4)?;
    (on && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

/// Every file named as an input: the token file under each of its
/// spellings and the CA bundle, whether or not it is the one read. No output
/// may be one of them: a later step's SDK may read
/// AWS_WEB_IDENTITY_TOKEN_FILE as well, and would send the credentials as
/// its token. `-` (stdin) names no file.
pub fn input_files(inputs: &Inputs) -> Vec<Found> {
    let mut all = Vec::new();
    for def in [&TOKEN_FILE, &CA_BUNDLE] {
        all.extend(inputs.flag(def));
        all.extend(def.envs.iter().filter_map(|e| inputs.env_first(&[e])));
    }
    all.retain(|f| f.value != "-");
    all
}

/// Token precedence: `--token`, `--token-file`, the value env names, then
/// the file env names.
fn read_token(inputs: &Inputs, files: &mut dyn Files) -> Result<(Secret, String), Error> {
    let found = inputs
        .flag(&TOKEN)
        .map(|f| (f, false))
        .or_else(|| inputs.flag(&TOKEN_FILE).map(|f| (f, true)))
        .or_else(|| inputs.env_first(TOKEN.envs).map(|f| (f, false)))
        .or_else(|| inputs.env_first(TOKEN_FILE.envs).map(|f| (f, true)));
    let Some((f, is_file)) = found else {
        return Err(Error::setting(
            format!("{}, {}", names(&TOKEN), names(&TOKEN_FILE)),
            "no OIDC token is set; in Harness enable OIDC for the plugin step so that \
             PLUGIN_OIDC_TOKEN_ID is injected, elsewhere pass the token by env or a file",
        ));
    };
    let (token, source, place) = if is_file {
        let bytes = read_file(files, &f, 1 << 20)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::setting(
                &f.source,
                format!(
                    "{} is not UTF-8 text; it should hold the OIDC token",
                    f.value
                ),
            )
        })?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(Error::setting(
                &f.source,
                format!("{} is empty; it should hold the OIDC token", f.value),
            ));
        }
        let place = match f.value.as_str() {
            "-" => "the token on stdin".to_string(),
            path => format!("the token in {path}"),
        };
        (text, format!("{} ({})", f.source, f.value), place)
    } else {
        (f.value, f.source.clone(), "the token".to_string())
    };
    if let Some(problem) = token_problem(&token) {
        return Err(Error::setting(&f.source, format!("{place} {problem}")));
    }
    let n = token.chars().count();
    if !(4..=20000).contains(&n) {
        return Err(Error::setting(
            &f.source,
            format!("the token is {n} chars; STS accepts 4-20000"),
        ));
    }
    Ok((Secret::new(token), source))
}

/// What is wrong with a token's text, already trimmed: it must be one line
/// of printable ASCII with no space, as every OIDC token is. Says where,
/// never what.
fn token_problem(token: &str) -> Option<String> {
    let (at, c) = token
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())?;
    let at = at + 1;
    Some(match c {
        '\n' | '\r' => "spans more than one line; it should hold the token alone, on one line".into(),
        ' ' | '\t' => format!("holds whitespace at character {at}; it should hold the token alone, on one line"),
        c if c.is_control() => format!(
            "holds control character U+{:04X} at character {at}; it should hold the token alone, as text",
            c as u32
        ),
        _ => format!("holds a non-ASCII character at character {at}; OIDC tokens are printable ASCII"),
    })
}

/// Whether a text is shaped like a JWT: three base64url parts joined by dots.
fn jwt_shaped(text: &str) -> bool {
    let base64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    text.split('.').count() == 3 && text.split('.').all(base64url)
}

/// Whether a value given as a file path looks like a token instead: long,
/// or three base64url parts, and no path separator. Such a "path" is never
/// quoted back, since it would put the token in the log.
fn looks_like_token(path: &str) -> bool {
    !path.contains(['/', '\\']) && (jwt_shaped(path) || path.len() > 128)
}

/// Whether a value reads as a file path, and so may be quoted back: `-`, a
/// value with a path separator, or a file name with an extension, made of
/// the characters file names use and not long enough to be a token.
fn looks_like_path(value: &str) -> bool {
    let name = value.rsplit(['/', '\\']).next().unwrap_or_default();
    // `+`, `=`, `:` and `!` are base64's and opaque tokens' more than
    // paths'; a drive letter's `:` is the one allowed.
    let plain = |s: &str| {
        s.char_indices()
            .all(|(i, c)| c.is_alphanumeric() || "/\\._-~ ".contains(c) || (c == ':' && i == 1))
    };
    let extension = name
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()));
    value == "-"
        || (plain(value)
            && !looks_like_token(value)
            && value.split(['/', '\\']).all(|part| part.len() <= 64)
            && (value.contains(['/', '\\']) || extension))
}

fn read_file(files: &mut dyn Files, f: &Found, limit: u64) -> Result<Vec<u8>, Error> {
    if looks_like_token(&f.value) {
        return Err(Error::setting(
            &f.source,
            format!(
                "the value ({} chars) looks like a token, not a file path; pass the token itself with PLUGIN_OIDC_TOKEN (or --token-file - on stdin), or the path of a file holding it",
                f.value.chars().count()
            ),
        ));
    }
    let bytes = files.read(&f.value, limit + 1).map_err(|e| {
        // A value that is not clearly a path may be a token put in the
        // wrong variable: it is described, not quoted.
        let what = match looks_like_path(&f.value) {
            true => shown(&f.value),
            false => format!(
                "the value of {} ({} characters, not shown as it does not look like a path)",
                f.source,
                f.value.chars().count()
            ),
        };
        Error::setting(
            &f.source,
            format!(
                "cannot read {what}: {}; check the path and that this step can read it",
                io_reason(&e)
            ),
        )
    })?;
    if bytes.len() as u64 > limit {
        return Err(Error::setting(
            &f.source,
            format!(
                "{} is larger than {} bytes; is it the right file?",
                f.value, limit
            ),
        ));
    }
    Ok(bytes)
}

/// A short reason for an I/O error, without the "(os error N)" tail.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// The usable certificates in a PEM bundle, and how many certificate
/// blocks it has (other items, such as keys, are skipped). Usable means
/// what the TLS stack will do with it succeeds: rustls takes it as a trust
/// anchor. A block that is not X.509 would otherwise be counted, and every
/// handshake would fail later with "unknown issuer".
fn certificates(pem: &[u8]) -> (Vec<ureq::tls::Certificate<'static>>, usize) {
    let mut blocks = 0;
    let mut usable = Vec::new();
    let mut anchors = rustls::RootCertStore::empty();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => {
                blocks += 1;
                let der = rustls::pki_types::CertificateDer::from(c.der());
                if anchors.add(der).is_ok() {
                    usable.push(c);
                }
            }
            // A block whose base64 does not decode: a certificate, broken.
            Err(_) => blocks += 1,
            Ok(_) => {}
        }
    }
    (usable, blocks)
}

pub use crate::error::shown;

/// The partitions SPEC §1 accepts in a role ARN.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

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
        return Err(format!("`{}` is not a role ARN; {WANT}", shown(s)));
    };
    if arn != "arn" || service != "iam" || !region.is_empty() {
        return Err(format!("`{}` is not an IAM role ARN; {WANT}", shown(s)));
    }
    if !PARTITIONS.contains(&partition) {
        return Err(format!(
            "partition `{}` is not known; use one of {}",
            shown(partition),
            PARTITIONS.join(", ")
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "account `{}` is not 12 digits; {WANT}",
            shown(account)
        ));
    }
    let Some(path) = resource.strip_prefix("role/") else {
        return Err(format!(
            "`{}` is not a role (role/NAME); {WANT}",
            shown(resource)
        ));
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    if path.is_empty() || path.ends_with('/') || path.starts_with('/') || !path.chars().all(ok) {
        return Err(format!(
            "role name `{}` is not valid; names and paths use A-Z a-z 0-9 +=,.@_- and /",
            shown(path)
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
    if name.len() < 2 {
        return Err("a session name needs 2-64 chars of A-Z a-z 0-9 _+=,.@-".into());
    }
    let changed = name != s;
    Ok((name, changed))
}

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
        None => Err(format!("`{}` is not a duration; use seconds (3600) or 3600s, 15m, 1h", shown(s))),
    }
}

/// The whole-run timeout, 1 s to 1 h.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    match parse_seconds(s) {
        Some(n @ 1..=3600) => Ok(Duration::from_secs(n)),
        Some(n) => Err(format!("{n} seconds is outside 1s-1h")),
        None => Err(format!(
            "`{}` is not a duration; use 90, 90s or 2m",
            shown(s)
        )),
    }
}

/// The attempt cap, 1-1000.
pub fn parse_attempts(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ 1..=1000) => Ok(n),
        _ => Err(format!(
            "`{}` is not accepted; use a whole number 1-1000 (1 means no retry)",
            shown(s)
        )),
    }
}

/// A region (`^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$`) or `aws-global`.
pub fn parse_region(s: &str) -> Result<String, String> {
    if s == "aws-global" || is_region(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{}` is not a region; use a region code such as us-east-1 or eu-west-2, or aws-global",
            shown(s)
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
            "`{}` is not a boolean; use true/false, 1/0, yes/no or on/off",
            shown(s)
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
            "`{}` is not a log level; use error, warn, info, debug or trace",
            shown(s)
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
        _ => Err(format!(
            "`{}` is not a format; use dotenv, shell, json or credential-process",
            shown(s)
        )),
    }
}

/// Managed policy ARNs, separated by commas or newlines, at most 10.
pub fn parse_policy_arns(s: &str) -> Result<Vec<String>, String> {
    let arns: Vec<String> = s
        .split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if arns.len() > 10 {
        return Err(format!(
            "{} policy ARNs given; STS accepts at most 10",
            arns.len()
        ));
    }
    for arn in &arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = matches!(parts[..], ["arn", p, "iam", "", _, r]
            if PARTITIONS.contains(&p) && r.starts_with("policy/") && r.len() > 7)
            && (20..=2048).contains(&arn.len());
        if !ok {
            return Err(format!(
                "`{}` is not a managed policy ARN; expected arn:aws:iam::ACCOUNT:policy/NAME or arn:aws:iam::aws:policy/NAME",
                shown(arn)
            ));
        }
    }
    Ok(arns)
}

/// A proxy URL: `http://[user:password@]host[:port]`, or `host:port`.
/// Returns the URL for the client and a form safe to log.
pub fn parse_proxy(s: &str) -> Result<(String, String), String> {
    // Only a valid scheme is a scheme: in `ci:pa://PASS@host:9` the text
    // before `://` is a user and part of a password, and is never quoted.
    let (scheme, rest) = match (crate::secret::split_scheme(s), s.split_once("://")) {
        ((Some(scheme), rest), _) => (scheme.to_ascii_lowercase(), rest),
        // Without an @ there are no credentials to hide, so a mistyped
        // scheme can be quoted back.
        (_, Some((scheme, rest))) if !s.contains('@') => (scheme.to_ascii_lowercase(), rest),
        _ => ("http".to_string(), s),
    };
    if scheme.starts_with("socks") {
        return Err(format!(
            "{} proxies are not supported; use an http:// proxy (HTTPS is tunnelled with CONNECT)",
            shown(&scheme)
        ));
    }
    if scheme != "http" {
        return Err(format!(
            "proxy scheme `{}` is not supported; use an http:// proxy URL",
            shown(&scheme)
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    // An '@' past the first '/' belongs to a user or password holding an
    // unencoded '/'; cut there, the start of the password would show as the
    // host in logs. The value is not quoted, since it holds the password.
    if rest[authority.len()..].contains('@') {
        return Err(
            "the proxy URL has an @ after a /; percent-encode any / in the user or password as %2F"
                .into(),
        );
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() || hostport.starts_with(':') {
        return Err("the proxy URL has no host; use http://host:port".into());
    }
    let url = match userinfo {
        Some(u) => format!("http://{u}@{hostport}"),
        None => format!("http://{hostport}"),
    };
    // The user name is part of the proxy's credentials too: neither is shown.
    let display = crate::secret::mask_url(&url);
    // The client parses the URL again: it must, and reach the host shown.
    // A `?`, `#` or space in the password would cut it or fail only at the
    // request. Not quoted, since it holds the password.
    let parsed = url.parse::<ureq::http::Uri>().ok();
    let authority = parsed.as_ref().and_then(|u| u.authority());
    // It takes `host:port` with any port text; only digits are a port.
    let port_ok = authority.is_some_and(|a| {
        a.port().is_some()
            || !hostport
                .rsplit(']')
                .next()
                .unwrap_or_default()
                .contains(':')
    });
    if !port_ok || authority.map(|a| a.as_str()) != url.get("http://".len()..) {
        return Err("the proxy URL is not one the client can use; percent-encode any ? # / @ or space in the user or password (? is %3F), and give the port as digits".into());
    }
    Ok((url, display))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFiles;
    impl Files for NoFiles {
        fn read(&mut self, _: &str, _: u64) -> io::Result<Vec<u8>> {
            Err(io::ErrorKind::NotFound.into())
        }
    }

    struct OneFile(&'static str, &'static str);
    impl Files for OneFile {
        fn read(&mut self, path: &str, _: u64) -> io::Result<Vec<u8>> {
            if path == self.0 {
                Ok(self.1.as_bytes().to_vec())
            } else {
                Err(io::ErrorKind::NotFound.into())
            }
        }
    }

    const ARN: &str = "arn:aws:iam::123456789012:role/ci";

    fn inputs(env: &[(&str, &str)], flags: &[&str]) -> Inputs {
        let args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        let Command::Run { flags, .. } = parse_args(&args).unwrap() else {
            panic!("not a run")
        };
        Inputs {
            flags,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn ok(env: &[(&str, &str)], flags: &[&str]) -> Settings {
        resolve(&inputs(env, flags), &mut NoFiles).unwrap()
    }

    fn err(env: &[(&str, &str)], flags: &[&str]) -> String {
        resolve(&inputs(env, flags), &mut NoFiles)
            .unwrap_err()
            .to_string()
    }

    /// SPEC §1's table, copied: every setting's env names in order.
    const SPEC_NAMES: &[(&str, &[&str])] = &[
        (
            "role ARN",
            &[
                "PLUGIN_IAMROLEARN",
                "PLUGIN_IAM_ROLE_ARN",
                "PLUGIN_ROLE_ARN",
                "PLUGIN_ROLEARN",
                "AWS_ROLE_ARN",
            ],
        ),
        (
            "token",
            &[
                "PLUGIN_OIDC_TOKEN_ID",
                "PLUGIN_OIDCTOKENID",
                "PLUGIN_OIDC_TOKEN",
            ],
        ),
        (
            "token file",
            &[
                "PLUGIN_OIDC_TOKEN_FILE",
                "PLUGIN_OIDCTOKENFILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
            ],
        ),
        (
            "session name",
            &[
                "PLUGIN_ROLE_SESSION_NAME",
                "PLUGIN_ROLESESSIONNAME",
                "AWS_ROLE_SESSION_NAME",
            ],
        ),
        (
            "duration",
            &[
                "PLUGIN_DURATION",
                "PLUGIN_DURATION_SECONDS",
                "PLUGIN_DURATIONSECONDS",
            ],
        ),
        (
            "region",
            &["PLUGIN_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
        ),
        (
            "STS endpoint",
            &[
                "PLUGIN_STS_ENDPOINT",
                "PLUGIN_ENDPOINT",
                "AWS_ENDPOINT_URL_STS",
                "AWS_ENDPOINT_URL",
            ],
        ),
        ("FIPS endpoint", &["PLUGIN_FIPS", "AWS_USE_FIPS_ENDPOINT"]),
        (
            "dual-stack endpoint",
            &["PLUGIN_DUALSTACK", "AWS_USE_DUALSTACK_ENDPOINT"],
        ),
        ("regional vs global", &["AWS_STS_REGIONAL_ENDPOINTS"]),
        (
            "CA bundle",
            &["PLUGIN_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"],
        ),
        ("inline session policy", &["PLUGIN_POLICY"]),
        (
            "managed session policies",
            &["PLUGIN_POLICY_ARNS", "PLUGIN_POLICYARNS"],
        ),
        ("timeout", &["PLUGIN_TIMEOUT"]),
        ("attempts", &["PLUGIN_MAX_ATTEMPTS", "PLUGIN_MAXATTEMPTS"]),
        ("log level", &["PLUGIN_LOG_LEVEL", "PLUGIN_LOGLEVEL"]),
        ("secret output file", &["HARNESS_OUTPUT_SECRET_FILE"]),
        (
            "output variables file",
            &["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
        ),
        ("explicit output", &["PLUGIN_OUTPUT_FILE"]),
        ("output format", &["PLUGIN_OUTPUT_FORMAT"]),
        ("mask account id", &["PLUGIN_MASK_ACCOUNT_ID"]),
    ];

    #[test]
    fn every_setting_reads_the_spec_names_in_the_spec_order() {
        assert_eq!(ALL.len(), SPEC_NAMES.len());
        for ((name, def), (spec_name, spec_envs)) in ALL.iter().zip(SPEC_NAMES) {
            assert_eq!((*name, def.envs), (*spec_name, *spec_envs));
            // Each spelling wins over every later one, and a blank earlier
            // one does not count.
            for (i, env) in def.envs.iter().enumerate() {
                let mut map: BTreeMap<String, String> = def.envs[i..]
                    .iter()
                    .enumerate()
                    .map(|(j, e)| (e.to_string(), format!(" value-{j} ")))
                    .collect();
                for earlier in &def.envs[..i] {
                    map.insert(earlier.to_string(), " ".into());
                }
                let inputs = Inputs {
                    flags: vec![],
                    env: map,
                };
                let got = inputs.get(def).unwrap();
                assert_eq!(
                    (got.value.as_str(), got.source.as_str()),
                    ("value-0", *env),
                    "{name}"
                );
                // A flag beats them all.
                if let Some(flag) = def.flag {
                    let with_flag = Inputs {
                        flags: vec![(flag, "from-flag".into())],
                        ..inputs
                    };
                    assert_eq!(with_flag.get(def).unwrap().value, "from-flag", "{name}");
                }
            }
        }
    }

    #[test]
    fn every_role_arn_spelling_is_read_in_order() {
        let names = ROLE_ARN.envs;
        for (i, name) in names.iter().enumerate() {
            let mine = format!("arn:aws:iam::12345678901{i}:role/r");
            let mut env = vec![(*name, mine.as_str()), ("PLUGIN_OIDC_TOKEN_ID", "tok-en")];
            // Every later spelling is also set and must lose.
            let later: Vec<String> = names[i + 1..]
                .iter()
                .map(|_| "arn:aws:iam::999999999999:role/other".to_string())
                .collect();
            for (n, v) in names[i + 1..].iter().zip(&later) {
                env.push((n, v));
            }
            // Earlier spellings set but blank do not win.
            for n in &names[..i] {
                env.push((n, "  "));
            }
            let s = ok(&env, &[]);
            assert_eq!(s.role.arn, mine, "{name}");
        }
    }

    #[test]
    fn token_spellings_and_precedence() {
        for name in TOKEN.envs {
            assert_eq!(
                ok(&[("AWS_ROLE_ARN", ARN), (name, " abcd \n")], &[])
                    .token
                    .expose(),
                "abcd"
            );
        }
        let env = [
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN_ID", "from-env"),
            ("PLUGIN_OIDC_TOKEN", "later-env"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
        ];
        let mut files = OneFile("/t", "from-file\n");
        let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
        assert_eq!(s.token.expose(), "from-env");
        let s = resolve(&inputs(&env, &["--token-file", "/t"]), &mut files).unwrap();
        assert_eq!(s.token.expose(), "from-file");
        let s = resolve(
            &inputs(&env, &["--token-file=/t", "--token", "flag"]),
            &mut files,
        )
        .unwrap();
        assert_eq!(s.token.expose(), "flag");
        let env = [("AWS_ROLE_ARN", ARN), ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")];
        let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
        assert_eq!(s.token.expose(), "from-file");
        assert!(s.token_source.starts_with("AWS_WEB_IDENTITY_TOKEN_FILE"));
    }

    #[test]
    fn token_problems_name_the_source_and_never_the_token() {
        let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abc")], &[]);
        assert_eq!(
            e,
            "PLUGIN_OIDC_TOKEN: the token is 3 chars; STS accepts 4-20000"
        );
        let long = "x".repeat(20001);
        let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", &long)], &[]);
        assert!(!e.contains("xxxx"), "{e}");
        let e = err(
            &[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_FILE", "/nope")],
            &[],
        );
        assert_eq!(
            e,
            "PLUGIN_OIDC_TOKEN_FILE: cannot read /nope: no such file; check the path and that this step can read it"
        );
        let mut files = OneFile("/empty", " \n");
        let e = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/empty"]),
            &mut files,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--token-file: /empty is empty; it should hold the OIDC token"
        );
        assert!(err(&[("AWS_ROLE_ARN", ARN)], &[]).contains("no OIDC token is set"));
        assert!(err(&[("PLUGIN_OIDC_TOKEN", "abcd")], &[]).contains("no role ARN is set"));
    }

    #[test]
    fn role_arns() {
        let good = [
            ("arn:aws:iam::123456789012:role/ci", "aws"),
            ("arn:aws-cn:iam::123456789012:role/path/to/ci", "aws-cn"),
            (
                "arn:aws-us-gov:iam::123456789012:role/a_b+c=d,e.f@g-h",
                "aws-us-gov",
            ),
            ("arn:aws-iso-b:iam::123456789012:role/x", "aws-iso-b"),
            ("arn:aws-eusc:iam::123456789012:role/x", "aws-eusc"),
        ];
        for (arn, partition) in good {
            let r = parse_role_arn(arn).unwrap();
            assert_eq!(
                (r.partition.as_str(), r.account.as_str()),
                (partition, "123456789012")
            );
        }
        let bad = [
            ("arn:aws:iam::12345678901:role/ci", "not 12 digits"),
            ("arn:aws:iam::1234567890123:role/ci", "not 12 digits"),
            ("arn:aws:iam::123456789012:user/ci", "not a role"),
            ("arn:aws:s3::123456789012:role/ci", "not an IAM role ARN"),
            (
                "arn:aws:iam:us-east-1:123456789012:role/ci",
                "not an IAM role ARN",
            ),
            ("arn:azure:iam::123456789012:role/ci", "partition `azure`"),
            ("arn:aws:iam::123456789012:role/", "not valid"),
            ("arn:aws:iam::123456789012:role/c i", "not valid"),
            ("arn:aws:iam::123456789012:role/ci/", "not valid"),
            ("123456789012", "20-2048"),
            ("role/ci-deploy-xxxxxxxxxxxxxx", "not a role ARN"),
        ];
        for (arn, want) in bad {
            let e = parse_role_arn(arn).unwrap_err();
            assert!(e.contains(want), "{arn}: {e}");
        }
        assert!(parse_role_arn(&format!(
            "arn:aws:iam::123456789012:role/{}",
            "a".repeat(2040)
        ))
        .is_err());
    }

    #[test]
    fn session_names() {
        let check = |input: &str, want: Result<(&str, bool), ()>| {
            let got = sanitize_session_name(input);
            match want {
                Ok((name, changed)) => {
                    assert_eq!(got.unwrap(), (name.to_string(), changed), "{input}")
                }
                Err(()) => assert!(got.is_err(), "{input}"),
            }
        };
        check("harness-aws-oidc", Ok(("harness-aws-oidc", false)));
        check("a_b+c=d,e.f@g-h", Ok(("a_b+c=d,e.f@g-h", false)));
        check("my pipeline/run#7", Ok(("my-pipeline-run-7", true)));
        check("é1", Ok(("-1", true)));
        check(&"a".repeat(70), Ok((&"a".repeat(64), true)));
        check("a", Err(()));
        let s = ok(
            &[
                ("AWS_ROLE_ARN", ARN),
                ("PLUGIN_OIDC_TOKEN", "head.body.sig"),
                ("PLUGIN_ROLESESSIONNAME", "run 42"),
            ],
            &[],
        );
        assert_eq!(s.session_name, "run-42");
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("using `run-42`"));
        let s = ok(
            &[
                ("AWS_ROLE_ARN", ARN),
                ("PLUGIN_OIDC_TOKEN", "head.body.sig"),
            ],
            &[],
        );
        assert_eq!(s.session_name, "harness-aws-oidc");
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn durations() {
        let cases = [
            ("900", Ok(900)),
            ("3600", Ok(3600)),
            ("3600s", Ok(3600)),
            ("15m", Ok(900)),
            ("1h", Ok(3600)),
            ("12h", Ok(43200)),
            ("43200", Ok(43200)),
            ("899", Err("outside 900-43200")),
            ("43201", Err("outside")),
            ("13h", Err("outside")),
            ("1d", Err("not a duration")),
            ("abc", Err("not a duration")),
            ("-900", Err("not a duration")),
            ("1.5h", Err("not a duration")),
            ("99999999999999", Err("not a duration")),
        ];
        for (input, want) in cases {
            match (parse_duration(input), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "{input}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
        assert_eq!(ok(&base, &[]).duration, None);
        for name in DURATION.envs {
            let mut env = base.to_vec();
            env.push((name, "1h"));
            assert_eq!(ok(&env, &[]).duration, Some(3600), "{name}");
        }
        let mut env = base.to_vec();
        env.push(("PLUGIN_DURATION", "5"));
        assert_eq!(
            err(&env, &[]),
            "PLUGIN_DURATION: 5 seconds is outside 900-43200 (15m-12h); the role's maximum session duration also caps it"
        );
    }

    #[test]
    fn regions_booleans_and_small_values() {
        for r in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "aws-global",
            "ap-southeast-5",
        ] {
            assert_eq!(parse_region(r).unwrap(), r);
        }
        for r in [
            "us-east",
            "US-EAST-1",
            "useast1",
            "u-east-1",
            "us--1",
            "us-east-1a",
            "",
            "us_east_1",
        ] {
            assert!(parse_region(r).is_err(), "{r}");
        }
        for (s, b) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("Yes", true),
            ("on", true),
            ("false", false),
            ("0", false),
            ("NO", false),
            ("off", false),
        ] {
            assert_eq!(parse_bool(s), Ok(b), "{s}");
        }
        assert!(parse_bool("y").is_err());
        assert_eq!(parse_timeout("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_timeout("0").is_err());
        assert_eq!(parse_attempts("1"), Ok(1));
        assert_eq!(parse_attempts("1000"), Ok(1000));
        assert!(parse_attempts("0").is_err() && parse_attempts("1001").is_err());
        assert_eq!(parse_level("DEBUG"), Ok(Level::Debug));
        assert!(parse_level("verbose").is_err());
        assert_eq!(
            parse_format("credential-process"),
            Ok(Format::CredentialProcess)
        );
        assert!(parse_format("yaml").is_err());
    }

    #[test]
    fn policy_arns() {
        let arns = parse_policy_arns(
            "arn:aws:iam::aws:policy/ReadOnlyAccess,\narn:aws:iam::123456789012:policy/deploy\n",
        )
        .unwrap();
        assert_eq!(arns.len(), 2);
        let eleven = ["arn:aws:iam::aws:policy/ReadOnlyAccess"; 11].join(",");
        assert!(parse_policy_arns(&eleven)
            .unwrap_err()
            .contains("at most 10"));
        assert!(parse_policy_arns("arn:aws:iam::aws:role/x-xxxxxxxxxxx").is_err());
    }

    #[test]
    fn proxies() {
        assert_eq!(
            parse_proxy("http://proxy:3128").unwrap(),
            ("http://proxy:3128".into(), "http://proxy:3128".into())
        );
        assert_eq!(
            parse_proxy("http://bob:hunter2@proxy:3128/").unwrap(),
            (
                "http://bob:hunter2@proxy:3128".into(),
                "http://***:***@proxy:3128".into()
            )
        );
        assert_eq!(parse_proxy("proxy:3128").unwrap().0, "http://proxy:3128");
        assert!(parse_proxy("socks5://proxy:1080")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_proxy("socks5h://proxy:1080").is_err());
        assert!(parse_proxy("ftp://proxy").is_err());
        let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
        let mut env = base.to_vec();
        env.extend([
            ("HTTP_PROXY", "http://ignored:1"),
            ("all_proxy", "http://all:2"),
            ("https_proxy", "http://low:3"),
        ]);
        let s = ok(&env, &[]);
        assert_eq!(s.proxy.unwrap().display, "http://low:3");
        env.push(("HTTPS_PROXY", "socks5://x:1"));
        assert!(err(&env, &[]).starts_with("HTTPS_PROXY: socks5 proxies are not supported"));
        let e = err(
            &[
                ("AWS_ROLE_ARN", ARN),
                ("PLUGIN_OIDC_TOKEN", "abcd"),
                ("HTTPS_PROXY", "socks://u:pw@x:1"),
            ],
            &[],
        );
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn a_slash_in_a_proxy_password_never_shows_it() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): with an unencoded
        // '/' in the password, the URL was cut at the '/' and the start of
        // the password was logged as the proxy's port.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/settings-proxy-password-slash"
        ))
        .unwrap();
        let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let shown = match resolve(&inputs(&env, &[]), &mut NoFiles) {
            Ok(s) => format!("{:?}", s.resolved) + &s.proxy.map(|p| p.display).unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        assert!(!shown.contains("Ab3"), "{shown}");
        assert!(
            shown.contains("percent-encode any / in the user or password as %2F"),
            "{shown}"
        );
        assert!(parse_proxy("http://svc:a%2Fb@proxy:3128").is_ok());
    }

    #[test]
    fn proxy_urls_the_client_cannot_use_are_refused() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): a `?` in the
        // password passed here, then the client read the URL differently
        // (or not at all) and the run failed after --check said it was fine.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/settings-proxy-question-mark"
        ))
        .unwrap();
        let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let e = resolve(&inputs(&env, &[]), &mut NoFiles)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("HTTPS_PROXY: the proxy URL is not one the client can use"),
            "{e}"
        );
        assert!(!e.contains("pa?ss") && !e.contains("svc"), "{e}");
        for bad in [
            "http://svc:pa#ss@proxy:3128",
            "http://svc:pa ss@proxy:3128",
            "proxy:port",
        ] {
            assert!(parse_proxy(bad).is_err(), "{bad}");
        }
        for good in [
            "http://svc:pa%3Fss@proxy:3128",
            "proxy",
            "http://[::1]:3128",
            "http://[::1]",
        ] {
            assert!(parse_proxy(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn endpoint_sources_and_ignore_switch() {
        let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
        let mut env = base.to_vec();
        env.push(("AWS_ENDPOINT_URL", "https://generic"));
        assert_eq!(ok(&env, &[]).endpoint.unwrap().source, "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL_STS", "https://sts-only"));
        assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://sts-only");
        env.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
        assert!(ok(&env, &[]).endpoint.is_none());
        env.push(("PLUGIN_ENDPOINT", "https://plugin"));
        assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://plugin");
        let s = ok(&env, &["--endpoint=https://flag"]);
        assert_eq!(s.endpoint.unwrap().source, "--endpoint");
    }

    #[test]
    fn ca_bundle_must_hold_a_certificate() {
        let env = [
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("AWS_CA_BUNDLE", "/ca.pem"),
        ];
        let mut files = OneFile("/ca.pem", "not a pem\n");
        let e = resolve(&inputs(&env, &[]), &mut files).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AWS_CA_BUNDLE: /ca.pem holds no PEM certificate"),
            "{e}"
        );
        assert_eq!(e.code(), 2);
    }

    #[test]
    fn command_line() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(args(&["--help"]), Ok(Command::Help));
        assert_eq!(args(&["--region", "x", "--version"]), Ok(Command::Version));
        assert_eq!(
            args(&[
                "--region",
                "us-east-1",
                "--fips",
                "--dualstack=false",
                "--check"
            ]),
            Ok(Command::Run {
                flags: vec![
                    ("region", "us-east-1".into()),
                    ("fips", "true".into()),
                    ("dualstack", "false".into())
                ],
                check: true
            })
        );
        assert_eq!(
            args(&["--bogus"]).unwrap_err().to_string(),
            "unknown flag `--bogus` (see aws-oidc --help)"
        );
        assert_eq!(
            args(&["--role-arn"]).unwrap_err().to_string(),
            "flag `--role-arn` needs a value (see aws-oidc --help)"
        );
        assert!(args(&["--role-arn", "--fips"]).is_err());
        let e = args(&["eyJsecret"]).unwrap_err().to_string();
        assert!(!e.contains("eyJ"), "{e}");
        assert_eq!(
            args(&["--token-file", "-"]).unwrap(),
            Command::Run {
                flags: vec![("token-file", "-".into())],
                check: false
            }
        );
        // Every flag the spec lists exists.
        for flag in [
            "role-arn",
            "token",
            "token-file",
            "session-name",
            "duration",
            "region",
            "endpoint",
            "fips",
            "dualstack",
            "ca-bundle",
            "policy",
            "policy-arns",
            "timeout",
            "max-attempts",
            "log-level",
            "output",
            "format",
            "mask-account-id",
        ] {
            assert!(args(&[&format!("--{flag}=1")]).is_ok(), "{flag}");
        }
        // A flag wins over env.
        let s = ok(
            &[
                ("AWS_ROLE_ARN", ARN),
                ("PLUGIN_OIDC_TOKEN", "abcd"),
                ("PLUGIN_REGION", "eu-west-1"),
            ],
            &["--region", "us-west-2"],
        );
        assert_eq!(s.region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn values_with_control_characters_stay_on_one_line() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): values were
        // quoted raw, so a newline or a terminal escape inside an env value
        // or a flag broke the one-line error. Each line after the first two
        // is one bad value (in the fuzz input's escapes).
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/settings-control-chars"
        ))
        .unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                l.replace("\\n", "\n")
                    .replace("\\r", "\r")
                    .replace("\\x1b", "\x1b")
                    .replace("\\x00", "\0")
            })
            .collect();
        let base: Vec<(&str, &str)> = lines[..2]
            .iter()
            .filter_map(|l| l.split_once('='))
            .collect();
        for line in &lines[2..] {
            let e = if line.starts_with("--") {
                parse_args(std::slice::from_ref(line)).unwrap_err()
            } else {
                let mut env = base.clone();
                env.extend(line.split_once('='));
                match resolve(&inputs(&env, &[]), &mut NoFiles) {
                    Err(e) => e,
                    Ok(s) => crate::endpoint::for_settings(&s).unwrap_err(),
                }
            }
            .to_string();
            assert!(!e.contains(char::is_control), "{line:?}: {e:?}");
            assert!(e.contains('\\'), "{line:?}: the escape is shown: {e}");
        }
    }

    #[test]
    fn bad_values_name_what_was_read() {
        let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
        let cases = [
            (
                "PLUGIN_REGION",
                "mars",
                "PLUGIN_REGION: `mars` is not a region",
            ),
            (
                "PLUGIN_FIPS",
                "maybe",
                "PLUGIN_FIPS: `maybe` is not a boolean",
            ),
            (
                "AWS_STS_REGIONAL_ENDPOINTS",
                "both",
                "AWS_STS_REGIONAL_ENDPOINTS: `both` is not accepted",
            ),
            (
                "PLUGIN_MAXATTEMPTS",
                "5000",
                "PLUGIN_MAXATTEMPTS: `5000` is not accepted",
            ),
            (
                "PLUGIN_LOGLEVEL",
                "loud",
                "PLUGIN_LOGLEVEL: `loud` is not a log level",
            ),
            (
                "PLUGIN_OUTPUT_FORMAT",
                "xml",
                "PLUGIN_OUTPUT_FORMAT: `xml` is not a format",
            ),
            (
                "PLUGIN_TIMEOUT",
                "forever",
                "PLUGIN_TIMEOUT: `forever` is not a duration",
            ),
            (
                "PLUGIN_MASK_ACCOUNT_ID",
                "2",
                "PLUGIN_MASK_ACCOUNT_ID: `2` is not a boolean",
            ),
        ];
        for (name, value, want) in cases {
            let mut env = base.to_vec();
            env.push((name, value));
            let e = err(&env, &[]);
            assert!(e.starts_with(want), "{e}");
        }
        let mut env = base.to_vec();
        let policy = format!("{{\"Statement\":\"{}\"}}", "s".repeat(2100));
        env.push(("PLUGIN_POLICY", &policy));
        let e = err(&env, &[]);
        assert!(
            e.starts_with("PLUGIN_POLICY: the session policy is") && !e.contains("Statement"),
            "{e}"
        );
    }

    #[test]
    fn values_that_are_not_paths_or_flags_are_described_not_quoted() {
        for path in [
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            "token.jwt",
            "C:\\ci\\token",
            "./token",
            "-",
            "/nonexistent/token",
        ] {
            assert!(looks_like_path(path), "{path}");
        }
        let long = "a".repeat(200);
        for token in [
            "opaque:SIG:abc!def",
            "opaque-oauth-access-token-0123456789",
            "abc/def+ghi==",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
            long.as_str(),
        ] {
            assert!(!looks_like_path(token), "{token}");
        }
        for arg in [
            "--opaque:SIG:abc!def",
            "--eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
            "-opaque:SIG:abc!def",
        ] {
            let e = parse_args(&[arg.to_string()]).unwrap_err().to_string();
            assert!(!e.contains("SIG") && !e.contains("eyJ"), "{e}");
            assert!(e.contains("characters, not shown"), "{e}");
        }
        let e = parse_args(&["--role-ar".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("unknown flag `--role-ar`"), "{e}");
    }

    #[test]
    fn proxy_urls_that_do_not_parse_never_show_their_credentials() {
        for url in [
            "ci:pa://PASS@host:9",
            "http://ci:pa/SS@host:9",
            "http://ci:pa?SS@host:9",
            "http://ci:pa#SS@host:9",
            "ftp://ci:PASS@host:9",
        ] {
            let e = parse_proxy(url).unwrap_err();
            assert!(
                !e.contains("PASS") && !e.contains("SS") && !e.contains("ci"),
                "{url}: {e}"
            );
        }
    }

    #[test]
    fn near_misses_suggest_the_setting_meant() {
        let known = || {
            ALL.iter()
                .flat_map(|(_, d)| d.envs.iter().copied())
                .filter(|n| n.starts_with("PLUGIN_"))
        };
        let cases = [
            ("PLUGIN_ROLE_ARM", Some("PLUGIN_ROLE_ARN")),
            ("PLUGIN_REGIONS", Some("PLUGIN_REGION")),
            ("PLUGIN_ROLE_SESSION", Some("PLUGIN_ROLE_SESSION_NAME")),
            ("PLUGIN_IAM_ROLE", Some("PLUGIN_IAM_ROLE_ARN")),
            ("PLUGIN_OIDC_TOKENID", Some("PLUGIN_OIDC_TOKEN_ID")),
            ("PLUGIN_OIDCTOKEN", Some("PLUGIN_OIDC_TOKEN")),
            ("PLUGIN_MASKACCOUNTID", Some("PLUGIN_MASK_ACCOUNT_ID")),
            ("PLUGIN_TIMOUT", Some("PLUGIN_TIMEOUT")),
            ("PLUGIN_SOMETHING", None),
            ("PLUGIN_R", None),
            ("PLUGIN_", None),
        ];
        for (typed, want) in cases {
            assert_eq!(nearest(typed, known()), want, "{typed}");
        }
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance(b"", b"abc"), 3);
        assert_eq!(edit_distance(b"rolearm", b"rolearn"), 1);
    }

    #[test]
    fn a_token_is_one_line_of_printable_ascii() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let check = |token: &str, want: Option<&str>| {
            let got = token_problem(token);
            assert_eq!(got.as_deref(), want, "{token:?}");
            if let Some(problem) = got {
                assert!(!problem.contains("eyJ"), "{problem}");
            }
        };
        check(jwt, None);
        check("opaque:SIG:abc!def~", None);
        check("!~", None);
        check(
            "a\nb",
            Some("spans more than one line; it should hold the token alone, on one line"),
        );
        check(
            "a\rb",
            Some("spans more than one line; it should hold the token alone, on one line"),
        );
        check(
            "ab c",
            Some("holds whitespace at character 3; it should hold the token alone, on one line"),
        );
        check(
            "a\tb",
            Some("holds whitespace at character 2; it should hold the token alone, on one line"),
        );
        check("a\0b", Some("holds control character U+0000 at character 2; it should hold the token alone, as text"));
        check("a\u{7f}", Some("holds control character U+007F at character 2; it should hold the token alone, as text"));
        check(
            "aé",
            Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
        );
        check(
            "a\u{a0}b",
            Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
        );
        // Through resolve: env, flag and file alike; trimmed first.
        let env = |v: &str| err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", v)], &[]);
        assert_eq!(
            env(&format!("{jwt}\n{jwt}")),
            "PLUGIN_OIDC_TOKEN: the token spans more than one line; it should hold the token alone, on one line"
        );
        let e = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token", "ab\u{1}cd"]),
            &mut NoFiles,
        )
        .unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(
            e.to_string()
                .starts_with("--token: the token holds control character U+0001"),
            "{e}"
        );
        let mut files = OneFile("/t", "\t eyJh.eyJz.c2ln\r\n");
        let s = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
            &mut files,
        )
        .unwrap();
        assert_eq!(s.token.expose(), "eyJh.eyJz.c2ln");
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let mut files = OneFile("/t", "eyJh.eyJz.c2ln\nsecond\n");
        let e = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
            &mut files,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "--token-file: the token in /t spans more than one line; it should hold the token alone, on one line");
        let mut files = OneFile("-", "a.b.c d");
        let e = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "-"]),
            &mut files,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("--token-file: the token on stdin holds whitespace at character 6"),
            "{e}"
        );
    }

    #[test]
    fn an_opaque_token_is_sent_with_a_warning() {
        for (token, jwt) in [
            ("eyJh.eyJz.c2ln", true),
            ("a-_=.b.c", true),
            ("opaque:SIG:abc!def", false),
            ("ab.cd", false),
            ("a.b.c.d", false),
            ("a..c", false),
            ("a.b+.c", false),
        ] {
            let s = ok(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", token)], &[]);
            assert_eq!(s.token.expose(), token);
            match jwt {
                true => assert!(s.warnings.is_empty(), "{token}: {:?}", s.warnings),
                false => {
                    assert_eq!(s.warnings.len(), 1, "{token}");
                    assert!(s.warnings[0].starts_with(
                        "PLUGIN_OIDC_TOKEN: the token is not a JWT (three base64url parts joined by dots); it is sent as is"
                    ));
                    assert!(!s.warnings[0].contains(token));
                }
            }
        }
    }

    #[test]
    fn only_usable_certificates_count_in_a_ca_bundle() {
        let garbage = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n";
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        for (pem, usable, blocks) in [
            ("", 0, 0),
            ("# a comment, no PEM at all\n", 0, 0),
            (key, 0, 0),
            (garbage, 0, 1),
            (bad_base64, 0, 1),
            (&format!("{garbage}{key}{garbage}"), 0, 2),
        ] {
            let (certs, n) = certificates(pem.as_bytes());
            assert_eq!((certs.len(), n), (usable, blocks), "{pem}");
        }
        let bundle = |pem: &'static str| {
            let mut files = OneFile("/ca.pem", pem);
            resolve(
                &inputs(
                    &[
                        ("AWS_ROLE_ARN", ARN),
                        ("PLUGIN_OIDC_TOKEN", "h.p.s"),
                        ("AWS_CA_BUNDLE", "/ca.pem"),
                    ],
                    &[],
                ),
                &mut files,
            )
        };
        let e = bundle(garbage).unwrap_err();
        assert_eq!(e.code(), 2);
        assert_eq!(
            e.to_string(),
            "AWS_CA_BUNDLE: /ca.pem holds 1 PEM certificate block but no usable X.509 certificate; point it at a PEM bundle of CA certificates"
        );
        assert!(bundle(key)
            .unwrap_err()
            .to_string()
            .contains("holds no PEM certificate"));
    }
}
