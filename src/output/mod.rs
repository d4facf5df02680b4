//! Outputs (`docs/reference.md` §6): credentials in, file text out, then the
//! one place that
//! opens and writes files. Every destination is checked and opened before
//! STS is asked ([`open`]), so a run that could not write asks nothing.
//! All-or-nothing: every text is rendered and checked before the first byte
//! is written, and a failed run cuts the files it appended to back to their
//! old length and removes the files it created.

mod destinations;
#[cfg(unix)]
mod signals;
#[cfg(test)]
mod tests;
// The cache's files get the same owner-only access list.
#[cfg(windows)]
pub(crate) mod windows;

use std::fmt;

#[cfg(unix)]
pub(crate) use destinations::user_name;
pub use destinations::{open, write, CacheFiles, Destinations, Mode};

use crate::error::Error;
use crate::json::quote;
use crate::response::Credentials;
use crate::secret::Secret;
use crate::settings::{Format, Settings, Sourced};

/// Where the credentials go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Appended to this file.
    File(String),
    /// Standard output.
    Stdout,
}

/// The plan, decided before any network traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Credentials destination.
    pub creds: Target,
    /// Format of the credentials destination.
    pub format: Format,
    /// Which setting chose the destination, for logs.
    pub chosen_by: ChosenBy,
    /// The output variables file, when set.
    pub vars: Option<Sourced<String>>,
}

/// Which setting chose the credentials destination (`docs/reference.md`
/// §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `--output` / PLUGIN_OUTPUT_FILE.
    Output,
    /// `--format credential-process`, which means stdout.
    CredentialProcess,
    /// Harness's HARNESS_OUTPUT_SECRET_FILE.
    SecretFile,
}

impl ChosenBy {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Output => "--output / PLUGIN_OUTPUT_FILE",
            ChosenBy::CredentialProcess => "--format credential-process",
            ChosenBy::SecretFile => crate::settings::SECRET_FILE.envs[0],
        }
    }
}

impl fmt::Display for ChosenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Plan {
    /// Whether the credentials go to Harness's secret file (dotenv, three
    /// keys, and the Harness expressions are worth logging).
    pub fn to_secret_file(&self) -> bool {
        self.chosen_by == ChosenBy::SecretFile
    }
}

/// Explains exit 6 when there is nowhere safe for the credentials.
pub const NO_DESTINATION: &str = "nowhere to write the credentials: HARNESS_OUTPUT_SECRET_FILE is not set, \
and Harness sets it only when output secrets are enabled for the account (feature flag CI_ENABLE_OUTPUT_SECRETS; ask Harness support); \
outside Harness choose an output with PLUGIN_OUTPUT_FILE / --output FILE (or - for stdout) or --format credential-process";

/// Chooses the credentials destination in the order of
/// `docs/reference.md` §6.1.
pub fn plan(s: &Settings) -> Result<Plan, Error> {
    let (creds, format, chosen_by) = if let Some(out) = &s.output {
        // `/dev/stdout` is a symlink on Linux, which [`open`] never
        // follows; it means what `-` means.
        let target = if out == "-" || out == "/dev/stdout" {
            Target::Stdout
        } else {
            Target::File(out.clone())
        };
        (target, s.format, ChosenBy::Output)
    } else if s.format == Format::CredentialProcess {
        (Target::Stdout, s.format, ChosenBy::CredentialProcess)
    } else if let Some(path) = &s.secret_file {
        (
            Target::File(path.clone()),
            Format::Dotenv,
            ChosenBy::SecretFile,
        )
    } else {
        return Err(Error::Output(NO_DESTINATION.into()));
    };
    Ok(Plan {
        creds,
        format,
        chosen_by,
        vars: s.vars_file.clone(),
    })
}

/// The three credential keys, in the order they are written.
pub const CREDENTIAL_KEYS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The non-secret variables: region, expiry, and (when `account` is true)
/// account id and role ARNs.
pub fn variables(s: &Settings, c: &Credentials, account: bool) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(r) = s.region.as_ref().filter(|r| r.value != "aws-global") {
        v.push(("AWS_REGION", r.to_string()));
        v.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    v.push(("AWS_CREDENTIAL_EXPIRATION", c.expiration.clone()));
    if account {
        v.extend(account_variables(s, c));
    }
    v
}

fn account_variables(s: &Settings, c: &Credentials) -> Vec<(&'static str, String)> {
    // With chaining, the last role's: its credentials are the ones written.
    let role = s.last_role();
    let mut v = vec![("AWS_ACCOUNT_ID", role.account.clone())];
    if let Some(arn) = &c.assumed_role_arn {
        v.push(("AWS_ASSUMED_ROLE_ARN", arn.clone()));
    }
    // Not AWS_ROLE_ARN, which aws-oidc reads as the role to assume: a
    // shell that sourced this and ran it again would start a chain at its
    // last role (`docs/reference.md` §6.1).
    v.push(("AWS_OIDC_ROLE_ARN", role.arn.clone()));
    v
}

/// Everything to write, rendered and checked.
#[derive(Debug)]
pub struct Rendered {
    /// The credentials text.
    pub creds: Secret,
    /// The variables text, when there is a variables file.
    pub vars: Option<String>,
    /// Keys written with the credentials.
    pub creds_keys: Vec<&'static str>,
    /// Keys written to the variables file.
    pub vars_keys: Vec<&'static str>,
}

/// Renders every output. Fails, writing nothing, when a value holds a
/// character the readers would mangle.
pub fn render(plan: &Plan, s: &Settings, c: &Credentials) -> Result<Rendered, Error> {
    let creds_pairs = [
        (CREDENTIAL_KEYS[0], c.access_key_id.as_str()),
        (CREDENTIAL_KEYS[1], c.secret_access_key.expose()),
        (CREDENTIAL_KEYS[2], c.session_token.expose()),
    ];
    let is_secret_file = plan.to_secret_file();
    let extra = if is_secret_file {
        if s.mask_account {
            account_variables(s, c)
        } else {
            Vec::new()
        }
    } else {
        // With mask account, the account and role ARNs go only to the
        // secret file, never to a file or stream the user chose.
        variables(s, c, !s.mask_account)
    };
    for (k, v) in creds_pairs
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str())))
    {
        check_value(k, v)?;
    }
    let mut creds_keys: Vec<&'static str> = CREDENTIAL_KEYS.to_vec();
    let creds = match plan.format {
        Format::Dotenv | Format::Shell => {
            creds_keys.extend(extra.iter().map(|(k, _)| *k));
            let lines = creds_pairs.iter().map(|(k, v)| (*k, *v)).chain(extra.iter().map(|(k, v)| (*k, v.as_str())));
            lines
                .map(|(k, v)| match plan.format {
                    Format::Shell => format!("export {k}='{v}'\n"),
                    _ => format!("{k}={v}\n"),
                })
                .collect()
        }
        Format::Json => format!(
            "{{\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{},\"AssumedRoleArn\":{}}}\n",
            quote(&c.access_key_id),
            quote(c.secret_access_key.expose()),
            quote(c.session_token.expose()),
            quote(&c.expiration),
            c.assumed_role_arn
                .as_deref()
                .filter(|_| !s.mask_account)
                .map_or("null".to_string(), quote),
        ),
        Format::CredentialProcess => format!(
            "{{\"Version\":1,\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{}}}\n",
            quote(&c.access_key_id),
            quote(c.secret_access_key.expose()),
            quote(c.session_token.expose()),
            quote(&crate::time::format_utc(c.expires_at)),
        ),
    };
    let (vars, vars_keys) = match &plan.vars {
        None => (None, Vec::new()),
        Some(_) => {
            let v = variables(s, c, !s.mask_account);
            for (k, val) in &v {
                check_value(k, val)?;
            }
            let text = v.iter().map(|(k, val)| format!("{k}={val}\n")).collect();
            (Some(text), v.iter().map(|(k, _)| *k).collect())
        }
    };
    Ok(Rendered {
        creds: Secret::new(creds),
        vars,
        creds_keys,
        vars_keys,
    })
}

/// The last guard before anything is written: every value is non-empty and
/// within the widest of STS's alphabets ([`crate::response::arn_char`]),
/// which no dotenv reader, shell or JSON reader changes or acts on. Answer
/// fields were already held to their own alphabets by `response` (exit 5)
/// and settings by their rules; this catches any value that reaches an
/// output some other way, now or later. The value is never shown.
pub fn check_value(key: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::Output(format!(
            "{key} is empty; nothing was written"
        )));
    }
    if !value.chars().all(crate::response::arn_char) {
        return Err(Error::Output(format!(
            "{key} holds a character outside A-Z a-z 0-9 + = , . @ _ / : -, which readers of the outputs could act on; nothing was written"
        )));
    }
    Ok(())
}
