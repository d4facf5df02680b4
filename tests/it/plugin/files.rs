//! The step's output files: what is refused before STS (devices, FIFOs,
//! planted symlinks, files of other users or others can write), modes,
//! appending, and `--check`.

use super::*;

/// Runs the step under this umask (through `/bin/sh`, which sets it and
/// execs the binary), so that modes are proven whatever the caller's umask.
fn run_under_umask(step: &Step, umask: &str, args: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = step.env.iter().collect();
    let script = format!("umask {umask}; exec \"$0\" \"$@\"");
    let bin = bin();
    let mut all = vec!["-c", &script, bin.to_str().unwrap()];
    all.extend(args);
    run_binary(std::path::Path::new("/bin/sh"), &env, &all, None)
}

const NOBODY: u32 = 65534;

/// Writes `text` to `path` as user nobody's file with this mode.
fn plant_as_nobody(path: &std::path::Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    chmod(path, mode);
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
}

/// Asserts exit 6 before any request, with `says` in the one error line.
fn refused_before_sts(sts: &StandIn, out: &Output, says: &str) {
    out.expect(6);
    assert!(
        out.last_line().contains(says),
        "wanted {says:?}:\n{}",
        out.stderr
    );
    assert!(
        out.last_line().starts_with("aws-oidc: error: "),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty(), "STS was asked: {}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn devices_directories_and_missing_directories_are_refused_before_sts() {
    let sts = StandIn::start();
    let dir = temp_dir("dest");
    for (path, says) in [
        (
            "/dev/null".to_string(),
            "--output / PLUGIN_OUTPUT_FILE (/dev/null) is a device, not a regular file; name a regular file, or - for stdout",
        ),
        (
            dir.display().to_string(),
            "is a directory; name a file inside it",
        ),
        (
            dir.join("missing/creds.env").display().to_string(),
            "cannot be created: the directory",
        ),
    ] {
        let step = Step::harness(&sts);
        let out = step.run(&["--output", &path]);
        refused_before_sts(&sts, &out, says);
        assert!(out.last_line().contains(&path), "{}", out.stderr);
        assert!(!step.vars_file.exists() && !step.secret_file.exists());
    }
    // The variables file is held to the same rules.
    let step = Step::harness(&sts).set("DRONE_OUTPUT", "/dev/null");
    refused_before_sts(&sts, &step.run(&[]), "DRONE_OUTPUT (/dev/null) is a device");
    assert!(!step.secret_file.exists(), "a refused run left a file");
    // `/dev/stdout` means stdout, as `-` does.
    let step = Step::harness(&sts);
    let out = step.run(&["--output", "/dev/stdout"]);
    out.expect(0);
    assert!(
        out.stdout.starts_with("AWS_ACCESS_KEY_ID="),
        "{}",
        out.stdout
    );
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let sts = StandIn::start();
    let dir = temp_dir("fifo");
    let fifo = dir.join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let step = Step::harness(&sts).set("HARNESS_OUTPUT_SECRET_FILE", fifo.to_str().unwrap());
    refused_before_sts(&sts, &step.run(&[]), "HARNESS_OUTPUT_SECRET_FILE");
    let out = step.run(&["--output", fifo.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is a FIFO (named pipe), not a regular file");
}

#[test]
fn a_symlink_planted_by_another_user_is_never_followed() {
    if !root() {
        return;
    }
    use std::os::unix::fs::{lchown, symlink};
    let sts = StandIn::start();
    let shared = temp_dir("shared");
    chmod(&shared, 0o1777);
    let theirs = shared.join("theirs.env");
    plant_as_nobody(&theirs, "THEIRS=1\n", 0o666);
    let link = shared.join("aws.env");
    symlink(&theirs, &link).unwrap();
    lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    let step = Step::harness(&sts);
    let out = step.run(&["--output", link.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is a symbolic link, which is never followed");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "THEIRS=1\n");
    // The same link as Harness's secret file.
    let step = step.set("HARNESS_OUTPUT_SECRET_FILE", link.to_str().unwrap());
    refused_before_sts(&sts, &step.run(&[]), "is a symbolic link");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "THEIRS=1\n");
    // A link to a file this user owns is refused too: the name must be the file.
    let mine = write_file(&shared, "mine.env", "");
    chmod(&mine, 0o600);
    let own_link = shared.join("own-link.env");
    symlink(&mine, &own_link).unwrap();
    let out = Step::harness(&sts).run(&["--output", own_link.to_str().unwrap()]);
    refused_before_sts(&sts, &out, "name the file itself, or remove the link");
}

#[test]
fn a_file_owned_by_another_user_is_refused_naming_the_owner() {
    if !root() {
        return;
    }
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    plant_as_nobody(&step.secret_file, "", 0o600);
    let out = step.run(&[]);
    refused_before_sts(&sts, &out, "belongs to uid 65534");
    // The owner's name from /etc/passwd, from the line with that uid
    // (issue 13: a survivor of make mutants took the first other line).
    assert!(
        out.last_line().contains("belongs to uid 65534 (nobody), "),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line().contains("not to this user (uid 0)"),
        "{}",
        out.stderr
    );
    assert!(
        out.last_line()
            .contains(&step.secret_file.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(step.secrets(), "");
}

#[test]
fn a_file_others_can_write_is_refused_with_the_chmod_fix() {
    for mode in [0o666, 0o620, 0o602] {
        let sts = StandIn::start();
        let step = Step::harness(&sts);
        std::fs::write(&step.secret_file, "EARLIER=1\n").unwrap();
        chmod(&step.secret_file, mode);
        let out = step.run(&[]);
        let path = step.secret_file.display().to_string();
        refused_before_sts(
            &sts,
            &out,
            &format!("HARNESS_OUTPUT_SECRET_FILE ({path}) can be written by group or others (mode {mode:04o}); run chmod go-w {path}"),
        );
        assert!(out.last_line().contains("umask 0000"), "{}", out.stderr);
        assert_eq!(step.secrets(), "EARLIER=1\n");
        assert!(!step.vars_file.exists(), "a refused run left a file");
        // After the fix the same file is written.
        chmod(&step.secret_file, mode & !0o022);
        step.run(&[]).expect(0);
        assert!(step.secrets().starts_with("EARLIER=1\nAWS_ACCESS_KEY_ID="));
    }
}

#[test]
fn a_credentials_file_others_can_read_is_written_with_a_warning() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o644);
    let out = step.run(&[]);
    out.expect(0);
    let path = step.secret_file.display().to_string();
    out.says(&format!("warning: HARNESS_OUTPUT_SECRET_FILE ({path}) can be read by group or others (mode 0644); chmod go-r {path}"));
    assert_eq!(step.secrets().lines().count(), 3);
    assert_eq!(mode(&step.secret_file), 0o644);
}

#[test]
fn files_are_created_0600_under_any_umask() {
    let sts = StandIn::start();
    for umask in ["077", "022", "000"] {
        let step = Step::harness(&sts);
        run_under_umask(&step, umask, &[]).expect(0);
        assert_eq!(mode(&step.secret_file), 0o600, "umask {umask}");
        assert_eq!(mode(&step.vars_file), 0o600, "umask {umask}");
    }
}

#[test]
fn two_names_for_one_file_are_refused() {
    let sts = StandIn::start();
    // The same path as the explicit output and the variables file: the
    // secret key must never reach the variables file.
    let step = Step::harness(&sts);
    let vars = step.vars_file.display().to_string();
    let out = step.run(&["--output", &vars]);
    refused_before_sts(
        &sts,
        &out,
        &format!(
            "DRONE_OUTPUT ({vars}) is the same file as --output / PLUGIN_OUTPUT_FILE ({vars})"
        ),
    );
    assert!(
        !step.vars_file.exists(),
        "the file this run created is left"
    );
    // A hard link to the secret file as the variables file.
    let step = Step::harness(&sts).set("PLUGIN_REGION", "eu-west-1");
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o600);
    std::fs::hard_link(&step.secret_file, &step.vars_file).unwrap();
    refused_before_sts(
        &sts,
        &step.run(&[]),
        "is the same file as HARNESS_OUTPUT_SECRET_FILE",
    );
    assert_eq!(step.secrets(), "");
    // Under --check, before either exists.
    let step = Step::harness(&sts).set("PLUGIN_OUTPUT_FILE", &vars.replace("output.env", "x.env"));
    let step = step.set("DRONE_OUTPUT", &vars.replace("output.env", "x.env"));
    step.run(&["--check"]).expect(6);
}

#[test]
fn drone_output_and_harness_output_file_naming_one_file_is_one_destination() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let vars = step.vars_file.display().to_string();
    let step = step.set("HARNESS_OUTPUT_FILE", &vars);
    step.run(&[]).expect(0);
    assert_eq!(
        step.vars().matches("AWS_CREDENTIAL_EXPIRATION=").count(),
        1,
        "{}",
        step.vars()
    );
}

#[test]
fn input_files_are_never_a_destination() {
    let sts = StandIn::start();
    // The token read from the file that is also the secret file: a second
    // run would send the first run's keys as its token.
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, format!("{}\n", step.token)).unwrap();
    chmod(&step.secret_file, 0o600);
    let secret = step.secret_file.display().to_string();
    let step = step
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", &secret);
    let out = step.run(&[]);
    refused_before_sts(&sts, &out, &format!("HARNESS_OUTPUT_SECRET_FILE ({secret}) is the same file as AWS_WEB_IDENTITY_TOKEN_FILE ({secret}), which is read, never written"));
    out.assert_hides(&[&step.token]);
    assert_eq!(step.secrets(), format!("{}\n", step.token));
    // The CA bundle as the explicit output.
    let step = Step::harness(&sts);
    let before = std::fs::read_to_string(sts.ca()).unwrap();
    let out = step.run(&["--output", sts.ca().to_str().unwrap()]);
    refused_before_sts(&sts, &out, "is the same file as PLUGIN_CA_BUNDLE");
    assert_eq!(std::fs::read_to_string(sts.ca()).unwrap(), before);
}

#[test]
fn appending_starts_on_a_new_line() {
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    std::fs::write(&step.secret_file, "EXISTING=1").unwrap();
    std::fs::write(&step.vars_file, "OTHER=2").unwrap();
    chmod(&step.secret_file, 0o600);
    chmod(&step.vars_file, 0o600);
    step.run(&[]).expect(0);
    let issued = sts.issued().pop().unwrap();
    assert!(
        step.secrets().starts_with(&format!(
            "EXISTING=1\nAWS_ACCESS_KEY_ID={}\n",
            issued.access_key_id
        )),
        "{}",
        step.secrets()
    );
    assert!(
        step.vars()
            .starts_with("OTHER=2\nAWS_CREDENTIAL_EXPIRATION="),
        "{}",
        step.vars()
    );
}

#[test]
fn a_failed_run_leaves_no_file_it_created() {
    let sts = StandIn::start();
    sts.script([Reply::Error(403, "AccessDenied", "Not authorized".into())]);
    let step = Step::harness(&sts);
    step.run(&[]).expect(3);
    assert!(!step.secret_file.exists(), "the secret file is left");
    assert!(!step.vars_file.exists(), "the variables file is left");
    // A file that was there keeps its text and its length.
    sts.script([Reply::Error(403, "AccessDenied", "Not authorized".into())]);
    std::fs::write(&step.secret_file, "EARLIER=1").unwrap();
    chmod(&step.secret_file, 0o600);
    step.run(&[]).expect(3);
    assert_eq!(step.secrets(), "EARLIER=1");
}

#[test]
fn check_makes_the_runs_checks_and_changes_nothing() {
    let sts = StandIn::start();
    // Missing files: said, not created.
    let step = Step::harness(&sts);
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(
        out.stdout.contains(&format!(
            "credentials: {}: missing, would be created readable by this user only (from HARNESS_OUTPUT_SECRET_FILE, dotenv)",
            step.secret_file.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "variables: {}: missing, would be created",
            step.vars_file.display()
        )),
        "{}",
        out.stdout
    );
    assert!(!step.secret_file.exists() && !step.vars_file.exists());
    // An existing file: appended to, untouched by the check.
    std::fs::write(&step.secret_file, "EARLIER=1").unwrap();
    chmod(&step.secret_file, 0o600);
    let out = step.run(&["--check", "--format", "credential-process", "--output", "-"]);
    out.expect(0);
    assert!(
        out.stdout.contains(
            "credentials: stdout (from --output / PLUGIN_OUTPUT_FILE, credential-process)"
        ),
        "{}",
        out.stdout
    );
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(
        out.stdout.contains("exists, would be appended to"),
        "{}",
        out.stdout
    );
    assert_eq!(step.secrets(), "EARLIER=1");
    // A destination the run would refuse: exit 6, the file as it was.
    chmod(&step.secret_file, 0o666);
    let out = step.run(&["--check"]);
    out.expect(6);
    assert!(out.last_line().contains("chmod go-w"), "{}", out.stderr);
    assert_eq!(
        (step.secrets(), mode(&step.secret_file)),
        ("EARLIER=1".to_string(), 0o666)
    );
    let fifo = step.dir.join("out.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    for path in [
        "/dev/null",
        "/nonexistent/dir/out.env",
        fifo.to_str().unwrap(),
    ] {
        step.run(&["--check", "--output", path]).expect(6);
    }
    // A token whose exp has passed: exit 3, as STS's refusal would be.
    let expired = jwt(
        "https://app.harness.io/ng/api/oidc/account/acc123",
        "sts.amazonaws.com",
        "x",
        now() - 3600,
    );
    let out = Step::harness(&sts)
        .set("PLUGIN_OIDC_TOKEN_ID", &expired)
        .run(&["--check"]);
    out.expect(3).assert_hides(&[&expired]);
    assert!(
        out.last_line().contains("the token expired 1h 0m ago")
            && out.last_line().contains("ExpiredTokenException"),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty());
}

#[test]
fn a_private_credentials_file_is_written_without_a_warning() {
    // The other side of the warning above (issue 13: survivors of make
    // mutants warned about every existing file).
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_REGION", "eu-west-1");
    std::fs::write(&step.secret_file, "").unwrap();
    chmod(&step.secret_file, 0o600);
    let out = step.run(&[]);
    out.expect(0);
    out.says_not("warning:");
    assert_eq!(step.secrets().lines().count(), 3);
}
