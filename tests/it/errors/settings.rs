//! Bad settings: each refused before any request, in one line.

use std::path::Path;

use super::*;

pub(super) fn settings_cases() -> Vec<Case> {
    vec![
        case("no role", 2, "no role ARN is set", 0).unset("PLUGIN_IAMROLEARN"),
        case(
            "role account not 12 digits",
            2,
            "PLUGIN_IAMROLEARN: account `12345` is not 12 digits",
            0,
        )
        .set("PLUGIN_IAMROLEARN", "arn:aws:iam::12345:role/harness-ci"),
        case(
            "role in unknown partition",
            2,
            "partition `aws-mars` is not known",
            0,
        )
        .set("PLUGIN_IAMROLEARN", "arn:aws-mars:iam::123456789012:role/x"),
        case("a user, not a role", 2, "is not a role", 0)
            .set("PLUGIN_IAMROLEARN", "arn:aws:iam::123456789012:user/bob"),
        case("no token", 2, "no OIDC token is set", 0).unset("PLUGIN_OIDC_TOKEN_ID"),
        case(
            "token too short",
            2,
            "PLUGIN_OIDC_TOKEN_ID: the token is 3 chars; STS accepts 4-20000",
            0,
        )
        .set("PLUGIN_OIDC_TOKEN_ID", "abc"),
        case(
            "token file missing",
            2,
            "PLUGIN_OIDC_TOKEN_FILE: cannot read /nonexistent/token: no such file",
            0,
        )
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN_FILE", "/nonexistent/token"),
        case(
            "token file empty",
            2,
            "is empty; it should hold the OIDC token",
            0,
        )
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .with(|_, s| {
            let f = write_file(&s.dir, "token", "\n");
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", f.to_str().unwrap())
        }),
        case(
            "duration not a duration",
            2,
            "PLUGIN_DURATION: `an hour` is not a duration",
            0,
        )
        .set("PLUGIN_DURATION", "an hour"),
        case(
            "duration too long",
            2,
            "PLUGIN_DURATIONSECONDS: 43201 seconds is outside 900-43200",
            0,
        )
        .set("PLUGIN_DURATIONSECONDS", "43201"),
        case(
            "region not a region",
            2,
            "AWS_REGION: `EU (Ireland)` is not a region",
            0,
        )
        .set("AWS_REGION", "EU (Ireland)"),
        case(
            "http endpoint off loopback",
            2,
            "plain http:// is allowed only for",
            0,
        )
        .set("PLUGIN_STS_ENDPOINT", "http://sts.example.com"),
        case(
            "endpoint without scheme",
            2,
            "PLUGIN_STS_ENDPOINT: `sts.example.com` is not a URL",
            0,
        )
        .set("PLUGIN_STS_ENDPOINT", "sts.example.com"),
        case(
            "endpoint with FIPS",
            2,
            "PLUGIN_STS_ENDPOINT sets an explicit endpoint, which cannot be combined with FIPS",
            0,
        )
        .set("PLUGIN_FIPS", "true"),
        case(
            "FIPS without region",
            2,
            "endpoints are regional; set PLUGIN_REGION",
            0,
        )
        .unset("PLUGIN_STS_ENDPOINT")
        .set("AWS_USE_FIPS_ENDPOINT", "yes"),
        case(
            "dual-stack in aws-iso",
            2,
            "partition aws-iso has no dual-stack STS endpoint",
            0,
        )
        .unset("PLUGIN_STS_ENDPOINT")
        .set("PLUGIN_IAMROLEARN", "arn:aws-iso:iam::123456789012:role/x")
        .set("PLUGIN_REGION", "us-iso-east-1")
        .set("PLUGIN_DUALSTACK", "on"),
        case(
            "role partition is not the region's",
            2,
            "the role ARN is in partition aws-cn but region eu-west-1 (from PLUGIN_REGION) is in aws",
            0,
        )
        .set("PLUGIN_IAMROLEARN", "arn:aws-cn:iam::123456789012:role/x")
        .set("PLUGIN_REGION", "eu-west-1"),
        case(
            "GovCloud role on the global endpoint",
            2,
            "the global endpoint sts.amazonaws.com does not serve",
            0,
        )
        .unset("PLUGIN_STS_ENDPOINT")
        .set(
            "PLUGIN_IAMROLEARN",
            "arn:aws-us-gov:iam::123456789012:role/x",
        ),
        case(
            "boolean that is not",
            2,
            "PLUGIN_DUALSTACK: `enabled` is not a boolean",
            0,
        )
        .set("PLUGIN_DUALSTACK", "enabled"),
        case(
            "regional endpoints mode",
            2,
            "AWS_STS_REGIONAL_ENDPOINTS: `global` is not accepted; use regional or legacy",
            0,
        )
        .set("AWS_STS_REGIONAL_ENDPOINTS", "global"),
        case(
            "CA bundle with no certificate",
            2,
            "holds no PEM certificate",
            0,
        )
        .with(|_, s| {
            let f = write_file(
                &s.dir,
                "ca.pem",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            );
            s.set("PLUGIN_CA_BUNDLE", f.to_str().unwrap())
        }),
        case(
            "CA bundle missing",
            2,
            "PLUGIN_CA_BUNDLE: cannot read /nonexistent/ca.pem: no such file",
            0,
        )
        .set("PLUGIN_CA_BUNDLE", "/nonexistent/ca.pem"),
        case(
            "socks proxy",
            2,
            "ALL_PROXY: socks5h proxies are not supported",
            0,
        )
        .set("ALL_PROXY", "socks5h://user:pw@127.0.0.1:1080"),
        case(
            "policy too long",
            2,
            "PLUGIN_POLICY: the session policy is 2104 chars; STS accepts 1-2048",
            0,
        )
        .with(|_, s| {
            let policy: &'static str = Box::leak(
                format!(
                    "{{\"Version\":\"2012-10-17\",\"Sid\":\"{}\"}}",
                    "p".repeat(2071)
                )
                .into_boxed_str(),
            );
            s.set("PLUGIN_POLICY", policy)
        }),
        case(
            "eleven policy ARNs",
            2,
            "11 policy ARNs given; STS accepts at most 10",
            0,
        )
        .with(|_, s| {
            let arns: &'static str = Box::leak(
                ["arn:aws:iam::aws:policy/ReadOnlyAccess"; 11]
                    .join(",")
                    .into_boxed_str(),
            );
            s.set("PLUGIN_POLICY_ARNS", arns)
        }),
        case("timeout", 2, "PLUGIN_TIMEOUT: `soon` is not a duration", 0)
            .set("PLUGIN_TIMEOUT", "soon"),
        case(
            "attempts",
            2,
            "PLUGIN_MAX_ATTEMPTS: `0` is not accepted; use a whole number 1-1000",
            0,
        )
        .set("PLUGIN_MAX_ATTEMPTS", "0"),
        case(
            "log level",
            2,
            "PLUGIN_LOGLEVEL: `verbose` is not a log level",
            0,
        )
        .set("PLUGIN_LOGLEVEL", "verbose")
        .own_log_level(),
        case(
            "format",
            2,
            "PLUGIN_OUTPUT_FORMAT: `yaml` is not a format",
            0,
        )
        .set("PLUGIN_OUTPUT_FORMAT", "yaml"),
        case(
            "session name too short",
            2,
            "PLUGIN_ROLESESSIONNAME: a session name needs 2-64 chars",
            0,
        )
        .set("PLUGIN_ROLESESSIONNAME", "x"),
        case("nowhere to write", 6, "CI_ENABLE_OUTPUT_SECRETS", 0)
            .unset("HARNESS_OUTPUT_SECRET_FILE"),
        case("the token given where a token file belongs", 2, "PLUGIN_OIDC_TOKEN_FILE: the value (", 0).with(|_, s| {
            // The token itself is never quoted back as a "path".
            let token: &'static str = Box::leak(s.token.clone().into_boxed_str());
            s.unset("PLUGIN_OIDC_TOKEN_ID").set("PLUGIN_OIDC_TOKEN_FILE", token)
        }),
        case("policy that is not JSON", 2, "PLUGIN_POLICY: the session policy (16 chars) is not valid JSON", 0)
            .set("PLUGIN_POLICY", "allow-all-please"),
        case("policy with characters STS refuses", 2, "PLUGIN_POLICY: the session policy holds U+2192", 0)
            .set("PLUGIN_POLICY", "{\"Sid\":\"deploy\u{2192}prod\"}"),
        case("endpoint with a user and password", 2, "PLUGIN_STS_ENDPOINT: `https://***:***@127.0.0.1:1/`: the endpoint URL must not hold a user or password", 0)
            .set("PLUGIN_STS_ENDPOINT", "https://u:PASSWORD@127.0.0.1:1/"),
        case("endpoint password holding / ? #", 2, "must not hold a user or password", 0)
            .set("PLUGIN_STS_ENDPOINT", "https://u:s3cr/et?#pw@127.0.0.1:1/"),
        case("plain http to a name under localhost", 2, "plain http:// is allowed only for", 0)
            .set("PLUGIN_STS_ENDPOINT", "http://localhost.example:1"),
        case("proxy URL whose user looks like a scheme", 2, "HTTPS_PROXY: the proxy URL has an @ after a /", 0)
            .set("HTTPS_PROXY", "ci:pa://PASS@host:9"),
        case("proxy password holding / ? #", 2, "HTTPS_PROXY: the proxy URL", 0)
            .set("HTTPS_PROXY", "http://ci:s3cr/et?#pw@127.0.0.1:9"),
        case("a token where its file belongs", 2, "AWS_WEB_IDENTITY_TOKEN_FILE: cannot read the value of AWS_WEB_IDENTITY_TOKEN_FILE (30 characters, not shown", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("AWS_WEB_IDENTITY_TOKEN_FILE", OPAQUE_TOKEN),
        case("a 120 KB setting value", 2, "PLUGIN_REGION: `xxxxxxxx", 0).with(|_, s| {
            let huge: &'static str = Box::leak("x".repeat(120_000).into_boxed_str());
            s.set("PLUGIN_REGION", huge)
        }),
        case("token file is a device", 2, "AWS_WEB_IDENTITY_TOKEN_FILE: cannot read /dev/zero: it is a character device, not a regular file", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("AWS_WEB_IDENTITY_TOKEN_FILE", "/dev/zero"),
        case("token file of two lines", 2, "spans more than one line; it should hold the token alone, on one line", 0).unset("PLUGIN_OIDC_TOKEN_ID").with(|_, s| {
            let text = format!("{}\n{}\n", s.token, s.token);
            let f = write_file(&s.dir, "token", &text);
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", f.to_str().unwrap())
        }),
        case("token with a NUL", 2, "holds control character U+0000 at character ", 0).unset("PLUGIN_OIDC_TOKEN_ID").with(|_, s| {
            let text = s.token.replacen('.', "\0.", 1);
            let f = write_file(&s.dir, "token", &text);
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", f.to_str().unwrap())
        }),
        case("token with an inner newline", 2, "PLUGIN_OIDC_TOKEN_ID: the token spans more than one line", 0).with(|_, s| {
            let token: &'static str = Box::leak(s.token.replacen('.', "\n.", 1).into_boxed_str());
            s.set("PLUGIN_OIDC_TOKEN_ID", token)
        }),
        case("CA bundle with a garbage certificate", 2, "holds 1 PEM certificate block but no usable X.509 certificate", 0).with(|_, s| {
            let f = write_file(
                &s.dir,
                "ca.pem",
                "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
            );
            s.set("PLUGIN_CA_BUNDLE", f.to_str().unwrap())
        }),
        // The run's own token put in another setting (a swapped expression):
        // never quoted back, whatever the setting.
        case("the token given as the region", 2, "PLUGIN_REGION: a JWT-shaped value (", 0).with(token_in("PLUGIN_REGION")),
        case("the token given as the role", 2, "PLUGIN_IAMROLEARN: a JWT-shaped value (", 0).with(token_in("PLUGIN_IAMROLEARN")),
        case("the token given as policy ARNs", 2, "PLUGIN_POLICY_ARNS: a JWT-shaped value (", 0).with(token_in("PLUGIN_POLICY_ARNS")),
        case("the token given as the session name", 2, "PLUGIN_ROLE_SESSION_NAME: a JWT-shaped value (", 0).with(token_in("PLUGIN_ROLE_SESSION_NAME")),
        case("an opaque token given as the region", 2, "AWS_REGION: `<redacted>` is not a region", 0)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .set("AWS_REGION", OPAQUE_TOKEN),
        case("an opaque token given as the session name", 2, "PLUGIN_ROLE_SESSION_NAME: the session name is the token", 0)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .set("PLUGIN_ROLE_SESSION_NAME", OPAQUE_TOKEN),
        case("the policy given as the region", 2, "PLUGIN_REGION: `<redacted>` is not a region", 0)
            .set("PLUGIN_POLICY", POLICY_ECHOED)
            .set("PLUGIN_REGION", POLICY_ECHOED),
        case("the cache on with no folder for it", 2, "PLUGIN_CACHE: the cache is on but there is no folder for it: XDG_CACHE_HOME or HOME is not set", 0)
            .set("PLUGIN_CACHE", "true"),
        case("the cache setting not a boolean", 2, "PLUGIN_CACHE: `sometimes` is not a boolean", 0)
            .set("PLUGIN_CACHE", "sometimes"),
        case("the cache folder a link", 6, "(from PLUGIN_CACHE_DIR) is a symbolic link, which is never followed for the cache", 0)
            .with(|sts, s| {
                std::os::unix::fs::symlink(&s.dir, s.dir.join("link")).unwrap();
                cache_in("link")(sts, s)
            }),
        case("a command not found", 127, "the command `no-such-command` is not found in PATH", 0)
            .args(&["--", "no-such-command"]),
        case("a command that cannot run", 126, "the command `/` is a folder, not a program", 0)
            .args(&["--", "/", "arg"]),
        case("nothing after --", 2, "`--` must be followed by the command to run", 0).args(&["--"]),
        case("an output file with a command", 2, "drop --output / PLUGIN_OUTPUT_FILE, or the command", 0)
            .set("PLUGIN_OUTPUT_FILE", "/dev/null")
            .args(&["--", "true"]),
        case("a format with a command", 2, "drop --format / PLUGIN_OUTPUT_FORMAT (shell), or the command", 0)
            .set("PLUGIN_OUTPUT_FORMAT", "shell")
            .args(&["--", "true"]),
        case("an output in the cache folder", 6, "is in the cache folder ", 0)
            .with(|sts, s| {
                std::fs::create_dir(s.dir.join("cache")).unwrap();
                let out = s.dir.join("cache").join("creds.env").display().to_string();
                cache_in("cache")(sts, s).set("PLUGIN_OUTPUT_FILE", &out)
            }),
        case("the cache folder a file", 6, "(from PLUGIN_CACHE_DIR) is not a folder; set --cache-dir", 0)
            .with(|sts, s| {
                write_file(&s.dir, "file", "x");
                cache_in("file")(sts, s)
            }),
        case("the role outside the allowed accounts", 2, "error: the role arn:aws:iam::123456789012:role/harness-ci (from PLUGIN_IAMROLEARN) is in account 123456789012, which PLUGIN_ALLOWEDACCOUNTIDS does not list (210987654321, 111111111111); fix the role ARN, or add the account to PLUGIN_ALLOWEDACCOUNTIDS", 0)
            .set("PLUGIN_ALLOWEDACCOUNTIDS", "210987654321, 111111111111"),
        case("an allowed account id that is not 12 digits", 2, "error: PLUGIN_ALLOWED_ACCOUNT_IDS: `12345678901` is not a 12-digit account id", 0)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012,12345678901"),
        case("the token given as the allowed account ids", 2, "PLUGIN_ALLOWED_ACCOUNT_IDS: a JWT-shaped value (", 0)
            .with(token_in("PLUGIN_ALLOWED_ACCOUNT_IDS")),
        case("the role outside the allowed accounts, masked", 2, "is in account ************, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (1 account id, masked)", 0)
            .set("PLUGIN_MASK_ACCOUNT_ID", "true")
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "210987654321"),
        case("an external ID without chained roles", 2, "PLUGIN_EXTERNALID: an external ID is sent only on chained hops (sts:AssumeRole), and AssumeRoleWithWebIdentity takes none; set chained role ARNs", 0)
            .set("PLUGIN_EXTERNALID", "ext-1"),
        case("an external ID with a space", 2, "PLUGIN_EXTERNAL_ID: `a b` holds a character STS does not accept in an external ID", 0)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_EXTERNAL_ID", "a b"),
        case("an external ID of one character", 2, "PLUGIN_EXTERNAL_ID: an external ID is 2-1224 chars, this one is 1", 0)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_EXTERNAL_ID", "x"),
        case("the token given as the external ID", 2, "PLUGIN_EXTERNAL_ID: the external ID is the token", 0)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .with(token_in("PLUGIN_EXTERNAL_ID")),
        case("a chained role ARN that is not one", 2, "PLUGIN_CHAINROLEARN: hop 3: account `1` is not 12 digits", 0)
            .set("PLUGIN_CHAINROLEARN", "arn:aws:iam::210987654321:role/a,arn:aws:iam::1:role/b"),
        case("a chained user ARN", 2, "PLUGIN_CHAIN_ROLE_ARN: hop 2: `user/bob` is not a role", 0)
            .set("PLUGIN_CHAIN_ROLE_ARN", "arn:aws:iam::210987654321:user/bob"),
        case("verify not a boolean", 2, "PLUGIN_VERIFY: `maybe`", 0).set("PLUGIN_VERIFY", "maybe"),
        // Profiles, several roles, prefixes (§16).
        case("a profile name with a space", 2, "PLUGIN_PROFILE: `a b` is not a profile name", 0).set("PLUGIN_PROFILE", "a b"),
        case("a profile with nowhere to put it", 2, "AWS_SHARED_CREDENTIALS_FILE: a profile is written, and neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set", 0)
            .set("PLUGIN_PROFILE", "ci"),
        case("a profile with an explicit output", 2, "with a profile the credentials go to the shared credentials file; drop --output / PLUGIN_OUTPUT_FILE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_OUTPUT_FILE", "/dev/null"),
        case("a profile with a format", 2, "drop --format / PLUGIN_OUTPUT_FORMAT (json), or --profile / PLUGIN_PROFILE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_OUTPUT_FORMAT", "json"),
        case("a profile with a command", 2, "with a command after `--`, the credentials go only to its environment, as AWS_* names; drop PLUGIN_PROFILE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").args(&["--", "true"]),
        case("roles beside a role ARN", 2, "PLUGIN_ROLES and PLUGIN_IAMROLEARN both name the role to assume", 0).set("PLUGIN_ROLES", TWO_ROLES),
        case("roles with chaining", 2, "PLUGIN_ROLES and PLUGIN_CHAIN_ROLE_ARN cannot be combined: chaining after several roles is not defined", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", TWO_ROLES).set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE),
        case("a roles entry without a name", 2, "PLUGIN_ROLES: entry 1 (`arn:aws:iam::123456789012:role/harness-ci`) is not NAME=ROLE_ARN", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", ROLE),
        case("two roles of one prefix", 2, "PLUGIN_ROLES: entry 2: the names `a-b` and `A_B` both prefix A_B_", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", "a-b=arn:aws:iam::123456789012:role/a,A_B=arn:aws:iam::123456789012:role/b"),
        case("the token given as the roles", 2, "PLUGIN_ROLES: entry 1 (a JWT-shaped value (", 0)
            .unset("PLUGIN_IAMROLEARN").with(token_in("PLUGIN_ROLES")),
        case("a role of several outside the allowed accounts", 2, "the role arn:aws:iam::210987654321:role/deploy (from PLUGIN_ROLES) is in account 210987654321, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", TWO_ROLES).set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT),
        case("a role of several in another partition", 2, "role gov (arn:aws-us-gov:iam::210987654321:role/deploy): the role ARN is in partition aws-us-gov but region us-east-1", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_REGION", "us-east-1").unset("PLUGIN_STS_ENDPOINT")
            .set("PLUGIN_ROLES", "prod=arn:aws:iam::123456789012:role/a,gov=arn:aws-us-gov:iam::210987654321:role/deploy"),
        case("several roles for credential-process", 2, "credential-process answers with one set of credentials, and PLUGIN_ROLES names several", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", TWO_ROLES).set("PLUGIN_OUTPUT_FORMAT", "credential-process"),
        case("profiles without roles", 2, "--profiles / PLUGIN_PROFILES writes each role of --roles / PLUGIN_ROLES to its own profile, and no roles are set", 0)
            .set("PLUGIN_PROFILES", "true"),
        case("one profile for several roles", 2, "PLUGIN_PROFILE names one profile but PLUGIN_ROLES names several roles", 0)
            .unset("PLUGIN_IAMROLEARN").set("PLUGIN_ROLES", TWO_ROLES).set("PLUGIN_PROFILE", "ci"),
        case("refreshable without a profile", 2, "PLUGIN_REFRESHABLE writes a profile, and none is named", 0).set("PLUGIN_REFRESHABLE", "true"),
        case("refreshable with the token as a value", 2, "PLUGIN_OIDC_TOKEN_ID: PLUGIN_REFRESHABLE needs the token in a file or from a command", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_REFRESHABLE", "true"),
        case("refreshable with an inline policy", 2, "and the inline session policy (PLUGIN_POLICY) is a secret that is never written", 0)
            .with(in_files).with(token_file).set("PLUGIN_PROFILE", "ci").set("PLUGIN_REFRESHABLE", "true").set("PLUGIN_POLICY", POLICY_ECHOED),
        case("refreshable with a relative token file", 2, "PLUGIN_OIDC_TOKEN_FILE: `target/errors-relative-token` must be an absolute path with PLUGIN_REFRESHABLE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_REFRESHABLE", "true")
            .unset("PLUGIN_OIDC_TOKEN_ID").with(|_, s| {
                write_file(Path::new("."), "target/errors-relative-token", &s.token);
                s.set("PLUGIN_OIDC_TOKEN_FILE", "target/errors-relative-token")
            }),
        case("refreshable with a # in a path", 2, "PLUGIN_REFRESHABLE: word 5 of the command holds `#`", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_REFRESHABLE", "true").unset("PLUGIN_OIDC_TOKEN_ID")
            .with(|_, s| {
                let f = write_file(&s.dir, "tok#en", &s.token);
                s.set("PLUGIN_OIDC_TOKEN_FILE", f.to_str().unwrap())
            }),
        case("a name prefix with a dash", 2, "PLUGIN_ENV_PREFIX: `CI-` is not a name prefix", 0).set("PLUGIN_ENV_PREFIX", "CI-"),
        case("a name prefix for credential-process", 2, "credential-process writes AWS's own field names, which take no prefix; drop PLUGIN_ENV_PREFIX", 0)
            .set("PLUGIN_ENV_PREFIX", "CI_").set("PLUGIN_OUTPUT_FORMAT", "credential-process"),
        case("a name prefix with a command", 2, "drop PLUGIN_ENV_PREFIX, or the command", 0)
            .set("PLUGIN_ENV_PREFIX", "CI_").args(&["--", "true"]),
    ]
}

/// The step's token in a file, as a refreshable profile needs it.
fn token_file(_: &StandIn, s: Step) -> Step {
    let f = write_file(&s.dir, "token", &s.token);
    s.unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN_FILE", f.to_str().unwrap())
}

#[test]
fn settings_matrix() {
    let cases = settings_cases();
    assert!(cases.len() >= 30);
    assert_all_pass(cases.iter().map(outcome).collect());
}
