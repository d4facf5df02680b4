//! Flags, usage errors, help and misspelt settings: what the binary makes of
//! its command line and its `PLUGIN_` names.

use crate::support::*;

#[test]
fn help_lists_every_setting_with_env_names_defaults_and_values() {
    let out = run(&[], &["--help"]);
    out.expect(0);
    for needle in [
        "--role-arn",
        "PLUGIN_IAM_ROLE_ARN, PLUGIN_ROLE_ARN, PLUGIN_IAMROLEARN, PLUGIN_ROLEARN, AWS_ROLE_ARN",
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
        // A lone dash is a stray argument, not an unknown option.
        (&["-"][..], "unexpected argument in position 1"),
        (&["-x"][..], "unknown option `-x`"),
        // `true` first follows no flag at all.
        (&["true"][..], "unexpected argument in position 1"),
    ] {
        let out = run(&[], args);
        out.expect(2);
        assert!(out.last_line().contains(want), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn flags_win_over_env_and_both_flag_forms_work() {
    let sts = StandIn::start();
    let dir = temp_dir("flags");
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

/// A misspelt flag gets the nearest flag, found as a misspelt `PLUGIN_`
/// name's is (reference §1.6); still a usage error, exit 2 (issue 18).
#[test]
fn misspelt_flags_get_the_flag_they_probably_meant() {
    for (args, want) in [
        (
            &["--role-arm", ROLE][..],
            "unknown flag `--role-arm`; did you mean --role-arn?",
        ),
        (
            &["--role-arm=x"][..],
            "unknown flag `--role-arm`; did you mean --role-arn?",
        ),
        (
            &["--regoin", "eu-west-1"][..],
            "unknown flag `--regoin`; did you mean --region?",
        ),
        (
            &["--mask-account"][..],
            "unknown flag `--mask-account`; did you mean --mask-account-id?",
        ),
        (
            &["--chek"][..],
            "unknown flag `--chek`; did you mean --check?",
        ),
        (
            &["--something-else"][..],
            "unknown flag `--something-else` (see aws-oidc --help)",
        ),
    ] {
        let out = run(&[], args);
        out.expect(2);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.last_line().contains(want), "{args:?}: {}", out.stderr);
    }
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
            ("PLUGIN_OIDCTOKN", &token),
            ("PLUGIN_OIDC_TOKEN_ID", &token),
            ("PLUGIN_MASKACOUNTID", "true"),
            ("PLUGIN_MASK_ACOUNT_ID", "true"),
            ("PLUGIN_SOMETHING", "x"),
        ],
        &["--check", "--output", "-"],
    );
    out.expect(0).assert_hides(&[&token]);
    // The spelling suggested is written as the typo was: camelCase keys
    // arrive joined, snake_case keys with underscores.
    out.says("warning: PLUGIN_MASKACOUNTID is not a setting aws-oidc reads, so it is ignored; did you mean PLUGIN_MASKACCOUNTID?");
    out.says("warning: PLUGIN_MASK_ACOUNT_ID is not a setting aws-oidc reads, so it is ignored; did you mean PLUGIN_MASK_ACCOUNT_ID?");
    out.says("warning: PLUGIN_OIDCTOKN is not a setting aws-oidc reads, so it is ignored; did you mean PLUGIN_OIDCTOKEN?");
    out.says("warning: PLUGIN_SOMETHING is not a setting aws-oidc reads");
}

#[test]
fn an_unknown_flag_that_is_a_token_is_not_echoed() {
    let token = harness_token();
    for arg in [
        format!("--{token}"),
        "--opaque:SIG:abc!def-0123456789x".to_string(),
    ] {
        let out = run(&[], &[arg.as_str()]);
        out.expect(2).assert_hides(&[&arg[2..], "abc!def"]);
        assert!(
            out.last_line()
                .contains("not shown as it does not look like a flag name"),
            "{}",
            out.stderr
        );
    }
    let out = run(&[], &["--role-arm", "x"]);
    out.expect(2);
    assert!(
        out.last_line().contains("unknown flag `--role-arm`"),
        "{}",
        out.stderr
    );
    // A flag-like name of 32 characters, or one with a space (not one
    // word, so not a token), is shown; 33 are not.
    let long = format!("--{}", "a".repeat(32));
    let spaced = "--role arn".to_string();
    for arg in [&long, &spaced] {
        let out = run(&[], &[arg.as_str()]);
        out.expect(2);
        assert!(
            out.last_line().contains(&format!("unknown flag `{arg}`")),
            "{}",
            out.stderr
        );
    }
    let out = run(&[], &[&format!("--{}", "a".repeat(33))]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("unknown flag (35 characters, not shown"),
        "{}",
        out.stderr
    );
}

#[test]
fn misspelt_plugin_settings_are_warned_about_before_any_error_and_under_check() {
    let token = harness_token();
    // The misspelt role is why the role is missing: the hint comes first.
    for args in [&[][..], &["--check"][..]] {
        let out = run(
            &[("PLUGIN_ROLE_ARM", ROLE), ("PLUGIN_OIDC_TOKEN", &token)],
            args,
        );
        out.expect(2).assert_hides(&[&token]);
        let first = out.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("PLUGIN_ROLE_ARM is not a setting aws-oidc reads")
                && first.contains("did you mean PLUGIN_ROLE_ARN?"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.last_line().contains("no role ARN"), "{}", out.stderr);
    }
    // Near misses, and the names Harness's runner sets itself, under --check.
    let out = run(
        &[
            ("PLUGIN_IAM_ROLE", ROLE),
            ("PLUGIN_OIDC_TOKENID", &token),
            ("PLUGIN_REGIONS", "eu-west-1"),
            ("PLUGIN_ROLE_SESSION", "x"),
            ("PLUGIN_ARTIFACT_FILE", "/harness/step-artifact"),
            ("PLUGIN_METADATA_FILE", "/harness/step-metadata"),
        ],
        &["--check"],
    );
    out.expect(2);
    for (typed, meant) in [
        ("PLUGIN_IAM_ROLE", "PLUGIN_IAM_ROLE_ARN"),
        ("PLUGIN_OIDC_TOKENID", "PLUGIN_OIDC_TOKEN_ID"),
        ("PLUGIN_REGIONS", "PLUGIN_REGION"),
        ("PLUGIN_ROLE_SESSION", "PLUGIN_ROLE_SESSION_NAME"),
    ] {
        assert!(
            out.stderr.contains(&format!(
                "warning: {typed} is not a setting aws-oidc reads, so it is ignored; did you mean {meant}?"
            )),
            "{typed}: {}",
            out.stderr
        );
    }
    for runner_set in ["PLUGIN_ARTIFACT_FILE", "PLUGIN_METADATA_FILE"] {
        out.says_not(runner_set);
    }
}

#[test]
fn the_token_given_as_a_flag_of_another_setting_is_never_quoted() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let token = step.token.clone();
    for args in [
        vec!["--role-arn", token.as_str()],
        vec!["--region", token.as_str()],
        vec!["--policy-arns", token.as_str()],
        vec!["--session-name", token.as_str()],
    ] {
        let out = step.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.last_line().contains("a JWT-shaped value ("),
            "{args:?}: {}",
            out.stderr
        );
        out.assert_hides(
            &secrets_of(&sts, &token)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(sts.requests().len(), 0);
}

/// A setting written under its flag's name (`format:` in the step's
/// settings arrives as PLUGIN_FORMAT) gets the env name it meant, and a
/// name that is the end of a known one (`PLUGIN_ACCOUNT_ID`) is matched too.
#[test]
fn flag_named_plugin_settings_get_their_env_name() {
    let out = run(
        &[
            ("PLUGIN_ROLE_ARN", ROLE),
            ("PLUGIN_FORMAT", "json"),
            ("PLUGIN_SESSION_NAME", "deploy"),
            ("PLUGIN_TOKEN_FILE", "/nonexistent/t"),
            ("PLUGIN_TOKEN", "x"),
            ("PLUGIN_ACCOUNT_ID", "true"),
        ],
        &["--check"],
    );
    out.expect(2);
    for (typed, meant) in [
        // One word has no underscores, so its joined spelling is meant.
        ("PLUGIN_FORMAT", "PLUGIN_OUTPUTFORMAT"),
        ("PLUGIN_SESSION_NAME", "PLUGIN_ROLE_SESSION_NAME"),
        ("PLUGIN_TOKEN_FILE", "PLUGIN_OIDC_TOKEN_FILE"),
        ("PLUGIN_TOKEN", "PLUGIN_OIDCTOKEN"),
        ("PLUGIN_ACCOUNT_ID", "PLUGIN_MASK_ACCOUNT_ID"),
    ] {
        assert!(
            out.stderr.contains(&format!(
                "warning: {typed} is not a setting aws-oidc reads, so it is ignored; did you mean {meant}?"
            )),
            "{typed}: {}",
            out.stderr
        );
    }
}

#[test]
fn true_after_a_flag_that_is_not_boolean_is_a_stray_argument() {
    // Only a boolean flag's own name before `true` gets the "take their
    // value with =" advice (issue 13: a survivor of make mutants).
    for args in [&["--check", "true"][..], &["--role-arn", ROLE, "false"][..]] {
        let out = run(&[], args);
        out.expect(2);
        assert!(
            out.last_line().contains(&format!(
                "unexpected argument in position {}; aws-oidc takes only --flags",
                args.len()
            )),
            "{args:?}: {}",
            out.stderr
        );
    }
}
