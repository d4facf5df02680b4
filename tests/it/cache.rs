//! The credential cache (`docs/reference.md` §13), through the real binary
//! against the stand-in, which counts the requests: a hit asks nothing, any
//! changed input asks again, the refresh window, private files, refused
//! folders, links not followed, bad entries ignored, parallel runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::*;

/// A `credential_process` run against the stand-in with the cache in
/// `dir/cache`, as `~/.aws/config` would run it.
pub fn env(sts: &StandIn, token: &str, dir: &Path) -> StepEnv {
    StepEnv::new(ROLE, token, &sts.url(), &sts.ca().display().to_string(), "")
        .unset("HARNESS_OUTPUT_SECRET_FILE")
        .set("PLUGIN_OUTPUT_FORMAT", "credential-process")
        .set("PLUGIN_CACHE", "true")
        .set("PLUGIN_CACHE_DIR", &dir.join("cache").display().to_string())
        .set("PLUGIN_MAX_ATTEMPTS", "1")
}

pub fn go(env: &StepEnv) -> Output {
    let env: Vec<(&str, &str)> = env.iter().collect();
    run(&env, &[])
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// The one entry in the cache folder.
pub fn entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

/// The entry's text with its `Expiration` set to `at`.
pub fn expiring(text: &str, at: i64) -> String {
    let from = text.find("\"Expiration\":\"").unwrap() + "\"Expiration\":\"".len();
    let to = from + text[from..].find('"').unwrap();
    format!("{}{}{}", &text[..from], standin::iso(at), &text[to..])
}

/// A cache with one entry, made by a first run logging at debug: the
/// folder, the run's environment and the entry.
pub fn primed(sts: &StandIn) -> (TempDir, StepEnv, PathBuf) {
    let dir = temp_dir("cache");
    let e = env(sts, &harness_token(), &dir).set("PLUGIN_LOG_LEVEL", "debug");
    let out = go(&e);
    out.expect(0);
    out.says(": there is no entry; asking STS");
    let path = entry(&dir);
    (dir, e, path)
}

#[test]
fn a_second_run_reuses_the_cached_credentials_and_shows_no_secret() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let token = harness_token();
    let mut outputs = Vec::new();
    for level in ["info", "trace", "info"] {
        let out = go(&env(&sts, &token, &dir).set("PLUGIN_LOG_LEVEL", level));
        out.expect(0);
        // Nothing to warn of: the folder, the lock and the entry all work.
        assert!(!out.stderr.contains("warning"), "{level}: {}", out.stderr);
        // stdout is the credentials; stderr shows none of them.
        for secret in secrets_of(&sts, &token) {
            assert!(!out.stderr.contains(&secret), "{level}: {}", out.stderr);
        }
        outputs.push(out);
    }
    assert_eq!(sts.counts(), (1, 1), "one exchange, then hits");
    let issued = &sts.issued()[0];
    assert!(outputs[0].stdout.contains(&issued.secret_access_key));
    assert!(!outputs[0].stderr.contains("from cache"));
    for out in &outputs[1..] {
        assert_eq!(out.stdout, outputs[0].stdout, "the same credentials");
        out.says("aws-oidc: from cache, expires in ");
    }
    // Entry text holds secrets, and no line showed it.
    let text = std::fs::read_to_string(entry(&dir)).unwrap();
    assert!(text.contains(&issued.session_token));
}

/// The chained roles of the key's chained rows (hops 2 and 3), and each
/// changed alone.
const CHAINED: &str =
    "arn:aws:iam::210987654321:role/deploy,arn:aws:iam::333333333333:role/app/final";
const HOP2: &str = "arn:aws:iam::444444444444:role/other,arn:aws:iam::333333333333:role/app/final";
const HOP3: &str = "arn:aws:iam::210987654321:role/deploy,arn:aws:iam::444444444444:role/other";

/// Every input the key covers (docs/reference.md §13.2), each changed
/// alone against a cached run: the changed run asks STS (one request a
/// hop) and its unchanged re-run is a hit, as is the run it changed.
#[test]
fn every_changed_input_asks_sts_again() {
    let sts = StandIn::start();
    let other = StandIn::start();
    let dir = temp_dir("cache");
    // One bundle trusting both stand-ins, so that the endpoint's row
    // changes only the endpoint (the CA bundle is not in the key).
    let cas = [sts.ca(), other.ca()].map(|ca| std::fs::read_to_string(ca).unwrap());
    let bundle = write_file(&dir, "both.pem", &cas.concat());
    let one = env(&sts, &harness_token(), &dir).set("PLUGIN_CA_BUNDLE", bundle.to_str().unwrap());
    let chain = one
        .clone()
        .set("PLUGIN_CHAINROLEARN", CHAINED)
        .set("PLUGIN_EXTERNAL_ID", "ext-1");
    let token = jwt(
        "https://issuer.example",
        "sts.amazonaws.com",
        "sub",
        now() + 600,
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let arns = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let role = "arn:aws:iam::123456789012:role/other";
    let url = other.url();
    // The input, the cached run, and the variable that changes only it.
    let rows = [
        ("role ARN", &one, "PLUGIN_IAMROLEARN", role),
        ("session name", &one, "PLUGIN_ROLE_SESSION_NAME", "s2"),
        ("duration", &one, "PLUGIN_DURATION", "7200"),
        ("inline policy", &one, "PLUGIN_POLICY", policy),
        ("policy ARNs", &one, "PLUGIN_POLICY_ARNS", arns),
        ("token", &one, "PLUGIN_OIDC_TOKEN_ID", &token),
        ("endpoint", &one, "PLUGIN_STS_ENDPOINT", &url),
        ("external id", &chain, "PLUGIN_EXTERNAL_ID", "ext-2"),
        ("hop 2's role", &chain, "PLUGIN_CHAINROLEARN", HOP2),
        ("hop 3's role", &chain, "PLUGIN_CHAINROLEARN", HOP3),
        ("chained duration", &chain, "PLUGIN_DURATION", "1800"),
        ("hop 3's inline policy", &chain, "PLUGIN_POLICY", policy),
        ("hop 3's policy ARNs", &chain, "PLUGIN_POLICY_ARNS", arns),
    ];
    let asked = || sts.counts().0 + other.counts().0;
    for base in [&one, &chain] {
        go(base).expect(0);
    }
    assert_eq!(asked(), 1 + 3, "the two cached runs, of one hop and three");
    for (what, base, key, value) in rows {
        let changed = base.clone().set(key, value);
        let hops = 1 + changed
            .get("PLUGIN_CHAINROLEARN")
            .map_or(0, |c| c.split(',').count());
        for (run, asks) in [(base, 0), (&changed, hops), (&changed, 0)] {
            let before = asked();
            let out = go(run);
            out.expect(0);
            assert_eq!(asked() - before, asks, "{what}: {}", out.stderr);
            let hit = out.stderr.contains("from cache");
            assert_eq!(hit, asks == 0, "{what}: {}", out.stderr);
        }
    }
}

#[test]
fn an_entry_inside_the_refresh_window_is_replaced_and_one_outside_is_used() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    for (left, asks) in [
        (16 * 60, false),
        (14 * 60, true),
        (-60, true),
        (20 * 60, false),
    ] {
        let before = sts.counts().0;
        expire(&path, left);
        let out = go(&e);
        out.expect(0);
        assert_eq!(sts.counts().0 - before, usize::from(asks), "{left}s left");
        match asks {
            true => {
                out.says("debug: cache miss for ");
                // The entry was replaced by the new answer's.
                let issued = sts.issued().last().unwrap().clone();
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains(&issued.access_key_id));
            }
            false => assert!(
                out.stderr.contains("from cache, expires in "),
                "{}",
                out.stderr
            ),
        }
    }
}

/// Runs the binary under `umask 000`, as GitLab's Docker executor does.
fn go_umask_000(env: &StepEnv) -> Output {
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .envs(env.iter())
        .args(["-c", "umask 000 && exec \"$0\""])
        .arg(bin())
        .stdin(Stdio::null());
    Output::from(cmd.output().unwrap())
}

#[test]
fn the_folder_is_0700_and_entries_0600_whatever_the_umask() {
    let sts = StandIn::start();
    for umask_000 in [false, true] {
        let dir = temp_dir("cache");
        let e = env(&sts, &harness_token(), &dir).set(
            "PLUGIN_CACHE_DIR",
            &dir.join("a/b/cache").display().to_string(),
        );
        let out = match umask_000 {
            true => go_umask_000(&e),
            false => go(&e),
        };
        out.expect(0);
        assert!(
            !out.stderr.contains("made it 0700"),
            "made 0700, not tightened later"
        );
        let cache = dir.join("a/b/cache");
        assert_eq!(mode(&cache), 0o700, "umask 000: {umask_000}");
        let names: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "an entry and its lock: {names:?}");
        for n in names {
            assert!(n.ends_with(".json") || n.ends_with(".lock"), "{n}");
            assert_eq!(mode(&cache.join(&n)), 0o600, "{n}, umask 000: {umask_000}");
        }
    }
}

#[test]
fn an_open_folder_is_tightened_and_the_default_folders_are_used() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let token = harness_token();
    std::fs::create_dir(dir.join("cache")).unwrap();
    std::fs::set_permissions(dir.join("cache"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = go(&env(&sts, &token, &dir));
    out.expect(0);
    out.says("could be opened by group or others (mode 0755); made it 0700");
    assert_eq!(mode(&dir.join("cache")), 0o700);

    // No --cache-dir: XDG_CACHE_HOME, else HOME/.cache; neither: exit 2.
    let home = dir.join("home").display().to_string();
    let xdg = dir.join("xdg").display().to_string();
    let e = env(&sts, &token, &dir).unset("PLUGIN_CACHE_DIR");
    go(&e.clone().set("HOME", &home)).expect(0);
    assert_eq!(mode(&dir.join("home/.cache/aws-oidc")), 0o700);
    go(&e.clone().set("HOME", &home).set("XDG_CACHE_HOME", &xdg)).expect(0);
    assert_eq!(mode(&dir.join("xdg/aws-oidc")), 0o700);
    let out = go(&e.clone().set("XDG_CACHE_HOME", "relative/path"));
    out.expect(2);
    assert!(
        out.last_line().contains(
            "PLUGIN_CACHE: the cache is on but there is no folder for it: XDG_CACHE_HOME or HOME is not set"
        ),
        "{}",
        out.stderr
    );
    assert!(out
        .last_line()
        .contains("set --cache-dir / PLUGIN_CACHE_DIR"));
    assert_eq!(sts.counts().0, 3);
}

#[test]
fn a_folder_owned_by_someone_else_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: planting a folder owned by nobody (uid 65534) needs root");
        return;
    }
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    std::fs::create_dir(dir.join("cache")).unwrap();
    std::os::unix::fs::chown(dir.join("cache"), Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(dir.join("cache"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = go(&env(&sts, &harness_token(), &dir));
    out.expect(6);
    assert!(
        out.last_line()
            .contains("(from PLUGIN_CACHE_DIR) belongs to uid 65534"),
        "{}",
        out.stderr
    );
    assert!(out
        .last_line()
        .contains("set --cache-dir / PLUGIN_CACHE_DIR to a folder this user owns"));
    assert_eq!(out.stdout, "");
    assert_eq!(sts.counts().0, 0);
}

#[test]
fn links_are_never_followed() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let token = harness_token();
    // A link as the folder: refused before any request.
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::set_permissions(dir.join("real"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("cache")).unwrap();
    let out = go(&env(&sts, &token, &dir));
    out.expect(6);
    assert!(
        out.last_line()
            .contains("is a symbolic link, which is never followed"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts().0, 0);
    assert_eq!(std::fs::read_dir(dir.join("real")).unwrap().count(), 0);

    // A link as the entry, to a valid copy of it: not read, and replaced.
    std::fs::remove_file(dir.join("cache")).unwrap();
    let e = env(&sts, &token, &dir).set("PLUGIN_LOG_LEVEL", "debug");
    go(&e).expect(0);
    let path = entry(&dir);
    let copy = dir.join("copy.json");
    std::fs::rename(&path, &copy).unwrap();
    std::os::unix::fs::symlink(&copy, &path).unwrap();
    let kept = std::fs::read_to_string(&copy).unwrap();
    let out = go(&e);
    out.expect(0);
    out.says("is a symbolic link, which is not followed");
    assert_eq!(sts.counts().0, 2);
    assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), kept);
}

#[test]
fn a_corrupt_or_planted_entry_is_ignored_and_never_written_out() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    let good = std::fs::read_to_string(&path).unwrap();
    let issued = sts.issued()[0].clone();
    let planted = "hostile$(touch /tmp/aws-oidc-cache-x)";
    let bad = [
        ("garbage", "\u{0}\u{1} not json".to_string()),
        ("cut short", good[..good.len() / 2].to_string()),
        ("another key", good.replacen("\"Key\":\"", "\"Key\":\"0", 1)),
        (
            "another version",
            good.replace("\"Version\":1", "\"Version\":9"),
        ),
        ("a bad value", good.replace(&issued.session_token, planted)),
        // Good JSON padded past the 64 KiB an entry may have: read whole,
        // and refused for its size before it is parsed.
        ("too large", format!("{good}{}", " ".repeat(64 << 10))),
        // A FIFO with no writer: opened without blocking, then refused.
        ("a FIFO", String::new()),
    ];
    for (i, (what, text)) in bad.iter().enumerate() {
        match *what {
            "a FIFO" => {
                std::fs::remove_file(&path).unwrap();
                mkfifo(&path);
            }
            _ => std::fs::write(&path, text).unwrap(),
        }
        let out = run_bounded(&e);
        out.expect(0);
        assert!(
            out.stderr.contains("so it is ignored; asking STS"),
            "{what}: {}",
            out.stderr
        );
        assert!(
            !out.stdout.contains(planted) && !out.stderr.contains(planted),
            "{what}"
        );
        let why = match *what {
            "too large" => ": the entry is larger than an entry can be, so it is ignored",
            "a FIFO" => ": the entry is not a regular file of this user's, so it is ignored",
            _ => "",
        };
        assert!(out.stderr.contains(why), "{what}: {}", out.stderr);
        assert_eq!(sts.counts().0, i + 2, "{what}");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains(&sts.issued()[i + 1].access_key_id));
    }
    // A refused exchange leaves the entry as it was.
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, "corrupt").unwrap();
    sts.script([Reply::Error(403, "AccessDenied", "no".into())]);
    go(&e).expect(3);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "corrupt");
    assert!(!before.is_empty());
}

#[test]
fn runs_started_together_make_one_request() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(bin())
                .env_clear()
                .envs(e.iter())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| Output::from(c.wait_with_output().unwrap()))
        .collect();
    for out in &outs {
        out.expect(0);
        assert_eq!(out.stdout, outs[0].stdout);
    }
    assert_eq!(sts.counts(), (1, 1));
    let hits = outs
        .iter()
        .filter(|o| o.stderr.contains("from cache"))
        .count();
    assert_eq!(hits, 7);
}

#[test]
fn check_names_the_folder_and_touches_nothing() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir);
    let env: Vec<(&str, &str)> = e.iter().collect();
    let out = run(&env, &["--check"]);
    out.expect(0);
    let want = format!(
        "cache: {} (from PLUGIN_CACHE_DIR): missing; a run makes it, 0700\n",
        dir.join("cache").display()
    );
    assert!(out.stdout.contains(&want), "{}", out.stdout);
    assert!(!dir.join("cache").exists());
    assert_eq!(sts.counts().0, 0);
}

#[test]
fn a_hit_writes_every_output_as_the_answer_did() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let cache = step.dir.join("cache").display().to_string();
    let step = step
        .set("PLUGIN_CACHE", "true")
        .set("PLUGIN_CACHE_DIR", &cache);
    step.run(&[]).expect(0);
    let (secrets, vars) = (step.secrets(), step.vars());
    let out = step.run(&[]);
    out.expect(0);
    out.says("from cache");
    assert_eq!(sts.counts().0, 1);
    // Appended again, line for line: credentials, expiry, account, ARNs.
    assert_eq!(step.secrets(), format!("{secrets}{secrets}"));
    assert_eq!(step.vars(), format!("{vars}{vars}"));
    // json and shell from the same entry.
    for (format, key) in [
        ("json", "\"AssumedRoleArn\":\"arn:aws:sts::"),
        ("shell", "export AWS_OIDC_ROLE_ARN='"),
    ] {
        let out = step.run(&["--format", format, "--output", "-"]);
        out.expect(0);
        assert!(out.stdout.contains(key), "{format}: {}", out.stdout);
        assert!(out.stdout.contains(&sts.issued()[0].access_key_id));
    }
    assert_eq!(sts.counts().0, 1);
}

#[test]
fn a_shared_folder_is_refused_and_left_as_it_was() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let token = harness_token();
    let cache = dir.join("cache");
    std::fs::create_dir(&cache).unwrap();
    // A folder like /tmp: sticky and open to all.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = go(&env(&sts, &token, &dir));
    out.expect(6);
    let want = format!(
        "(from PLUGIN_CACHE_DIR) is a shared folder (mode 1777); give the cache a folder of its own, such as {}",
        cache.join("aws-oidc").display()
    );
    assert!(out.last_line().contains(&want), "{}", out.stderr);
    let m = std::fs::symlink_metadata(&cache)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(m & 0o7777, 0o1777, "left as it was");
    // A folder of the user's that holds other files, such as a home.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(cache.join("notes.txt"), "mine").unwrap();
    let out = go(&env(&sts, &token, &dir));
    out.expect(6);
    assert!(
        out.last_line()
            .contains("is a shared folder (it holds other files, such as notes.txt); give the cache a folder of its own"),
        "{}",
        out.stderr
    );
    assert_eq!(mode(&cache), 0o755, "left as it was");
    assert_eq!(sts.counts().0, 0, "before any request");
    // Only cache files in it: used, and tightened.
    std::fs::remove_file(cache.join("notes.txt")).unwrap();
    for name in ["0a.json", "0a.lock", "0a.json.77.tmp"] {
        std::fs::write(cache.join(name), "").unwrap();
    }
    go(&env(&sts, &token, &dir)).expect(0);
    assert_eq!(mode(&cache), 0o700);
}

#[test]
fn check_refuses_the_folders_a_run_refuses_and_changes_nothing() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let cache = dir.join("cache");
    let e = env(&sts, &harness_token(), &dir);
    let env: Vec<(&str, &str)> = e.iter().collect();
    let check = || run(&env, &["--check"]);
    // Open to others: valid, and the run would tighten it.
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = check();
    out.expect(0);
    let want = format!(
        "cache: {} (from PLUGIN_CACHE_DIR): group or others may open it (mode 0755); a run makes it 0700\n",
        cache.display()
    );
    assert!(out.stdout.contains(&want), "{}", out.stdout);
    assert_eq!(mode(&cache), 0o755, "--check changes nothing");
    // Shared: refused as the run refuses it. A .tmp file is the cache's
    // own only as an entry's temporary file.
    for other in ["notes.txt", "notes.tmp"] {
        std::fs::write(cache.join(other), "mine").unwrap();
        let out = check();
        out.expect(6);
        assert!(
            out.last_line().contains(&format!(
                "is a shared folder (it holds other files, such as {other})"
            )),
            "{}",
            out.stderr
        );
        assert!(!out.stdout.contains("settings are valid"));
        std::fs::remove_file(cache.join(other)).unwrap();
    }
    // Under a file: it cannot be looked at, which is not "missing".
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under = e.clone().set(
        "PLUGIN_CACHE_DIR",
        &file.join("cache").display().to_string(),
    );
    let under: Vec<(&str, &str)> = under.iter().collect();
    let out = run(&under, &["--check"]);
    out.expect(6);
    assert!(
        out.last_line().contains("/a-file/cache (from PLUGIN_CACHE_DIR) cannot be checked: not a directory; set --cache-dir"),
        "{}",
        out.stderr
    );
    // A link: refused.
    std::fs::rename(&cache, dir.join("real")).unwrap();
    std::os::unix::fs::symlink(dir.join("real"), &cache).unwrap();
    check().expect(6);
    // Another user's: refused.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::remove_file(&cache).unwrap();
        std::fs::create_dir(&cache).unwrap();
        std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();
        let out = check();
        out.expect(6);
        assert!(
            out.last_line().contains("belongs to uid 65534"),
            "{}",
            out.stderr
        );
    } else {
        eprintln!("skipped: planting a folder owned by nobody (uid 65534) needs root");
    }
    assert_eq!(sts.counts().0, 0);
}

/// An entry of exactly the 64 KiB an entry may have is read (good JSON,
/// padded): only a larger one is refused for its size.
#[test]
fn an_entry_of_64_kib_is_read() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{good}{}", " ".repeat((64 << 10) - good.len())),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 << 10);
    let out = go(&e);
    out.expect(0);
    out.says("from cache");
    assert_eq!(sts.counts().0, 1);
}

/// The entry's lock file, next to the one entry.
fn lock_of(dir: &Path) -> PathBuf {
    entry(dir).with_extension("lock")
}

#[test]
fn a_lock_held_too_long_is_given_up_within_the_timeout() {
    let sts = StandIn::start();
    // A holder that never finishes (a stopped run).
    let (_dir, e, held) = held_over_an_expired_entry(&sts);
    let out = run_bounded(&e.clone().set("PLUGIN_TIMEOUT", "2"));
    out.expect(0);
    // How long exactly is the machine's business: only that it gave up.
    assert!(
        out.stderr
            .contains("warning: another run has held the cache entry's lock for ")
            && out.stderr.contains("s; going on without it"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts().0, 2, "asked STS without the lock");
    drop(held);
}

#[test]
fn a_lock_file_that_is_not_a_regular_file_of_the_users_is_not_used() {
    let sts = StandIn::start();
    let (dir, e, _path) = primed(&sts);
    let lock = lock_of(&dir);
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), &lock).unwrap();
    let out = go(&e);
    out.expect(0);
    out.says("its lock file is a symbolic link; going on without the lock");
    assert!(!dir.join("elsewhere").exists(), "the link was not followed");
    // A folder cannot be opened to write; a FIFO opens (non-blocking) and
    // is still not a regular file.
    std::fs::remove_file(&lock).unwrap();
    for fifo in [false, true] {
        match fifo {
            false => std::fs::create_dir(&lock).unwrap(),
            true => mkfifo(&lock),
        }
        let out = run_bounded(&e);
        out.expect(0);
        out.says("its lock file is not a regular file; going on without the lock");
        match fifo {
            false => std::fs::remove_dir(&lock).unwrap(),
            true => std::fs::remove_file(&lock).unwrap(),
        }
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::write(&lock, "").unwrap();
        std::os::unix::fs::chown(&lock, Some(65534), Some(65534)).unwrap();
        let out = go(&e);
        out.expect(0);
        out.says("its lock file belongs to uid 65534");
    } else {
        eprintln!("skipped: planting a lock file owned by nobody (uid 65534) needs root");
    }
}

#[test]
fn a_hit_refused_by_the_guard_or_verify_is_removed_and_sts_asked_once() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    // An entry for another account (as if the list changed, or it was
    // planted): the guard refuses it, and the run asks STS.
    let text = std::fs::read_to_string(&path).unwrap();
    let other = text.replace("arn:aws:sts::123456789012:", "arn:aws:sts::999999999999:");
    assert_ne!(other, text);
    std::fs::write(&path, &other).unwrap();
    // A run that finds the hit refused, says by what, and asks STS.
    let refused = |env: &StepEnv, by: &str| {
        let out = go(env);
        out.expect(0);
        let said = format!("were refused by {by}");
        assert!(
            out.stderr.contains(&said) && out.stderr.contains("; removed the entry, asking STS"),
            "{}",
            out.stderr
        );
        out.says_not("STS answered");
    };
    let guarded = e.clone().set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012");
    refused(&guarded, "the account guard");
    assert_eq!(sts.counts().0, 2);
    // The fresh answer replaced it: the next run is a hit.
    assert!(go(&guarded).expect(0).stderr.contains("from cache"));
    assert_eq!(sts.counts().0, 2);

    // Credentials STS no longer takes: --verify refuses the hit.
    let verified = e.clone().set("PLUGIN_VERIFY", "true");
    sts.script([Reply::Error(
        403,
        "ExpiredToken",
        "The security token included in the request is expired".into(),
    )]);
    refused(&verified, "--verify (");
    // The refused verify, the exchange, and the fresh answer's verify.
    assert_eq!(sts.counts().0, 5);
    let out = go(&verified);
    out.expect(0);
    out.says("from cache");
    assert_eq!(sts.counts().0, 6, "a hit, verified");

    // No answer to the hit's GetCallerIdentity is not a refusal: the
    // entry may be good, so it stays, and the run fails with exit 4.
    let before = std::fs::read_to_string(&path).unwrap();
    sts.script([Reply::Close]);
    let out = go(&verified);
    out.expect(4);
    out.says_not("removed the entry");
    assert_eq!(sts.counts().0, 7, "the verify only: STS not asked");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // A refused hit is gone even when STS then refuses: no later run may
    // find it.
    std::fs::write(&path, &other).unwrap();
    sts.script([Reply::Error(403, "AccessDenied", "no".into())]);
    go(&guarded).expect(3);
    assert!(!path.exists(), "the refused entry was removed");
}

#[test]
fn an_entry_with_an_empty_value_is_a_miss() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    let good = std::fs::read_to_string(&path).unwrap();
    let issued = sts.issued()[0].clone();
    let arn = "\"AssumedRoleArn\":\"";
    let from = good.find(arn).unwrap() + arn.len();
    let to = from + good[from..].find('"').unwrap();
    let empty = [
        good.replace(&issued.secret_access_key, ""),
        format!("{}{}", &good[..from], &good[to..]),
    ];
    for (i, text) in empty.iter().enumerate() {
        std::fs::write(&path, text).unwrap();
        let out = go(&e);
        out.expect(0);
        out.says("the entry has an empty value, so it is ignored; asking STS");
        assert_eq!(sts.counts().0, i + 2);
    }
}

#[test]
fn a_relative_cache_dir_is_refused_and_a_lone_one_warned_about() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir);
    // Run in the test's own folder: a regression writes there, not into
    // the repository.
    let in_dir = |env: &StepEnv, args: &[&str]| {
        let mut cmd = Command::new(bin());
        cmd.env_clear()
            .envs(env.iter())
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null());
        Output::from(cmd.output().unwrap())
    };
    let out = in_dir(&e.clone().set("PLUGIN_CACHE_DIR", "cache"), &[]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("PLUGIN_CACHE_DIR: `cache` must be an absolute path"),
        "{}",
        out.stderr
    );
    let out = in_dir(&e, &["--cache-dir", "./here"]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("--cache-dir: `./here` must be an absolute path"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.counts().0, 0);
    // A folder without the cache: said, and nothing made.
    let out = go(&e.clone().unset("PLUGIN_CACHE"));
    out.expect(0);
    out.says("warning: PLUGIN_CACHE_DIR is set but the cache is off; set --cache / PLUGIN_CACHE=true to use it");
    assert!(!dir.join("cache").exists());
}

#[test]
fn credentials_too_short_to_reuse_are_said_to_be() {
    let sts = StandIn::start();
    let dir = temp_dir("cache");
    let e = env(&sts, &harness_token(), &dir).set("PLUGIN_DURATION", "900");
    let out = go(&e);
    out.expect(0);
    out.says("the cache cannot reuse them (it reuses credentials with more than 15m left); ask a longer duration");
    go(&e).expect(0);
    assert_eq!(sts.counts().0, 2, "not reused");
}

/// A run that finds the entry's lock held says so once, at debug, waits,
/// and goes on with the lock when the holder lets go, not without it. The
/// test lets go when the run says it waits: no sleep, no timing
/// (mutation testing, issue 13).
#[test]
fn a_run_waits_for_a_held_lock_and_goes_on_with_it() {
    use std::io::{BufRead, BufReader, Read};
    let sts = StandIn::start();
    let (_dir, e, held) = held_over_an_expired_entry(&sts);
    // A bounded wait: a run that never says it waits gives up after 5s.
    let mut child = Command::new(bin())
        .env_clear()
        .envs(e.clone().set("PLUGIN_TIMEOUT", "5").iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for it to finish") {
        if stderr.read_line(&mut said).unwrap() == 0 {
            break;
        }
    }
    drop(held);
    stderr.read_to_string(&mut said).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{said}");
    let waits = said.matches("another run holds this cache entry's lock; waiting for it to finish");
    assert_eq!(waits.count(), 1, "{said}");
    assert!(!said.contains("going on without"), "{said}");
    assert!(said.contains("the entry has expired"), "{said}");
    assert!(!said.contains("cannot reuse them"), "{said}");
    assert_eq!(sts.counts().0, 2, "one renewal");
    // The wait came out of the run's timeout: what is left for STS is less
    // than the 5s set (the run slept at least one 50 ms poll), whatever
    // the wait's length.
    let line = said
        .lines()
        .find(|l| l.contains("for the cache entry's lock; "))
        .unwrap_or_else(|| panic!("no line about the wait: {said}"));
    let left = line
        .split("; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    assert!(
        left.ends_with('s') && left != "5.0s" && left.starts_with(['4', '3', '2', '1', '0']),
        "{line}"
    );
    assert!(
        line.ends_with(" of the 5s timeout (from PLUGIN_TIMEOUT) is left for STS"),
        "{line}"
    );
}

/// A miss says why: an entry within the refresh window, or one past its
/// expiry. The run took the lock at once, so it says nothing of a wait:
/// nothing came out of its timeout (mutation testing, issue 13).
#[test]
fn a_miss_says_whether_the_entry_expired_or_is_in_the_refresh_window() {
    let sts = StandIn::start();
    let (_dir, e, path) = primed(&sts);
    for (left, says) in [
        (14 * 60, ", within the 15m refresh window; asking STS"),
        (-60, ": the entry has expired; asking STS"),
    ] {
        expire(&path, left);
        let out = go(&e);
        out.expect(0);
        assert!(out.stderr.contains(says), "{left}s left: {}", out.stderr);
        assert!(!out.stderr.contains("lock"), "{left}s left: {}", out.stderr);
    }
}

/// Sets the entry's `Expiration` to `left` seconds from now.
fn expire(path: &Path, left: i64) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, expiring(&text, now() + left)).unwrap();
}

/// A primed cache whose entry has expired (one to renew), with its lock
/// held by the test until the returned file is dropped.
fn held_over_an_expired_entry(sts: &StandIn) -> (TempDir, StepEnv, std::fs::File) {
    let (dir, e, path) = primed(sts);
    let held = std::fs::File::options()
        .write(true)
        .open(lock_of(&dir))
        .unwrap();
    held.lock().unwrap();
    expire(&path, -60);
    (dir, e, held)
}
