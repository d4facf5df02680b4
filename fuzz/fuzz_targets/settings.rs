//! Settings: `settings::parse_args`, `settings::resolve` with a fake file
//! system, the `parse_*` rules one by one, and `endpoint::resolve` on what
//! resolve accepts (`endpoint::for_settings`, as the binary does).
//!
//! Input: text records, one per line (values take `\n`, `\r`, `\t`, `\\` and
//! `\xHH` escapes):
//! - `NAME=value`: env variable NAME (use the real names, see fuzz/settings.dict);
//! - `#N=value`: the Nth name of every setting's env names, so the fuzzer
//!   reaches real variables without spelling them;
//! - `-...`: a command-line argument as is; `+value`: a bare argument (a flag's value);
//! - `@path=content`: a file the fake file system holds; `@path` alone: a
//!   file that cannot be read (permission denied).
#![no_main]

use std::collections::BTreeMap;
use std::io;

use aws_oidc::settings::{self, Command, Files, Inputs, Settings};
use aws_oidc::{endpoint, proxy, request};
use libfuzzer_sys::fuzz_target;

/// A proxy URL as the client takes it and as logs show it.
fn parse_proxy(v: &str) -> Result<(String, String), String> {
    proxy::parse(v).map(|p| (p.url.expose().to_string(), p.display))
}

/// Every env name the settings read, in table order.
fn env_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = settings::ALL.iter().flat_map(|d| d.envs.iter().copied()).collect();
    names.extend(settings::PROXY_ENVS);
    names.extend(settings::NO_PROXY_ENVS);
    names.push(settings::IGNORE_ENDPOINT_URLS);
    names
}

fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            let (b, used) = match s[i + 1] {
                b'n' => (b'\n', 2),
                b'r' => (b'\r', 2),
                b't' => (b'\t', 2),
                b'\\' => (b'\\', 2),
                b'x' => match s.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
                    Some(b) => (b, 4),
                    None => (b'\\', 1),
                },
                _ => (b'\\', 1),
            };
            out.push(b);
            i += used;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(b)).into_owned()
}

#[derive(Clone, Default)]
struct Case {
    env: BTreeMap<String, String>,
    args: Vec<String>,
    files: BTreeMap<String, Option<Vec<u8>>>,
}

fn read_case(data: &[u8]) -> Case {
    let names = env_names();
    let mut case = Case::default();
    for line in data.split(|b| *b == b'\n') {
        match line.first() {
            Some(b'-') => case.args.push(text(line)),
            Some(b'+') => case.args.push(text(&line[1..])),
            Some(b'@') => {
                let line = &line[1..];
                match line.iter().position(|b| *b == b'=') {
                    Some(i) => case.files.insert(text(&line[..i]), Some(unescape(&line[i + 1..]))),
                    None => case.files.insert(text(line), None),
                };
            }
            Some(_) => {
                let Some(i) = line.iter().position(|b| *b == b'=') else { continue };
                let (key, value) = (&line[..i], text(&line[i + 1..]));
                let key = match key.strip_prefix(b"#") {
                    Some(n) => match std::str::from_utf8(n).ok().and_then(|n| n.parse::<usize>().ok()) {
                        Some(n) => names[n % names.len()].to_string(),
                        None => continue,
                    },
                    None => text(key),
                };
                case.env.insert(key, value);
            }
            None => {}
        }
    }
    case
}

struct FakeFiles<'a>(&'a BTreeMap<String, Option<Vec<u8>>>);

impl Files for FakeFiles<'_> {
    fn read(&mut self, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        match self.0.get(path) {
            None => Err(io::ErrorKind::NotFound.into()),
            Some(None) => Err(io::ErrorKind::PermissionDenied.into()),
            Some(Some(bytes)) => Ok(bytes.iter().take(limit as usize).copied().collect()),
        }
    }
}

fn one_line(what: &str, text: &str) {
    assert!(!text.contains(['\n', '\r']), "{what} is not one line: {text:?}");
}

/// A policy with the letters and digits inside its JSON strings changed:
/// the same length, characters and JSON shape, so the same checks pass or
/// fail, yet other text.
fn swap_policy(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                out.push(c);
                // The escaped character (and a \u's four digits) stay.
                match chars.next() {
                    Some('u') => {
                        out.push('u');
                        out.extend(chars.by_ref().take(4));
                    }
                    Some(e) => out.push(e),
                    None => {}
                }
                continue;
            }
            c if in_string && c.is_ascii_alphanumeric() => {
                out.push(if c == 'Q' { 'R' } else { 'Q' });
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The same case with every secret (token values, token files, the policy)
/// replaced by other text that the rules treat alike (the same length; for
/// the policy also the same JSON shape), so nothing a user can see may
/// change.
fn with_other_secrets(case: &Case) -> Case {
    fn swap(v: &str) -> String {
        let core = v.trim();
        if core.is_empty() {
            return v.to_string();
        }
        let start = v.find(core).unwrap_or(0);
        // Letters and digits change; every other character stays, so the
        // token keeps its shape (JWT or opaque) and the content rules see
        // the same classes of character: only the secret itself differs.
        let other: String = core
            .chars()
            .map(|c| match c {
                'Q' => 'R',
                c if c.is_ascii_alphanumeric() => 'Q',
                c => c,
            })
            .collect();
        format!("{}{other}{}", &v[..start], &v[start + core.len()..])
    }
    let mut c = case.clone();
    for (k, v) in c.env.iter_mut() {
        if settings::TOKEN.envs.contains(&k.as_str()) {
            *v = swap(v);
        }
        if settings::POLICY.envs.contains(&k.as_str()) {
            *v = swap_policy(v);
        }
    }
    // Flags: `--token X`, `--token=X`, `--policy X`, `--policy=X`.
    let mut i = 0;
    while i < c.args.len() {
        let a = c.args[i].clone();
        for (flag, swap) in [("--token", swap as fn(&str) -> String), ("--policy", swap_policy)] {
            if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
                c.args[i] = format!("{flag}={}", swap(v));
            } else if a == flag && i + 1 < c.args.len() && !c.args[i + 1].starts_with("--") {
                c.args[i + 1] = swap(&c.args[i + 1]);
                i += 1;
            }
        }
        i += 1;
    }
    // Token files that are not also read as something else.
    let mut token_paths: Vec<String> = settings::TOKEN_FILE.envs.iter().filter_map(|e| case.env.get(*e)).map(|v| v.trim().to_string()).collect();
    let mut other_paths: Vec<String> = settings::CA_BUNDLE.envs.iter().filter_map(|e| case.env.get(*e)).map(|v| v.trim().to_string()).collect();
    for (i, a) in case.args.iter().enumerate() {
        let value = |flag: &str| {
            a.strip_prefix(&format!("--{flag}=")).map(str::to_string).or_else(|| {
                (a == &format!("--{flag}")).then(|| case.args.get(i + 1).cloned()).flatten()
            })
        };
        token_paths.extend(value("token-file").map(|v| v.trim().to_string()));
        other_paths.extend(value("ca-bundle").map(|v| v.trim().to_string()));
    }
    for (path, content) in c.files.iter_mut() {
        if token_paths.contains(path) && !other_paths.contains(path) {
            if let Some(bytes) = content {
                if let Ok(s) = std::str::from_utf8(bytes) {
                    *bytes = swap(s).into_bytes();
                }
            }
        }
    }
    c
}

/// What resolve and endpoint::resolve show for a case, secrets redacted.
fn visible(case: &Case) -> Option<String> {
    let Ok(Command::Run { flags, .. }) = settings::parse_args(&case.args) else {
        return None;
    };
    let inputs = Inputs { flags, env: case.env.clone() };
    let s = settings::resolve(&inputs, &mut FakeFiles(&case.files)).settings;
    Some(match s {
        Err(e) => format!("error: {e}"),
        Ok(s) => {
            // Every hop's form, as --check shows them (role chaining).
            let shown: Vec<String> =
                request::hop_forms(&s).iter().flatten().map(|(k, v)| format!("{k}={}", v.show())).collect();
            format!("{s:?}\n{:?}\n{shown:?}", endpoint::for_settings(&s))
        }
    })
}


fn check_settings(s: &Settings) {
    let token = s.token.expose();
    assert!((4..=20000).contains(&token.chars().count()) && token.trim() == token, "token of {} chars", token.len());
    let ok_name = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    assert!((2..=64).contains(&s.session_name.len()) && s.session_name.chars().all(ok_name), "{:?}", s.session_name);
    assert!(s.duration.as_ref().is_none_or(|d| (900..=43200).contains(&d.value)));
    if let Some(r) = &s.region {
        assert_eq!(settings::parse_region(r).as_ref(), Ok(&r.value));
    }
    assert!((1..=3600).contains(&s.timeout.as_secs()) && s.max_attempts.as_ref().is_none_or(|n| (1..=1000).contains(&n.value)));
    assert!(s.policy.as_ref().is_none_or(|p| (1..=2048).contains(&p.len())));
    assert!(s.policy_arns().len() <= 10);
    assert_eq!(settings::parse_role_arn(&s.role.arn).as_ref(), Ok(&s.role.value));
    if let Some(ids) = &s.allowed_accounts {
        assert_eq!(settings::parse_account_ids(&ids.join(",")).as_ref(), Ok(&ids.value));
        // The guard's verdict on the role is one line either way.
        if let Err(e) = aws_oidc::guard::check_roles(s, &[(&s.role.arn, s.role.source)]) {
            one_line("an account guard error", &e.to_string());
        }
    }
    for w in &s.warnings {
        one_line("a warning", w);
    }

    match endpoint::for_settings(s) {
        Ok(e) => {
            check_endpoint(&e);
            if s.endpoint.is_none() {
                assert!(e.url.starts_with("https://sts") && e.url.ends_with('/'), "{}", e.url);
            }
            let proxy = proxy::choose(s.proxy.as_ref(), &s.no_proxy, &e.host, e.loopback);
            assert!(!(e.loopback && proxy.is_some()), "a loopback endpoint goes through a proxy");
        }
        Err(e) => one_line("an endpoint error", &e.to_string()),
    }
}

fn check_endpoint(e: &endpoint::Endpoint) {
    assert!(!e.host.is_empty());
    assert!(e.url.starts_with("https://") || (e.url.starts_with("http://") && e.loopback), "{e:?}");
    // What the client will connect to is the host we checked.
    let uri: http::Uri = e.url.parse().unwrap_or_else(|err| panic!("{:?} is accepted but the client cannot parse it: {err}", e.url));
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    assert_eq!(host, e.host, "{:?}", e.url);
    // Loopback as the client's URI parser sees the host, judged by std's
    // address rules and the literal name `localhost` (one trailing dot
    // allowed), not by `endpoint::is_loopback`, which set the flag.
    let name = host.strip_suffix('.').unwrap_or(&host);
    let by_uri = name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    assert_eq!(e.loopback, by_uri, "{e:?}");
    // A NO_PROXY entry naming the host (with or without a port, in any
    // case) bypasses the proxy.
    let named = if e.host.contains(':') { format!("[{}]", e.host) } else { e.host.clone() };
    for entry in [e.host.clone(), named.to_ascii_uppercase(), format!("{named}:443"), format!(".{named}"), "*".into()] {
        assert!(proxy::no_proxy_matches(&entry, &e.host), "NO_PROXY={entry} does not match {}", e.host);
    }
}

/// The rules one by one, on any value.
fn check_rules(v: &str) {
    match endpoint::parse_url(v) {
        Ok(e) => {
            check_endpoint(&e);
            assert_eq!(endpoint::parse_url(&e.url).as_ref(), Ok(&e), "parse_url is not idempotent on {v:?}");
        }
        Err(p) => one_line("a parse_url error", &p),
    }
    match parse_proxy(v) {
        Ok((url, display)) => {
            assert_eq!(parse_proxy(&url), Ok((url.clone(), display.clone())), "{v:?}");
            // The client (ureq::Proxy::new) parses the URL with http::Uri:
            // it must, and must reach the host the logs name.
            let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("proxy {v:?} accepted as {url:?}, which the client cannot parse: {e}"));
            let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            assert_eq!(display.rsplit_once('@').map_or(display.trim_start_matches("http://"), |(_, h)| h), hostport, "proxy {v:?}");
            // With a user:password, the display is exactly the mask and the
            // host: nothing of the credentials can show, whatever they hold.
            if authority.contains('@') {
                assert_eq!(display, format!("http://***:***@{hostport}"), "proxy {v:?}");
            } else {
                assert_eq!(display, format!("http://{hostport}"), "proxy {v:?}");
            }
            // An '@' the proxy URL did not take as user:password@ is one
            // inside a password (an unencoded '/'): none may reach the log.
            let after_scheme = v.split_once("://").map_or(v, |(_, r)| r);
            if after_scheme.contains('@') {
                assert!(display.contains(":***@") || !after_scheme.contains(':'), "proxy display {display:?} for {v:?}");
            }
        }
        Err(p) => one_line("a parse_proxy error", &p),
    }
    match settings::parse_role_arn(v) {
        Ok(r) => assert_eq!(r.arn, v),
        Err(p) => one_line("a parse_role_arn error", &p),
    }
    match settings::parse_duration(v) {
        Ok(d) => assert_eq!(settings::parse_duration(&d.to_string()), Ok(d)),
        Err(p) => one_line("a parse_duration error", &p),
    }
    match settings::parse_region(v) {
        Ok(r) => assert_eq!(r, v),
        Err(p) => one_line("a parse_region error", &p),
    }
    match settings::parse_policy_arns(v) {
        Ok(arns) => {
            assert!(arns.len() <= 10);
            for a in &arns {
                assert_eq!(settings::parse_policy_arns(a).as_ref(), Ok(&vec![a.clone()]));
            }
        }
        Err(p) => one_line("a parse_policy_arns error", &p),
    }
    match settings::parse_account_ids(v) {
        // Each id is 12 digits, and the list of them reads back the same.
        Ok(ids) => {
            assert!(!ids.is_empty() && ids.iter().all(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())), "{ids:?}");
            assert_eq!(settings::parse_account_ids(&ids.join(",")), Ok(ids.clone()));
        }
        Err(p) => one_line("a parse_account_ids error", &p),
    }
    match settings::sanitize_session_name(v) {
        Ok((name, _)) => assert_eq!(settings::sanitize_session_name(&name), Ok((name.clone(), false))),
        Err(p) => one_line("a session name error", &p),
    }
    for host in ["sts.amazonaws.com", "127.0.0.1", "::1", v] {
        let _ = proxy::no_proxy_matches(v, host);
    }
}

fuzz_target!(|data: &[u8]| {
    let case = read_case(data);
    for v in case.env.values().chain(&case.args) {
        check_rules(v);
    }

    let command = match settings::parse_args(&case.args) {
        Ok(c) => c,
        Err(e) => {
            one_line("a usage error", &e.to_string());
            return;
        }
    };
    let Command::Run { flags, .. } = command else { return };
    let inputs = Inputs { flags, env: case.env.clone() };
    match settings::resolve(&inputs, &mut FakeFiles(&case.files)).settings {
        Ok(s) => check_settings(&s),
        Err(e) => one_line("a settings error", &e.to_string()),
    }
    // Only the secrets' length may matter to anything shown.
    assert_eq!(visible(&case), visible(&with_other_secrets(&case)), "a secret changes what is shown");
});
