//! Role chaining and `--verify` (docs/reference.md §11), end to end: the
//! real binary, a Harness step, and the stand-in, which checks each chained
//! hop's SigV4 signature with the independent verifier against the keys it
//! issued on the hop before.

use crate::support::*;

/// A target role in another account.
const ROLE2: &str = "arn:aws:iam::210987654321:role/deploy";
const ACCOUNT2: &str = "210987654321";
/// A third role, with a path.
const ROLE3: &str = "arn:aws:iam::333333333333:role/app/final";

fn chained(sts: &StandIn, arns: &str) -> Step {
    Step::harness(sts).set("PLUGIN_CHAINROLEARN", arns)
}

fn all_secrets(sts: &StandIn, step: &Step) -> Vec<String> {
    let mut s = secrets_of(sts, &step.token);
    s.extend(step.env.get("PLUGIN_POLICY").map(String::from));
    s
}

fn hides(out: &Output, sts: &StandIn, step: &Step) {
    let secrets = all_secrets(sts, step);
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// The form's field names, in order.
fn names(r: &standin::Recorded) -> Vec<&str> {
    r.form.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn one_hop_is_one_unsigned_call() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(0);
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("authorization"), None);
    out.says_not("hop 1");
    assert!(sts.signatures().is_empty());
}

#[test]
fn two_hops_sign_the_second_with_the_first_hop_s_keys_and_write_the_last() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2);
    let out = step.run(&[]);
    out.expect(0);
    let (reqs, issued) = (sts.requests(), sts.issued());
    assert_eq!((reqs.len(), issued.len()), (2, 2));
    assert_eq!(reqs[0].field("Action"), Some("AssumeRoleWithWebIdentity"));
    assert_eq!(reqs[1].field("Action"), Some("AssumeRole"));
    assert_eq!(reqs[1].field("RoleArn"), Some(ROLE2));
    assert_eq!(reqs[1].field("WebIdentityToken"), None);
    // The same session name on both hops.
    assert_eq!(
        reqs[0].field("RoleSessionName"),
        reqs[1].field("RoleSessionName")
    );
    // Signed by hop 1's key, with its session token, scoped as the
    // loopback endpoint (no region in its name) signs: us-east-1.
    let sig = &sts.signatures()[0];
    assert_eq!(sig.access_key_id, issued[0].access_key_id);
    assert_eq!(
        sig.session_token.as_deref(),
        Some(issued[0].session_token.as_str())
    );
    assert_eq!(
        (sig.region.as_str(), sig.service.as_str()),
        ("us-east-1", "sts")
    );
    assert!(sig
        .signed_headers
        .contains(&"x-amz-security-token".to_string()));
    assert_eq!(
        issued[1].signed_by.as_deref(),
        Some(issued[0].access_key_id.as_str())
    );
    // The last hop's credentials, named by the last role and its account.
    assert_lines(
        &step.secrets(),
        &[
            ("AWS_ACCESS_KEY_ID", &issued[1].access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &issued[1].secret_access_key),
            ("AWS_SESSION_TOKEN", &issued[1].session_token),
        ],
    );
    assert_lines(
        &step.vars(),
        &[
            ("AWS_CREDENTIAL_EXPIRATION", &issued[1].expiration),
            ("AWS_ACCOUNT_ID", ACCOUNT2),
            ("AWS_ASSUMED_ROLE_ARN", &issued[1].assumed_role_arn),
            ("AWS_OIDC_ROLE_ARN", ROLE2),
        ],
    );
    for (i, c) in issued.iter().enumerate() {
        let line = format!(
            "hop {} of 2: assumed {} until {}",
            i + 1,
            c.assumed_role_arn,
            c.expiration
        );
        assert!(out.stderr.contains(&line), "{line}\n{}", out.stderr);
    }
    hides(&out, &sts, &step);
}

#[test]
fn three_hops_each_signed_by_the_hop_before_for_the_region_set() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2}\n{ROLE3}")).set("PLUGIN_REGION", "eu-west-1");
    let out = step.run(&[]);
    out.expect(0);
    let issued = sts.issued();
    assert_eq!(issued.len(), 3);
    assert_eq!(issued[0].signed_by, None);
    assert_eq!(issued[1].signed_by.as_ref(), Some(&issued[0].access_key_id));
    assert_eq!(issued[2].signed_by.as_ref(), Some(&issued[1].access_key_id));
    let regions: Vec<String> = sts.signatures().iter().map(|s| s.region.clone()).collect();
    assert_eq!(regions, ["eu-west-1", "eu-west-1"]);
    assert!(step
        .vars()
        .contains(&format!("AWS_OIDC_ROLE_ARN={ROLE3}\n")));
    assert!(step.vars().contains("AWS_ACCOUNT_ID=333333333333\n"));
    out.says("hop 3 of 3: assumed arn:aws:sts::333333333333:assumed-role/final/");
    hides(&out, &sts, &step);
}

#[test]
fn the_external_id_goes_on_every_chained_hop_and_never_on_the_first() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}")).set("PLUGIN_EXTERNAL_ID", "ext:id/1=a@b");
    step.run(&[]).expect(0);
    let reqs = sts.requests();
    let ids: Vec<Option<&str>> = reqs.iter().map(|r| r.field("ExternalId")).collect();
    assert_eq!(ids, [None, Some("ext:id/1=a@b"), Some("ext:id/1=a@b")]);
}

#[test]
fn chained_hops_ask_at_most_an_hour_and_say_so_and_the_first_asks_900() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}")).set("PLUGIN_DURATION", "2h");
    let out = step.run(&[]);
    out.expect(0);
    let reqs = sts.requests();
    let asked: Vec<Option<&str>> = reqs.iter().map(|r| r.field("DurationSeconds")).collect();
    assert_eq!(asked, [Some("900"), Some("3600"), Some("3600")]);
    out.says("the chained hops ask for 3600s, not 7200s (from PLUGIN_DURATION): AWS caps");

    // A duration within the hour is asked as is, without the line; none
    // set, none asked past the first hop.
    for (duration, want) in [(Some("1800"), Some("1800")), (None, None)] {
        let sts = StandIn::start();
        let step = chained(&sts, ROLE2);
        let step = match duration {
            Some(d) => step.set("PLUGIN_DURATION", d),
            None => step,
        };
        let out = step.run(&[]);
        out.expect(0);
        let reqs = sts.requests();
        assert_eq!(reqs[0].field("DurationSeconds"), Some("900"));
        assert_eq!(reqs[1].field("DurationSeconds"), want);
        out.says_not("chained hops ask");
    }
}

#[test]
fn session_policies_go_only_on_the_last_hop() {
    let sts = StandIn::start();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}"))
        .set("PLUGIN_POLICY", policy)
        .set(
            "PLUGIN_POLICY_ARNS",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        );
    let out = step.run(&["--log-level", "trace"]);
    out.expect(0);
    let reqs = sts.requests();
    for r in &reqs[..2] {
        assert!(
            !names(r).iter().any(|n| n.starts_with("Policy")),
            "{:?}",
            names(r)
        );
    }
    assert_eq!(reqs[2].field("Policy"), Some(policy));
    assert_eq!(
        reqs[2].field("PolicyArns.member.1.arn"),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
    );
    hides(&out, &sts, &step);
}

#[test]
fn a_refused_second_hop_names_it_and_writes_nothing() {
    let sts = StandIn::start();
    sts.deny_role(ROLE2);
    let step = chained(&sts, ROLE2).set("PLUGIN_EXTERNAL_ID", "ext-1");
    for level in ["info", "trace"] {
        let out = step.run(&["--log-level", level]);
        out.expect(3);
        let line = out.last_line();
        let first = &sts.issued()[0];
        for want in [
            "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 403): AccessDenied: User: ",
            " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/deploy (RequestId ",
            "the previous role's policy allows sts:AssumeRole on arn:aws:iam::210987654321:role/deploy",
            &format!("names the previous assumed role {}", first.assumed_role_arn),
            "its sts:ExternalId condition, if any, matches the external ID",
        ] {
            assert!(line.contains(want), "{want}\n{line}");
        }
        assert_eq!(step.secrets(), "");
        assert_eq!(step.vars(), "");
        hides(&out, &sts, &step);
    }
}

/// The stand-in refuses what STS refuses: no signature, a key it never
/// issued, a signature made with the wrong secret, a session token that is
/// not the key's. Requests are written by hand, over plain HTTP to a
/// loopback stand-in, so that the binary's signer is not what is tested.
#[test]
fn the_stand_in_refuses_a_bad_signature_as_sts_does() {
    use aws_oidc::request::sigv4;
    use aws_oidc::secret::Secret;
    let sts = StandIn::with(Transport::Plain);
    let env = [
        ("PLUGIN_IAMROLEARN", ROLE),
        ("PLUGIN_OIDC_TOKEN_ID", "opaque-token-1234"),
        (
            "PLUGIN_STS_ENDPOINT",
            &format!("http://127.0.0.1:{}", sts.port),
        ),
        ("PLUGIN_OUTPUT_FORMAT", "credential-process"),
    ];
    run(&env, &[]).expect(0);
    let first = sts.issued()[0].clone();
    let host = format!("127.0.0.1:{}", sts.port);
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=s1",
        ROLE2.replace(':', "%3A").replace('/', "%2F")
    );
    let post = |key: &str, secret: &str, token: &str, signed: bool| -> String {
        let (secret, token) = (Secret::new(secret), Secret::new(token));
        let s = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                host: &host,
                path: "/",
                headers: &[],
                body: body.as_bytes(),
            },
            &sigv4::Credentials {
                access_key_id: key,
                secret_access_key: &secret,
                session_token: Some(&token),
            },
            &sigv4::Scope {
                region: "us-east-1",
                service: "sts",
                time: now(),
            },
        );
        let mut head = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if signed {
            for (k, v) in s.headers() {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&host).unwrap();
        conn.write_all(format!("{head}\r\n{body}").as_bytes())
            .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer
    };
    let (k, s, t) = (
        &first.access_key_id,
        &first.secret_access_key,
        &first.session_token,
    );
    let ok = post(k, s, t, true);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let cases = [
        (post(k, s, t, false), "MissingAuthenticationToken"),
        (
            post("ASIANEVERISSUED0000", s, t, true),
            "InvalidClientTokenId",
        ),
        (post(k, &format!("{s}x"), t, true), "SignatureDoesNotMatch"),
        (post(k, s, &format!("{t}x"), true), "InvalidClientTokenId"),
    ];
    for (answer, code) in cases {
        assert!(answer.starts_with("HTTP/1.1 403"), "{code}: {answer}");
        assert!(
            answer.contains(&format!("<Code>{code}</Code>")),
            "{code}: {answer}"
        );
    }
    assert_eq!(
        sts.issued().len(),
        2,
        "only the good signature got credentials"
    );
}

#[test]
fn verify_checks_the_last_hop_s_credentials_before_writing() {
    // One hop: two calls, the second signed by the credentials written.
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_VERIFY", "true");
    let out = step.run(&[]);
    out.expect(0);
    let (reqs, issued) = (sts.requests(), sts.issued());
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].field("Action"), Some("GetCallerIdentity"));
    assert_eq!(reqs[1].field("Version"), Some("2011-06-15"));
    assert_eq!(sts.signatures()[0].access_key_id, issued[0].access_key_id);
    let line = format!(
        "verified: the credentials are {}",
        issued[0].assumed_role_arn
    );
    out.says(&line);
    hides(&out, &sts, &step);

    // Chained: after the last hop, with its keys.
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2);
    let out = step.run(&["--verify"]);
    out.expect(0);
    let issued = sts.issued();
    assert_eq!(sts.requests().len(), 3);
    assert_eq!(sts.signatures()[1].access_key_id, issued[1].access_key_id);
    assert!(out.stderr.contains(&format!(
        "verified: the credentials are {}",
        issued[1].assumed_role_arn
    )));
    assert!(step.secrets().contains(&issued[1].access_key_id));
}

#[test]
fn verify_refuses_another_caller_writing_nothing_and_masks_both_accounts() {
    let other = "arn:aws:sts::999999999999:assumed-role/other/x";
    let sts = StandIn::start();
    sts.caller_arn(other);
    let step = chained(&sts, ROLE2).set("PLUGIN_VERIFY", "on");
    let out = step.run(&[]);
    out.expect(5);
    let line = out.last_line();
    let want = format!(
        "--verify: STS says the credentials are {other}, not the assumed role {}; nothing was written",
        sts.issued()[1].assumed_role_arn
    );
    assert!(line.contains(&want), "{line}");
    assert_eq!(
        (step.secrets(), step.vars()),
        (String::new(), String::new())
    );
    hides(&out, &sts, &step);

    let sts = StandIn::start();
    sts.caller_arn(other);
    let step = chained(&sts, ROLE2)
        .set("PLUGIN_VERIFY", "true")
        .set("PLUGIN_MASK_ACCOUNT_ID", "true");
    let out = step.run(&[]);
    out.expect(5);
    for account in [ACCOUNT, ACCOUNT2, "999999999999"] {
        assert!(!out.stderr.contains(account), "{account}:\n{}", out.stderr);
    }
    assert!(out.last_line().contains("arn:aws:sts::************:assumed-role/other/x, not the assumed role arn:aws:sts::************:assumed-role/deploy/"), "{}", out.last_line());
}

/// `--verify` compares the whole ARN, not a part of it: a caller in the
/// same account but another role, or the same role as another session (or
/// in another partition), is refused, writing nothing. Each row: the
/// chained roles (none: one hop), and what the caller STS names changes
/// in the last hop's assumed-role ARN.
#[test]
fn verify_refuses_a_caller_that_differs_in_any_part() {
    let rows = [
        ("", "/harness-ci/", "/admin/"),
        ("", "/harness-aws-oidc", "/other"),
        ("", "arn:aws:", "arn:aws-cn:"),
        (ROLE2, "/deploy/", "/admin/"),
        (ROLE2, "/harness-aws-oidc", "/other"),
    ];
    for (arns, from, to) in rows {
        let sts = StandIn::start();
        let (step, account, name) = match arns {
            "" => (Step::harness(&sts), ACCOUNT, "harness-ci"),
            arns => (chained(&sts, arns), ACCOUNT2, "deploy"),
        };
        let assumed = format!("arn:aws:sts::{account}:assumed-role/{name}/harness-aws-oidc");
        let caller = assumed.replace(from, to);
        assert_ne!(caller, assumed);
        sts.caller_arn(&caller);
        let line = refused(&sts, &step.set("PLUGIN_VERIFY", "true"), &[]);
        let want = format!(
            "--verify: STS says the credentials are {caller}, not the assumed role {assumed}; nothing was written"
        );
        assert!(line.contains(&want), "{line}");
        assert_eq!(sts.issued().last().unwrap().assumed_role_arn, assumed);
    }
}

#[test]
fn mask_account_masks_every_hop_s_account_on_every_line() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}")).set("PLUGIN_MASK_ACCOUNT_ID", "true");
    for level in ["info", "trace"] {
        let out = step.run(&["--log-level", level]);
        out.expect(0);
        for account in [ACCOUNT, ACCOUNT2, "333333333333"] {
            assert!(
                !out.stderr.contains(account),
                "{account} at {level}:\n{}",
                out.stderr
            );
        }
        out.says("hop 2 of 3: assumed arn:aws:sts::************:assumed-role/deploy/");
        out.says("hop 3 of 3: assumed arn:aws:sts::************:assumed-role/final/");
    }
    // A settings error before any request masks the chained accounts too.
    let out = step.set("PLUGIN_EXTERNAL_ID", "x").run(&[]);
    out.expect(2);
    out.says_not(ACCOUNT2);
}

#[test]
fn check_shows_every_hop_s_request_with_the_policy_redacted() {
    let sts = StandIn::start();
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let step = chained(&sts, ROLE2)
        .set("PLUGIN_EXTERNAL_ID", "ext-42")
        .set("PLUGIN_POLICY", policy)
        .set("PLUGIN_VERIFY", "true");
    let out = step.run(&["--check"]);
    out.expect(0);
    let o = &out.stdout;
    for want in [
        "request (hop 1 of 2): POST ",
        "  Action=AssumeRoleWithWebIdentity\n",
        "  DurationSeconds=900\n",
        "request (hop 2 of 2, signed with hop 1's credentials): POST ",
        "  Action=AssumeRole\n",
        &format!("  RoleArn={ROLE2}\n"),
        "  ExternalId=ext-42\n",
        &format!("  Policy=<redacted, {} chars>\n", policy.len()),
        "then (--verify): POST ",
    ] {
        assert!(o.contains(want), "{want}\n{o}");
    }
    assert_eq!(sts.requests().len(), 0);
    out.assert_hides(&[policy, &step.token]);
}

/// The account guard holds every chained role to the list before any
/// request, naming its hop (docs/reference.md §12).
#[test]
fn the_account_guard_checks_every_chained_role_before_any_request() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}")).set(
        "PLUGIN_ALLOWED_ACCOUNT_IDS",
        &format!("{ACCOUNT},{ACCOUNT2}"),
    );
    let out = step.run(&[]);
    out.expect(2);
    assert!(
        out.last_line().contains(
            "hop 3 of 3: the role arn:aws:iam::333333333333:role/app/final (from PLUGIN_CHAINROLEARN) is in account 333333333333"
        ),
        "{}",
        out.last_line()
    );
    assert_eq!(sts.requests().len(), 0);
    let step = step.set(
        "PLUGIN_ALLOWED_ACCOUNT_IDS",
        &format!("{ACCOUNT},{ACCOUNT2},333333333333"),
    );
    step.run(&[]).expect(0);
    assert_eq!(sts.requests().len(), 3);
}

/// With the cache, a hit is verified too before it is written; a miss is
/// verified once, before the cache keeps it.
#[test]
fn verify_checks_cached_credentials_too() {
    let sts = StandIn::start();
    let cache = temp_dir("verify-cache");
    let step = chained(&sts, ROLE2)
        .set("PLUGIN_VERIFY", "true")
        .set("PLUGIN_CACHE", "true")
        .set("PLUGIN_CACHE_DIR", &cache.join("c").display().to_string());
    step.run(&[]).expect(0);
    let actions = |sts: &StandIn| -> Vec<String> {
        sts.requests()
            .iter()
            .map(|r| r.field("Action").unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        actions(&sts),
        [
            "AssumeRoleWithWebIdentity",
            "AssumeRole",
            "GetCallerIdentity"
        ]
    );
    let out = step.run(&[]);
    out.expect(0);
    assert_eq!(actions(&sts)[3..], ["GetCallerIdentity"]);
    let last = &sts.issued()[1];
    assert_eq!(sts.signatures()[2].access_key_id, last.access_key_id);
    assert!(out.stderr.contains(&format!(
        "verified: the credentials are {}",
        last.assumed_role_arn
    )));
    hides(&out, &sts, &step);

    // A cached entry the caller no longer matches is refused, unwritten.
    sts.caller_arn("arn:aws:sts::999999999999:assumed-role/other/x");
    let (secrets, vars) = (step.secrets(), step.vars());
    let out = step.run(&[]);
    out.expect(5);
    assert!(out
        .last_line()
        .contains("--verify: STS says the credentials are arn:aws:sts::999999999999"));
    assert_eq!(
        (step.secrets(), step.vars()),
        (secrets, vars),
        "nothing more written"
    );
}

/// Runs the step and expects exit 5 with nothing written and no secret
/// shown, at info and at trace: the last line, at trace.
fn refused(sts: &StandIn, step: &Step, replies: &[Reply]) -> String {
    let mut line = String::new();
    for level in ["info", "trace"] {
        sts.script(replies.to_vec());
        let out = step.run(&["--log-level", level]);
        out.expect(5);
        assert_eq!(
            (step.secrets(), step.vars()),
            (String::new(), String::new())
        );
        hides(&out, sts, step);
        line = out.last_line().to_string();
    }
    line
}

/// Each hop's answer must name the role asked for under the session sent
/// (docs/reference.md §5.1, §11.1): an answer for another role is refused,
/// on a chained hop and on a single one; the account is not compared.
#[test]
fn an_answer_for_another_role_or_session_is_refused() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2);
    let admin = || Reply::StsEdited("assumed-role/deploy/", "assumed-role/admin/".into());
    let line = refused(&sts, &step, &[Reply::Sts, admin()]);
    let want = "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): STS answered with \
                arn:aws:sts::210987654321:assumed-role/admin/harness-aws-oidc, not role deploy as session harness-aws-oidc";
    assert!(line.contains(want), "{line}");
    assert!(line.contains("nothing was written"), "{line}");

    // One hop: another role, or another session.
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let line = refused(
        &sts,
        &step,
        &[Reply::StsEdited(
            "assumed-role/harness-ci/",
            "assumed-role/admin/".into(),
        )],
    );
    assert!(line.contains("error: AssumeRoleWithWebIdentity: STS answered with arn:aws:sts::123456789012:assumed-role/admin/harness-aws-oidc, not role harness-ci as session harness-aws-oidc"), "{line}");
    let line = refused(
        &sts,
        &step,
        &[Reply::StsEdited("/harness-aws-oidc<", "/other<".into())],
    );
    assert!(
        line.contains(
            "assumed-role/harness-ci/other, not role harness-ci as session harness-aws-oidc"
        ),
        "{line}"
    );

    // Another account (as moto answers) is the account guard's business.
    let sts = StandIn::start();
    sts.script([Reply::Sts, Reply::StsAsAccount("123456789012")]);
    let step = chained(&sts, ROLE3);
    step.run(&[]).expect(0);
}

/// The account guard holds every hop's answer to the list, the last's
/// included: the first hop's credentials sign the next, and the last's are
/// written (docs/reference.md §12). Each row: the chained roles, and the
/// hop whose answer is for an account not listed, its role and the role's
/// name; the hops after it are never asked.
#[test]
fn the_account_guard_checks_every_hop_s_answer() {
    let allowed = format!("{ACCOUNT},{ACCOUNT2},333333333333");
    let three = format!("{ROLE2},{ROLE3}");
    let rows = [
        (ROLE2, 1, ROLE, "harness-ci"),
        (ROLE2, 2, ROLE2, "deploy"),
        (&three, 2, ROLE2, "deploy"),
        (&three, 3, ROLE3, "final"),
    ];
    for (arns, at, role, name) in rows {
        let sts = StandIn::start();
        let step = chained(&sts, arns).set("PLUGIN_ALLOWED_ACCOUNT_IDS", &allowed);
        let mut replies = vec![Reply::Sts; at - 1];
        replies.push(Reply::StsAsAccount("999999999999"));
        let line = refused(&sts, &step, &replies);
        let action = match at {
            1 => "AssumeRoleWithWebIdentity",
            _ => "AssumeRole",
        };
        let n = 1 + arns.split(',').count();
        let want = format!(
            "error: {action} (hop {at} of {n}, role {role}): STS answered with credentials for \
             arn:aws:sts::999999999999:assumed-role/{name}/harness-aws-oidc in account 999999999999, \
             which PLUGIN_ALLOWED_ACCOUNT_IDS does not list ({ACCOUNT}, {ACCOUNT2}, 333333333333); nothing was written"
        );
        assert!(line.contains(&want), "hop {at} of {n}: {line}");
        // At info and at trace, each asking up to the refused hop.
        assert_eq!(sts.requests().len(), 2 * at, "hop {at} of {n}");
    }
}

/// A chained role's partition is held to the region as the first role's
/// is, before any request and in `--check`, naming its hop.
#[test]
fn a_chained_role_in_another_partition_stops_the_run_before_any_request() {
    let sts = StandIn::start();
    let cn = "arn:aws-cn:iam::222222222222:role/cn-deploy";
    let step = chained(&sts, &format!("{ROLE2},{cn}")).set("PLUGIN_REGION", "us-east-1");
    for args in [&[][..], &["--check"]] {
        let out = step.run(args);
        out.expect(2);
        let want = format!(
            "error: hop 3 of 3: the role ARN {cn} (from PLUGIN_CHAINROLEARN) is in partition aws-cn \
             but region us-east-1 (from PLUGIN_REGION) is in aws; set a region of the role's partition \
             (for example cn-north-1) or fix the role ARN"
        );
        assert!(out.last_line().contains(&want), "{}", out.stderr);
        assert_eq!(step.vars(), "");
    }
    assert_eq!(sts.requests().len(), 0);
    // Every role in the region's partition: the run goes on.
    let step = chained(&sts, ROLE2).set("PLUGIN_REGION", "us-east-1");
    step.run(&[]).expect(0);
}

/// Each call's answer must have that call's root and result, and a
/// duplicate `Credentials` or `AssumedRoleUser` is refused, not read first
/// wins (docs/reference.md §5.1).
#[test]
fn an_answer_to_another_call_or_with_a_duplicate_element_is_refused() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2);
    let web_root = || Reply::StsEdited("AssumeRoleRe", "AssumeRoleWithWebIdentityRe".into());
    let line = refused(&sts, &step, &[Reply::Sts, web_root()]);
    assert!(
        line.contains("AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200 with credentials, but the answer is a <AssumeRoleWithWebIdentityResponse>, not the AssumeRoleResponse asked for; nothing was written"),
        "{line}"
    );

    let first = "<Credentials><AccessKeyId>ASIAFIRSTWINS0000001</AccessKeyId>\
                 <SecretAccessKey>firstWinsSecretKey000000000000000000001</SecretAccessKey>\
                 <SessionToken>firstWinsSessionToken00000000000000001</SessionToken>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><Credentials>";
    let other = "<AssumedRoleUser><Arn>arn:aws:sts::999999999999:assumed-role/harness-ci/harness-aws-oidc</Arn>\
                 </AssumedRoleUser><AssumedRoleUser>";
    for (from, to, element) in [
        ("<Credentials>", first, "Credentials"),
        ("<AssumedRoleUser>", other, "AssumedRoleUser"),
    ] {
        let sts = StandIn::start();
        let step = Step::harness(&sts);
        let line = refused(&sts, &step, &[Reply::StsEdited(from, to.into())]);
        let want = format!("127.0.0.1 answered HTTP 200 with credentials, but the answer has more than one {element}; nothing was written");
        assert!(line.contains(&want), "{line}");
        assert!(!line.contains("FIRSTWINS"), "{line}");
    }
}

/// `--verify`'s answer not understood names the call, and does not say it
/// came with credentials: a `GetCallerIdentity` answer carries none.
#[test]
fn verify_s_answer_not_understood_names_the_call() {
    let sts = StandIn::start();
    sts.caller_arn("arn:aws:sts::123456789012:assumed-role/harness-ci/harness aws-oidc");
    let step = Step::harness(&sts).set("PLUGIN_VERIFY", "true");
    let line = refused(&sts, &step, &[]);
    assert!(
        line.contains("error: GetCallerIdentity (--verify): 127.0.0.1 answered HTTP 200, but the answer holds a character STS never sends in GetCallerIdentityResult; nothing was written"),
        "{line}"
    );
    assert!(!line.contains("credentials, but"), "{line}");
}

/// The AccessDenied hint of a chained hop names where the external ID came
/// from: the flag, or the setting as it was spelt.
#[test]
fn a_refused_hop_s_hint_names_the_external_id_s_own_source() {
    let sts = StandIn::start();
    sts.deny_role(ROLE2);
    for (step, args, source) in [
        (
            chained(&sts, ROLE2),
            &["--external-id", "ext-1"][..],
            "--external-id",
        ),
        (
            chained(&sts, ROLE2).set("PLUGIN_EXTERNALID", "ext-1"),
            &[][..],
            "PLUGIN_EXTERNALID",
        ),
    ] {
        let out = step.run(args);
        out.expect(3);
        let want = format!(
            "its sts:ExternalId condition, if any, matches the external ID (from {source})"
        );
        assert!(
            out.last_line().contains(&want),
            "{want}\n{}",
            out.last_line()
        );
    }
}

/// Under mask account, the refusal of an answer for another role shows
/// no account id, the answer's included.
#[test]
fn an_answer_for_another_role_is_refused_masked() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2).set("PLUGIN_MASK_ACCOUNT_ID", "true");
    let admin = Reply::StsEdited(
        ":210987654321:assumed-role/deploy/",
        ":999999999999:assumed-role/admin/".into(),
    );
    let line = refused(&sts, &step, &[Reply::Sts, admin]);
    assert!(
        line.contains("STS answered with arn:aws:sts::************:assumed-role/admin/harness-aws-oidc, not role deploy"),
        "{line}"
    );
    for account in [ACCOUNT, ACCOUNT2, "999999999999"] {
        assert!(!line.contains(account), "{line}");
    }
}

/// A server that quotes the first hop's secret key and session token back
/// in its refusal of the second: they are hidden on every stream, at info
/// and trace, as the token is (the scrubber learns a hop's secrets before
/// the next call is sent).
#[test]
fn a_refusal_quoting_the_first_hop_s_secrets_shows_none_of_them() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2);
    for level in ["info", "trace"] {
        sts.script(vec![Reply::Sts, Reply::EchoIssued]);
        let out = step.run(&["--log-level", level]);
        out.expect(3);
        assert!(
            out.last_line().contains("AccessDenied: denied for key "),
            "{}",
            out.stderr
        );
        hides(&out, &sts, &step);
        let first = &sts.issued()[0];
        for part in [&first.secret_access_key[..20], &first.session_token[..20]] {
            assert!(!out.stderr.contains(part), "{part}\n{}", out.stderr);
            assert!(!out.stdout.contains(part), "{part}\n{}", out.stdout);
        }
    }
}

/// One hop is not a chain: a duration past the hour is asked as set,
/// without the chaining line or a "hop 1 of 1"; a chain that asks exactly
/// the hour asks it without the line (mutation testing, issue 13).
#[test]
fn one_hop_asks_its_duration_as_set_and_a_chain_asks_the_hour_without_the_line() {
    let sts = StandIn::start();
    let out = Step::harness(&sts).set("PLUGIN_DURATION", "2h").run(&[]);
    out.expect(0);
    assert_eq!(sts.requests()[0].field("DurationSeconds"), Some("7200"));
    out.says_not("chained hops ask");
    out.says_not("hop 1 of 1");

    let sts = StandIn::start();
    let out = chained(&sts, ROLE2).set("PLUGIN_DURATION", "3600").run(&[]);
    out.expect(0);
    assert_eq!(sts.requests()[1].field("DurationSeconds"), Some("3600"));
    out.says_not("chained hops ask");
}

/// One hop's failures are not named as a hop: the message begins with
/// what went wrong, as before chaining (mutation testing, issue 13).
#[test]
fn one_hop_s_failures_are_not_named_as_a_hop() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let html = Reply::Raw(200, "text/html", b"<html>portal</html>".to_vec());
    let line = refused(&sts, &step, &[html]);
    assert!(
        line.starts_with("aws-oidc: error: 127.0.0.1 answered HTTP 200"),
        "{line}"
    );

    let step = Step::harness(&sts).set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT);
    let line = refused(&sts, &step, &[Reply::StsAsAccount("999999999999")]);
    assert!(
        line.starts_with("aws-oidc: error: STS answered with credentials for"),
        "{line}"
    );

    sts.script(vec![Reply::Close; 3]);
    let out = Step::harness(&sts).run(&[]);
    out.expect(4);
    assert!(
        out.last_line()
            .starts_with("aws-oidc: error: cannot reach 127.0.0.1"),
        "{}",
        out.stderr
    );
}

/// A shell that sources a chained run's `--format shell` output and runs
/// the same command again (an IRSA-style environment, the role in
/// `AWS_ROLE_ARN`) starts again at the first role: no output variable
/// overrides an input with another value (issue 18).
#[test]
fn a_second_run_in_the_shell_a_chained_run_exported_to_starts_at_the_first_role() {
    let sts = StandIn::start();
    let step = Step::harness(&sts)
        .unset("PLUGIN_IAMROLEARN")
        .unset("DRONE_OUTPUT")
        .set("AWS_ROLE_ARN", ROLE);
    let args = [
        "--chain-role-arn",
        ROLE2,
        "--format",
        "shell",
        "--output",
        "-",
    ];
    let first = step.run(&args);
    first.expect(0);
    let mut again = step;
    for line in first.stdout.lines() {
        let (key, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .unwrap_or_else(|| panic!("not an export: {line}"));
        again = again.set(key, value.trim_matches('\''));
    }
    again.run(&args).expect(0);
    let reqs = sts.requests();
    let roles: Vec<&str> = reqs.iter().filter_map(|r| r.field("RoleArn")).collect();
    assert_eq!(roles, [ROLE, ROLE2, ROLE, ROLE2]);
}
