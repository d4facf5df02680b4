//! Formats and destinations: credential_process's shape, masking, stdout and
//! output files, and what a run interrupted leaves.

use std::process::Command;

use crate::support::*;

/// credential-process credentials of 15 minutes or less are due for an SDK
/// refresh as they arrive: the run warns once, names the duration as set
/// and suggests a longer one and --cache, and still writes them (issue 18).
/// Chained, the same; 16 minutes is quiet.
#[test]
fn credential_process_with_a_duration_of_15m_or_less_is_warned_about() {
    let sts = StandIn::start();
    let mut env = reach(&sts);
    env.extend([
        ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
        ("PLUGIN_OIDC_TOKEN".to_string(), harness_token()),
    ]);
    let warning = "so every API call will run aws-oidc and STS again";
    let chain = ["--chain-role-arn", "arn:aws:iam::210987654321:role/deploy"];
    for (duration, chained, warned) in [
        ("15m", false, true),
        ("900", true, true),
        ("16m", false, false),
        ("16m", true, false),
    ] {
        let mut args = vec!["--format", "credential-process", "--duration", duration];
        if chained {
            args.extend(chain);
        }
        let out = run_env(&env, &args, None);
        out.expect(0);
        assert!(out.stdout.starts_with("{\"Version\":1,"), "{duration}");
        let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains(warning)).collect();
        match warned {
            true => {
                let [line] = lines[..] else {
                    panic!("{duration}: one warning expected:\n{}", out.stderr)
                };
                assert!(
                    line.starts_with("aws-oidc: warning: --duration: "),
                    "{line}"
                );
                assert!(
                    line.contains(
                        "the AWS SDKs refresh credentials within 15 minutes of their expiry"
                    ),
                    "{line}"
                );
                assert!(line.contains("--cache"), "{line}");
            }
            false => assert!(lines.is_empty(), "{duration}: {}", out.stderr),
        }
    }
}

#[test]
fn credential_process_output_is_exactly_awss_shape() {
    let sts = StandIn::start();
    let mut env = reach(&sts);
    env.extend([
        ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
        ("PLUGIN_OIDC_TOKEN".to_string(), harness_token()),
    ]);
    env.push((
        "HARNESS_OUTPUT_SECRET_FILE".into(),
        "/nonexistent/never-written".into(),
    ));
    sts.fractional_seconds(true);
    let out = run_env(&env, &["--format", "credential-process"], None);
    out.expect(0);
    let i = sts.issued().pop().unwrap();
    let rfc3339 = i.expiration.replace(".123456Z", "Z");
    assert_eq!(
        out.stdout,
        format!(
            "{{\"Version\":1,\"AccessKeyId\":\"{}\",\"SecretAccessKey\":\"{}\",\"SessionToken\":\"{}\",\"Expiration\":\"{rfc3339}\"}}\n",
            i.access_key_id, i.secret_access_key, i.session_token
        )
    );
}

#[test]
fn mask_account_covers_early_errors_explicit_outputs_and_debug() {
    let sts = StandIn::start();
    // An error about another setting, before the settings are all valid.
    let out = run(
        &[
            ("PLUGIN_IAMROLEARN", ROLE),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("PLUGIN_MASK_ACCOUNT_ID", "true"),
            ("PLUGIN_POLICY_ARNS", "arn:aws:iam::123456789012:polcy/x"),
        ],
        &[],
    );
    out.expect(2);
    out.says_not(ACCOUNT);
    // An explicit output under mask holds no account or role ARNs.
    let dir = temp_dir("mask");
    let mut env = reach(&sts);
    env.extend([
        ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
        ("PLUGIN_OIDC_TOKEN".to_string(), harness_token()),
    ]);
    for format in ["dotenv", "shell", "json"] {
        let file = dir.join(format!("out.{format}"));
        let out = run_env(
            &env,
            &[
                "--mask-account-id",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
            ],
            None,
        );
        out.expect(0);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(ACCOUNT), "{format}: {text}");
        out.says_not(ACCOUNT);
        // dotenv and shell outputs carry the variables; json does not.
        assert_eq!(
            out.stderr.contains("so these are not written"),
            format == "json",
            "{}",
            out.stderr
        );
    }
    // A user:password in an endpoint URL is refused and never logged.
    let out = run(
        &[
            ("AWS_ROLE_ARN", ROLE),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("PLUGIN_STS_ENDPOINT", "https://user:hunter2@127.0.0.1:1/"),
            ("PLUGIN_LOG_LEVEL", "debug"),
        ],
        &["--check"],
    );
    out.expect(2).assert_hides(&["hunter2"]);
}

/// Runs the step with stdout sent wherever `shell` redirects it (`sh -c`,
/// the binary as `$0`), so a test can append it to a file, point it at
/// /dev/null or close it.
fn run_redirected(step: &Step, shell: &str) -> Output {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec \"$0\" {shell}"))
        .arg(bin())
        .env_clear()
        .envs(step.env.iter())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run sh");
    Output::from(out)
}

/// Stdout as the destination is compared with the other files like any
/// destination: appended to the variables file or the token file it is
/// refused, and a stdout that leads nowhere (/dev/null, or closed at start,
/// which Rust reopens on /dev/null) is refused too, before the request
/// (attack finding 7).
#[test]
fn stdout_that_is_another_file_or_nowhere_is_refused() {
    let sts = StandIn::start();
    let base = |sts: &StandIn| {
        Step::harness(sts)
            .set("PLUGIN_OUTPUT_FILE", "-")
            .unset("HARNESS_OUTPUT_SECRET_FILE")
    };
    // Refused before the request, with `says` in the error line.
    let refused = |step: &Step, shell: &str, says: &str| {
        let out = run_redirected(step, shell);
        assert_eq!(out.code, 6, "{shell}: {}", out.stderr);
        assert!(out.last_line().contains(says), "{shell}: {}", out.stderr);
    };
    let step = base(&sts);
    let vars = step.vars_file.display().to_string();
    std::fs::write(&vars, "A=1\n").unwrap();
    let said = format!("DRONE_OUTPUT ({vars}) is the same file as stdout");
    refused(&step, &format!(">> '{vars}'"), &said);
    assert_eq!(std::fs::read_to_string(&vars).unwrap(), "A=1\n");

    let step = base(&sts);
    let token = write_file(&step.dir, "token", &step.token.clone());
    let token = token.display().to_string();
    let step = step
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN_FILE", &token)
        .unset("DRONE_OUTPUT");
    let said = "is the same file as PLUGIN_OIDC_TOKEN_FILE";
    refused(&step, &format!(">> '{token}'"), said);
    assert_eq!(std::fs::read_to_string(&token).unwrap(), step.token);

    for shell in [">/dev/null", ">&-"] {
        let said = "(stdout) leads nowhere: stdout is /dev/null or was closed";
        refused(&base(&sts), shell, said);
    }
    assert_eq!(sts.requests().len(), 0);
}

/// A runner's timeout or cancel (SIGTERM, SIGINT, SIGHUP) during the
/// request ends the run by that signal and leaves no file it created
/// (attack finding 6).
#[test]
fn a_signal_during_the_request_removes_the_created_file() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let sts = StandIn::start();
        sts.script(vec![Reply::Stall]);
        // A run the signal does not end ends at the timeout instead, and
        // fails the test there rather than hang it.
        let step = Step::harness(&sts).set("PLUGIN_TIMEOUT", "20s");
        let mut child = stalled(&sts, &step, false);
        // SAFETY: kill only sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let status = child.wait().expect("wait for the binary");
        assert_eq!(status.signal(), Some(sig), "signal {sig}: {status:?}");
        assert!(
            !step.secret_file.exists(),
            "signal {sig}: the created file was left behind"
        );
    }
    // Started with SIGHUP ignored (nohup), the run keeps it ignored: it
    // goes on to its timeout (exit 4), and still removes what it created.
    let sts = StandIn::start();
    sts.script(vec![Reply::Stall]);
    let step = Step::harness(&sts).set("PLUGIN_TIMEOUT", "3s");
    let mut child = stalled(&sts, &step, true);
    // SAFETY: kill only sends a signal to the child this test started.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
    assert_eq!(sent, 0);
    let status = child.wait().expect("wait for the binary");
    assert_eq!(status.code(), Some(4), "{status:?}");
    assert!(
        !step.secret_file.exists(),
        "the created file was left behind"
    );
}

/// The binary started on `step`, once the stand-in holds its request (a
/// bounded poll): its secret file was created before the request was sent.
/// Its signals are the defaults; with `nohup`, SIGHUP is ignored from the
/// start.
fn stalled(sts: &StandIn, step: &Step, nohup: bool) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin());
    cmd.env_clear()
        .envs(step.env.iter())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // The test's own dispositions are not the child's: a runner that
    // started the suite in the background without job control ignores
    // SIGINT, which the child would keep (as it keeps nohup's SIGHUP).
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            if nohup {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("run the binary");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sts.requests().is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(sts.requests().len(), 1, "the request never came");
    assert!(step.secret_file.exists(), "not created before the request");
    child
}

#[test]
fn a_file_name_ending_in_a_backslash_is_a_file_on_unix() {
    // Only Windows reads a trailing backslash as a folder (issue 13: a
    // survivor of make mutants).
    let sts = StandIn::start();
    let s = Step::harness(&sts);
    let out = s.dir.join("creds\\");
    let s = s.set("PLUGIN_OUTPUT_FILE", &out.display().to_string());
    s.run(&[]).expect(0);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("AWS_ACCESS_KEY_ID="));
}

#[test]
fn an_output_path_through_a_file_cannot_be_checked_and_nothing_is_sent() {
    // Only "not found" means a file to create; any other failure to look
    // (here ENOTDIR) is refused as such (issue 13: a survivor of make
    // mutants).
    let sts = StandIn::start();
    let s = Step::harness(&sts);
    let plain = write_file(&s.dir, "plain", "");
    let out = plain.join("creds.env").display().to_string();
    let s = s.set("PLUGIN_OUTPUT_FILE", &out);
    let run = s.run(&[]);
    run.expect(6);
    let last = run.last_line();
    assert!(
        last.contains(&format!("({out}) cannot be checked: "))
            && last.ends_with("; nothing was sent"),
        "{last}"
    );
    assert_eq!(sts.requests().len(), 0);
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "");
}

#[test]
fn a_bare_file_name_is_created_in_the_working_folder() {
    // A name without a folder is in "."; its empty parent is not a folder
    // to check (issue 13: a survivor of make mutants).
    let sts = StandIn::start();
    let s = Step::harness(&sts).set("PLUGIN_OUTPUT_FILE", "creds.env");
    let out = Output::from(
        Command::new(bin())
            .env_clear()
            .envs(s.env.iter())
            .current_dir(&s.dir)
            .output()
            .unwrap(),
    );
    out.expect(0);
    assert!(std::fs::read_to_string(s.dir.join("creds.env"))
        .unwrap()
        .contains("AWS_ACCESS_KEY_ID="));
}

#[test]
fn a_file_that_cannot_be_created_says_why_and_what_to_check() {
    // /proc takes no new files, even from root, which every other
    // "cannot write" case depends on not being (issue 13: a survivor of
    // make mutants blanked this message unseen).
    let sts = StandIn::start();
    let out = Step::harness(&sts)
        .set("PLUGIN_OUTPUT_FILE", "/proc/aws-oidc-creds.env")
        .run(&[]);
    out.expect(6);
    let last = out.last_line();
    assert!(
        last.contains("(/proc/aws-oidc-creds.env) cannot be created: ")
            && last
                .ends_with("; check the path and that this step may write there; nothing was sent"),
        "{last}"
    );
    assert_eq!(sts.requests().len(), 0);
}

#[test]
fn stdout_on_a_device_other_than_dev_null_is_written_to() {
    // Only /dev/null (1,3) is "nowhere": stdout on /dev/full is a stream,
    // so STS is asked and the failed write is the error (issue 13: a
    // survivor of make mutants took every device for /dev/null).
    let sts = StandIn::start();
    let s = Step::harness(&sts);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(bin())
        .env_clear()
        .envs(s.env.iter())
        .args(["--output", "-"])
        .stdout(full)
        .output()
        .unwrap();
    let out = Output::from(out);
    out.expect(6);
    out.says_not("leads nowhere");
    assert_eq!(sts.requests().len(), 1);
}
