//! The error matrix: bad settings and bad answers, each run through the real
//! binary at the default level and at trace. Every case checks the exit
//! code, the one-line message, how many requests reached the stand-in, that
//! no output file gained a line, and that no secret reached stdout or stderr.

use std::path::Path;

use crate::support::*;

const POLICY_ECHOED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::echoed-secret-bucket/*"}]}"#;

const AWS_KEY_RETRIEVAL: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// A success body whose session token holds `$`, which dotenv readers expand.
fn dollar_success() -> Vec<u8> {
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{}\"><AssumeRoleWithWebIdentityResult><Credentials>\
         <AccessKeyId>ASIADOLLAR0000000001</AccessKeyId><SecretAccessKey>dollarCaseSecretKey000000000000000000001</SecretAccessKey>\
         <SessionToken>dollarCase$SessionToken000000000000000001</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
         </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        standin::NS
    )
    .into_bytes()
}

fn err(status: u16, code: &'static str, message: &str) -> Reply {
    Reply::Error(status, code, message.to_string())
}

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

fn settings_cases() -> Vec<Case> {
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

/// The step's token in a file, as a refreshable profile needs it.
fn token_file(_: &StandIn, s: Step) -> Step {
    let f = write_file(&s.dir, "token", &s.token);
    s.unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN_FILE", f.to_str().unwrap())
}

/// The profiles files' refusals, each before STS is asked (§16.2).
fn profile_file_cases() -> Vec<Case> {
    vec![
        case("a profile over long-lived keys", 6, "[ci] holds long-lived keys (aws_access_key_id without aws_session_token), which would be lost; set --overwrite-profile / PLUGIN_OVERWRITE_PROFILE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                write_file(&s.dir, "credentials", "[ci]\naws_access_key_id = AKIASTATIC0000000001\naws_secret_access_key = staticSecretKey\n");
                s
            }),
        case("a profile twice in the file", 6, "holds [ci] 2 times, which the AWS SDKs refuse to read; remove all but one", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                write_file(&s.dir, "credentials", "[ci]\nregion = a\n[ci]\nregion = b\n");
                s
            }),
        case("a credentials file that is a link", 6, "(from AWS_SHARED_CREDENTIALS_FILE) (", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                let target = write_file(&s.dir, "real", "");
                std::os::unix::fs::symlink(target, s.dir.join("credentials")).unwrap();
                s
            })
            .trace_says("is a symbolic link, which is never followed for an output"),
        case("a credentials file others can write", 6, "can be written by group or others (mode 0666)", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                use std::os::unix::fs::PermissionsExt;
                let f = write_file(&s.dir, "credentials", "");
                std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666)).unwrap();
                s
            }),
        case("a credentials file that is the token file", 6, "is the same file as AWS_WEB_IDENTITY_TOKEN_FILE", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                let f = s.dir.join("credentials").display().to_string();
                s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &f)
            }),
        case("a credentials file that is not UTF-8", 6, "is not UTF-8, so it cannot be merged without changing it", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|_, s| {
                std::fs::write(s.dir.join("credentials"), b"[other]\nx = \xff\n").unwrap();
                s
            }),
        case("a config file in a missing folder", 6, "the config file (from AWS_CONFIG_FILE) (", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci").set("PLUGIN_REGION", "eu-west-1")
            .with(|_, s| {
                let config = s.dir.join("no-such-folder").join("config").display().to_string();
                s.set("AWS_CONFIG_FILE", &config)
            }),
        case("a profile file in the cache folder", 6, "is in the cache folder ", 0)
            .with(in_files).set("PLUGIN_PROFILE", "ci")
            .with(|sts, s| {
                std::fs::create_dir(s.dir.join("cache")).unwrap();
                let creds = s.dir.join("cache").join("credentials").display().to_string();
                cache_in("cache")(sts, s).set("AWS_SHARED_CREDENTIALS_FILE", &creds)
            }),
    ]
    .into_iter()
    .chain(token_command_cases())
    .collect()
}

/// Token commands (§14.3): each refusal, its exit code and nothing sent;
/// what the command printed is the step's token, which no line shows.
fn token_command_cases() -> Vec<Case> {
    vec![
        case("a token command that fails", 2, "exited with 1 (its last line on standard error: `refused for <redacted>`); check that this job may request an OIDC token; nothing was sent", 0)
            .with(token_command(r#"printf '%s\n' "$T"; echo "refused for $T" >&2; exit 1"#))
            .passed_through(1),
        case("a token command not found", 127, "PLUGIN_OIDC_TOKEN_COMMAND: the token command `no-such-minter` is not found in PATH; install it, or name it by its path; nothing was sent", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("PLUGIN_OIDC_TOKEN_COMMAND", "no-such-minter --audience sts.amazonaws.com"),
        case("a token command that cannot run", 126, "PLUGIN_OIDC_TOKEN_COMMAND: the token command `/` is a folder, not a program", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("PLUGIN_OIDC_TOKEN_COMMAND", "/ x"),
        case("a token command with a quote left open", 2, "PLUGIN_OIDCTOKENCOMMAND: the command has a ' quote that is not closed", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("PLUGIN_OIDCTOKENCOMMAND", "circleci run oidc get --claims '{\"aud\":1}"),
        case("a token command with a pipe", 2, "PLUGIN_OIDC_TOKEN_COMMAND: the command has `|` outside quotes, which only a shell understands", 0)
            .unset("PLUGIN_OIDC_TOKEN_ID")
            .set("PLUGIN_OIDC_TOKEN_COMMAND", "cat /var/run/token | tr -d x"),
        case("a token command that prints nothing", 2, "printed nothing on standard output; it should print the OIDC token; nothing was sent", 0)
            .with(token_command("exit 0")),
        case("a token command that prints too much", 2, "printed more than 20000 characters, which is no OIDC token; nothing was sent", 0)
            .with(token_command(r#"while :; do printf '%s' "$T"; done"#)),
        case("a token command that prints two lines", 2, "printed spans more than one line; it should hold the token alone, on one line", 0)
            .with(token_command(r#"printf '%s\n%s\n' "$T" "$T""#)),
        case("a token command that hangs", 4, "did not finish within the run's timeout and was stopped (its last line on standard error: `minting <redacted>`); nothing was sent", 0)
            .set("PLUGIN_TIMEOUT", "1s")
            .with(token_command(r#"echo "minting $T" >&2; printf '%s\n' "$T"; exec sleep 30"#)),
        case("a token command that fails when run again", 2, "exited with 3 (its last line on standard error: `no more tokens`); check that this job may request an OIDC token; attempt 2 was not sent", 1)
            .replies(vec![Reply::RetryAfter("0".into())])
            .with(token_command(r#"[ -e "$0.ran" ] && { echo 'no more tokens' >&2; exit 3; }; touch "$0.ran"; printf '%s\n' "$T""#)),
        case("a token file gone before a retry", 2, "PLUGIN_OIDC_TOKEN_FILE: cannot read ", 1).unset("PLUGIN_OIDC_TOKEN_ID").with(|sts, s| {
            let f = write_file(&s.dir, "token", &s.token);
            let gone = f.clone();
            let hook = Hook(std::sync::Arc::new(move || std::fs::remove_file(&gone).unwrap()));
            sts.script([Reply::Before(hook, Box::new(Reply::RetryAfter("0".into())))]);
            s.set("PLUGIN_OIDC_TOKEN_FILE", f.to_str().unwrap())
        }),
    ]
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

/// The step, sent through a proxy with a password on this loopback port,
/// to a host name only a proxy could reach.
fn through_proxy(sts: &StandIn, s: Step, port: u16) -> Step {
    through_proxy_as(sts, s, port, "ci:s3cr%2Fet")
}

/// [`through_proxy`], with this user and password.
fn through_proxy_as(sts: &StandIn, s: Step, port: u16, userinfo: &str) -> Step {
    s.set(
        "HTTPS_PROXY",
        &format!("http://{userinfo}@127.0.0.1:{port}"),
    )
    .set(
        "PLUGIN_STS_ENDPOINT",
        &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
    )
}

/// A proxy password long enough that a server can quote a part of it.
const PROXY_PASSWORD: &str = "pr0xy-Passw0rd-of-the-runner-42";

/// What a server quoting the proxy's credentials in part says: 16
/// characters of [`PROXY_PASSWORD`] and 20 of the `Proxy-Authorization`
/// Basic value that carries it.
fn quoting_the_proxy() -> String {
    let basic = basic_value(format!("ci:{PROXY_PASSWORD}").as_bytes());
    format!(
        "password {} basic {}",
        &PROXY_PASSWORD[4..20],
        &basic[8..28]
    )
}

/// A proxy that refuses every CONNECT with a 407 whose status text, header
/// and body each quote [`quoting_the_proxy`].
fn proxy_quoting_itself() -> u16 {
    let quote = quoting_the_proxy();
    let reply = format!(
        "HTTP/1.1 407 {quote}\r\nProxy-Authenticate: Basic realm=\"{quote}\"\r\nContent-Length: {}\r\n\r\n{quote}",
        quote.len()
    );
    answering_proxy(Box::leak(reply.into_boxed_str()).as_bytes()).0
}

/// An opaque (non-JWT) token, as some providers issue.
const OPAQUE_TOKEN: &str = "opaque:SIG:abc!def-0123456789x";

/// A block page that quotes the request it refused: half of the token,
/// the policy, the form body (percent-encoded) and the policy as HTML text.
fn block_page() -> Vec<u8> {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "<p>token {}</p><p>{POLICY_ECHOED}</p><pre>WebIdentityToken={}&amp;Policy={}</pre><p>{}</p>",
        &OPAQUE_TOKEN[3..18],
        encode(OPAQUE_TOKEN),
        encode(POLICY_ECHOED),
        POLICY_ECHOED.replace('"', "&quot;"),
    )
    .into_bytes()
}

fn answer_cases() -> Vec<Case> {
    vec![
        // The token a command printed, quoted on its stderr, is shown
        // nowhere, at info or trace, the first time or when run again.
        case("a token command run again for a retry", 0, "assumed", 2)
            .replies(vec![Reply::RetryAfter("0".into())])
            .with(token_command(r#"echo "minting $T" >&2; printf '%s\n' "$T""#))
            .trace_says("debug: read the token again from PLUGIN_OIDC_TOKEN_COMMAND ("),
        case("a server speaking only TLS 1.2", 0, "assumed arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc", 1)
            .transport(Transport::Tls12),
        case("503 twice, then success", 0, "assumed arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc", 3)
            .replies(vec![err(503, "ServiceUnavailable", "Service unavailable"), Reply::Raw(503, "text/plain", b"busy".to_vec())]),
        case("throttled twice, then success", 0, "assumed", 3).replies(vec![err(400, "Throttling", "Rate exceeded"), err(400, "ThrottlingException", "Rate exceeded")]),
        case("IDPCommunicationError once, then success", 0, "assumed", 2).replies(vec![err(400, "IDPCommunicationError", "Couldn't reach the IdP")]),
        case("provider keys not retrievable once, then success", 0, "assumed", 2).replies(vec![err(400, "InvalidIdentityToken", AWS_KEY_RETRIEVAL)]),
        case("500 on every attempt", 3, "InternalFailure: An internal error occurred (after 3 attempts in ", 3)
            .replies(vec![err(500, "InternalFailure", "An internal error occurred"); 3]),
        case("502 HTML on every attempt", 5, "answered HTTP 502 (text/html) that is not an STS answer", 3)
            .replies(vec![Reply::Raw(502, "text/html", b"<html><body>Bad gateway</body></html>".to_vec()); 3]),
        case("AccessDenied", 3, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (RequestId ", 1)
            .replies(vec![err(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")]),
        case("no OIDC provider", 3, "check that account 123456789012 has an IAM OIDC provider for https://app.harness.io/ng/api/oidc/account/acc123", 1)
            .replies(vec![err(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://app.harness.io/ng/api/oidc/account/acc123")]),
        // Refused unsent, as --check refuses it (§1.3).
        case("expired token", 3, "the token expired 1h 0m ago (exp ", 0)
            .with(|_, s| {
                let t: &'static str = Box::leak(jwt("https://app.harness.io/ng/api/oidc/account/acc123", "sts.amazonaws.com", "x", now() - 3600).into_boxed_str());
                s.set("PLUGIN_OIDC_TOKEN_ID", t)
            }),
        // This machine's clock is behind STS's: STS's word is the hint.
        case("STS says an unexpired token expired", 3, "STS considers it expired, so check this machine's clock", 1)
            .replies(vec![err(400, "ExpiredTokenException", "Token expired: current date/time 1 must be before the expiration date/time 0")]),
        case("a command after a refused exchange", 3, "AccessDenied: Not authorized", 1)
            .replies(vec![err(403, "AccessDenied", "Not authorized")])
            .args(&["--", "sh", "-c", "echo ran"]),
        case("IDPRejectedClaim", 3, "rejected one of these claims", 1).replies(vec![err(403, "IDPRejectedClaim", "Claim rejected")]),
        case("MalformedPolicyDocument", 3, "fix the session policy in PLUGIN_POLICY", 1)
            .set("PLUGIN_POLICY", "{\"Version\":\"2012-10-17\"}")
            .replies(vec![err(400, "MalformedPolicyDocument", "Syntax errors in policy.")]),
        case("PackedPolicyTooLarge", 3, "PackedPolicyTooLarge", 1).replies(vec![err(400, "PackedPolicyTooLarge", "Policy too large")]),
        case("RegionDisabledException", 3, "STS is not activated for this account in this region", 1)
            .replies(vec![err(403, "RegionDisabledException", "STS is not activated in this region for account:123456789012.")]),
        case("duration over the role's maximum", 3, "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 1)
            .set("PLUGIN_DURATION", "2h")
            .with(|sts, s| {
                sts.max_session(3600);
                s
            }),
        case("InvalidParameterValue", 3, "InvalidParameterValue", 1).replies(vec![err(400, "InvalidParameterValue", "Bad value")]),
        case("some other 4xx", 3, "HTTP 404): NotFound", 1).replies(vec![err(404, "NotFound", "nothing here")]),
        case("HTML proxy page", 5, "first bytes: `<!DOCTYPE html> <html><head><title>Access blocked", 1)
            .replies(vec![Reply::Raw(200, "text/html", fixture("proxy-page.html"))]),
        case("body over 1 MiB", 5, "with a body over 1 MiB", 1).replies(vec![Reply::Raw(200, "text/xml", vec![b'<'; 2 << 20])]),
        case("garbage instead of HTTP", 5, "did not answer with HTTP", 1).replies(vec![Reply::Garbage]),
        case("XML with a DTD", 5, "it has a DOCTYPE", 1).replies(vec![Reply::Raw(200, "text/xml", fixture("dtd.xml"))]),
        case("truncated XML", 5, "the body is not XML", 1).replies(vec![Reply::Raw(200, "text/xml", fixture("truncated.xml"))]),
        case("success without SessionToken", 5, "the success XML has no SessionToken", 1)
            .replies(vec![Reply::Raw(200, "text/xml", fixture("success-missing-session-token.xml"))]),
        case("XML that is neither", 5, "neither a success nor an ErrorResponse", 1)
            .replies(vec![Reply::Raw(200, "text/xml", b"<Hello>world</Hello>".to_vec())]),
        case("silent server", 4, "no answer from 127.0.0.1 within the 2s timeout (from PLUGIN_TIMEOUT)", 1)
            .set("PLUGIN_TIMEOUT", "2s")
            .replies(vec![Reply::Stall]),
        case("connection closed without an answer", 4, "cannot reach 127.0.0.1: connection closed before an answer after 3 attempts", 3).replies(vec![Reply::Close; 3]),
        case("connection refused", 4, "cannot reach 127.0.0.1: connection refused", 0).with(|_, s| {
            let port = closed_port();
            let url: &'static str = Box::leak(format!("https://127.0.0.1:{port}").into_boxed_str());
            s.set("PLUGIN_STS_ENDPOINT", url)
        }),
        case("untrusted certificate", 4, "TLS to 127.0.0.1 failed: the server's certificate is not trusted (unknown issuer)", 0)
            .transport(Transport::UntrustedTls),
        // Only AES-GCM is offered (src/request/tls.rs, §3.3).
        case("a server offering only ChaCha20-Poly1305", 4, "TLS to 127.0.0.1 failed: the TLS handshake failed (received fatal alert: HandshakeFailure)", 0)
            .transport(Transport::ChaChaOnly),
        case("a credential dotenv readers would mangle", 5, "the answer holds a character STS never sends in SessionToken", 1)
            .replies(vec![Reply::Raw(200, "text/xml", dollar_success())]),
        case("variables file cannot be opened", 6, "DRONE_OUTPUT (/nonexistent/dir/output.env) cannot be created: the directory /nonexistent/dir does not exist", 0)
            .set("DRONE_OUTPUT", "/nonexistent/dir/output.env"),
        case("an opaque (non-JWT) token is sent as is", 0, "assumed", 1).set("PLUGIN_OIDC_TOKEN_ID", "opaque-oauth-access-token-0123456789")
            .trace_says("the token is not a JWT; sending it as is"),
        case("a 503 with a success body is retried", 0, "assumed", 2).replies(vec![Reply::Raw(
            503,
            "text/xml",
            fixture("success-one-line-fractional.xml"),
        )]),
        case("STS quoting the policy back", 3, "ValidationError: 1 validation error detected: Value '<redacted>' at 'policy'", 1)
            .set("PLUGIN_POLICY", POLICY_ECHOED)
            .replies(vec![err(
                400,
                "ValidationError",
                &format!("1 validation error detected: Value '{POLICY_ECHOED}' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            )]),
        // Destinations are refused before STS is asked.
        case("explicit output is a device", 6, "--output / PLUGIN_OUTPUT_FILE (/dev/null) is a device, not a regular file", 0)
            .set("PLUGIN_OUTPUT_FILE", "/dev/null"),
        case("secret file is a directory", 6, "is a directory; name a file inside it", 0).with(|_, s| {
            let dir = s.dir.join("a-folder");
            std::fs::create_dir(&dir).unwrap();
            s.set("HARNESS_OUTPUT_SECRET_FILE", dir.to_str().unwrap())
        }),
        case("secret file is a symlink", 6, "is a symbolic link, which is never followed for an output", 0).with(|_, s| {
            let target = write_file(&s.dir, "target.env", "");
            let link = s.dir.join("link.env");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            s.set("HARNESS_OUTPUT_SECRET_FILE", link.to_str().unwrap())
        }),
        case("secret file others can write", 6, "can be written by group or others (mode 0666); run chmod go-w", 0).with(|_, s| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&s.secret_file, "").unwrap();
            std::fs::set_permissions(&s.secret_file, std::fs::Permissions::from_mode(0o666)).unwrap();
            s
        }),
        case("output and variables file are one file", 6, "DRONE_OUTPUT (", 0).with(|_, s| {
            let vars = s.vars_file.display().to_string();
            s.set("PLUGIN_OUTPUT_FILE", &vars)
        }),
        case("secret file is the token file", 6, "is the same file as AWS_WEB_IDENTITY_TOKEN_FILE", 0).with(|_, s| {
            let file = write_file(&s.dir, "token", &s.token);
            let path = file.to_str().unwrap();
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", path).set("HARNESS_OUTPUT_SECRET_FILE", path)
        }),
        case("CA bundle as the output", 6, "is the same file as PLUGIN_CA_BUNDLE", 0)
            .with(|sts, s| s.set("PLUGIN_OUTPUT_FILE", sts.ca().to_str().unwrap())),
        case("STS quoting the token whole, encoded and in part", 3, "ValidationError: Value '<redacted>', '<redacted>' or '<redacted>' at 'webIdentityToken'", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .replies(vec![err(
                400,
                "ValidationError",
                &format!("Value '{OPAQUE_TOKEN}', '{}' or '{}' at 'webIdentityToken'", OPAQUE_TOKEN.replace(':', "%3A").replace('!', "%21"), &OPAQUE_TOKEN[5..20]),
            )]),
        case("a block page quoting the request", 5, "answered HTTP 403 (text/html; charset=utf-8) that is not an STS answer", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .set("PLUGIN_POLICY", POLICY_ECHOED)
            .replies(vec![Reply::Raw(403, "text/html; charset=utf-8", block_page())]),
        case("a header quoting the token", 5, "answered HTTP 403 (text/html; echo=<redacted>) that is not an STS answer", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .replies(vec![Reply::Raw(403, "text/html; echo=opaque:SIG:abc!def-0123456789x", b"<p>no</p>".to_vec())]),
        case("a 900 KB STS message", 3, "ValidationError: xxxxxxxx", 1)
            .replies(vec![err(400, "ValidationError", &"x".repeat(900_000))]),
        case("HTML with a charset on every attempt", 5, "answered HTTP 500 (text/html; charset=utf-8) that is not an STS answer: ", 3)
            .replies(vec![Reply::Raw(500, "text/html; charset=utf-8", b"<html><body>oops</body></html>".to_vec()); 3]),
        case("silent server, the timeout said once", 4, "s of it waiting; check that this runner can reach it", 1)
            .set("PLUGIN_TIMEOUT", "2s")
            .replies(vec![Reply::Stall]),
        case("proxy refusing the connection", 4, "cannot reach sts.stand-in.invalid through the proxy http://***:***@127.0.0.1:", 0).with(|sts, s| {
            through_proxy(sts, s, closed_port())
        }),
        // A proxy's own refusal, and STS's through it, quoting the proxy's
        // password and Basic value in part: the 12-character check below.
        case("a proxy refusal quoting its password and Basic value", 4, "refused to connect to sts.stand-in.invalid: 407 Proxy Authentication Required; check HTTPS_PROXY", 0)
            .with(|sts, s| through_proxy_as(sts, s, proxy_quoting_itself(), &format!("ci:{PROXY_PASSWORD}"))),
        case("STS through a proxy quoting its password and Basic value", 3, "AccessDenied: saw password <redacted> basic <redacted> (RequestId", 1)
            .with(|sts, s| through_proxy_as(sts, s, standin::Proxy::start(sts.port).port, &format!("ci:{PROXY_PASSWORD}")))
            .replies(vec![err(403, "AccessDenied", &format!("saw {}", quoting_the_proxy()))]),
        case("proxy dropping the connection", 4, "through the proxy http://***:***@127.0.0.1:", 0).with(|sts, s| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            std::thread::spawn(move || listener.incoming().for_each(drop));
            through_proxy(sts, s, port)
        }),
        case("a shell command in SessionToken", 5, "answered HTTP 200 with credentials, but the answer holds a character STS never sends in SessionToken; nothing was written", 1)
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z"))]),
        case("a shell command in the Arn", 5, "the answer holds a character STS never sends in AssumedRoleUser/Arn", 1)
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN, "2099-01-01T00:00:00Z"))]),
        case("a leap second in Expiration", 5, "Expiration is not an RFC 3339 UTC time", 1)
            .set("PLUGIN_OUTPUT_FORMAT", "credential-process")
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "9999-12-31T23:59:60Z"))]),
        case("an answer that is not UTF-8", 5, "the body is not UTF-8", 1).replies(vec![Reply::Raw(200, "text/xml", {
            let mut b = hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z");
            b.extend_from_slice(b"<!-- \xff -->");
            b
        })]),
        case("an answer in ISO-8859-1", 5, "the body is declared as charset `iso-8859-1`", 1)
            .replies(vec![Reply::Raw(200, "text/xml; charset=iso-8859-1", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z"))]),
        case("a session token over 64 KiB", 5, "answered HTTP 200 with credentials, but SessionToken is 65537 characters, over the 65536 aws-oidc takes; nothing was written", 1)
            .replies(vec![Reply::StsWithTokenOf((64 << 10) + 1)]),
        // A request line longer than the client's buffer is this side's
        // doing: not blamed on the server, not retried, and nothing reaches it.
        case("a request the client cannot write", 1, "cannot send the request to 127.0.0.1: a request line or header is longer than the client's output buffer (ureq: protocol: output too small to write output); this is aws-oidc's doing, not the server's or the network's; nothing was written", 0)
            .with(|sts, s| s.set("PLUGIN_STS_ENDPOINT", &format!("{}/{}", sts.url(), "p".repeat(9 << 10)))),
        case("response headers over the limit", 5, "answered with response headers over 16 KiB", 1).replies(vec![Reply::StsWithHeaders(100 << 10)]),
        case("throttled up to the attempt cap the user set", 3, "of it waiting (max attempts 3, from PLUGIN_MAX_ATTEMPTS)", 3)
            .replies(vec![err(400, "Throttling", "Rate exceeded"); 3]),
        case("Retry-After past the timeout", 3, "the server asked to wait 3600s, past the 20s timeout (from PLUGIN_TIMEOUT)", 1)
            .replies(vec![Reply::RetryAfter("3600".into())]),
        case("a Retry-After date past the timeout", 3, "past the 20s timeout (from PLUGIN_TIMEOUT)", 1)
            .replies(vec![Reply::RetryAfter("Fri, 01 Jan 2100 00:00:00 GMT".into())]),
        // An input that does not exist yet is still an input: a later step's
        // SDK reads it (attack finding 2).
        case("secret file is the token file, not there yet", 6, "is the same file as AWS_WEB_IDENTITY_TOKEN_FILE", 0).with(|_, s| {
            let path = s.dir.join("token").display().to_string();
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &path).set("HARNESS_OUTPUT_SECRET_FILE", &path)
        }),
        case("secret file is SSL_CERT_FILE, not there yet", 6, "is the same file as SSL_CERT_FILE", 0).with(|_, s| {
            let path = s.dir.join("ca.pem").display().to_string();
            s.set("SSL_CERT_FILE", &path).set("HARNESS_OUTPUT_SECRET_FILE", &path)
        }),
        case("an outage worded as a failure, with what to do", 3, "STS failed AssumeRoleWithWebIdentity (HTTP 503): ServiceUnavailable: Service is down", 3)
            .trace_says("try later")
            .replies(vec![err(503, "ServiceUnavailable", "Service is down"); 3]),
        case("InternalFailure says what to do", 3, "; STS or something in between failed; it is retried until the timeout", 3)
            .replies(vec![err(500, "InternalFailure", "internal"); 3]),
        case("an unknown code says what to do", 3, "; aws-oidc has no hint for this code; look it up under Errors", 1)
            .trace_says("SomeNewCode: new (RequestId ")
            .replies(vec![err(400, "SomeNewCode", "new")]),
        case("a redirect names where, masked", 5, "answered HTTP 302 redirecting to https://***:***@login.example/sso?x=1 (redirects are not followed); set the endpoint", 1)
            .replies(vec![Reply::Redirect(302, "https://user:pw@login.example/sso?x=1".into())]),
        case("a refusal with the cache on writes no entry", 3, "AccessDenied: no (RequestId ", 1)
            .with(cache_in("cache"))
            .replies(vec![err(403, "AccessDenied", "no")]),
        case("an answer for an account not allowed", 5, "error: STS answered with credentials for arn:aws:sts::210987654321:assumed-role/harness-ci/harness-aws-oidc in account 210987654321, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (123456789012); nothing was written", 1)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::StsAsAccount("210987654321")]),
        case("an answer without its role under the account guard", 5, "error: STS answered without AssumedRoleUser/Arn, so its account cannot be checked against PLUGIN_ALLOWED_ACCOUNT_IDS; nothing was written", 1)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::Raw(200, "text/xml", without_assumed_role())]),
        case("an answer for an account not allowed, masked", 5, "STS answered with credentials for arn:aws:sts::************:assumed-role/harness-ci/harness-aws-oidc in account ************, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (1 account id, masked)", 1)
            .set("PLUGIN_MASK_ACCOUNT_ID", "true")
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::StsAsAccount("210987654321")]),
        case("a chained hop refused names its hop, role and what must hold", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 403): AccessDenied: User: arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/deploy (RequestId ", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .with(|sts, s| {
                sts.deny_role(CHAIN_ROLE);
                s
            })
            .trace_says("the trust policy of arn:aws:iam::210987654321:role/deploy names the previous assumed role arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"),
        case("a chained hop whose signer STS does not accept", 3, "(HTTP 403): InvalidClientTokenId: The security token included in the request is invalid (RequestId ", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(403, "InvalidClientTokenId", "The security token included in the request is invalid")])
            .trace_says("STS did not accept the credentials of arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc that signed this hop"),
        case("the first hop of a chain refused names it", 3, "STS refused AssumeRoleWithWebIdentity (hop 1 of 2, role arn:aws:iam::123456789012:role/harness-ci) (HTTP 400): InvalidIdentityToken", 1)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![err(400, "InvalidIdentityToken", "No OpenIDConnect provider found")]),
        case("a chained hop asking past the chaining hour", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 400): ValidationError: The requested DurationSeconds exceeds", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")]),
        case("a chained hop answered without credentials", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200 (text/xml) that is not an STS answer: the answer is a <GetCallerIdentityResponse>, not the AssumeRoleResponse asked for; first bytes: `", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/xml", caller_identity_xml("arn:aws:sts::210987654321:assumed-role/deploy/x"))]),
        case("a chained hop throttled until the attempts run out", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 400): Throttling: Rate exceeded", 4)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(400, "Throttling", "Rate exceeded"), err(400, "Throttling", "Rate exceeded"), err(400, "Throttling", "Rate exceeded")]),
        case("a chained hop with no answer names its hop", 4, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): cannot reach 127.0.0.1", 4)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Close, Reply::Close, Reply::Close]),
        case("a chained hop's answer not understood names its hop", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/html", b"<html>portal</html>".to_vec())]),
        case("verify answered with another caller", 5, "--verify: STS says the credentials are arn:aws:sts::999999999999:assumed-role/other/x, not the assumed role arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc; nothing was written", 2)
            .set("PLUGIN_VERIFY", "true")
            .with(|sts, s| {
                sts.caller_arn("arn:aws:sts::999999999999:assumed-role/other/x");
                s
            }),
        case("verify refused", 3, "STS refused GetCallerIdentity (--verify) (HTTP 403): ExpiredToken: The security token included in the request is expired", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, err(403, "ExpiredToken", "The security token included in the request is expired")])
            .trace_says("STS did not accept the new credentials that signed GetCallerIdentity"),
        case("verify answered with credentials instead", 5, "GetCallerIdentity (--verify): 127.0.0.1 answered HTTP 200, but the answer is a <AssumeRoleWithWebIdentityResponse>, not the GetCallerIdentityResponse asked for; nothing was written", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/xml", standin::success_xml("ASIAVERIFYCASE000001", "verifyCaseSecretKey00000000000000000001", "verifyCaseSessionToken000000000000000001", "2099-01-01T00:00:00Z", HOSTILE_ARN_OK))]),
        case("the cache folder shared (sticky)", 6, "(from PLUGIN_CACHE_DIR) is a shared folder (mode 1777); give the cache a folder of its own, such as ", 0)
            .with(|sts, s| {
                let dir = s.dir.join("tmp");
                std::fs::create_dir(&dir).unwrap();
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
                cache_in("tmp")(sts, s)
            }),
        case("the cache folder holding other files", 6, "is a shared folder (it holds other files, such as notes.txt); give the cache a folder of its own", 0)
            .with(|sts, s| {
                std::fs::create_dir(s.dir.join("home")).unwrap();
                write_file(&s.dir.join("home"), "notes.txt", "x");
                cache_in("home")(sts, s)
            }),
        // Its parent made, the folder itself cannot be: the reason is the
        // OS's, and nothing is asked.
        case("the cache folder's name too long", 6, "(from PLUGIN_CACHE_DIR) cannot be created: file name too long; set --cache-dir / PLUGIN_CACHE_DIR to a folder this user may write", 0)
            .with(|sts, s| cache_in(Box::leak("x".repeat(300).into_boxed_str()))(sts, s)),
        // Under a file: a regression cannot make it in the working directory.
        case("the cache folder a relative path", 2, "PLUGIN_CACHE_DIR: `Cargo.toml/cache` must be an absolute path: credential_process runs from any working directory", 0)
            .set("PLUGIN_CACHE", "true")
            .set("PLUGIN_CACHE_DIR", "Cargo.toml/cache"),
        case("a chained hop answered for another role", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): STS answered with arn:aws:sts::210987654321:assumed-role/admin/harness-aws-oidc, not role deploy as session harness-aws-oidc (an ARN ending in :assumed-role/deploy/harness-aws-oidc); nothing was written", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::StsEdited("assumed-role/deploy/", "assumed-role/admin/".into())]),
        case("a first hop answered for an account not allowed stops there", 5, "AssumeRoleWithWebIdentity (hop 1 of 2, role arn:aws:iam::123456789012:role/harness-ci): STS answered with credentials for arn:aws:sts::999999999999:assumed-role/harness-ci/harness-aws-oidc in account 999999999999, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list", 1)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012,210987654321")
            .replies(vec![Reply::StsAsAccount("999999999999")]),
        case("a last hop answered for an account not allowed", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): STS answered with credentials for arn:aws:sts::999999999999:assumed-role/deploy/harness-aws-oidc in account 999999999999, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012,210987654321")
            .replies(vec![Reply::Sts, Reply::StsAsAccount("999999999999")]),
        case("a chained hop answered with the web-identity root", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200 with credentials, but the answer is a <AssumeRoleWithWebIdentityResponse>, not the AssumeRoleResponse asked for; nothing was written", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::StsEdited("AssumeRoleRe", "AssumeRoleWithWebIdentityRe".into())]),
        // A refusal that is not about the web identity keeps its own hint
        // on a chained hop.
        case("a chained hop in a region STS is off in", 3, "); STS is not activated for this account in this region; activate it in IAM account settings, or choose another region (--region / PLUGIN_REGION)", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(403, "RegionDisabledException", "STS is not activated in this region for account:210987654321")]),
        // The right caller, but an error status: not an answer to trust.
        case("verify answered with an error status", 5, "GetCallerIdentity (--verify): 127.0.0.1 answered HTTP 403, but with an error status; nothing was written; check that the endpoint is STS", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, Reply::Raw(403, "text/xml", caller_identity_xml("arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"))]),
        case("an answer with two Credentials", 5, "127.0.0.1 answered HTTP 200 with credentials, but the answer has more than one Credentials; nothing was written", 1)
            .replies(vec![Reply::StsEdited("</Credentials>", "</Credentials><Credentials></Credentials>".into())]),
        case("one of several roles refused names it and writes nothing", 3, "STS refused AssumeRoleWithWebIdentity for role gov (arn:aws:iam::210987654321:role/deploy) (HTTP 403): AccessDenied", 2)
            .unset("PLUGIN_IAMROLEARN")
            .set("PLUGIN_ROLES", TWO_ROLES)
            .with(|sts, s| {
                sts.deny_role(CHAIN_ROLE);
                s
            }),
        case("one of several roles unreachable names it", 4, "role prod (arn:aws:iam::123456789012:role/harness-ci): cannot reach 127.0.0.1", 3)
            .unset("PLUGIN_IAMROLEARN")
            .set("PLUGIN_ROLES", TWO_ROLES)
            .replies(vec![Reply::Close, Reply::Close, Reply::Close]),
        case("an answer with two AssumedRoleUser", 5, "127.0.0.1 answered HTTP 200 with credentials, but the answer has more than one AssumedRoleUser; nothing was written", 1)
            .replies(vec![Reply::StsEdited("<Credentials>", "<AssumedRoleUser></AssumedRoleUser><Credentials>".into())]),
    ]
}

/// A `GetCallerIdentityResponse` naming `arn`.
fn caller_identity_xml(arn: &str) -> Vec<u8> {
    let account = arn.split(':').nth(4).unwrap();
    format!(
        "<GetCallerIdentityResponse xmlns=\"{}\"><GetCallerIdentityResult><Arn>{arn}</Arn>\
         <Account>{account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
        standin::NS
    )
    .into_bytes()
}

const HOSTILE_SECRET: &str = "hostileCaseSecretKey00000000000000000001";
const HOSTILE_TOKEN: &str = ";{touch,/tmp/aws-oidc-hostile-x}";
const HOSTILE_TOKEN_OK: &str = "hostileCaseSessionToken0000000000000001";
const HOSTILE_ARN: &str =
    "arn:aws:sts::123456789012:assumed-role/harness-ci/x;id>/tmp/aws-oidc-hostile-x";
const HOSTILE_ARN_OK: &str = "arn:aws:sts::123456789012:assumed-role/harness-ci/x";

/// A success body whose credentials are fine but which names no assumed
/// role (no `AssumedRoleUser`), as some STS-compatible servers answer.
fn without_assumed_role() -> Vec<u8> {
    let body = String::from_utf8(hostile_success(
        HOSTILE_TOKEN_OK,
        HOSTILE_ARN_OK,
        "2099-01-01T00:00:00Z",
    ))
    .unwrap();
    let arn = format!("<AssumedRoleUser><Arn>{HOSTILE_ARN_OK}</Arn></AssumedRoleUser>");
    assert!(body.contains(&arn));
    body.replace(&arn, "").into_bytes()
}

/// A success body with these values, as a hostile or altered answer sends it.
fn hostile_success(token: &str, arn: &str, expiration: &str) -> Vec<u8> {
    standin::success_xml(
        "ASIAHOSTILE000000001",
        HOSTILE_SECRET,
        token,
        expiration,
        arn,
    )
}

#[test]
fn settings_matrix() {
    let cases = settings_cases();
    assert!(cases.len() >= 30);
    assert_all_pass(cases.iter().map(outcome).collect());
}

#[test]
fn answers_matrix() {
    let cases = answer_cases();
    assert!(cases.len() >= 25);
    // Retried cases spend most of their time waiting (retry::LATER paces a
    // throttled run at a second or more): side by side, the matrix takes
    // about as long as its slowest case.
    let outcomes = std::thread::scope(|scope| {
        let running: Vec<_> = cases
            .iter()
            .map(|c| scope.spawn(move || outcome(c)))
            .collect();
        running
            .into_iter()
            .map(|case| {
                case.join()
                    .unwrap_or_else(|_| Err("the case's thread died".into()))
            })
            .collect()
    });
    assert_all_pass(outcomes);
}

#[test]
fn profile_files_matrix() {
    assert_all_pass(profile_file_cases().iter().map(outcome).collect());
}

#[test]
fn the_matrix_has_at_least_forty_cases() {
    assert!(settings_cases().len() + answer_cases().len() >= 40);
}

/// A success answer that is refused (altered in transit, or by a hostile
/// server) holds credentials: no part of them is ever shown, however it was
/// refused, and the line says so without a preview.
#[test]
fn a_refused_answer_with_credentials_shows_no_part_of_them() {
    const KEY: &str = "wJalrXUtnFEMIK7MDENXGbPxRfiCYEXAMPLEKEY12";
    const TOKEN: &str = "FwoGZXIvYXdzEBYaDHnSeSsionT0kenPartTwo0001";
    let success = || {
        standin::success_xml(
            "ASIAREFUSED000000001",
            KEY,
            TOKEN,
            "2099-01-01T00:00:00Z",
            HOSTILE_ARN_OK,
        )
    };
    let altered = |from: &[u8], to: &[u8]| -> Vec<u8> {
        let body = success();
        let at = body.windows(from.len()).position(|w| w == from).unwrap();
        [&body[..at], to, &body[at + from.len()..]].concat()
    };
    let rows: Vec<(&str, u16, &str, Vec<u8>, &str)> = vec![
        (
            "a byte not UTF-8 inside the secret key",
            200,
            "text/xml",
            altered(b"MDENX", b"MDEN\xe9"),
            "the body is not UTF-8",
        ),
        (
            "a DOCTYPE before a success body",
            200,
            "text/xml",
            [b"<!DOCTYPE x>".as_slice(), &success()].concat(),
            "DOCTYPE",
        ),
        (
            "a success body without its Expiration",
            200,
            "text/xml",
            altered(b"<Expiration>2099-01-01T00:00:00Z</Expiration>", b""),
            "has no Expiration",
        ),
        (
            "a success body in another charset",
            200,
            "text/xml; charset=iso-8859-1",
            success(),
            "charset `iso-8859-1`",
        ),
        (
            "a success body cut short",
            200,
            "text/xml",
            success()[..400].to_vec(),
            "the body is not XML",
        ),
        (
            "a success body with an error status",
            403,
            "text/xml",
            success(),
            "with an error status",
        ),
    ];
    for (name, status, ct, body, says) in rows {
        for level in ["info", "trace"] {
            let sts = StandIn::start();
            sts.script([Reply::Raw(status, ct, body.clone())]);
            let step = Step::harness(&sts)
                .set("PLUGIN_LOG_LEVEL", level)
                .set("PLUGIN_MAX_ATTEMPTS", "1");
            let out = step.run(&[]);
            let ctx = format!("{name} at {level}:\n{}", out.stderr);
            assert_eq!(out.code, 5, "{ctx}");
            let last = out.last_line();
            assert!(
                last.contains(&format!("answered HTTP {status} with credentials, but ")),
                "{ctx}"
            );
            assert!(last.contains(says), "{ctx}\nwanted: {says}");
            assert!(!last.contains("first bytes"), "{ctx}");
            for secret in [KEY, TOKEN] {
                for w in secret.as_bytes().windows(8) {
                    let w = std::str::from_utf8(w).unwrap();
                    assert!(
                        !out.stderr.contains(w) && !out.stdout.contains(w),
                        "shows `{w}`: {ctx}"
                    );
                }
            }
            assert_eq!(step.secrets(), "", "{ctx}");
        }
    }
}

/// A proxy that takes the CONNECT and drops it is unreachable, not a
/// refusal of its credentials: "cannot reach … through the proxy", retried
/// as unreachable. A 407 names itself and points at the credentials.
#[test]
fn a_proxy_dropping_the_connect_is_unreachable_and_a_407_names_itself() {
    let sts = StandIn::start();
    let (port, count) = answering_proxy(b"");
    let step = through_proxy(&sts, Step::harness(&sts), port);
    let out = step.run(&[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let last = out.last_line();
    assert!(
        last.contains(&format!(
            "cannot reach {} through the proxy http://***:***@127.0.0.1:{port} (from HTTPS_PROXY)",
            standin::PROXY_ONLY_HOST
        )),
        "{last}"
    );
    assert!(!last.contains("credentials"), "{last}");
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "{}",
        out.stderr
    );
    out.says("attempt 1 of 3 failed: proxy: it closed");

    let (port, count) = answering_proxy(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n");
    let out = through_proxy(&sts, Step::harness(&sts), port).run(&[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let last = out.last_line();
    assert!(last.contains("407 Proxy Authentication Required"), "{last}");
    assert!(
        last.contains("check HTTPS_PROXY and its credentials"),
        "{last}"
    );
    assert!(!last.contains("407/407"), "{last}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(sts.requests().len(), 0);
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

/// A token of tag characters only, so that a case can put it in a tag's
/// value without another rule refusing it first.
const TAG_SHAPED_TOKEN: &str = "opaque-token-of-tag-characters-0123456789";

/// Session tags, the source identity (docs/reference.md §11.6) and
/// `--trust-policy` (§15): every refusal, before any request.
fn tags_and_trust_cases() -> Vec<Case> {
    let many = |n: usize, f: fn(usize) -> String| -> &'static str {
        Box::leak((0..n).map(f).collect::<Vec<_>>().join(",").into_boxed_str())
    };
    let chained = |c: Case| c.set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE);
    vec![
        case("session tags without chained roles", 2, "PLUGIN_TAGS: session tags and a source identity are sent only on chained hops (sts:AssumeRole); the first hop's tags come from the token's claims (https://aws.amazon.com/tags); set chained role ARNs", 0)
            .set("PLUGIN_TAGS", "team=ci"),
        case("transitive tag keys without chained roles", 2, "PLUGIN_TRANSITIVETAGKEYS: session tags and a source identity are sent only on chained hops", 0)
            .set("PLUGIN_TRANSITIVETAGKEYS", "team"),
        case("a source identity without chained roles", 2, "PLUGIN_SOURCE_IDENTITY: session tags and a source identity are sent only on chained hops", 0)
            .set("PLUGIN_SOURCE_IDENTITY", "alice"),
        chained(case("a tag that is not KEY=VALUE", 2, "PLUGIN_TAGS: `team` is not KEY=VALUE; give session tags as team=ci,env=prod", 0))
            .set("PLUGIN_TAGS", "team"),
        chained(case("fifty-one tags", 2, "PLUGIN_TAGS: 51 session tags given; STS takes at most 50", 0))
            .with(move |_, s| s.set("PLUGIN_TAGS", many(51, |i| format!("k{i}=v")))),
        chained(case("a tag key of 129 characters", 2, "is 129 chars; STS takes keys of 1-128", 0))
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("{}=v", "k".repeat(129)))),
        chained(case("a tag value of 257 characters", 2, "PLUGIN_TAGS: the value of tag `k` is 257 chars; STS takes values of 0-256", 0))
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("k={}", "v".repeat(257)))),
        chained(case("a tag value with a character STS refuses", 2, "PLUGIN_TAGS: the value of tag `team` holds ;, which STS does not take", 0))
            .set("PLUGIN_TAGS", "team=a;b"),
        chained(case("a tag key twice", 2, "PLUGIN_TAGS: tag key `TEAM` is given twice (STS compares keys without case)", 0))
            .set("PLUGIN_TAGS", "team=a,TEAM=b"),
        chained(case("a tag key under aws:", 2, "PLUGIN_TAGS: tag key `aws:team` starts with aws:", 0))
            .set("PLUGIN_TAGS", "aws:team=a"),
        chained(case("a tag list with no tag", 2, "PLUGIN_TAGS: the list holds no tag", 0))
            .set("PLUGIN_TAGS", " , "),
        chained(case("a transitive key not among the tags", 2, "PLUGIN_TRANSITIVE_TAG_KEYS: transitive tag key `env` is not among the session tags (from PLUGIN_TAGS)", 0))
            .set("PLUGIN_TAGS", "team=ci")
            .set("PLUGIN_TRANSITIVE_TAG_KEYS", "team,env"),
        chained(case("transitive keys without tags", 2, "PLUGIN_TRANSITIVE_TAG_KEYS: transitive tag key `team` names a tag, but no session tags are set", 0))
            .set("PLUGIN_TRANSITIVE_TAG_KEYS", "team"),
        chained(case("fifty-one transitive keys", 2, "51 transitive tag keys given; STS takes at most 50", 0))
            .with(move |_, s| s.set("PLUGIN_TRANSITIVE_TAG_KEYS", many(51, |i| format!("k{i}")))),
        chained(case("a source identity of one character", 2, "PLUGIN_SOURCEIDENTITY: a source identity is 2-64 chars, this one is 1", 0))
            .set("PLUGIN_SOURCEIDENTITY", "a"),
        chained(case("a source identity with a space", 2, "PLUGIN_SOURCE_IDENTITY: `a b` holds a character STS does not take in a source identity", 0))
            .set("PLUGIN_SOURCE_IDENTITY", "a b"),
        chained(case("the token given as the source identity", 2, "PLUGIN_SOURCE_IDENTITY: a source identity is 2-64 chars, this one is ", 0))
            .with(token_in("PLUGIN_SOURCE_IDENTITY")),
        chained(case("an opaque token given as the source identity", 2, "PLUGIN_SOURCE_IDENTITY: the source identity is the token", 0))
            .set("PLUGIN_OIDC_TOKEN_ID", "opaque-token-of-source-characters-01")
            .set("PLUGIN_SOURCE_IDENTITY", "opaque-token-of-source-characters-01"),
        chained(case("the token given as a tag's value", 2, "PLUGIN_TAGS: a tag's value is the token", 0))
            .set("PLUGIN_OIDC_TOKEN_ID", TAG_SHAPED_TOKEN)
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("k={TAG_SHAPED_TOKEN}"))),
        case("trust policy with a token that is not a JWT", 2, "PLUGIN_OIDC_TOKEN_ID: the token is not a JWT, so it has no iss, aud and sub to write a trust policy from", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN),
        case("trust policy with a token without sub", 2, "the token has no sub claim, which the trust policy needs it (is this the CI's OIDC ID token?): without a sub condition a role would trust every token of app.harness.io/ng/api/oidc/account/acc123", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .with(|_, s| {
                let token = jwt("https://app.harness.io/ng/api/oidc/account/acc123", "sts.amazonaws.com", "", now() + 600);
                s.set("PLUGIN_OIDC_TOKEN_ID", &token)
            }),
        case("trust policy in a run's format", 2, "PLUGIN_OUTPUT_FORMAT: `dotenv` is not a format of --trust-policy; use json, terraform or cloudformation", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .set("PLUGIN_OUTPUT_FORMAT", "dotenv"),
        case("trust policy not a boolean", 2, "PLUGIN_TRUSTPOLICY: `please` is not a boolean", 0)
            .set("PLUGIN_TRUSTPOLICY", "please"),
    ]
}

#[test]
fn tags_and_trust_matrix() {
    let cases = tags_and_trust_cases();
    assert_all_pass(cases.iter().map(outcome).collect());
}
