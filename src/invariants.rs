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
            if path.ends_with("tests.rs")
                || path.contains("/tests/")
                || path == "testing.rs"
                || path == "invariants.rs"
            {
                return None;
            }
            let text = match text.find("#[cfg(test)]\nmod tests {") {
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

/// Each room's floor, lowest first: a room uses only rooms on floors
/// below its own, so no import goes up or round a circle (issue 22). A new
/// room must be put on a floor here.
const FLOORS: &[&[&str]] = &[
    &["error", "json", "time", "partition", "signal"],
    &["secret", "claims"],
    &["log", "exec", "proxy", "response"],
    &["settings"],
    &["endpoint", "guard", "trust"],
    &["request", "output"],
    &["cache"],
    &["serve", "exchange"],
    &["check"],
    &["write", "command"],
    &["sets"],
    &["help"],
];

/// The rooms a source text names through `crate::` (`crate::a::b` and
/// `use crate::{a, b::c}`), by their first path segment.
fn rooms_named(code: &str) -> Vec<String> {
    let mut named = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let items = match rest.strip_prefix('{') {
            // The group up to its closing brace, nested ones included.
            Some(group) => {
                let (mut depth, mut end) = (1, group.len());
                for (i, c) in group.char_indices() {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                let mut top = Vec::new();
                let (mut depth, mut start) = (0, 0);
                for (i, c) in group[..end].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            top.push(&group[start..i]);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                top.push(&group[start..end]);
                top
            }
            None => vec![rest],
        };
        for item in items {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != "self" {
                named.push(name);
            }
        }
    }
    named
}

#[test]
fn every_room_uses_only_rooms_on_lower_floors() {
    let floor = |room: &str| FLOORS.iter().position(|f| f.contains(&room));
    let mut wrong = Vec::new();
    for (path, code) in code() {
        let room = path.split('/').next().unwrap_or("").trim_end_matches(".rs");
        if room == "lib" || room == "main" {
            continue;
        }
        let Some(own) = floor(room) else {
            wrong.push(format!("{room} is on no floor: add it to FLOORS"));
            continue;
        };
        for named in rooms_named(&code) {
            match floor(&named) {
                _ if named == room => {}
                Some(f) if f < own => {}
                Some(_) => wrong.push(format!("{path} uses {named}, on its floor or above")),
                None => wrong.push(format!(
                    "{path} uses crate::{named}, which is no room below it"
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports up or round: {wrong:#?}");
}

#[test]
fn a_group_import_names_each_room_it_holds() {
    assert_eq!(
        rooms_named("use crate::{a, b::{c, d}, e::f};\nlet x = crate::g::h(crate::i);"),
        ["a", "b", "e", "g", "i"]
    );
}

#[test]
fn each_setting_is_read_once() {
    let settings: String = code()
        .into_iter()
        .filter(|(path, _)| path.starts_with("settings/"))
        .map(|(_, c)| c)
        .collect();
    // The constant after each way of reading a setting's raw value.
    let mut reads = std::collections::BTreeMap::new();
    for how in [".get(&", ".parsed(&", ".boolean(&"] {
        for (at, _) in settings.match_indices(how) {
            let name: String = settings[at + how.len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            *reads.entry(name).or_insert(0) += 1;
        }
    }
    // Read twice, each for a reason: the format in two modes (one read a
    // run), the policy's raw text for the run's secrets before any rule
    // runs (§8), the timeout for a token command's deadline before the
    // settings (§14.3), the cache folder for a refreshable profile's own.
    let reasoned = ["FORMAT", "POLICY", "TIMEOUT", "CACHE_DIR"];
    let twice: Vec<_> = reads
        .iter()
        .filter(|(name, n)| **n > 1 && !reasoned.contains(&name.as_str()))
        .collect();
    assert!(twice.is_empty(), "read more than once: {twice:?}");
    // The roles, which the mask also needs, among them.
    for name in ["ROLE_ARN", "CHAIN_ROLE_ARN", "ROLES"] {
        assert_eq!(reads.get(name), Some(&1), "{name}");
    }
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
        if lines.len() > 600 {
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
            if j + 1 - i > 80 {
                long.push(format!("{path}: `{head}` is {} lines", j + 1 - i));
            }
            i = j + 1;
        }
    }
    assert!(long.is_empty(), "too long to read at once: {long:#?}");
}
