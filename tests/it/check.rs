//! `--check`: what it validates and shows without sending, and that it exits
//! as the run would.

use std::process::Command;

use crate::support::*;

#[test]
fn check_validates_and_shows_the_request_without_sending() {
    let sts = StandIn::start();
    let token = harness_token();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let out = run(
        &[("PLUGIN_OIDC_TOKEN", &token), ("PLUGIN_POLICY", policy)],
        &[
            "--check",
            "--role-arn",
            ROLE,
            "--region=eu-central-1",
            "--duration",
            "15m",
            "--policy-arns",
            "arn:aws:iam::aws:policy/ReadOnlyAccess,arn:aws:iam::123456789012:policy/deploy",
            "--output",
            "-",
        ],
    );
    out.expect(0).assert_hides(&[&token, policy]);
    for line in [
        "endpoint: https://sts.eu-central-1.amazonaws.com/",
        "proxy: none",
        "  Action=AssumeRoleWithWebIdentity",
        &format!("  RoleArn={ROLE}"),
        "  RoleSessionName=harness-aws-oidc",
        "  DurationSeconds=900",
        "  PolicyArns.member.1.arn=arn:aws:iam::aws:policy/ReadOnlyAccess",
        "  PolicyArns.member.2.arn=arn:aws:iam::123456789012:policy/deploy",
        "token claims: iss=https://app.harness.io/ng/api/oidc/account/acc123 aud=sts.amazonaws.com",
        "credentials: stdout (from --output / PLUGIN_OUTPUT_FILE, dotenv)",
        "settings are valid; nothing was sent",
    ] {
        assert!(
            out.stdout.contains(line),
            "--check lacks {line:?}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains(&format!(
        "  WebIdentityToken=<redacted, {} chars>",
        token.len()
    )));
    assert!(out
        .stdout
        .contains(&format!("  Policy=<redacted, {} chars>", policy.len())));
    assert_eq!(out.stderr, "");
    assert!(sts.requests().is_empty());
    // Nowhere to write is exit 6 under --check too, as in a real run.
    let out = run(
        &[("PLUGIN_OIDC_TOKEN", &token)],
        &["--check", "--role-arn", ROLE],
    );
    out.expect(6);
    assert!(
        out.last_line()
            .starts_with("aws-oidc: error: nowhere to write the credentials"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    // A bad setting under --check is exit 2.
    run(
        &[("PLUGIN_OIDC_TOKEN", &token)],
        &["--check", "--role-arn", ROLE, "--duration", "1m"],
    )
    .expect(2);
}

/// Runs the binary as user nobody when the tests run as root (so that
/// permissions bite), else as this user.
fn run_as_other(step: &Step, args: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = match root {
        true => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(bin());
            c
        }
        false => Command::new(bin()),
    };
    let out = cmd
        .args(args)
        .env_clear()
        .envs(step.env.iter())
        .output()
        .expect("run the binary");
    Output::from(out)
}

/// `--check` exits with the code the run would have (attack finding 5):
/// each row runs both and compares.
#[test]
fn check_exits_as_the_run_would() {
    use std::os::unix::fs::PermissionsExt;
    let sts = StandIn::start();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let step = || {
        let s = Step::harness(&sts)
            .unset("HARNESS_OUTPUT_SECRET_FILE")
            .unset("DRONE_OUTPUT");
        // Readable by nobody too.
        let ca = write_file(
            &s.dir,
            "ca.pem",
            &std::fs::read_to_string(sts.ca()).unwrap(),
        );
        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
        if root {
            // Nobody may create files in the folder, as this user would.
            std::os::unix::fs::chown(&s.dir, Some(65534), Some(65534)).unwrap();
        }
        let ca = ca.display().to_string();
        s.set("PLUGIN_CA_BUNDLE", &ca)
    };
    fn at(s: &Step, name: &str) -> String {
        s.dir.join(name).display().to_string()
    }
    type Row = (&'static str, i32, Box<dyn Fn(Step) -> Step>);
    let rows: Vec<Row> = vec![
        (
            "a directory this user cannot write",
            6,
            Box::new(|s| {
                let ro = s.dir.join("ro");
                std::fs::create_dir(&ro).unwrap();
                std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
                let out = at(&s, "ro/o");
                s.set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
        (
            "an own file this user cannot write",
            6,
            Box::new(move |s| {
                let f = write_file(&s.dir, "mine", "");
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
                if root {
                    std::os::unix::fs::chown(&f, Some(65534), Some(65534)).unwrap();
                }
                let out = f.display().to_string();
                s.set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
        (
            "a new name ending in /",
            6,
            Box::new(|s| {
                let out = at(&s, "new/");
                s.set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
        (
            "a file named with a trailing /",
            6,
            Box::new(|s| {
                let out = format!("{}/", write_file(&s.dir, "f", "").display());
                s.set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
        (
            "the token file, not there yet",
            6,
            Box::new(|s| {
                let out = at(&s, "token");
                s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &out)
                    .set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
        (
            "a proxy password that is not UTF-8",
            2,
            Box::new(|s| {
                let out = at(&s, "out.env");
                s.set(
                    "HTTPS_PROXY",
                    &format!("http://u:%ff@127.0.0.1:{}", closed_port()),
                )
                .set(
                    "PLUGIN_STS_ENDPOINT",
                    &format!("https://{}:1", standin::PROXY_ONLY_HOST),
                )
                .set("PLUGIN_OUTPUT_FILE", &out)
            }),
        ),
    ];
    if !root {
        println!("not root: the permission rows run as this user, not as nobody");
    }
    for (name, code, setup) in &rows {
        let check = run_as_other(&setup(step()), &["--check"]);
        let s = setup(step());
        let run = run_as_other(&s, &[]);
        assert_eq!(
            (check.code, run.code),
            (*code, *code),
            "{name}\n--check: {}\nrun: {}",
            check.stderr,
            run.stderr
        );
        assert!(
            check.last_line().starts_with("aws-oidc: error: "),
            "{name}: {}",
            check.stderr
        );
    }
    assert_eq!(sts.requests().len(), 0);
}
