//! Inputs read with bounds, and only STS's alphabet reaching a file (issue
//! 9): the token file and CA bundle must be regular files, the token one
//! line of printable ASCII, the CA bundle usable certificates; an answer
//! with a character STS never sends, a loose `Expiration`, bytes that are
//! not UTF-8, a foreign charset or oversized headers is refused with exit 5
//! and nothing written. Each case runs the real binary against the stand-in.

use crate::support::*;
use std::path::Path;

/// A Harness step whose token comes from this file instead of the env.
fn with_token_file(sts: &StandIn, path: &Path) -> Step {
    Step::harness(sts)
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", path.to_str().unwrap())
}

/// Asserts a refused run: the code, a piece of the error line, nothing
/// written anywhere, no request made when `requests` is 0.
fn refused(step: &Step, sts: &StandIn, out: &Output, code: i32, says: &str, requests: usize) {
    out.expect(code);
    assert!(
        out.last_line().starts_with("aws-oidc: error: ") && out.last_line().contains(says),
        "wanted `{says}` in the error line:\n{}",
        out.stderr
    );
    assert_eq!(step.secrets(), "", "the secret file gained a line");
    assert_eq!(step.vars(), "", "the variables file gained a line");
    assert_eq!(out.stdout, "");
    assert_eq!(sts.requests().len(), requests, "requests made");
}

#[test]
fn a_token_fifo_without_a_writer_fails_at_once() {
    let sts = StandIn::start();
    let dir = temp_dir("fifo");
    let fifo = dir.join("token");
    mkfifo(&fifo);
    // A symlink leading to the FIFO is no better.
    let link = dir.join("link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    for path in [&fifo, &link] {
        // Today's hang ignored PLUGIN_TIMEOUT; a short one makes that plain.
        let step = with_token_file(&sts, path).set("PLUGIN_TIMEOUT", "2s");
        let out = run_bounded(&step.env);
        refused(
            &step,
            &sts,
            &out,
            2,
            "is a FIFO (named pipe), not a regular file",
            0,
        );
        assert!(out
            .last_line()
            .starts_with("aws-oidc: error: AWS_WEB_IDENTITY_TOKEN_FILE: "));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn devices_and_directories_are_not_token_files_or_ca_bundles() {
    let sts = StandIn::start();
    for (path, what) in [
        ("/dev/zero", "is a character device, not a regular file"),
        ("/dev/null", "is a character device, not a regular file"),
        ("/", "is a directory, not a regular file"),
    ] {
        let step = with_token_file(&sts, Path::new(path));
        let out = run_bounded(&step.env);
        refused(&step, &sts, &out, 2, what, 0);
        let step = Step::harness(&sts).set("PLUGIN_CA_BUNDLE", path);
        let out = run_bounded(&step.env);
        refused(&step, &sts, &out, 2, what, 0);
        assert!(out
            .last_line()
            .starts_with("aws-oidc: error: PLUGIN_CA_BUNDLE: "));
    }
}

#[test]
fn a_kubernetes_symlink_chain_to_a_token_file_works() {
    // The kubelet's projected volume: token -> ..data/token, ..data -> a
    // timestamped folder holding the regular file.
    let sts = StandIn::start();
    let dir = temp_dir("projected");
    let stamped = dir.join("..2026_11_26_13_00_00.123456789");
    std::fs::create_dir(&stamped).unwrap();
    let probe = Step::harness(&sts);
    write_file(&stamped, "token", &format!("{}\n", probe.token));
    std::os::unix::fs::symlink(stamped.file_name().unwrap(), dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/token", dir.join("token")).unwrap();
    let step = with_token_file(&sts, &dir.join("token"));
    let out = run_bounded(&step.env);
    out.expect(0).assert_hides(&[&probe.token]);
    assert_eq!(
        sts.requests().pop().unwrap().field("WebIdentityToken"),
        Some(probe.token.as_str())
    );
    assert_eq!(step.secrets().lines().count(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_token_is_one_line_of_printable_ascii() {
    let sts = StandIn::start();
    let dir = temp_dir("tokens");
    let jwt = harness_token();
    let (head, rest) = jwt.split_at(30);
    let cases = [
        ("two lines", format!("{jwt}\n{jwt}\n"), "the token in "),
        (
            "inner newline",
            format!("{head}\n{rest}"),
            "spans more than one line",
        ),
        (
            "NUL",
            format!("{head}\0{rest}"),
            "control character U+0000 at character 31",
        ),
        (
            "inner space",
            format!("{head} {rest}"),
            "whitespace at character 31",
        ),
        (
            "inner tab",
            format!("{head}\t{rest}"),
            "whitespace at character 31",
        ),
        (
            "non-ASCII",
            format!("{head}é{rest}"),
            "a non-ASCII character at character 31",
        ),
    ];
    for (name, text, says) in &cases {
        let file = write_file(&dir, "token", text);
        let step = with_token_file(&sts, &file);
        let out = run_bounded(&step.env);
        refused(&step, &sts, &out, 2, says, 0);
        assert!(
            out.last_line().starts_with(&format!(
                "aws-oidc: error: AWS_WEB_IDENTITY_TOKEN_FILE: the token in {} ",
                file.display()
            )),
            "{name}: the error names where the token came from:\n{}",
            out.stderr
        );
        out.assert_hides(&[head, rest, &jwt]);
    }
    // The same rule for a token in the environment, named by its variable.
    let step = Step::harness(&sts).set("PLUGIN_OIDC_TOKEN_ID", &format!("{head}\n{rest}"));
    let out = run_bounded(&step.env);
    refused(
        &step,
        &sts,
        &out,
        2,
        "PLUGIN_OIDC_TOKEN_ID: the token spans more than one line",
        0,
    );
    out.assert_hides(&[head, rest]);
    // Surrounding whitespace, one trailing newline included, is trimmed.
    let file = write_file(&dir, "token", &format!(" \t{jwt} \r\n"));
    let step = with_token_file(&sts, &file);
    run_bounded(&step.env).expect(0);
    assert_eq!(
        sts.requests().pop().unwrap().field("WebIdentityToken"),
        Some(jwt.as_str())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_opaque_token_is_sent_with_a_warning() {
    let sts = StandIn::start();
    let token = "opaque:SIG:abc!def";
    let step = Step::harness(&sts).set("PLUGIN_OIDC_TOKEN_ID", token);
    let out = run_bounded(&step.env);
    out.expect(0).assert_hides(&[token]);
    assert!(
        out.stderr.contains(
            "warning: PLUGIN_OIDC_TOKEN_ID: the token is not a JWT (three base64url parts joined by dots); it is sent as is"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        sts.requests().pop().unwrap().field("WebIdentityToken"),
        Some(token)
    );
    // A JWT draws no such warning.
    let out = run_bounded(&Step::harness(&sts).env);
    out.expect(0);
    out.says_not("not a JWT");
}

const GARBAGE_PEM: &str = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZSwgbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

#[test]
fn a_ca_bundle_without_a_usable_certificate_is_refused_before_any_traffic() {
    let sts = StandIn::start();
    let dir = temp_dir("ca");
    let bad = write_file(&dir, "garbage.pem", GARBAGE_PEM);
    let step = Step::harness(&sts).set("PLUGIN_CA_BUNDLE", bad.to_str().unwrap());
    let out = run_bounded(&step.env);
    refused(
        &step,
        &sts,
        &out,
        2,
        "holds 1 PEM certificate block but no usable X.509 certificate",
        0,
    );
    // Beside a good certificate, the bad block is named and skipped.
    let ca = std::fs::read_to_string(sts.ca()).unwrap();
    let mixed = write_file(&dir, "mixed.pem", &format!("{GARBAGE_PEM}{ca}"));
    let step = Step::harness(&sts)
        .set("PLUGIN_CA_BUNDLE", mixed.to_str().unwrap())
        .set("PLUGIN_LOG_LEVEL", "debug");
    let out = run_bounded(&step.env);
    out.expect(0);
    out.says(&format!(
            "warning: PLUGIN_CA_BUNDLE: 1 of the 2 PEM certificate blocks in {} are not usable X.509 certificates and are ignored",
            mixed.display()
        ));
    out.says("(1 certificates)");
    std::fs::remove_dir_all(&dir).unwrap();
}

const KEY_ID: &str = "ASIABOUNDS0000000001";
const SECRET: &str = "boundsCaseSecretKey000000000000000000001";
const TOKEN: &str = "boundsCaseSessionToken00000000000000001";
const EXPIRES: &str = "2099-01-01T00:00:00Z";
/// The role and session a harness step asks for.
const ARN: &str = "arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc";

/// Runs one answer through every format; each must refuse it the same way.
fn refused_in_every_format(body: &[u8], content_type: &'static str, says: &str, hide: &[&str]) {
    for format in ["harness", "dotenv", "shell", "json", "credential-process"] {
        for level in ["info", "trace"] {
            let sts = StandIn::start();
            sts.script([Reply::Raw(200, content_type, body.to_vec())]);
            let step = match format {
                "harness" => Step::harness(&sts),
                "credential-process" => Step::harness(&sts).set("PLUGIN_OUTPUT_FORMAT", format),
                _ => Step::harness(&sts)
                    .set("PLUGIN_OUTPUT_FILE", "-")
                    .set("PLUGIN_OUTPUT_FORMAT", format),
            }
            .set("PLUGIN_LOG_LEVEL", level);
            let out = run_bounded(&step.env);
            let ctx = format!("{format} at {level}");
            assert_eq!(out.code, 5, "{ctx}\n{}", out.stderr);
            assert!(
                out.last_line().contains(says),
                "{ctx}: wanted `{says}`\n{}",
                out.stderr
            );
            assert_eq!(step.secrets(), "", "{ctx}");
            assert_eq!(step.vars(), "", "{ctx}");
            assert_eq!(out.stdout, "", "{ctx}");
            let mut secrets = hide.to_vec();
            secrets.push(&step.token);
            out.assert_hides(&secrets);
        }
    }
}

#[test]
fn a_session_token_or_arn_with_a_shell_command_is_never_written() {
    let dir = temp_dir("hostile");
    let marker = dir.join("x");
    let m = marker.display();
    let token = format!(";{{touch,{m}}}");
    refused_in_every_format(
        &standin::success_xml(KEY_ID, SECRET, &token, EXPIRES, ARN),
        "text/xml",
        "the answer holds a character STS never sends in SessionToken",
        &[SECRET, &token],
    );
    let arn = format!("arn:aws:sts::123456789012:assumed-role/x/y;id>{m}");
    refused_in_every_format(
        &standin::success_xml(KEY_ID, SECRET, TOKEN, EXPIRES, &arn),
        "text/xml",
        "the answer holds a character STS never sends in AssumedRoleUser/Arn",
        &[SECRET, TOKEN, &arn],
    );
    for (field, body) in [
        (
            "AccessKeyId",
            standin::success_xml("ASIA$(id)00000000000", SECRET, TOKEN, EXPIRES, ARN),
        ),
        (
            "SecretAccessKey",
            standin::success_xml(KEY_ID, "secret`id`key", TOKEN, EXPIRES, ARN),
        ),
        (
            "SessionToken",
            standin::success_xml(KEY_ID, SECRET, "token\\with\\backslash", EXPIRES, ARN),
        ),
    ] {
        refused_in_every_format(
            &body,
            "text/xml",
            &format!("the answer holds a character STS never sends in {field}"),
            &[SECRET, TOKEN, "secret`id`key", "token\\with"],
        );
    }
    assert!(!marker.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_leap_second_at_the_end_of_9999_is_not_an_expiration() {
    // Today credential-process turned it into "10000-01-01T00:00:00Z".
    refused_in_every_format(
        &standin::success_xml(KEY_ID, SECRET, TOKEN, "9999-12-31T23:59:60Z", ARN),
        "text/xml",
        "Expiration is not an RFC 3339 UTC time",
        &[SECRET, TOKEN],
    );
}

#[test]
fn bytes_that_are_not_utf8_or_a_foreign_charset_are_refused() {
    let mut latin1 = standin::success_xml(
        KEY_ID,
        SECRET,
        "boundsCaseSessionToken\u{e9}000000000000001",
        EXPIRES,
        ARN,
    );
    // é as ISO-8859-1 writes it: one byte, not UTF-8.
    let at = latin1.windows(2).position(|w| w == "é".as_bytes()).unwrap();
    latin1.splice(at..at + 2, [0xe9]);
    refused_in_every_format(
        &latin1,
        "text/xml",
        "the body is not UTF-8",
        &[SECRET, TOKEN],
    );
    let plain = standin::success_xml(KEY_ID, SECRET, TOKEN, EXPIRES, ARN);
    refused_in_every_format(
        &plain,
        "text/xml; charset=iso-8859-1",
        "the body is declared as charset `iso-8859-1`",
        &[SECRET, TOKEN],
    );
    let declared = [
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n".as_slice(),
        &plain,
    ]
    .concat();
    refused_in_every_format(
        &declared,
        "text/xml",
        "the XML declares encoding `ISO-8859-1`",
        &[SECRET, TOKEN],
    );
    // UTF-8 and US-ASCII, in any case and either place, are read.
    for (content_type, decl) in [
        (
            "text/xml; charset=UTF-8",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        ),
        (
            "text/xml;charset=\"us-ascii\"",
            "<?xml version='1.0' encoding='US-ASCII'?>",
        ),
        ("text/xml", "<?xml version=\"1.0\"?>"),
    ] {
        let sts = StandIn::start();
        let body = [decl.as_bytes(), &plain].concat();
        sts.script([Reply::Raw(200, content_type, body)]);
        let step = Step::harness(&sts);
        run_bounded(&step.env).expect(0);
        assert!(step.secrets().contains(TOKEN), "{content_type} {decl}");
    }
}

#[test]
fn response_headers_over_the_limit_are_an_answer_not_understood() {
    // Far over, and one byte over: both are named as too large (exit 5),
    // never as a connection that closed (exit 4).
    for reply in [
        Reply::StsWithHeaders(100 << 10),
        Reply::StsWithHeaderBlock((16 << 10) + 1),
    ] {
        let sts = StandIn::start();
        sts.script([reply.clone()]);
        let step = Step::harness(&sts);
        let out = run_bounded(&step.env);
        refused(
            &step,
            &sts,
            &out,
            5,
            "answered with response headers over 16 KiB, which is not an STS answer",
            1,
        );
        out.assert_hides(
            &secrets_of(&sts, &step.token)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    // 12 KB of headers, as some gateways add, is still an answer; so is a
    // block of exactly 16 KiB.
    for reply in [
        Reply::StsWithHeaders(12 << 10),
        Reply::StsWithHeaderBlock(16 << 10),
    ] {
        let sts = StandIn::start();
        sts.script([reply.clone()]);
        let step = Step::harness(&sts);
        run_bounded(&step.env).expect(0);
        assert_eq!(step.secrets().lines().count(), 3, "{reply:?}");
    }
}

/// The longest session token an answer may hold (docs/reference.md §3.4).
const SESSION_TOKEN_LIMIT: usize = 64 << 10;

/// A first hop's session token at the limit signs the next call (attack
/// finding 18.7: from 8 KiB on, the signed request was never sent): a
/// chained hop, whose body of ten long policy ARNs is far over 8 KiB too,
/// and `--verify`. The stand-in verifies each signature against the token
/// it issued.
#[test]
fn a_session_token_at_the_limit_signs_the_next_call() {
    let arns: Vec<String> = (0..10)
        .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}{}", "x".repeat(1900)))
        .collect();
    let arns = arns.join(",");
    for chained in [true, false] {
        let sts = StandIn::start();
        sts.script([Reply::StsWithTokenOf(SESSION_TOKEN_LIMIT)]);
        let step = match chained {
            true => Step::harness(&sts)
                .set(
                    "PLUGIN_CHAINROLEARN",
                    "arn:aws:iam::210987654321:role/deploy",
                )
                .set("PLUGIN_POLICY_ARNS", &arns),
            false => Step::harness(&sts).set("PLUGIN_VERIFY", "true"),
        };
        let out = step.run(&[]);
        out.expect(0);
        let (issued, signatures) = (sts.issued(), sts.signatures());
        assert_eq!(issued[0].session_token.len(), SESSION_TOKEN_LIMIT);
        assert_eq!(signatures.len(), 1, "chained: {chained}: {}", out.stderr);
        assert_eq!(
            signatures[0].session_token.as_deref(),
            Some(issued[0].session_token.as_str()),
            "chained: {chained}"
        );
        if chained {
            assert_eq!(
                sts.requests()[1]
                    .field("PolicyArns.member.10.arn")
                    .map(str::len),
                Some(1935)
            );
            assert!(step.secrets().contains(&issued[1].access_key_id));
        }
        let secrets = secrets_of(&sts, &step.token);
        out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// A session token over the limit is an answer not understood (exit 5),
/// saying so, and nothing is written: on the default path and on a chain's
/// first hop alike.
#[test]
fn a_session_token_over_the_limit_is_refused() {
    for chained in [false, true] {
        let sts = StandIn::start();
        sts.script([Reply::StsWithTokenOf(SESSION_TOKEN_LIMIT + 1)]);
        let mut step = Step::harness(&sts);
        if chained {
            step = step.set(
                "PLUGIN_CHAINROLEARN",
                "arn:aws:iam::210987654321:role/deploy",
            );
        }
        let out = step.run(&[]);
        refused(
            &step,
            &sts,
            &out,
            5,
            "answered HTTP 200 with credentials, but SessionToken is 65537 characters, over the 65536 aws-oidc takes; nothing was written",
            1,
        );
        let secrets = secrets_of(&sts, &step.token);
        out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
