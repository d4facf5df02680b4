//! The Harness plugin step, end to end: the real binary, a Harness-shaped
//! environment, the TLS STS stand-in, and the two output files.

use crate::support::*;

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

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
fn proxy_from_env_carries_the_request_and_its_password_stays_hidden() {
    let sts = StandIn::start();
    let proxy = standin::Proxy::start(sts.port);
    let step = Step::harness(&sts)
        .set(
            "PLUGIN_STS_ENDPOINT",
            &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
        )
        .set(
            "HTTPS_PROXY",
            &format!("http://ci-user:s3cret-pw@127.0.0.1:{}", proxy.port),
        )
        .set("HTTP_PROXY", "http://must-not-be-used:1")
        .set("PLUGIN_LOG_LEVEL", "trace");
    let out = step.run(&[]);
    out.expect(0);
    let connects = proxy.connects();
    assert_eq!(connects.len(), 1);
    assert_eq!(connects[0].method, "CONNECT");
    assert_eq!(
        connects[0].path,
        format!("{}:{}", standin::PROXY_ONLY_HOST, sts.port)
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("ci-user:s3cret-pw");
    assert_eq!(
        connects[0].header("proxy-authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    out.assert_hides(&["s3cret-pw", "ci-user", &basic]);
    out.says("http://***:***@127.0.0.1");

    // NO_PROXY sends it direct, where the name does not resolve: exit 4, proxy unused.
    let out = step
        .set("NO_PROXY", "localhost,.stand-in.invalid")
        .set("PLUGIN_MAX_ATTEMPTS", "1")
        .run(&[]);
    out.expect(4);
    assert!(
        out.last_line()
            .contains(&format!("cannot reach {}: ", standin::PROXY_ONLY_HOST))
            && !out.last_line().contains("through the proxy"),
        "{}",
        out.stderr
    );
    assert_eq!(proxy.connects().len(), 1);
}

#[test]
fn loopback_endpoints_never_use_the_proxy() {
    let sts = StandIn::start();
    let proxy = standin::Proxy::start(1);
    let step = Step::harness(&sts)
        .set("HTTPS_PROXY", &format!("http://127.0.0.1:{}", proxy.port))
        .set("PLUGIN_LOG_LEVEL", "debug");
    let out = step.run(&[]);
    out.expect(0);
    assert!(proxy.connects().is_empty());
    // Said at debug when a proxy is set; nothing about a proxy when none is.
    out.says("aws-oidc: debug: not using a proxy for 127.0.0.1 (loopback or NO_PROXY)\n");
    let out = step.unset("HTTPS_PROXY").run(&[]);
    out.expect(0);
    out.says_not("proxy");
}

#[test]
fn plain_http_is_allowed_on_loopback_only() {
    let sts = StandIn::with(Transport::Plain);
    let step = Step::harness(&sts).set(
        "PLUGIN_STS_ENDPOINT",
        &format!("http://localhost:{}", sts.port),
    );
    step.run(&[]).expect(0);
    assert_eq!(sts.requests().len(), 1);
    let out = step
        .set("PLUGIN_STS_ENDPOINT", "http://sts.amazonaws.com")
        .run(&[]);
    out.expect(2);
    assert!(
        out.last_line().contains(
            "PLUGIN_STS_ENDPOINT: plain http:// is allowed only for 127.0.0.1, ::1 or localhost"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(sts.requests().len(), 1);
}

#[test]
fn untrusted_certificate_names_the_host_and_the_ca_setting() {
    let sts = StandIn::with(Transport::UntrustedTls);
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(4);
    let line = out.last_line();
    assert!(
        line.contains("TLS to 127.0.0.1 failed: the server's certificate is not trusted"),
        "{line}"
    );
    assert!(line.contains("PLUGIN_CA_BUNDLE"), "{line}");
    assert!(
        !out.stderr.contains("retrying"),
        "TLS trust failures are not retried:\n{}",
        out.stderr
    );
    // Without the CA bundle the built-in roots do not know the test CA either.
    let sts = StandIn::start();
    let out = Step::harness(&sts).unset("PLUGIN_CA_BUNDLE").run(&[]);
    out.expect(4);
    assert!(
        out.last_line().contains("not trusted (unknown issuer)"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_ca_bundle_is_read_under_every_spelling() {
    let sts = StandIn::start();
    for name in ["PLUGIN_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"] {
        let step = Step::harness(&sts)
            .unset("PLUGIN_CA_BUNDLE")
            .set(name, &sts.ca().display().to_string());
        step.run(&[]).expect(0);
    }
    let dir = temp_dir("ca");
    let empty = write_file(&dir, "empty.pem", "# no certificates here\n");
    let out = Step::harness(&sts)
        .unset("PLUGIN_CA_BUNDLE")
        .set("AWS_CA_BUNDLE", &empty.display().to_string())
        .run(&[]);
    out.expect(2);
    assert!(out.last_line().contains("AWS_CA_BUNDLE:"), "{}", out.stderr);
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

/// Runs the step under this umask (through `/bin/sh`, which sets it and
/// execs the binary), so that modes are proven whatever the caller's umask.
fn run_under_umask(step: &Step, umask: &str, args: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = step.env.iter().collect();
    let script = format!("umask {umask}; exec \"$0\" \"$@\"");
    let bin = bin();
    let mut all = vec!["-c", &script, bin.to_str().unwrap()];
    all.extend(args);
    run_binary(std::path::Path::new("/bin/sh"), &env, &all, None)
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Planting files as another user needs root; without it the test says so
/// and skips that part.
fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: planting a file as user nobody needs root");
    }
    root
}

const NOBODY: u32 = 65534;

/// Writes `text` to `path` as user nobody's file with this mode.
fn plant_as_nobody(path: &std::path::Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    chmod(path, mode);
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
}

/// Asserts exit 6 before any request, with `says` in the one error line.
fn refused_before_sts(sts: &StandIn, out: &Output, says: &str) {
    out.expect(6);
    assert!(
        out.last_line().contains(says),
        "wanted {says:?}:\n{}",
        out.stderr
    );
    assert!(
        out.last_line().starts_with("aws-oidc: error: "),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty(), "STS was asked: {}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn devices_directories_and_missing_directories_are_refused_before_sts() {
    let sts = StandIn::start();
    let dir = temp_dir("dest");
    for (path, says) in [
        (
            "/dev/null".to_string(),
            "--output / PLUGIN_OUTPUT_FILE (/dev/null) is a device, not a regular file; name a regular file, or - for stdout",
        ),
        (
            dir.display().to_string(),
            "is a directory; name a file inside it",
        ),
        (
            dir.join("missing/creds.env").display().to_string(),
            "cannot be created: the directory",
        ),
    ] {
        let step = Step::harness(&sts);
        let out = step.run(&["--output", &path]);
        refused_before_sts(&sts, &out, says);
        assert!(out.last_line().contains(&path), "{}", out.stderr);
        assert!(!step.vars_file.exists() && !step.secret_file.exists());
    }
    // The variables file is held to the same rules.
    let step = Step::harness(&sts).set("DRONE_OUTPUT", "/dev/null");
    refused_before_sts(&sts, &step.run(&[]), "DRONE_OUTPUT (/dev/null) is a device");
    assert!(!step.secret_file.exists(), "a refused run left a file");
    // `/dev/stdout` means stdout, as `-` does.
    let step = Step::harness(&sts);
    let out = step.run(&["--output", "/dev/stdout"]);
    out.expect(0);
    assert!(
        out.stdout.starts_with("AWS_ACCESS_KEY_ID="),
        "{}",
        out.stdout
    );
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let sts = StandIn::start();
    let dir = temp_dir("fifo");
    let fifo = dir.join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let step = Step::harness(&sts).set("HARNESS_OUTPUT_SECRET_FILE", fifo.to_str().unwrap());
    refused_before_sts(&sts, &step.run(&[]), "HARNESS_OUTPUT_SECRET_FILE");
    let out = step.run(&["--output", fifo.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is a FIFO (named pipe), not a regular file");
}

#[test]
fn a_symlink_planted_by_another_user_is_never_followed() {
    if !root() {
        return;
    }
    use std::os::unix::fs::{lchown, symlink};
    let sts = StandIn::start();
    let shared = temp_dir("shared");
    chmod(&shared, 0o1777);
    let theirs = shared.join("theirs.env");
    plant_as_nobody(&theirs, "THEIRS=1\n", 0o666);
    let link = shared.join("aws.env");
    symlink(&theirs, &link).unwrap();
    lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    let step = Step::harness(&sts);
    let out = step.run(&["--output", link.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is a symbolic link, which is never followed");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "THEIRS=1\n");
    // The same link as Harness's secret file.
    let step = step.set("HARNESS_OUTPUT_SECRET_FILE", link.to_str().unwrap());
    refused_before_sts(&sts, &step.run(&[]), "is a symbolic link");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "THEIRS=1\n");
    // A link to a file this user owns is refused too: the name must be the file.
    let mine = write_file(&shared, "mine.env", "");
    chmod(&mine, 0o600);
    let own_link = shared.join("own-link.env");
    symlink(&mine, &own_link).unwrap();
    let out = Step::harness(&sts).run(&["--output", own_link.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "name the file itself, or remove the link");
}

#[test]
fn a_file_owned_by_another_user_is_refused_naming_the_owner() {
    if !root() {
        return;
    }
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    plant_as_nobody(&step.secret_file, "", 0o600);
    let out = step.run(&[]);
    refused_before_sts(&sts, &out, "belongs to uid 65534");
    // The owner's name from /etc/passwd, from the line with that uid
    // (issue 13: a survivor of make mutants took the first other line).
    assert!(
        out.last_line().contains("belongs to uid 65534 (nobody), "),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line().contains("not to this user (uid 0)"),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line()
            .contains(&step.secret_file.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(step.secrets(), "");
}

#[test]
fn a_file_others_can_write_is_refused_with_the_chmod_fix() {
    for mode in [0o666, 0o620, 0o602] {
        let sts = StandIn::start();
        let step = Step::harness(&sts);
        std::fs::write(&step.secret_file, "EARLIER=1\n").unwrap();
        chmod(&step.secret_file, mode);
        let out = step.run(&[]);
        let path = step.secret_file.display().to_string();
        refused_before_sts(
            &sts,
            &out,
            &format!("HARNESS_OUTPUT_SECRET_FILE ({path}) can be written by group or others (mode {mode:04o}); run chmod go-w {path}"),
        );
        assert!(out.last_line().contains("umask 0000"), "{}", out.stderr);
        assert_eq!(step.secrets(), "EARLIER=1\n");
        assert!(!step.vars_file.exists(), "a refused run left a file");
        // After the fix the same file is written.
        chmod(&step.secret_file, mode & !0o022);
        step.run(&[]).expect(0);
        assert!(step.secrets().starts_with("EARLIER=1\nAWS_ACCESS_KEY_ID="));
    }
}

#[test]
fn a_credentials_file_others_can_read_is_written_with_a_warning() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o644);
    let out = step.run(&[]);
    out.expect(0);
    let path = step.secret_file.display().to_string();
    out.says(&format!("warning: HARNESS_OUTPUT_SECRET_FILE ({path}) can be read by group or others (mode 0644); chmod go-r {path}"));
    assert_eq!(step.secrets().lines().count(), 3);
    assert_eq!(mode(&step.secret_file), 0o644);
}

#[test]
fn files_are_created_0600_under_any_umask() {
    let sts = StandIn::start();
    for umask in ["077", "022", "000"] {
        let step = Step::harness(&sts);
        run_under_umask(&step, umask, &[]).expect(0);
        assert_eq!(mode(&step.secret_file), 0o600, "umask {umask}");
        assert_eq!(mode(&step.vars_file), 0o600, "umask {umask}");
    }
}

#[test]
fn two_names_for_one_file_are_refused() {
    let sts = StandIn::start();
    // The same path as the explicit output and the variables file: the
    // secret key must never reach the variables file.
    let step = Step::harness(&sts);
    let vars = step.vars_file.display().to_string();
    let out = step.run(&["--output", &vars]);
    refused_before_sts(
        &sts,
        &out,
        &format!(
            "DRONE_OUTPUT ({vars}) is the same file as --output / PLUGIN_OUTPUT_FILE ({vars})"
        ),
    );
    assert!(
        !step.vars_file.exists(),
        "the file this run created is left"
    );
    // A hard link to the secret file as the variables file.
    let step = Step::harness(&sts).set("PLUGIN_REGION", "eu-west-1");
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o600);
    std::fs::hard_link(&step.secret_file, &step.vars_file).unwrap();
    refused_before_sts(
        &sts,
        &step.run(&[]),
        "is the same file as HARNESS_OUTPUT_SECRET_FILE",
    );
    assert_eq!(step.secrets(), "");
    // Under --check, before either exists.
    let step = Step::harness(&sts).set("PLUGIN_OUTPUT_FILE", &vars.replace("output.env", "x.env"));
    let step = step.set("DRONE_OUTPUT", &vars.replace("output.env", "x.env"));
    step.run(&["--check"]).expect(6);
}

#[test]
fn drone_output_and_harness_output_file_naming_one_file_is_one_destination() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let vars = step.vars_file.display().to_string();
    let step = step.set("HARNESS_OUTPUT_FILE", &vars);
    step.run(&[]).expect(0);
    assert_eq!(
        step.vars().matches("AWS_CREDENTIAL_EXPIRATION=").count(),
        1,
        "{}",
        step.vars()
    );
}

#[test]
fn input_files_are_never_a_destination() {
    let sts = StandIn::start();
    // The token read from the file that is also the secret file: a second
    // run would send the first run's keys as its token.
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, format!("{}\n", step.token)).unwrap();
    chmod(&step.secret_file, 0o600);
    let secret = step.secret_file.display().to_string();
    let step = step
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", &secret);
    let out = step.run(&[]);
    refused_before_sts(&sts, &out, &format!("HARNESS_OUTPUT_SECRET_FILE ({secret}) is the same file as AWS_WEB_IDENTITY_TOKEN_FILE ({secret}), which is read, never written"));
    out.assert_hides(&[&step.token]);
    assert_eq!(step.secrets(), format!("{}\n", step.token));
    // The CA bundle as the explicit output.
    let step = Step::harness(&sts);
    let before = std::fs::read_to_string(sts.ca()).unwrap();
    let out = step.run(&["--output", sts.ca().to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is the same file as PLUGIN_CA_BUNDLE");
    assert_eq!(std::fs::read_to_string(sts.ca()).unwrap(), before);
}

#[test]
fn appending_starts_on_a_new_line() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, "EXISTING=1").unwrap();
    std::fs::write(&step.vars_file, "OTHER=2").unwrap();
    chmod(&step.secret_file, 0o600);
    chmod(&step.vars_file, 0o600);
    step.run(&[]).expect(0);
    let issued = sts.issued().pop().unwrap();
    assert!(
        step.secrets().starts_with(&format!(
            "EXISTING=1\nAWS_ACCESS_KEY_ID={}\n",
            issued.access_key_id
        )),
        "{}",
        step.secrets()
    );
    assert!(
        step.vars()
            .starts_with("OTHER=2\nAWS_CREDENTIAL_EXPIRATION="),
        "{}",
        step.vars()
    );
}

#[test]
fn a_failed_run_leaves_no_file_it_created() {
    let sts = StandIn::start();
    sts.script([Reply::Error(403, "AccessDenied", "Not authorized".into())]);
    let step = Step::harness(&sts);
    step.run(&[]).expect(3);
    assert!(!step.secret_file.exists(), "the secret file is left");
    assert!(!step.vars_file.exists(), "the variables file is left");
    // A file that was there keeps its text and its length.
    sts.script([Reply::Error(403, "AccessDenied", "Not authorized".into())]);
    std::fs::write(&step.secret_file, "EARLIER=1").unwrap();
    chmod(&step.secret_file, 0o600);
    step.run(&[]).expect(3);
    assert_eq!(step.secrets(), "EARLIER=1");
}

#[test]
fn check_makes_the_runs_checks_and_changes_nothing() {
    let sts = StandIn::start();
    // Missing files: said, not created.
    let step = Step::harness(&sts);
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(
        out.stdout.contains(&format!(
            "credentials: {}: missing, would be created readable by this user only (from HARNESS_OUTPUT_SECRET_FILE, dotenv)",
            step.secret_file.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "variables: {}: missing, would be created",
            step.vars_file.display()
        )),
        "{}",
        out.stdout
    );
    assert!(!step.secret_file.exists() && !step.vars_file.exists());
    // An existing file: appended to, untouched by the check.
    std::fs::write(&step.secret_file, "EARLIER=1").unwrap();
    chmod(&step.secret_file, 0o600);
    let out = step.run(&["--check", "--format", "credential-process", "--output", "-"]);
    out.expect(0);
    assert!(
        out.stdout.contains(
            "credentials: stdout (from --output / PLUGIN_OUTPUT_FILE, credential-process)"
        ),
        "{}",
        out.stdout
    );
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(
        out.stdout.contains("exists, would be appended to"),
        "{}",
        out.stdout
    );
    assert_eq!(step.secrets(), "EARLIER=1");
    // A destination the run would refuse: exit 6, the file as it was.
    chmod(&step.secret_file, 0o666);
    let out = step.run(&["--check"]);
    out.expect(6);
    assert!(out.last_line().contains("chmod go-w"), "{}", out.stderr);
    assert_eq!(
        (step.secrets(), mode(&step.secret_file)),
        ("EARLIER=1".to_string(), 0o666)
    );
    let fifo = step.dir.join("out.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    for path in [
        "/dev/null",
        "/nonexistent/dir/out.env",
        fifo.to_str().unwrap(),
    ] {
        step.run(&["--check", "--output", path]).expect(6);
    }
    // A token whose exp has passed: exit 3, as STS's refusal would be.
    let expired = jwt(
        "https://app.harness.io/ng/api/oidc/account/acc123",
        "sts.amazonaws.com",
        "x",
        now() - 3600,
    );
    let out = Step::harness(&sts)
        .set("PLUGIN_OIDC_TOKEN_ID", &expired)
        .run(&["--check"]);
    out.expect(3).assert_hides(&[&expired]);
    assert!(
        out.last_line().contains("the token expired 1h 0m ago")
            && out.last_line().contains("ExpiredTokenException"),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty());
}

/// Runs the step's binary in a private mount namespace whose /etc/hosts
/// sends every spelling of localhost to 127.0.0.2, and whose resolv.conf
/// names a DNS server on 127.0.0.2 where nothing answers: any lookup either
/// goes to the wrong address or fails, and nothing leaves the machine.
/// `None`, with the reason printed, where such a namespace cannot be made.
fn run_where_localhost_is_elsewhere(step: &Step) -> Option<Output> {
    use std::process::Command;
    if Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!(
            "skipped: cannot make a mount namespace (unshare -m needs root or CAP_SYS_ADMIN)"
        );
        return None;
    }
    let dir = temp_dir("hosts");
    let hosts = write_file(
        &dir,
        "hosts",
        "127.0.0.2 localhost LOCALHOST LocalHost localhost. LOCALHOST.\n",
    );
    let resolv = write_file(&dir, "resolv.conf", "nameserver 127.0.0.2\n");
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(r#"mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && unset PATH && exec "$3""#)
        .arg("sh")
        .args([&hosts, &resolv, &bin()])
        .env_clear()
        .envs(step.env.iter())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run unshare");
    let _ = std::fs::remove_dir_all(&dir);
    Some(Output::from(out))
}

#[test]
fn localhost_in_any_case_reaches_loopback_without_a_lookup() {
    // Found from outside: `http://LOCALHOST:PORT` was allowed, then looked
    // up; musl matches /etc/hosts case-sensitively, so a stub DNS answering
    // 127.0.0.2 received the token in cleartext.
    let sts = StandIn::with(Transport::Plain);
    let names = ["LOCALHOST", "localhost.", "LocalHost", "localhost"];
    for name in names {
        let step = Step::harness(&sts)
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("http://{name}:{}", sts.port),
            )
            .set("PLUGIN_MAX_ATTEMPTS", "1");
        let Some(out) = run_where_localhost_is_elsewhere(&step) else {
            return;
        };
        assert_eq!(out.code, 0, "{name}:\n{}", out.stderr);
    }
    assert_eq!(sts.requests().len(), names.len());
    assert_eq!(
        sts.requests()[0].header("host"),
        Some(format!("LOCALHOST:{}", sts.port).as_str())
    );
}

#[test]
fn ipv6_loopback_however_written_is_loopback() {
    let sts = match StandIn::bound(Transport::Plain, "[::1]:0") {
        Ok(sts) => sts,
        Err(e) => {
            eprintln!("skipped: cannot listen on ::1 ({e})");
            return;
        }
    };
    for host in ["[0:0:0:0:0:0:0:1]", "[::1]"] {
        // The proxy would refuse: loopback must not use it.
        let out = Step::harness(&sts)
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("http://{host}:{}", sts.port),
            )
            .set("HTTPS_PROXY", "http://127.0.0.1:9")
            .run(&[]);
        assert_eq!(out.code, 0, "{host}:\n{}", out.stderr);
    }
    assert_eq!(sts.requests().len(), 2);
}

#[test]
fn the_trace_shows_the_host_header_as_sent() {
    let sts = StandIn::start();
    let out = Step::harness(&sts)
        .set("PLUGIN_LOG_LEVEL", "trace")
        .run(&[]);
    out.expect(0);
    let sent = sts.requests()[0]
        .header("host")
        .unwrap_or_default()
        .to_string();
    assert_eq!(sent, format!("127.0.0.1:{}", sts.port));
    out.says(&format!("request headers: Host: {sent};"));
}

/// Another account than the stand-in's (ACCOUNT).
const OTHER_ACCOUNT: &str = "210987654321";

/// The account guard (docs/reference.md §12): a role outside the listed
/// accounts stops the run before anything is sent or opened, under every
/// spelling and under `--check`; a list that holds the role's account,
/// among several, lets the run through.
#[test]
fn the_account_guard_refuses_before_any_request() {
    let sts = StandIn::start();
    for (key, list) in [
        ("PLUGIN_ALLOWEDACCOUNTIDS", OTHER_ACCOUNT.to_string()),
        (
            "PLUGIN_ALLOWED_ACCOUNT_IDS",
            format!("{OTHER_ACCOUNT},\n111111111111 ,333333333333"),
        ),
    ] {
        let step = Step::harness(&sts).set(key, &list);
        for args in [&[][..], &["--check"][..]] {
            let out = step.run(args);
            out.expect(2);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            let line = out.last_line();
            assert!(
                line.contains(&format!(
                    "the role {ROLE} (from PLUGIN_IAMROLEARN) is in account {ACCOUNT}, which {key} does not list ({OTHER_ACCOUNT}, "
                )) || line.contains(&format!("which {key} does not list ({OTHER_ACCOUNT});")),
                "{line}"
            );
            assert!(
                line.contains(&format!("add the account to {key}")),
                "{line}"
            );
            assert_eq!(out.stdout, "");
            out.assert_hides(&[&step.token]);
        }
        assert_eq!(sts.counts(), (0, 0), "a request reached STS");
        assert!(!step.secret_file.exists() && !step.vars_file.exists());
    }
    // The flag wins over env; the role's account among several passes.
    let step = Step::harness(&sts).set("PLUGIN_ALLOWED_ACCOUNT_IDS", OTHER_ACCOUNT);
    let list = format!("111111111111,{ACCOUNT},{OTHER_ACCOUNT}");
    let out = step.run(&["--check", "--allowed-account-ids", &list]);
    out.expect(0);
    assert!(
        out.stdout.contains(&format!(
            "allowed accounts: 111111111111, {ACCOUNT}, {OTHER_ACCOUNT} (from --allowed-account-ids)\n"
        )),
        "{}",
        out.stdout
    );
    step.run(&["--allowed-account-ids", &list]).expect(0);
    assert_eq!(sts.counts(), (1, 1));
    assert!(step.secrets().contains("AWS_SESSION_TOKEN="));
}

/// Each bad entry of the list is named, whatever its place, before any
/// request.
#[test]
fn bad_allowed_account_ids_name_the_entry() {
    let sts = StandIn::start();
    for (list, entry) in [
        ("12345678901", "`12345678901`"),
        ("123456789012,1234567890123", "`1234567890123`"),
        ("123456789012 210987654321", "`123456789012 210987654321`"),
        ("123456789012;210987654321", "`123456789012;210987654321`"),
        (
            "arn:aws:iam::123456789012:root",
            "`arn:aws:iam::123456789012:root`",
        ),
        ("123456789012,12345678901O", "`12345678901O`"),
    ] {
        let out = Step::harness(&sts)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", list)
            .run(&[]);
        out.expect(2);
        assert!(
            out.last_line().contains(&format!(
                "error: PLUGIN_ALLOWED_ACCOUNT_IDS: {entry} is not a 12-digit account id; list account ids separated by commas"
            )),
            "{list}: {}",
            out.stderr
        );
    }
    let out = Step::harness(&sts)
        .set("PLUGIN_ALLOWED_ACCOUNT_IDS", " , ")
        .run(&[]);
    out.expect(2);
    assert!(out.last_line().contains("the list holds no account id"));
    assert_eq!(sts.counts(), (0, 0));
}

/// An answer whose assumed-role ARN is in another account is refused
/// after the request and before any output: exit 5, the files the run
/// created removed and one that was there back to its old text. Without
/// the guard the same answer is written, so the guard is what refuses it.
#[test]
fn an_answer_from_another_account_is_refused_and_nothing_written() {
    let sts = StandIn::start();
    let guarded = || Step::harness(&sts).set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT);
    for level in ["info", "trace"] {
        let step = guarded().set("PLUGIN_LOG_LEVEL", level);
        sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
        let out = step.run(&[]);
        out.expect(5);
        let issued = sts.issued().pop().unwrap();
        assert!(issued.assumed_role_arn.contains(OTHER_ACCOUNT));
        assert!(
            out.last_line().contains(&format!(
                "STS answered with credentials for {} in account {OTHER_ACCOUNT}, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list ({ACCOUNT}); nothing was written",
                issued.assumed_role_arn
            )),
            "{}",
            out.stderr
        );
        assert!(!step.secret_file.exists() && !step.vars_file.exists());
        out.assert_hides(
            &secrets_of(&sts, &step.token)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    let step = guarded();
    std::fs::write(&step.secret_file, "EARLIER=1\n").unwrap();
    chmod(&step.secret_file, 0o600);
    sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
    step.run(&[]).expect(5);
    assert_eq!(step.secrets(), "EARLIER=1\n");
    sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
    Step::harness(&sts).run(&[]).expect(0);
}

/// Under mask account no account id reaches stderr from the guard, at any
/// level: neither the role's, nor the listed ones, nor the answer's.
#[test]
fn under_mask_account_the_guard_shows_no_account_id() {
    let sts = StandIn::start();
    for level in ["info", "trace"] {
        let masked = |allowed: &str| {
            Step::harness(&sts)
                .set("PLUGIN_MASK_ACCOUNT_ID", "true")
                .set("PLUGIN_LOG_LEVEL", level)
                .set("PLUGIN_ALLOWED_ACCOUNT_IDS", allowed)
        };
        let refused = masked(&format!("{OTHER_ACCOUNT},111111111111"));
        let before = refused.run(&[]);
        before.expect(2);
        let check = refused.run(&["--check"]);
        check.expect(2);
        sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
        let after = masked(ACCOUNT).run(&[]);
        after.expect(5);
        for out in [&before, &check, &after] {
            for id in [ACCOUNT, OTHER_ACCOUNT, "111111111111"] {
                assert!(!out.stderr.contains(id), "{id} at {level}:\n{}", out.stderr);
            }
            assert!(
                out.last_line()
                    .contains("account ids are masked because mask account is on"),
                "{}",
                out.stderr
            );
        }
        assert!(before.last_line().contains(
            "the role arn:aws:iam::************:role/harness-ci (from PLUGIN_IAMROLEARN) is in account ************, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (2 account ids, masked)"
        ), "{}", before.stderr);
        assert!(after.last_line().contains(
            "for arn:aws:sts::************:assumed-role/harness-ci/harness-aws-oidc in account ************"
        ), "{}", after.stderr);
    }
}

#[test]
fn a_private_credentials_file_is_written_without_a_warning() {
    // The other side of the warning above (issue 13: survivors of make
    // mutants warned about every existing file).
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_REGION", "eu-west-1");
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o600);
    let out = step.run(&[]);
    out.expect(0);
    out.says_not("warning:");
    assert_eq!(step.secrets().lines().count(), 3);
}
