//! What a cache hit is held to (`docs/reference.md` §13.1), through the
//! real binary against the stand-in: one deadline for the whole run, only
//! a refusal of the credentials removes an entry, a hit's values are
//! hidden and masked as an answer's are, an expired token is refused
//! before the cache is looked at, and the cache's own files are never an
//! output or left behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cache::{entry, env, go, primed};
use crate::support::standin::Mode;
use crate::support::*;

/// The actions the stand-in was asked for, in order.
fn actions(sts: &StandIn) -> Vec<String> {
    sts.requests()
        .iter()
        .map(|r| r.field("Action").unwrap_or("?").to_string())
        .collect()
}

/// The entry's lock file, beside it.
fn lock_of(entry: &Path) -> PathBuf {
    entry.with_extension("lock")
}

#[test]
fn one_deadline_covers_the_lock_wait_the_hits_verify_and_what_follows() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    // Another run holds the entry's lock: this one waits half its timeout
    // for it, then goes on without it, and the hit's GetCallerIdentity
    // gets no answer.
    let held = std::fs::File::open(lock_of(&path)).unwrap();
    held.lock().unwrap();
    sts.script([Reply::Stall]);
    let e = e
        .set("PLUGIN_VERIFY", "true")
        .set("PLUGIN_TIMEOUT", "4")
        .unset("PLUGIN_MAX_ATTEMPTS");
    let started = Instant::now();
    let out = go(&e);
    let took = started.elapsed();
    drop(held);
    out.expect(4);
    assert!(
        took < Duration::from_millis(5500),
        "a 4s timeout took {took:?}: the wait for the lock and the verify each had a whole timeout\n{}",
        out.stderr
    );
    assert!(
        out.last_line()
            .contains("within the 4s timeout (from PLUGIN_TIMEOUT)"),
        "{}",
        out.stderr
    );
}

#[test]
fn only_a_refusal_of_the_credentials_removes_a_hit() {
    // Throttled or failing until the deadline: the entry may be good, so
    // it stays, the run fails as an exchange would, and STS is not asked
    // for new credentials (a storm must not raise the traffic).
    for (mode, code) in [
        (
            Mode::Throttle {
                rate: 0.0,
                burst: 0.0,
            },
            3,
        ),
        (
            Mode::OutageUntil(Instant::now() + Duration::from_secs(60)),
            3,
        ),
    ] {
        let sts = StandIn::start();
        let (_dir, e, path) = primed(&sts);
        let before = std::fs::read_to_string(&path).unwrap();
        sts.mode(mode.clone());
        let e = e
            .set("PLUGIN_VERIFY", "true")
            .set("PLUGIN_TIMEOUT", "2")
            .unset("PLUGIN_MAX_ATTEMPTS");
        let started = Instant::now();
        let out = go(&e);
        out.expect(code);
        assert!(started.elapsed() < Duration::from_millis(3500), "{mode:?}");
        out.says_not("removed the entry");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{mode:?}");
        let asked = actions(&sts);
        assert!(
            asked[1..].iter().all(|a| a == "GetCallerIdentity"),
            "{mode:?}: {asked:?}"
        );
    }
    // Refusals that say the credentials are bad remove the entry, and the
    // run asks STS (the ExpiredToken case is in cache.rs).
    for code in ["InvalidClientTokenId", "AccessDenied"] {
        let sts = StandIn::start();
        let (_dir, e, _path) = primed(&sts);
        sts.script([Reply::Error(
            403,
            code,
            "The security token is not valid".into(),
        )]);
        let out = go(&e.set("PLUGIN_VERIFY", "true"));
        out.expect(0);
        assert!(
            out.stderr.contains("; removed the entry, asking STS"),
            "{code}: {}",
            out.stderr
        );
        assert_eq!(
            actions(&sts),
            [
                "AssumeRoleWithWebIdentity",
                "GetCallerIdentity",
                "AssumeRoleWithWebIdentity",
                "GetCallerIdentity"
            ]
        );
    }
    // STS names another identity for them: the same.
    let sts = StandIn::start();
    let (_dir, e, _path) = primed(&sts);
    sts.caller_arn("arn:aws:sts::123456789012:assumed-role/other/s");
    let out = go(&e.set("PLUGIN_VERIFY", "true"));
    // The fresh answer's verify names the other identity too: exit 5.
    out.expect(5);
    out.says("; removed the entry, asking STS");
}

#[test]
fn a_hits_secrets_and_account_are_hidden_as_an_answers_are() {
    // A session name that is also the entry's secret key, as a hostile
    // answer (or planted entry) could make it: its ARN then carries the
    // secret, and no line may show it once it is known (at debug, the
    // settings' listing shows the session name before).
    let secret = "Ab0Cd1Ef2Gh3Ij4Kl5Mn6Op7Qr8St9Uv0Wx1Yz2A";
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir).set("PLUGIN_ROLE_SESSION_NAME", secret);
    go(&e).expect(0);
    let path = entry(&dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let issued = sts.issued()[0].clone();
    std::fs::write(&path, text.replace(&issued.secret_access_key, secret)).unwrap();
    for level in ["info", "trace"] {
        let out = go(&e.clone().set("PLUGIN_LOG_LEVEL", level));
        out.expect(0);
        let hit = out.stderr.find("from cache").expect("a hit");
        assert!(
            !out.stderr[hit..].contains(secret),
            "{level}: {}",
            out.stderr
        );
        assert!(out.stdout.contains(secret), "the hit is served");
    }
    // Under mask account, a hit for another account never names it.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("arn:aws:sts::123456789012:", "arn:aws:sts::999999999999:"),
    )
    .unwrap();
    for level in ["info", "trace"] {
        let out = go(&e
            .clone()
            .set("PLUGIN_MASK_ACCOUNT_ID", "true")
            .set("PLUGIN_LOG_LEVEL", level));
        out.expect(0);
        out.says("from cache");
        assert!(
            !out.stderr.contains("999999999999"),
            "{level}: {}",
            out.stderr
        );
    }
    assert_eq!(sts.counts().0, 1, "every later run was a hit");
}

#[test]
fn an_expired_token_is_refused_before_anything_as_check_refuses_it() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let expired = jwt(
        "https://app.harness.io/ng/api/oidc/account/abc",
        "sts.amazonaws.com",
        "account/abc:org/default:project/p:pipeline/deploy",
        now() - 600,
    );
    let checked = run(
        &env(&sts, &expired, &dir).iter().collect::<Vec<_>>(),
        &["--check"],
    );
    checked.expect(3);
    // As --check refuses it, a run refuses it, with or without the cache,
    // before anything is sent.
    for e in [
        env(&sts, &expired, &dir),
        env(&sts, &expired, &dir).unset("PLUGIN_CACHE"),
    ] {
        let out = go(&e);
        out.expect(3);
        assert_eq!(out.last_line(), checked.last_line());
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    assert_eq!(sts.counts().0, 0, "nothing was sent");
}

#[test]
fn a_token_expired_within_the_clock_skew_is_sent_with_a_warning() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let token = jwt(
        "https://issuer.example",
        "sts.amazonaws.com",
        "s",
        now() - 20,
    );
    let out = go(&env(&sts, &token, &dir).unset("PLUGIN_CACHE"));
    out.expect(0);
    assert!(
        out.stderr.contains("the token expired 20s ago")
            || out.stderr.contains("the token expired 21s ago"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts().0, 1);
}

#[test]
fn an_output_in_the_cache_folder_is_refused_before_any_request() {
    let sts = StandIn::start();
    let (dir, e, path) = primed(&sts);
    let before = std::fs::read_to_string(&path).unwrap();
    let cache = dir.join("cache");
    let names = [
        path.clone(),
        lock_of(&path),
        cache.join("notes.txt"),
        path.with_extension(format!("json.{}.tmp", std::process::id())),
    ];
    for name in names {
        let out = go(&e
            .clone()
            .set("PLUGIN_OUTPUT_FORMAT", "dotenv")
            .set("PLUGIN_OUTPUT_FILE", &name.display().to_string()));
        out.expect(6);
        assert!(
            out.last_line().contains("is in the cache folder"),
            "{}: {}",
            name.display(),
            out.stderr
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
    assert_eq!(sts.counts().0, 1, "nothing was sent");
    // Reached through a link to the folder, too.
    let link = dir.join("link");
    std::os::unix::fs::symlink(&cache, &link).unwrap();
    let out = go(&e.clone().set("PLUGIN_OUTPUT_FORMAT", "dotenv").set(
        "PLUGIN_OUTPUT_FILE",
        &link.join("x.env").display().to_string(),
    ));
    out.expect(6);
    assert!(!cache.join("x.env").exists());
}

/// Runs `env` under `strace` with these extra arguments; `None` when
/// strace cannot trace here (a container without ptrace).
fn traced(env: &StepEnv, dir: &Path, args: &[&str]) -> Option<(Output, String)> {
    let log = dir.join("strace.log");
    let log_arg = log.display().to_string();
    let strace = which("strace");
    // Through sh, which reports a run ended by signal N as 128+N.
    let mut all = vec!["-c", "\"$@\"", "sh", &strace, "-f", "-qq", "-o", &log_arg];
    all.extend(args);
    let bin = bin();
    all.push(bin.to_str().unwrap());
    let env: Vec<(&str, &str)> = env.iter().collect();
    let out = run_binary(Path::new("/bin/sh"), &env, &all, None);
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    if trace.contains("PTRACE") || out.stderr.contains("PTRACE_TRACEME") {
        eprintln!("skipped: strace cannot trace here: {}", out.stderr);
        return None;
    }
    Some((out, trace))
}

#[test]
fn the_cache_folder_is_opened_once_and_judged_on_that_handle() {
    let sts = StandIn::start();
    let (dir, e, _path) = primed(&sts);
    let Some((out, trace)) = traced(&e, &dir, &["-e", "trace=openat,open"]) else {
        return;
    };
    out.expect(0);
    let name = format!("\"{}\"", dir.join("cache").display());
    let opens: Vec<&str> = trace.lines().filter(|l| l.contains(&name)).collect();
    assert_eq!(
        opens.len(),
        1,
        "the folder is opened by path once:\n{trace}"
    );
}

#[test]
fn a_signal_while_the_entry_is_written_leaves_no_temporary_file() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir);
    // SIGTERM arrives as the written entry is renamed into place: its
    // temporary file, which holds the credentials, is complete.
    // The rename fails (EIO), so the file is still there when the signal
    // is handled.
    let inject = "inject=rename,renameat,renameat2:error=EIO:signal=SIGTERM";
    let Some((out, _)) = traced(&e, &dir, &["-e", inject]) else {
        return;
    };
    assert_eq!(out.code, 143, "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_dead_runs_temporary_file_is_removed_and_a_live_ones_kept() {
    let sts = StandIn::start();
    let (dir, e, path) = primed(&sts);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    // A pid above Linux's pid_max (4194304) is never a live process.
    let dead = dir.join("cache").join(format!("{name}.4194305.tmp"));
    let live = dir
        .join("cache")
        .join(format!("{name}.{}.tmp", std::process::id()));
    let other_key = dir.join("cache").join("0000.json.4194306.tmp");
    for f in [&dead, &live, &other_key] {
        std::fs::write(f, "{\"SecretAccessKey\":\"x\"}").unwrap();
    }
    go(&e).expect(0);
    assert!(!dead.exists(), "a dead run's temporary file is removed");
    assert!(live.exists(), "a live process's is kept");
    assert!(
        other_key.exists(),
        "another key's is not this run's to judge"
    );
}

/// Where `name` is on this process's `PATH`.
fn which(name: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "{name} is not installed (make deps)");
    path
}
