//! Outputs (`docs/reference.md` §6): credentials in, file text out, then the
//! one place that
//! opens and writes files. Every destination is checked and opened before
//! STS is asked ([`open`]), so a run that could not write asks nothing.
//! All-or-nothing: every text is rendered and checked before the first byte
//! is written, and a failed run cuts the files it appended to back to their
//! old length and removes the files it created.

mod cache_files;
mod destinations;
mod profile;
mod quote;
mod rollback;
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
pub use quote::command_line;
#[cfg(unix)]
pub(crate) use signals::remove_on_signal;

use crate::error::Error;
use crate::json::quote;
use crate::response::Credentials;
use crate::secret::Secret;
use crate::settings::{Format, ProfileFiles, Settings, Sourced};

/// Where the credentials go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Appended to this file.
    File(String),
    /// Standard output.
    Stdout,
    /// The profiles of the shared credentials file (`docs/reference.md`
    /// §16), as [`Plan::profiles`] says.
    Profile,
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
    /// The profiles written, when the credentials go to profiles.
    pub profiles: Option<ProfilePlan>,
}

/// Where profiles go and what they hold (`docs/reference.md` §16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePlan {
    /// The shared credentials file and the config file.
    pub files: ProfileFiles,
    /// The profiles, one per set of credentials, in order.
    pub names: Vec<String>,
    /// The region written to each profile's config section.
    pub region: Option<String>,
    /// `credential_process` instead of keys.
    pub refreshable: bool,
    /// Long-lived keys may be replaced.
    pub overwrite: bool,
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
    /// `--profile`.
    Profile,
    /// `--profiles`, each role to the profile of its name.
    Profiles,
}

impl ChosenBy {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Output => "--output / PLUGIN_OUTPUT_FILE",
            ChosenBy::CredentialProcess => "--format credential-process",
            ChosenBy::SecretFile => crate::settings::SECRET_FILE.envs[0],
            ChosenBy::Profile => "--profile / PLUGIN_PROFILE",
            ChosenBy::Profiles => "--profiles / PLUGIN_PROFILES",
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
    if let Some(files) = &s.profiles.files {
        return Ok(profile_plan(s, files));
    }
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
        profiles: None,
    })
}

/// The plan of a run that writes profiles: one per set, in the files
/// the settings found; the variables file as in any run.
fn profile_plan(s: &Settings, files: &ProfileFiles) -> Plan {
    let p = &s.profiles;
    let (names, chosen_by) = match (&p.profile, &p.roles) {
        (Some(name), _) => (vec![name.value.clone()], ChosenBy::Profile),
        (None, roles) => (
            roles
                .iter()
                .flat_map(|r| r.iter().map(|n| n.name.clone()))
                .collect(),
            ChosenBy::Profiles,
        ),
    };
    let region = s.region.as_ref().filter(|r| r.value != "aws-global");
    Plan {
        creds: Target::Profile,
        format: Format::Dotenv,
        chosen_by,
        vars: s.vars_file.clone(),
        profiles: Some(ProfilePlan {
            files: files.clone(),
            names,
            region: region.map(|r| r.value.clone()),
            refreshable: p.refreshable,
            overwrite: p.overwrite,
        }),
    }
}

/// A warning when the run writes Harness's or Drone's outputs (the secret
/// file, the variables file) without a region to write: a later step that
/// maps `AWS_REGION` from them, as the README's do, gets nothing
/// (`docs/reference.md` §6.1).
pub fn region_warning(plan: &Plan, s: &Settings) -> Option<String> {
    if !plan.to_secret_file() && plan.vars.is_none() {
        return None;
    }
    const NOT_WRITTEN: &str = "so AWS_REGION and AWS_DEFAULT_REGION are not written; \
                               set PLUGIN_REGION if later steps map them";
    match &s.region {
        None => Some(format!("no region is set, {NOT_WRITTEN}")),
        Some(r) if r.value == "aws-global" => Some(format!(
            "the region aws-global (from {}) names the global endpoint, not a region, {NOT_WRITTEN}",
            r.source
        )),
        Some(_) => None,
    }
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
    pub creds_keys: Vec<String>,
    /// Keys written to the variables file.
    pub vars_keys: Vec<String>,
    /// The edits to the shared credentials file and to the config file,
    /// when the credentials go to profiles.
    pub profile_edits: [Vec<profile::Edit>; 2],
}

/// One set of credentials to render (`docs/reference.md` §16): the
/// settings of its role, its credentials (none for a refreshable profile,
/// which holds `process` instead), the prefix of its names, and its
/// profile when the plan writes profiles.
#[derive(Debug)]
pub struct Set<'a> {
    /// The settings of this set's role.
    pub settings: &'a Settings,
    /// The credentials; `None` for a refreshable profile.
    pub creds: Option<&'a Credentials>,
    /// Put before every name written (`CI_PROD_`), or empty.
    pub prefix: String,
    /// The profile it goes to.
    pub profile: Option<String>,
    /// The `credential_process` command of a refreshable profile.
    pub process: Option<String>,
}

/// Renders every output. Fails, writing nothing, when a value holds a
/// character the readers would mangle.
pub fn render(plan: &Plan, s: &Settings, c: &Credentials) -> Result<Rendered, Error> {
    let one = Set {
        settings: s,
        creds: Some(c),
        prefix: String::new(),
        profile: None,
        process: None,
    };
    render_all(plan, &[one])
}

/// Renders every set into one text per output, in the sets' order; every
/// value is checked before anything is returned.
pub fn render_all(plan: &Plan, sets: &[Set]) -> Result<Rendered, Error> {
    let mut r = Rendered {
        creds: Secret::new(String::new()),
        vars: None,
        creds_keys: Vec::new(),
        vars_keys: Vec::new(),
        profile_edits: [Vec::new(), Vec::new()],
    };
    let (mut text, mut json, mut vars) = (String::new(), Vec::new(), String::new());
    for set in sets {
        match (&plan.profiles, set.creds) {
            (Some(p), _) => profile_edits(p, set, &mut r)?,
            (None, Some(c)) => render_set(plan, set, c, &mut text, &mut json, &mut r.creds_keys)?,
            (None, None) => {}
        }
        let Some(c) = set.creds.filter(|_| plan.vars.is_some()) else {
            continue;
        };
        for (k, val) in variables(set.settings, c, !set.settings.mask_account) {
            check_value(k, &val)?;
            let name = format!("{}{k}", set.prefix);
            vars.push_str(&format!("{name}={val}\n"));
            r.vars_keys.push(name);
        }
    }
    if plan.format == Format::Json && plan.profiles.is_none() {
        text = format!("{{{}}}\n", json.join(","));
    }
    r.creds = Secret::new(text);
    r.vars = plan.vars.as_ref().map(|_| vars);
    Ok(r)
}

/// One line of a shell-like format, its value quoted by that shell's rules.
fn line(format: Format, k: &str, v: &str) -> String {
    match format {
        Format::Shell => format!("export {k}={}\n", quote::sh(v)),
        Format::Fish => format!("set -gx {k} {}\n", quote::fish(v)),
        Format::PowerShell => format!("$env:{k} = {}\n", quote::powershell(v)),
        _ => format!("{k}={v}\n"),
    }
}

/// One set's credentials, with the variables a chosen output carries,
/// into `text` (or, for JSON, its fields into `json`).
fn render_set(
    plan: &Plan,
    set: &Set,
    c: &Credentials,
    text: &mut String,
    json: &mut Vec<String>,
    keys: &mut Vec<String>,
) -> Result<(), Error> {
    let s = set.settings;
    let creds_pairs = [
        (CREDENTIAL_KEYS[0], c.access_key_id.as_str()),
        (CREDENTIAL_KEYS[1], c.secret_access_key.expose()),
        (CREDENTIAL_KEYS[2], c.session_token.expose()),
    ];
    let extra = if plan.to_secret_file() {
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
    let pairs = creds_pairs
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str())));
    for (k, v) in pairs.clone() {
        check_value(k, v)?;
    }
    let p = &set.prefix;
    keys.extend(CREDENTIAL_KEYS.iter().map(|k| format!("{p}{k}")));
    match plan.format {
        Format::Json => {
            let arn = c.assumed_role_arn.as_deref().filter(|_| !s.mask_account);
            let fields = [
                ("AccessKeyId", quote(&c.access_key_id)),
                ("SecretAccessKey", quote(c.secret_access_key.expose())),
                ("SessionToken", quote(c.session_token.expose())),
                ("Expiration", quote(&c.expiration)),
                ("AssumedRoleArn", arn.map_or("null".to_string(), quote)),
            ];
            json.extend(fields.iter().map(|(k, v)| format!("{}:{v}", quote(&format!("{p}{k}")))));
        }
        Format::CredentialProcess => text.push_str(&format!(
            "{{\"Version\":1,\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{}}}\n",
            quote(&c.access_key_id),
            quote(c.secret_access_key.expose()),
            quote(c.session_token.expose()),
            quote(&crate::time::format_utc(c.expires_at)),
        )),
        _ => {
            keys.extend(extra.iter().map(|(k, _)| format!("{p}{k}")));
            for (k, v) in pairs {
                text.push_str(&line(plan.format, &format!("{p}{k}"), v));
            }
        }
    }
    Ok(())
}

/// One set's edits to the profiles files: its keys (or, refreshable, its
/// `credential_process` and no keys), and its region.
fn profile_edits(p: &ProfilePlan, set: &Set, r: &mut Rendered) -> Result<(), Error> {
    // A plan that writes profiles names one for every set.
    let name = set.profile.as_deref().unwrap_or_default();
    let mut config = Vec::new();
    let mut keys = Vec::new();
    if let Some(c) = set.creds.filter(|_| set.process.is_none()) {
        let values = [
            c.access_key_id.as_str(),
            c.secret_access_key.expose(),
            c.session_token.expose(),
        ];
        for (k, v) in CREDENTIAL_KEYS.iter().zip(values) {
            check_value(k, v)?;
        }
        keys = profile::KEY_NAMES
            .iter()
            .zip(values)
            .map(|(k, v)| (*k, Secret::new(v)))
            .collect();
        r.creds_keys
            .extend(profile::KEY_NAMES.iter().map(|k| k.to_string()));
    }
    let remove: &'static [&'static str] = match &set.process {
        Some(command) => {
            config.push(("credential_process", Secret::new(command.as_str())));
            r.creds_keys.push("credential_process".into());
            &[]
        }
        None => &["credential_process"],
    };
    if let Some(region) = &p.region {
        config.push(("region", Secret::new(region.as_str())));
    }
    r.profile_edits[0].push(profile::Edit {
        section: profile::section(name, false),
        set: keys,
        remove: &profile::OWN_KEYS,
    });
    r.profile_edits[1].push(profile::Edit {
        section: profile::section(name, true),
        set: config,
        remove,
    });
    Ok(())
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
