//! Where the token comes from (`docs/reference.md` §1.3, §14.3): a value,
//! a file, standard input or a command. It is read once when the settings
//! are resolved, for the first attempt and everything that needs it early
//! (claims, `--check`, the cache key); [`fresh_token`] reads a file or runs
//! a command again, under the same rules, before every later attempt and
//! every refresh, so that a rotated file or a newly minted token is what
//! STS gets.

use std::ffi::OsString;
use std::time::Instant;

use super::files::{self, Files};
use super::{Settings, Source, Sourced};
use crate::error::Error;
use crate::exec::Captured;
use crate::secret::{Scrubber, Secret};

/// Where the run's token was read from, and so whether it can be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The value itself (a flag or an env name): never read again.
    Value,
    /// A file, read again before each later attempt.
    File(String),
    /// Standard input (`--token-file -`), which can be read only once.
    Stdin,
    /// A token command's words, run again before each later attempt.
    Command(Vec<String>),
}

impl TokenSource {
    /// Whether [`fresh_token`] gets a new token from this source: a file
    /// or a command. A value and standard input are what they were.
    pub fn rereads(&self) -> bool {
        matches!(self, TokenSource::File(_) | TokenSource::Command(_))
    }
}

/// A token got again, and what its command said on standard error, each
/// line scrubbed of the token and ready to log at info.
#[derive(Debug)]
pub struct Fetched {
    /// The token, held to the token's rules.
    pub token: Secret,
    /// The command's standard error, `NAME: LINE` a line; none for a file.
    pub stderr: Vec<String>,
}

/// The most a token command may print on standard output: the longest
/// token STS takes and a line ending (`\r\n`).
pub const OUTPUT_LIMIT: usize = 20_000 + 2;

/// The most lines of a token command's standard error shown.
const STDERR_LINES: usize = 40;

/// The token again, from its file or command (`docs/reference.md` §1.3),
/// held to the same rules as when the settings were resolved; `None` when
/// the source is a value or standard input, which are not read again (and
/// nothing is run or read). A command must finish by `deadline`. Its
/// errors end with `not_sent` (what the failure kept from STS, such as
/// `attempt 2 was not sent`) and carry the exit codes of §7. The caller
/// hides the token (and logs `stderr`) before anything else is printed.
pub fn fresh_token(
    s: &Settings,
    files: &mut dyn Files,
    deadline: Instant,
    not_sent: &str,
) -> Result<Option<Fetched>, Error> {
    let source = s.token.source;
    match &s.token_source {
        TokenSource::Value | TokenSource::Stdin => Ok(None),
        TokenSource::File(path) => {
            let f = Sourced {
                value: path.clone(),
                source,
            };
            let token = files::token_from_file(files, &f)?;
            Ok(Some(Fetched {
                token,
                stderr: Vec::new(),
            }))
        }
        TokenSource::Command(words) => {
            let mut stderr = Vec::new();
            let token = from_command(source, words, files, deadline, not_sent, &mut stderr)?;
            Ok(Some(Fetched { token, stderr }))
        }
    }
}

/// The words of a token command setting, split as a shell splits them
/// (`docs/reference.md` §14.3).
pub(super) fn words(f: &Sourced<String>) -> Result<Vec<String>, Error> {
    let words = super::words::split(&f.value).map_err(|p| Error::setting(f.source, p))?;
    match words.first() {
        Some(name) if !name.is_empty() => Ok(words),
        _ => Err(Error::setting(
            f.source,
            "the command's name is empty; set it to a command that prints the OIDC token",
        )),
    }
}

/// Runs the token command and holds what it printed to the token's rules;
/// its standard error, scrubbed of what it printed, goes to `stderr`
/// whatever the outcome.
pub(super) fn from_command(
    source: Source,
    words: &[String],
    files: &mut dyn Files,
    deadline: Instant,
    not_sent: &str,
    stderr: &mut Vec<String>,
) -> Result<Secret, Error> {
    let name = crate::error::word(&words[0]);
    let ran = files
        .run(words, deadline, OUTPUT_LIMIT)
        .map_err(|e| match e {
            Error::CommandNotFound(m) => Error::CommandNotFound(named(source, &m)),
            Error::CommandNotRunnable(m) => Error::CommandNotRunnable(named(source, &m)),
            e => e,
        })?;
    let printed = String::from_utf8_lossy(&ran.stdout);
    *stderr = said(&name, &ran, printed.trim());
    let last = stderr.last().map_or(String::new(), |l| {
        format!(
            " (its last line on standard error: `{}`)",
            &l[name.len() + 2..]
        )
    });
    let failed = |what: String| {
        Error::setting(
            source,
            format!("the token command `{name}` {what}; {not_sent}"),
        )
    };
    if ran.timed_out {
        return Err(Error::Network(format!(
            "{source}: the token command `{name}` did not finish within the run's timeout and was stopped{last}; {not_sent}; \
             raise the timeout (--timeout / PLUGIN_TIMEOUT) or check what it waits for"
        )));
    }
    // Stopped for printing too much: its status is the kill's.
    if ran.over {
        return Err(failed(format!(
            "printed more than {} characters, which is no OIDC token",
            OUTPUT_LIMIT - 2
        )));
    }
    if ran.status != 0 {
        return Err(failed(format!(
            "exited with {}{last}; check that this job may request an OIDC token",
            ran.status
        )));
    }
    let Ok(text) = std::str::from_utf8(&ran.stdout) else {
        return Err(failed(
            "printed text that is not UTF-8; it should print the OIDC token".into(),
        ));
    };
    if text.trim().is_empty() {
        return Err(failed(format!(
            "printed nothing on standard output{last}; it should print the OIDC token"
        )));
    }
    let place = format!("the token the command `{name}` printed");
    files::checked_token(text.trim(), &place, source)
}

/// A find or start error of the token command, naming the setting.
fn named(source: Source, message: &str) -> String {
    format!(
        "{source}: {}",
        message.replacen("the command", "the token command", 1)
    )
}

/// The command's standard error as log lines (`NAME: LINE`), scrubbed of
/// what it printed on standard output, at most [`STDERR_LINES`] of them.
fn said(name: &str, ran: &Captured, printed: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&ran.stderr);
    let secret = [printed].into_iter().filter(|p| p.chars().count() >= 4);
    let scrubber = Scrubber::new(secret);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut lines: Vec<String> = all
        .iter()
        .take(STDERR_LINES)
        .map(|l| format!("{name}: {}", crate::error::without_jwts(&scrubber.heard(l))))
        .collect();
    if all.len() > STDERR_LINES {
        lines.push(format!(
            "{name}: … {} more lines not shown",
            all.len() - STDERR_LINES
        ));
    } else if ran.stderr.len() >= crate::exec::STDERR_KEPT {
        lines.push(format!(
            "{name}: … (cut at {} bytes)",
            crate::exec::STDERR_KEPT
        ));
    }
    lines
}

/// The files on this machine, and token commands run in aws-oidc's own
/// environment: what a run reads its settings' files with.
pub struct System<'a> {
    /// The environment aws-oidc was started with, passed on to a token
    /// command as it is; its `PATH` finds the command.
    pub env: &'a [(OsString, OsString)],
}

impl Files for System<'_> {
    fn read(&mut self, path: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        files::DiskFiles.read(path, limit)
    }

    fn run(
        &mut self,
        words: &[String],
        deadline: Instant,
        limit: usize,
    ) -> Result<Captured, Error> {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        let program = crate::exec::find(&words, crate::exec::search_path(self.env))?;
        crate::exec::capture(&program, self.env, deadline, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{inputs, resolve};

    const ARN: &str = "arn:aws:iam::123456789012:role/ci";

    /// A token command that prints each of `outputs` in turn (exit status,
    /// stdout, stderr), and a file `/t` holding `file`; it keeps the words
    /// it was run with.
    #[derive(Default)]
    struct Minter {
        outputs: Vec<(i32, &'static str, &'static str)>,
        runs: Vec<Vec<String>>,
        file: String,
    }

    impl Files for Minter {
        fn read(&mut self, path: &str, _: u64) -> std::io::Result<Vec<u8>> {
            match path {
                "/t" => Ok(self.file.clone().into_bytes()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        }

        fn run(&mut self, words: &[String], _: Instant, limit: usize) -> Result<Captured, Error> {
            self.runs.push(words.to_vec());
            let (status, stdout, stderr) = self.outputs.remove(0);
            Ok(Captured {
                status,
                stdout: stdout.bytes().take(limit).collect(),
                over: stdout.len() > limit,
                stderr: stderr.into(),
                timed_out: false,
            })
        }
    }

    fn minter(outputs: &[(i32, &'static str, &'static str)]) -> Minter {
        Minter {
            outputs: outputs.to_vec(),
            file: "from-file\n".into(),
            ..Minter::default()
        }
    }

    #[test]
    fn the_command_comes_after_the_other_flags_and_plugin_names_and_before_aws_s_file() {
        let from = |env: &[(&str, &str)], flags: &[&str]| {
            let mut env = env.to_vec();
            env.push(("AWS_ROLE_ARN", ARN));
            let mut m = minter(&[(0, "from-command\n", "")]);
            let s = resolve(&inputs(&env, flags), &mut m).unwrap();
            (s.token.expose().to_string(), s.token.source.name())
        };
        let cmd = ("PLUGIN_OIDC_TOKEN_COMMAND", "mint");
        assert_eq!(
            from(&[cmd], &[]),
            ("from-command".into(), "PLUGIN_OIDC_TOKEN_COMMAND")
        );
        assert_eq!(
            from(&[("PLUGIN_OIDCTOKENCOMMAND", "mint")], &[]),
            ("from-command".into(), "PLUGIN_OIDCTOKENCOMMAND")
        );
        let aws = ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t");
        assert_eq!(from(&[aws, cmd], &[]).1, "PLUGIN_OIDC_TOKEN_COMMAND");
        assert_eq!(
            from(&[("PLUGIN_OIDC_TOKEN_FILE", "/t"), cmd], &[]).1,
            "PLUGIN_OIDC_TOKEN_FILE"
        );
        assert_eq!(
            from(&[("PLUGIN_OIDC_TOKEN", "abcd"), cmd], &[]).1,
            "PLUGIN_OIDC_TOKEN"
        );
        assert_eq!(
            from(
                &[("PLUGIN_OIDC_TOKEN", "abcd")],
                &["--token-command", "mint"]
            )
            .1,
            "--token-command"
        );
        assert_eq!(
            from(&[], &["--token-command", "mint", "--token-file", "/t"]).1,
            "--token-file"
        );
        assert_eq!(from(&[aws], &[]).1, "AWS_WEB_IDENTITY_TOKEN_FILE");
    }

    #[test]
    fn a_command_token_is_held_to_the_token_s_rules_and_read_again() {
        let env = [
            ("AWS_ROLE_ARN", ARN),
            (
                "PLUGIN_OIDC_TOKEN_COMMAND",
                r#"mint --claims '{"aud":"sts"}'"#,
            ),
        ];
        let mut m = minter(&[
            (0, " first-token\r\n", "minting\nsaid first-token\n"),
            (0, "second-token", ""),
        ]);
        let resolved = crate::settings::resolve(&inputs(&env, &[]), &mut m);
        assert_eq!(
            resolved.token_stderr,
            ["mint: minting", "mint: said <redacted>"]
        );
        let s = resolved.settings.unwrap();
        assert_eq!(s.token.expose(), "first-token");
        assert_eq!(
            s.token_source,
            TokenSource::Command(vec![
                "mint".into(),
                "--claims".into(),
                r#"{"aud":"sts"}"#.into()
            ])
        );
        assert_eq!(s.token_from(), "PLUGIN_OIDC_TOKEN_COMMAND (mint)");
        let again = fresh_token(&s, &mut m, Instant::now(), "attempt 2 was not sent")
            .unwrap()
            .unwrap();
        assert_eq!(again.token.expose(), "second-token");
        assert_eq!(m.runs.len(), 2);
        assert_eq!(m.runs[0], m.runs[1]);
        // A file is read again; a value is not, and nothing is run.
        let mut m = minter(&[]);
        let s = resolve(
            &inputs(
                &[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_FILE", "/t")],
                &[],
            ),
            &mut m,
        )
        .unwrap();
        m.file = "rotated\n".into();
        let again = fresh_token(&s, &mut m, Instant::now(), "x")
            .unwrap()
            .unwrap();
        assert_eq!(again.token.expose(), "rotated");
        let s = resolve(
            &inputs(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")], &[]),
            &mut m,
        )
        .unwrap();
        assert!(fresh_token(&s, &mut m, Instant::now(), "x")
            .unwrap()
            .is_none());
        assert!(m.runs.is_empty());
    }

    #[test]
    fn what_a_command_printed_that_is_no_token_is_refused() {
        let refused = |out: (i32, &'static str, &'static str)| {
            let env = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_COMMAND", "mint")];
            let e = resolve(&inputs(&env, &[]), &mut minter(&[out])).unwrap_err();
            (e.code(), e.to_string())
        };
        let name = "PLUGIN_OIDC_TOKEN_COMMAND: the token command `mint`";
        assert_eq!(
            refused((1, "secret-token", "denied for secret-token\n")),
            (2, format!("{name} exited with 1 (its last line on standard error: `denied for <redacted>`); check that this job may request an OIDC token; nothing was sent"))
        );
        assert_eq!(
            refused((0, " \n", "")),
            (2, format!("{name} printed nothing on standard output; it should print the OIDC token; nothing was sent"))
        );
        assert_eq!(
            refused((0, "ab", "")),
            (
                2,
                "PLUGIN_OIDC_TOKEN_COMMAND: the token is 2 chars; STS accepts 4-20000".into()
            )
        );
        assert_eq!(
            refused((0, "abcd\nefgh", "")),
            (2, "PLUGIN_OIDC_TOKEN_COMMAND: the token the command `mint` printed spans more than one line; it should hold the token alone, on one line".into())
        );
        let long: &'static str = "x".repeat(OUTPUT_LIMIT + 1).leak();
        assert_eq!(
            refused((0, long, "")),
            (2, format!("{name} printed more than 20000 characters, which is no OIDC token; nothing was sent"))
        );
        for (text, says) in [
            ("", "the command's name is empty"),
            ("''", "the command's name is empty"),
            ("mint 'x", "the command has a ' quote that is not closed"),
            ("mint | jq", "the command has `|` outside quotes"),
        ] {
            let env = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_COMMAND", text)];
            let got = resolve(&inputs(&env, &[]), &mut minter(&[]))
                .map(|_| ())
                .map_err(|e| e.to_string());
            match text {
                "" => assert!(got.unwrap_err().contains("no OIDC token is set")),
                _ => assert!(
                    got.unwrap_err()
                        .starts_with(&format!("PLUGIN_OIDC_TOKEN_COMMAND: {says}")),
                    "{text}"
                ),
            }
        }
    }

    #[test]
    fn a_command_s_stderr_is_shown_in_part_when_long() {
        let ran = |stderr: Vec<u8>| Captured {
            status: 0,
            stdout: vec![],
            over: false,
            stderr,
            timed_out: false,
        };
        let many: String = (1..=45).map(|i| format!("line {i}\n\n")).collect();
        let lines = said("mint", &ran(many.into_bytes()), "");
        assert_eq!(lines.len(), STDERR_LINES + 1);
        assert_eq!(lines[0], "mint: line 1");
        assert_eq!(lines[STDERR_LINES], "mint: … 5 more lines not shown");
        let cut = said("mint", &ran(vec![b'x'; crate::exec::STDERR_KEPT]), "");
        assert_eq!(cut.last().unwrap(), "mint: … (cut at 16384 bytes)");
        // A token printed of 3 characters or fewer garbles no line.
        assert_eq!(said("m", &ran(b"a b\n".to_vec()), "a"), ["m: a b"]);
    }
}
