//! The settings of named profiles, several roles and name prefixes
//! (`docs/reference.md` §16): `--profile`, `--profiles`, `--refreshable`,
//! `--overwrite-profile`, `--roles` and `--env-prefix`, each parsed by a
//! pure rule here, and the conflicts between them and the other settings.

use std::path::Path;

use super::defs::{def, CACHE_DIR, PROFILE_FILE_ENVS};
use super::rules::{parse_role_arn, split_list, Format, RoleArn};
use super::{Inputs, Settings, Source, Sourced, TokenSource};
use crate::error::{quoted, Error};

// This file's entries of the table of settings (`docs/reference.md` §1.2).
def!(
    PROFILE,
    "profile",
    Some("--profile"),
    plugin ["PLUGIN_PROFILE"],
    also [],
    Value,
    "none (the outputs of §6.1)",
    "a profile name, 1-64 chars of A-Z a-z 0-9 _.@+-: the credentials go to [NAME] of the shared credentials file, a region to its config"
);
def!(
    PROFILES,
    "profile per role",
    Some("--profiles"),
    plugin ["PLUGIN_PROFILES"],
    also [],
    Bool,
    "false",
    "true: with --roles, each role's credentials go to the profile of its NAME"
);
def!(
    REFRESHABLE,
    "refreshable profile",
    Some("--refreshable"),
    plugin ["PLUGIN_REFRESHABLE"],
    also [],
    Bool,
    "false",
    "true: write credential_process (this program, with --cache) instead of keys; needs the token from a file or a token command"
);
def!(
    OVERWRITE_PROFILE,
    "overwrite long-lived keys",
    Some("--overwrite-profile"),
    plugin ["PLUGIN_OVERWRITE_PROFILE"],
    also [],
    Bool,
    "false",
    "true: replace a profile that holds keys without aws_session_token"
);
def!(
    ROLES,
    "several roles",
    Some("--roles"),
    plugin ["PLUGIN_ROLES"],
    also [],
    Value,
    "none (one role)",
    "NAME=ROLE_ARN entries, commas or newlines, at most 10; each name prefixes its outputs (NAME_) or, with --profiles, names its profile"
);
def!(
    ENV_PREFIX,
    "name prefix",
    Some("--env-prefix"),
    plugin ["PLUGIN_ENV_PREFIX"],
    also [],
    Value,
    "none",
    "1-64 chars of A-Z a-z 0-9 _, not starting with a digit; put before every variable name written"
);

/// The most roles `--roles` takes: each is one more exchange within the
/// one timeout.
pub const MAX_ROLES: usize = 10;

/// One entry of `--roles`: the name its outputs or profile are known by,
/// and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRole {
    /// The name as given (`gov-cloud`).
    pub name: String,
    /// The role.
    pub role: RoleArn,
}

/// The two files profiles are written to, and where each path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFiles {
    /// The shared credentials file: the keys.
    pub credentials: Sourced<String>,
    /// The config file: the region and `credential_process`.
    pub config: Sourced<String>,
    /// Both are in the default folder (`~/.aws`), made 0700 when missing.
    pub default_folder: bool,
}

/// What the run writes besides the plain outputs (§16).
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    /// `--profile NAME`.
    pub profile: Option<Sourced<String>>,
    /// `--roles NAME=ARN,…`; the first is also the settings' role.
    pub roles: Option<Sourced<Vec<NamedRole>>>,
    /// `--profiles`: each role to the profile of its name.
    pub per_role: bool,
    /// `--refreshable`: `credential_process` instead of keys.
    pub refreshable: bool,
    /// `--overwrite-profile`: long-lived keys may be replaced.
    pub overwrite: bool,
    /// `--env-prefix`.
    pub env_prefix: Option<Sourced<String>>,
    /// The files, when profiles are written.
    pub files: Option<ProfileFiles>,
    /// The cache folder a refreshable profile's command names, as set.
    pub cache_dir: Option<Sourced<String>>,
}

impl Profiles {
    /// Whether the run goes the way of §16 at all; otherwise it is the
    /// run of §6, unchanged.
    pub fn in_use(&self) -> bool {
        self.profile.is_some() || self.roles.is_some() || self.env_prefix.is_some()
    }

    /// The debug listing's rows for these settings.
    pub fn listing(&self) -> Vec<String> {
        let row = |name: &str, value: &str, source: Source| {
            format!("setting {name} = {value} (from {source})")
        };
        let mut rows = Vec::new();
        if let Some(p) = &self.profile {
            rows.push(row("profile", &p.value, p.source));
        }
        if let Some(r) = &self.roles {
            let shown: Vec<String> = r
                .iter()
                .map(|n| format!("{}={}", n.name, n.role.arn))
                .collect();
            rows.push(row("several roles", &shown.join(","), r.source));
        }
        if let Some(p) = &self.env_prefix {
            rows.push(row("name prefix", &p.value, p.source));
        }
        if let Some(f) = &self.files {
            rows.push(row(
                "credentials file",
                &f.credentials.value,
                f.credentials.source,
            ));
            rows.push(row("config file", &f.config.value, f.config.source));
        }
        rows
    }
}

/// A profile name: 1-64 characters of `A-Z a-z 0-9 _ . @ + -`, which every
/// SDK reads alike in `[NAME]` and `[profile NAME]`.
pub fn parse_profile_name(s: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_.@+-".contains(c);
    match (1..=64).contains(&s.chars().count()) && s.chars().all(ok) {
        true => Ok(s.to_string()),
        false => Err(format!(
            "{} is not a profile name; use 1-64 chars of A-Z a-z 0-9 _.@+-",
            quoted(s)
        )),
    }
}

/// A role's name in `--roles`: a letter, then up to 63 of `A-Z a-z 0-9 _
/// -`, so that `NAME_` upper-cased starts a variable name every shell takes.
fn role_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && s.len() <= 64
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The prefix a role's name gives its variables: upper-cased, `-` as `_`,
/// and `_` after it (`gov-cloud` → `GOV_CLOUD_`).
pub fn role_prefix(name: &str) -> String {
    let mut p: String = name
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    p.push('_');
    p
}

/// `NAME=ROLE_ARN` entries, separated by commas or newlines, at most
/// [`MAX_ROLES`], no two names giving one prefix.
pub fn parse_roles(s: &str) -> Result<Vec<NamedRole>, String> {
    let entries = split_list(s);
    if entries.is_empty() {
        return Err(
            "the list holds no role; give NAME=ROLE_ARN entries separated by commas".into(),
        );
    }
    if entries.len() > MAX_ROLES {
        return Err(format!(
            "{} roles given; at most {MAX_ROLES} are accepted",
            entries.len()
        ));
    }
    let mut roles: Vec<NamedRole> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some((name, arn)) = e.split_once('=').map(|(n, a)| (n.trim(), a.trim())) else {
            return Err(format!(
                "entry {} ({}) is not NAME=ROLE_ARN; write prod=arn:aws:iam::123456789012:role/deploy",
                i + 1,
                quoted(e)
            ));
        };
        if !role_name(name) {
            return Err(format!(
                "entry {}: {} is not a name; use a letter, then up to 63 of A-Z a-z 0-9 _ -",
                i + 1,
                quoted(name)
            ));
        }
        if let Some(other) = roles
            .iter()
            .find(|r| role_prefix(&r.name) == role_prefix(name))
        {
            return Err(format!(
                "entry {}: the names `{}` and `{name}` both prefix {}; give each role its own name",
                i + 1,
                other.name,
                role_prefix(name)
            ));
        }
        let role = parse_role_arn(arn).map_err(|p| format!("entry {} ({name}): {p}", i + 1))?;
        roles.push(NamedRole {
            name: name.to_string(),
            role,
        });
    }
    Ok(roles)
}

/// A name prefix: 1-64 characters of `A-Z a-z 0-9 _`, not starting with a
/// digit, so that every name it starts is a variable name in every shell.
pub fn parse_env_prefix(s: &str) -> Result<String, String> {
    let ok = s.len() <= 64
        && s.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match ok {
        true => Ok(s.to_string()),
        false => Err(format!(
            "{} is not a name prefix; use 1-64 chars of A-Z a-z 0-9 _, not starting with a digit, such as CI_",
            quoted(s)
        )),
    }
}

/// `--roles`, read before the role ARN: with it, the role ARN settings are
/// a conflict (exit 2), as the run would not know which to assume.
pub(super) fn roles(
    several: Option<&Sourced<String>>,
    role: Option<&Sourced<String>>,
) -> Result<Option<Sourced<Vec<NamedRole>>>, Error> {
    let Some(f) = several else {
        return Ok(None);
    };
    let roles = Sourced {
        value: parse_roles(&f.value).map_err(|p| Error::setting(f.source, p))?,
        source: f.source,
    };
    if let Some(r) = role {
        return Err(Error::Conflict(format!(
            "{} and {} both name the role to assume; set the roles in one of them",
            roles.source, r.source
        )));
    }
    Ok(Some(roles))
}

/// The first role of `--roles`, which the settings carry as their role.
pub(super) fn first(roles: &Sourced<Vec<NamedRole>>) -> Sourced<RoleArn> {
    Sourced {
        // `parse_roles` refuses an empty list.
        value: roles.value[0].role.clone(),
        source: roles.source,
    }
}

/// Reads the rest of §16's settings into `s.profiles` and refuses what
/// does not fit together (exit 2), before anything is opened or sent.
pub(super) fn read(
    inputs: &Inputs,
    roles: Option<Sourced<Vec<NamedRole>>>,
    mut s: Settings,
) -> Result<Settings, Error> {
    let refreshable = inputs.boolean(&REFRESHABLE)?;
    let p = Profiles {
        profile: inputs.parsed(&PROFILE, parse_profile_name)?,
        roles,
        per_role: inputs.boolean(&PROFILES)?.value,
        refreshable: refreshable.value,
        overwrite: inputs.boolean(&OVERWRITE_PROFILE)?.value,
        env_prefix: inputs.parsed(&ENV_PREFIX, parse_env_prefix)?,
        files: None,
        cache_dir: None,
    };
    let writes_profiles = p.profile.is_some() || p.per_role;
    conflicts(
        &p,
        &s,
        writes_profiles,
        REFRESHABLE.named(Some(refreshable.source)),
    )?;
    if p.overwrite && !writes_profiles {
        s.warnings.push(format!(
            "{} is set but no profile is written; it applies only with --profile or --profiles",
            OVERWRITE_PROFILE.named(None)
        ));
    }
    let files = match writes_profiles {
        true => Some(profile_files(inputs)?),
        false => None,
    };
    // A refreshable profile's command turns the cache on, in the folder
    // set here if one is (checked absolute already), so that folder is no
    // setting without its cache.
    let cache_dir = match p.refreshable {
        true => {
            let dir = inputs.get(&CACHE_DIR);
            if let Some(d) = &dir {
                let unused = format!("{} is set but the cache is off", d.source);
                s.warnings.retain(|w| !w.starts_with(&unused));
            }
            dir
        }
        false => None,
    };
    s.profiles = Profiles {
        files,
        cache_dir,
        ..p
    };
    Ok(s)
}

fn conflict(text: String) -> Result<(), Error> {
    Err(Error::Conflict(text))
}

/// The combinations §16 refuses, each saying what to drop.
fn conflicts(
    p: &Profiles,
    s: &Settings,
    writes_profiles: bool,
    refreshable_named: String,
) -> Result<(), Error> {
    let named = |d: &super::Def| d.named(None);
    if let (Some(profile), Some(roles)) = (&p.profile, &p.roles) {
        return conflict(format!(
            "{} names one profile but {} names several roles; set {} to write each role to the profile of its name, and drop {}",
            profile.source, roles.source, named(&PROFILES), profile.source
        ));
    }
    if p.per_role && p.roles.is_none() {
        return conflict(format!(
            "{} writes each role of {} to its own profile, and no roles are set; set them, or use {} for one",
            named(&PROFILES), named(&ROLES), named(&PROFILE)
        ));
    }
    if let (Some(roles), Some(chained)) = (&p.roles, &s.chain.roles) {
        return conflict(format!(
            "{} and {} cannot be combined: chaining after several roles is not defined; chain one role per run",
            roles.source, chained.source
        ));
    }
    if p.refreshable && !writes_profiles {
        return conflict(format!(
            "{refreshable_named} writes a profile, and none is named; set {} (or {} with {})",
            named(&PROFILE),
            named(&PROFILES),
            named(&ROLES)
        ));
    }
    if writes_profiles && s.output.is_some() {
        return conflict(format!(
            "with a profile the credentials go to the shared credentials file; drop --output / PLUGIN_OUTPUT_FILE, or {}",
            named(&PROFILE)
        ));
    }
    if writes_profiles && s.format != Format::Dotenv {
        return conflict(format!(
            "with a profile the credentials go to the shared credentials file, in no format; drop --format / PLUGIN_OUTPUT_FORMAT ({}), or {}",
            s.format.name(), named(&PROFILE)
        ));
    }
    if s.format == Format::CredentialProcess {
        if let Some(roles) = p.roles.as_ref().filter(|_| !writes_profiles) {
            return conflict(format!(
                "credential-process answers with one set of credentials, and {} names several; set {} to write a profile per role",
                roles.source, named(&PROFILES)
            ));
        }
        if let Some(prefix) = &p.env_prefix {
            return conflict(format!(
                "credential-process writes AWS's own field names, which take no prefix; drop {}",
                prefix.source
            ));
        }
    }
    match p.refreshable {
        true => refreshable(s, &refreshable_named),
        false => Ok(()),
    }
}

/// A refreshable profile runs this program again, from any folder, at
/// every refresh: the token must be in a file it can read again, every
/// path absolute, and the inline policy (a secret) is not written.
fn refreshable(s: &Settings, named: &str) -> Result<(), Error> {
    let file = match &s.token_source {
        TokenSource::File(f) => Some(f.as_str()),
        TokenSource::Command(_) => None,
        TokenSource::Value | TokenSource::Stdin => {
            return Err(Error::setting(
                s.token.source,
                format!(
                    "{named} needs the token in a file or from a command, which each refresh reads or runs again (the token itself is never written); \
                     set --token-file / PLUGIN_OIDC_TOKEN_FILE to a file the token provider renews, or --token-command / PLUGIN_OIDC_TOKEN_COMMAND"
                ),
            ))
        }
    };
    let bundle = s.ca_bundle.as_ref().map(|b| (&b.path.value, b.path.source));
    for (path, source) in file
        .map(|f| (f, s.token.source))
        .into_iter()
        .chain(bundle.map(|(p, s)| (p.as_str(), s)))
    {
        if !Path::new(path).is_absolute() {
            return Err(Error::setting(
                source,
                format!(
                    "{} must be an absolute path with {named}: credential_process runs from any working directory",
                    quoted(path)
                ),
            ));
        }
    }
    if let Some(policy) = &s.policy {
        return conflict(format!(
            "{named} writes the settings into the config file, and the inline session policy ({}) is a secret that is never written; \
             use managed policies (--policy-arns) or drop {named}",
            policy.source
        ));
    }
    Ok(())
}

/// The shared credentials file and the config file: their variables,
/// else `.aws/credentials` and `.aws/config` under the home folder
/// (`%USERPROFILE%` on Windows, else `$HOME`). A leading `~/` is the home
/// folder, as the SDKs read it.
fn profile_files(inputs: &Inputs) -> Result<ProfileFiles, Error> {
    let home_env = match cfg!(windows) {
        true => &PROFILE_FILE_ENVS[3..],
        false => &PROFILE_FILE_ENVS[2..3],
    };
    let home = inputs.env_first(home_env);
    let pick = |i: usize, name: &str| -> Result<(Sourced<String>, bool), Error> {
        match inputs.env_first(&PROFILE_FILE_ENVS[i..=i]) {
            Some(f) => {
                let value = match (f.value.strip_prefix("~/"), &home) {
                    (Some(rest), Some(h)) => Path::new(&h.value).join(rest).display().to_string(),
                    _ => f.value,
                };
                Ok((Sourced { value, ..f }, false))
            }
            None => match &home {
                Some(h) => {
                    let path = Path::new(&h.value).join(".aws").join(name);
                    Ok((
                        Sourced {
                            value: path.display().to_string(),
                            source: h.source,
                        },
                        true,
                    ))
                }
                None => Err(Error::setting(
                    PROFILE_FILE_ENVS[i],
                    format!(
                        "a profile is written, and neither {} nor {} is set; set {} to the file to write",
                        PROFILE_FILE_ENVS[i],
                        home_env[0],
                        PROFILE_FILE_ENVS[i]
                    ),
                )),
            },
        }
    };
    let (credentials, default_credentials) = pick(0, "credentials")?;
    let (config, default_config) = pick(1, "config")?;
    Ok(ProfileFiles {
        credentials,
        config,
        default_folder: default_credentials && default_config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names() {
        for ok in ["ci", "default", "a.b-c_d@e+f", &"p".repeat(64)] {
            assert_eq!(parse_profile_name(ok).as_deref(), Ok(ok));
        }
        for bad in ["", "a b", "a]b", "[x", "é", &"p".repeat(65), "a#b", "a;b"] {
            assert!(parse_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_lists() {
        let roles = parse_roles(
            "prod=arn:aws:iam::123456789012:role/a,\n gov-cloud = arn:aws-us-gov:iam::210987654321:role/b\n",
        )
        .unwrap();
        let names: Vec<(&str, &str)> = roles
            .iter()
            .map(|r| (r.name.as_str(), r.role.account.as_str()))
            .collect();
        assert_eq!(
            names,
            [("prod", "123456789012"), ("gov-cloud", "210987654321")]
        );
        assert_eq!(role_prefix("gov-cloud"), "GOV_CLOUD_");
        let refused = |s: &str| parse_roles(s).unwrap_err();
        assert!(refused("").contains("holds no role"));
        assert!(refused("arn:aws:iam::123456789012:role/a")
            .contains("entry 1 (`arn:aws:iam::123456789012:role/a`) is not NAME=ROLE_ARN"));
        assert!(
            refused("1x=arn:aws:iam::123456789012:role/a").contains("entry 1: `1x` is not a name")
        );
        assert!(
            refused("a=arn:aws:iam::123456789012:role/a,b=arn:aws:iam::1:role/b")
                .starts_with("entry 2 (b): account `1` is not 12 digits")
        );
        assert!(refused(
            "a-b=arn:aws:iam::123456789012:role/a,A_B=arn:aws:iam::123456789012:role/b"
        )
        .contains("the names `a-b` and `A_B` both prefix A_B_"));
        let eleven: Vec<String> = (0..11)
            .map(|i| format!("r{i}=arn:aws:iam::123456789012:role/r"))
            .collect();
        assert!(refused(&eleven.join(",")).contains("11 roles given; at most 10"));
        let ten = eleven[..10].join(",");
        assert_eq!(parse_roles(&ten).unwrap().len(), 10);
    }

    #[test]
    fn name_prefixes() {
        for ok in ["CI_", "_x", "a", "A1_B2"] {
            assert_eq!(parse_env_prefix(ok).as_deref(), Ok(ok));
        }
        for bad in ["", "1A", "A-B", "A B", "A$", &"A".repeat(65)] {
            assert!(parse_env_prefix(bad).is_err(), "{bad}");
        }
    }
}
