//! Unit tests of the settings: every spelling, every rule, every message.

use super::defs::{edit_distance, nearest};
use super::files::{certificates, looks_like_path, token_problem};
use super::*;
use crate::testing::{inputs, resolve, NoFiles, OneFile};

/// The proxy URL for the client and the form shown in logs.
fn parse_proxy(s: &str) -> Result<(String, String), String> {
    crate::proxy::parse(s).map(|p| (p.url.expose().to_string(), p.display))
}

const ARN: &str = "arn:aws:iam::123456789012:role/ci";

fn ok(env: &[(&str, &str)], flags: &[&str]) -> Settings {
    resolve(&inputs(env, flags), &mut NoFiles).unwrap()
}

fn err(env: &[(&str, &str)], flags: &[&str]) -> String {
    resolve(&inputs(env, flags), &mut NoFiles)
        .unwrap_err()
        .to_string()
}

/// The reference's table (`docs/reference.md` §1.2), copied: every
/// setting's env names in order.
const REFERENCE_NAMES: &[(&str, &[&str])] = &[
    (
        "role ARN",
        &[
            "PLUGIN_IAM_ROLE_ARN",
            "PLUGIN_ROLE_ARN",
            "PLUGIN_IAMROLEARN",
            "PLUGIN_ROLEARN",
            "AWS_ROLE_ARN",
        ],
    ),
    (
        "token",
        &[
            "PLUGIN_OIDC_TOKEN_ID",
            "PLUGIN_OIDC_TOKEN",
            "PLUGIN_OIDCTOKENID",
            "PLUGIN_OIDCTOKEN",
        ],
    ),
    (
        "token file",
        &[
            "PLUGIN_OIDC_TOKEN_FILE",
            "PLUGIN_OIDCTOKENFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ],
    ),
    (
        "token command",
        &["PLUGIN_OIDC_TOKEN_COMMAND", "PLUGIN_OIDCTOKENCOMMAND"],
    ),
    (
        "session name",
        &[
            "PLUGIN_ROLE_SESSION_NAME",
            "PLUGIN_ROLESESSIONNAME",
            "AWS_ROLE_SESSION_NAME",
        ],
    ),
    (
        "duration",
        &[
            "PLUGIN_DURATION",
            "PLUGIN_DURATION_SECONDS",
            "PLUGIN_DURATIONSECONDS",
        ],
    ),
    (
        "region",
        &["PLUGIN_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
    ),
    (
        "STS endpoint",
        &[
            "PLUGIN_STS_ENDPOINT",
            "PLUGIN_ENDPOINT",
            "PLUGIN_STSENDPOINT",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL",
        ],
    ),
    ("FIPS endpoint", &["PLUGIN_FIPS", "AWS_USE_FIPS_ENDPOINT"]),
    (
        "dual-stack endpoint",
        &["PLUGIN_DUALSTACK", "AWS_USE_DUALSTACK_ENDPOINT"],
    ),
    ("regional vs global", &["AWS_STS_REGIONAL_ENDPOINTS"]),
    (
        "CA bundle",
        &[
            "PLUGIN_CA_BUNDLE",
            "PLUGIN_CABUNDLE",
            "AWS_CA_BUNDLE",
            "SSL_CERT_FILE",
        ],
    ),
    ("inline session policy", &["PLUGIN_POLICY"]),
    (
        "managed session policies",
        &["PLUGIN_POLICY_ARNS", "PLUGIN_POLICYARNS"],
    ),
    ("timeout", &["PLUGIN_TIMEOUT"]),
    ("attempts", &["PLUGIN_MAX_ATTEMPTS", "PLUGIN_MAXATTEMPTS"]),
    ("log level", &["PLUGIN_LOG_LEVEL", "PLUGIN_LOGLEVEL"]),
    ("secret output file", &["HARNESS_OUTPUT_SECRET_FILE"]),
    (
        "output variables file",
        &["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
    ),
    (
        "explicit output",
        &["PLUGIN_OUTPUT_FILE", "PLUGIN_OUTPUTFILE"],
    ),
    (
        "output format",
        &["PLUGIN_OUTPUT_FORMAT", "PLUGIN_OUTPUTFORMAT"],
    ),
    (
        "mask account id",
        &["PLUGIN_MASK_ACCOUNT_ID", "PLUGIN_MASKACCOUNTID"],
    ),
    ("credential cache", &["PLUGIN_CACHE"]),
    ("cache folder", &["PLUGIN_CACHE_DIR", "PLUGIN_CACHEDIR"]),
    (
        "allowed account ids",
        &["PLUGIN_ALLOWED_ACCOUNT_IDS", "PLUGIN_ALLOWEDACCOUNTIDS"],
    ),
    (
        "chained role ARNs",
        &["PLUGIN_CHAIN_ROLE_ARN", "PLUGIN_CHAINROLEARN"],
    ),
    ("external ID", &["PLUGIN_EXTERNAL_ID", "PLUGIN_EXTERNALID"]),
    ("verify", &["PLUGIN_VERIFY"]),
    ("serve", &["PLUGIN_SERVE"]),
    ("session tags", &["PLUGIN_TAGS"]),
    (
        "transitive tag keys",
        &["PLUGIN_TRANSITIVE_TAG_KEYS", "PLUGIN_TRANSITIVETAGKEYS"],
    ),
    (
        "source identity",
        &["PLUGIN_SOURCE_IDENTITY", "PLUGIN_SOURCEIDENTITY"],
    ),
    (
        "trust policy",
        &["PLUGIN_TRUST_POLICY", "PLUGIN_TRUSTPOLICY"],
    ),
    ("profile", &["PLUGIN_PROFILE"]),
    ("profile per role", &["PLUGIN_PROFILES"]),
    ("refreshable profile", &["PLUGIN_REFRESHABLE"]),
    (
        "overwrite long-lived keys",
        &["PLUGIN_OVERWRITE_PROFILE", "PLUGIN_OVERWRITEPROFILE"],
    ),
    ("several roles", &["PLUGIN_ROLES"]),
    ("name prefix", &["PLUGIN_ENV_PREFIX", "PLUGIN_ENVPREFIX"]),
];

#[test]
fn every_setting_reads_the_reference_names_in_the_reference_order() {
    assert_eq!(ALL.len(), REFERENCE_NAMES.len());
    for (def, (ref_name, ref_envs)) in ALL.iter().zip(REFERENCE_NAMES) {
        let name = def.name;
        assert_eq!((name, def.envs), (*ref_name, *ref_envs));
        // Each spelling wins over every later one, and a blank earlier
        // one does not count.
        for (i, env) in def.envs.iter().enumerate() {
            let mut map: BTreeMap<String, String> = def.envs[i..]
                .iter()
                .enumerate()
                .map(|(j, e)| (e.to_string(), format!(" value-{j} ")))
                .collect();
            for earlier in &def.envs[..i] {
                map.insert(earlier.to_string(), " ".into());
            }
            let inputs = Inputs {
                flags: vec![],
                env: map,
            };
            let got = inputs.get(def).unwrap();
            assert_eq!(
                (got.value.as_str(), got.source),
                ("value-0", Source::Env(env)),
                "{name}"
            );
            // A flag beats them all.
            if let Some(flag) = def.flag {
                let with_flag = Inputs {
                    flags: vec![(flag, "from-flag".into())],
                    ..inputs
                };
                assert_eq!(with_flag.get(def).unwrap().value, "from-flag", "{name}");
            }
        }
    }
}

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
fn token_spellings_and_precedence() {
    for name in TOKEN.envs {
        assert_eq!(
            ok(&[("AWS_ROLE_ARN", ARN), (name, " abcd \n")], &[])
                .token
                .expose(),
            "abcd"
        );
    }
    let env = [
        ("AWS_ROLE_ARN", ARN),
        ("PLUGIN_OIDC_TOKEN_ID", "from-env"),
        ("PLUGIN_OIDC_TOKEN", "later-env"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
    ];
    let mut files = OneFile("/t", "from-file\n");
    let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-env");
    let s = resolve(&inputs(&env, &["--token-file", "/t"]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-file");
    let s = resolve(
        &inputs(&env, &["--token-file=/t", "--token", "flag"]),
        &mut files,
    )
    .unwrap();
    assert_eq!(s.token.expose(), "flag");
    let env = [("AWS_ROLE_ARN", ARN), ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")];
    let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-file");
    assert_eq!(s.token.source, Source::Env("AWS_WEB_IDENTITY_TOKEN_FILE"));
    assert_eq!(s.token_file.as_deref(), Some("/t"));
    assert!(s.token_from().starts_with("AWS_WEB_IDENTITY_TOKEN_FILE"));
}

#[test]
fn token_problems_name_the_source_and_never_the_token() {
    let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abc")], &[]);
    assert_eq!(
        e,
        "PLUGIN_OIDC_TOKEN: the token is 3 chars; STS accepts 4-20000"
    );
    let long = "x".repeat(20001);
    let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", &long)], &[]);
    assert!(!e.contains("xxxx"), "{e}");
    let e = err(
        &[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_FILE", "/nope")],
        &[],
    );
    assert_eq!(
        e,
        "PLUGIN_OIDC_TOKEN_FILE: cannot read /nope: no such file; check the path and that this step can read it"
    );
    let mut files = OneFile("/empty", " \n");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/empty"]),
        &mut files,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--token-file: /empty is empty; it should hold the OIDC token"
    );
    assert!(err(&[("AWS_ROLE_ARN", ARN)], &[]).contains("no OIDC token is set"));
    assert!(err(&[("PLUGIN_OIDC_TOKEN", "abcd")], &[]).contains("no role ARN is set"));
}

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
fn regional_or_legacy_endpoints() {
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_ID", "abcd")];
    for (value, legacy) in [("regional", false), ("legacy", true), ("LEGACY", true)] {
        let env = [base[0], base[1], ("AWS_STS_REGIONAL_ENDPOINTS", value)];
        assert_eq!(ok(&env, &[]).legacy_global, legacy, "{value}");
    }
    assert!(!ok(&base, &[]).legacy_global);
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
fn proxies() {
    assert_eq!(
        parse_proxy("http://proxy:3128").unwrap(),
        ("http://proxy:3128".into(), "http://proxy:3128".into())
    );
    assert_eq!(
        parse_proxy("http://bob:hunter2@proxy:3128/").unwrap(),
        (
            "http://bob:hunter2@proxy:3128".into(),
            "http://***:***@proxy:3128".into()
        )
    );
    assert_eq!(parse_proxy("proxy:3128").unwrap().0, "http://proxy:3128");
    assert!(parse_proxy("socks5://proxy:1080")
        .unwrap_err()
        .contains("not supported"));
    assert_eq!(
        parse_proxy("socks5h://proxy:1080").unwrap_err(),
        "socks5h proxies are not supported; use an http:// proxy (HTTPS is tunnelled with CONNECT)"
    );
    assert_eq!(
        parse_proxy("ftp://proxy").unwrap_err(),
        "proxy scheme `ftp` is not supported; use an http:// proxy URL"
    );
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    let mut env = base.to_vec();
    env.extend([
        ("HTTP_PROXY", "http://ignored:1"),
        ("all_proxy", "http://all:2"),
        ("https_proxy", "http://low:3"),
    ]);
    let s = ok(&env, &[]);
    assert_eq!(s.proxy.unwrap().display, "http://low:3");
    env.push(("HTTPS_PROXY", "socks5://x:1"));
    assert!(err(&env, &[]).starts_with("HTTPS_PROXY: socks5 proxies are not supported"));
    let e = err(
        &[
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("HTTPS_PROXY", "socks://u:pw@x:1"),
        ],
        &[],
    );
    assert!(!e.contains("pw"), "{e}");
}

#[test]
fn a_slash_in_a_proxy_password_never_shows_it() {
    // Found by fuzzing (fuzz/fuzz_targets/settings.rs): with an unencoded
    // '/' in the password, the URL was cut at the '/' and the start of
    // the password was logged as the proxy's port.
    let text = crate::testing::fixture("fuzz/settings-proxy-password-slash");
    let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let shown = match resolve(&inputs(&env, &[]), &mut NoFiles) {
        Ok(s) => {
            format!("{:?}", s.listing()) + &s.proxy.map(|p| p.value.display).unwrap_or_default()
        }
        Err(e) => e.to_string(),
    };
    assert!(!shown.contains("Ab3"), "{shown}");
    assert!(
        shown.contains("percent-encode any / in the user or password as %2F"),
        "{shown}"
    );
    assert!(parse_proxy("http://svc:a%2Fb@proxy:3128").is_ok());
}

#[test]
fn proxy_urls_the_client_cannot_use_are_refused() {
    // Found by fuzzing (fuzz/fuzz_targets/settings.rs): a `?` in the
    // password passed here, then the client read the URL differently
    // (or not at all) and the run failed after --check said it was fine.
    let text = crate::testing::fixture("fuzz/settings-proxy-question-mark");
    let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let e = resolve(&inputs(&env, &[]), &mut NoFiles)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("HTTPS_PROXY: the proxy URL is not one the client can use"),
        "{e}"
    );
    assert!(!e.contains("pa?ss") && !e.contains("svc"), "{e}");
    for bad in [
        "http://svc:pa#ss@proxy:3128",
        "http://svc:pa ss@proxy:3128",
        "proxy:port",
    ] {
        assert!(
            parse_proxy(bad)
                .unwrap_err()
                .starts_with("the proxy URL is not one the client can use; percent-encode"),
            "{bad}"
        );
    }
    for good in [
        "http://svc:pa%3Fss@proxy:3128",
        "proxy",
        "http://[::1]:3128",
        "http://[::1]",
    ] {
        assert!(parse_proxy(good).is_ok(), "{good}");
    }
}

#[test]
fn endpoint_sources_and_ignore_switch() {
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    let mut env = base.to_vec();
    env.push(("AWS_ENDPOINT_URL", "https://generic"));
    assert_eq!(
        ok(&env, &[]).endpoint.unwrap().source,
        Source::Env("AWS_ENDPOINT_URL")
    );
    env.push(("AWS_ENDPOINT_URL_STS", "https://sts-only"));
    assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://sts-only");
    env.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
    assert!(ok(&env, &[]).endpoint.is_none());
    env.push(("PLUGIN_ENDPOINT", "https://plugin"));
    assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://plugin");
    let s = ok(&env, &["--endpoint=https://flag"]);
    assert_eq!(s.endpoint.unwrap().source, Source::Flag("--endpoint"));
}

#[test]
fn ca_bundle_must_hold_a_certificate() {
    let env = [
        ("AWS_ROLE_ARN", ARN),
        ("PLUGIN_OIDC_TOKEN", "abcd"),
        ("AWS_CA_BUNDLE", "/ca.pem"),
    ];
    let mut files = OneFile("/ca.pem", "not a pem\n");
    let e = resolve(&inputs(&env, &[]), &mut files).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("AWS_CA_BUNDLE: /ca.pem holds no PEM certificate"),
        "{e}"
    );
    assert_eq!(e.code(), 2);
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
fn proxy_urls_that_do_not_parse_never_show_their_credentials() {
    for url in [
        "ci:pa://PASS@host:9",
        "http://ci:pa/SS@host:9",
        "http://ci:pa?SS@host:9",
        "http://ci:pa#SS@host:9",
        "ftp://ci:PASS@host:9",
    ] {
        let e = parse_proxy(url).unwrap_err();
        assert!(
            !e.contains("PASS") && !e.contains("SS") && !e.contains("ci"),
            "{url}: {e}"
        );
    }
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

#[test]
fn a_token_is_one_line_of_printable_ascii() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let check = |token: &str, want: Option<&str>| {
        let got = token_problem(token);
        assert_eq!(got.as_deref(), want, "{token:?}");
        if let Some(problem) = got {
            assert!(!problem.contains("eyJ"), "{problem}");
        }
    };
    check(jwt, None);
    check("opaque:SIG:abc!def~", None);
    check("!~", None);
    check(
        "a\nb",
        Some("spans more than one line; it should hold the token alone, on one line"),
    );
    check(
        "a\rb",
        Some("spans more than one line; it should hold the token alone, on one line"),
    );
    check(
        "ab c",
        Some("holds whitespace at character 3; it should hold the token alone, on one line"),
    );
    check(
        "a\tb",
        Some("holds whitespace at character 2; it should hold the token alone, on one line"),
    );
    check("a\0b", Some("holds control character U+0000 at character 2; it should hold the token alone, as text"));
    check("a\u{7f}", Some("holds control character U+007F at character 2; it should hold the token alone, as text"));
    check(
        "aé",
        Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
    );
    check(
        "a\u{a0}b",
        Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
    );
    // Through resolve: env, flag and file alike; trimmed first.
    let env = |v: &str| err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", v)], &[]);
    assert_eq!(
        env(&format!("{jwt}\n{jwt}")),
        "PLUGIN_OIDC_TOKEN: the token spans more than one line; it should hold the token alone, on one line"
    );
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token", "ab\u{1}cd"]),
        &mut NoFiles,
    )
    .unwrap_err();
    assert_eq!(e.code(), 2);
    assert!(
        e.to_string()
            .starts_with("--token: the token holds control character U+0001"),
        "{e}"
    );
    let mut files = OneFile("/t", "\t eyJh.eyJz.c2ln\r\n");
    let s = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
        &mut files,
    )
    .unwrap();
    assert_eq!(s.token.expose(), "eyJh.eyJz.c2ln");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let mut files = OneFile("/t", "eyJh.eyJz.c2ln\nsecond\n");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
        &mut files,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "--token-file: the token in /t spans more than one line; it should hold the token alone, on one line");
    let mut files = OneFile("-", "a.b.c d");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "-"]),
        &mut files,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("--token-file: the token on stdin holds whitespace at character 6"),
        "{e}"
    );
}

#[test]
fn an_opaque_token_is_sent_with_a_warning() {
    for (token, jwt) in [
        ("eyJh.eyJz.c2ln", true),
        ("a-_=.b.c", true),
        ("opaque:SIG:abc!def", false),
        ("ab.cd", false),
        ("a.b.c.d", false),
        ("a..c", false),
        ("a.b+.c", false),
    ] {
        let s = ok(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", token)], &[]);
        assert_eq!(s.token.expose(), token);
        match jwt {
            true => assert!(s.warnings.is_empty(), "{token}: {:?}", s.warnings),
            false => {
                assert_eq!(s.warnings.len(), 1, "{token}");
                assert!(s.warnings[0].starts_with(
                    "PLUGIN_OIDC_TOKEN: the token is not a JWT (three base64url parts joined by dots); it is sent as is"
                ));
                assert!(!s.warnings[0].contains(token));
            }
        }
    }
}

#[test]
fn only_usable_certificates_count_in_a_ca_bundle() {
    let garbage = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n";
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    for (pem, usable, blocks) in [
        ("", 0, 0),
        ("# a comment, no PEM at all\n", 0, 0),
        (key, 0, 0),
        (garbage, 0, 1),
        (bad_base64, 0, 1),
        (&format!("{garbage}{key}{garbage}"), 0, 2),
    ] {
        let (certs, n) = certificates(pem.as_bytes());
        assert_eq!((certs.len(), n), (usable, blocks), "{pem}");
    }
    let bundle = |pem: &'static str| {
        let mut files = OneFile("/ca.pem", pem);
        resolve(
            &inputs(
                &[
                    ("AWS_ROLE_ARN", ARN),
                    ("PLUGIN_OIDC_TOKEN", "h.p.s"),
                    ("AWS_CA_BUNDLE", "/ca.pem"),
                ],
                &[],
            ),
            &mut files,
        )
    };
    let e = bundle(garbage).unwrap_err();
    assert_eq!(e.code(), 2);
    assert_eq!(
        e.to_string(),
        "AWS_CA_BUNDLE: /ca.pem holds 1 PEM certificate block but no usable X.509 certificate; point it at a PEM bundle of CA certificates"
    );
    assert!(bundle(key)
        .unwrap_err()
        .to_string()
        .contains("holds no PEM certificate"));
}

/// The `--help` table as `docs/reference.md` §1.2 shows it, one row per
/// setting, made from the code's table.
fn reference_rows() -> Vec<String> {
    ALL.iter()
        .map(|d| {
            let flag = d.flag.map_or("—".to_string(), |f| format!("`{f}`"));
            let envs: Vec<String> = d.envs.iter().map(|e| format!("`{e}`")).collect();
            format!(
                "| {} | {flag} | {} | {} | {} |",
                d.name,
                envs.join(", "),
                d.default,
                d.accepts
            )
        })
        .collect()
}

#[test]
fn the_reference_table_is_the_settings_table() {
    let reference = include_str!("../../docs/reference.md");
    for row in reference_rows() {
        assert!(
            reference.contains(&format!("\n{row}\n")),
            "docs/reference.md §1.2 lacks or differs from:\n{row}"
        );
    }
    let rows = reference.lines().filter(|l| l.starts_with("| ")).count();
    assert!(rows > ALL.len());
}

/// Every row of the reference's settings table (§1.2) is whole: five
/// cells, closed by `|` (a merge once cut a row mid-word, and a check that
/// only looks for names in a row cannot see that), and §1.2-1.5 name the
/// code's proxy variables in order, as the table has no row for them.
#[test]
fn the_reference_table_rows_are_whole_and_the_proxy_names_are_the_codes() {
    let reference = include_str!("../../docs/reference.md");
    let section = &reference
        [reference.find("### 1.2 Every setting").unwrap()..reference.find("### 1.3").unwrap()];
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with('|')).collect();
    assert!(rows.len() > ALL.len());
    for row in &rows {
        assert!(
            row.ends_with(" |") || row.starts_with("|---"),
            "docs/reference.md §1.2 has a row that is not closed with |:\n{row}"
        );
        let cells = row.matches('|').count() - 1;
        assert_eq!(
            cells, 5,
            "docs/reference.md §1.2 has a row of {cells} cells, not 5:\n{row}"
        );
    }
    let proxy = &reference
        [reference.find("### 1.2 Every setting").unwrap()..reference.find("### 1.6").unwrap()];
    let proxy = proxy.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|e| format!("`{e}`")).collect();
        names.join(", ")
    };
    for names in [PROXY_ENVS, NO_PROXY_ENVS] {
        assert!(
            proxy.contains(&quoted(names)),
            "docs/reference.md §1.2-1.5 do not name {} in this order",
            quoted(names)
        );
    }
}

#[test]
fn every_section_the_code_cites_exists_in_the_reference() {
    let reference = include_str!("../../docs/reference.md");
    let headings: Vec<&str> = reference
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with("##"))
        })
        .filter_map(|h| h.split(' ').next())
        .collect();
    let mut cited = 0;
    for (path, text) in crate::testing::sources() {
        for (at, _) in text.match_indices("§") {
            let number: String = text[at + '§'.len_utf8()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.');
            if number.is_empty() {
                continue;
            }
            assert!(
                headings.contains(&number),
                "{path} cites §{number}, which docs/reference.md lacks"
            );
            cited += 1;
        }
        let outside = ["SP", "EC"].concat();
        assert!(
            !text.contains(&outside),
            "{path} cites {outside}, which is not in the repository"
        );
    }
    assert!(cited > 20, "{cited}");
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

/// A token pasted as the session name with a character outside the
/// alphabet is JWT-shaped only after that character becomes `-`: it is
/// refused all the same, never sent (and so never recorded in CloudTrail or
/// in the assumed-role ARN written out). Found by the settings fuzz target.
#[test]
fn a_token_that_becomes_jwt_shaped_when_cleaned_is_not_a_session_name() {
    for input in [
        "eyJhbGciOiJSUzI1NiJ9.eyJzé0iOiJ4In0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.eyJz/OiJ4In0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9 .eyJzOiJ4In0.c2ln",
    ] {
        let e = sanitize_session_name(input).unwrap_err();
        assert!(e.contains("is not a session name"), "{input}: {e}");
        assert!(!e.contains("eyJz"), "{input}: {e}");
    }
    // A name that is no token stays a name, whatever it is cleaned into.
    assert_eq!(
        sanitize_session_name("run.7 of.x").unwrap(),
        ("run.7-of.x".to_string(), true)
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

/// A token file of `.0` bytes, read as a disk file is: at most the limit
/// asked for.
struct SizedFile(usize);

impl Files for SizedFile {
    fn read(&mut self, _: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        Ok(vec![b'a'; self.0.min(limit as usize)])
    }
}

/// A token file path that is a token is refused unread; a file over the
/// 1 MiB limit is refused for its size, one at it is read (and then held to
/// the token's own rules) (mutation testing, issue 13).
#[test]
fn token_files_by_their_name_and_size() {
    let with_file = |path: &str, size: usize| {
        let env = [("AWS_ROLE_ARN", ARN), ("AWS_WEB_IDENTITY_TOKEN_FILE", path)];
        resolve(&inputs(&env, &[]), &mut SizedFile(size))
            .unwrap_err()
            .to_string()
    };
    let as_token = "looks like a token, not a file path";
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert!(with_file(jwt, 0).contains(as_token));
    assert!(with_file(&"a".repeat(129), 0).contains(as_token));
    assert!(!with_file(&"a".repeat(128), 0).contains(as_token));
    let larger = "/t is larger than 1048576 bytes";
    assert!(with_file("/t", (1 << 20) + 1).contains(larger));
    let at_limit = with_file("/t", 1 << 20);
    assert!(!at_limit.contains(larger), "{at_limit}");
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
