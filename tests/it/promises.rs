//! Promises the README makes that only show from outside, each with a test
//! that fails when the promise breaks (issue 13): durability, rollback after
//! a failed write, the form's encoding on the wire, and dates checked
//! against literals rather than a copy of the calendar code.

use std::path::Path;

use crate::support::standin::{Proxy, PROXY_ONLY_HOST};
use crate::support::{bin, run_binary, Output, Reply, StandIn, Step};

/// Runs the step through `/bin/sh -c script`, which sets up the process
/// (a limit, a tracer) and execs the binary as `"$@"`.
fn run_through_sh(step: &Step, script: &str, prefix: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = step.env.iter().collect();
    let bin = bin();
    let mut all = vec!["-c", script, "sh"];
    all.extend(prefix);
    all.push(bin.to_str().unwrap());
    run_binary(Path::new("/bin/sh"), &env, &all, None)
}

/// Fails the test when strace is not installed: the tests that need it
/// must not pass by skipping.
fn require_strace() {
    let have = std::process::Command::new("strace").arg("-V").output();
    assert!(
        have.is_ok_and(|o| o.status.success()),
        "strace cannot be run; install it with `make deps` or `apt-get install strace`"
    );
}

/// Every output file is fsynced before the run reports success: the
/// binary runs under `strace`, and each file's descriptor must see an
/// `fsync` or `fdatasync` after its `openat`.
#[test]
fn every_output_file_is_synced_before_success() {
    require_strace();
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let log = step.dir.join("strace.log");
    let log_arg = log.display().to_string();
    let out = run_through_sh(
        &step,
        "exec \"$@\"",
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=openat,fsync,fdatasync",
            "-o",
            &log_arg,
        ],
    );
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    if out.code != 0 && trace.contains("PTRACE") {
        eprintln!("skipped: strace cannot trace here: {}", out.stderr);
        return;
    }
    out.expect(0);
    for file in [&step.secret_file, &step.vars_file] {
        let name = format!("\"{}\"", file.display());
        let (at, fd) = trace
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let fd = l.contains(&name).then(|| l.rsplit("= ").next())??;
                fd.trim().parse::<u32>().ok().map(|fd| (i, fd))
            })
            .unwrap_or_else(|| panic!("no openat of {name}:\n{trace}"));
        let synced = trace.lines().skip(at + 1).any(|l| {
            [format!("fsync({fd})"), format!("fdatasync({fd})")]
                .iter()
                .any(|call| l.contains(call.as_str()) && l.trim_end().ends_with("= 0"))
        });
        assert!(synced, "{name} (fd {fd}) is never synced:\n{trace}");
    }
}

/// A write that fails after both files were opened (the file size limit,
/// with SIGXFSZ ignored so the write returns EFBIG) undoes the run: the
/// created secret file is gone and the variables file keeps its old text.
#[test]
fn a_write_that_fails_after_the_open_leaves_every_file_as_it_was() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    // 2 KiB of old text, over the 1 KiB limit: appending to it fails.
    let old: String = (0..80)
        .map(|i| format!("OLD_{i:02}=0123456789abcdefghijklm\n"))
        .collect();
    assert!(old.len() > 2048);
    std::fs::write(&step.vars_file, &old).unwrap();
    let out = run_through_sh(&step, "trap '' XFSZ; ulimit -f 2; exec \"$@\"", &[]);
    out.expect(6);
    assert!(
        out.last_line().contains("cannot write") && out.last_line().contains("nothing was written"),
        "{}",
        out.stderr
    );
    assert!(
        !step.secret_file.exists(),
        "the created secret file is left behind"
    );
    assert_eq!(step.vars(), old, "the variables file was changed");
    assert_eq!(sts.requests().len(), 1);
}

/// A runner's SIGTERM while the outputs are being written undoes exactly
/// what a failed write undoes (attack finding 18.6): the credentials were
/// appended to the existing secret file, and the signal comes as the
/// variables file's write starts (strace delivers it on entering that
/// `write`, so the timing is the same every run). The secret file is back
/// to its old bytes, a created variables file is gone, an existing one
/// keeps its old bytes, and the run ends by SIGTERM (143).
#[test]
fn a_signal_between_two_writes_leaves_every_file_as_it_was() {
    require_strace();
    let old = "OLD=kept\nLAST=no newline";
    for vars_exists in [false, true] {
        let sts = StandIn::start();
        let step = Step::harness(&sts);
        write_private(&step.secret_file, old);
        if vars_exists {
            write_private(&step.vars_file, old);
        }
        let log = step.dir.join("strace.log");
        let (log_arg, secrets, vars) = (
            log.display().to_string(),
            step.secret_file.display().to_string(),
            step.vars_file.display().to_string(),
        );
        // Not exec'd, so the shell reports the signal's end as 143.
        let out = run_through_sh(
            &step,
            "\"$@\"; exit $?",
            &[
                "strace",
                "-f",
                "-qq",
                "-o",
                &log_arg,
                "-P",
                &secrets,
                "-P",
                &vars,
                "-e",
                "trace=write",
                "-e",
                "inject=write:signal=SIGTERM:when=2",
            ],
        );
        let trace = std::fs::read_to_string(&log).unwrap_or_default();
        if out.code != 143 && trace.contains("PTRACE") {
            eprintln!("skipped: strace cannot trace here: {}", out.stderr);
            return;
        }
        let case = format!("variables file existing: {vars_exists}");
        assert_eq!(out.code, 143, "{case}\n{}\n{trace}", out.stderr);
        // The secret file's write, the variables file's, then the signal
        // strace sent on entering the second.
        let lines: Vec<&str> = trace.lines().collect();
        assert!(
            lines.len() >= 3
                && lines[0].contains("AWS_ACCESS_KEY_ID=")
                && lines[1].contains("AWS_CREDENTIAL_EXPIRATION=")
                && lines[2].contains("--- SIGTERM {si_signo=SIGTERM, si_code=SI_KERNEL}"),
            "{case}: not signalled between the writes:\n{trace}"
        );
        assert_eq!(step.secrets(), old, "{case}: the secret file was changed");
        match vars_exists {
            true => assert_eq!(step.vars(), old, "{case}: the variables file was changed"),
            false => assert!(
                !step.vars_file.exists(),
                "{case}: the created file was left"
            ),
        }
        assert_eq!(sts.requests().len(), 1, "{case}");
    }
}

/// Writes `text` to a new file readable and writable by this user only, as
/// a destination must be.
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A redirect is not followed (README: exit 5): whatever the status, the
/// run stops at the first answer, writes nothing and says what came back.
#[test]
fn redirects_are_not_followed() {
    for status in [301, 302, 303, 307, 308] {
        let sts = StandIn::start();
        sts.script([Reply::Redirect(status, format!("{}/elsewhere", sts.url()))]);
        let step = Step::harness(&sts);
        let out = step.run(&[]);
        out.expect(5);
        assert!(
            out.last_line().contains(&format!(
                "answered HTTP {status} redirecting to {}/elsewhere (redirects are not followed)",
                sts.url()
            )),
            "{status}: {}",
            out.stderr
        );
        assert_eq!(sts.requests().len(), 1, "{status}: followed");
        assert!(!step.secret_file.exists() && !step.vars_file.exists());
    }
}

/// A proxy's 407 is an answer about the credentials, not a passing fault:
/// it is not retried, and the password is not shown.
#[test]
fn a_proxy_refusing_the_credentials_is_not_retried() {
    let sts = StandIn::start();
    let proxy = Proxy::refusing();
    let out = Step::harness(&sts)
        .set("PLUGIN_MAX_ATTEMPTS", "3")
        .set(
            "HTTPS_PROXY",
            &format!("http://ci:pr0xy-pa55@127.0.0.1:{}", proxy.port),
        )
        .set(
            "PLUGIN_STS_ENDPOINT",
            &format!("https://{PROXY_ONLY_HOST}:{}", sts.port),
        )
        .run(&[]);
    out.expect(4).assert_hides(&["pr0xy-pa55"]);
    assert!(
        out.last_line()
            .contains(&format!("refused to connect to {PROXY_ONLY_HOST}"))
            && out
                .last_line()
                .contains("check HTTPS_PROXY and its credentials"),
        "{}",
        out.stderr
    );
    assert_eq!(proxy.connects().len(), 1, "retried:\n{}", out.stderr);
    assert!(sts.requests().is_empty());
}

/// Reserved characters reach STS percent-encoded. The expected bytes are
/// written out by hand here, not by an encoder, and the stand-in refuses
/// any body that is not URL-encoded.
#[test]
fn reserved_characters_reach_sts_encoded() {
    let sts = StandIn::start();
    let session = "a+b=c,d@e";
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/50%&+ x"}]}"#;
    let step = Step::harness(&sts)
        .set("PLUGIN_ROLE_SESSION_NAME", session)
        .set("PLUGIN_POLICY", policy);
    step.run(&[]).expect(0).assert_hides(&[policy]);
    let req = &sts.requests()[0];
    assert_eq!(req.field("RoleSessionName"), Some(session));
    assert_eq!(req.field("Policy"), Some(policy));
    for encoded in [
        "&RoleSessionName=a%2Bb%3Dc%2Cd%40e&",
        "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fharness-ci&",
        "&Policy=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F50%25%26%2B+x%22%7D%5D%7D",
    ] {
        assert!(
            req.body.contains(encoded),
            "{encoded} not in the body sent"
        );
    }
}

/// The stand-in's calendar against dates read off a calendar, so that it
/// cannot agree with the binary's by sharing a mistake.
#[test]
fn the_stand_ins_dates_are_right_on_literal_days() {
    for (t, want) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_399, "2000-02-28T23:59:59Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (4_107_542_399, "2100-02-28T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
        (1_798_761_599, "2026-12-31T23:59:59Z"),
    ] {
        assert_eq!(crate::support::standin::iso(t), want, "{t}");
    }
}

/// credential-process turns an answer's `Expiration` into RFC 3339 in UTC
/// with whole seconds: checked on literal answers, leap days included, so
/// no calendar code of the tests is involved.
#[test]
fn credential_process_expiration_matches_literal_dates() {
    for (answered, want) in [
        ("2096-02-29T23:59:59.999999Z", "2096-02-29T23:59:59Z"),
        ("2100-03-01T00:00:00Z", "2100-03-01T00:00:00Z"),
        ("2099-12-31T23:59:59.5Z", "2099-12-31T23:59:59Z"),
    ] {
        let sts = StandIn::start();
        sts.script([Reply::Raw(
            200,
            "text/xml",
            crate::support::standin::success_xml(KEY_ID, SECRET, TOKEN, answered, ARN),
        )]);
        let out = Step::harness(&sts).run(&["--format", "credential-process"]);
        out.expect(0);
        assert_eq!(
            out.stdout,
            format!("{{\"Version\":1,\"AccessKeyId\":\"{KEY_ID}\",\"SecretAccessKey\":\"{SECRET}\",\"SessionToken\":\"{TOKEN}\",\"Expiration\":\"{want}\"}}\n"),
            "{answered}"
        );
    }
}

const KEY_ID: &str = "ASIAPROMISES00000001";
const SECRET: &str = "promisesCaseSecretKey00000000000000000001";
const TOKEN: &str = "promisesCaseSessionToken0000000000000001";
/// The role and session a harness step asks for (an answer must name them,
/// docs/reference.md §5.1).
const ARN: &str = "arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc";

/// `HTTP_PROXY` (either case) is for plain http and is never used for STS
/// over https, alone or not; `HTTPS_PROXY` is. `--check` names the proxy
/// it would use, without sending anything.
#[test]
fn http_proxy_alone_is_not_used_for_https() {
    let sts = StandIn::start();
    let endpoint = format!("https://{PROXY_ONLY_HOST}:{}", sts.port);
    for (var, want) in [
        ("HTTP_PROXY", "proxy: none\n".to_string()),
        ("http_proxy", "proxy: none\n".to_string()),
        (
            "HTTPS_PROXY",
            "proxy: http://127.0.0.1:9 (from HTTPS_PROXY)\n".to_string(),
        ),
    ] {
        let out = Step::harness(&sts)
            .set("PLUGIN_STS_ENDPOINT", &endpoint)
            .set(var, "http://127.0.0.1:9")
            .run(&["--check"]);
        out.expect(0);
        assert!(out.stdout.contains(&want), "{var}:\n{}", out.stdout);
    }
    assert!(sts.requests().is_empty());
}

/// Each documented range, just inside and just outside both ends, through
/// the binary (`--check`): the timeout (1s-1h), the token (4-20000 chars)
/// and the session policy (1-2048 chars).
#[test]
fn setting_ranges_hold_at_their_edges() {
    let sts = StandIn::start();
    let policy = |len: usize| {
        let head = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"#;
        let tail = r#""}]}"#;
        format!("{head}{}{tail}", "p".repeat(len - head.len() - tail.len()))
    };
    let token = |len: usize| "t".repeat(len);
    let ok: Vec<(&str, String)> = vec![
        ("PLUGIN_TIMEOUT", "1".into()),
        ("PLUGIN_TIMEOUT", "3600".into()),
        ("PLUGIN_TIMEOUT", "60m".into()),
        ("PLUGIN_OIDC_TOKEN_ID", token(4)),
        ("PLUGIN_OIDC_TOKEN_ID", token(20_000)),
        ("PLUGIN_POLICY", policy(2048)),
    ];
    for (var, value) in &ok {
        let out = Step::harness(&sts).set(var, value).run(&["--check"]);
        out.expect(0);
        if var != &"PLUGIN_TIMEOUT" {
            out.assert_hides(&[value]);
        }
    }
    let refused: Vec<(&str, String, &str)> = vec![
        (
            "PLUGIN_TIMEOUT",
            "0".into(),
            "PLUGIN_TIMEOUT: 0 seconds is outside 1s-1h",
        ),
        (
            "PLUGIN_TIMEOUT",
            "3601".into(),
            "PLUGIN_TIMEOUT: 3601 seconds is outside 1s-1h",
        ),
        (
            "PLUGIN_TIMEOUT",
            "61m".into(),
            "PLUGIN_TIMEOUT: 3660 seconds is outside 1s-1h",
        ),
        (
            "PLUGIN_OIDC_TOKEN_ID",
            token(3),
            "PLUGIN_OIDC_TOKEN_ID: the token is 3 chars; STS accepts 4-20000",
        ),
        (
            "PLUGIN_OIDC_TOKEN_ID",
            token(20_001),
            "PLUGIN_OIDC_TOKEN_ID: the token is 20001 chars; STS accepts 4-20000",
        ),
        (
            "PLUGIN_POLICY",
            policy(2049),
            "PLUGIN_POLICY: the session policy is 2049 chars; STS accepts 1-2048",
        ),
    ];
    for (var, value, want) in &refused {
        let out = Step::harness(&sts).set(var, value).run(&["--check"]);
        out.expect(2);
        assert!(
            out.last_line().contains(want),
            "{var}={}…: {}",
            &value[..1],
            out.stderr
        );
        if var != &"PLUGIN_TIMEOUT" {
            out.assert_hides(&[value]);
        }
    }
    assert!(sts.requests().is_empty());
}

/// An answer body of 1 MiB is read; one byte more is refused as over the
/// limit, whatever it holds.
#[test]
fn the_body_limit_is_one_mib_exactly() {
    let sts = StandIn::start();
    let mut body =
        crate::support::standin::success_xml(KEY_ID, SECRET, TOKEN, "2099-01-01T00:00:00Z", ARN);
    body.resize(1 << 20, b' ');
    let mut over = body.clone();
    over.push(b' ');
    sts.script([
        Reply::Raw(200, "text/xml", body),
        Reply::Raw(200, "text/xml", over),
    ]);
    let step = Step::harness(&sts).set("PLUGIN_MAX_ATTEMPTS", "1");
    step.run(&[]).expect(0);
    assert!(step.secrets().contains(SECRET));
    let step = Step::harness(&sts).set("PLUGIN_MAX_ATTEMPTS", "1");
    let out = step.run(&[]);
    out.expect(5).assert_hides(&[SECRET, TOKEN]);
    assert!(
        out.last_line().contains("with a body over 1 MiB"),
        "{}",
        out.stderr
    );
    assert!(!step.secret_file.exists());
}

/// `--check` prints the role ARN and the files it would write; under mask
/// account the account number is masked there too.
#[test]
fn check_output_is_masked_under_mask_account() {
    let sts = StandIn::start();
    let out = Step::harness(&sts)
        .set("PLUGIN_MASK_ACCOUNT_ID", "true")
        .run(&["--check"]);
    out.expect(0);
    assert!(
        !out.stdout.contains(crate::support::ACCOUNT)
            && !out.stderr.contains(crate::support::ACCOUNT),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout
            .contains("arn:aws:iam::************:role/harness-ci"),
        "{}",
        out.stdout
    );
    assert!(sts.requests().is_empty());
}

/// Each answer field's allow-list at its edges, through the binary: every
/// ASCII punctuation character (and a lower-case letter in the key id) in
/// the middle of a field is written or refused as the literal lists here
/// say, which are STS's alphabets as documented, not the code's.
#[test]
fn answer_allow_lists_hold_at_their_edges() {
    let sts = StandIn::start();
    let punctuation: Vec<char> = (0x21u8..0x7f)
        .map(char::from)
        .filter(char::is_ascii_punctuation)
        .collect();
    let fields = [
        ("AccessKeyId", ""),
        ("SecretAccessKey", "+/=-_."),
        ("SessionToken", "+/=-_."),
        ("AssumedRoleUser/Arn", "+=,.@_/:-"),
    ];
    let xml = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    for (field, allowed) in fields {
        let extra = if field == "AccessKeyId" {
            vec!['a', 'z']
        } else {
            vec![]
        };
        for c in punctuation.iter().copied().chain(extra) {
            let [mut key_id, mut secret, mut token, mut arn] =
                [KEY_ID, SECRET, TOKEN, ARN].map(String::from);
            let value = match field {
                "AccessKeyId" => &mut key_id,
                "SecretAccessKey" => &mut secret,
                "SessionToken" => &mut token,
                _ => &mut arn,
            };
            value.insert(value.len() - 2, c);
            let value = value.clone();
            let body = crate::support::standin::success_xml(
                &xml(&key_id),
                &xml(&secret),
                &xml(&token),
                "2099-01-01T00:00:00Z",
                &xml(&arn),
            );
            sts.script([Reply::Raw(200, "text/xml", body)]);
            let step = Step::harness(&sts);
            // The character lands in the session's name, which the run
            // must then have asked for; `/` and `:` cannot be in one, so
            // such an ARN names another role or session (refused below).
            let arn_field = field == "AssumedRoleUser/Arn" && allowed.contains(c);
            let in_session = arn_field && !"/:".contains(c);
            let step = match in_session {
                true => step.set("PLUGIN_ROLE_SESSION_NAME", arn.rsplit('/').next().unwrap()),
                false => step,
            };
            let out = step.run(&[]);
            if arn_field && !in_session {
                assert_eq!(out.code, 5, "{field} with {c:?} accepted");
                assert!(
                    out.last_line()
                        .contains("not role harness-ci as session harness-aws-oidc"),
                    "{}",
                    out.stderr
                );
            } else if allowed.contains(c) {
                assert_eq!(out.code, 0, "{field} with {c:?}: {}", out.stderr);
                assert!(
                    step.secrets().contains(&value) || step.vars().contains(&value),
                    "{field} with {c:?} not written"
                );
            } else {
                assert_eq!(out.code, 5, "{field} with {c:?} accepted");
                assert!(
                    out.last_line().contains(&format!(
                        "the answer holds a character STS never sends in {field}"
                    )),
                    "{field} with {c:?}: {}",
                    out.stderr
                );
                assert!(!step.secret_file.exists() && !step.vars_file.exists());
            }
        }
    }
}

/// Literal tokens shaped like real Harness, GitLab and Kubernetes ones
/// (`tests/fixtures/tokens/`, encoded once outside this code) reach STS
/// byte for byte, and the debug line reads their claims as the fixture
/// wrote them, with the literal expiry date.
#[test]
fn real_shaped_tokens_are_sent_as_is_and_their_claims_read() {
    let sts = StandIn::start();
    for (file, iss, aud, sub) in [
        (
            "harness.jwt",
            "https://app.harness.io/ng/api/oidc/account/Vb4dWtRmSe2cG0aH3pL1Qw",
            "sts.amazonaws.com",
            "account/Vb4dWtRmSe2cG0aH3pL1Qw:org/default:project/payments:pipeline/deploy_prod",
        ),
        (
            "gitlab.jwt",
            "https://gitlab.example.com",
            "sts.amazonaws.com",
            "project_path:platform/deploy:ref_type:branch:ref:main",
        ),
        (
            "kubernetes.jwt",
            "https://oidc.eks.eu-west-1.amazonaws.com/id/5C5A6E1F0B2D4E6F8A9B0C1D2E3F4A5B",
            "sts.amazonaws.com",
            "system:serviceaccount:ci:deployer",
        ),
    ] {
        let token = String::from_utf8(crate::support::fixture(&format!("tokens/{file}"))).unwrap();
        let token = token.trim_end();
        let before = sts.requests().len();
        let out = Step::harness(&sts)
            .set("PLUGIN_OIDC_TOKEN_ID", token)
            .set("PLUGIN_LOG_LEVEL", "debug")
            .run(&[]);
        out.expect(0)
            .assert_hides(&[token, token.rsplit('.').next().unwrap()]);
        let want =
            format!("token claims: iss={iss} aud={aud} sub={sub} exp=2100-01-01T00:00:00Z (in ");
        assert!(
            out.stderr.contains(&want),
            "{file}: want {want}\n{}",
            out.stderr
        );
        assert_eq!(
            sts.requests()[before].field("WebIdentityToken"),
            Some(token),
            "{file}"
        );
    }
}
