//! `aws-oidc` trades a CI pipeline's OIDC token for temporary AWS credentials
//! with STS `AssumeRoleWithWebIdentity`, and hands them to later steps.
//!
//! The data's path, one module per stage: [`settings`] → [`endpoint`] →
//! [`request`] (with [`retry`]) → [`response`] → [`output`]. [`error`] holds
//! the one error type, [`log`] the only printer of diagnostics, and
//! [`secret`] the type that keeps secrets out of both.

pub mod cache;
pub mod claims;
mod command;
pub mod endpoint;
pub mod error;
pub mod exec;
pub mod guard;
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

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
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
    let process = Process { child, env, exe };
    let mut stdout = io::stdout().lock();
    let command = match settings::parse_args(&own) {
        Ok(c) => c,
        Err(e) => {
            Log::stderr(Level::Error).error(&e.to_string());
            return e.code();
        }
    };
    let (flags, check) = match command {
        Command::Help => return print(&mut stdout, &help()),
        Command::Version => return print(&mut stdout, &format!("aws-oidc {VERSION}\n")),
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

fn print(out: &mut dyn Write, text: &str) -> i32 {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// What the process was started with besides the settings: the command
/// after `--`, if any, and the environment it inherits.
struct Process<'a> {
    child: Option<&'a [OsString]>,
    env: &'a [(OsString, OsString)],
    /// This program's path, found when asked.
    exe: fn() -> Option<std::path::PathBuf>,
}

fn execute(
    s: &Settings,
    check: bool,
    process: &Process,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<i32, Error> {
    // A mode of its own: prints what the roles must trust, sends nothing.
    if let Some(format) = s.trust_policy {
        return trust::print(s, format, log, stdout).map(|()| 0);
    }
    for w in &s.warnings {
        log.warn(w);
    }
    for line in s.listing() {
        log.debug(&line);
    }
    // Every role of the run is in an allowed account, before anything is
    // opened or sent (§12).
    let mut roles = vec![(s.role.arn.as_str(), s.role.source)];
    if let Some(chained) = &s.chain.roles {
        roles.extend(chained.iter().map(|r| (r.arn.as_str(), chained.source)));
    }
    guard::check_roles(s, &roles)?;
    let endpoint = endpoint::for_settings(s)?;
    let claims = claims::decode(s.token.expose());
    match &claims {
        Some(c) => log.debug(&format!("token claims: {}", c.summary(time::now()))),
        None => log.debug(
            "the token is not a JWT; sending it as is (STS also accepts OAuth 2.0 access tokens)",
        ),
    }
    // An expired token is refused by the run as by `--check`, before the
    // cache is looked at or anything is sent (§1.3).
    if let Some(warning) = claims::expiry(claims.as_ref(), time::now())? {
        log.warn(&warning);
    }
    // Every hop's form is in the key: role, session name, duration,
    // policies, external id (§11, §13.2).
    let cache_key = s
        .cache
        .as_ref()
        .map(|_| cache::key(&endpoint.url, &request::hop_forms(s)));
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
        let ctx = Modes {
            endpoint: &endpoint,
            claims: claims.as_ref(),
            cache_key: cache_key.as_deref(),
        };
        return match check {
            true => command::check(s, &ctx, &program, log, stdout).map(|()| 0),
            false => command::run(s, &ctx, &program, process.env, log),
        };
    }
    // Profiles, several roles, prefixes: a room of their own (§16).
    if s.profiles.in_use() {
        let ctx = Modes {
            endpoint: &endpoint,
            claims: claims.as_ref(),
            cache_key: cache_key.as_deref(),
        };
        return sets::run(s, check, &ctx, process, log, stdout);
    }
    // Every destination is checked, and for a run opened, before STS is
    // asked; `--check` makes the same checks and changes nothing.
    let plan = output::plan(s)?;
    let destinations = open_outputs(s, &plan, cache_key.as_deref(), check, log)?;
    if check {
        return print_check(
            s,
            &endpoint,
            claims.as_ref(),
            &plan,
            &destinations,
            log,
            stdout,
        )
        .map(|()| 0);
    }
    let creds = credentials(
        s,
        &endpoint,
        claims.as_ref(),
        None,
        cache_key.as_deref(),
        process.env,
        log,
    )?;
    if let Some(warning) = clock_warning(&creds, time::now()) {
        log.warn(&warning);
    }
    let rendered = output::render(&plan, s, &creds)?;
    output::write(destinations, &plan, &rendered, stdout)?;
    // Said once the outputs are written, of what they lack (§6.1).
    if let Some(warning) = output::region_warning(&plan, s) {
        log.warn(&warning);
    }
    report_success(s, &plan, &rendered, &creds, log);
    Ok(0)
}

/// Checks every destination of the plan and, for a run, opens it (none
/// in the cache folder, nor its entry `cache_key`), warning as it says.
fn open_outputs(
    s: &Settings,
    plan: &output::Plan,
    cache_key: Option<&str>,
    check: bool,
    log: &mut Log,
) -> Result<output::Destinations, Error> {
    let mode = match check {
        true => output::Mode::Inspect,
        false => output::Mode::Open,
    };
    let cache_files = match (&s.cache, cache_key) {
        (Some(dir), Some(key)) => Some(output::CacheFiles { dir, key }),
        _ => None,
    };
    let destinations = output::open(plan, &s.input_files, cache_files, mode)?;
    for w in &destinations.warnings {
        log.warn(w);
    }
    Ok(destinations)
}

/// What every mode shares once the settings, the endpoint and the token
/// were checked.
struct Modes<'a> {
    endpoint: &'a endpoint::Endpoint,
    claims: Option<&'a claims::Claims>,
    cache_key: Option<&'a str>,
}

/// A warning when credentials live less than 5 minutes by this machine's
/// clock (`now`): STS never issues so few, so the clock is wrong. At their
/// `Expiration` they no longer work, so 0 left is in the past (as for the
/// cache, §13.1).
fn clock_warning(creds: &response::Credentials, now: i64) -> Option<String> {
    let left = creds.expires_at - now;
    (left < 300).then(|| {
        format!(
            "the credentials expire at {} but this machine's clock says {} ({}); check the runner's clock (NTP)",
            creds.expiration,
            time::format_utc(now),
            if left <= 0 { format!("already {} in the past", time::human(left)) } else { format!("only {} ahead", time::human(left)) }
        )
    })
}

/// The credentials to write: from the cache when it holds them, else from
/// STS (every hop, and `--verify`), each held to the account guard (§12).
/// One deadline, the run's timeout from here less what getting the token
/// took (a token command's run), covers every path: the wait for the
/// cache's lock, a hit's `--verify` and the exchange (§4.2, §13.4). A
/// token from a file or a command is got again for every retry, in `env`
/// (§1.3).
fn credentials(
    s: &Settings,
    endpoint: &endpoint::Endpoint,
    claims: Option<&claims::Claims>,
    first_hop: Option<&std::cell::RefCell<Option<response::Credentials>>>,
    cache_key: Option<&str>,
    env: &[(OsString, OsString)],
    log: &mut Log,
) -> Result<response::Credentials, Error> {
    let fresh = |deadline, not_sent: &str| {
        settings::fresh_token(s, &mut System { env }, deadline, not_sent)
    };
    let ctx = request::Context {
        claims,
        first_hop,
        fresh: s
            .token_source
            .rereads()
            .then_some(&fresh as request::Refetch),
    };
    let deadline = std::time::Instant::now() + s.timeout.value.saturating_sub(s.token_took);
    // Said only when STS is asked: a cache hit says so instead.
    let mut exchange = |log: &mut Log, waited: std::time::Duration| {
        if !waited.is_zero() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            log.debug(&format!(
                "waited {} for the cache entry's lock; {} of the {}s timeout (from {}) is left for STS",
                request::retry::seconds(waited),
                request::retry::seconds(left),
                s.timeout.value.as_secs(),
                s.timeout.source.name()
            ));
        }
        log.info(&assuming(s, endpoint));
        // Every hop, each answer held to the account guard (§12), and
        // `--verify` when on, before the cache keeps it.
        request::exchange(s, endpoint, &ctx, deadline, log)
    };
    // A hit is held to what an answer is: its secrets and account hidden,
    // the role and session asked for, the list, and `--verify`. One
    // refused is removed and STS asked (§13.1). Only a refusal of the
    // credentials refuses them: no answer to `--verify`, or a throttle,
    // is the run's error, and the entry stays.
    let mut accept = |c: &response::Credentials, log: &mut Log| {
        request::learn(c, s.mask_account, log);
        if let Err(why) = request::as_asked(
            c.assumed_role_arn.as_deref(),
            &s.last_role().arn,
            &s.session_name.value,
        ) {
            return Ok(Some(format!("as not the role asked for ({why})")));
        }
        if let Some(a) = &s.allowed_accounts {
            if guard::check_answer(s, c.assumed_role_arn.as_deref()).is_err() {
                return Ok(Some(format!(
                    "by the account guard (their account is not one {} lists)",
                    a.source
                )));
            }
        }
        match s.chain.verify {
            true => match request::verify(s, endpoint, c, deadline, log)? {
                request::Verified::Yes => Ok(None),
                request::Verified::No(e) => Ok(Some(format!("by --verify ({e})"))),
            },
            false => Ok(None),
        }
    };
    match (&s.cache, cache_key) {
        (Some(dir), Some(key)) => {
            let patience = s.timeout.value / 2;
            cache::fetch(dir, key, patience, log, &mut accept, &mut exchange)
        }
        _ => exchange(log, std::time::Duration::ZERO),
    }
}

/// The line that says what the run asks STS for.
fn assuming(s: &Settings, endpoint: &endpoint::Endpoint) -> String {
    let chained: Vec<&str> = s.chained().iter().map(|r| r.arn.as_str()).collect();
    let duration = match chained.is_empty() {
        true => s.duration.as_ref().map(|d| d.value),
        false => request::chained_duration(s),
    };
    format!(
        "assuming {}{} as session {} via {} for {}",
        s.role.arn,
        chained
            .iter()
            .map(|a| format!(" then {a}"))
            .collect::<String>(),
        s.session_name.value,
        endpoint.url,
        duration.map_or(
            "the role's default duration (STS: 3600s)".to_string(),
            |d| format!("{d}s")
        ),
    )
}

fn report_success(
    s: &Settings,
    plan: &output::Plan,
    r: &output::Rendered,
    c: &response::Credentials,
    log: &mut Log,
) {
    let now = time::now();
    let target = match &plan.creds {
        output::Target::Stdout => "stdout".to_string(),
        output::Target::File(p) => format!("{} ({p})", plan.chosen_by),
        output::Target::Profile => plan.chosen_by.to_string(),
    };
    let mut line = format!(
        "assumed {} until {} ({}); wrote {} to {target}",
        c.assumed_role_arn.as_deref().unwrap_or(&s.last_role().arn),
        c.expiration,
        time::relative(c.expires_at - now),
        r.creds_keys.join(", "),
    );
    line.push_str(&vars_written(plan, r));
    log.info(&line);
    // An explicit dotenv/shell output already carries the variables.
    let vars_in_output = !plan.to_secret_file()
        && matches!(
            plan.format,
            settings::Format::Dotenv
                | settings::Format::Shell
                | settings::Format::Fish
                | settings::Format::PowerShell
        );
    if plan.vars.is_none() && !vars_in_output {
        let vars = output::variables(s, c, true);
        let shown: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        log.info(&format!(
            "no DRONE_OUTPUT or HARNESS_OUTPUT_FILE, so these are not written: {}",
            shown.join(" ")
        ));
    }
    if plan.to_secret_file() {
        log.info(&harness_map(&r.creds_keys));
    }
}

/// ` and KEYS to SOURCE (PATH)`, when the variables file was written.
fn vars_written(plan: &output::Plan, r: &output::Rendered) -> String {
    match &plan.vars {
        Some(vars) => format!(
            " and {} to {} ({})",
            r.vars_keys.join(", "),
            vars.source,
            vars.value
        ),
        None => String::new(),
    }
}

/// How later Harness steps map the secret file's keys.
fn harness_map<K: AsRef<str>>(keys: &[K]) -> String {
    let refs: Vec<String> = keys
        .iter()
        .map(|k| k.as_ref())
        .map(|k| format!("{k}: <+steps.<step_id>.output.outputVariables.{k}>"))
        .collect();
    format!(
        "map them into later steps' environment (with this step's id): {}",
        refs.join(", ")
    )
}

#[inline(never)]
fn print_check(
    s: &Settings,
    endpoint: &endpoint::Endpoint,
    claims: Option<&claims::Claims>,
    plan: &output::Plan,
    destinations: &output::Destinations,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let mut out = exchange_report(s, endpoint, claims)?;
    outputs_report(plan, destinations, &mut out);
    print_report(out, log, stdout)
}

/// What `--check` says of where the outputs go.
fn outputs_report(plan: &output::Plan, destinations: &output::Destinations, out: &mut String) {
    let (creds_state, vars_state) = destinations.states();
    let target = match &plan.creds {
        output::Target::Stdout => "stdout".to_string(),
        output::Target::File(p) => format!("{p}: {}", creds_state.unwrap_or_default()),
        output::Target::Profile => destinations.profile_states().join("; "),
    };
    let _ = writeln!(
        out,
        "credentials: {target} (from {}, {})",
        plan.chosen_by,
        plan.format.name()
    );
    match &plan.vars {
        Some(f) => {
            _ = writeln!(
                out,
                "variables: {}: {} (from {})",
                f.value,
                vars_state.unwrap_or_default(),
                f.source
            )
        }
        None => out.push_str("variables: not written (no DRONE_OUTPUT or HARNESS_OUTPUT_FILE)\n"),
    }
}

/// What `--check` says of the exchange, whatever the mode: the endpoint,
/// the proxy, the trust roots, each request (secrets redacted), the
/// token's claims, the allowed accounts and the cache.
fn exchange_report(
    s: &Settings,
    endpoint: &endpoint::Endpoint,
    claims: Option<&claims::Claims>,
) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(out, "endpoint: {}", endpoint.url);
    match proxy::choose(
        s.proxy.as_ref(),
        &s.no_proxy,
        &endpoint.host,
        endpoint.loopback,
    ) {
        Some(p) => _ = writeln!(out, "proxy: {} (from {})", p.display, p.source),
        None => out.push_str("proxy: none\n"),
    }
    let _ = writeln!(
        out,
        "trust: {}",
        match &s.ca_bundle {
            Some(b) => format!("{} (from {})", b.path.value, b.path.source),
            None => "built-in Mozilla roots".to_string(),
        }
    );
    let hops = request::hop_forms(s);
    for (i, form) in hops.iter().enumerate() {
        let which = match (i, hops.len()) {
            (_, 1) => String::new(),
            (0, n) => format!(" (hop 1 of {n})"),
            (i, n) => format!(" (hop {} of {n}, signed with hop {i}'s credentials)", i + 1),
        };
        let _ = writeln!(
            out,
            "request{which}: POST {} (User-Agent {})",
            endpoint.url,
            request::USER_AGENT
        );
        for (k, v) in form {
            let _ = writeln!(out, "  {k}={}", v.show());
        }
    }
    if s.chain.verify {
        let _ = writeln!(
            out,
            "then (--verify): POST {} Action=GetCallerIdentity, signed with the last hop's credentials",
            endpoint.url
        );
    }
    let _ = writeln!(
        out,
        "token claims: {}",
        claims.map_or("not a JWT (sent as is)".to_string(), |c| c
            .summary(time::now()))
    );
    if let Some(a) = &s.allowed_accounts {
        let shown = settings::listed(a, s.mask_account);
        _ = writeln!(out, "allowed accounts: {shown} (from {})", a.source);
    }
    if let Some(dir) = &s.cache {
        let _ = writeln!(out, "cache: {}", cache::inspect(dir)?);
    }
    Ok(out)
}

/// Prints a `--check` report, masked, with its last line.
fn print_report(mut out: String, log: &Log, stdout: &mut dyn Write) -> Result<(), Error> {
    out.push_str("settings are valid; nothing was sent\n");
    match print(stdout, &log.masked(&out)) {
        0 => Ok(()),
        _ => Err(Error::Output("cannot write to stdout".into())),
    }
}

/// The `--help` text, built from the settings table so it cannot drift.
pub fn help() -> String {
    let mut h = format!(
        "aws-oidc {VERSION}: trade a CI OIDC token for temporary AWS credentials (STS AssumeRoleWithWebIdentity)\n\n\
         usage: aws-oidc [--flag value | --flag=value]... [--check] [-- COMMAND [ARGS]...]\n\n\
         Every setting is read from its flag, else from the first non-empty env name listed.\n\
         In a Harness or Drone plugin step, settings: {{iamRoleArn: ...}} arrives as PLUGIN_IAMROLEARN.\n\n"
    );
    for def in settings::ALL {
        let name = def.name;
        let flag = def.flag.unwrap_or("(env only)");
        let _ = writeln!(h, "  {flag:<20} {name}");
        let _ = writeln!(h, "  {:<20}   env: {}", "", def.envs.join(", "));
        let _ = writeln!(
            h,
            "  {:<20}   default: {}; accepts: {}",
            "", def.default, def.accepts
        );
    }
    let _ = write!(
        h,
        "  {:<20} proxy: {} (http:// only; socks is refused); bypass: {}\n\n",
        "(env only)",
        settings::PROXY_ENVS.join(", "),
        settings::NO_PROXY_ENVS.join(", ")
    );
    h.push_str(
        "  --check              make every check a run makes before its request (settings, output\n\
         \x20                      files, token expiry); show the endpoint, the request (each hop's\n\
         \x20                      with chaining; token and policy redacted), the token's claims and\n\
         \x20                      where outputs go; send nothing and change no file; exit as the\n\
         \x20                      run would: 2 bad setting, 3 expired token, 6 nowhere to write\n\
         \x20                      or an output file or the cache folder refused\n\
         \x20 --help, --version\n\n\
         The token: prefer env, --token-file (- reads stdin) or --token-command. --token puts it\n\
         where process lists and shell history can see it. A token file or command is read again\n\
         before each retry; --check runs the token command too (it sends nothing to STS).\n\n\
         Formats: dotenv (KEY=VALUE), shell (export KEY='VALUE'), json, credential-process (AWS's\n\
         credential_process JSON on stdout), fish (set -gx KEY 'VALUE'), powershell ($env:KEY =\n\
         'VALUE'). Log levels: error, warn, info, debug, trace.\n\n\
         Profiles: --profile NAME writes the credentials to [NAME] of the shared credentials file\n\
         (merged, locked, atomic; long-lived keys refused unless --overwrite-profile); --refreshable\n\
         writes credential_process instead; --roles NAME=ARN,... makes one exchange per role, each\n\
         set's names prefixed NAME_ (or, with --profiles, to profile NAME).\n\n\
         Exit codes: 0 written; 2 bad setting or usage, or a role outside the allowed accounts;\n\
         3 STS refused; 4 no answer (network, TLS, timeout); 5 answer not understood, or for an\n\
         account not allowed; 6 output not written, or an output file refused (a link, not a\n\
         regular file, another user's, writable by others, named twice, an input file) or the\n\
         cache folder refused (a link, another user's, shared) before any request; 1 anything else.\n\n\
         With `-- COMMAND [ARGS]...`, COMMAND runs with the credentials in its environment only\n\
         (nothing is written), and aws-oidc exits with its status (128+N for signal N); 126 it\n\
         cannot be run, 127 it is not found, both before any request.\n",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_questioned_under_five_minutes_left() {
        // 2026-11-26T12:00:00Z
        let expires_at = 1_795_694_400;
        let creds = response::Credentials {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: secret::Secret::new("secret"),
            session_token: secret::Secret::new("token"),
            expiration: "2026-11-26T12:00:00Z".into(),
            expires_at,
            assumed_role_arn: None,
            subject: None,
            audience: None,
            provider: None,
            request_id: None,
        };
        assert_eq!(clock_warning(&creds, expires_at - 300), None);
        assert_eq!(
            clock_warning(&creds, expires_at - 299).unwrap(),
            "the credentials expire at 2026-11-26T12:00:00Z but this machine's clock says \
             2026-11-26T11:55:01Z (only 4m 59s ahead); check the runner's clock (NTP)"
        );
        assert!(clock_warning(&creds, expires_at)
            .unwrap()
            .contains(" (already 0s in the past); "));
        assert_eq!(
            clock_warning(&creds, expires_at + 60).unwrap(),
            "the credentials expire at 2026-11-26T12:00:00Z but this machine's clock says \
             2026-11-26T12:01:00Z (already 1m 0s in the past); check the runner's clock (NTP)"
        );
    }
}
