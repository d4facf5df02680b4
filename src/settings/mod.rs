//! Settings: command-line flags and environment in, a validated [`Settings`]
//! out (`docs/reference.md` §1).
//!
//! Every setting is read under each of its spellings; a flag wins over env and
//! the first non-empty env name wins after that. A value that fails its rule
//! stops the run here, before any network traffic, with an error naming the
//! flag or env variable that was read. Each raw input is read once, by
//! [`resolve`]; the rest of the program sees only what it returns.

mod args;
mod chain;
mod defs;
mod files;
mod groups;
mod listing;
mod profiles;
mod rules;
mod spelling;
mod tags;
#[cfg(test)]
mod tests;
mod token;
mod trust;
mod words;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use args::{parse_args, Command};
pub use chain::{parse_chain_role_arns, parse_external_id, Chain, MAX_CHAINED};
pub use defs::*;
pub use files::{not_a_regular_file, CaBundle, DiskFiles, Files};
pub use listing::listed;
pub use profiles::{
    parse_env_prefix, parse_profile_name, parse_roles, role_prefix, NamedRole, ProfileFiles,
    Profiles, ENV_PREFIX, MAX_ROLES, OVERWRITE_PROFILE, PROFILE, PROFILES, REFRESHABLE, ROLES,
};
pub use rules::*;
pub use tags::{parse_source_identity, parse_tag_keys, parse_tags, SessionTags, MAX_TAGS};
pub use token::{fresh_token, Fetched, System, TokenSource, OUTPUT_LIMIT};
pub use trust::{parse_trust_format, TrustFormat};

use crate::error::Error;
use crate::log::Level;
use crate::proxy::{self, Proxy};
use crate::secret::Secret;

/// Where a value came from, for messages that must name what to change and
/// for the debug listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// A flag, with its dashes: `--region`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// Nothing was set: the default applies.
    #[default]
    Default,
}

impl Source {
    /// How messages name it: `--region`, `AWS_REGION` or `default`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Flag(name) | Source::Env(name) => name,
            Source::Default => "default",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Source> for std::borrow::Cow<'static, str> {
    fn from(source: Source) -> Self {
        source.name().into()
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value: the trimmed text as read, or what a rule made of it.
    pub value: T,
    /// The flag or env name it was read from.
    pub source: Source,
}

impl<T> Sourced<T> {
    /// A value no flag or env name set.
    pub fn default(value: T) -> Sourced<T> {
        Sourced {
            value,
            source: Source::Default,
        }
    }
}

/// Shows the value, not where it came from.
impl<T: fmt::Display> fmt::Display for Sourced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// Lets a sourced value be used as the value itself.
impl<T> std::ops::Deref for Sourced<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
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
    pub fn env_first(&self, names: &[&'static str]) -> Option<Sourced<String>> {
        names.iter().find_map(|name| {
            let v = self.env.get(*name)?.trim();
            (!v.is_empty()).then(|| Sourced {
                value: v.to_string(),
                source: Source::Env(name),
            })
        })
    }

    /// The flag's value if given, else the first non-empty env name.
    pub fn get(&self, def: &Def) -> Option<Sourced<String>> {
        self.flag(def).or_else(|| self.env_first(def.envs))
    }

    fn flag(&self, def: &Def) -> Option<Sourced<String>> {
        let flag = def.flag?;
        self.flags.iter().rev().find_map(|(f, v)| {
            let v = v.trim();
            (*f == flag && !v.is_empty()).then(|| Sourced {
                value: v.to_string(),
                source: Source::Flag(flag),
            })
        })
    }

    /// The setting parsed by its rule, with errors naming where it came from.
    fn parsed<T>(
        &self,
        def: &Def,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<Option<Sourced<T>>, Error> {
        let Some(f) = self.get(def) else {
            return Ok(None);
        };
        match parse(&f.value) {
            Ok(value) => Ok(Some(Sourced {
                value,
                source: f.source,
            })),
            Err(p) => Err(Error::setting(f.source, p)),
        }
    }

    /// A boolean setting, false by default.
    fn boolean(&self, def: &Def) -> Result<Sourced<bool>, Error> {
        Ok(self
            .parsed(def, parse_bool)?
            .unwrap_or(Sourced::default(false)))
    }
}

/// Every setting, validated. Built only by [`resolve`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The role to assume.
    pub role: Sourced<RoleArn>,
    /// The OIDC token.
    pub token: Sourced<Secret>,
    /// The file the token was read from, if it was (`-` for stdin).
    pub token_file: Option<String>,
    /// Where the token came from, and so whether [`fresh_token`] reads it
    /// again.
    pub token_source: TokenSource,
    /// How long getting the token took when the settings were resolved (a
    /// token command's run; nothing for a value or a file): the run's one
    /// deadline counts it (`docs/reference.md` §4.2).
    pub token_took: Duration,
    /// `RoleSessionName`, sanitised.
    pub session_name: Sourced<String>,
    /// `DurationSeconds`, if set.
    pub duration: Option<Sourced<u32>>,
    /// The region, if set.
    pub region: Option<Sourced<String>>,
    /// An explicit endpoint URL.
    pub endpoint: Option<Sourced<String>>,
    /// FIPS endpoint.
    pub fips: Sourced<bool>,
    /// Dual-stack endpoint.
    pub dualstack: Sourced<bool>,
    /// `AWS_STS_REGIONAL_ENDPOINTS=legacy`.
    pub legacy_global: bool,
    /// A CA bundle's certificates, which replace the built-in roots.
    pub ca_bundle: Option<CaBundle>,
    /// The proxy from the environment, before NO_PROXY and loopback rules.
    pub proxy: Option<Sourced<Proxy>>,
    /// NO_PROXY entries.
    pub no_proxy: Vec<String>,
    /// Inline session policy.
    pub policy: Option<Sourced<Secret>>,
    /// Managed session policy ARNs.
    pub policy_arns: Option<Sourced<Vec<String>>>,
    /// Whole-run deadline.
    pub timeout: Sourced<Duration>,
    /// The attempt cap the user chose, 1 means no retry; without one, the
    /// timeout alone bounds the retries of "later" answers.
    pub max_attempts: Option<Sourced<u32>>,
    /// HARNESS_OUTPUT_SECRET_FILE.
    pub secret_file: Option<String>,
    /// DRONE_OUTPUT or HARNESS_OUTPUT_FILE.
    pub vars_file: Option<Sourced<String>>,
    /// `--output` / PLUGIN_OUTPUT_FILE.
    pub output: Option<String>,
    /// Output format.
    pub format: Format,
    /// Keep the account id out of logs and the variables file.
    pub mask_account: bool,
    /// Every file named as an input (token file, CA bundle), which no
    /// output may be.
    pub input_files: Vec<Sourced<String>>,
    /// The credential cache's folder when `--cache` is on
    /// (`docs/reference.md` §13), and where it came from.
    pub cache: Option<Sourced<String>>,
    /// Warnings found while resolving, logged once the logger exists.
    pub warnings: Vec<String>,
    /// The accounts every role and the answer must be in (§12); any
    /// account when unset.
    pub allowed_accounts: Option<Sourced<Vec<String>>>,
    /// Role chaining and `--verify` (`docs/reference.md` §11).
    pub chain: Chain,
    /// Profiles, several roles and name prefixes (`docs/reference.md` §16).
    pub profiles: Profiles,
    /// `--serve`: a command gets a credential endpoint, not keys (§14.2).
    pub serve: Sourced<bool>,
    /// `--trust-policy`: print the trust policies in this form, send
    /// nothing (`docs/reference.md` §15).
    pub trust_policy: Option<TrustFormat>,
}

impl Settings {
    /// Where the token came from: the setting, and the file when there is one.
    pub fn token_from(&self) -> String {
        match (&self.token_file, &self.token_source) {
            (Some(path), _) => format!("{} ({path})", self.token.source),
            (None, TokenSource::Command(words)) => {
                format!("{} ({})", self.token.source, crate::error::shown(&words[0]))
            }
            (None, _) => self.token.source.to_string(),
        }
    }

    /// The managed policy ARNs, none when unset.
    pub fn policy_arns(&self) -> &[String] {
        self.policy_arns.as_ref().map_or(&[], |a| &a.value)
    }

    /// The roles assumed after the first, in order; none for one hop.
    pub fn chained(&self) -> &[RoleArn] {
        self.chain.roles.as_ref().map_or(&[], |r| &r.value)
    }

    /// The role whose credentials are written: the last chained role, else
    /// the role.
    pub fn last_role(&self) -> &RoleArn {
        self.chained().last().unwrap_or(&self.role.value)
    }
}

/// What the log needs, settled before anything else so that every line,
/// even a settings error, is printed at the chosen level with the account
/// masked (`docs/reference.md` §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The level, info when unset or not valid (the error follows).
    pub level: Level,
    /// The accounts to mask: when mask account is on, the account of the
    /// role ARN and of each chained role ARN that holds a 12-digit account,
    /// even if the ARN is otherwise wrong.
    pub mask: Vec<String>,
}

/// What [`resolve`] gives: the log's settings always, the rest if valid.
#[derive(Debug)]
pub struct Resolved {
    /// The log level and the account mask.
    pub log: LogSettings,
    /// Every setting, or the first that is wrong.
    pub settings: Result<Settings, Error>,
    /// Every secret the run knows (token, policy, proxy user and
    /// password), read before any rule runs, so that no line, a setting's
    /// error included, can show one (`docs/reference.md` §8).
    pub secrets: Vec<Secret>,
    /// What a token command said on standard error, scrubbed, `NAME: LINE`
    /// a line, to log at info whether or not the settings are valid.
    pub token_stderr: Vec<String>,
}

/// Reads and validates every setting, each raw input once.
pub fn resolve(inputs: &Inputs, files: &mut dyn Files) -> Resolved {
    // Every role is read once, here: the mask needs their accounts before
    // anything else, and the settings parse the same values.
    let role = inputs.get(&ROLE_ARN);
    let chained = inputs.get(&CHAIN_ROLE_ARN);
    let several = inputs.get(&ROLES);
    let level = inputs.parsed(&LOG_LEVEL, parse_level);
    let mask_account = inputs.boolean(&MASK_ACCOUNT);
    let mask = match &mask_account {
        Ok(m) if m.value => {
            fn text(v: &Option<Sourced<String>>) -> &str {
                v.as_ref().map_or("", |c| c.value.as_str())
            }
            // Each `NAME=ARN` of --roles: its account is the ARN's fifth field.
            let arns = role.iter().map(|r| r.value.as_str());
            arns.chain(chain::entries(text(&chained)))
                .chain(chain::entries(text(&several)))
                .filter_map(account_of)
                .map(String::from)
                .collect()
        }
        _ => Vec::new(),
    };
    let log = LogSettings {
        level: match &level {
            Ok(l) => l.as_ref().map_or(Level::Info, |l| l.value),
            Err(_) => Level::Info,
        },
        mask,
    };
    // The token is read first, so the log knows it before any setting's
    // error can quote it; its own error still comes after the role's. A
    // token command has the run's timeout (the default when that setting
    // is wrong, whose error follows).
    let started = std::time::Instant::now();
    let timeout = match inputs.parsed(&TIMEOUT, parse_timeout) {
        Ok(Some(t)) => t.value,
        _ => DEFAULT_TIMEOUT,
    };
    let mut token_stderr = Vec::new();
    let token = files::read_token(inputs, files, started + timeout, &mut token_stderr);
    let took = match token {
        Ok((_, TokenSource::Command(_))) => started.elapsed(),
        _ => Duration::ZERO,
    };
    let secrets = crate::secret::run_secrets(
        token.as_ref().ok().map(|(t, _)| t.expose()),
        inputs.get(&POLICY).as_ref().map(|p| p.value.as_str()),
        inputs
            .env_first(PROXY_ENVS)
            .as_ref()
            .map(|p| p.value.as_str()),
    );
    // The log level and mask account were read above; their errors come
    // after the other settings' (a wrong log level is the last to report).
    let roles = Roles {
        role,
        chained,
        several,
    };
    let settings = validate(inputs, files, token, roles).and_then(|mut s| {
        level?;
        s.mask_account = mask_account?.value;
        s.token_took = took;
        Ok(s)
    });
    Resolved {
        log,
        settings,
        secrets: secrets.into_iter().map(Secret::new).collect(),
        token_stderr,
    }
}

/// Every group of settings in turn; the first error stops the run.
/// The roles' settings as read, once, by [`resolve`].
struct Roles {
    role: Option<Sourced<String>>,
    chained: Option<Sourced<String>>,
    several: Option<Sourced<String>>,
}

fn validate(
    inputs: &Inputs,
    files: &mut dyn Files,
    token: Result<(Sourced<Secret>, TokenSource), Error>,
    read: Roles,
) -> Result<Settings, Error> {
    let mut warnings = Vec::new();
    let (role, roles) = roles_of(read.role, read.several.as_ref())?;
    let (token, token_source) = token?;
    let (token, token_file) = token_warnings((token, token_file(&token_source)), &mut warnings);
    let session_name = session(inputs, &token, &mut warnings)?;
    let duration = inputs.parsed(&DURATION, parse_duration)?;
    let region = inputs.parsed(&REGION, parse_region)?;
    let EndpointInputs {
        endpoint,
        fips,
        dualstack,
        legacy_global,
    } = endpoint_inputs(inputs)?;
    let ca_bundle = files::read_ca_bundle(inputs, files, &mut warnings)?;
    let (proxy, no_proxy) = proxy(inputs)?;
    let Policies {
        policy,
        policy_arns,
    } = policies(inputs)?;
    let timeout = inputs
        .parsed(&TIMEOUT, parse_timeout)?
        .unwrap_or(Sourced::default(DEFAULT_TIMEOUT));
    let max_attempts = inputs.parsed(&MAX_ATTEMPTS, parse_attempts)?;
    let trust_policy = trust::mode(inputs)?;
    let Outputs {
        secret_file,
        vars_file,
        output,
        format,
    } = outputs(inputs, trust_policy.is_none())?;
    let cache = groups::cache_dir(inputs, &mut warnings)?;
    let allowed_accounts = inputs.parsed(&ALLOWED_ACCOUNT_IDS, parse_account_ids)?;
    let chain = chain::chain(inputs, &token, read.chained.as_ref())?;
    warnings.extend(groups::refreshed_at_once(
        format,
        duration.as_ref(),
        cache.is_some(),
    ));
    let s = Settings {
        role,
        token,
        token_file,
        token_source,
        token_took: Duration::ZERO,
        session_name,
        duration,
        region,
        endpoint,
        fips,
        dualstack,
        legacy_global,
        ca_bundle,
        proxy,
        no_proxy,
        policy,
        policy_arns,
        timeout,
        max_attempts,
        secret_file,
        vars_file,
        output,
        format,
        mask_account: false,
        input_files: input_files(inputs),
        cache,
        warnings,
        allowed_accounts,
        chain,
        serve: inputs.boolean(&SERVE)?,
        trust_policy,
        profiles: Profiles::default(),
    };
    profiles::read(inputs, roles, s)
}

/// `--roles` as read: each name and role (§16).
type SeveralRoles = Sourced<Vec<profiles::NamedRole>>;

/// The role, or `--roles` and the first of them (§16).
fn roles_of(
    role: Option<Sourced<String>>,
    several: Option<&Sourced<String>>,
) -> Result<(Sourced<RoleArn>, Option<SeveralRoles>), Error> {
    let roles = profiles::roles(several, role.as_ref())?;
    let role = match &roles {
        Some(r) => profiles::first(r),
        None => role_arn(role)?,
    };
    Ok((role, roles))
}

/// The file the token was read from, if it was (`-` for stdin).
fn token_file(source: &TokenSource) -> Option<String> {
    match source {
        TokenSource::File(path) => Some(path.clone()),
        TokenSource::Stdin => Some("-".to_string()),
        _ => None,
    }
}

/// The whole run's timeout when none is set (`docs/reference.md` §4.2).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The role ARN, required.
fn role_arn(role: Option<Sourced<String>>) -> Result<Sourced<RoleArn>, Error> {
    let Some(f) = role else {
        return Err(Error::setting(
            defs::names(&ROLE_ARN),
            "no role ARN is set; set iamRoleArn in the step's settings \
             (PLUGIN_IAMROLEARN) or --role-arn to arn:aws:iam::ACCOUNT:role/NAME",
        ));
    };
    let value = parse_role_arn(&f.value).map_err(|p| Error::setting(f.source, p))?;
    Ok(Sourced {
        value,
        source: f.source,
    })
}

/// The token as read, with a warning when it is not a JWT.
fn token_warnings(
    (token, path): (Sourced<Secret>, Option<String>),
    warnings: &mut Vec<String>,
) -> (Sourced<Secret>, Option<String>) {
    if !files::jwt_shaped(token.expose()) {
        let from = match &path {
            Some(p) => format!("{} ({p})", token.source),
            None => token.source.to_string(),
        };
        warnings.push(format!(
            "{from}: the token is not a JWT (three base64url parts joined by dots); it is sent as is, since some providers issue opaque tokens, but check that it is the OIDC ID token"
        ));
    }
    (token, path)
}

/// The session name, sanitised, with a warning when that changed it. STS
/// records it in CloudTrail and the log shows it, so a token given as the
/// session name is refused, not cut to 64 characters and sent.
// Outlined (as are endpoint_inputs and files::read_token): smaller release binary.
#[inline(never)]
fn session(
    inputs: &Inputs,
    token: &Secret,
    warnings: &mut Vec<String>,
) -> Result<Sourced<String>, Error> {
    let Some(f) = inputs.get(&SESSION_NAME) else {
        return Ok(Sourced::default(DEFAULT_SESSION_NAME.to_string()));
    };
    let (name, changed) =
        sanitize_session_name(&f.value).map_err(|p| Error::setting(f.source, p))?;
    if f.value == token.expose() {
        return Err(Error::setting(
            f.source,
            format!("the session name is the token; {SESSION_TOKEN}"),
        ));
    }
    if changed {
        warnings.push(format!(
            "{}: the session name has characters STS does not allow or is longer than 64; using `{name}`",
            f.source
        ));
    }
    Ok(Sourced {
        value: name,
        source: f.source,
    })
}

/// The endpoint settings as given, before `endpoint::resolve` makes a URL
/// of them (`docs/reference.md` §2). Named fields rather than a tuple: two
/// of them are `Sourced<bool>`, easy to swap unseen.
struct EndpointInputs {
    endpoint: Option<Sourced<String>>,
    fips: Sourced<bool>,
    dualstack: Sourced<bool>,
    legacy_global: bool,
}

/// The explicit endpoint, FIPS, dual-stack and legacy mode
/// (`docs/reference.md` §2).
#[inline(never)]
fn endpoint_inputs(inputs: &Inputs) -> Result<EndpointInputs, Error> {
    let ignore_aws = match inputs.env_first(&[IGNORE_ENDPOINT_URLS]) {
        Some(f) => parse_bool(&f.value).map_err(|p| Error::setting(f.source, p))?,
        None => false,
    };
    let endpoint_envs: &[&str] = match ignore_aws {
        true => ENDPOINT.plugin_envs(),
        false => ENDPOINT.envs,
    };
    let endpoint = inputs
        .flag(&ENDPOINT)
        .or_else(|| inputs.env_first(endpoint_envs));
    let fips = inputs.boolean(&FIPS)?;
    let dualstack = inputs.boolean(&DUALSTACK)?;
    let legacy_global = match inputs.get(&REGIONAL_ENDPOINTS) {
        None => false,
        Some(f) => match f.value.to_ascii_lowercase().as_str() {
            "regional" => false,
            "legacy" => true,
            _ => {
                return Err(Error::setting(
                    f.source,
                    format!(
                        "{} is not accepted; use regional or legacy",
                        crate::error::quoted(&f.value)
                    ),
                ))
            }
        },
    };
    Ok(EndpointInputs {
        endpoint,
        fips,
        dualstack,
        legacy_global,
    })
}

/// The proxy and the NO_PROXY entries (`docs/reference.md` §1.5).
fn proxy(inputs: &Inputs) -> Result<(Option<Sourced<Proxy>>, Vec<String>), Error> {
    let proxy = match inputs.env_first(PROXY_ENVS) {
        None => None,
        Some(f) => Some(Sourced {
            value: proxy::parse(&f.value).map_err(|p| Error::setting(f.source, p))?,
            source: f.source,
        }),
    };
    let no_proxy = inputs
        .env_first(NO_PROXY_ENVS)
        .map(|f| proxy::no_proxy_list(&f.value))
        .unwrap_or_default();
    Ok((proxy, no_proxy))
}

/// The session policies: inline (secret, as it may name resources) and
/// managed.
struct Policies {
    policy: Option<Sourced<Secret>>,
    policy_arns: Option<Sourced<Vec<String>>>,
}

/// The inline session policy and the managed policy ARNs.
fn policies(inputs: &Inputs) -> Result<Policies, Error> {
    let policy = match inputs.get(&POLICY) {
        None => None,
        Some(f) => {
            check_policy(&f.value).map_err(|p| Error::setting(f.source, p))?;
            Some(Sourced {
                value: Secret::new(f.value),
                source: f.source,
            })
        }
    };
    Ok(Policies {
        policy,
        policy_arns: inputs.parsed(&POLICY_ARNS, parse_policy_arns)?,
    })
}

/// The output settings (`docs/reference.md` §6.1).
struct Outputs {
    secret_file: Option<String>,
    vars_file: Option<Sourced<String>>,
    output: Option<String>,
    format: Format,
}

/// Where the outputs go and in what format (`docs/reference.md` §6.1);
/// without `run` (`--trust-policy`), the format setting is that mode's.
fn outputs(inputs: &Inputs, run: bool) -> Result<Outputs, Error> {
    let secret_file = inputs.get(&SECRET_FILE).map(|f| f.value);
    let vars_file = inputs.get(&VARS_FILE);
    let output = inputs.get(&OUTPUT).map(|f| f.value);
    let format = match run {
        true => inputs.parsed(&FORMAT, parse_format)?,
        false => None,
    };
    let format = format.map_or(Format::Dotenv, |f| f.value);
    Ok(Outputs {
        secret_file,
        vars_file,
        output,
        format,
    })
}

/// Every file named as an input: the token file under each of its
/// spellings and the CA bundle, whether or not it is the one read. No output
/// may be one of them: a later step's SDK may read
/// AWS_WEB_IDENTITY_TOKEN_FILE as well, and would send the credentials as
/// its token. `-` (stdin) names no file.
fn input_files(inputs: &Inputs) -> Vec<Sourced<String>> {
    let mut all = Vec::new();
    for def in [&TOKEN_FILE, &CA_BUNDLE] {
        all.extend(inputs.flag(def));
        all.extend(def.envs.iter().filter_map(|e| inputs.env_first(&[e])));
    }
    all.retain(|f| f.value != "-");
    all
}
