//! Profile files and token commands: settings that come from a file or a
//! command, refused as the settings they hold.

use super::*;

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

#[test]
fn profile_files_matrix() {
    assert_all_pass(profile_file_cases().iter().map(outcome).collect());
}
