//! A value that must never reach a log line, an error message or stdout by
//! accident.

use std::fmt;

/// A secret string: the OIDC token, the secret access key, the session token
/// or the session policy text.
///
/// `Debug` and `Display` both print `<redacted>`, so no format string can leak
/// the value. The only way to the text is [`Secret::expose`], which is called
/// where the value is sent to STS or written to an output the user chose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the request body and the output files only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in characters, which is safe to log.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A URL as it may be shown: everything between `://` (or the start, when
/// there is no valid scheme) and the last `@` is `***:***`, whatever the URL's
/// shape. A user or password may hold an unencoded `/`, `?`, `#` or `:`, so
/// no parser's idea of the authority is trusted here; only the last `@` is.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let prefix = scheme.map_or(String::new(), |s| format!("{s}://"));
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{prefix}***:***@{host}"),
        None => url.to_string(),
    }
}

/// The scheme and the rest, when the URL starts with a valid scheme
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`) and `://`. In
/// `ci:pa://PASS@host:9` the text before `://` is not a scheme but a user
/// and the start of a password.
pub fn split_scheme(url: &str) -> (Option<&str>, &str) {
    match url.split_once("://") {
        Some((scheme, rest))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (Some(scheme), rest)
        }
        _ => (None, url),
    }
}

/// The user and password of a URL, as written (between the scheme and the
/// last `@`), when it has any.
pub fn userinfo(url: &str) -> Option<&str> {
    split_scheme(url).1.rsplit_once('@').map(|(u, _)| u)
}

/// Removes secrets from text that came from the network (a body preview,
/// STS's `Message`, a header, a protocol error) before it is shown.
///
/// Built once per run from the secrets the request carries. It removes
/// every run of [`Scrubber::RUN`] or more bytes shared with a secret (so a
/// secret quoted whole or in part), and every whole occurrence of a shorter
/// secret, both in the text as it is and with percent-encoding (`%XX`, `+`
/// for space) and the HTML entities a page quoting the request would use
/// undone. Each removed stretch becomes `<redacted>`.
pub struct Scrubber {
    /// Every `RUN`-byte window of every secret of at least `RUN` bytes, as
    /// a number ([`window`]), sorted. A set of byte vectors cost an
    /// allocation and a byte-wise compare per window: more CPU than the
    /// TLS handshake's key exchange, for a token of 1 KB.
    windows: Vec<u128>,
    /// Secrets shorter than `RUN`, matched whole.
    short: Vec<Vec<u8>>,
}

impl Scrubber {
    /// The shortest shared run that is removed.
    pub const RUN: usize = 12;

    /// A scrubber for these secrets (empty ones are ignored). Each is also
    /// taken percent-decoded, since a proxy password is written encoded,
    /// and with its whitespace collapsed as [`Scrubber::heard`] does.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        Scrubber::build(&mut secrets.into_iter(), Self::RUN)
    }

    /// A scrubber that removes only whole secrets (as written, encoded or
    /// escaped), never a shared run: for the program's own lines, where a
    /// role or policy ARN that a policy also names must stay readable
    /// (`docs/reference.md` §8).
    ///
    /// Secrets under 4 characters (a token that short is refused anyway)
    /// are left out: removing every `a` or `ab` would garble the very line
    /// that says what is wrong.
    pub fn whole<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut long = secrets.into_iter().filter(|s| s.chars().count() >= 4);
        Scrubber::build(&mut long, usize::MAX)
    }

    #[inline(never)]
    fn build(secrets: &mut dyn Iterator<Item = &str>, run: usize) -> Scrubber {
        let mut scrubber = Scrubber {
            windows: Default::default(),
            short: Vec::new(),
        };
        for secret in secrets {
            let raw = secret.as_bytes().to_vec();
            let plain = decode(&raw, true).0;
            let collapsed = one_line(secret).into_bytes();
            // As an error message quotes it: control characters escaped.
            let escaped = crate::error::shown(secret).into_bytes();
            let forms = [raw, plain, collapsed, escaped];
            for (i, s) in forms.iter().enumerate() {
                // Most secrets read the same in every form: each once.
                if forms[..i].contains(s) {
                    continue;
                }
                if s.len() >= run {
                    scrubber.windows.extend(s.windows(Self::RUN).map(window));
                } else if !s.is_empty() && !scrubber.short.contains(s) {
                    scrubber.short.push(s.clone());
                }
            }
        }
        scrubber.windows.sort_unstable();
        scrubber.windows.dedup();
        scrubber
    }

    /// Text from the network as it may be shown: on one line (whitespace
    /// runs are one space), then scrubbed, so that collapsing cannot join
    /// the pieces of a secret again.
    pub fn heard(&self, text: &str) -> String {
        self.scrub(&one_line(text))
    }

    /// The text with every secret-bearing stretch replaced by `<redacted>`.
    // One copy, shared by the log and the network text (size, not speed).
    #[inline(never)]
    pub fn scrub(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut hit = vec![false; bytes.len()];
        // As written, then with escapes undone, if it has any (every log
        // line passes here: most have none); each decoded byte knows the
        // stretch of text it came from.
        let escaped = bytes.iter().any(|b| b"%+&".contains(b));
        let decoded = escaped.then(|| decode(bytes, true));
        let as_written = Some((bytes, None));
        let undone = decoded.as_ref().map(|(p, spans)| (&p[..], Some(spans)));
        for (hay, spans) in [as_written, undone].into_iter().flatten() {
            let mut mark = |at: usize, len: usize| {
                let (from, to) = spans.map_or((at, at + len), |s| (s[at].0, s[at + len - 1].1));
                hit[from..to].fill(true);
            };
            for (i, w) in hay.windows(Self::RUN).enumerate() {
                if self.windows.binary_search(&window(w)).is_ok() {
                    mark(i, Self::RUN);
                }
            }
            for s in &self.short {
                for (i, w) in hay.windows(s.len()).enumerate() {
                    if w == &s[..] {
                        mark(i, s.len());
                    }
                }
            }
        }
        if !hit.contains(&true) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut in_hit = false;
        for (i, c) in text.char_indices() {
            if hit[i..i + c.len_utf8()].contains(&true) {
                if !in_hit {
                    out.push_str("<redacted>");
                }
                in_hit = true;
            } else {
                out.push(c);
                in_hit = false;
            }
        }
        out
    }
}

/// A window of [`Scrubber::RUN`] bytes as one number (the bytes in order,
/// so two windows are equal exactly when their numbers are).
fn window(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0, |n, &b| n << 8 | u128::from(b))
}

/// Every secret a run knows, for a [`Scrubber`]: the token, the policy,
/// and the proxy's user and password (also as the `Proxy-Authorization`
/// value that carries them).
pub fn run_secrets(token: Option<&str>, policy: Option<&str>, proxy: Option<&str>) -> Vec<String> {
    use base64::Engine;
    let mut secrets: Vec<String> = token.into_iter().chain(policy).map(String::from).collect();
    if let Some(user) = proxy.and_then(userinfo) {
        let basic = base64::engine::general_purpose::STANDARD.encode(percent_decoded(user));
        secrets.extend([user.to_string(), basic]);
        secrets.extend(user.split_once(':').map(|(_, pw)| pw.to_string()));
    }
    secrets
}

/// The text with each run of whitespace (newlines included) one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text with `%XX` escapes undone, as a URL's user and password are
/// read.
pub fn percent_decoded(text: &str) -> Vec<u8> {
    decode(text.as_bytes(), false).0
}

/// Undoes `%XX` and, with `form`, `+` and the HTML entities for `"`, `&`,
/// `<`, `>` and `'`. Returns the bytes and, for each, the stretch of input
/// it came from.
fn decode(text: &[u8], form: bool) -> (Vec<u8>, Vec<(usize, usize)>) {
    const ENTITIES: &[(&[u8], u8)] = &[
        (b"&quot;", b'"'),
        (b"&#34;", b'"'),
        (b"&amp;", b'&'),
        (b"&lt;", b'<'),
        (b"&gt;", b'>'),
        (b"&#39;", b'\''),
        (b"&apos;", b'\''),
    ];
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    let mut spans = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let (byte, used) = match text[i] {
            b'%' => match (
                text.get(i + 1).and_then(|b| hex(*b)),
                text.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => ((h * 16 + l) as u8, 3),
                _ => (b'%', 1),
            },
            b'+' if form => (b' ', 1),
            b'&' if form => ENTITIES
                .iter()
                .find(|(e, _)| text[i..].starts_with(e))
                .map_or((b'&', 1), |(e, b)| (*b, e.len())),
            b => (b, 1),
        };
        out.push(byte);
        spans.push((i, i + used));
        i += used;
    }
    (out, spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("eyJhbGciOi.super.secret");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "eyJhbGciOi.super.secret");
        assert_eq!(s.len(), 23);
        assert!(!s.is_empty());
        assert!(Secret::new("").is_empty());
    }

    #[test]
    fn a_proxy_s_secrets_are_its_userinfo_as_written_and_as_basic_auth() {
        use base64::Engine;
        let basic = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // As written, and as the Basic value (%XX undone; a '+' and an
        // entity are the password's own text). The scrubber decodes the
        // written forms itself.
        let secrets = run_secrets(None, None, Some("http://us%3Aer:a+b%40c&amp;@proxy:3128"));
        assert_eq!(
            secrets,
            [
                "us%3Aer:a+b%40c&amp;".to_string(),
                basic("us:er:a+b@c&amp;"),
                "a+b%40c&amp;".to_string()
            ]
        );
    }

    #[test]
    fn form_encoding_is_undone_before_scrubbing() {
        // A policy in a traced form body: spaces as '+', '&' as an entity
        // in an XML echo.
        let s = Scrubber::whole(["a policy with spaces & more"]);
        assert_eq!(
            s.scrub("Policy=a+policy+with+spaces+%26+more"),
            "Policy=<redacted>"
        );
        assert_eq!(
            s.scrub("<P>a policy with spaces &amp; more</P>"),
            "<P><redacted></P>"
        );
    }

    #[test]
    fn an_empty_secret_scrubs_nothing() {
        // A proxy URL with an empty password gives one: it must not match
        // everywhere (nor panic as a zero-width pattern).
        let s = Scrubber::new(["", "pw"]);
        assert_eq!(s.scrub("a pw b"), "a <redacted> b");
        assert_eq!(s.scrub("plain"), "plain");
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_what_comes_before_the_last_at() {
        let rows = [
            ("https://u:PASSWORD@host/", "https://***:***@host/"),
            ("http://svc:pa/ss@proxy:3128", "http://***:***@proxy:3128"),
            (
                "http://svc:pa?s#s@proxy:3128/x",
                "http://***:***@proxy:3128/x",
            ),
            ("http://a@b@proxy:1", "http://***:***@proxy:1"),
            ("ci:pa://PASS@host:9", "***:***@host:9"),
            ("user:pw@proxy:3128", "***:***@proxy:3128"),
            ("https://sts.amazonaws.com/", "https://sts.amazonaws.com/"),
            ("proxy:3128", "proxy:3128"),
        ];
        for (url, want) in rows {
            assert_eq!(mask_url(url), want, "{url}");
        }
        assert_eq!(userinfo("ci:pa://PASS@host:9"), Some("ci:pa://PASS"));
        assert_eq!(userinfo("http://h:1"), None);
        assert_eq!(split_scheme("ci:pa://x"), (None, "ci:pa://x"));
        assert_eq!(split_scheme("HTTP://x"), (Some("HTTP"), "x"));
    }

    #[test]
    fn the_scrubber_removes_secrets_whole_in_part_and_encoded() {
        let token = "opaque:SIG:abc!def";
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::my-bucket/*"}]}"#;
        let s = Scrubber::new([token, policy, "pw"]);
        let rows: &[(&str, &str)] = &[
            ("token opaque:SIG:abc!def here", "token <redacted> here"),
            (
                "token opaque%3ASIG%3Aabc%21def here",
                "token <redacted> here",
            ),
            ("lower opaque%3aSIG%3aabc%21def", "lower <redacted>"),
            (
                "other case opaque%3asig%3aabc%21def",
                "other case opaque%3asig%3aabc%21def",
            ),
            ("half: opaque:SIG:ab", "half: <redacted>"),
            ("short opaque:SIG", "short opaque:SIG"),
            ("pass pw and upw", "pass <redacted> and u<redacted>"),
        ];
        for (text, want) in rows {
            assert_eq!(s.scrub(text), *want, "{text}");
        }
        let encoded: String = policy
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let html = policy.replace('"', "&quot;");
        for quoted in [
            policy.to_string(),
            encoded,
            html,
            policy[40..90].to_string(),
        ] {
            let out = s.scrub(&format!("<p>Policy={quoted}&amp;x</p>"));
            assert!(out.starts_with("<p>Policy=<redacted>"), "{out}");
            for w in policy.as_bytes().windows(Scrubber::RUN) {
                assert!(!out.contains(std::str::from_utf8(w).unwrap()), "{out}");
            }
        }
        assert_eq!(s.scrub("héllo wörld"), "héllo wörld");
        assert_eq!(
            Scrubber::new(["é2345678901ü"]).scrub("aé2345678901üb"),
            "a<redacted>b"
        );
    }
}
