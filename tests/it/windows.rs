//! The Windows binary under Wine 8, and the Windows image recipe. `#[ignore]`d
//! in a plain `cargo test`; `make test-windows` (part of `make test`) builds
//! the exe and the test-only ProcessPrng shim into target/wine/ and runs
//! these with `--ignored`. The credential cache (`docs/reference.md` §13)
//! runs here too, in a named folder and in Wine's `%LOCALAPPDATA%`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::*;

fn wine_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("AWS_OIDC_WINE_DIR")
            .expect("AWS_OIDC_WINE_DIR: run these through `make test-windows`"),
    )
}

/// `/tmp/x/y` as Wine's `Z:\tmp\x\y`.
fn win_path(p: &Path) -> String {
    format!("Z:{}", p.display().to_string().replace('/', "\\"))
}

/// Runs the exe under Wine with exactly `env` (plus what Wine needs).
fn wine<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>, args: &[&str]) -> Output {
    Output::from(wine_command(env, args).output().expect("run wine"))
}

/// The command that runs the exe under Wine with exactly `env` (plus what
/// Wine needs).
fn wine_command<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>, args: &[&str]) -> Command {
    let dir = wine_dir();
    let mut cmd = Command::new("wine");
    cmd.arg(dir.join("aws-oidc.exe")).args(args).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("WINEPREFIX", dir.join("prefix"))
        // Debian's Wine makes its server's socket folder in $TMPDIR
        // (wine-XXXXXX) and leaves it there: keep it in target/wine, so a
        // full `make test` leaves nothing in /tmp.
        .env("TMPDIR", dir.join("tmp"))
        .env("WINEDEBUG", "-all")
        // Load the shim beside the exe rather than any built-in.
        .env("WINEDLLOVERRIDES", "bcryptprimitives=n");
    cmd.envs(env);
    cmd
}

/// The step's environment with Windows paths for the CA and both outputs.
fn step_env(sts: &StandIn, token: &str, secret: &str, vars: &str) -> StepEnv {
    StepEnv::new(ROLE, token, &sts.url(), &win_path(&sts.ca()), secret)
        .set("DRONE_OUTPUT", vars)
        .set("PLUGIN_REGION", "us-east-1")
}

#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn full_exchange_with_windows_paths() {
    let sts = StandIn::start();
    let dir = temp_dir("wine");
    let secret = dir.join("secret.env");
    // A C:\ path too: Wine's C: drive is the prefix's drive_c.
    let c_dir = wine_dir().join("prefix/drive_c/aws-oidc-test");
    std::fs::create_dir_all(&c_dir).unwrap();
    let vars = c_dir.join("output.env");
    let _ = std::fs::remove_file(&vars);
    let token = harness_token();
    let out = wine(
        step_env(
            &sts,
            &token,
            &win_path(&secret),
            r"C:\aws-oidc-test\output.env",
        )
        .iter(),
        &[],
    );
    out.expect(0).assert_hides(&[&token]);
    let issued = sts.issued().pop().expect("credentials issued");
    let text = std::fs::read_to_string(&secret).unwrap();
    assert!(!text.contains('\r'), "line endings stay \\n");
    assert_lines(
        &text,
        &[
            ("AWS_ACCESS_KEY_ID", &issued.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &issued.secret_access_key),
            ("AWS_SESSION_TOKEN", &issued.session_token),
        ],
    );
    let vars_text = std::fs::read_to_string(&vars).unwrap();
    assert!(
        vars_text.starts_with(
            "AWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\nAWS_CREDENTIAL_EXPIRATION="
        ),
        "{vars_text}"
    );
    assert!(
        out.stderr.contains(r"HARNESS_OUTPUT_SECRET_FILE (Z:\"),
        "{}",
        out.stderr
    );
    out.assert_hides(&[&issued.secret_access_key, &issued.session_token]);

    // A token file at a Windows path.
    let token_file = write_file(&dir, "token", &token);
    let env = step_env(
        &sts,
        "",
        &win_path(&dir.join("secret2.env")),
        &win_path(&dir.join("vars2.env")),
    )
    .unset("PLUGIN_OIDC_TOKEN_ID")
    .set("AWS_WEB_IDENTITY_TOKEN_FILE", &win_path(&token_file));
    wine(env.iter(), &[]).expect(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("secret2.env"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn bad_setting_refusal_and_help() {
    let sts = StandIn::start();
    let dir = temp_dir("wine-bad");
    let token = harness_token();
    let secret = dir.join("secret.env");
    let env = step_env(
        &sts,
        &token,
        &win_path(&secret),
        &win_path(&dir.join("vars.env")),
    )
    .set("PLUGIN_DURATION", "5m");
    let out = wine(env.iter(), &[]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("PLUGIN_DURATION: 300 seconds is outside 900-43200"),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty());

    sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
    )]);
    let out = wine(
        step_env(
            &sts,
            &token,
            &win_path(&secret),
            &win_path(&dir.join("vars.env")),
        )
        .iter(),
        &[],
    );
    out.expect(3).assert_hides(&[&token]);
    assert!(out.last_line().contains("AccessDenied"), "{}", out.stderr);
    assert!(!secret.exists(), "nothing written on a refusal");

    let out = wine([], &["--help"]);
    out.expect(0);
    assert!(
        out.stdout.contains("PLUGIN_IAMROLEARN") && out.stdout.contains("--format"),
        "{}",
        out.stdout
    );
}

/// A closed port is "connection refused" in the binary's own words, not
/// the OS's: Windows says "No connection could be made because the target
/// machine actively refused it.", Wine "Connection refused." (on Linux the
/// OS's words are the binary's, so only this test tells `io_kind`'s arm
/// from none). Exit 4, retried as unreachable, nothing written.
#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn a_closed_port_is_connection_refused_in_our_words() {
    let sts = StandIn::start();
    let dir = temp_dir("wine-refused");
    let secret = dir.join("secret.env");
    let env = step_env(
        &sts,
        &harness_token(),
        &win_path(&secret),
        &win_path(&dir.join("vars.env")),
    )
    .set(
        "PLUGIN_STS_ENDPOINT",
        &format!("https://127.0.0.1:{}", closed_port()),
    )
    .set("PLUGIN_MAX_ATTEMPTS", "2");
    let out = wine(env.iter(), &[]);
    out.expect(4);
    for want in [
        "attempt 1 of 2 failed: connection refused; retrying in ",
        "error: cannot reach 127.0.0.1: connection refused after 2 attempts in ",
    ] {
        assert!(out.stderr.contains(want), "{want}\n{}", out.stderr);
    }
    assert!(!secret.exists() && !dir.join("vars.env").exists());
}

#[test]
#[ignore = "needs make release; run by make test-windows"]
fn exe_is_static_and_within_budget() {
    let exe = PathBuf::from(std::env::var("AWS_OIDC_DIST").expect("AWS_OIDC_DIST"))
        .join("aws-oidc-windows-amd64.exe");
    let size = std::fs::metadata(&exe).unwrap().len();
    assert!(
        size <= 2_000_000,
        "the exe is {size} bytes; the budget is 2.0 MB"
    );
    let out = Command::new("x86_64-w64-mingw32-objdump")
        .arg("-p")
        .arg(&exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let dlls: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DLL Name: "))
        .map(|d| d.to_ascii_lowercase())
        .collect();
    // Only what Windows itself provides: no libgcc, libwinpthread or other mingw DLLs.
    let system = [
        "advapi32.dll",
        "bcrypt.dll",
        "bcryptprimitives.dll",
        "kernel32.dll",
        "msvcrt.dll",
        "ntdll.dll",
        "ws2_32.dll",
        "userenv.dll",
    ];
    for dll in &dlls {
        assert!(
            system.contains(&dll.as_str()) || dll.starts_with("api-ms-win-"),
            "imports {dll}: {dlls:?}"
        );
    }
    assert!(!dlls.is_empty());
}

#[test]
#[ignore = "needs dockerfile-parse (scripts/deps.sh); run by make test-windows"]
fn windows_dockerfile_parses_and_its_entrypoint_is_the_copied_file() {
    let script = r#"
import json, sys
from dockerfile_parse import DockerfileParser
p = DockerfileParser(fileobj=open(sys.argv[1], 'rb'))
ins = [(i['instruction'], i['value']) for i in p.structure]
base = p.baseimage
copy = [v for k, v in ins if k == 'COPY']
entry = [v for k, v in ins if k == 'ENTRYPOINT']
src, dst = copy[0].split()
exe = json.loads(entry[0])[0]
print(base)
print(src)
print(dst.replace('/', '\\').lower() == exe.replace('/', '\\').lower(), exe)
"#;
    let out = python3("dockerfile_parse", "dockerfile-parse")
        .args([
            "-c",
            script,
            concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile.windows"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "mcr.microsoft.com/windows/nanoserver:ltsc2022");
    assert_eq!(lines[1], "aws-oidc-windows-amd64.exe");
    assert_eq!(lines[2], r"True C:\aws-oidc\aws-oidc.exe");
    // The copied file is what `make release` puts in dist/, the build context.
    let dist = PathBuf::from(std::env::var("AWS_OIDC_DIST").expect("AWS_OIDC_DIST"));
    assert!(dist.join(lines[1]).exists());
}

/// Run `n`'s environment: the cache on (`extra` names the folder, or
/// not), the secret file `dir/secret{n}.env`, one attempt.
fn cache_env(sts: &StandIn, token: &str, dir: &Path, n: usize, extra: &[(&str, &str)]) -> StepEnv {
    let secret = win_path(&dir.join(format!("secret{n}.env")));
    let vars = win_path(&dir.join(format!("vars{n}.env")));
    let mut env = step_env(sts, token, &secret, &vars)
        .set("PLUGIN_CACHE", "true")
        .set("PLUGIN_MAX_ATTEMPTS", "1");
    for (k, v) in extra {
        env = env.set(k, v);
    }
    env
}

/// Run `n` with the cache on (`extra` names the folder, or not), writing
/// the secret file `dir/secret{n}.env`: exit 0, no warning about the
/// cache, and nothing secret on either stream.
fn cached_run(sts: &StandIn, token: &str, dir: &Path, n: usize, extra: &[(&str, &str)]) -> Output {
    let env =
        cache_env(sts, token, dir, n, extra).set("PLUGIN_LOG_LEVEL", ["debug", "trace"][n % 2]);
    let out = wine(env.iter(), &[]);
    out.expect(0);
    let secrets = secrets_of(sts, token);
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    out.says_not("cannot");
    out
}

/// Runs the exe twice with the cache on, at debug then trace: one STS
/// request between them, the same credentials in both secret files, the
/// second from the cache. The token and the issued session token.
fn cached_twice(sts: &StandIn, dir: &Path, extra: &[(&str, &str)]) -> (String, String) {
    let token = harness_token();
    let mut texts = Vec::new();
    for n in 0..2 {
        let out = cached_run(sts, &token, dir, n, extra);
        assert_eq!(
            out.stderr.contains("aws-oidc: from cache, expires in "),
            n == 1,
            "{}",
            out.stderr
        );
        texts.push(std::fs::read_to_string(dir.join(format!("secret{n}.env"))).unwrap());
    }
    assert_eq!(sts.counts(), (1, 1), "one STS request for both runs");
    assert_eq!(texts[0], texts[1], "the same credentials");
    let issued = sts.issued().pop().expect("credentials issued");
    assert!(texts[0].contains(&issued.secret_access_key), "{}", texts[0]);
    (token, issued.session_token)
}

/// The one entry in the cache folder `cache` holds the issued
/// `session_token`; beside it only its lock file, no temporary file.
/// The entry's path.
fn assert_one_entry(cache: &Path, session_token: &str) -> PathBuf {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .unwrap_or_else(|e| panic!("{}: {e}", cache.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let key = names[0].strip_suffix(".json").expect("an entry");
    assert_eq!(key.len(), 64, "{names:?}");
    assert_eq!(names[1], format!("{key}.lock"));
    let text = std::fs::read_to_string(cache.join(&names[0])).unwrap();
    assert!(
        text.contains(session_token),
        "the entry holds the credentials"
    );
    cache.join(&names[0])
}

#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn cache_in_a_named_folder_asks_sts_once_then_refreshes() {
    let sts = StandIn::start();
    let dir = temp_dir("wine-cache");
    let cache = dir.join("a").join("cache");
    let cache_dir = win_path(&cache);
    let extra = [("PLUGIN_CACHE_DIR", cache_dir.as_str())];
    let (token, session) = cached_twice(&sts, &dir, &extra);
    let entry = assert_one_entry(&cache, &session);
    // Within the refresh window: STS is asked again, and the new entry
    // replaces the old one (a rename over an existing file).
    let text = std::fs::read_to_string(&entry).unwrap();
    std::fs::write(&entry, crate::cache::expiring(&text, now() + 600)).unwrap();
    let out = cached_run(&sts, &token, &dir, 2, &extra);
    out.says("within the 15m refresh window");
    assert_eq!(sts.counts(), (2, 2), "asked again");
    assert_one_entry(&cache, &sts.issued().pop().unwrap().session_token);
}

#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn cache_in_localappdata_asks_sts_once() {
    let sts = StandIn::start();
    let dir = temp_dir("wine-cache-default");
    // Where Wine's LOCALAPPDATA puts the folder, as --check names it.
    let s_env = win_path(&dir.join("s.env"));
    let env = step_env(
        &sts,
        &harness_token(),
        &s_env,
        &win_path(&dir.join("v.env")),
    )
    .set("PLUGIN_CACHE", "true");
    let out = wine(env.iter(), &["--check"]);
    out.expect(0);
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("cache: "))
        .unwrap_or_else(|| panic!("no cache line: {}", out.stdout));
    let (folder, source) = line.split_once(" (from ").unwrap();
    assert!(source.contains("LOCALAPPDATA"), "{line}");
    let rest = folder
        .strip_prefix(r"C:\")
        .and_then(|f| f.strip_suffix(r"\aws-oidc"))
        .unwrap_or_else(|| panic!("not under C:\\: {line}"));
    let cache = TempDir::adopt(
        wine_dir()
            .join("prefix/drive_c")
            .join(rest.replace('\\', "/"))
            .join("aws-oidc"),
    );
    let (_, session) = cached_twice(&sts, &dir, &[]);
    assert_one_entry(&cache, &session);
}

#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn cached_runs_started_together_make_one_request() {
    let sts = StandIn::start();
    let dir = temp_dir("wine-cache-together");
    let token = harness_token();
    let cache_dir = win_path(&dir.join("cache"));
    let children: Vec<_> = (0..4)
        .map(|n| {
            let extra = [("PLUGIN_CACHE_DIR", cache_dir.as_str())];
            let env = cache_env(&sts, &token, &dir, n, &extra).set("PLUGIN_LOG_LEVEL", "debug");
            wine_command(env.iter(), &[])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run wine")
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| Output::from(c.wait_with_output().unwrap()))
        .collect();
    let secrets = secrets_of(&sts, &token);
    for out in &outs {
        out.expect(0)
            .assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        out.says_not("cannot");
    }
    assert_eq!(sts.counts(), (1, 1), "one STS request for all four");
    let hits = outs
        .iter()
        .filter(|o| o.stderr.contains("from cache"))
        .count();
    assert_eq!(hits, 3);
    let first = std::fs::read_to_string(dir.join("secret0.env")).unwrap();
    for n in 1..4 {
        let text = std::fs::read_to_string(dir.join(format!("secret{n}.env"))).unwrap();
        assert_eq!(text, first, "the same credentials");
    }
    assert_one_entry(&dir.join("cache"), &sts.issued()[0].session_token);
}

/// The command mode on Windows (`docs/reference.md` §14.1): the command is
/// found in PATH with its ending, gets the credentials in its environment,
/// and its exit status is aws-oidc's.
#[test]
#[ignore = "needs make release and Wine; run by make test-windows"]
fn a_command_gets_the_credentials_and_its_status_is_returned() {
    let sts = StandIn::start();
    let token = harness_token();
    let env = step_env(&sts, &token, "", "")
        .unset("HARNESS_OUTPUT_SECRET_FILE")
        .unset("DRONE_OUTPUT");
    let out = wine(
        env.iter(),
        &[
            "--",
            "cmd",
            "/c",
            "echo key=%AWS_ACCESS_KEY_ID% region=%AWS_REGION%& exit 7",
        ],
    );
    out.expect(7).assert_hides(&[&token]);
    let issued = sts.issued().pop().expect("credentials issued");
    assert!(
        out.stdout
            .contains(&format!("key={} region=us-east-1", issued.access_key_id)),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let out = wine(env.iter(), &["--", "no-such-command"]);
    out.expect(127);
    assert!(
        out.last_line().contains("is not found in PATH"),
        "{}",
        out.stderr
    );
}
