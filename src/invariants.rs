//! The invariants ARCHITECTURE.md states as absences, checked on the
//! source text: where a call may appear at all. Comments and test code are
//! left out.

use crate::testing::sources;

/// Every non-test source file, as `(path under src/, code)`: comments,
/// unit-test files and `mod tests` blocks removed.
fn code() -> Vec<(String, String)> {
    sources()
        .into_iter()
        .filter_map(|(path, text)| {
            let path = path.split("/src/").last()?.to_string();
            if path.ends_with("tests.rs") || path == "testing.rs" || path == "invariants.rs" {
                return None;
            }
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => &text[..at],
                None => &text[..],
            };
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            Some((path, code.join("\n")))
        })
        .collect()
}

/// The files holding any of `needles`.
fn holding(needles: &[&str]) -> Vec<String> {
    let mut files: Vec<String> = code()
        .into_iter()
        .filter(|(_, text)| needles.iter().any(|n| text.contains(n)))
        .map(|(path, _)| path)
        .collect();
    files.sort();
    files
}

#[test]
fn only_main_reads_the_environment_and_arguments() {
    assert_eq!(
        holding(&["std::env::", "env::var", "env::args"]),
        ["main.rs"]
    );
}

#[test]
fn only_exec_starts_processes() {
    assert_eq!(holding(&["process::Command", "Command::new"]), ["exec.rs"]);
}

#[test]
fn only_output_writes_files() {
    let writes = [
        ".append(true)",
        ".write(true)",
        "create_new(",
        "File::create",
        "fs::write",
        "set_len(",
        "remove_file(",
        "CreateFileW",
        "openat(",
        "renameat(",
        "fs::rename(",
        "DirBuilder",
    ];
    // The outputs, and the credential cache's own folder.
    for path in holding(&writes) {
        assert!(
            path.starts_with("output/") || path.starts_with("cache/"),
            "{path} writes files"
        );
    }
    assert!(holding(&writes).contains(&"cache/folder.rs".to_string()));
}

#[test]
fn only_request_calls_out_and_only_serve_listens() {
    let client = ["ureq::Agent", ".send_form(", ".post(", "Resolver for"];
    assert_eq!(holding(&client), ["request/agent.rs", "request/mod.rs"]);
    // The credential endpoint of --serve, on 127.0.0.1 only; it connects
    // only to itself, to wake its own listener.
    assert_eq!(holding(&["TcpListener"]), ["serve.rs"]);
    assert_eq!(holding(&["TcpStream"]), ["serve.rs"]);
}

#[test]
fn no_module_calls_back_upstream() {
    // Downstream of settings, these know nothing of it.
    let pure = [
        "claims.rs",
        "request/diagnose.rs",
        "error.rs",
        "json.rs",
        "log.rs",
        "partition.rs",
        "proxy.rs",
        "response.rs",
        "request/retry.rs",
        "secret.rs",
        "time.rs",
    ];
    for path in holding(&["crate::settings", "settings::"]) {
        assert!(
            !pure.contains(&path.as_str()),
            "{path} knows about settings"
        );
    }
    // Output does not know about HTTP, nor settings about output.
    for path in holding(&["ureq", "crate::request"]) {
        assert!(!path.starts_with("output/"), "{path} knows about HTTP");
    }
    for path in holding(&["crate::output", "crate::request", "crate::response"]) {
        assert!(!path.starts_with("settings/"), "{path} reaches downstream");
    }
}

#[test]
fn only_log_and_run_print() {
    let prints = [
        "println!",
        "eprintln!",
        "print!(",
        "io::stdout()",
        "io::stderr()",
    ];
    assert_eq!(holding(&prints), ["lib.rs", "log.rs"]);
}

/// The sizes ARCHITECTURE.md promises a newcomer: no source file over 650
/// lines of non-test code, and no function over 100 lines (counted from its
/// `fn` line to its closing brace, comments left out).
#[test]
fn files_and_functions_stay_small_enough_to_read() {
    let mut long = Vec::new();
    for (path, code) in code() {
        let lines: Vec<&str> = code.lines().collect();
        if lines.len() > 650 {
            long.push(format!("{path}: {} lines", lines.len()));
        }
        let mut i = 0;
        while i < lines.len() {
            let head = lines[i].trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "unsafe fn ",
                "pub unsafe fn ",
            ]
            .iter()
            .any(|p| head.starts_with(p));
            if !is_fn || head.ends_with(';') {
                i += 1;
                continue;
            }
            let (mut depth, mut opened, mut j) = (0i64, false, i);
            while j < lines.len() {
                depth += lines[j].matches('{').count() as i64;
                depth -= lines[j].matches('}').count() as i64;
                opened |= lines[j].contains('{');
                if opened && depth <= 0 {
                    break;
                }
                j += 1;
            }
            if j + 1 - i > 100 {
                long.push(format!("{path}: `{head}` is {} lines", j + 1 - i));
            }
            i = j + 1;
        }
    }
    assert!(long.is_empty(), "too long to read at once: {long:#?}");
}
