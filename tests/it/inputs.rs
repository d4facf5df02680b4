//! Token sources and session policies given directly to the binary.

use crate::support::*;

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
