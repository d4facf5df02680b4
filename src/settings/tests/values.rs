//! Values: role ARNs, session names, durations, regions and booleans, policy
//! ARNs and account ids, and how bad values are described.

use super::*;

#[test]
fn role_arns() {
    let good = [
        ("arn:aws:iam::123456789012:role/ci", "aws"),
        ("arn:aws-cn:iam::123456789012:role/path/to/ci", "aws-cn"),
        (
            "arn:aws-us-gov:iam::123456789012:role/a_b+c=d,e.f@g-h",
            "aws-us-gov",
        ),
        ("arn:aws-iso-b:iam::123456789012:role/x", "aws-iso-b"),
        ("arn:aws-eusc:iam::123456789012:role/x", "aws-eusc"),
    ];
    for (arn, partition) in good {
        let r = parse_role_arn(arn).unwrap();
        assert_eq!(
            (r.partition.as_str(), r.account.as_str()),
            (partition, "123456789012")
        );
    }
    let bad = [
        ("arn:aws:iam::12345678901:role/ci", "not 12 digits"),
        ("arn:aws:iam::1234567890123:role/ci", "not 12 digits"),
        ("arn:aws:iam::123456789012:user/ci", "not a role"),
        ("arn:aws:s3::123456789012:role/ci", "not an IAM role ARN"),
        (
            "arn:aws:iam:us-east-1:123456789012:role/ci",
            "not an IAM role ARN",
        ),
        ("arn:azure:iam::123456789012:role/ci", "partition `azure`"),
        ("arn:aws:iam::123456789012:role/", "not valid"),
        ("arn:aws:iam::123456789012:role/c i", "not valid"),
        ("arn:aws:iam::123456789012:role/ci/", "not valid"),
        ("123456789012", "20-2048"),
        ("role/ci-deploy-xxxxxxxxxxxxxx", "not a role ARN"),
    ];
    for (arn, want) in bad {
        let e = parse_role_arn(arn).unwrap_err();
        assert!(e.contains(want), "{arn}: {e}");
    }
    assert!(parse_role_arn(&format!(
        "arn:aws:iam::123456789012:role/{}",
        "a".repeat(2040)
    ))
    .unwrap_err()
    .starts_with("a role ARN is 20-2048 chars, this one is 2071; expected arn:PARTITION:iam::ACCOUNT:role/NAME"));
}

#[test]
fn session_names() {
    let check = |input: &str, want: Result<(&str, bool), ()>| {
        let got = sanitize_session_name(input);
        match want {
            Ok((name, changed)) => {
                assert_eq!(got.unwrap(), (name.to_string(), changed), "{input}")
            }
            Err(()) => assert!(got.is_err(), "{input}"),
        }
    };
    check("harness-aws-oidc", Ok(("harness-aws-oidc", false)));
    check("a_b+c=d,e.f@g-h", Ok(("a_b+c=d,e.f@g-h", false)));
    check("my pipeline/run#7", Ok(("my-pipeline-run-7", true)));
    check("é1", Ok(("-1", true)));
    check(&"a".repeat(70), Ok((&"a".repeat(64), true)));
    check("a", Err(()));
    let s = ok(
        &[
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "head.body.sig"),
            ("PLUGIN_ROLESESSIONNAME", "run 42"),
        ],
        &[],
    );
    assert_eq!(s.session_name.value, "run-42");
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("using `run-42`"));
    let s = ok(
        &[
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "head.body.sig"),
        ],
        &[],
    );
    assert_eq!(s.session_name.value, "harness-aws-oidc");
    assert!(s.warnings.is_empty());
}

#[test]
fn durations() {
    let cases = [
        ("900", Ok(900)),
        ("3600", Ok(3600)),
        ("3600s", Ok(3600)),
        ("15m", Ok(900)),
        ("1h", Ok(3600)),
        ("12h", Ok(43200)),
        ("43200", Ok(43200)),
        ("899", Err("outside 900-43200")),
        ("43201", Err("outside")),
        ("13h", Err("outside")),
        ("1d", Err("not a duration")),
        ("abc", Err("not a duration")),
        ("-900", Err("not a duration")),
        ("1.5h", Err("not a duration")),
        ("99999999999999", Err("not a duration")),
    ];
    for (input, want) in cases {
        match (parse_duration(input), want) {
            (Ok(got), Ok(w)) => assert_eq!(got, w, "{input}"),
            (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    assert_eq!(ok(&base, &[]).duration, None);
    for name in DURATION.envs {
        let mut env = base.to_vec();
        env.push((name, "1h"));
        assert_eq!(
            ok(&env, &[]).duration.map(|d| d.value),
            Some(3600),
            "{name}"
        );
    }
    let mut env = base.to_vec();
    env.push(("PLUGIN_DURATION", "5"));
    assert_eq!(
        err(&env, &[]),
        "PLUGIN_DURATION: 5 seconds is outside 900-43200 (15m-12h); the role's maximum session duration also caps it"
    );
}

#[test]
fn regions_booleans_and_small_values() {
    for r in [
        "us-east-1",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "eusc-de-east-1",
        "aws-global",
        "ap-southeast-5",
    ] {
        assert_eq!(parse_region(r).unwrap(), r);
    }
    for r in [
        "us-east",
        "US-EAST-1",
        "useast1",
        "u-east-1",
        "us--1",
        "us-east-1a",
        "",
        "us_east_1",
    ] {
        assert_eq!(
            parse_region(r).unwrap_err(),
            format!("`{r}` is not a region; use a region code such as us-east-1 or eu-west-2, or aws-global"),
        );
    }
    for (s, b) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("Yes", true),
        ("on", true),
        ("false", false),
        ("0", false),
        ("NO", false),
        ("off", false),
    ] {
        assert_eq!(parse_bool(s), Ok(b), "{s}");
    }
    assert_eq!(
        parse_bool("y").unwrap_err(),
        "`y` is not a boolean; use true/false, 1/0, yes/no or on/off"
    );
    assert_eq!(parse_timeout("90").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_timeout("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(
        parse_timeout("0").unwrap_err(),
        "0 seconds is outside 1s-1h"
    );
    assert_eq!(parse_attempts("1"), Ok(1));
    assert_eq!(parse_attempts("1000"), Ok(1000));
    for n in ["0", "1001"] {
        assert_eq!(
            parse_attempts(n).unwrap_err(),
            format!("`{n}` is not accepted; use a whole number 1-1000 (1 means no retry)")
        );
    }
    assert_eq!(parse_level("DEBUG"), Ok(Level::Debug));
    assert_eq!(
        parse_level("verbose").unwrap_err(),
        "`verbose` is not a log level; use error, warn, info, debug or trace"
    );
    assert_eq!(
        parse_format("credential-process"),
        Ok(Format::CredentialProcess)
    );
    assert_eq!(
        parse_format("yaml").unwrap_err(),
        "`yaml` is not a format; use dotenv, shell, json, credential-process, fish or powershell"
    );
}

#[test]
fn policy_arns() {
    let arns = parse_policy_arns(
        "arn:aws:iam::aws:policy/ReadOnlyAccess,\narn:aws:iam::123456789012:policy/deploy\n",
    )
    .unwrap();
    assert_eq!(arns.len(), 2);
    let ten = ["arn:aws:iam::aws:policy/ReadOnlyAccess"; 10].join(",");
    assert_eq!(parse_policy_arns(&ten).unwrap().len(), 10);
    let eleven = ["arn:aws:iam::aws:policy/ReadOnlyAccess"; 11].join(",");
    assert!(parse_policy_arns(&eleven)
        .unwrap_err()
        .contains("at most 10"));
    assert!(parse_policy_arns("arn:aws:iam::aws:role/x-xxxxxxxxxxx")
        .unwrap_err()
        .contains("is not a managed policy ARN; expected arn:aws:iam::ACCOUNT:policy/NAME"));
}

#[test]
fn values_with_control_characters_stay_on_one_line() {
    // Found by fuzzing (fuzz/fuzz_targets/settings.rs): values were
    // quoted raw, so a newline or a terminal escape inside an env value
    // or a flag broke the one-line error. Each line after the first two
    // is one bad value (in the fuzz input's escapes).
    let text = crate::testing::fixture("fuzz/settings-control-chars");
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.replace("\\n", "\n")
                .replace("\\r", "\r")
                .replace("\\x1b", "\x1b")
                .replace("\\x00", "\0")
        })
        .collect();
    let base: Vec<(&str, &str)> = lines[..2]
        .iter()
        .filter_map(|l| l.split_once('='))
        .collect();
    for line in &lines[2..] {
        let e = if line.starts_with("--") {
            parse_args(std::slice::from_ref(line)).unwrap_err()
        } else {
            let mut env = base.clone();
            env.extend(line.split_once('='));
            match resolve(&inputs(&env, &[]), &mut NoFiles) {
                Err(e) => e,
                Ok(s) => crate::endpoint::for_settings(&s).unwrap_err(),
            }
        }
        .to_string();
        assert!(!e.contains(char::is_control), "{line:?}: {e:?}");
        assert!(e.contains('\\'), "{line:?}: the escape is shown: {e}");
    }
}

#[test]
fn bad_values_name_what_was_read() {
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    let cases = [
        (
            "PLUGIN_REGION",
            "mars",
            "PLUGIN_REGION: `mars` is not a region",
        ),
        (
            "PLUGIN_FIPS",
            "maybe",
            "PLUGIN_FIPS: `maybe` is not a boolean",
        ),
        (
            "AWS_STS_REGIONAL_ENDPOINTS",
            "both",
            "AWS_STS_REGIONAL_ENDPOINTS: `both` is not accepted",
        ),
        (
            "PLUGIN_MAXATTEMPTS",
            "5000",
            "PLUGIN_MAXATTEMPTS: `5000` is not accepted",
        ),
        (
            "PLUGIN_LOGLEVEL",
            "loud",
            "PLUGIN_LOGLEVEL: `loud` is not a log level",
        ),
        (
            "PLUGIN_OUTPUT_FORMAT",
            "xml",
            "PLUGIN_OUTPUT_FORMAT: `xml` is not a format",
        ),
        (
            "PLUGIN_TIMEOUT",
            "forever",
            "PLUGIN_TIMEOUT: `forever` is not a duration",
        ),
        (
            "PLUGIN_MASK_ACCOUNT_ID",
            "2",
            "PLUGIN_MASK_ACCOUNT_ID: `2` is not a boolean",
        ),
    ];
    for (name, value, want) in cases {
        let mut env = base.to_vec();
        env.push((name, value));
        let e = err(&env, &[]);
        assert!(e.starts_with(want), "{e}");
    }
    let mut env = base.to_vec();
    let policy = format!("{{\"Statement\":\"{}\"}}", "s".repeat(2100));
    env.push(("PLUGIN_POLICY", &policy));
    let e = err(&env, &[]);
    assert!(
        e.starts_with("PLUGIN_POLICY: the session policy is") && !e.contains("Statement"),
        "{e}"
    );
}

#[test]
fn values_that_are_not_paths_or_flags_are_described_not_quoted() {
    for path in [
        "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "token.jwt",
        "C:\\ci\\token",
        "./token",
        "-",
        "/nonexistent/token",
    ] {
        assert!(looks_like_path(path), "{path}");
    }
    let long = "a".repeat(200);
    for token in [
        // Not plain file-name text: ':' past the drive letter's place, any
        // other character at it, an extension with no name or one too long.
        "ab:c/token.txt",
        "a!/token.txt",
        ".jwt",
        "token.abcdef",
        "opaque:SIG:abc!def",
        "opaque-oauth-access-token-0123456789",
        "abc/def+ghi==",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        long.as_str(),
    ] {
        assert!(!looks_like_path(token), "{token}");
    }
    for arg in [
        "--opaque:SIG:abc!def",
        "--eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "-opaque:SIG:abc!def",
    ] {
        let e = parse_args(&[arg.to_string()]).unwrap_err().to_string();
        assert!(!e.contains("SIG") && !e.contains("eyJ"), "{e}");
        assert!(e.contains("characters, not shown"), "{e}");
    }
    let e = parse_args(&["--role-ar".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("unknown flag `--role-ar`"), "{e}");
}

#[test]
fn allowed_account_ids_are_twelve_digits_each() {
    assert_eq!(
        parse_account_ids(" 123456789012,\n210987654321 ,"),
        Ok(vec!["123456789012".into(), "210987654321".into()])
    );
    for (bad, says) in [
        ("123456789012,12345", "`12345` is not a 12-digit account id"),
        (
            "123456789012;210987654321",
            "`123456789012;210987654321` is not a 12-digit",
        ),
        ("1234567890123", "`1234567890123` is not"),
        ("12345678901x", "`12345678901x` is not"),
        (
            "arn:aws:iam::123456789012:root",
            "`arn:aws:iam::123456789012:root` is not",
        ),
        (",\n,", "the list holds no account id"),
    ] {
        let e = parse_account_ids(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let e = crate::testing::resolve(
        &crate::testing::inputs(
            &[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")],
            &["--allowed-account-ids", "123456789012,x"],
        ),
        &mut crate::testing::NoFiles,
    )
    .unwrap_err();
    assert_eq!(e.code(), 2);
    assert!(
        e.to_string()
            .starts_with("--allowed-account-ids: `x` is not a 12-digit account id"),
        "{e}"
    );
}

/// A duration of nine digits is read as a number (and then held to the
/// range); ten digits are not a duration at all (mutation testing, issue 13).
#[test]
fn durations_of_nine_digits_are_numbers() {
    assert_eq!(
        parse_duration("999999999").unwrap_err(),
        "999999999 seconds is outside 900-43200 (15m-12h); the role's maximum session duration also caps it"
    );
    assert!(parse_duration("1000000000")
        .unwrap_err()
        .ends_with("is not a duration; use seconds (3600) or 3600s, 15m, 1h"));
}

/// credential-process credentials of at most 15 minutes are warned about
/// once, naming the duration as set; the cache is suggested unless on
/// (issue 18).
#[test]
fn credential_process_under_the_sdk_refresh_window_is_warned_about() {
    let base = [
        ("AWS_ROLE_ARN", ARN),
        ("PLUGIN_OIDC_TOKEN", "abcd.efgh.ijkl"),
    ];
    let warned = |env: &[(&str, &str)], flags: &[&str]| -> Vec<String> {
        let all: Vec<(&str, &str)> = base.iter().chain(env).copied().collect();
        ok(&all, flags)
            .warnings
            .into_iter()
            .filter(|w| w.contains("due for refresh"))
            .collect()
    };
    let cp = ["--format", "credential-process"];
    let w = warned(&[("PLUGIN_DURATION_SECONDS", "900")], &cp);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("PLUGIN_DURATION_SECONDS: credentials of 15m 0s"),
        "{}",
        w[0]
    );
    assert!(
        w[0].ends_with("turn on --cache (PLUGIN_CACHE) to reuse them"),
        "{}",
        w[0]
    );
    let w = warned(
        &[("HOME", "/home/ci")],
        &[&cp[..], &["--duration", "15m", "--cache"]].concat(),
    );
    assert!(
        w[0].ends_with("(the cache reuses only credentials with more than 15m left)"),
        "{w:?}"
    );
    assert!(warned(&[], &[&cp[..], &["--duration", "901"]].concat()).is_empty());
    assert!(warned(&[], &cp).is_empty());
    assert!(warned(&[("PLUGIN_OUTPUT_FILE", "-")], &["--duration", "15m"]).is_empty());
}
