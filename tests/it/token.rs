//! Token commands and tokens read again (`docs/reference.md` §1.3,
//! §14.3), through the real binary against the stand-in: a token command
//! runs once per attempt, a token file is read again before every retry
//! (as the kubelet rotates a projected token), and neither's token reaches
//! a log line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::support::*;

/// A step whose token comes from a command (or a file) of the test's own:
/// the value Harness injects is gone, and the command finds `sh`'s tools.
fn step(sts: &StandIn) -> Step {
    Step::harness(sts)
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PATH", "/usr/bin:/bin")
}

/// An executable sh script in `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = write_file(dir, name, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Tokens like Buildkite's, each with a `sub` of its own.
fn tokens(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let sub =
                format!("organization:acme:pipeline:deploy:ref:refs/heads/main:step:mint-{i}");
            jwt(
                "https://agent.buildkite.com",
                "sts.amazonaws.com",
                &sub,
                now() + 600,
            )
        })
        .collect()
}

/// `mint`: prints `tokens[n-1]` on its n-th run, and logs its arguments
/// (one run a line, `|` after each) to `mint.log`; on stderr it says which
/// run it is and quotes the token it prints.
fn minting(dir: &Path, tokens: &[String]) -> PathBuf {
    for (i, t) in tokens.iter().enumerate() {
        write_file(dir, &format!("token-{}", i + 1), t);
    }
    let d = dir.display();
    script(
        dir,
        "mint",
        &format!(
            "printf '%s|' \"$@\" >> {d}/mint.log; echo >> {d}/mint.log\n\
             n=$(wc -l < {d}/mint.log | tr -d ' ')\n\
             echo \"minting token $n\" >&2\n\
             echo \"printing $(cat {d}/token-$n)\" >&2\n\
             cat {d}/token-$n; echo"
        ),
    )
}

/// The `WebIdentityToken` of every request the stand-in got.
fn sent(sts: &StandIn) -> Vec<String> {
    sts.requests()
        .iter()
        .map(|r| r.field("WebIdentityToken").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_token_command_runs_before_every_attempt() {
    let sts = StandIn::start();
    let s = step(&sts);
    let tokens = tokens(3);
    let mint = minting(&s.dir, &tokens);
    sts.script([Reply::RetryAfter("0".into()), Reply::RetryAfter("0".into())]);
    // Quoted as a shell quotes, as CircleCI's claims are written.
    let command = format!(
        r#"{} run oidc get --claims '{{"aud": "sts.amazonaws.com"}}'"#,
        mint.display()
    );
    let out = s.run(&["--token-command", &command]);
    out.expect(0);
    assert_eq!(
        sent(&sts),
        tokens,
        "each attempt sends the token minted for it"
    );
    let log = std::fs::read_to_string(s.dir.join("mint.log")).unwrap();
    assert_eq!(
        log,
        "run|oidc|get|--claims|{\"aud\": \"sts.amazonaws.com\"}|\n".repeat(3)
    );
    // Its stderr is passed through, scrubbed of the token it printed.
    let name = mint.display().to_string();
    for n in 1..=3 {
        let line = format!("aws-oidc: {name}: minting token {n}\n");
        out.says(&line);
    }
    assert_eq!(
        out.stderr
            .matches(&format!("aws-oidc: {name}: printing <redacted>\n"))
            .count(),
        3,
        "{}",
        out.stderr
    );
    let mut secrets = secrets_of(&sts, &tokens[0]);
    for t in &tokens[1..] {
        secrets.extend(secrets_of(&sts, t));
    }
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    // The credentials are the last attempt's.
    let issued = sts.issued();
    assert_eq!(issued.len(), 1);
    assert!(s.secrets().contains(&issued[0].secret_access_key));
}

/// Kubernetes' projected token: `token` → `..data/token`, `..data` →
/// a folder of the current version, swapped in one rename when the
/// kubelet rotates it.
struct Projected {
    dir: PathBuf,
}

impl Projected {
    fn new(dir: &Path, first: &str) -> Projected {
        let p = Projected {
            dir: dir.join("serviceaccount"),
        };
        std::fs::create_dir(&p.dir).unwrap();
        p.rotate(1, first);
        std::os::unix::fs::symlink("..data/token", p.dir.join("token")).unwrap();
        p
    }

    fn rotate(&self, version: usize, token: &str) {
        let v = format!("..v{version}");
        std::fs::create_dir(self.dir.join(&v)).unwrap();
        std::fs::write(self.dir.join(&v).join("token"), token).unwrap();
        std::os::unix::fs::symlink(&v, self.dir.join("..data_tmp")).unwrap();
        std::fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
    }

    fn path(&self) -> String {
        self.dir.join("token").display().to_string()
    }
}

/// A hook that rotates the projected token to `token` (as `version`).
fn rotating(p: &Arc<Projected>, version: usize, token: &str) -> Hook {
    let (p, token) = (p.clone(), token.to_string());
    Hook(Arc::new(move || p.rotate(version, &token)))
}

#[test]
fn a_rotated_token_file_is_read_again_before_each_retry() {
    let sts = StandIn::start();
    let s = step(&sts);
    let tokens = tokens(3);
    let projected = Arc::new(Projected::new(&s.dir, &tokens[0]));
    // Each refusal arrives after the kubelet rotated the token.
    sts.script([
        Reply::Before(
            rotating(&projected, 2, &tokens[1]),
            Box::new(Reply::RetryAfter("0".into())),
        ),
        Reply::Before(
            rotating(&projected, 3, &tokens[2]),
            Box::new(Reply::RetryAfter("0".into())),
        ),
    ]);
    let s = s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &projected.path());
    let out = s.set("PLUGIN_LOG_LEVEL", "debug").run(&[]);
    out.expect(0);
    assert_eq!(sent(&sts), tokens);
    assert!(
        out.stderr.contains(&format!(
            "debug: read the token again from AWS_WEB_IDENTITY_TOKEN_FILE ({}) for attempt 3 (",
            projected.path()
        )),
        "{}",
        out.stderr
    );
    for t in &tokens {
        out.assert_hides(
            &secrets_of(&sts, t)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
}

#[test]
fn a_token_value_or_stdin_is_sent_again_as_it_was() {
    let sts = StandIn::start();
    sts.script([Reply::RetryAfter("0".into())]);
    let s = Step::harness(&sts);
    s.run(&[]).expect(0);
    assert_eq!(sent(&sts), [s.token.clone(), s.token.clone()]);
    let sts = StandIn::start();
    sts.script([Reply::RetryAfter("0".into())]);
    let s = step(&sts);
    let env: Vec<(&str, &str)> = s.env.iter().collect();
    run_with_stdin(&env, &["--token-file", "-"], Some(&s.token)).expect(0);
    assert_eq!(sent(&sts), [s.token.clone(), s.token.clone()]);
}

#[test]
fn check_runs_the_token_command_and_sends_nothing() {
    let sts = StandIn::start();
    let s = step(&sts);
    let tokens = tokens(1);
    let mint = minting(&s.dir, &tokens);
    let out = s.run(&["--check", "--token-command", &mint.display().to_string()]);
    out.expect(0);
    assert!(
        out.stdout
            .contains("token claims: iss=https://agent.buildkite.com"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("sub=organization:acme:pipeline:deploy:ref:refs/heads/main:step:mint-1"));
    assert_eq!(
        std::fs::read_to_string(s.dir.join("mint.log")).unwrap(),
        "|\n"
    );
    assert_eq!(sts.counts().0, 0);
    out.assert_hides(
        &secrets_of(&sts, &tokens[0])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn a_failing_token_command_sends_nothing_and_says_why() {
    let sts = StandIn::start();
    let s = step(&sts);
    let fail = script(
        &s.dir,
        "oidc",
        "echo 'error: POST https://agent.buildkite.com/v3/jobs/x/oidc/tokens: 403 Forbidden' >&2; exit 1",
    );
    let command = format!(
        "{} request-token --audience sts.amazonaws.com",
        fail.display()
    );
    let out = s.run(&["--token-command", &command]);
    out.expect(2);
    let name = fail.display();
    assert_eq!(
        out.stderr,
        format!(
            "aws-oidc: {name}: error: POST https://agent.buildkite.com/v3/jobs/x/oidc/tokens: 403 Forbidden\n\
             aws-oidc: error: --token-command: the token command `{name}` exited with 1 \
             (its last line on standard error: `error: POST https://agent.buildkite.com/v3/jobs/x/oidc/tokens: 403 Forbidden`); \
             check that this job may request an OIDC token; nothing was sent\n"
        )
    );
    assert_eq!(sts.counts().0, 0);
    let out = s.run(&["--token-command", "buildkite-agent oidc request-token"]);
    out.expect(127);
    assert_eq!(
        out.last_line(),
        "aws-oidc: error: --token-command: the token command `buildkite-agent` is not found in PATH; install it, or name it by its path; nothing was sent"
    );
    assert_eq!(sts.counts().0, 0);
}

#[test]
fn a_command_run_with_a_token_command_never_sees_the_token() {
    let sts = StandIn::start();
    let s = step(&sts);
    let tokens = tokens(1);
    let mint = minting(&s.dir, &tokens);
    let out = s.run(&["--token-command", &mint.display().to_string(), "--", "env"]);
    out.expect(0);
    assert!(out.stdout.contains("AWS_SESSION_TOKEN="));
    assert!(
        !out.stdout.contains(&tokens[0]),
        "the command saw the token"
    );
    out.says_not(&tokens[0]);
}

/// A token command that quotes a token on standard error without printing
/// it on standard output (it failed, or printed nothing): the lines passed
/// through and the error never show it, and a token set where the command
/// belongs is not quoted back either.
#[test]
fn a_token_a_command_only_quotes_is_never_shown() {
    let sts = StandIn::start();
    let s = step(&sts);
    let t = tokens(1).remove(0);
    for (name, body, code) in [
        (
            "fails",
            format!("echo \"error: token {t} rejected\" >&2; exit 1"),
            2,
        ),
        ("silent", format!("echo \"{t}\" >&2"), 2),
    ] {
        let mint = script(&s.dir, name, &body);
        for level in ["info", "trace"] {
            let out = s
                .env
                .clone()
                .set("PLUGIN_LOG_LEVEL", level)
                .set("PLUGIN_OIDC_TOKEN_COMMAND", &mint.display().to_string());
            let env: Vec<(&str, &str)> = out.iter().collect();
            let out = run(&env, &[]);
            out.expect(code);
            out.assert_hides(&[&t]);
            out.says("<redacted JWT>");
        }
    }
    let out = run(
        &s.env
            .clone()
            .set("PLUGIN_OIDC_TOKEN_COMMAND", &t)
            .iter()
            .collect::<Vec<_>>(),
        &[],
    );
    out.expect(127);
    out.assert_hides(&[&t]);
    assert!(
        out.last_line().contains("<a JWT-shaped value, "),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts().0, 0);
}

/// A token command stopped at the timeout is stopped with whatever it
/// started: nothing of it runs on after aws-oidc.
#[test]
fn a_token_command_stopped_at_the_timeout_leaves_nothing_running() {
    let sts = StandIn::start();
    let s = step(&sts);
    let pid_file = s.dir.join("grandchild.pid");
    let hang = script(
        &s.dir,
        "hang",
        &format!(
            "sh -c 'echo $$ > {}; exec sleep 30' & wait",
            pid_file.display()
        ),
    );
    let env = s
        .env
        .clone()
        .set("PLUGIN_TIMEOUT", "1")
        .set("PLUGIN_OIDC_TOKEN_COMMAND", &hang.display().to_string());
    let out = run(&env.iter().collect::<Vec<_>>(), &[]);
    out.expect(4);
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    // Killed before aws-oidc ended: gone, or a zombie not yet reaped.
    let state = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().unwrap_or("").trim().chars().next())
            .unwrap_or(None)
    };
    let mut st = state(&pid);
    for _ in 0..100 {
        if matches!(st, None | Some('Z') | Some('X')) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        st = state(&pid);
    }
    assert!(
        matches!(st, None | Some('Z') | Some('X')),
        "the token command's child ran on: {st:?}"
    );
}
