//! Names: every spelling of each setting, the command line, and the setting
//! a near miss or a flag name meant.

use super::*;

#[test]
fn every_role_arn_spelling_is_read_in_order() {
    let names = ROLE_ARN.envs;
    for (i, name) in names.iter().enumerate() {
        let mine = format!("arn:aws:iam::12345678901{i}:role/r");
        let mut env = vec![(*name, mine.as_str()), ("PLUGIN_OIDC_TOKEN_ID", "tok-en")];
        // Every later spelling is also set and must lose.
        let later: Vec<String> = names[i + 1..]
            .iter()
            .map(|_| "arn:aws:iam::999999999999:role/other".to_string())
            .collect();
        for (n, v) in names[i + 1..].iter().zip(&later) {
            env.push((n, v));
        }
        // Earlier spellings set but blank do not win.
        for n in &names[..i] {
            env.push((n, "  "));
        }
        let s = ok(&env, &[]);
        assert_eq!(s.role.arn, mine, "{name}");
    }
}

#[test]
fn command_line() {
    let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(args(&["--help"]), Ok(Command::Help));
    assert_eq!(args(&["--region", "x", "--version"]), Ok(Command::Version));
    assert_eq!(
        args(&[
            "--region",
            "us-east-1",
            "--fips",
            "--dualstack=false",
            "--check"
        ]),
        Ok(Command::Run {
            flags: vec![
                ("--region", "us-east-1".into()),
                ("--fips", "true".into()),
                ("--dualstack", "false".into())
            ],
            check: true
        })
    );
    assert_eq!(
        args(&["--bogus"]).unwrap_err().to_string(),
        "unknown flag `--bogus` (see aws-oidc --help)"
    );
    assert_eq!(
        args(&["--role-arn"]).unwrap_err().to_string(),
        "flag `--role-arn` needs a value (see aws-oidc --help)"
    );
    assert!(args(&["--role-arn", "--fips"]).is_err());
    let e = args(&["eyJsecret"]).unwrap_err().to_string();
    assert!(!e.contains("eyJ"), "{e}");
    assert_eq!(
        args(&["--token-file", "-"]).unwrap(),
        Command::Run {
            flags: vec![("--token-file", "-".into())],
            check: false
        }
    );
    // Every flag the reference lists exists.
    for flag in [
        "role-arn",
        "token",
        "token-file",
        "session-name",
        "duration",
        "region",
        "endpoint",
        "fips",
        "dualstack",
        "ca-bundle",
        "policy",
        "policy-arns",
        "timeout",
        "max-attempts",
        "log-level",
        "output",
        "format",
        "mask-account-id",
        "allowed-account-ids",
    ] {
        assert!(args(&[&format!("--{flag}=1")]).is_ok(), "{flag}");
    }
    // A flag wins over env.
    let s = ok(
        &[
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("PLUGIN_REGION", "eu-west-1"),
        ],
        &["--region", "us-west-2"],
    );
    assert_eq!(s.region.as_deref().map(String::as_str), Some("us-west-2"));
}

#[test]
fn near_misses_suggest_the_setting_meant() {
    let known = || {
        ALL.iter()
            .flat_map(|d| d.envs.iter().copied())
            .filter(|n| n.starts_with("PLUGIN_"))
    };
    let cases = [
        ("PLUGIN_ROLE_ARM", Some("PLUGIN_ROLE_ARN")),
        ("PLUGIN_REGIONS", Some("PLUGIN_REGION")),
        ("PLUGIN_ROLE_SESSION", Some("PLUGIN_ROLE_SESSION_NAME")),
        ("PLUGIN_IAM_ROLE", Some("PLUGIN_IAM_ROLE_ARN")),
        ("PLUGIN_OIDC_TOKENID", Some("PLUGIN_OIDC_TOKEN_ID")),
        ("PLUGIN_OIDCTOKN", Some("PLUGIN_OIDCTOKEN")),
        ("PLUGIN_MASKACOUNTID", Some("PLUGIN_MASKACCOUNTID")),
        ("PLUGIN_MASK_ACOUNT_ID", Some("PLUGIN_MASK_ACCOUNT_ID")),
        ("PLUGIN_TIMOUT", Some("PLUGIN_TIMEOUT")),
        ("PLUGIN_SOMETHING", None),
        ("PLUGIN_R", None),
        ("PLUGIN_", None),
    ];
    for (typed, want) in cases {
        assert_eq!(nearest(typed, known()), want, "{typed}");
    }
    assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
    assert_eq!(edit_distance(b"", b"abc"), 3);
    assert_eq!(edit_distance(b"rolearm", b"rolearn"), 1);
    // Deleting and inserting cost one each.
    assert_eq!(edit_distance(b"abc", b""), 3);
    assert_eq!(edit_distance(b"ab", b"abc"), 1);
    assert_eq!(edit_distance(b"abc", b"ab"), 1);
    // Every spelling of a setting, as "nothing is set" names them.
    assert_eq!(
        super::defs::names(&super::defs::ROLE_ARN),
        "--role-arn, PLUGIN_IAM_ROLE_ARN, PLUGIN_ROLE_ARN, PLUGIN_IAMROLEARN, PLUGIN_ROLEARN, AWS_ROLE_ARN"
    );
}

/// A setting written under its flag's name (`format:` arrives as
/// PLUGIN_FORMAT) is pointed to that setting's own name, for every flag,
/// with underscores or without (mutation testing, issue 13).
#[test]
fn a_setting_written_as_its_flag_is_pointed_to_its_own_name() {
    for def in super::defs::ALL {
        let Some(flag) = def.flag else { continue };
        let words = flag.trim_start_matches("--").to_uppercase();
        for typed in [words.replace('-', "_"), words.replace('-', "")] {
            let typed = format!("PLUGIN_{typed}");
            if def.envs.contains(&typed.as_str()) {
                continue;
            }
            let warned = super::defs::unknown_plugin_settings(&inputs(&[(&typed, "x")], &[]));
            let [w] = &warned[..] else {
                panic!("{typed}: {warned:?}")
            };
            let meant = w
                .rsplit("did you mean ")
                .next()
                .unwrap()
                .trim_end_matches('?');
            assert!(def.envs.contains(&meant), "{typed}: {w}");
        }
    }
}

/// Harness and Drone upper-case a `settings:` key and prefix it, so
/// `maskAccountId` arrives as `PLUGIN_MASKACCOUNTID` and `mask_account_id`
/// as `PLUGIN_MASK_ACCOUNT_ID`. For every setting and every `PLUGIN_`
/// spelling, written with underscores or without, that name alone sets it:
/// a value it does not accept is refused naming it (issue 18).
#[test]
fn every_harness_spelling_of_every_setting_alone_sets_it() {
    // A value each setting refuses, so the error shows it was read.
    let refused = |def: &Def| match def.name {
        "token" => "abc",
        "token file" => "/missing/token",
        "token command" => "mint 'unclosed",
        "session name" => "a",
        "cache folder" => "relative/cache",
        "external ID" => "x",
        "profile" => "not a name",
        _ => "not-a-valid-value",
    };
    let (mut seen, mut missed) = (0, Vec::new());
    for def in ALL {
        for snake in def.envs.iter().filter(|e| e.starts_with("PLUGIN_")) {
            let joined = format!("PLUGIN_{}", snake["PLUGIN_".len()..].replace('_', ""));
            for name in [snake.to_string(), joined] {
                let mut env = vec![("AWS_ROLE_ARN", ARN)];
                if !matches!(def.name, "token" | "token file" | "token command") {
                    env.push(("PLUGIN_OIDC_TOKEN_ID", "abcd"));
                }
                // Two settings are taken as text here and checked later
                // (the endpoint by `endpoint`, the output by `output`).
                if matches!(def.name, "explicit output" | "STS endpoint") {
                    env.push((&name, "https://127.0.0.1:9/out"));
                    let s = ok(&env, &[]);
                    let read = match def.name {
                        "STS endpoint" => s.endpoint.is_some_and(|e| e.source.name() == name),
                        _ => s.output.is_some(),
                    };
                    if !read {
                        missed.push(format!("{name}: not read"));
                    }
                } else {
                    env.push((&name, refused(def)));
                    match resolve(&inputs(&env, &[]), &mut NoFiles) {
                        Err(e) if e.to_string().starts_with(&format!("{name}: ")) => {}
                        Err(e) => missed.push(format!("{name}: not read ({e})")),
                        Ok(_) => missed.push(format!("{name}: not read")),
                    }
                }
                seen += 1;
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    assert!(seen > 60, "{seen}");
}

/// A hint names a setting as it was set, else by its flag and first env
/// name (issue 18).
#[test]
fn hints_name_a_setting_by_its_source() {
    assert_eq!(DURATION.named(None), "--duration / PLUGIN_DURATION");
    assert_eq!(
        DURATION.named(Some(Source::Default)),
        "--duration / PLUGIN_DURATION"
    );
    assert_eq!(
        DURATION.named(Some(Source::Flag("--duration"))),
        "--duration"
    );
    let env = Source::Env("PLUGIN_DURATION_SECONDS");
    assert_eq!(DURATION.named(Some(env)), "PLUGIN_DURATION_SECONDS");
    assert_eq!(SECRET_FILE.named(None), "HARNESS_OUTPUT_SECRET_FILE");
}
