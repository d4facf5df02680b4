//! The README's worked examples, each handed to the consumer it names where
//! that consumer runs here (sh, a JSON parser, botocore's credential_process).
//! Flags are in `flags`, `--check` in `check`, formats and destinations in
//! `outputs`, token sources in `inputs`.

use std::path::Path;
use std::process::Command;

use crate::readme::{doc_block, doc_section};
use crate::support::*;

/// The lines of one step (`- name: NAME`) of a Drone pipeline.
pub(crate) fn drone_step<'a>(yaml: &'a str, name: &str) -> Vec<&'a str> {
    yaml.split("  - name: ")
        .find(|s| s.starts_with(&format!("{name}\n")))
        .unwrap_or_else(|| panic!("no step {name}"))
        .lines()
        .collect()
}

/// A step's `settings:` as Drone hands them to the plugin: `PLUGIN_<KEY>`.
/// A nested value (`from_secret:`) is left to the caller.
pub(crate) fn drone_settings(step: &[&str]) -> Vec<(String, String)> {
    step.iter()
        .skip_while(|l| l.trim() != "settings:")
        .skip(1)
        .take_while(|l| l.starts_with("      "))
        .filter(|l| !l.starts_with("       "))
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            let v = v.split(" #").next().unwrap_or_default().trim();
            (!v.is_empty()).then(|| (format!("PLUGIN_{}", k.to_uppercase()), v.to_string()))
        })
        .collect()
}

/// A step's `commands:` (or GitLab's `script:`), one shell line each.
pub(crate) fn yaml_list(lines: &[&str], key: &str) -> String {
    lines
        .iter()
        .skip_while(|l| l.trim() != key)
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A folder for PATH holding `aws-oidc` (the binary under test) and stand-ins
/// for the CI's tools: `aws` prints what it was given, `buildkite-agent`
/// prints `$TOKEN`.
pub(crate) fn tools(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin_dir = dir.join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("aws-oidc")).unwrap();
    for (name, body) in [
        (
            "aws",
            r#"printf 'aws %s: %s %s %s %s\n' "$*" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_REGION""#,
        ),
        ("buildkite-agent", r#"printf '%s' "$TOKEN""#),
    ] {
        let p = write_file(&bin_dir, name, &format!("#!/bin/sh\n{body}\n"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:/usr/bin:/bin", bin_dir.display())
}

/// Runs a script with sh in `dir`, with exactly this environment.
pub(crate) fn sh_in(dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    shell_in(&["sh"], dir, script, env)
}

/// Runs a script with this shell and its options (`["bash", "-e"]`) in
/// `dir`, with exactly this environment.
pub(crate) fn shell_in(shell: &[&str], dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    Output::from(
        Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap(),
    )
}

/// What the `aws` stand-in printed for the credentials STS issued last.
pub(crate) fn aws_saw(sts: &StandIn, region: &str) -> String {
    aws_printed(&sts.issued().pop().unwrap(), region)
}

/// What the `aws` stand-in prints for these credentials.
pub(crate) fn aws_printed(c: &standin::Issued, region: &str) -> String {
    format!(
        "aws sts get-caller-identity: {} {} {} {region}\n",
        c.access_key_id, c.secret_access_key, c.session_token
    )
}

/// README "Drone and Woodpecker": the first step's settings as Drone hands
/// them over (`${DRONE_*}` filled in, the secret's value), then the later
/// steps' commands in sh, with `/drone/` a scratch folder.
#[test]
fn readme_drone_shell_file_is_sourced_by_sh() {
    let sts = StandIn::start();
    let workspace = temp_dir("drone");
    let yaml = doc_block("docs/harness.md", "## Drone and Woodpecker", "yaml", 0);
    let (env, token) = drone_first_step(&sts, &yaml, &workspace);
    run_env(&env, &[], None).expect(0).assert_hides(&[&token]);
    let file = workspace.join("aws-oidc.env");
    assert_eq!(mode(&file), 0o600);
    let req = sts.requests().pop().unwrap();
    assert_eq!(req.field("RoleSessionName"), Some("drone-app-42"));
    let out = drone_later_steps(&yaml, &workspace);
    assert_eq!(out.stdout, aws_saw(&sts, "us-west-2"), "{}", out.stderr);
    assert!(!file.exists());
}

/// The environment of a README Drone pipeline's first step, with
/// `workspace` as `/drone/`: its settings as Drone hands them over
/// (`${DRONE_*}` filled in), and the token it sends.
pub(crate) fn drone_first_step(
    sts: &StandIn,
    yaml: &str,
    workspace: &Path,
) -> (Vec<(String, String)>, String) {
    let drone = format!("{}/", workspace.display());
    let token = harness_token();
    let mut env = reach(sts);
    for (k, v) in drone_settings(&drone_step(yaml, "aws-credentials")) {
        let v = v
            .replace("${DRONE_REPO_NAME}", "app")
            .replace("${DRONE_BUILD_NUMBER}", "42")
            .replace("/drone/", &drone);
        env.push((k, v));
    }
    // oidc_token: {from_secret: …} arrives as the secret's value.
    env.push(("PLUGIN_OIDC_TOKEN".into(), token.clone()));
    (env, token)
}

/// The later steps' commands of a README Drone pipeline, in sh, with
/// `workspace` as `/drone/` and the `aws` stand-in on PATH.
pub(crate) fn drone_later_steps(yaml: &str, workspace: &Path) -> Output {
    let later = [
        yaml_list(&drone_step(yaml, "deploy"), "commands:"),
        yaml_list(&drone_step(yaml, "forget-credentials"), "commands:"),
    ]
    .join("\n")
    .replace("/drone/", &format!("{}/", workspace.display()));
    let path = tools(workspace);
    sh_in(workspace, &later, &[("PATH", &path)])
}

/// A README shell example's job: a scratch folder holding `./aws-oidc`
/// (a checkout), the stand-ins for the CI's tools on PATH (`tools`) and a
/// private `tmp/`, and the environment that CI gives the job.
pub(crate) struct ShellJob {
    dir: TempDir,
    token: String,
    env: Vec<(String, String)>,
}

/// The Buildkite job id the README's session name takes.
pub(crate) const BUILDKITE_JOB: &str = "01890c5e-7c4b-4a8e-9a35-0e5b1c2d3f4a";

/// The `sub` of a GitLab job's id_token on branch `main` (GitLab's shape).
pub(crate) const GITLAB_SUB: &str = "project_path:group/app:ref_type:branch:ref:main";

/// The `sub` of a Buildkite job's token on `main` (Buildkite's shape).
pub(crate) const BUILDKITE_SUB: &str =
    "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:0123abc:step:deploy";

impl ShellJob {
    /// The folder and what every job needs to reach `sts`, plus `vars`.
    pub(crate) fn new(sts: &StandIn, token: String, vars: &[(&str, &str)]) -> ShellJob {
        let dir = temp_dir("shell-job");
        std::os::unix::fs::symlink(bin(), dir.join("aws-oidc")).unwrap();
        std::fs::create_dir(dir.join("tmp")).unwrap();
        let mut env = reach(sts);
        env.push(("PATH".into(), tools(&dir)));
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ShellJob { dir, token, env }
    }

    /// A GitLab job: the id_token in `$AWS_OIDC_TOKEN`, the role in `$ROLE_ARN`.
    pub(crate) fn gitlab(sts: &StandIn) -> ShellJob {
        let token = jwt(
            "https://gitlab.com",
            "sts.amazonaws.com",
            GITLAB_SUB,
            now() + 300,
        );
        let vars = [
            ("ROLE_ARN", ROLE),
            ("AWS_OIDC_TOKEN", &token),
            ("CI_JOB_ID", "4242"),
        ];
        ShellJob::new(sts, token.clone(), &vars)
    }

    /// A Buildkite job: `buildkite-agent` prints the token, `$TMPDIR` is `tmp/`.
    pub(crate) fn buildkite(sts: &StandIn) -> ShellJob {
        let token = jwt(
            "https://agent.buildkite.com",
            "sts.amazonaws.com",
            BUILDKITE_SUB,
            now() + 300,
        );
        let mut job = ShellJob::new(sts, token.clone(), &[("TOKEN", &token)]);
        let tmp = job.dir.join("tmp").display().to_string();
        job.env.extend([
            ("TMPDIR".into(), tmp),
            ("BUILDKITE_BUILD_NUMBER".into(), "1234".into()),
            ("BUILDKITE_JOB_ID".into(), BUILDKITE_JOB.into()),
        ]);
        job
    }

    /// A shell of your own: the token in the file `$TOKEN_FILE`.
    pub(crate) fn shell(sts: &StandIn) -> ShellJob {
        let mut job = ShellJob::new(sts, harness_token(), &[("USER", "ci")]);
        let file = write_file(&job.dir, "token", &job.token);
        job.env
            .push(("TOKEN_FILE".into(), file.display().to_string()));
        job
    }

    /// Runs `script` in the folder with this shell (`["bash", "-e"]`).
    pub(crate) fn run(&self, shell: &[&str], script: &str) -> Output {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        shell_in(shell, &self.dir, script, &env)
    }
}

/// The `script:` lines of README's GitLab job `n`, one shell line each.
pub(crate) fn gitlab_script(n: usize) -> String {
    let job = doc_block("docs/other-ci.md", "## GitLab CI", "yaml", n);
    yaml_list(&job.lines().collect::<Vec<_>>(), "script:")
}

/// README "GitLab CI": both jobs' `script:` lines in sh, in a checkout that
/// holds `./aws-oidc`, with the id_token in `$AWS_OIDC_TOKEN`.
#[test]
fn readme_gitlab_dotenv_and_eval() {
    let sts = StandIn::start();
    let job = ShellJob::gitlab(&sts);
    // The same job: eval the shell form, then call AWS.
    let out = job.run(&["sh"], &gitlab_script(0));
    out.assert_hides(&[&job.token]);
    assert_eq!(out.stdout, aws_saw(&sts, "eu-west-1"), "{}", out.stderr);
    assert_eq!(
        sts.requests().pop().unwrap().field("RoleSessionName"),
        Some("gitlab-4242")
    );
    // A later job: the dotenv report.
    let out = job.run(&["sh"], &gitlab_script(1));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.assert_hides(&[&job.token]);
    assert_eq!(
        sts.requests().pop().unwrap().field("RoleSessionName"),
        Some("gitlab-4242")
    );
    let text = std::fs::read_to_string(job.dir.join("aws.env")).unwrap();
    let keys: Vec<&str> = text.lines().map(|l| l.split_once('=').unwrap().0).collect();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_ACCOUNT_ID",
            "AWS_ASSUMED_ROLE_ARN",
            "AWS_OIDC_ROLE_ARN"
        ]
    );
    // GitLab's dotenv report: single-line KEY=VALUE, names [A-Za-z0-9_], small.
    assert!(text.len() < 5 * 1024);
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap();
        assert!(k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert!(!v.contains(['"', '\'', ' ', '$', '#']));
    }
}

/// README "Buildkite": the whole script in sh, the token from
/// `buildkite-agent`, the file in a private folder that is gone afterwards.
#[test]
fn readme_buildkite_pipe() {
    let sts = StandIn::start();
    let job = ShellJob::buildkite(&sts);
    let out = job.run(
        &["sh"],
        &doc_block("docs/other-ci.md", "## Buildkite", "sh", 0),
    );
    buildkite_job_done(&sts, &job, &out);
}

/// What a README Buildkite script must have done: `aws` got the
/// credentials for Buildkite's token and session name, no token showed,
/// and nothing is left in `$TMPDIR`.
pub(crate) fn buildkite_job_done(sts: &StandIn, job: &ShellJob, out: &Output) {
    out.assert_hides(&[&job.token]);
    assert_eq!(out.stdout, aws_saw(sts, "us-east-1"), "{}", out.stderr);
    let req = sts.requests().pop().unwrap();
    assert_eq!(req.field("WebIdentityToken"), Some(job.token.as_str()));
    assert_eq!(
        req.field("RoleSessionName"),
        Some(format!("buildkite-1234-{BUILDKITE_JOB}").as_str())
    );
    let left: Vec<_> = std::fs::read_dir(job.dir.join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// README "Buildkite", the second script: the token from `--token-command`
/// (`buildkite-agent` prints it), the credentials to `aws` only.
#[test]
fn readme_buildkite_token_command() {
    let sts = StandIn::start();
    let job = ShellJob::buildkite(&sts);
    let out = job.run(
        &["sh"],
        &doc_block("docs/other-ci.md", "## Buildkite", "sh", 1),
    );
    buildkite_job_done(&sts, &job, &out);
}

/// README "Outputs": a dotenv file loaded as the formats table says,
/// `set -a; . FILE; set +a`, exports the credentials to the commands after
/// it; a plain `.` does not (they stay the shell's own variables), which
/// is why the table says so.
#[test]
fn readme_dotenv_file_is_exported_with_set_a() {
    let outputs = doc_section("docs/other-ci.md", "## Outputs");
    let row = outputs
        .lines()
        .find(|l| l.starts_with("| `dotenv` |"))
        .expect("the formats table has a dotenv row");
    let load = row
        .split('`')
        .find(|code| code.starts_with("set -a;"))
        .unwrap_or_else(|| panic!("the dotenv row does not say how to load it:\n{row}"));
    let sts = StandIn::start();
    let job = ShellJob::gitlab(&sts);
    let out = job.run(&["sh"], &gitlab_script(1));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = load.split(". ").nth(1).unwrap().split(';').next().unwrap();
    assert!(
        job.dir.join(file).exists(),
        "{load} names no file the job wrote"
    );
    let call = "aws sts get-caller-identity";
    let out = job.run(&["sh"], &format!("{load}\n{call}"));
    assert_eq!(out.stdout, aws_saw(&sts, "eu-west-1"), "{}", out.stderr);
    let plain = job.run(&["sh"], &format!(". {file}\n{call}"));
    assert_eq!(plain.stdout, format!("{call}:    \n"), "{}", plain.stderr);
}

/// README's shell examples stop the job when the exchange fails. The
/// exit status of a command substitution inside `eval`'s argument is
/// lost, so `eval "$(aws-oidc …)"` evals nothing and goes on, even under
/// `set -e`, and on a runner with an instance profile the next commands
/// run as the runner's own role. So each example, refused by STS, must
/// end with aws-oidc's exit code before its next command, under sh and
/// bash, with `set -e` (GitLab runs its script so) and without (a script
/// of your own).
#[test]
fn readme_shell_examples_stop_the_job_when_the_exchange_fails() {
    let sts = StandIn::start();
    sts.mode(standin::Mode::Refuse);
    for (job, script) in [
        (ShellJob::gitlab(&sts), gitlab_script(0)),
        (
            ShellJob::buildkite(&sts),
            doc_block("docs/other-ci.md", "## Buildkite", "sh", 0),
        ),
        (
            ShellJob::shell(&sts),
            doc_block("docs/cross-account.md", "## Chaining from a shell", "sh", 0),
        ),
    ] {
        let shells: [&[&str]; 4] = [
            &["sh"],
            &["sh", "-e"],
            &["bash"],
            &["bash", "-eo", "pipefail"],
        ];
        for shell in shells {
            let asked = sts.requests().len();
            let out = job.run(shell, &format!("{script}\necho reached"));
            assert!(
                sts.requests().len() > asked,
                "{shell:?} never asked STS:\n{script}\n{}",
                out.stderr
            );
            assert!(
                !out.stdout.contains("reached") && !out.stdout.contains("aws sts"),
                "{shell:?} went on after a refused exchange:\n{script}\nstdout: {}",
                out.stdout
            );
            assert_eq!(out.code, 3, "{shell:?}:\n{script}\n{}", out.stderr);
            out.assert_hides(&[&job.token]);
        }
    }
}

/// README "Kubernetes": the SDK's IRSA-style variables and the pod's name as
/// the session name, as the README's pod spec sets them.
#[test]
fn readme_kubernetes_token_file_env() {
    let sts = StandIn::start();
    let dir = temp_dir("k8s");
    let spec = doc_block(
        "docs/other-ci.md",
        "## Kubernetes service-account token files",
        "yaml",
        0,
    );
    assert!(
        spec.contains("name: AWS_ROLE_SESSION_NAME") && spec.contains("fieldPath: metadata.name"),
        "{spec}"
    );
    let token = jwt(
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        "sts.amazonaws.com",
        "system:serviceaccount:ci:runner",
        now() + 3600,
    );
    let token_file = write_file(&dir, "token", &format!("{token}\n"));
    let path = tools(&dir);
    let token_path = token_file.display().to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("PATH", &path),
        ("AWS_ROLE_ARN", ROLE),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", &token_path),
        ("AWS_ROLE_SESSION_NAME", "runner-7d9f8-x2k4q"),
        ("AWS_REGION", "eu-west-1"),
    ];
    let reach = reach(&sts);
    env.extend(reach.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let out = sh_in(
        &dir,
        &doc_block(
            "docs/other-ci.md",
            "## Kubernetes service-account token files",
            "sh",
            0,
        ),
        &env,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = sts.requests().pop().unwrap();
    assert_eq!(r.field("RoleSessionName"), Some("runner-7d9f8-x2k4q"));
    assert_eq!(r.field("WebIdentityToken"), Some(token.as_str()));
    // A JSON parser reads the json format.
    let parsed = python3("json", "python3")
        .args(["-c", "import json,sys; d=json.load(sys.stdin); print(d['AccessKeyId'], d['Expiration'], d['AssumedRoleArn'], sorted(d))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(out.stdout.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let issued = sts.issued().pop().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        format!(
            "{} {} {} ['AccessKeyId', 'AssumedRoleArn', 'Expiration', 'SecretAccessKey', 'SessionToken']",
            issued.access_key_id, issued.expiration, issued.assumed_role_arn
        )
    );
}

/// README "credential_process" as botocore (the AWS SDK for Python, which
/// the AWS CLI uses) reads it, with the binary and token file put in place
/// and `--duration` as given. Returns the access key of each of `calls`
/// reads of the credentials.
pub(crate) fn botocore_reads(sts: &StandIn, duration: &str, calls: usize) -> Vec<String> {
    let dir = temp_dir("profile");
    let ini = doc_block("docs/other-ci.md", "## AWS `credential_process`", "ini", 0)
        .replace("--duration 1h", &format!("--duration {duration}"));
    botocore_profile_reads(sts, &dir, &ini, "ci", calls)
}

/// A README profile (`ini`) as botocore reads it in a process of its own,
/// with `dir` as HOME and the binary and a token file put in place: the
/// access key of each of `calls` reads of the credentials.
pub(crate) fn botocore_profile_reads(
    sts: &StandIn,
    dir: &Path,
    ini: &str,
    profile: &str,
    calls: usize,
) -> Vec<String> {
    // One token for every process of the job, as a CI token file is: a
    // new token is a new cache key.
    let token_file = dir.join("token");
    if !token_file.exists() {
        write_file(dir, "token", &harness_token());
    }
    let ini = ini
        .replace("/usr/local/bin/aws-oidc", bin().to_str().unwrap())
        .replace("/var/run/secrets/token", token_file.to_str().unwrap());
    let config = write_file(dir, "config", &ini);
    let script = format!(
        "import botocore.session as s\n\
         c = s.Session(profile='{profile}').get_credentials()\n\
         for _ in range({calls}): print(c.get_frozen_credentials().access_key)\n"
    );
    let out = python3("botocore", "botocore")
        .args(["-c", &script])
        .env_clear()
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // What the README says to export; the SDK passes its environment on.
        .env("AWS_ROLE_SESSION_NAME", "gitlab-4242")
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_CA_BUNDLE", sts.ca())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn readme_credential_process_profile_is_read_by_botocore() {
    let sts = StandIn::start();
    sts.fractional_seconds(true);
    let keys = botocore_reads(&sts, "1h", 3);
    // One run serves every call for the hour.
    assert_eq!(sts.requests().len(), 1);
    let issued = sts.issued().pop().unwrap();
    assert_eq!(keys, vec![issued.access_key_id; 3]);
    let req = sts.requests().pop().unwrap();
    assert_eq!(req.field("RoleSessionName"), Some("gitlab-4242"));
    assert_eq!(req.field("DurationSeconds"), Some("3600"));
}

/// Why README advises 1h: botocore refreshes credentials that expire within
/// 15 minutes, so 15-minute credentials are refreshed on every call.
#[test]
pub(crate) fn credential_process_with_15m_runs_sts_on_every_call() {
    let sts = StandIn::start();
    let keys = botocore_reads(&sts, "15m", 3);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{keys:?}");
    assert!(sts.requests().len() >= 3);
}

/// The backtick-quoted messages in bold in each Troubleshooting item,
/// as fragments between the placeholders (`…`, HOST, N, X).
pub(crate) fn troubleshooting_quotes() -> Vec<(String, Vec<String>)> {
    let section = doc_section("docs/troubleshooting.md", "## Troubleshooting");
    let mut quotes = Vec::new();
    for item in section.split("\n- **").skip(1) {
        // Bold runs: the item's head, and any later `**…**`.
        let bold: Vec<String> = item
            .split("**")
            .step_by(2)
            .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for quote in bold.iter().flat_map(|b| b.split('`').skip(1).step_by(2)) {
            let marked = quote
                .replace('…', "\u{0}")
                .replace("HOST", "\u{0}")
                .replace("FIELD", "\u{0}")
                .replace(" N", " \u{0}")
                .replace("(N ", "(\u{0} ")
                .replace("_X ", "_\u{0} ");
            let parts = marked
                .split('\u{0}')
                .map(str::trim)
                .filter(|p| p.len() >= 2)
                .map(String::from)
                .collect();
            quotes.push((quote.to_string(), parts));
        }
    }
    quotes
}

/// README's Troubleshooting quotes the messages users search for. Each
/// quote must be what the binary prints (the runs below produce them) or,
/// for the rest, what a line of the code holds; STS's own codes and
/// messages, and those of a later step's AWS tools, are listed apart.
#[test]
fn readme_troubleshooting_quotes_real_messages() {
    let aws_texts = [
        "IDPCommunicationError",
        "Couldn't retrieve verification key",
        "ValidationError … DurationSeconds exceeds the MaxSessionDuration",
        "RegionDisabledException",
        "AuthorizationHeaderMalformed",
        "InvalidClientTokenId",
        "The security token included in the request is invalid",
    ];
    let token = harness_token();
    let mut printed = String::new();
    let mut keep = |out: Output| printed.push_str(&out.stderr);
    // Settings, before any traffic.
    keep(run(&[("PLUGIN_OIDC_TOKEN", &token)], &[]));
    keep(run(
        &[
            ("PLUGIN_ROLE_ARN", ROLE),
            ("PLUGIN_OIDC_TOKEN", &token),
            ("PLUGIN_DURATION", "an hour"),
        ],
        &[],
    ));
    keep(run(
        &[
            ("PLUGIN_ROLE_ARN", ROLE),
            ("PLUGIN_OIDC_TOKEN_FILE", &token),
        ],
        &[],
    ));
    keep(run(
        &[("PLUGIN_ROLE_ARM", ROLE), ("PLUGIN_OIDC_TOKEN", &token)],
        &[],
    ));
    // STS's refusals, an untrusted certificate, a block page.
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_MAX_ATTEMPTS", "1");
    sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
    )]);
    keep(step.run(&[]));
    sts.script([Reply::Error(
        400,
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://app.harness.io".into(),
    )]);
    keep(step.run(&[]));
    sts.script([Reply::Raw(
        403,
        "text/html",
        b"<html>blocked by policy</html>".to_vec(),
    )]);
    keep(step.run(&[]));
    // An answer holding a character STS never sends.
    sts.script([Reply::Raw(
        200,
        "text/xml",
        standin::success_xml(
            "ASIAHOSTILE000000001",
            "hostileSecretKey0000000000000000000001",
            "hostile;{touch,/tmp/x}SessionToken",
            "2099-01-01T00:00:00Z",
            "arn:aws:sts::123456789012:assumed-role/harness-ci/s",
        ),
    )]);
    keep(step.run(&[]));
    // Throttled until the timeout leaves no room for another attempt.
    let throttling = StandIn::start();
    throttling.script(vec![
        Reply::Error(400, "Throttling", "Rate exceeded".into());
        10
    ]);
    keep(
        Step::harness(&throttling)
            .unset("PLUGIN_MAX_ATTEMPTS")
            .set("PLUGIN_TIMEOUT", "3s")
            .run(&[]),
    );
    let untrusted = StandIn::with(Transport::UntrustedTls);
    keep(
        Step::harness(&untrusted)
            .set("PLUGIN_MAX_ATTEMPTS", "1")
            .run(&[]),
    );
    // Nothing listening, and nothing can start to.
    let port = crate::support::closed_port();
    let closed = format!("https://127.0.0.1:{port}");
    keep(
        Step::harness(&sts)
            .set("PLUGIN_MAX_ATTEMPTS", "1")
            .set("PLUGIN_STS_ENDPOINT", &closed)
            .run(&[]),
    );
    // A proxy that refuses: the message names the proxy (masked), not STS.
    keep(
        Step::harness(&sts)
            .set("PLUGIN_MAX_ATTEMPTS", "1")
            .set("HTTPS_PROXY", &format!("http://ci:pw@127.0.0.1:{port}"))
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
            )
            .run(&[]),
    );
    // A proxy that wants credentials.
    let (auth_port, _) =
        answering_proxy(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    keep(
        Step::harness(&sts)
            .set("HTTPS_PROXY", &format!("http://127.0.0.1:{auth_port}"))
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
            )
            .run(&[]),
    );
    // No answer: the stand-in reads the request and says nothing.
    sts.script([Reply::Stall]);
    keep(
        Step::harness(&sts)
            .set("PLUGIN_MAX_ATTEMPTS", "1")
            .set("PLUGIN_TIMEOUT", "1s")
            .run(&[]),
    );
    // A failed lookup, only where nothing can leave the machine.
    let guarded = std::env::var_os("AWS_OIDC_LOOPBACK_ONLY").is_some();
    if guarded {
        let unresolvable = format!("https://{}:9", standin::PROXY_ONLY_HOST);
        keep(
            Step::harness(&sts)
                .set("PLUGIN_MAX_ATTEMPTS", "1")
                .set("PLUGIN_STS_ENDPOINT", &unresolvable)
                .run(&[]),
        );
    } else {
        eprintln!("the DNS quote is checked only under scripts/loopback-only.sh (make test-unit)");
    }
    // src/ has folders (settings/, output/): every file under it.
    let mut code = String::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for f in std::fs::read_dir(dir).unwrap() {
            let path = f.unwrap().path();
            match path.is_dir() {
                true => dirs.push(path),
                false => code.push_str(&std::fs::read_to_string(path).unwrap()),
            }
        }
    }
    // A network message must be one the binary printed: the code also holds
    // messages that real failures never reach (a lookup failure is an I/O
    // error, not ureq's HostNotFound), which is how README once quoted one.
    let printed_lines: Vec<&str> = printed.lines().collect();
    let lines: Vec<&str> = printed.lines().chain(code.lines()).collect();
    let in_order = |line: &str, parts: &[String]| {
        let mut rest = line;
        parts.iter().all(|p| match rest.find(p.as_str()) {
            Some(i) => {
                rest = &rest[i + p.len()..];
                true
            }
            None => false,
        })
    };
    let quotes = troubleshooting_quotes();
    assert!(quotes.len() > 15, "{quotes:?}");
    for (quote, parts) in quotes {
        if aws_texts.contains(&quote.as_str()) || (!guarded && quote.contains("lookup address")) {
            continue;
        }
        let from = match quote.contains("HOST") {
            true => &printed_lines,
            false => &lines,
        };
        assert!(
            from.iter().any(|l| in_order(l, &parts)),
            "README quotes `{quote}`: no line the binary printed (nor, unless it names HOST, of the code) matches it:\n{printed}"
        );
    }
}

/// README "Run a command with the credentials": the shell, GitLab and
/// Buildkite examples, each running the `aws` stand-in with the
/// credentials in its environment and no file written; and the `--serve`
/// example, with the real AWS CLI as `aws`, which finds the endpoint.
#[test]
fn readme_command_mode_examples_run_as_written() {
    const HEADING: &str = "## Run a command with the credentials";
    let sts = StandIn::start();
    let mut job = ShellJob::shell(&sts);
    job.env.push(("ROLE_ARN".into(), ROLE.into()));
    let out = job.run(&["sh"], &doc_block("docs/other-ci.md", HEADING, "sh", 0));
    out.assert_hides(&[&job.token]);
    assert_eq!(out.stdout, aws_saw(&sts, "eu-west-1"), "{}", out.stderr);
    let job = ShellJob::gitlab(&sts);
    let script = yaml_list(
        &doc_block("docs/other-ci.md", HEADING, "yaml", 0)
            .lines()
            .collect::<Vec<_>>(),
        "script:",
    );
    let out = job.run(&["sh"], &script);
    out.assert_hides(&[&job.token]);
    assert_eq!(out.stdout, aws_saw(&sts, "eu-west-1"), "{}", out.stderr);
    let job = ShellJob::buildkite(&sts);
    let out = job.run(&["sh"], &doc_block("docs/other-ci.md", HEADING, "sh", 1));
    out.assert_hides(&[&job.token]);
    assert_eq!(out.stdout, aws_saw(&sts, "us-east-1"), "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(job.dir.join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "a file was written: {left:?}");
    // --serve, with the AWS CLI itself as `aws`.
    let mut job = ShellJob::shell(&sts);
    let bin_dir = job.dir.join("real");
    std::fs::create_dir(&bin_dir).unwrap();
    let python = python_with("awscli", "awscli");
    let url = sts.url();
    let aws = write_file(
        &bin_dir,
        "aws",
        &format!("#!/bin/sh\nexec {python} -m awscli \"$@\" --endpoint-url {url} --output text --query Arn\n"),
    );
    std::os::unix::fs::symlink(bin(), bin_dir.join("aws-oidc")).unwrap();
    std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    job.env.retain(|(k, _)| k != "PATH");
    let home = job.dir.display().to_string();
    job.env.extend([
        ("PATH".into(), path),
        ("HOME".into(), home),
        ("ROLE_ARN".into(), ROLE.into()),
        (
            "DEPLOY_ROLE_ARN".into(),
            "arn:aws:iam::210987654321:role/deploy".into(),
        ),
        ("AWS_CA_BUNDLE".into(), sts.ca().display().to_string()),
    ]);
    let out = job.run(&["sh"], &doc_block("docs/other-ci.md", HEADING, "sh", 2));
    assert_eq!(
        out.stdout.trim(),
        "arn:aws:sts::210987654321:assumed-role/deploy/harness-aws-oidc",
        "{}",
        out.stderr
    );
    assert_eq!(
        sts.requests()[sts.requests().len() - 3].field("DurationSeconds"),
        Some("14400")
    );
}
