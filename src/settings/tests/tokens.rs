//! The token: its spellings and sources, and the problems a token can have,
//! named without showing it.

use super::*;

#[test]
fn token_spellings_and_precedence() {
    for name in TOKEN.envs {
        assert_eq!(
            ok(&[("AWS_ROLE_ARN", ARN), (name, " abcd \n")], &[])
                .token
                .expose(),
            "abcd"
        );
    }
    let env = [
        ("AWS_ROLE_ARN", ARN),
        ("PLUGIN_OIDC_TOKEN_ID", "from-env"),
        ("PLUGIN_OIDC_TOKEN", "later-env"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
    ];
    let mut files = OneFile("/t", "from-file\n");
    let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-env");
    let s = resolve(&inputs(&env, &["--token-file", "/t"]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-file");
    let s = resolve(
        &inputs(&env, &["--token-file=/t", "--token", "flag"]),
        &mut files,
    )
    .unwrap();
    assert_eq!(s.token.expose(), "flag");
    let env = [("AWS_ROLE_ARN", ARN), ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")];
    let s = resolve(&inputs(&env, &[]), &mut files).unwrap();
    assert_eq!(s.token.expose(), "from-file");
    assert_eq!(s.token.source, Source::Env("AWS_WEB_IDENTITY_TOKEN_FILE"));
    assert_eq!(s.token_file.as_deref(), Some("/t"));
    assert!(s.token_from().starts_with("AWS_WEB_IDENTITY_TOKEN_FILE"));
}

#[test]
fn token_problems_name_the_source_and_never_the_token() {
    let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abc")], &[]);
    assert_eq!(
        e,
        "PLUGIN_OIDC_TOKEN: the token is 3 chars; STS accepts 4-20000"
    );
    let long = "x".repeat(20001);
    let e = err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", &long)], &[]);
    assert!(!e.contains("xxxx"), "{e}");
    let e = err(
        &[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_FILE", "/nope")],
        &[],
    );
    assert_eq!(
        e,
        "PLUGIN_OIDC_TOKEN_FILE: cannot read /nope: no such file; check the path and that this step can read it"
    );
    let mut files = OneFile("/empty", " \n");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/empty"]),
        &mut files,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--token-file: /empty is empty; it should hold the OIDC token"
    );
    assert!(err(&[("AWS_ROLE_ARN", ARN)], &[]).contains("no OIDC token is set"));
    assert!(err(&[("PLUGIN_OIDC_TOKEN", "abcd")], &[]).contains("no role ARN is set"));
}

#[test]
fn a_token_is_one_line_of_printable_ascii() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let check = |token: &str, want: Option<&str>| {
        let got = token_problem(token);
        assert_eq!(got.as_deref(), want, "{token:?}");
        if let Some(problem) = got {
            assert!(!problem.contains("eyJ"), "{problem}");
        }
    };
    check(jwt, None);
    check("opaque:SIG:abc!def~", None);
    check("!~", None);
    check(
        "a\nb",
        Some("spans more than one line; it should hold the token alone, on one line"),
    );
    check(
        "a\rb",
        Some("spans more than one line; it should hold the token alone, on one line"),
    );
    check(
        "ab c",
        Some("holds whitespace at character 3; it should hold the token alone, on one line"),
    );
    check(
        "a\tb",
        Some("holds whitespace at character 2; it should hold the token alone, on one line"),
    );
    check("a\0b", Some("holds control character U+0000 at character 2; it should hold the token alone, as text"));
    check("a\u{7f}", Some("holds control character U+007F at character 2; it should hold the token alone, as text"));
    check(
        "aé",
        Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
    );
    check(
        "a\u{a0}b",
        Some("holds a non-ASCII character at character 2; OIDC tokens are printable ASCII"),
    );
    // Through resolve: env, flag and file alike; trimmed first.
    let env = |v: &str| err(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", v)], &[]);
    assert_eq!(
        env(&format!("{jwt}\n{jwt}")),
        "PLUGIN_OIDC_TOKEN: the token spans more than one line; it should hold the token alone, on one line"
    );
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token", "ab\u{1}cd"]),
        &mut NoFiles,
    )
    .unwrap_err();
    assert_eq!(e.code(), 2);
    assert!(
        e.to_string()
            .starts_with("--token: the token holds control character U+0001"),
        "{e}"
    );
    let mut files = OneFile("/t", "\t eyJh.eyJz.c2ln\r\n");
    let s = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
        &mut files,
    )
    .unwrap();
    assert_eq!(s.token.expose(), "eyJh.eyJz.c2ln");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let mut files = OneFile("/t", "eyJh.eyJz.c2ln\nsecond\n");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "/t"]),
        &mut files,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "--token-file: the token in /t spans more than one line; it should hold the token alone, on one line");
    let mut files = OneFile("-", "a.b.c d");
    let e = resolve(
        &inputs(&[("AWS_ROLE_ARN", ARN)], &["--token-file", "-"]),
        &mut files,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("--token-file: the token on stdin holds whitespace at character 6"),
        "{e}"
    );
}

#[test]
fn an_opaque_token_is_sent_with_a_warning() {
    for (token, jwt) in [
        ("eyJh.eyJz.c2ln", true),
        ("a-_=.b.c", true),
        ("opaque:SIG:abc!def", false),
        ("ab.cd", false),
        ("a.b.c.d", false),
        ("a..c", false),
        ("a.b+.c", false),
    ] {
        let s = ok(&[("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", token)], &[]);
        assert_eq!(s.token.expose(), token);
        match jwt {
            true => assert!(s.warnings.is_empty(), "{token}: {:?}", s.warnings),
            false => {
                assert_eq!(s.warnings.len(), 1, "{token}");
                assert!(s.warnings[0].starts_with(
                    "PLUGIN_OIDC_TOKEN: the token is not a JWT (three base64url parts joined by dots); it is sent as is"
                ));
                assert!(!s.warnings[0].contains(token));
            }
        }
    }
}

/// A token pasted as the session name with a character outside the
/// alphabet is JWT-shaped only after that character becomes `-`: it is
/// refused all the same, never sent (and so never recorded in CloudTrail or
/// in the assumed-role ARN written out). Found by the settings fuzz target.
#[test]
fn a_token_that_becomes_jwt_shaped_when_cleaned_is_not_a_session_name() {
    for input in [
        "eyJhbGciOiJSUzI1NiJ9.eyJzé0iOiJ4In0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.eyJz/OiJ4In0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9 .eyJzOiJ4In0.c2ln",
    ] {
        let e = sanitize_session_name(input).unwrap_err();
        assert!(e.contains("is not a session name"), "{input}: {e}");
        assert!(!e.contains("eyJz"), "{input}: {e}");
    }
    // A name that is no token stays a name, whatever it is cleaned into.
    assert_eq!(
        sanitize_session_name("run.7 of.x").unwrap(),
        ("run.7-of.x".to_string(), true)
    );
}

/// A token file of `.0` bytes, read as a disk file is: at most the limit
/// asked for.
struct SizedFile(usize);

impl Files for SizedFile {
    fn read(&mut self, _: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        Ok(vec![b'a'; self.0.min(limit as usize)])
    }
}

/// A token file path that is a token is refused unread; a file over the
/// 1 MiB limit is refused for its size, one at it is read (and then held to
/// the token's own rules) (mutation testing, issue 13).
#[test]
fn token_files_by_their_name_and_size() {
    let with_file = |path: &str, size: usize| {
        let env = [("AWS_ROLE_ARN", ARN), ("AWS_WEB_IDENTITY_TOKEN_FILE", path)];
        resolve(&inputs(&env, &[]), &mut SizedFile(size))
            .unwrap_err()
            .to_string()
    };
    let as_token = "looks like a token, not a file path";
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert!(with_file(jwt, 0).contains(as_token));
    assert!(with_file(&"a".repeat(129), 0).contains(as_token));
    assert!(!with_file(&"a".repeat(128), 0).contains(as_token));
    let larger = "/t is larger than 1048576 bytes";
    assert!(with_file("/t", (1 << 20) + 1).contains(larger));
    let at_limit = with_file("/t", 1 << 20);
    assert!(!at_limit.contains(larger), "{at_limit}");
}
