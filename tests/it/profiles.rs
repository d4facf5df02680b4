//! Credentials where AWS tools look for them (`docs/reference.md` §16):
//! named profiles merged into the shared files and read back by botocore
//! and the AWS CLI, refreshable profiles, several roles in one run, name
//! prefixes in every format, and fish reading its own output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// A second role, in another account, for `--roles`.
const GOV_ROLE: &str = "arn:aws:iam::210987654321:role/gov-deploy";

/// A credentials file as people keep them: comments, a long-lived key
/// profile, blank lines, an old `ci` section with its own comment, and a
/// profile after it; CRLF-free, last line without a newline.
const KEPT: &str = "# my keys, do not share\n\
[static]\n\
aws_access_key_id = AKIAOLDSTATIC0000001\n\
aws_secret_access_key = oldStaticSecret\n\
\n\
; the CI profile, written by aws-oidc\n\
[ci]\n\
# rotated by every pipeline\n\
aws_access_key_id = ASIAOLD0000000000001\n\
aws_secret_access_key = oldSecret\n\
aws_session_token = oldToken\n\
\n\n\
[after]\n\
region=us-west-2";

/// A folder for the shared files, a token file in it, and the variables
/// a direct run needs against the stand-in.
struct Laptop {
    dir: TempDir,
    token: String,
    env: Vec<(String, String)>,
}

impl Laptop {
    fn new(sts: &StandIn) -> Laptop {
        let dir = temp_dir("profiles");
        let token = harness_token();
        let token_file = write_file(&dir, "token", &token);
        let env = [
            ("PLUGIN_ROLE_ARN", ROLE.to_string()),
            ("PLUGIN_OIDC_TOKEN_FILE", token_file.display().to_string()),
            ("PLUGIN_STS_ENDPOINT", sts.url()),
            ("PLUGIN_CA_BUNDLE", sts.ca().display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("credentials").display().to_string(),
            ),
            ("AWS_CONFIG_FILE", dir.join("config").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Laptop { dir, token, env }
    }

    fn set(mut self, key: &str, value: &str) -> Laptop {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    fn unset(mut self, key: &str) -> Laptop {
        self.env.retain(|(k, _)| k != key);
        self
    }

    fn run(&self, args: &[&str]) -> Output {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        run(&env, args)
    }

    fn credentials(&self) -> PathBuf {
        self.dir.join("credentials")
    }

    fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

/// What botocore makes of `profile`: its credential method, access key
/// and region, as `METHOD KEY REGION`.
fn botocore_profile(lap: &Laptop, profile: &str) -> String {
    let script = "import sys, botocore.session as s\n\
                  sess = s.Session(profile=sys.argv[1])\n\
                  c = sess.get_credentials()\n\
                  print(c.method, c.access_key, sess.get_config_variable('region'))";
    let out = python3("botocore", "botocore")
        .args(["-c", script, profile])
        .env_clear()
        .env("AWS_SHARED_CREDENTIALS_FILE", lap.credentials())
        .env("AWS_CONFIG_FILE", lap.config())
        .env("HOME", lap.dir.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The file's text without the section `header` (its header and lines up
/// to the next header).
fn without_section(text: &str, header: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            inside = line.trim() == header;
        }
        if !inside {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn a_profile_is_merged_into_the_shared_files_and_botocore_reads_it() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    std::fs::write(lap.credentials(), KEPT).unwrap();
    let out = lap.run(&["--profile", "ci", "--region", "eu-west-1"]);
    out.expect(0);
    let issued = sts.issued().pop().unwrap();
    out.assert_hides(&[&issued.secret_access_key, &issued.session_token, &lap.token]);
    assert_eq!(out.stdout, "");
    let text = lap.read(&lap.credentials());
    // Every byte outside [ci] as it was, comments and order included.
    assert_eq!(
        without_section(&text, "[ci]"),
        without_section(KEPT, "[ci]")
    );
    assert!(text.contains(&format!(
        "[ci]\n# rotated by every pipeline\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n\n\n[after]",
        issued.access_key_id, issued.secret_access_key, issued.session_token
    )), "{text}");
    // The config file was missing: made, with the region, owner-only.
    assert_eq!(
        lap.read(&lap.config()),
        "[profile ci]\nregion = eu-west-1\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(lap.config())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        botocore_profile(&lap, "ci"),
        format!("shared-credentials-file {} eu-west-1", issued.access_key_id)
    );
    // The static profile is still read as it was.
    assert_eq!(
        botocore_profile(&lap, "static"),
        "shared-credentials-file AKIAOLDSTATIC0000001 None"
    );
    assert!(
        out.stderr.contains(
            "wrote aws_access_key_id, aws_secret_access_key, aws_session_token to profile ci in "
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_new_credentials_file_is_made_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    lap.run(&["--profile", "ci"]).expect(0);
    let mode = std::fs::metadata(lap.credentials())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // No region: the config file is not made.
    assert!(!lap.config().exists());
    let issued = sts.issued().pop().unwrap();
    assert_eq!(
        lap.read(&lap.credentials()),
        format!(
            "[ci]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            issued.access_key_id, issued.secret_access_key, issued.session_token
        )
    );
    // No lock or temporary file is left but the lock itself.
    let mut names: Vec<String> = std::fs::read_dir(lap.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["credentials", "credentials.lock", "token"]);
}

#[test]
fn the_aws_cli_uses_the_profile_against_the_stand_in() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    lap.run(&["--profile", "ci", "--region", "us-east-1"])
        .expect(0);
    let issued = sts.issued().pop().unwrap();
    let out = Command::new("aws")
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "ci",
            "--output",
            "json",
        ])
        .args(["--endpoint-url", &sts.url()])
        .env_clear()
        .env("AWS_SHARED_CREDENTIALS_FILE", lap.credentials())
        .env("AWS_CONFIG_FILE", lap.config())
        .env("AWS_CA_BUNDLE", sts.ca())
        .env("HOME", lap.dir.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("the AWS CLI runs (`aws`; make deps installs it)");
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains(&issued.assumed_role_arn), "{body}");
    // The stand-in checked the CLI's signature with the profile's keys.
    let signed = sts.signatures();
    assert_eq!(signed.last().unwrap().access_key_id, issued.access_key_id);
}

#[test]
fn long_lived_keys_are_refused_before_any_request_unless_overwritten() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    std::fs::write(lap.credentials(), KEPT).unwrap();
    let out = lap.run(&["--profile", "static"]);
    out.expect(6);
    assert!(
        out.last_line()
            .contains("holds long-lived keys (aws_access_key_id without aws_session_token)"),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line().contains("--overwrite-profile"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.requests().len(), 0, "asked STS first");
    assert_eq!(lap.read(&lap.credentials()), KEPT);
    let out = lap.run(&["--profile", "static", "--overwrite-profile"]);
    out.expect(0);
    let issued = sts.issued().pop().unwrap();
    let text = lap.read(&lap.credentials());
    assert_eq!(
        without_section(&text, "[static]"),
        without_section(KEPT, "[static]")
    );
    assert!(
        text.contains(&format!(
            "[static]\naws_access_key_id = {}\n",
            issued.access_key_id
        )),
        "{text}"
    );
}

#[test]
fn eight_runs_with_eight_profiles_all_land() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    std::fs::write(lap.credentials(), KEPT).unwrap();
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(bin())
                .env_clear()
                .envs(lap.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .args(["--profile", &format!("p{i}")])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = Output::from(child.wait_with_output().unwrap());
        out.expect(0);
    }
    let text = lap.read(&lap.credentials());
    let issued = sts.issued();
    assert_eq!(issued.len(), 8);
    for i in 0..8 {
        assert_eq!(
            text.matches(&format!("\n[p{i}]\n")).count(),
            1,
            "p{i}: {text}"
        );
    }
    for key in issued {
        assert_eq!(text.matches(&key.access_key_id).count(), 1, "{text}");
    }
    assert!(text.starts_with(&without_section(KEPT, "[none]")), "{text}");
}

#[test]
fn a_refreshable_profile_is_read_by_botocore_as_custom_process() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    let cache = lap.dir.join("cache");
    let lap = lap.set("PLUGIN_CACHE_DIR", &cache.display().to_string());
    let out = lap.run(&[
        "--profile",
        "dev",
        "--refreshable",
        "--region",
        "eu-west-1",
        "--duration",
        "1h",
    ]);
    out.expect(0);
    // Nothing asked: the profile asks when it is used.
    assert_eq!(sts.requests().len(), 0);
    assert!(!lap.credentials().exists());
    let config = lap.read(&lap.config());
    assert!(
        !config.contains(&lap.token),
        "the token is written: {config}"
    );
    let line = config
        .lines()
        .find(|l| l.starts_with("credential_process = "))
        .unwrap_or_else(|| panic!("{config}"));
    assert!(
        line.starts_with(&format!(
            "credential_process = {} --role-arn {ROLE} --token-file ",
            bin().display()
        )),
        "{line}"
    );
    for part in [
        "--duration 3600",
        "--region eu-west-1",
        "--cache",
        "--format credential-process",
        "--cache-dir ",
    ] {
        assert!(line.contains(part), "{part}: {line}");
    }
    assert!(config.contains("\nregion = eu-west-1\n"), "{config}");
    let got = botocore_profile(&lap, "dev");
    let issued = sts.issued().pop().unwrap();
    assert_eq!(
        got,
        format!("custom-process {} eu-west-1", issued.access_key_id)
    );
    assert_eq!(sts.requests().len(), 1);
    // The cache kept it: a second reader asks nothing.
    botocore_profile(&lap, "dev");
    assert_eq!(sts.requests().len(), 1);
}

#[test]
fn a_refreshable_profile_over_an_old_key_profile_drops_its_keys() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    std::fs::write(lap.credentials(), KEPT).unwrap();
    lap.run(&["--profile", "ci", "--refreshable"]).expect(0);
    let text = lap.read(&lap.credentials());
    // The old session keys of [ci] would win over credential_process.
    assert_eq!(text, without_section(KEPT, "[ci]"));
    assert_eq!(
        botocore_profile(&lap, "ci").split(' ').next(),
        Some("custom-process")
    );
}

#[test]
fn refreshable_needs_a_token_file() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts)
        .unset("PLUGIN_OIDC_TOKEN_FILE")
        .set("PLUGIN_OIDC_TOKEN", &harness_token());
    let out = lap.run(&["--profile", "dev", "--refreshable"]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("--refreshable needs the token in a file or from a command"),
        "{}",
        out.stderr
    );
    assert!(!lap.config().exists());
}

#[test]
fn two_roles_make_two_requests_and_two_prefixed_sets_in_a_harness_step() {
    let sts = StandIn::start();
    let step = Step::harness(&sts).unset("PLUGIN_IAMROLEARN").set(
        "PLUGIN_ROLES",
        &format!("prod={ROLE}\ngov-cloud={GOV_ROLE}\n"),
    );
    let out = step.run(&[]);
    out.expect(0);
    assert_eq!(sts.requests().len(), 2);
    let issued = sts.issued();
    assert_eq!(issued.len(), 2);
    assert_eq!(sts.requests()[1].field("RoleArn"), Some(GOV_ROLE));
    assert_lines(
        &step.secrets(),
        &[
            ("PROD_AWS_ACCESS_KEY_ID", &issued[0].access_key_id),
            ("PROD_AWS_SECRET_ACCESS_KEY", &issued[0].secret_access_key),
            ("PROD_AWS_SESSION_TOKEN", &issued[0].session_token),
            ("GOV_CLOUD_AWS_ACCESS_KEY_ID", &issued[1].access_key_id),
            (
                "GOV_CLOUD_AWS_SECRET_ACCESS_KEY",
                &issued[1].secret_access_key,
            ),
            ("GOV_CLOUD_AWS_SESSION_TOKEN", &issued[1].session_token),
        ],
    );
    assert_lines(
        &step.vars(),
        &[
            ("PROD_AWS_CREDENTIAL_EXPIRATION", &issued[0].expiration),
            ("PROD_AWS_ACCOUNT_ID", ACCOUNT),
            ("PROD_AWS_ASSUMED_ROLE_ARN", &issued[0].assumed_role_arn),
            ("PROD_AWS_OIDC_ROLE_ARN", ROLE),
            ("GOV_CLOUD_AWS_CREDENTIAL_EXPIRATION", &issued[1].expiration),
            ("GOV_CLOUD_AWS_ACCOUNT_ID", "210987654321"),
            (
                "GOV_CLOUD_AWS_ASSUMED_ROLE_ARN",
                &issued[1].assumed_role_arn,
            ),
            ("GOV_CLOUD_AWS_OIDC_ROLE_ARN", GOV_ROLE),
        ],
    );
    let secrets = secrets_of(&sts, &step.token);
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    out.says(
        "PROD_AWS_ACCESS_KEY_ID: <+steps.<step_id>.output.outputVariables.PROD_AWS_ACCESS_KEY_ID>",
    );
}

#[test]
fn two_roles_to_two_profiles_are_read_by_botocore() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts).unset("PLUGIN_ROLE_ARN");
    let roles = format!("prod={ROLE},gov={GOV_ROLE}");
    lap.run(&["--roles", &roles, "--profiles", "--region", "us-east-2"])
        .expect(0);
    let issued = sts.issued();
    assert_eq!(issued.len(), 2);
    assert_eq!(
        botocore_profile(&lap, "prod"),
        format!(
            "shared-credentials-file {} us-east-2",
            issued[0].access_key_id
        )
    );
    assert_eq!(
        botocore_profile(&lap, "gov"),
        format!(
            "shared-credentials-file {} us-east-2",
            issued[1].access_key_id
        )
    );
}

#[test]
fn one_refused_role_writes_nothing_and_is_named() {
    let sts = StandIn::start();
    sts.deny_role(GOV_ROLE);
    let step = Step::harness(&sts)
        .unset("PLUGIN_IAMROLEARN")
        .set("PLUGIN_ROLES", &format!("prod={ROLE},gov={GOV_ROLE}"));
    let out = step.run(&[]);
    out.expect(3);
    assert!(
        out.last_line().contains(&format!("role gov ({GOV_ROLE})")),
        "{}",
        out.stderr
    );
    assert_eq!(sts.requests().len(), 2);
    assert_eq!(step.secrets(), "");
    assert_eq!(step.vars(), "");
    // With profiles, the file is not touched either.
    let lap = Laptop::new(&sts).unset("PLUGIN_ROLE_ARN");
    std::fs::write(lap.credentials(), KEPT).unwrap();
    let roles = format!("prod={ROLE},gov={GOV_ROLE}");
    lap.run(&["--roles", &roles, "--profiles"]).expect(3);
    assert_eq!(lap.read(&lap.credentials()), KEPT);
}

/// The variables a format wrote, as `NAME=VALUE`, read by a parser of
/// that format's own (JSON by python3).
fn written(format: &str, text: &str) -> Vec<String> {
    match format {
        "json" => {
            let j = aws_oidc::json::parse(text.trim()).unwrap();
            match j {
                aws_oidc::json::Json::Object(fields) => {
                    fields.iter().map(|(k, _)| k.clone()).collect()
                }
                _ => panic!("not an object: {text}"),
            }
        }
        _ => text
            .lines()
            .map(|l| {
                let l = l
                    .trim_start_matches("export ")
                    .trim_start_matches("set -gx ")
                    .trim_start_matches("$env:");
                l.split([' ', '=']).next().unwrap().to_string()
            })
            .collect(),
    }
}

#[test]
fn the_env_prefix_is_in_every_format_and_the_harness_files() {
    let sts = StandIn::start();
    for format in ["dotenv", "shell", "json", "fish", "powershell"] {
        let lap = Laptop::new(&sts);
        let out_file = lap.dir.join("out");
        let out = lap.run(&[
            "--env-prefix",
            "CI_",
            "--format",
            format,
            "--output",
            out_file.to_str().unwrap(),
        ]);
        out.expect(0);
        let names = written(format, &lap.read(&out_file));
        assert!(!names.is_empty(), "{format}");
        for n in &names {
            assert!(
                n.starts_with("CI_"),
                "{format}: {n} in {}",
                lap.read(&out_file)
            );
        }
        let want = match format {
            "json" => "CI_AccessKeyId",
            _ => "CI_AWS_SESSION_TOKEN",
        };
        assert!(names.iter().any(|n| n == want), "{format}: {names:?}");
    }
    let step = Step::harness(&sts).set("PLUGIN_ENV_PREFIX", "CI_");
    step.run(&[]).expect(0);
    for line in step.secrets().lines().chain(step.vars().lines()) {
        assert!(line.starts_with("CI_AWS_"), "{line}");
    }
    assert!(step.vars().contains("CI_AWS_ACCOUNT_ID=123456789012\n"));
}

#[test]
fn fish_reads_the_fish_output_exactly() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    let out_file = lap.dir.join("creds.fish");
    lap.run(&[
        "--format",
        "fish",
        "--output",
        out_file.to_str().unwrap(),
        "--region",
        "eu-west-1",
    ])
    .expect(0);
    let issued = sts.issued().pop().unwrap();
    let out = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "source {}; printf '%s\\n' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $AWS_REGION; env | grep -c '^AWS_'",
            out_file.display()
        ))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", lap.dir.path())
        .output()
        .expect("fish runs (make deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines[..4],
        [
            issued.access_key_id.as_str(),
            &issued.secret_access_key,
            &issued.session_token,
            "eu-west-1"
        ]
    );
    // Exported (-x): the child `env` sees every one written.
    let exported: usize = lines[4].parse().unwrap();
    assert_eq!(exported, lap.read(&out_file).lines().count());
}

#[test]
fn a_refreshable_profile_runs_its_token_command_again() {
    let sts = StandIn::start();
    let lap = Laptop::new(&sts);
    let token_file = lap.dir.join("token").display().to_string();
    let lap = lap
        .unset("PLUGIN_OIDC_TOKEN_FILE")
        .set("PATH", &std::env::var("PATH").unwrap_or_default());
    let command = format!("cat '{token_file}'");
    lap.run(&[
        "--profile",
        "cmd",
        "--refreshable",
        "--token-command",
        &command,
    ])
    .expect(0);
    let config = lap.read(&lap.config());
    assert!(!config.contains(&lap.token), "{config}");
    assert!(
        config.contains(&format!(" --token-command 'cat {token_file}' ")),
        "{config}"
    );
    let got = botocore_profile(&lap, "cmd");
    let issued = sts.issued().pop().unwrap();
    assert_eq!(got, format!("custom-process {} None", issued.access_key_id));
    let req = sts.requests().pop().unwrap();
    assert_eq!(req.field("WebIdentityToken"), Some(lap.token.as_str()));
}

/// README's laptop example, run as written (the binary found in PATH, the
/// token where it says), writes the `~/.aws/config` README shows.
#[test]
fn readme_refreshable_laptop_profile_is_what_the_binary_writes() {
    let heading = "### A laptop: a refreshable profile in `~/.aws/config`";
    let script = crate::readme::doc_block("docs/other-ci.md", heading, "sh", 0);
    let shown = crate::readme::doc_block("docs/other-ci.md", heading, "ini", 0);
    let home = temp_dir("laptop");
    std::fs::create_dir_all(home.join(".config/oidc")).unwrap();
    write_file(&home.join(".config/oidc"), "token", &harness_token());
    std::fs::create_dir(home.join("bin")).unwrap();
    std::os::unix::fs::symlink(bin(), home.join("bin/aws-oidc")).unwrap();
    let out = Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .env("HOME", home.path())
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", home.join("bin").display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(home.join(".aws/config")).unwrap();
    let want = shown
        .trim_start_matches("# ~/.aws/config\n")
        .replace("/usr/local/bin/aws-oidc", &bin().display().to_string())
        .replace("/home/me", &home.path().display().to_string());
    assert_eq!(written, want);
    // The default folder was made owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.join(".aws"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}
