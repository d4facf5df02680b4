//! The command mode (`docs/reference.md` §14), through the real binary
//! against the stand-in: `aws-oidc … -- COMMAND` gives the command the
//! credentials in its environment only, finds it before STS is asked,
//! exits with its status and passes signals on.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::*;

/// A Harness step whose outputs must stay untouched in command mode.
fn step(sts: &StandIn) -> Step {
    Step::harness(sts).set("PATH", "/usr/bin:/bin")
}

/// The variables `env` printed, one `NAME=VALUE` a line.
fn vars(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_command_gets_the_credentials_and_loses_every_other_source() {
    let sts = StandIn::start();
    let s = step(&sts)
        .set("PLUGIN_REGION", "eu-west-1")
        .set("AWS_PROFILE", "prod")
        .set("AWS_DEFAULT_PROFILE", "prod")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")
        .set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.2/v2",
        )
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc")
        .set("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE0")
        .set("AWS_SECRET_ACCESS_KEY", "stale")
        .set("AWS_SECURITY_TOKEN", "stale")
        .set("KEEP_ME", "kept");
    // The token under a name of the user's own, as `--token "$VAR"` reads it.
    let token = s.token.clone();
    let s = s.set("MY_CI_JWT", &token);
    let out = s.run(&["--", "env"]);
    out.expect(0);
    let got = vars(&out.stdout);
    let issued = sts.issued()[0].clone();
    assert_eq!(
        get(&got, "AWS_ACCESS_KEY_ID"),
        Some(issued.access_key_id.as_str())
    );
    assert_eq!(
        get(&got, "AWS_SECRET_ACCESS_KEY"),
        Some(issued.secret_access_key.as_str())
    );
    assert_eq!(
        get(&got, "AWS_SESSION_TOKEN"),
        Some(issued.session_token.as_str())
    );
    assert!(get(&got, "AWS_CREDENTIAL_EXPIRATION").is_some_and(|e| e.ends_with('Z')));
    assert_eq!(get(&got, "AWS_REGION"), Some("eu-west-1"));
    assert_eq!(get(&got, "AWS_DEFAULT_REGION"), Some("eu-west-1"));
    assert_eq!(get(&got, "KEEP_ME"), Some("kept"));
    for gone in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "PLUGIN_OIDC_TOKEN_ID",
        "MY_CI_JWT",
    ] {
        assert!(get(&got, gone).is_none(), "{gone} reached the command");
    }
    assert!(!out.stdout.contains(&token), "the command saw the token");
    // Nothing went to disk, and no secret to stderr.
    assert!(!s.secret_file.exists() && !s.vars_file.exists());
    out.assert_hides(&[&token]);
    for secret in [&issued.secret_access_key, &issued.session_token] {
        out.says_not(secret.as_str());
    }
    out.says("aws-oidc: running env with the credentials of arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc until ");
}

#[test]
fn the_aws_cli_uses_the_credentials_it_is_given() {
    let sts = StandIn::start();
    let home = temp_dir("home");
    let s = step(&sts)
        .set("PLUGIN_REGION", "us-east-1")
        .set("HOME", &home.display().to_string())
        .set("AWS_CA_BUNDLE", &sts.ca().display().to_string());
    let mut args = vec!["--".to_string()];
    args.extend(aws_caller_arn(&sts.url()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.run(&args);
    out.expect(0);
    assert_eq!(
        out.stdout.trim(),
        "arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"
    );
    // The stand-in verified the CLI's signature with the issued key.
    let issued = sts.issued()[0].clone();
    let signed = sts.signatures();
    assert_eq!(signed.len(), 1, "{signed:?}");
    assert_eq!(signed[0].access_key_id, issued.access_key_id);
}

#[test]
fn the_exit_status_is_the_commands() {
    let sts = StandIn::start();
    let s = step(&sts);
    for (script, code) in [
        ("exit 0", 0),
        ("exit 7", 7),
        ("exit 255", 255),
        ("kill -TERM $$", 143),
        ("kill -KILL $$", 137),
    ] {
        s.run(&["--", "sh", "-c", script]).expect(code);
    }
}

#[test]
fn a_command_that_cannot_run_is_refused_before_any_request() {
    let sts = StandIn::start();
    let s = step(&sts);
    let plain = write_file(&s.dir, "plain.sh", "#!/bin/sh\necho hi\n");
    let plain = plain.display().to_string();
    let folder = s.dir.display().to_string();
    for (command, code, said) in [
        ("no-such-command", 127, "the command `no-such-command` is not found in PATH; install it, or name it by its path; nothing was sent"),
        ("./no/such/path", 127, "the command `./no/such/path` does not exist; check the path; nothing was sent"),
        (plain.as_str(), 126, "is not executable by this user; make it executable (chmod +x)"),
        (folder.as_str(), 126, "is a folder, not a program"),
    ] {
        let out = s.run(&["--", command]);
        out.expect(code);
        assert!(out.last_line().contains(said), "{command}: {}", out.stderr);
    }
    let out = s.run(&["--"]);
    out.expect(2);
    assert!(out
        .last_line()
        .contains("`--` must be followed by the command"));
    assert_eq!(sts.counts().0, 0, "nothing was sent");
}

#[test]
fn a_failed_exchange_keeps_its_code_and_never_starts_the_command() {
    let sts = StandIn::start();
    let s = step(&sts);
    let marker = s.dir.join("ran");
    let touch = format!("touch {}", marker.display());
    sts.script([Reply::Error(403, "AccessDenied", "Not authorized".into())]);
    s.run(&["--", "sh", "-c", &touch]).expect(3);
    assert!(!marker.exists(), "the command ran after a refusal");
    // Settings that have no place with a command are refused, exit 2.
    let out = step(&sts)
        .set("PLUGIN_OUTPUT_FILE", "/tmp/x")
        .run(&["--", "true"]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("drop --output / PLUGIN_OUTPUT_FILE"),
        "{}",
        out.stderr
    );
    let out = step(&sts).run(&["--format", "json", "--", "true"]);
    out.expect(2);
    assert!(out
        .last_line()
        .contains("drop --format / PLUGIN_OUTPUT_FORMAT (json)"));
    assert_eq!(sts.counts().0, 1, "only the refused exchange");
}

#[test]
fn a_chained_command_gets_the_last_hops_credentials() {
    let sts = StandIn::start();
    let s = step(&sts).set(
        "PLUGIN_CHAIN_ROLE_ARN",
        "arn:aws:iam::210987654321:role/deploy",
    );
    let out = s.run(&["--verify", "--", "env"]);
    out.expect(0);
    let got = vars(&out.stdout);
    let last = sts.issued().last().unwrap().clone();
    assert_eq!(sts.issued().len(), 2);
    assert_eq!(
        get(&got, "AWS_ACCESS_KEY_ID"),
        Some(last.access_key_id.as_str())
    );
}

#[test]
fn sigterm_sigint_and_sighup_reach_the_command() {
    let sts = StandIn::start();
    let s = step(&sts);
    for (sig, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGINT, "INT"),
        (libc::SIGHUP, "HUP"),
    ] {
        let script = format!(
            "trap 'echo got {name}; exit 3' {name}; echo ready; while :; do sleep 0.05; done"
        );
        let mut child = Command::new(bin())
            .env_clear()
            .envs(s.env.iter())
            .args(["--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        // SAFETY: kill only sends the signal to the child started above.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        assert_eq!(lines.next().unwrap().unwrap(), format!("got {name}"));
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(3), "{name}");
    }
}

#[test]
fn check_shows_what_the_command_would_get_and_sends_nothing() {
    let sts = StandIn::start();
    let s = step(&sts).set("PLUGIN_REGION", "eu-west-1");
    let out = s.run(&["--check", "--", "env", "-u", "X"]);
    out.expect(0);
    let line = |start: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start} line:\n{}", out.stdout))
            .to_string()
    };
    assert_eq!(
        line("command: "),
        "command: env (/usr/bin/env), with 2 argument(s)"
    );
    assert!(line("command environment: ").starts_with(
        "command environment: sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION (from STS); removes AWS_PROFILE, "
    ));
    assert_eq!(
        line("outputs: "),
        "outputs: none (nothing is written to disk)"
    );
    assert!(out
        .stdout
        .ends_with("settings are valid; nothing was sent\n"));
    out.assert_hides(&[&s.token]);
    assert_eq!(sts.counts().0, 0);
    assert!(!Path::new(&s.secret_file).exists());
}

#[test]
fn the_command_starts_with_no_signal_blocked_and_ours_not_ignored() {
    let sts = StandIn::start();
    let out = step(&sts).run(&["--", "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]);
    out.expect(0);
    // SIGHUP, SIGINT and SIGTERM are bits 0, 1 and 14 (signal N is bit N-1).
    let ours =
        (1u64 << (libc::SIGHUP - 1)) | (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGTERM - 1));
    for line in out.stdout.lines() {
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        match line.starts_with("SigBlk") {
            true => assert_eq!(mask, 0, "{line}"),
            false => assert_eq!(mask & ours, 0, "{line}"),
        }
    }
}

/// A command running as the same user as aws-oidc cannot read the token
/// from aws-oidc's own environment (`/proc/PID/environ`, §14.1). Run as
/// nobody (uid 65534), since root reads everything.
#[test]
fn the_command_cannot_read_the_token_from_its_parent() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: running aws-oidc as nobody needs root");
        return;
    }
    let sts = StandIn::start();
    let s = step(&sts);
    let script = "cat /proc/$PPID/environ >/dev/null 2>&1 && echo readable || echo unreadable";
    let env: Vec<(&str, &str)> = s.env.iter().collect();
    let bin = bin();
    let args = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        bin.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        script,
    ];
    let out = run_binary(Path::new("/usr/bin/setpriv"), &env, &args, None);
    out.expect(0);
    assert_eq!(out.stdout.trim(), "unreadable", "{}", out.stderr);
}
