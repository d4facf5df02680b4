//! One way to declare a run that must fail (or succeed) in a given way, as
//! just's `tests/test.rs` does: a [`Case`] names the step's settings, the
//! stand-in's replies, the exit code, a piece of the last stderr line and
//! the request count, and [`Case::check`] runs it at info and at trace,
//! checking also that no output file gained a line on failure and that no
//! secret reached stdout or stderr. The error matrix (`errors/`) is made of
//! these; any module can declare one.

use super::*;

pub(crate) type Setup = Box<dyn Fn(&StandIn, Step) -> Step + Send + Sync>;

pub(crate) struct Case {
    name: &'static str,
    transport: Transport,
    setup: Setup,
    replies: Vec<Reply>,
    code: i32,
    /// A piece of the last stderr line (the error line, or the success line).
    says: &'static str,
    requests: usize,
    /// The case sets the log level itself, so the matrix leaves
    /// `PLUGIN_LOG_LEVEL` unset instead of running it at info and trace.
    own_log_level: bool,
    /// A piece of stderr at trace, beyond what every case checks.
    trace_says: Option<&'static str>,
    /// The binary's arguments (a command after `--`).
    args: &'static [&'static str],
    /// Lines a token command's standard error adds before a settings
    /// error, which is otherwise the only line (§14.3).
    passed_through: usize,
    /// Secrets of the case's own (a value it planted, a password) that no
    /// stream may show, beyond the token and the issued credentials.
    hides: Vec<String>,
}

impl Case {
    /// A case named `name` that must exit with `code`, its last stderr line
    /// holding `says`, after `requests` requests reached the stand-in.
    pub(crate) fn new(name: &'static str, code: i32, says: &'static str, requests: usize) -> Case {
        Case {
            name,
            transport: Transport::Tls,
            setup: Box::new(|_, s| s),
            replies: vec![],
            code,
            says,
            requests,
            own_log_level: false,
            trace_says: None,
            args: &[],
            passed_through: 0,
            hides: vec![],
        }
    }
    pub(crate) fn set(mut self, key: &'static str, value: &'static str) -> Case {
        let prev = self.setup;
        self.setup = Box::new(move |sts, s| prev(sts, s).set(key, value));
        self
    }
    pub(crate) fn unset(mut self, key: &'static str) -> Case {
        let prev = self.setup;
        self.setup = Box::new(move |sts, s| prev(sts, s).unset(key));
        self
    }
    pub(crate) fn with(
        mut self,
        f: impl Fn(&StandIn, Step) -> Step + Send + Sync + 'static,
    ) -> Case {
        let prev = self.setup;
        self.setup = Box::new(move |sts, s| f(sts, prev(sts, s)));
        self
    }
    pub(crate) fn args(mut self, args: &'static [&'static str]) -> Case {
        self.args = args;
        self
    }
    pub(crate) fn replies(mut self, r: Vec<Reply>) -> Case {
        self.replies = r;
        self
    }
    pub(crate) fn transport(mut self, t: Transport) -> Case {
        self.transport = t;
        self
    }
    pub(crate) fn own_log_level(mut self) -> Case {
        self.own_log_level = true;
        self
    }
    pub(crate) fn trace_says(mut self, text: &'static str) -> Case {
        self.trace_says = Some(text);
        self
    }
    pub(crate) fn passed_through(mut self, lines: usize) -> Case {
        self.passed_through = lines;
        self
    }
    /// Adds secrets that no stream may show.
    pub(crate) fn hides(mut self, secrets: &[&str]) -> Case {
        self.hides.extend(secrets.iter().map(|s| s.to_string()));
        self
    }
}

impl Case {
    /// Runs the case at info and at trace; panics, saying what differs.
    pub(crate) fn check(&self) {
        let c = self;
        for level in ["info", "trace"] {
            let sts = StandIn::with(c.transport);
            sts.script(c.replies.clone());
            let step = (c.setup)(&sts, Step::harness(&sts));
            let step = if c.own_log_level {
                step
            } else {
                step.set("PLUGIN_LOG_LEVEL", level)
            };
            let out = step.run(c.args);
            let ctx = format!("case {:?} at {level}\nstderr:\n{}", c.name, out.stderr);
            assert_eq!(out.code, c.code, "{ctx}");
            for line in out.stderr.lines() {
                assert!(
                    line.chars().count() <= 1000,
                    "a line over 1000 characters: {ctx}"
                );
            }
            if c.code == 0 {
                assert!(out.stderr.contains(c.says), "{ctx}\nwanted: {}", c.says);
                // The outcome itself, not just the word "assumed": the issued
                // credentials in the secret file, the rest in the variables
                // file, key by key (an answer the case wrote by hand is checked
                // by its keys).
                match sts.issued().last() {
                    Some(i) => {
                        assert_lines(
                            &step.secrets(),
                            &[
                                ("AWS_ACCESS_KEY_ID", &i.access_key_id),
                                ("AWS_SECRET_ACCESS_KEY", &i.secret_access_key),
                                ("AWS_SESSION_TOKEN", &i.session_token),
                            ],
                        );
                        assert_lines(
                            &step.vars(),
                            &[
                                ("AWS_CREDENTIAL_EXPIRATION", &i.expiration),
                                ("AWS_ACCOUNT_ID", ACCOUNT),
                                ("AWS_ASSUMED_ROLE_ARN", &i.assumed_role_arn),
                                ("AWS_OIDC_ROLE_ARN", ROLE),
                            ],
                        );
                    }
                    None => {
                        let keys = |text: String| -> Vec<String> {
                            text.lines()
                                .filter_map(|l| l.split_once('='))
                                .map(|(k, _)| k.to_string())
                                .collect()
                        };
                        assert_eq!(
                            keys(step.secrets()),
                            [
                                "AWS_ACCESS_KEY_ID",
                                "AWS_SECRET_ACCESS_KEY",
                                "AWS_SESSION_TOKEN"
                            ],
                            "{ctx}"
                        );
                        assert!(
                            keys(step.vars()).contains(&"AWS_CREDENTIAL_EXPIRATION".to_string()),
                            "{ctx}"
                        );
                    }
                }
            } else {
                assert!(out.last_line().starts_with("aws-oidc: error: "), "{ctx}");
                assert!(
                    out.last_line().contains(c.says),
                    "{ctx}\nwanted: {}",
                    c.says
                );
                assert_eq!(step.secrets(), "", "the secret file gained a line: {ctx}");
                assert_eq!(step.vars(), "", "the variables file gained a line: {ctx}");
                assert_eq!(out.stdout, "", "{ctx}");
                if (c.code == 2 || c.code == 6) && c.requests == 0 && level == "info" {
                    assert_eq!(
                        out.stderr.lines().count(),
                        1 + c.passed_through,
                        "settings errors are one line: {ctx}"
                    );
                }
            }
            assert_eq!(sts.requests().len(), c.requests, "requests: {ctx}");
            let mut secrets = secrets_of(
                &sts,
                step.env.get("PLUGIN_OIDC_TOKEN_ID").unwrap_or_default(),
            );
            secrets.extend(c.hides.iter().cloned());
            // The step's own token too, wherever the case put it (a file).
            secrets.extend(secrets_of(&sts, &step.token));
            secrets.extend(step.env.get("PLUGIN_POLICY").map(String::from));
            out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
            // Nor any 12-character part of the token, the policy, the proxy's
            // password or its Basic value, which a server quoting half of one
            // would show.
            for (k, v) in quotable(&step) {
                for part in v.windows(12) {
                    let part = String::from_utf8_lossy(part);
                    assert!(
                        !out.stderr.contains(&*part),
                        "stderr shows `{part}` of {k}: {ctx}"
                    );
                }
            }
            if let Some(text) = c.trace_says.filter(|_| level == "trace") {
                assert!(out.stderr.contains(text), "{ctx}\nwanted: {text}");
            }
            if level == "info" && c.code == 0 && c.requests > 1 {
                assert!(
                    out.stderr.contains("attempt 1 of 3 failed: "),
                    "retries are logged at info: {ctx}"
                );
            }
            if level == "trace" && c.code == 0 && c.requests > 1 {
                assert!(
                    out.stderr.contains("ms before attempt 2"),
                    "the wait is logged at debug: {ctx}"
                );
            }
        }
    }
}

/// The secrets a server could quote a part of, by name: the token, the
/// policy, and the proxy's password and Basic value (`%XX` undone, as the
/// client sends them).
fn quotable(step: &Step) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for (k, v) in step.env.iter() {
        if k == "PLUGIN_POLICY" || k == "PLUGIN_OIDC_TOKEN_ID" {
            all.push((k.to_string(), v.as_bytes().to_vec()));
        }
    }
    let userinfo = step
        .env
        .get("HTTPS_PROXY")
        .and_then(|url| url.rsplit_once('@'))
        .map(|(head, _)| head.rsplit_once("://").map_or(head, |(_, u)| u));
    if let Some(userinfo) = userinfo.map(percent_decoded) {
        if let Some(at) = userinfo.iter().position(|&b| b == b':') {
            all.push(("the proxy's password".into(), userinfo[at + 1..].to_vec()));
        }
        let basic = basic_value(&userinfo);
        all.push(("the proxy's Basic value".into(), basic.into_bytes()));
    }
    all
}

/// `%XX` escapes undone.
fn percent_decoded(text: &str) -> Vec<u8> {
    let (b, mut out, mut i) = (text.as_bytes(), Vec::new(), 0);
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match (b[i], hex) {
            (b'%', Some(h)) => {
                out.push(u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap());
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Runs a case; on failure, what failed.
pub(crate) fn outcome(c: &Case) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.check())).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        format!("case {:?}: {why}", c.name)
    })
}

/// Fails once, listing every case that failed, not just the first.
pub(crate) fn assert_all_pass(outcomes: Vec<Result<(), String>>) {
    let failures: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The Basic value (base64) of `user:password`.
pub(crate) fn basic_value(userinfo: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(userinfo)
}
