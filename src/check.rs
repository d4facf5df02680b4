//! `--check` as a room of its own (`docs/reference.md` §9): every check a
//! run makes before its request, made by the modes, then a report of what
//! the run would send and write; nothing is sent and no file changed.

use std::fmt::Write as _;
use std::io::Write;

use crate::error::Error;
use crate::log::Log;
use crate::settings::{self, Settings};
use crate::{cache, claims, endpoint, output, proxy, request, time};

#[inline(never)]
pub(crate) fn print_check(
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
pub(crate) fn outputs_report(
    plan: &output::Plan,
    destinations: &output::Destinations,
    out: &mut String,
) {
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
pub(crate) fn exchange_report(
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
pub(crate) fn print_report(
    mut out: String,
    log: &Log,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    out.push_str("settings are valid; nothing was sent\n");
    match print(stdout, &log.masked(&out)) {
        0 => Ok(()),
        _ => Err(Error::Output("cannot write to stdout".into())),
    }
}

/// Writes `text` to stdout whole: 0, or 1 when it cannot (a closed pipe).
pub(crate) fn print(out: &mut dyn Write, text: &str) -> i32 {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
