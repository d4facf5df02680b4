//! The one error type. Every failure the user can see is a variant here, and
//! each variant's `Display` is one line that says what went wrong and what to
//! do about it.

use std::borrow::Cow;
use std::fmt;

/// Everything that can stop a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The command line is wrong: an unknown flag, a flag without its value,
    /// a stray argument.
    Usage(String),
    /// A setting failed its rule.
    Setting {
        /// The env variable or flag that was read (usually a static name,
        /// so no copy is made).
        source: Cow<'static, str>,
        /// What was wrong and what is accepted.
        problem: String,
    },
    /// Settings that are each valid but do not fit together (for example an
    /// endpoint together with FIPS).
    Conflict(String),
    /// STS answered with an `ErrorResponse` (boxed: it is the largest
    /// variant, and every `Result` carries the enum).
    Sts(Box<StsFailure>),
    /// No answer: connection refused, DNS, timeout, reset.
    Network(String),
    /// The TLS handshake failed, usually because the certificate is not
    /// trusted.
    Tls {
        /// The host whose handshake failed.
        host: String,
        /// What went wrong, and what to check.
        problem: String,
    },
    /// An answer came back but could not be understood.
    Response(String),
    /// The credentials could not be written where they were meant to go.
    Output(String),
    /// `--check` found what STS would refuse (a token whose `exp` has
    /// passed), so it exits as the refusal would.
    WouldBeRefused(String),
    /// The command to run (`-- COMMAND`) is not there: exit 127, as
    /// shells say.
    CommandNotFound(String),
    /// The command is there but cannot be run: exit 126, as shells say.
    CommandNotRunnable(String),
    /// This program's own fault: a request the HTTP client could not build
    /// or write (exit 1), never blamed on the server or the network.
    Internal(String),
}

/// What STS said when it refused, plus the hint worked out for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsFailure {
    /// The call refused, as messages name it: `AssumeRoleWithWebIdentity`,
    /// or with chaining the action, its hop and its role
    /// (`docs/reference.md` §11).
    pub action: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// `Error/Code`, for example `AccessDenied`.
    pub code: String,
    /// `Error/Message`.
    pub message: String,
    /// `RequestId`, when there was one.
    pub request_id: Option<String>,
    /// What to check, when there is something useful to say.
    pub hint: Option<String>,
}

impl Error {
    /// The process exit code for this error (`docs/reference.md` §7).
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Setting { .. } | Error::Conflict(_) => 2,
            Error::Sts(_) | Error::WouldBeRefused(_) => 3,
            Error::Network(_) | Error::Tls { .. } => 4,
            Error::Response(_) => 5,
            Error::Output(_) => 6,
            Error::CommandNotRunnable(_) => 126,
            Error::CommandNotFound(_) => 127,
            Error::Internal(_) => 1,
        }
    }

    /// Shorthand for a setting error.
    pub fn setting(source: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Error {
        Error::Setting {
            source: source.into(),
            problem: problem.into(),
        }
    }
}

/// A value as a message quotes it: control characters (a newline inside an
/// env value, a terminal escape) are written as escapes, so the message
/// stays one line and shows what was really there.
#[inline(never)]
pub fn shown(s: &str) -> String {
    // Every log line passes here: most hold no control character, whose
    // bytes are all under 0x20, 0x7f, or 0xc2 0x80..=0x9f in UTF-8.
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return s.to_string();
    }
    // One string grown in place: a String per character cost a thousand
    // allocations for a token (the request's scrubber escapes it too).
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out
}

/// A value as a setting's error quotes it: in backticks, control
/// characters escaped; but a JWT-shaped value is a token pasted into the
/// wrong setting, and is described by its length instead.
// Called from every rule: one copy, not one per call site.
#[inline(never)]
pub fn quoted(s: &str) -> String {
    match a_jwt(s) {
        true => format!("a JWT-shaped value ({} chars, not shown)", s.len()),
        false => format!("`{}`", shown(s)),
    }
}

/// A word as a message shows it (a command's name): control characters
/// escaped, but a JWT-shaped one (a token pasted where a command belongs)
/// described by its length instead.
pub fn word(s: &str) -> String {
    match a_jwt(s) {
        true => format!("<a JWT-shaped value, {} chars, not shown>", s.len()),
        false => shown(s),
    }
}

/// The text with every JWT-shaped run in it (`eyJ…` and two more
/// base64url parts, joined by dots) replaced: for lines another program
/// wrote, which may quote a token aws-oidc has not read.
pub fn without_jwts(text: &str) -> String {
    let is_part =
        |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=' || c == '.';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let run_len = rest[at..]
            .find(|c: char| !is_part(c))
            .unwrap_or(rest.len() - at);
        let run = &rest[at..at + run_len];
        out.push_str(&rest[..at]);
        match jwt_shaped(run.trim_end_matches('.')) {
            true => out.push_str("<redacted JWT>"),
            false => out.push_str(run),
        }
        rest = &rest[at + run_len..];
        if run_len == 0 {
            break;
        }
    }
    out.push_str(rest);
    out
}

/// Whether a text is a JWT: shaped like one, and starting as a JSON
/// header's base64url does (`eyJ`), so a host name such as
/// `sts.example.com` is not taken for one.
pub fn a_jwt(text: &str) -> bool {
    text.starts_with("ey") && jwt_shaped(text)
}

/// Whether a text is shaped like a JWT: three base64url parts joined by dots.
pub fn jwt_shaped(text: &str) -> bool {
    let base64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    text.split('.').count() == 3 && text.split('.').all(base64url)
}

impl fmt::Display for Error {
    /// Every message is one line: whatever a variant quotes, control
    /// characters in it are escaped here, once for all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(&self.message()))
    }
}

impl Error {
    /// The message before escaping.
    fn message(&self) -> String {
        let mut f = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_message(&mut f);
        f
    }

    fn write_message(&self, f: &mut String) -> fmt::Result {
        use fmt::Write;
        match self {
            Error::Usage(msg) => write!(f, "{msg} (see aws-oidc --help)"),
            Error::Setting { source, problem } => write!(f, "{source}: {problem}"),
            Error::Conflict(msg) => f.write_str(msg),
            Error::Sts(s) => {
                // A 5xx is an outage, not a refusal.
                let verb = if s.status >= 500 { "failed" } else { "refused" };
                write!(
                    f,
                    "STS {verb} {} (HTTP {}): {}: {}",
                    s.action, s.status, s.code, s.message
                )?;
                if let Some(id) = &s.request_id {
                    write!(f, " (RequestId {id})")?;
                }
                if let Some(hint) = &s.hint {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            Error::Network(msg) => f.write_str(msg),
            Error::Tls { host, problem } => write!(
                f,
                "TLS to {host} failed: {problem}; if a proxy or private CA re-signs traffic, \
                 set PLUGIN_CA_BUNDLE (or AWS_CA_BUNDLE, --ca-bundle) to a PEM file holding its CA"
            ),
            Error::Response(msg) => f.write_str(msg),
            Error::Output(msg) => f.write_str(msg),
            Error::WouldBeRefused(msg)
            | Error::CommandNotFound(msg)
            | Error::CommandNotRunnable(msg)
            | Error::Internal(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

/// A short reason for an I/O error, without the "(os error N)" tail.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        // Messages are lower-case fragments: "Broken pipe" reads
        // "broken pipe" (ASCII only; the OS text is English).
        _ => {
            let s = e.to_string();
            let mut s = s.split(" (os error").next().unwrap_or(&s).to_string();
            if let Some(first) = s.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            s
        }
    }
}

#[cfg(test)]
mod jwt_tests {
    use super::{without_jwts, word};

    #[test]
    fn jwt_shaped_runs_are_replaced_and_nothing_else() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(
            without_jwts(&format!("error: token {jwt} rejected; `{jwt}`.")),
            "error: token <redacted JWT> rejected; `<redacted JWT>`."
        );
        assert_eq!(
            without_jwts("eyJ alone, eyJa.b and a.b.c stay"),
            "eyJ alone, eyJa.b and a.b.c stay"
        );
        assert_eq!(without_jwts(""), "");
        assert_eq!(
            word(jwt),
            format!("<a JWT-shaped value, {} chars, not shown>", jwt.len())
        );
        assert_eq!(word("aws"), "aws");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_character_alone_is_escaped() {
        // Alone, so no other byte sends the text past the quick check.
        for (text, shows) in [
            ("\u{1}", "\\u{1}"),
            ("\u{1f}", "\\u{1f}"),
            ("\u{7f}", "\\u{7f}"),
            ("\u{85}", "\\u{85}"),
        ] {
            assert_eq!(shown(text), shows);
        }
        assert_eq!(shown(" ~é"), " ~é");
    }

    #[test]
    fn permission_denied_reads_the_same_on_every_os() {
        // Windows says "Access is denied." where Linux says "Permission
        // denied": the kind, not the OS's words.
        let e = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Access is denied.");
        assert_eq!(io_reason(&e), "permission denied");
        let e = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "The system cannot find the file specified.",
        );
        assert_eq!(io_reason(&e), "no such file");
    }

    #[test]
    fn exit_codes_follow_the_reference() {
        let sts = Error::Sts(Box::new(StsFailure {
            action: "AssumeRoleWithWebIdentity".into(),
            status: 403,
            code: "AccessDenied".into(),
            message: "no".into(),
            request_id: Some("r-1".into()),
            hint: None,
        }));
        let cases = [
            (Error::Usage("x".into()), 2),
            (Error::setting("PLUGIN_REGION", "x"), 2),
            (Error::Conflict("x".into()), 2),
            (sts.clone(), 3),
            (Error::Network("x".into()), 4),
            (
                Error::Tls {
                    host: "h".into(),
                    problem: "p".into(),
                },
                4,
            ),
            (Error::Response("x".into()), 5),
            (Error::Output("x".into()), 6),
            (Error::WouldBeRefused("x".into()), 3),
            (Error::CommandNotRunnable("x".into()), 126),
            (Error::CommandNotFound("x".into()), 127),
            (Error::Internal("x".into()), 1),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err}");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
        assert_eq!(
            sts.to_string(),
            "STS refused AssumeRoleWithWebIdentity (HTTP 403): AccessDenied: no (RequestId r-1)"
        );
    }

    #[test]
    #[cfg(unix)]
    fn io_reasons_are_lower_case_without_the_os_error_tail() {
        for (errno, want) in [
            (32, "broken pipe"),
            (28, "no space left on device"),
            (20, "not a directory"),
        ] {
            assert_eq!(io_reason(&std::io::Error::from_raw_os_error(errno)), want);
        }
    }

    #[test]
    fn shown_escapes_every_control_character_and_nothing_else() {
        assert_eq!(shown("plain ASCII, é, ©"), "plain ASCII, é, ©");
        // Each kind alone, so no other one takes the escaping path for it.
        assert_eq!(shown("d\u{85}e"), "d\\u{85}e");
        assert_eq!(shown("d\u{7f}e"), "d\\u{7f}e");
        assert_eq!(shown("d\u{1}e"), "d\\u{1}e");
        assert_eq!(
            shown("a\nb\u{1b}c\u{7f}d\u{85}e\u{9f}f©"),
            "a\\nb\\u{1b}c\\u{7f}d\\u{85}e\\u{9f}f©"
        );
    }
}
