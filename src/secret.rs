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

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("eyJhbGciOi.super.secret");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "eyJhbGciOi.super.secret");
        assert_eq!(s.len(), 23);
    }
}
