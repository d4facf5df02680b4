//! `aws-oidc` trades a CI pipeline's OIDC token for temporary AWS credentials
//! with STS `AssumeRoleWithWebIdentity`, and hands them to later steps.
//!
//! The data's path, one module per stage: [`settings`] → [`endpoint`] →
//! [`request`] (with [`retry`]) → [`response`] → [`output`]. [`error`] holds
//! the one error type, [`log`] the only printer of diagnostics, and
//! [`secret`] the type that keeps secrets out of both.

pub mod cache;
mod check;
pub mod claims;
mod command;
pub mod endpoint;
pub mod error;
mod exchange;
pub mod exec;
pub mod guard;
mod help;
#[cfg(test)]
mod invariants;
pub mod json;
pub mod log;
pub mod output;
pub mod partition;
pub mod proxy;
pub mod request;
pub mod response;
pub mod secret;
pub mod serve;
mod sets;
pub mod settings;
#[cfg(unix)]
mod signal;
#[cfg(test)]
mod testing;
pub mod time;
pub mod trust;
mod write;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write};

use crate::error::Error;
use crate::log::{Level, Log};
use crate::settings::{Command, Inputs, Settings, System};

/// The version printed by `--version` and sent in `User-Agent`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the program: arguments (without the program name) and environment
/// in, exit code out. Prints diagnostics to stderr and, only when the user
/// chose stdout, credentials to stdout. Everything after the first `--` is
/// the command to run with the credentials (§14), passed on byte for byte,
/// as the environment is passed on to it.
pub fn run(args: &[OsString], env: &[(OsString, OsString)]) -> i32 {
    run_as(args, env, || None)
}

/// [`run`], told how to find this program's own path (`exe`, asked only
/// by a run that writes a refreshable profile, which names it).
pub fn run_as(
    args: &[OsString],
    env: &[(OsString, OsString)],
    exe: fn() -> Option<std::path::PathBuf>,
) -> i32 {
    let (own, child) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], Some(&args[i + 1..])),
        None => (args, None),
    };
    let own: Vec<String> = own
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Settings read only what is UTF-8. Inserted one by one: collecting
    // into a BTreeMap links a sort routine (3 KB) for no gain.
    let mut map = BTreeMap::new();
    for (k, v) in env {
        if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
            map.insert(k.to_string(), v.to_string());
        }
    }
    let process = exchange::Process { child, env, exe };
    let mut stdout = io::stdout().lock();
    let command = match settings::parse_args(&own) {
        Ok(c) => c,
        Err(e) => {
            Log::stderr(Level::Error).error(&e.to_string());
            return e.code();
        }
    };
    let (flags, check) = match command {
        Command::Help => return check::print(&mut stdout, &help()),
        Command::Version => return check::print(&mut stdout, &format!("aws-oidc {VERSION}\n")),
        Command::Run { flags, check } => (flags, check),
    };
    let inputs = Inputs { flags, env: map };
    let resolved = settings::resolve(&inputs, &mut System { env });
    // A bad log level is the settings' error below; until then, info.
    let mut log = Log::stderr(resolved.log.level);
    log.hide(&resolved.secrets);
    for account in &resolved.log.mask {
        log.mask_account(account);
    }
    // Before anything can fail: a misspelt PLUGIN_ROLE_ARM is the reason
    // the role is missing, so its hint must come before that error.
    for w in settings::unknown_plugin_settings(&inputs) {
        log.warn(&w);
    }
    // What a token command said, scrubbed of what it printed (§14.3).
    for line in &resolved.token_stderr {
        log.info(line);
    }
    match resolved
        .settings
        .and_then(|s| execute(&s, check, &process, &mut log, &mut stdout))
    {
        Ok(code) => code,
        Err(e) => {
            log.error(&e.to_string());
            e.code()
        }
    }
}

/// Picks the mode and runs it, once the settings are resolved: print the
/// trust policies, run a command, write profiles or several roles' sets,
/// or write the outputs (each with its `--check`).
fn execute(
    s: &Settings,
    check: bool,
    process: &exchange::Process,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<i32, Error> {
    // Sends nothing and needs no output: before any other check.
    if let Some(format) = s.trust_policy {
        return trust::print(s, format, log, stdout).map(|()| 0);
    }
    let prepared = exchange::prepare(s, log)?;
    let ctx = prepared.modes();
    if s.serve.value && process.child.is_none() {
        return Err(Error::Conflict(format!(
            "{} gives a command a credential endpoint, so it needs one after `--` (aws-oidc --serve … -- COMMAND); add the command, or drop it",
            s.serve.source
        )));
    }
    // A command is found before STS is asked, and takes the credentials
    // instead of any output (§14).
    if let Some(child) = process.child {
        sets::refuse_with_command(s)?;
        let program = command::prepare(s, child, process.env)?;
        return match check {
            true => command::check(s, &ctx, &program, log, stdout).map(|()| 0),
            false => command::run(s, &ctx, &program, process.env, log),
        };
    }
    // Profiles, several roles, prefixes (§16).
    if s.profiles.in_use() {
        return sets::run(s, check, &ctx, process, log, stdout);
    }
    write::run(s, &ctx, check, process.env, log, stdout)
}

pub use help::help;
