//! The command mode as a room of its own (`docs/reference.md` §14): the
//! settings it refuses, the exchange it shares with the other modes, the
//! environment the command gets, and what `--check` says of it. Starting
//! and waiting for the command is [`crate::exec`]'s.

use std::cell::RefCell;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::cache::REFRESH_WINDOW;
use crate::error::Error;
use crate::exchange::Modes;
use crate::exec::{self, Given, Program};
use crate::log::Log;
use crate::settings::{self, Format, Settings};
use crate::{output, request, response, serve, time};

/// Checks that the settings fit a command and finds it, before STS is
/// asked: the credentials go only to the command's environment, so an
/// output file or format is a conflict (exit 2), and a command that is not
/// there is exit 127 (126 when it cannot run).
pub(crate) fn prepare(
    s: &Settings,
    child: &[OsString],
    env: &[(OsString, OsString)],
) -> Result<Program, Error> {
    if s.output.is_some() {
        return Err(Error::Conflict(
            "with a command after `--`, the credentials go only to its environment; drop --output / PLUGIN_OUTPUT_FILE, or the command"
                .into(),
        ));
    }
    if s.format != Format::Dotenv {
        return Err(Error::Conflict(format!(
            "with a command after `--`, the credentials go only to its environment, in no format; drop --format / PLUGIN_OUTPUT_FORMAT ({}), or the command",
            s.format.name()
        )));
    }
    exec::find(child, exec::search_path(env))
}

/// Every env name the token may have been read from: none reaches the
/// command.
fn token_names() -> Vec<&'static str> {
    [
        &settings::TOKEN,
        &settings::TOKEN_FILE,
        &settings::TOKEN_COMMAND,
    ]
    .iter()
    .flat_map(|d| d.envs.iter().copied())
    .collect()
}

/// The command's environment: aws-oidc's own (`env`), less what §14.1
/// removes and the token by every name and value, plus `set`.
fn child_env(
    s: &Settings,
    env: &[(OsString, OsString)],
    set: Vec<(&'static str, String)>,
) -> Vec<(OsString, OsString)> {
    let names = token_names();
    let given = Given {
        set,
        token_names: &names,
        token: s.token.expose(),
    };
    exec::environment(env, &given)
}

/// The variables the command gets: the credentials, their expiry and the
/// region (both names) when one is set.
fn variables(s: &Settings, c: &response::Credentials) -> Vec<(&'static str, String)> {
    let mut set = vec![
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            c.secret_access_key.expose().to_string(),
        ),
        ("AWS_SESSION_TOKEN", c.session_token.expose().to_string()),
    ];
    set.extend(output::variables(s, c, false));
    set
}

/// Exchanges, then runs the command with the credentials and returns its
/// exit status.
pub(crate) fn run(
    s: &Settings,
    ctx: &Modes,
    program: &Program,
    env: &[(OsString, OsString)],
    log: &mut Log,
) -> Result<i32, Error> {
    let first_hop = RefCell::new(None);
    let creds = crate::exchange::credentials(
        s,
        ctx.endpoint,
        ctx.claims,
        Some(&first_hop),
        ctx.cache_key,
        env,
        log,
    )?;
    if let Some(warning) = crate::exchange::clock_warning(&creds, time::now()) {
        log.warn(&warning);
    }
    if s.serve.value {
        return serve(s, ctx, program, env, creds, first_hop.into_inner(), log);
    }
    let env = child_env(s, env, variables(s, &creds));
    log.info(&format!(
        "running {} with the credentials of {} until {} ({})",
        program.shown(),
        creds
            .assumed_role_arn
            .as_deref()
            .unwrap_or(&s.last_role().arn),
        creds.expiration,
        time::relative(creds.expires_at - time::now()),
    ));
    let code = exec::run(program, &env)?;
    log.debug(&format!("{} exited with {code}", program.shown()));
    Ok(code)
}

/// Runs the command with a credential endpoint instead of keys
/// (`docs/reference.md` §14.2), serving and refreshing `creds` while it
/// runs; the endpoint closes when it exits. With a chain, a refresh
/// re-assumes the chained roles with the web-identity hop's credentials
/// (`first`) while they are good, so the command can outlive the one-hour
/// cap on chained sessions without a new token.
fn serve(
    s: &Settings,
    ctx: &Modes,
    program: &Program,
    env: &[(OsString, OsString)],
    creds: response::Credentials,
    mut first: Option<response::Credentials>,
    log: &mut Log,
) -> Result<i32, Error> {
    let left = creds.expires_at - time::now();
    if left <= REFRESH_WINDOW {
        log.warn(&format!(
            "the credentials last {}, inside the SDKs' 15-minute refresh window, so the endpoint refreshes them as often as it may (once a minute); ask a longer duration (1h or more)",
            time::human(left)
        ));
    }
    let endpoint = serve::Endpoint::bind()?;
    log.hide(std::slice::from_ref(endpoint.token()));
    // The SDKs read a profile's keys before the endpoint: the command's
    // profile files are the null device, so none comes first (§14.2).
    let none = if cfg!(windows) { "NUL" } else { "/dev/null" };
    let mut set = vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            endpoint.token().expose().to_string(),
        ),
        ("AWS_SHARED_CREDENTIALS_FILE", none.to_string()),
        ("AWS_CONFIG_FILE", none.to_string()),
    ];
    set.extend(
        output::variables(s, &creds, false)
            .into_iter()
            .filter(|(k, _)| *k != "AWS_CREDENTIAL_EXPIRATION"),
    );
    let child_env = child_env(s, env, set);
    log.info(&format!(
        "running {} with a credential endpoint ({}) for {}, refreshed within 15m of expiry",
        program.shown(),
        endpoint.url(),
        creds
            .assumed_role_arn
            .as_deref()
            .unwrap_or(&s.last_role().arn),
    ));
    let mut refresh = |log: &mut Log| refresh(s, ctx, env, &mut first, log);
    let stop = AtomicBool::new(false);
    let code = std::thread::scope(|scope| {
        let server = scope.spawn(|| endpoint.serve(creds, &stop, &mut refresh, log));
        let code = exec::run(program, &child_env);
        stop.store(true, Ordering::SeqCst);
        endpoint.wake();
        let _ = server.join();
        code
    })?;
    log.debug(&format!(
        "{} exited with {code}; the endpoint is closed",
        program.shown()
    ));
    Ok(code)
}

/// One refresh of `--serve` (§14.2): the chained hops again from the
/// web-identity hop's credentials (`first`) while they are good, else the
/// whole exchange with the token got again from its file or command
/// (§14.3); `first` is then the new first hop, and the one it replaces
/// stays hidden until it expires.
fn refresh(
    s: &Settings,
    ctx: &Modes,
    env: &[(OsString, OsString)],
    first: &mut Option<response::Credentials>,
    log: &mut Log,
) -> Result<response::Credentials, Error> {
    let deadline = Instant::now() + s.timeout.value;
    let good = |c: &response::Credentials| c.expires_at - time::now() > REFRESH_WINDOW;
    let again = |deadline, not_sent: &str| {
        settings::fresh_token(s, &mut settings::System { env }, deadline, not_sent)
    };
    let kept = RefCell::new(None);
    let rctx = request::Context {
        claims: ctx.claims,
        first_hop: Some(&kept),
        fresh: s
            .token_source
            .rereads()
            .then_some(&again as request::Refetch),
    };
    let fresh = match first.as_ref().filter(|f| good(f)) {
        Some(f) => request::rechain(s, ctx.endpoint, &rctx, deadline, f, log)?,
        None => match again(deadline, "the credentials were not refreshed")? {
            Some(f) => {
                log.hide(std::slice::from_ref(&f.token));
                for line in &f.stderr {
                    log.info(line);
                }
                let renewed = Settings {
                    token: settings::Sourced {
                        value: f.token,
                        source: s.token.source,
                    },
                    ..s.clone()
                };
                request::exchange(&renewed, ctx.endpoint, &rctx, deadline, log)?
            }
            None => request::exchange(s, ctx.endpoint, &rctx, deadline, log)?,
        },
    };
    if let Some(f) = kept.into_inner() {
        if let Some(old) = first.replace(f) {
            log.hide_until(
                &[old.secret_access_key.clone(), old.session_token.clone()],
                old.expires_at,
            );
        }
    }
    Ok(fresh)
}

/// What `--check` says of a command: the exchange's report, the command
/// found, and what its environment gets and loses.
pub(crate) fn check(
    s: &Settings,
    ctx: &Modes,
    program: &Program,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let mut out = crate::check::exchange_report(s, ctx.endpoint, ctx.claims)?;
    let _ = writeln!(
        out,
        "command: {} ({}), with {} argument(s)",
        program.shown(),
        crate::error::shown(&program.path.to_string_lossy()),
        program.args.len()
    );
    let mut set = match s.serve.value {
        true => vec![
            "AWS_CONTAINER_CREDENTIALS_FULL_URI (http://127.0.0.1 on a port picked when it runs)",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN (a fresh secret)",
            "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE (the null device)",
        ],
        false => vec![
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
        ],
    };
    if s.region.as_ref().is_some_and(|r| r.value != "aws-global") {
        set.extend(["AWS_REGION", "AWS_DEFAULT_REGION"]);
    }
    let _ = writeln!(
        out,
        "command environment: sets {} (from STS); removes {}, the token's names ({}) and any variable holding the token",
        set.join(", "),
        exec::REMOVED.join(", "),
        token_names().join(", ")
    );
    out.push_str("outputs: none (nothing is written to disk)\n");
    crate::check::print_report(out, log, stdout)
}
