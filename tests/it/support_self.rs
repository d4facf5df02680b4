//! Self-tests of the test support: scratch folders, the stand-in process and
//! the loopback guard.

use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn scratch_folders_are_removed_pass_or_fail() {
    // A folder owned by a test that fails is removed as the panic unwinds.
    let left = std::panic::catch_unwind(|| {
        let dir = temp_dir("guard");
        write_file(&dir, "f", "x");
        std::panic::panic_any(dir.to_path_buf());
    })
    .expect_err("the closure panics");
    let left = left.downcast::<std::path::PathBuf>().expect("a path");
    assert!(!left.exists(), "{} was left behind", left.display());
    // Two folders with one tag are two folders.
    let (a, b) = (temp_dir("guard"), temp_dir("guard"));
    assert_ne!(a.path(), b.path());
    // The stand-in's CA folder and a step's output folder go with them.
    let sts = StandIn::start();
    let step = Step::harness(&sts);
    let (ca, out) = (sts.dir.to_path_buf(), step.dir.to_path_buf());
    assert!(sts.ca().is_file() && out.is_dir());
    drop(step);
    drop(sts);
    assert!(!ca.exists() && !out.exists(), "{ca:?} {out:?}");
}

#[test]
fn standin_process_removes_its_folder_when_its_stdin_closes() {
    use std::io::BufRead;
    use std::process::Stdio;
    // cargo builds the examples beside the test binaries' deps/ folder.
    let exe = std::env::current_exe().unwrap();
    let standin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/sts-standin");
    if !standin.exists() {
        eprintln!(
            "skipped: {} is not built (cargo test builds it; --test it alone does not)",
            standin.display()
        );
        return;
    }
    let mut child = Command::new(&standin)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ca = Path::new(line.split_whitespace().nth(1).expect("PORT CA")).to_path_buf();
    assert!(ca.is_file(), "{line}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(
        !ca.parent().unwrap().exists(),
        "{} was left behind",
        ca.display()
    );
}

#[test]
fn loopback_guard_leaves_no_route_beyond_loopback() {
    // Set by scripts/loopback-only.sh, which `make test-unit` runs the suite in.
    if std::env::var_os("AWS_OIDC_LOOPBACK_ONLY").is_none() {
        eprintln!("skipped: not under scripts/loopback-only.sh (make test-unit runs it)");
        return;
    }
    // A UDP connect only picks a route; it sends nothing. With no route, a
    // run that fell back to a default AWS endpoint would fail the same way.
    for (bind, to) in [
        ("0.0.0.0:0", "192.0.2.1:443"),
        ("[::]:0", "[2001:db8::1]:443"),
    ] {
        let sock = std::net::UdpSocket::bind(bind).unwrap();
        let e = sock.connect(to).expect_err("no route beyond loopback");
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::NetworkUnreachable,
            "{to}: {e}"
        );
    }
    assert!(std::net::TcpListener::bind("127.0.0.1:0").is_ok());
}
