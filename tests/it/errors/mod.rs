//! The error matrix: bad settings and bad answers, each run through the real
//! binary at the default level and at trace. Every case checks the exit
//! code, the one-line message, how many requests reached the stand-in, that
//! no output file gained a line, and that no secret reached stdout or stderr
//! (`support::Case`). The cases are grouped by area: `settings`, `answers`,
//! `files` (profile files and token commands) and `tags`.

use crate::support::*;

mod answers;
mod files;
mod settings;
mod tags;

use answers::answer_cases;
use settings::settings_cases;

const POLICY_ECHOED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::echoed-secret-bucket/*"}]}"#;

/// Values some cases plant (a proxy's password, a hostile answer's
/// secrets) that no case may show, whichever case it is.
const MATRIX_SECRETS: &[&str] = &[
    "dollarCaseSecretKey000000000000000000001",
    "dollarCase$SessionToken000000000000000001",
    "user:pw",
    "PASSWORD",
    "pa://PASS",
    "s3cr/et",
    "s3cr%2Fet",
    "et?#pw",
    OPAQUE_TOKEN,
    HOSTILE_SECRET,
    HOSTILE_TOKEN,
    HOSTILE_TOKEN_OK,
    "verifyCaseSecretKey00000000000000000001",
    "verifyCaseSessionToken000000000000000001",
];

/// A matrix case: [`Case::new`], hiding [`MATRIX_SECRETS`] too.
fn case(name: &'static str, code: i32, says: &'static str, requests: usize) -> Case {
    Case::new(name, code, says, requests).hides(MATRIX_SECRETS)
}

/// Two roles for `--roles`, the second in another account.
const TWO_ROLES: &str =
    "prod=arn:aws:iam::123456789012:role/harness-ci,gov=arn:aws:iam::210987654321:role/deploy";

/// The step's profiles files in its own folder.
fn in_files(_: &StandIn, s: Step) -> Step {
    let creds = s.dir.join("credentials").display().to_string();
    let config = s.dir.join("config").display().to_string();
    s.set("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .set("AWS_CONFIG_FILE", &config)
}

/// A token command that runs `body` in sh with the step's token in `$T`
/// (written into the script: the step's own environment does not hold it).
fn token_command(body: &'static str) -> impl Fn(&StandIn, Step) -> Step + Send + Sync {
    move |_, s| {
        use std::os::unix::fs::PermissionsExt;
        let text = format!("#!/bin/sh\nT='{}'\n{body}\n", s.token);
        let p = write_file(&s.dir, "mint", &text);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        s.unset("PLUGIN_OIDC_TOKEN_ID")
            .set("PATH", "/usr/bin:/bin")
            .set("PLUGIN_OIDC_TOKEN_COMMAND", p.to_str().unwrap())
    }
}

/// A chained role in another account.
const CHAIN_ROLE: &str = "arn:aws:iam::210987654321:role/deploy";

/// An opaque (non-JWT) token, as some providers issue.
const OPAQUE_TOKEN: &str = "opaque:SIG:abc!def-0123456789x";

const HOSTILE_SECRET: &str = "hostileCaseSecretKey00000000000000000001";
const HOSTILE_TOKEN: &str = ";{touch,/tmp/aws-oidc-hostile-x}";
const HOSTILE_TOKEN_OK: &str = "hostileCaseSessionToken0000000000000001";
const HOSTILE_ARN: &str =
    "arn:aws:sts::123456789012:assumed-role/harness-ci/x;id>/tmp/aws-oidc-hostile-x";
const HOSTILE_ARN_OK: &str = "arn:aws:sts::123456789012:assumed-role/harness-ci/x";

#[test]
fn the_matrix_has_at_least_forty_cases() {
    assert!(settings_cases().len() + answer_cases().len() >= 40);
}

/// Puts the step's own token in another setting, as a swapped expression
/// would.
fn token_in(key: &'static str) -> impl Fn(&StandIn, Step) -> Step + Send + Sync {
    move |_, s| {
        let token: &'static str = Box::leak(s.token.clone().into_boxed_str());
        s.set(key, token)
    }
}

/// Turns the cache on, in this folder of the step's own.
fn cache_in(name: &'static str) -> impl Fn(&StandIn, Step) -> Step + Send + Sync {
    move |_, s| {
        let dir = s.dir.join(name).display().to_string();
        s.set("PLUGIN_CACHE", "true").set("PLUGIN_CACHE_DIR", &dir)
    }
}
