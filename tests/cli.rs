//! Direct use of the binary: flags, token sources, formats, and the README's
//! worked examples, each handed to the consumer it names where that
//! consumer runs here (sh, a JSON parser, botocore's credential_process).

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// The env and flags every example needs to reach the stand-in instead of AWS.
fn reach(sts: &StandIn) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL_STS".into(), sts.url()),
        ("AWS_CA_BUNDLE".into(), sts.ca().display().to_string()),
    ]
}

fn run_env(env: &[(String, String)], args: &[&str], stdin: Option<&str>) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_with_stdin(&env, args, stdin)
}

fn sh(script: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn help_lists_every_setting_with_env_names_defaults_and_values() {
    let out = run(&[], &["--help"]);
    out.expect(0);
    for needle in [
        "--role-arn",
        "PLUGIN_IAMROLEARN, PLUGIN_IAM_ROLE_ARN, PLUGIN_ROLE_ARN, PLUGIN_ROLEARN, AWS_ROLE_ARN",
        "--token-file",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "--session-name",
        "default: harness-aws-oidc",
        "--duration",
        "900-43200",
        "--region",
        "--endpoint",
        "AWS_ENDPOINT_URL_STS",
        "--fips",
        "--dualstack",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "--ca-bundle",
        "SSL_CERT_FILE",
        "--policy",
        "--policy-arns",
        "--timeout",
        "default: 60s",
        "--max-attempts",
        "default: none: retry until the timeout; accepts: 1-1000",
        "--log-level",
        "error, warn, info, debug, trace",
        "HARNESS_OUTPUT_SECRET_FILE",
        "DRONE_OUTPUT, HARNESS_OUTPUT_FILE",
        "--output",
        "--format",
        "dotenv, shell, json, credential-process",
        "--mask-account-id",
        "HTTPS_PROXY",
        "NO_PROXY",
        "--check",
        "process lists",
    ] {
        assert!(
            out.stdout.contains(needle),
            "--help lacks {needle:?}:\n{}",
            out.stdout
        );
    }
    assert_eq!(out.stderr, "");
    let v = run(&[], &["--version"]);
    assert_eq!(
        v.expect(0).stdout,
        concat!("aws-oidc ", env!("CARGO_PKG_VERSION"), "\n")
    );
}

#[test]
fn usage_errors_name_the_flag() {
    for (args, want) in [
        (&["--nope"][..], "unknown flag `--nope`"),
        (&["--role-arn"][..], "flag `--role-arn` needs a value"),
        (
            &["--region", "--check"][..],
            "flag `--region` needs a value",
        ),
        (&["stray"][..], "unexpected argument in position 1"),
    ] {
        let out = run(&[], args);
        out.expect(2);
        assert!(out.last_line().contains(want), "{args:?}: {}", out.stderr);
    }
}

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

#[test]
fn flags_win_over_env_and_both_flag_forms_work() {
    let sts = StandIn::start();
    let dir = standin::temp_dir("flags");
    let out_file = dir.join("creds.env");
    let mut env = reach(&sts);
    env.extend([
        (
            "PLUGIN_IAMROLEARN".to_string(),
            "arn:aws:iam::999999999999:role/from-env".to_string(),
        ),
        ("PLUGIN_OIDC_TOKEN_ID".to_string(), harness_token()),
        (
            "PLUGIN_ROLE_SESSION_NAME".to_string(),
            "from-env".to_string(),
        ),
    ]);
    let out = run_env(
        &env,
        &[
            "--role-arn",
            ROLE,
            "--session-name=from-flag",
            "--output",
            out_file.to_str().unwrap(),
            "--duration=2h",
            "--max-attempts",
            "1",
        ],
        None,
    );
    out.expect(0);
    let r = sts.requests().pop().unwrap();
    assert_eq!(r.field("RoleArn"), Some(ROLE));
    assert_eq!(r.field("RoleSessionName"), Some("from-flag"));
    assert_eq!(r.field("DurationSeconds"), Some("7200"));
    assert_eq!(mode(&out_file), 0o600);
}

#[test]
fn token_from_stdin_and_unreadable_files() {
    let sts = StandIn::start();
    let token = harness_token();
    let mut env = reach(&sts);
    env.push(("AWS_ROLE_ARN".into(), ROLE.into()));
    let out = run_env(
        &env,
        &["--token-file", "-", "--output", "-", "--format", "json"],
        Some(&format!("{token}\n")),
    );
    out.expect(0);
    assert_eq!(
        sts.requests().pop().unwrap().field("WebIdentityToken"),
        Some(token.as_str())
    );
    let out = run_env(&env, &["--token-file", "-", "--output", "-"], Some("  \n"));
    out.expect(2);
    assert_eq!(
        out.last_line(),
        "aws-oidc: error: --token-file: - is empty; it should hold the OIDC token"
    );
    let out = run_env(
        &env,
        &["--token-file", "/nonexistent/token", "--output", "-"],
        None,
    );
    out.expect(2);
    assert!(
        out.last_line()
            .contains("--token-file: cannot read /nonexistent/token: no such file"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn session_policies_reach_sts() {
    let sts = StandIn::start();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let mut env = reach(&sts);
    env.extend([
        ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
        ("PLUGIN_OIDC_TOKEN".to_string(), harness_token()),
        ("PLUGIN_POLICY".to_string(), policy.to_string()),
        ("PLUGIN_POLICYARNS".to_string(), "arn:aws:iam::aws:policy/ReadOnlyAccess\narn:aws:iam::123456789012:policy/a,arn:aws:iam::123456789012:policy/b".to_string()),
    ]);
    let out = run_env(&env, &["--output", "-"], None);
    out.expect(0).assert_hides(&[policy]);
    let r = sts.requests().pop().unwrap();
    assert_eq!(r.field("Policy"), Some(policy));
    assert_eq!(
        r.field("PolicyArns.member.1.arn"),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
    );
    assert_eq!(
        r.field("PolicyArns.member.3.arn"),
        Some("arn:aws:iam::123456789012:policy/b")
    );
    assert_eq!(r.field("PolicyArns.member.4.arn"), None);
    let eleven = ["arn:aws:iam::aws:policy/ReadOnlyAccess"; 11].join(",");
    env.push(("PLUGIN_POLICY_ARNS".into(), eleven));
    run_env(&env, &["--output", "-"], None).expect(2);
}

/// README "Drone and Woodpecker": a shell file outside the checkout, read
/// by a later step's `sh`, then removed.
#[test]
fn readme_drone_shell_file_is_sourced_by_sh() {
    let sts = StandIn::start();
    let workspace = standin::temp_dir("drone");
    let file = workspace.join("aws-oidc.env");
    let mut env = reach(&sts);
    env.extend([
        ("PLUGIN_ROLE_ARN".to_string(), ROLE.to_string()),
        ("PLUGIN_OIDC_TOKEN".to_string(), harness_token()),
        ("PLUGIN_REGION".to_string(), "us-west-2".to_string()),
        ("PLUGIN_OUTPUT_FILE".to_string(), file.display().to_string()),
        ("PLUGIN_OUTPUT_FORMAT".to_string(), "shell".to_string()),
    ]);
    run_env(&env, &[], None).expect(0);
    assert_eq!(mode(&file), 0o600);
    let issued = sts.issued().pop().unwrap();
    let got = sh(
        r#". "$F" && printf '%s\n%s\n%s\n%s\n%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_REGION" "$AWS_CREDENTIAL_EXPIRATION" && rm -f "$F""#,
        &[("F", file.to_str().unwrap())],
    );
    assert_eq!(
        got,
        format!(
            "{}\n{}\n{}\nus-west-2\n{}\n",
            issued.access_key_id, issued.secret_access_key, issued.session_token, issued.expiration
        )
    );
    assert!(!file.exists());
}

/// README "GitLab CI": the id_token in a variable, a dotenv file, and the
/// eval form for use in the same job.
#[test]
fn readme_gitlab_dotenv_and_eval() {
    let sts = StandIn::start();
    let dir = standin::temp_dir("gitlab");
    let token = jwt(
        "https://gitlab.com",
        "sts.amazonaws.com",
        "project_path:group/app:ref_type:branch:ref:main",
        now() + 300,
    );
    let mut env = reach(&sts);
    env.extend([
        ("GITLAB_OIDC_TOKEN".to_string(), token.clone()),
        ("PLUGIN_OIDC_TOKEN".to_string(), token.clone()),
    ]);
    let dotenv = dir.join("aws.env");
    let out = run_env(
        &env,
        &[
            "--role-arn",
            ROLE,
            "--session-name",
            "gitlab-123456",
            "--region",
            "eu-west-1",
            "--output",
            dotenv.to_str().unwrap(),
        ],
        None,
    );
    out.expect(0).assert_hides(&[&token]);
    let text = std::fs::read_to_string(&dotenv).unwrap();
    let keys: Vec<&str> = text.lines().map(|l| l.split_once('=').unwrap().0).collect();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_ACCOUNT_ID",
            "AWS_ASSUMED_ROLE_ARN",
            "AWS_ROLE_ARN"
        ]
    );
    // GitLab's dotenv report: single-line KEY=VALUE, names [A-Za-z0-9_], small.
    assert!(text.len() < 5 * 1024);
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap();
        assert!(k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert!(!v.contains(['"', '\'', ' ', '$', '#']));
    }
    // The same job: eval the shell form from stdout.
    let bin = bin();
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k != "PLUGIN_OIDC_TOKEN")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    vars.extend([
        ("BIN", bin.to_str().unwrap()),
        ("ROLE_ARN", ROLE),
        ("AWS_OIDC_TOKEN", token.as_str()),
        ("CI_JOB_ID", "4242"),
    ]);
    // The README's line, with $BIN for ./aws-oidc.
    let got = sh(
        r#"eval "$(PLUGIN_OIDC_TOKEN="$AWS_OIDC_TOKEN" "$BIN" --role-arn "$ROLE_ARN" --session-name "gitlab-$CI_JOB_ID" --region eu-west-1 --output - --format shell)" && printf '%s %s' "$AWS_SESSION_TOKEN" "$AWS_REGION""#,
        &vars,
    );
    assert_eq!(
        got,
        format!("{} eu-west-1", sts.issued().pop().unwrap().session_token)
    );
    assert_eq!(
        sts.requests().pop().unwrap().field("RoleSessionName"),
        Some("gitlab-4242")
    );
}

/// README "Buildkite": the token on stdin, shell exports on stdout.
#[test]
fn readme_buildkite_pipe() {
    let sts = StandIn::start();
    let token = jwt(
        "https://agent.buildkite.com",
        "sts.amazonaws.com",
        "organization:acme:pipeline:deploy:ref:refs/heads/main",
        now() + 300,
    );
    let out = run_env(
        &reach(&sts),
        &[
            "--role-arn",
            ROLE,
            "--token-file",
            "-",
            "--format",
            "shell",
            "--output",
            "-",
        ],
        Some(&token),
    );
    out.expect(0).assert_hides(&[&token]);
    let issued = sts.issued().pop().unwrap();
    let got = sh(
        &format!("{}\nprintf '%s' \"$AWS_SECRET_ACCESS_KEY\"", out.stdout),
        &[],
    );
    assert_eq!(got, issued.secret_access_key);
}

/// README "Kubernetes": the SDK's IRSA-style variables, unchanged.
#[test]
fn readme_kubernetes_token_file_env() {
    let sts = StandIn::start();
    let dir = standin::temp_dir("k8s");
    let token = jwt(
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        "sts.amazonaws.com",
        "system:serviceaccount:ci:runner",
        now() + 3600,
    );
    let token_file = standin::write_file(&dir, "token", &format!("{token}\n"));
    let mut env = reach(&sts);
    env.extend([
        ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE".to_string(),
            token_file.display().to_string(),
        ),
        (
            "AWS_ROLE_SESSION_NAME".to_string(),
            "ci-runner-pod".to_string(),
        ),
        ("AWS_REGION".to_string(), "eu-west-1".to_string()),
    ]);
    let out = run_env(&env, &["--format", "json", "--output", "-"], None);
    out.expect(0);
    let r = sts.requests().pop().unwrap();
    assert_eq!(r.field("RoleSessionName"), Some("ci-runner-pod"));
    assert_eq!(r.field("WebIdentityToken"), Some(token.as_str()));
    // A JSON parser reads the json format.
    let parsed = Command::new("python3")
        .args(["-c", "import json,sys; d=json.load(sys.stdin); print(d['AccessKeyId'], d['Expiration'], d['AssumedRoleArn'], sorted(d))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(out.stdout.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let issued = sts.issued().pop().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        format!(
            "{} {} {} ['AccessKeyId', 'AssumedRoleArn', 'Expiration', 'SecretAccessKey', 'SessionToken']",
            issued.access_key_id, issued.expiration, issued.assumed_role_arn
        )
    );
}

/// README "credential_process": botocore (the AWS SDK for Python, which
/// the AWS CLI uses) runs the binary from a profile and reads its output.
#[test]
fn readme_credential_process_profile_is_read_by_botocore() {
    let sts = StandIn::start();
    sts.fractional_seconds(true);
    let dir = standin::temp_dir("profile");
    let token_file = standin::write_file(&dir, "token", &harness_token());
    let config = standin::write_file(
        &dir,
        "config",
        &format!(
            "[profile ci]\nregion = us-east-1\ncredential_process = {} --format credential-process --role-arn {ROLE} --token-file {} --endpoint {} --ca-bundle {}\n",
            bin().display(),
            token_file.display(),
            sts.url(),
            sts.ca().display()
        ),
    );
    let script = "import botocore.session as s\n\
        c = s.Session(profile='ci').get_credentials().get_frozen_credentials()\n\
        print(c.access_key, c.secret_key, c.token)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .env_clear()
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("HOME", &dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued = sts.issued().pop().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "{} {} {}",
            issued.access_key_id, issued.secret_access_key, issued.session_token
        )
    );
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
fn flag_edge_cases_are_usage_errors_that_say_what_to_do() {
    for (args, want) in [
        (&["--role-arn="][..], "flag `--role-arn` needs a value"),
        (&["--region", ""][..], "flag `--region` needs a value"),
        (&["--check=true"][..], "flag `--check` takes no value"),
        (&["-t", "x"][..], "unknown option `-t`"),
        (
            &["--fips", "false"][..],
            "`--fips false`: boolean flags take their value with =, as in --fips=false",
        ),
    ] {
        let out = run(&[], args);
        out.expect(2);
        assert!(out.last_line().contains(want), "{args:?}: {}", out.stderr);
    }
    let help = run(&[], &["--help"]);
    assert!(
        !help.stdout.contains("default: -;"),
        "no `-` defaults that read as stdin:\n{}",
        help.stdout
    );
}

#[test]
fn misspelt_plugin_settings_are_warned_about() {
    let token = harness_token();
    let out = run(
        &[
            ("PLUGIN_IAMROLEARN", ROLE),
            ("PLUGIN_OIDCTOKEN", &token),
            ("PLUGIN_OIDC_TOKEN_ID", &token),
            ("PLUGIN_MASKACCOUNTID", "true"),
            ("PLUGIN_SOMETHING", "x"),
        ],
        &["--check", "--output", "-"],
    );
    out.expect(0).assert_hides(&[&token]);
    assert!(out.stderr.contains("warning: PLUGIN_MASKACCOUNTID is not a setting aws-oidc reads, so it is ignored; did you mean PLUGIN_MASK_ACCOUNT_ID?"), "{}", out.stderr);
    assert!(out.stderr.contains("warning: PLUGIN_OIDCTOKEN is not a setting aws-oidc reads, so it is ignored; did you mean PLUGIN_OIDC_TOKEN?"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: PLUGIN_SOMETHING is not a setting aws-oidc reads"),
        "{}",
        out.stderr
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
    assert!(!out.stderr.contains(ACCOUNT), "{}", out.stderr);
    // An explicit output under mask holds no account or role ARNs.
    let dir = standin::temp_dir("mask");
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
        assert!(!out.stderr.contains(ACCOUNT), "{}", out.stderr);
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
