//! Sets of credentials where AWS tools look for them, a mode of its own
//! (`docs/reference.md` §16): named profiles (refreshable ones included),
//! several roles in one run (`--roles`), and name prefixes. It shares the
//! exchange ([`crate::exchange::credentials`], once per role, each with the same
//! token and settings) and the outputs' rules with the other modes; it
//! writes nothing until every role has its credentials.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use crate::error::Error;
use crate::exchange::Modes;
use crate::log::Log;
use crate::settings::{self, Settings, Source, Sourced};
use crate::{cache, endpoint, guard, output, request, response, time};

/// One role's share of the run: its settings (the run's, with its role),
/// endpoint and cache key, how its errors name it, the prefix of its
/// names and its profile.
struct Role<'a> {
    settings: Cow<'a, Settings>,
    endpoint: Cow<'a, endpoint::Endpoint>,
    cache_key: Option<String>,
    /// `role NAME (ARN)` with `--roles`.
    named: Option<String>,
    prefix: String,
    profile: Option<String>,
}

/// The command mode takes the credentials into its environment only, so
/// the settings of this mode are a conflict there (exit 2).
pub(crate) fn refuse_with_command(s: &Settings) -> Result<(), Error> {
    let p = &s.profiles;
    let set = [
        p.profile.as_ref().map(|x| x.source),
        p.roles.as_ref().map(|x| x.source),
        p.env_prefix.as_ref().map(|x| x.source),
    ];
    match set.into_iter().flatten().next() {
        Some(source) => Err(Error::Conflict(format!(
            "with a command after `--`, the credentials go only to its environment, as AWS_* names; drop {source}, or the command"
        ))),
        None => Ok(()),
    }
}

/// Every role of the run, each checked as the first role is (the account
/// guard, its endpoint) before anything is opened or sent.
fn roles<'a>(s: &'a Settings, ctx: &'a Modes) -> Result<Vec<Role<'a>>, Error> {
    let p = &s.profiles;
    let env_prefix = p.env_prefix.as_ref().map_or("", |e| e.value.as_str());
    let Some(several) = &p.roles else {
        return Ok(vec![Role {
            settings: Cow::Borrowed(s),
            endpoint: Cow::Borrowed(ctx.endpoint),
            cache_key: ctx.cache_key.map(String::from),
            named: None,
            prefix: env_prefix.to_string(),
            profile: p.profile.as_ref().map(|n| n.value.clone()),
        }]);
    };
    several
        .iter()
        .map(|n| {
            let named = Some(format!("role {} ({})", n.name, n.role.arn));
            let mut one = s.clone();
            one.role = Sourced {
                value: n.role.clone(),
                source: several.source,
            };
            guard::check_roles(&one, &[(n.role.arn.as_str(), several.source)])?;
            let endpoint = endpoint::for_settings(&one).map_err(|e| naming(e, &named))?;
            let cache_key = one
                .cache
                .as_ref()
                .map(|_| cache::key(&endpoint.url, &request::hop_forms(&one)));
            Ok(Role {
                settings: Cow::Owned(one),
                endpoint: Cow::Owned(endpoint),
                cache_key,
                named,
                prefix: format!("{env_prefix}{}", settings::role_prefix(&n.name)),
                profile: p.per_role.then(|| n.name.clone()),
            })
        })
        .collect()
}

/// An error about one role of several, starting with its name, so the
/// user knows which was refused.
fn naming(e: Error, named: &Option<String>) -> Error {
    let Some(who) = named else {
        return e;
    };
    match e {
        Error::Sts(mut f) => {
            f.action = format!("{} for {who}", f.action);
            Error::Sts(f)
        }
        Error::Network(m) => Error::Network(format!("{who}: {m}")),
        Error::Response(m) => Error::Response(format!("{who}: {m}")),
        Error::Conflict(m) => Error::Conflict(format!("{who}: {m}")),
        Error::WouldBeRefused(m) => Error::WouldBeRefused(format!("{who}: {m}")),
        Error::Setting { source, problem } => Error::Setting {
            source,
            problem: format!("{who}: {problem}"),
        },
        Error::Tls { host, problem } => Error::Tls {
            host,
            problem: format!("{problem} ({who})"),
        },
        other => other,
    }
}

/// The run of this mode: every role checked, every destination checked
/// (profiles files included) before STS is asked, then one exchange per
/// role, and only then every output written, or nothing.
pub(crate) fn run(
    s: &Settings,
    check: bool,
    ctx: &Modes,
    process: &crate::exchange::Process,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<i32, Error> {
    let roles = roles(s, ctx)?;
    let plan = output::plan(s)?;
    let processes = match s.profiles.refreshable {
        true => {
            let exe = program(process.exe)?;
            let commands: Result<Vec<String>, Error> =
                roles.iter().map(|r| command(&r.settings, &exe)).collect();
            commands?.into_iter().map(Some).collect()
        }
        false => vec![None; roles.len()],
    };
    // The first role's entry stands for the cache's files: every role's
    // are in the one folder, which no destination may be in.
    let key = roles[0].cache_key.as_deref();
    let destinations = crate::write::open_outputs(s, &plan, key, check, log)?;
    if check {
        return check_report(s, &roles, &plan, &destinations, ctx, log, stdout).map(|()| 0);
    }
    // All or nothing: every role's credentials before the first byte.
    let mut got = Vec::new();
    for r in roles.iter().filter(|_| !s.profiles.refreshable) {
        let c = crate::exchange::credentials(
            &r.settings,
            &r.endpoint,
            ctx.claims,
            None,
            r.cache_key.as_deref(),
            process.env,
            log,
        )
        .map_err(|e| naming(e, &r.named))?;
        if let Some(warning) = crate::exchange::clock_warning(&c, time::now()) {
            log.warn(&warning);
        }
        got.push(c);
    }
    let sets: Vec<output::Set> = roles
        .iter()
        .zip(&processes)
        .enumerate()
        .map(|(i, (r, process))| output::Set {
            settings: &r.settings,
            creds: got.get(i),
            prefix: r.prefix.clone(),
            profile: r.profile.clone(),
            process: process.clone(),
        })
        .collect();
    let rendered = output::render_all(&plan, &sets)?;
    output::write(destinations, &plan, &rendered, stdout)?;
    if let Some(warning) = output::region_warning(&plan, s) {
        log.warn(&warning);
    }
    report(s, &plan, &rendered, &roles, &got, log);
    Ok(0)
}

/// This program's absolute path, which a refreshable profile runs.
fn program(exe: fn() -> Option<std::path::PathBuf>) -> Result<String, Error> {
    match exe().and_then(|p| p.to_str().map(String::from)) {
        Some(path) => Ok(path),
        None => Err(Error::Output(format!(
            "this program's own path is not known (or not UTF-8), and {} writes it into the profile; run it by a UTF-8 path, or drop {}",
            settings::REFRESHABLE.named(None),
            settings::REFRESHABLE.named(None)
        ))),
    }
}

/// The `credential_process` command of a refreshable profile: this
/// program with every setting that decides the exchange, given as flags
/// (which win over whatever environment the SDK runs it in), then
/// `--cache --format credential-process --output -`. Never the token
/// (only its file), the inline policy (refused before) or the proxy
/// (read from the SDK's environment at each refresh).
fn command(s: &Settings, exe: &str) -> Result<String, Error> {
    let mut w: Vec<String> = vec![exe.to_string()];
    let mut flag = |f: &str, v: Option<String>| {
        if let Some(v) = v {
            w.push(f.to_string());
            w.push(v);
        }
    };
    let user_set = |source: Source| source != Source::Default;
    flag("--role-arn", Some(s.role.arn.clone()));
    // The token's source, never the token: a file, or a command's words
    // joined as a shell splits them back.
    match &s.token_source {
        settings::TokenSource::Command(words) => {
            let line = output::command_line(words, false).map_err(|p| refused(&p))?;
            flag("--token-command", Some(line));
        }
        _ => flag("--token-file", s.token_file.clone()),
    }
    let session = &s.session_name;
    flag(
        "--session-name",
        user_set(session.source).then(|| session.value.clone()),
    );
    flag(
        "--duration",
        s.duration.as_ref().map(|d| d.value.to_string()),
    );
    flag("--region", s.region.as_ref().map(|r| r.value.clone()));
    flag("--endpoint", s.endpoint.as_ref().map(|e| e.value.clone()));
    flag(
        "--ca-bundle",
        s.ca_bundle.as_ref().map(|b| b.path.value.clone()),
    );
    flag("--policy-arns", s.policy_arns.as_ref().map(|a| a.join(",")));
    let timeout = user_set(s.timeout.source).then(|| format!("{}s", s.timeout.as_secs()));
    flag("--timeout", timeout);
    flag(
        "--max-attempts",
        s.max_attempts.as_ref().map(|a| a.value.to_string()),
    );
    flag(
        "--allowed-account-ids",
        s.allowed_accounts.as_ref().map(|a| a.join(",")),
    );
    let chained: Vec<&str> = s.chained().iter().map(|r| r.arn.as_str()).collect();
    flag(
        "--chain-role-arn",
        (!chained.is_empty()).then(|| chained.join(",")),
    );
    flag(
        "--external-id",
        s.chain.external_id.as_ref().map(|e| e.value.clone()),
    );
    flag(
        "--cache-dir",
        s.profiles.cache_dir.as_ref().map(|d| d.value.clone()),
    );
    for (on, f) in [
        (s.fips.value, "--fips"),
        (s.dualstack.value, "--dualstack"),
        (s.chain.verify, "--verify"),
        (s.mask_account, "--mask-account-id"),
        (true, "--cache"),
    ] {
        if on {
            w.push(f.to_string());
        }
    }
    w.extend(["--format", "credential-process", "--output", "-"].map(String::from));
    output::command_line(&w, cfg!(windows)).map_err(|p| refused(&p))
}

/// A refreshable profile's command that cannot be written as one line.
fn refused(problem: &str) -> Error {
    Error::setting(
        settings::REFRESHABLE.named(None),
        format!("{problem}; choose paths and values without it"),
    )
}

/// What `--check` says: each role's exchange, then where every output
/// goes; nothing is sent or written.
fn check_report(
    s: &Settings,
    roles: &[Role],
    plan: &output::Plan,
    destinations: &output::Destinations,
    ctx: &Modes,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let mut out = String::new();
    for r in roles {
        if let Some(n) = &r.named {
            let _ = writeln!(out, "{n}, its names prefixed {}:", r.prefix);
        }
        out.push_str(&crate::check::exchange_report(
            &r.settings,
            &r.endpoint,
            ctx.claims,
        )?);
    }
    crate::check::outputs_report(plan, destinations, &mut out);
    if let Some(p) = &s.profiles.env_prefix {
        let _ = writeln!(out, "names: prefixed {} (from {})", p.value, p.source);
    }
    if s.profiles.refreshable {
        out.push_str(
            "refreshable: credential_process is written instead of keys; STS is not asked now\n",
        );
    }
    crate::check::print_report(out, log, stdout)
}

/// The success lines: each role's credentials, then what went where.
fn report(
    s: &Settings,
    plan: &output::Plan,
    r: &output::Rendered,
    roles: &[Role],
    got: &[response::Credentials],
    log: &mut Log,
) {
    let now = time::now();
    for (role, c) in roles.iter().zip(got) {
        log.info(&format!(
            "assumed {} until {} ({})",
            c.assumed_role_arn
                .as_deref()
                .unwrap_or(&role.settings.role.arn),
            c.expiration,
            time::relative(c.expires_at - now),
        ));
    }
    let mut keys: Vec<&str> = Vec::new();
    for k in &r.creds_keys {
        if !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    let target = match (&plan.creds, &plan.profiles) {
        (_, Some(p)) => {
            let file = match s.profiles.refreshable {
                true => &p.files.config,
                false => &p.files.credentials,
            };
            format!("profile {} in {}", p.names.join(", "), file.value)
        }
        (output::Target::File(path), None) => format!("{} ({path})", plan.chosen_by),
        _ => "stdout".to_string(),
    };
    let mut line = format!("wrote {} to {target}", keys.join(", "));
    if !r.vars_keys.is_empty() {
        line.push_str(&crate::write::vars_written(plan, r));
    }
    log.info(&line);
    if s.profiles.refreshable {
        log.info("the profile runs aws-oidc at each refresh, which reads the token file again; STS was not asked now");
    }
    if plan.to_secret_file() {
        log.info(&crate::write::harness_map(&keys));
    }
}
