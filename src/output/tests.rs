//! Unit tests of the outputs: the plan, the renderings, and writes with
//! their rollback.

use super::*;
use std::io::Write;

use crate::testing::settings;

fn creds() -> Credentials {
    Credentials {
        access_key_id: "ASIAEXAMPLE".into(),
        secret_access_key: Secret::new("sec/ret+key"),
        session_token: Secret::new("sess+ion/token=="),
        expiration: "2026-11-25T18:00:00.5Z".into(),
        expires_at: 1795629600,
        assumed_role_arn: Some("arn:aws:sts::123456789012:assumed-role/ci/s".into()),
        subject: None,
        audience: None,
        provider: None,
        request_id: None,
    }
}

#[test]
fn destination_order() {
    let p = |env: &[(&str, &str)]| plan(&settings(env));
    assert_eq!(
        p(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("PLUGIN_OUTPUT_FILE", "/o")
        ])
        .unwrap()
        .creds,
        Target::File("/o".into())
    );
    assert_eq!(
        p(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("PLUGIN_OUTPUT_FILE", "-")
        ])
        .unwrap()
        .creds,
        Target::Stdout
    );
    assert_eq!(
        p(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("PLUGIN_OUTPUT_FORMAT", "credential-process")
        ])
        .unwrap()
        .creds,
        Target::Stdout
    );
    let secret = p(&[
        ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
        ("PLUGIN_OUTPUT_FORMAT", "json"),
    ])
    .unwrap();
    assert_eq!(
        (secret.creds, secret.format),
        (Target::File("/s".into()), Format::Dotenv)
    );
    let e = p(&[("DRONE_OUTPUT", "/v")]).unwrap_err();
    assert_eq!(e.code(), 6);
    assert!(e.to_string().contains("CI_ENABLE_OUTPUT_SECRETS"));
    assert_eq!(
        p(&[
            ("DRONE_OUTPUT", "/d"),
            ("HARNESS_OUTPUT_FILE", "/h"),
            ("HARNESS_OUTPUT_SECRET_FILE", "/s")
        ])
        .unwrap()
        .vars
        .unwrap()
        .value,
        "/d"
    );
}

fn rendered(env: &[(&str, &str)]) -> (String, Option<String>) {
    let s = settings(env);
    let r = render(&plan(&s).unwrap(), &s, &creds()).unwrap();
    (r.creds.expose().to_string(), r.vars)
}

#[test]
fn renderings() {
    let (c, v) = rendered(&[
        ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
        ("DRONE_OUTPUT", "/v"),
        ("PLUGIN_REGION", "eu-west-1"),
    ]);
    assert_eq!(c, "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=sec/ret+key\nAWS_SESSION_TOKEN=sess+ion/token==\n");
    assert_eq!(
        v.unwrap(),
        "AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\nAWS_CREDENTIAL_EXPIRATION=2026-11-25T18:00:00.5Z\n\
         AWS_ACCOUNT_ID=123456789012\nAWS_ASSUMED_ROLE_ARN=arn:aws:sts::123456789012:assumed-role/ci/s\nAWS_OIDC_ROLE_ARN=arn:aws:iam::123456789012:role/ci\n"
    );
    let (c, v) = rendered(&[
        ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
        ("DRONE_OUTPUT", "/v"),
        ("PLUGIN_MASK_ACCOUNT_ID", "true"),
    ]);
    assert!(c.ends_with("AWS_ACCOUNT_ID=123456789012\nAWS_ASSUMED_ROLE_ARN=arn:aws:sts::123456789012:assumed-role/ci/s\nAWS_OIDC_ROLE_ARN=arn:aws:iam::123456789012:role/ci\n"), "{c}");
    assert_eq!(
        v.unwrap(),
        "AWS_CREDENTIAL_EXPIRATION=2026-11-25T18:00:00.5Z\n"
    );
    let (c, _) = rendered(&[
        ("PLUGIN_OUTPUT_FILE", "/o"),
        ("PLUGIN_OUTPUT_FORMAT", "shell"),
        ("PLUGIN_REGION", "aws-global"),
    ]);
    assert!(
        c.starts_with(
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\nexport AWS_SECRET_ACCESS_KEY='sec/ret+key'\n"
        ),
        "{c}"
    );
    assert!(
        c.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-25T18:00:00.5Z'\n")
            && !c.contains("AWS_REGION"),
        "{c}"
    );
    let (c, _) = rendered(&[
        ("PLUGIN_OUTPUT_FILE", "-"),
        ("PLUGIN_OUTPUT_FORMAT", "json"),
    ]);
    assert_eq!(c, "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"sess+ion/token==\",\"Expiration\":\"2026-11-25T18:00:00.5Z\",\"AssumedRoleArn\":\"arn:aws:sts::123456789012:assumed-role/ci/s\"}\n");
    let (c, _) = rendered(&[("PLUGIN_OUTPUT_FORMAT", "credential-process")]);
    assert_eq!(c, "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"sess+ion/token==\",\"Expiration\":\"2026-11-25T18:00:00Z\"}\n");
}

#[test]
fn values_outside_the_allow_list_are_refused_without_showing_them() {
    for bad in [
        "a b",
        "a\nb",
        "a$b",
        "a#b",
        "a'b",
        "a\"b",
        "a;b",
        "a`b",
        "a\\b",
        "a{b",
        "a>b",
        "a\u{1}b",
        "a\u{fffd}b",
    ] {
        let e = check_value("AWS_SESSION_TOKEN", bad).unwrap_err();
        assert_eq!(e.code(), 6);
        assert!(
            e.to_string()
                .starts_with("AWS_SESSION_TOKEN holds a character outside A-Z a-z 0-9"),
            "{e}"
        );
        assert!(!e.to_string().contains(bad), "{e}");
    }
    assert!(check_value("K", "")
        .unwrap_err()
        .to_string()
        .contains("is empty"));
    assert!(check_value("K", "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE/=").is_ok());
    assert!(check_value(
        "K",
        "arn:aws:sts::123456789012:assumed-role/a_b+c=d,e.f@g-h/s"
    )
    .is_ok());
    // Every answer field's alphabet fits inside the guard's.
    for (field, char_ok) in crate::response::ALPHABETS {
        for c in (0..0x3000)
            .filter_map(char::from_u32)
            .filter(|c| char_ok(*c))
        {
            assert!(crate::response::arn_char(c), "{field}: {c:?}");
        }
    }
}

#[test]
fn writes_append_create_0600_and_roll_back() {
    // A new folder, removed pass or fail: a folder named by the process id
    // could be one a failed run left, holding a file this run trips over.
    let tmp = crate::testing::TempDir::new("out");
    let dir = tmp.0.clone();
    let secret = dir.join("secret");
    let vars = dir.join("vars");
    std::fs::write(&vars, "EXISTING=1\n").unwrap();
    let s = settings(&[
        ("HARNESS_OUTPUT_SECRET_FILE", secret.to_str().unwrap()),
        ("DRONE_OUTPUT", vars.to_str().unwrap()),
    ]);
    let p = plan(&s).unwrap();
    let r = render(&p, &s, &creds()).unwrap();
    let d = open(&p, &[], None, Mode::Open).unwrap();
    write(d, &p, &r, &mut Vec::new()).unwrap();
    assert!(std::fs::read_to_string(&secret)
        .unwrap()
        .starts_with("AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"));
    assert!(std::fs::read_to_string(&vars)
        .unwrap()
        .starts_with("EXISTING=1\nAWS_CREDENTIAL_EXPIRATION="));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A variables file in a missing directory: refused when opening,
    // and the secret file this attempt created is removed again.
    let new_secret = dir.join("new-secret");
    let s = settings(&[
        ("HARNESS_OUTPUT_SECRET_FILE", new_secret.to_str().unwrap()),
        ("DRONE_OUTPUT", "/nonexistent/dir/vars"),
    ]);
    let e = open(&plan(&s).unwrap(), &[], None, Mode::Open).unwrap_err();
    assert_eq!(e.code(), 6);
    assert!(
        e.to_string().contains("/nonexistent/dir does not exist"),
        "{e}"
    );
    assert!(!new_secret.exists());
    // Stdout failing after the files were written: they are cut back.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = settings(&[
        ("PLUGIN_OUTPUT_FILE", "-"),
        ("DRONE_OUTPUT", vars.to_str().unwrap()),
    ]);
    let p = plan(&s).unwrap();
    let before = std::fs::read_to_string(&vars).unwrap();
    let d = open(&p, &[], None, Mode::Open).unwrap();
    assert_eq!(
        write(d, &p, &render(&p, &s, &creds()).unwrap(), &mut Broken)
            .unwrap_err()
            .code(),
        6
    );
    assert_eq!(std::fs::read_to_string(&vars).unwrap(), before);
}

/// No output names a variable aws-oidc reads as an input unless it holds
/// exactly what a re-run would read there (issue 18): a shell that sources
/// the output and runs aws-oidc again must ask for the same thing. The
/// region is written as read; nothing else the settings read is written.
#[test]
fn no_output_variable_is_an_input_unless_it_holds_what_was_read() {
    let read: Vec<&str> = crate::settings::read_env_names();
    assert!(read.contains(&"AWS_ROLE_ARN") && read.contains(&"HOME"));
    let region = ("PLUGIN_REGION", "eu-west-1");
    let mut configurations: Vec<Vec<(&str, &str)>> = Vec::new();
    for mask in ["false", "true"] {
        let mask = ("PLUGIN_MASK_ACCOUNT_ID", mask);
        configurations.push(vec![
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("DRONE_OUTPUT", "/v"),
            region,
            mask,
        ]);
        for format in ["dotenv", "shell", "json", "credential-process"] {
            configurations.push(vec![
                ("PLUGIN_OUTPUT_FILE", "/o"),
                ("PLUGIN_OUTPUT_FORMAT", format),
                ("HARNESS_OUTPUT_FILE", "/v"),
                region,
                mask,
            ]);
        }
    }
    let mut written = 0;
    for env in configurations {
        let (c, v) = rendered(&env);
        let lines = c.lines().chain(v.iter().flat_map(|v| v.lines()));
        for line in lines.filter(|l| !l.starts_with('{')) {
            let pair = line.trim_start_matches("export ").replace('\'', "");
            let (key, value) = pair.split_once('=').unwrap();
            written += 1;
            if read.contains(&key) {
                assert!(
                    crate::settings::REGION.envs.contains(&key) && value == region.1,
                    "{key}={value} is written, and aws-oidc reads {key} as an input ({env:?})"
                );
            }
        }
    }
    assert!(written > 40, "{written}");
}

/// Harness's and Drone's outputs without a region: one warning, as the
/// README's later steps map AWS_REGION from them (issue 18).
#[test]
fn runner_outputs_without_a_region_are_warned_about() {
    let warned = |env: &[(&str, &str)]| {
        let s = settings(env);
        region_warning(&plan(&s).unwrap(), &s)
    };
    let none = "no region is set, so AWS_REGION and AWS_DEFAULT_REGION are not written; set PLUGIN_REGION if later steps map them";
    assert_eq!(
        warned(&[("HARNESS_OUTPUT_SECRET_FILE", "/s")]).as_deref(),
        Some(none)
    );
    let vars = [("PLUGIN_OUTPUT_FILE", "/o"), ("DRONE_OUTPUT", "/v")];
    assert_eq!(warned(&vars).as_deref(), Some(none));
    assert_eq!(warned(&[("PLUGIN_OUTPUT_FILE", "/o")]), None);
    let with_region = [
        ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
        ("AWS_REGION", "eu-west-1"),
    ];
    assert_eq!(warned(&with_region), None);
    let global = warned(&[
        ("HARNESS_OUTPUT_FILE", "/v"),
        ("PLUGIN_OUTPUT_FILE", "-"),
        ("AWS_REGION", "aws-global"),
    ]);
    assert!(global
        .unwrap()
        .starts_with("the region aws-global (from AWS_REGION) names the global endpoint"));
}

/// A name prefix (`--env-prefix`, a role's `NAME_`) goes before every
/// output name, so no prefix may make an output write a name aws-oidc
/// reads: no input name ends in an output name it is not (§16.5).
#[test]
fn no_prefix_makes_an_output_name_an_input() {
    let outputs = [
        CREDENTIAL_KEYS.as_slice(),
        &[
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_ACCOUNT_ID",
            "AWS_ASSUMED_ROLE_ARN",
            "AWS_OIDC_ROLE_ARN",
        ],
    ]
    .concat();
    for input in crate::settings::read_env_names() {
        for out in &outputs {
            assert!(
                input == *out || !input.ends_with(out),
                "the input {input} ends in the output name {out}: a prefix could write it"
            );
        }
    }
}
