//! The default mode as a room of its own (`docs/reference.md` §6): the
//! credentials written to the destinations the plan chose, every one of
//! them checked and opened before STS is asked, and the success report.

use std::io::Write;

use crate::error::Error;
use crate::exchange::{self, Modes};
use crate::log::Log;
use crate::settings::{self, Settings};
use crate::{output, response, time};

/// Writes the credentials: plans and opens every destination before any
/// request (`--check` reports them instead), exchanges, renders, writes.
pub(crate) fn run(
    s: &Settings,
    ctx: &Modes,
    check: bool,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<i32, Error> {
    let plan = output::plan(s)?;
    let destinations = open_outputs(s, &plan, ctx.cache_key, check, log)?;
    if check {
        return crate::check::print_check(
            s,
            ctx.endpoint,
            ctx.claims,
            &plan,
            &destinations,
            log,
            stdout,
        )
        .map(|()| 0);
    }
    let creds = exchange::credentials(s, ctx.endpoint, ctx.claims, None, ctx.cache_key, env, log)?;
    if let Some(warning) = exchange::clock_warning(&creds, time::now()) {
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
pub(crate) fn open_outputs(
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
pub(crate) fn vars_written(plan: &output::Plan, r: &output::Rendered) -> String {
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
pub(crate) fn harness_map<K: AsRef<str>>(keys: &[K]) -> String {
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
