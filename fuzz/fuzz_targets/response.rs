//! STS's answer: `response::decode` and `response::parse`, and everything
//! that shows a body to the user (`request::preview`) or writes its values
//! (`output::render`). Input: the body bytes, read as the client reads
//! them (UTF-8 only; lossy only for the preview). Beyond "no panic", it
//! asserts that no character outside STS's alphabet for a field is ever
//! accepted, and none outside the widest of them is ever rendered, in any
//! format.
#![no_main]

use std::collections::BTreeMap;
use std::io;

use aws_oidc::response::{self, Answer, Credentials};
use aws_oidc::settings::{self, Files, Inputs};
use aws_oidc::{output, request, time};
use libfuzzer_sys::fuzz_target;

/// The characters `preview` treats as part of a secret-looking run.
fn run_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=_.%-".contains(c)
}

/// Maximal runs of `run_char` characters.
fn runs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !run_char(c)).filter(|r| !r.is_empty())
}

fn check_preview(body: &str) {
    let p = request::preview(body);
    assert!(!p.chars().any(char::is_control), "preview has a control character: {p:?}");
    assert!(p.chars().count() <= 161, "preview is {} chars", p.chars().count());
    // No 20-char window of a secret-looking run in the body may show.
    for out_run in runs(&p) {
        if out_run.len() < 20 {
            continue;
        }
        for i in 0..=out_run.len() - 20 {
            let window = &out_run[i..i + 20];
            assert!(
                !runs(body).any(|r| r.contains(window)),
                "preview shows `{window}` from the body: {p:?}"
            );
        }
    }
}

/// The whole text (all text under it, comments skipped) of the first
/// element of each credential name in the answer's Credentials.
fn whole_texts(body: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(doc) = roxmltree::Document::parse(body) else { return out };
    let sts = |n: &roxmltree::Node, name: &str| {
        n.is_element()
            && n.tag_name().name() == name
            && matches!(n.tag_name().namespace(), None | Some(response::NS))
    };
    // `XResponse` holds `XResult` (AssumeRoleWithWebIdentity, AssumeRole).
    let root = doc.root_element();
    let result = format!("{}Result", root.tag_name().name().trim_end_matches("Response"));
    let creds = root
        .children()
        .find(|n| sts(n, &result))
        .and_then(|r| r.children().find(|n| sts(n, "Credentials")));
    for field in creds.iter().flat_map(|c| c.children()).filter(|n| n.is_element()) {
        let name = field.tag_name().name().to_string();
        if sts(&field, &name) && !out.contains_key(&name) {
            let text: String = field.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
            out.insert(name, text.trim().to_string());
        }
    }
    out
}

/// The root element's name, and how many `Credentials` and
/// `AssumedRoleUser` elements its result holds (STS namespace or none).
fn shape(body: &str) -> Option<(String, usize, usize)> {
    let doc = roxmltree::Document::parse(body).ok()?;
    let root = doc.root_element();
    let name = root.tag_name().name().to_string();
    let result = format!("{}Result", name.trim_end_matches("Response"));
    let sts = |n: &roxmltree::Node, want: &str| {
        n.is_element() && n.tag_name().name() == want && matches!(n.tag_name().namespace(), None | Some(response::NS))
    };
    let r = root.children().find(|n| sts(n, &result))?;
    let count = |want: &str| r.children().filter(|n| sts(n, want)).count();
    Some((name, count("Credentials"), count("AssumedRoleUser")))
}

fn trimmed_nonempty(what: &str, v: &str) {
    assert!(!v.is_empty() && v.trim() == v, "{what} is {v:?}");
}

struct NoFiles;

impl Files for NoFiles {
    fn read(&mut self, _: &str, _: u64) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
}

/// ARN characters as IAM documents them (names, `/` for paths, `:` between
/// parts), written here rather than taken from `response::arn_char`.
fn literal_arn_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "+=,.@_/:-".contains(ch)
}

/// Every accepted field is within its alphabet, whatever the body was.
fn check_alphabets(c: &Credentials) {
    let values = [
        Some(c.access_key_id.as_str()),
        Some(c.secret_access_key.expose()),
        Some(c.session_token.expose()),
        c.assumed_role_arn.as_deref(),
    ];
    // STS's alphabets written out here, not taken from `response`, so a
    // change to the parser's lists shows as a finding.
    let key_id = |ch: char| ch.is_ascii_uppercase() || ch.is_ascii_digit();
    let secret = |ch: char| ch.is_ascii_alphanumeric() || "+/=-_.".contains(ch);
    let alphabets: [(&str, &dyn Fn(char) -> bool); 4] =
        [("AccessKeyId", &key_id), ("SecretAccessKey", &secret), ("SessionToken", &secret), ("AssumedRoleUser/Arn", &literal_arn_char)];
    for ((field, char_ok), value) in alphabets.iter().zip(values) {
        if let Some(v) = value {
            assert!(v.chars().all(char_ok), "{field} accepted with a character outside its alphabet");
        }
    }
    assert!((16..=128).contains(&c.access_key_id.len()), "AccessKeyId length");
    assert!(
        c.expiration.chars().all(|ch| ch.is_ascii_digit() || "-:T.Z".contains(ch)),
        "Expiration {:?}",
        c.expiration
    );
}

/// Renders the credentials in every format, to stdout (so no file is
/// planned), with the variables appended: rendering never refuses what the
/// parser accepted, and no character outside the widest alphabet (plus the
/// formats' own syntax) is ever rendered.
fn check_rendered(c: &Credentials) {
    for format in ["dotenv", "shell", "json", "credential-process"] {
        let env: BTreeMap<String, String> = [
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
            ("PLUGIN_OIDC_TOKEN", "head.body.sig"),
            ("PLUGIN_OUTPUT_FILE", "-"),
            ("PLUGIN_OUTPUT_FORMAT", format),
            ("PLUGIN_REGION", "eu-west-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = settings::resolve(&Inputs { flags: vec![], env }, &mut NoFiles).settings.expect("valid settings");
        let plan = output::plan(&s).expect("stdout is a destination");
        let r = output::render(&plan, &s, c).unwrap_or_else(|e| panic!("{format}: an accepted answer was refused: {e}"));
        for line in r.creds.expose().lines() {
            let allowed = |v: &str| v.chars().all(literal_arn_char);
            let ok = match format {
                "dotenv" => line.split_once('=').is_some_and(|(_, v)| allowed(v)),
                "shell" => line
                    .strip_prefix("export ")
                    .and_then(|l| l.split_once("='"))
                    .and_then(|(_, v)| v.strip_suffix('\''))
                    .is_some_and(allowed),
                // JSON: its own syntax around key names and values.
                _ => line.chars().all(|ch| literal_arn_char(ch) || "{}\":".contains(ch)),
            };
            assert!(ok, "{format}: a character outside the allow-list was rendered");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    check_preview(&body);
    // Whatever the Content-Type says, text is the body's exact bytes.
    if let Ok(text) = response::decode(data, body.lines().next().unwrap_or_default()) {
        assert_eq!(text.as_bytes(), data);
    }
    for action in ["AssumeRoleWithWebIdentity", "AssumeRole", "GetCallerIdentity"] {
        check_answer(data, &body, action);
    }
});

/// What `parse` makes of the body as the answer to `action`: only that
/// action's answer (or an error), each element it holds once held once.
fn check_answer(data: &[u8], body: &str, action: &str) {
    let parsed = response::decode(data, "text/xml").and_then(|t| response::parse(t, action));
    if let Ok(Answer::Success(_) | Answer::Identity(_)) = &parsed {
        let (root, creds, users) = shape(body).expect("a success has its result");
        assert_eq!(root, format!("{action}Response"), "an answer to another call accepted");
        let identity = matches!(parsed, Ok(Answer::Identity(_)));
        assert_eq!(identity, action == "GetCallerIdentity");
        if !identity {
            assert_eq!(creds, 1, "Credentials {creds} times");
            assert!(users <= 1, "AssumedRoleUser {users} times");
        }
    }
    match parsed {
        Ok(Answer::Success(c)) => {
            // Any body that parses as credentials is known, from its bytes,
            // to carry them, so it is never previewed.
            assert!(response::carries_credentials(data), "a success body not seen as one");
            trimmed_nonempty("AccessKeyId", &c.access_key_id);
            trimmed_nonempty("SecretAccessKey", c.secret_access_key.expose());
            trimmed_nonempty("SessionToken", c.session_token.expose());
            trimmed_nonempty("Expiration", &c.expiration);
            assert_eq!(time::parse_utc(&c.expiration), Some(c.expires_at));
            // Each value is the element's whole text, never a piece of it.
            let whole = whole_texts(body);
            for (name, value) in [
                ("AccessKeyId", c.access_key_id.as_str()),
                ("SecretAccessKey", c.secret_access_key.expose()),
                ("SessionToken", c.session_token.expose()),
                ("Expiration", c.expiration.as_str()),
            ] {
                assert_eq!(whole.get(name).map(String::as_str), Some(value), "{name} is cut");
            }
            // The Debug form (what a stray `{:?}` would print) hides secrets.
            let dbg = format!("{c:?}");
            for secret in [c.secret_access_key.expose(), c.session_token.expose()] {
                if secret.len() >= 8 && !c.access_key_id.contains(secret) && !c.expiration.contains(secret) {
                    let others = [&c.assumed_role_arn, &c.subject, &c.audience, &c.provider, &c.request_id];
                    if !others.iter().any(|o| o.as_deref().is_some_and(|o| o.contains(secret))) {
                        assert!(!dbg.contains(secret), "Debug shows a secret: {dbg}");
                    }
                }
            }
            check_alphabets(&c);
            check_rendered(&c);
        }
        Ok(Answer::Error(e)) => {
            trimmed_nonempty("Error/Code", &e.code);
        }
        Ok(Answer::Identity(id)) => {
            // `--verify` quotes the Arn in its one-line error: only ARN
            // characters, never a control character.
            trimmed_nonempty("Arn", &id.arn);
            assert!(id.arn.chars().all(response::arn_char), "Arn outside the ARN alphabet");
            assert!(id.account.iter().all(|a| a.chars().all(response::arn_char)));
        }
        Err(m) => {
            let text = m.to_string();
            // It is quoted in a one-line error: no newline, no terminal escape.
            assert!(!text.contains(char::is_control), "Malformed has a control character: {text:?}");
        }
    }
}
