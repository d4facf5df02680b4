//! A Harness plugin step end to end: what it writes, under which spellings,
//! at which log level, and how a refusal or a bad setting ends it.

use super::*;

#[test]
fn harness_step_without_duration_writes_exactly_the_three_credentials() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(0);
    assert_eq!(
        out.stdout, "",
        "credentials never go to stdout unless asked"
    );

    let reqs = sts.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("aws-oidc/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let fields: Vec<(&str, &str)> = r
        .form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE),
            ("RoleSessionName", "harness-aws-oidc"),
            ("WebIdentityToken", step.token.as_str()),
        ],
        "no DurationSeconds when duration is left out"
    );

    let issued = &sts.issued()[0];
    assert_lines(
        &step.secrets(),
        &[
            ("AWS_ACCESS_KEY_ID", &issued.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &issued.secret_access_key),
            ("AWS_SESSION_TOKEN", &issued.session_token),
        ],
    );
    assert_eq!(mode(&step.secret_file), 0o600);
    assert_eq!(mode(&step.vars_file), 0o600);
    assert_lines(
        &step.vars(),
        &[
            ("AWS_CREDENTIAL_EXPIRATION", &issued.expiration),
            ("AWS_ACCOUNT_ID", ACCOUNT),
            ("AWS_ASSUMED_ROLE_ARN", &issued.assumed_role_arn),
            ("AWS_OIDC_ROLE_ARN", ROLE),
        ],
    );

    // The info log: what is assumed, the result, and the expressions to map.
    out.says(&format!(
        "assuming {ROLE} as session harness-aws-oidc via {}/",
        sts.url()
    ));
    out.says(&format!(
        "assumed {} until {}",
        issued.assumed_role_arn, issued.expiration
    ));
    assert!(
        out.stderr.contains(
            "AWS_SESSION_TOKEN: <+steps.<step_id>.output.outputVariables.AWS_SESSION_TOKEN>"
        ),
        "{}",
        out.stderr
    );
    out.assert_hides(
        &secrets_of(&sts, &step.token)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn snake_case_spellings_duration_region_and_session_name() {
    let sts = StandIn::start();
    let step = Step::harness(&sts)
        .unset("PLUGIN_IAMROLEARN")
        .set("PLUGIN_IAM_ROLE_ARN", ROLE)
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN", &harness_token())
        .set("PLUGIN_ROLE_SESSION_NAME", "deploy run #42")
        .set("PLUGIN_DURATION_SECONDS", "1h")
        .set("PLUGIN_REGION", "eu-west-1");
    let out = step.run(&[]);
    out.expect(0);
    let r = &sts.requests()[0];
    assert_eq!(r.field("DurationSeconds"), Some("3600"));
    assert_eq!(r.field("RoleSessionName"), Some("deploy-run--42"));
    assert!(
        out.stderr.contains(
            "warning: PLUGIN_ROLE_SESSION_NAME: the session name has characters STS does not allow"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("using `deploy-run--42`"));
    let vars = step.vars();
    assert!(
        vars.starts_with(
            "AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\nAWS_CREDENTIAL_EXPIRATION="
        ),
        "{vars}"
    );
}

#[test]
fn durations_as_harness_users_write_them() {
    let sts = StandIn::start();
    for (value, sent) in [
        ("900", "900"),
        ("15m", "900"),
        ("3600s", "3600"),
        ("2h", "7200"),
        (" 43200 ", "43200"),
    ] {
        let step = Step::harness(&sts).set("PLUGIN_DURATION", value);
        step.run(&[]).expect(0);
        assert_eq!(
            sts.requests().last().unwrap().field("DurationSeconds"),
            Some(sent),
            "{value}"
        );
    }
}

#[test]
fn appends_to_files_the_runner_created_and_keeps_their_mode() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, "EARLIER=1\n").unwrap();
    std::fs::write(&step.vars_file, "OTHER=2\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&step.vars_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    step.run(&[]).expect(0);
    let secrets = step.secrets();
    assert!(
        secrets.starts_with("EARLIER=1\nAWS_ACCESS_KEY_ID="),
        "{secrets}"
    );
    assert_eq!(secrets.lines().count(), 4);
    assert!(step
        .vars()
        .starts_with("OTHER=2\nAWS_CREDENTIAL_EXPIRATION="));
    assert_eq!(mode(&step.vars_file), 0o644);
}

#[test]
fn no_secret_at_any_log_level() {
    let sts = StandIn::start();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret-policy-bucket/*"}]}"#;
    for level in ["error", "warn", "info", "debug", "trace", "TRACE"] {
        let step = Step::harness(&sts)
            .set("PLUGIN_LOG_LEVEL", level)
            .set("PLUGIN_REGION", "eu-west-1")
            .set("PLUGIN_POLICY", policy)
            .set(
                "HTTPS_PROXY",
                "http://proxyuser:proxy-pass-w0rd@127.0.0.1:9",
            );
        let out = step.run(&[]);
        out.expect(0);
        let mut secrets = secrets_of(&sts, &step.token);
        secrets.push(policy.to_string());
        secrets.push("secret-policy-bucket".into());
        secrets.push("proxy-pass-w0rd".into());
        out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        match level {
            "error" | "warn" => assert_eq!(out.stderr, "", "{level}"),
            "trace" | "TRACE" => assert!(
                out.stderr.contains("trace: response headers:")
                    && out.stderr.contains("WebIdentityToken=<redacted"),
                "{}",
                out.stderr
            ),
            "debug" => assert!(
                out.stderr
                    .contains("debug: token claims: iss=https://app.harness.io"),
                "{}",
                out.stderr
            ),
            _ => {}
        }
        assert_eq!(sts.requests().last().unwrap().field("Policy"), Some(policy));
    }
}

#[test]
fn sts_refusal_exits_3_with_code_message_request_id_and_writes_nothing() {
    let sts = StandIn::start();
    sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
    )]);
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(3);
    let line = out.last_line();
    assert!(line.starts_with("aws-oidc: error: STS refused AssumeRoleWithWebIdentity (HTTP 403): AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (RequestId "), "{line}");
    assert!(line.contains("iss=https://app.harness.io/ng/api/oidc/account/acc123 aud=sts.amazonaws.com sub=account/acc123:org/default:project/ci:pipeline/deploy"), "{line}");
    assert!(
        line.contains("oidc-provider/app.harness.io/ng/api/oidc/account/acc123"),
        "{line}"
    );
    assert_eq!(sts.requests().len(), 1, "AccessDenied is not retried");
    assert_eq!(
        (step.secrets(), step.vars()),
        (String::new(), String::new())
    );
    out.assert_hides(&[&step.token]);
}

#[test]
fn unreachable_endpoint_exits_4() {
    let port = closed_port();
    let sts = StandIn::start();
    let step = Step::harness(&sts)
        .set("PLUGIN_STS_ENDPOINT", &format!("https://127.0.0.1:{port}"))
        .set("PLUGIN_MAX_ATTEMPTS", "2");
    let out = step.run(&[]);
    out.expect(4);
    assert!(
        out.last_line()
            .contains("cannot reach 127.0.0.1: connection refused"),
        "{}",
        out.stderr
    );
    out.says("attempt 1 of 2 failed: connection refused; retrying");
    assert_eq!(step.secrets(), "");
}

#[test]
fn an_html_page_instead_of_sts_exits_5() {
    let sts = StandIn::start();
    let page = fixture("proxy-page.html");
    sts.script([Reply::Raw(200, "text/html", page)]);
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(5);
    let line = out.last_line();
    assert!(
        line.contains("answered HTTP 200 (text/html) that is not an STS answer"),
        "{line}"
    );
    assert!(
        line.contains("first bytes: `<!DOCTYPE html> <html><head><title>Access blocked"),
        "{line}"
    );
    assert!(!line.contains("QWxhZGRpbjpvcGVu"), "{line}");
    assert_eq!(step.secrets(), "");
}

#[test]
fn without_the_secret_file_it_refuses_before_any_request() {
    let sts = StandIn::start();
    let step = Step::harness(&sts).unset("HARNESS_OUTPUT_SECRET_FILE");
    let out = step.run(&[]);
    out.expect(6);
    assert!(
        out.last_line()
            .contains("HARNESS_OUTPUT_SECRET_FILE is not set"),
        "{}",
        out.stderr
    );
    assert!(out.last_line().contains("CI_ENABLE_OUTPUT_SECRETS"));
    assert!(sts.requests().is_empty());
    assert_eq!(step.vars(), "");
}

#[test]
fn mask_account_keeps_the_account_out_of_logs_and_variables() {
    let sts = StandIn::start();
    let step = Step::harness(&sts)
        .set("PLUGIN_MASK_ACCOUNT_ID", "true")
        .set("PLUGIN_LOG_LEVEL", "debug");
    let out = step.run(&[]);
    out.expect(0);
    out.says_not(ACCOUNT);
    out.says("arn:aws:iam::************:role/harness-ci");
    let secrets = step.secrets();
    assert_eq!(secrets.lines().count(), 6);
    assert!(secrets.contains(&format!("AWS_ACCOUNT_ID={ACCOUNT}\n")));
    assert!(secrets.contains(&format!("AWS_OIDC_ROLE_ARN={ROLE}\n")));
    let vars = step.vars();
    assert!(
        !vars.contains(ACCOUNT) && vars.starts_with("AWS_CREDENTIAL_EXPIRATION="),
        "{vars}"
    );
    // A refusal is masked too.
    sts.script([Reply::Error(
        403,
        "AccessDenied",
        format!("User arn:aws:sts::{ACCOUNT}:x is not authorized"),
    )]);
    let out = step.run(&[]);
    out.expect(3);
    out.says_not(ACCOUNT);
}

/// `maskAccountId: true` in a Harness step's settings arrives as
/// `PLUGIN_MASKACCOUNTID`, upper-cased with its words joined: it masks the
/// account as `PLUGIN_MASK_ACCOUNT_ID` does, with no typo warning (issue 18).
#[test]
fn mask_account_id_written_in_camel_case_masks_the_account() {
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_MASKACCOUNTID", "true");
    let out = step.run(&[]);
    out.expect(0);
    out.says_not(ACCOUNT);
    out.says_not("PLUGIN_MASKACCOUNTID");
    out.says("arn:aws:iam::************:role/harness-ci");
    let vars = step.vars();
    assert!(!vars.contains(ACCOUNT), "{vars}");
    assert!(step
        .secrets()
        .contains(&format!("AWS_ACCOUNT_ID={ACCOUNT}\n")));
}

/// STS refusing the duration gets a hint naming the setting as it was
/// written, a flag or whichever env spelling (issue 18).
#[test]
fn the_duration_hint_names_the_setting_as_it_was_written() {
    let sts = StandIn::start();
    sts.max_session(3600);
    let by_flag = (Step::harness(&sts), &["--duration", "2h"][..], "--duration");
    let by_env = Step::harness(&sts).set("PLUGIN_DURATION_SECONDS", "7200");
    for (step, args, named) in [by_flag, (by_env, &[][..], "PLUGIN_DURATION_SECONDS")] {
        let out = step.run(args);
        out.expect(3);
        let line = out.last_line();
        assert!(line.contains("ValidationError"), "{line}");
        assert!(
            line.contains(&format!(
                "; the duration ({named}) must not exceed the role's maximum session duration"
            )),
            "{named}: {line}"
        );
        assert!(!line.contains("PLUGIN_DURATION)"), "{line}");
    }
}

/// A Harness step with no region writes no AWS_REGION, which the README's
/// later steps map: the run warns once, and says what to set (issue 18).
#[test]
fn a_step_without_a_region_warns_that_aws_region_is_not_written() {
    let sts = StandIn::start();
    let warning = "no region is set, so AWS_REGION and AWS_DEFAULT_REGION are not written; \
                   set PLUGIN_REGION if later steps map them";
    for (step, warned) in [
        (Step::harness(&sts), true),
        (Step::harness(&sts).unset("DRONE_OUTPUT"), true),
        (Step::harness(&sts).set("PLUGIN_REGION", "eu-west-1"), false),
        (
            Step::harness(&sts).set("AWS_DEFAULT_REGION", "eu-west-1"),
            false,
        ),
    ] {
        let out = step.run(&[]);
        out.expect(0);
        let count = out
            .stderr
            .matches("AWS_DEFAULT_REGION are not written")
            .count();
        assert_eq!(count, usize::from(warned), "{}", out.stderr);
        if warned {
            out.says(&format!("aws-oidc: warning: {warning}\n"));
            assert!(!step.vars().contains("AWS_REGION"), "{}", step.vars());
        }
    }
    // Writing only to an explicit output, not the runner's files: no warning.
    let out = Step::harness(&sts)
        .unset("DRONE_OUTPUT")
        .unset("HARNESS_OUTPUT_SECRET_FILE")
        .run(&["--output", "-"]);
    out.expect(0);
    out.says_not("are not written");
    // aws-global is the global endpoint, not a region later steps can use.
    let out = Step::harness(&sts)
        .set("PLUGIN_REGION", "aws-global")
        .run(&[]);
    out.expect(0);
    out.says("warning: the region aws-global (from PLUGIN_REGION) names the global endpoint, not a region, so AWS_REGION and AWS_DEFAULT_REGION are not written");
}

#[test]
fn credentials_close_to_expiry_are_written_with_a_warning() {
    let sts = StandIn::start();
    sts.script([Reply::StsExpiringIn(120)]);
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(0);
    out.says("warning: the credentials expire at");
    // How far ahead depends on how long the run took: any span up to the
    // 2 minutes the stand-in gave is right.
    let ahead = out
        .stderr
        .split("only ")
        .nth(1)
        .and_then(|rest| rest.split(" ahead").next())
        .and_then(|span| {
            let (m, s) = span.split_once("m ").unwrap_or(("0", span));
            Some(m.parse::<u32>().ok()? * 60 + s.strip_suffix('s')?.parse::<u32>().ok()?)
        });
    assert!(ahead.is_some_and(|secs| secs <= 120), "{}", out.stderr);
    assert_eq!(step.secrets().lines().count(), 3);
    sts.script([Reply::StsExpiringIn(-30)]);
    let out = Step::harness(&sts).run(&[]);
    out.expect(0);
    assert!(
        out.stderr
            .contains("in the past); check the runner's clock")
            && out.stderr.contains("s ago);"),
        "{}",
        out.stderr
    );
}

#[test]
fn other_servers_shapes_one_line_and_fractional_seconds() {
    let sts = StandIn::start();
    sts.one_line(true);
    sts.fractional_seconds(true);
    let step = Step::harness(&sts);
    step.run(&[]).expect(0);
    let issued = &sts.issued()[0];
    assert!(issued.expiration.ends_with(".123456Z"));
    assert!(step.vars().contains(&format!(
        "AWS_CREDENTIAL_EXPIRATION={}\n",
        issued.expiration
    )));
}

#[test]
fn every_role_and_token_spelling_reaches_sts() {
    let sts = StandIn::start();
    for name in [
        "PLUGIN_IAMROLEARN",
        "PLUGIN_IAM_ROLE_ARN",
        "PLUGIN_ROLE_ARN",
        "PLUGIN_ROLEARN",
        "AWS_ROLE_ARN",
    ] {
        Step::harness(&sts)
            .unset("PLUGIN_IAMROLEARN")
            .set(name, ROLE)
            .run(&[])
            .expect(0);
        assert_eq!(
            sts.requests().last().unwrap().field("RoleArn"),
            Some(ROLE),
            "{name}"
        );
    }
    for name in [
        "PLUGIN_OIDC_TOKEN_ID",
        "PLUGIN_OIDCTOKENID",
        "PLUGIN_OIDC_TOKEN",
    ] {
        let token = format!("{}-{name}", harness_token());
        Step::harness(&sts)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set(name, &token)
            .run(&[])
            .expect(0);
        assert_eq!(
            sts.requests().last().unwrap().field("WebIdentityToken"),
            Some(token.as_str()),
            "{name}"
        );
    }
}

#[test]
fn bad_settings_stop_before_any_request() {
    let sts = StandIn::start();
    let cases = [
        (
            "PLUGIN_IAMROLEARN",
            "arn:aws:iam::123:role/x",
            "PLUGIN_IAMROLEARN: account `123` is not 12 digits",
        ),
        (
            "PLUGIN_DURATION",
            "30",
            "PLUGIN_DURATION: 30 seconds is outside 900-43200",
        ),
        (
            "PLUGIN_REGION",
            "Europe",
            "PLUGIN_REGION: `Europe` is not a region",
        ),
        (
            "PLUGIN_FIPS",
            "perhaps",
            "PLUGIN_FIPS: `perhaps` is not a boolean",
        ),
        (
            "PLUGIN_OIDC_TOKEN_ID",
            "ab",
            "PLUGIN_OIDC_TOKEN_ID: the token is 2 chars",
        ),
        (
            "HTTPS_PROXY",
            "socks5://127.0.0.1:1080",
            "HTTPS_PROXY: socks5 proxies are not supported",
        ),
    ];
    for (key, value, want) in cases {
        let step = Step::harness(&sts).set(key, value);
        let out = step.run(&[]);
        out.expect(2);
        assert!(
            out.last_line()
                .starts_with(&format!("aws-oidc: error: {want}")),
            "{key}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        assert_eq!(
            (step.secrets(), step.vars()),
            (String::new(), String::new())
        );
    }
    assert!(sts.requests().is_empty());
}
