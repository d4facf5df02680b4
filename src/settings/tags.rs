//! Session tags and the source identity (`docs/reference.md` §11.6): sent
//! on every chained `AssumeRole`, never on the first hop (whose tags come
//! from the token's claims), and held to what STS accepts before any
//! request, so that STS never has to refuse them.

use super::defs::{SOURCE_IDENTITY, TAGS, TRANSITIVE_TAG_KEYS};
use super::rules::split_list;
use super::{Inputs, Source, Sourced};
use crate::error::{quoted, Error};
use crate::secret::Secret;

/// The most session tags, and transitive tag keys, STS takes in one call.
pub const MAX_TAGS: usize = 50;

/// What the chained hops send besides the role: session tags, which of
/// them pass on to later hops, and the source identity.
#[derive(Debug, Clone, Default)]
pub struct SessionTags {
    /// `Tags.member.N`, `(key, value)` in the order given.
    pub tags: Option<Sourced<Vec<(String, String)>>>,
    /// `TransitiveTagKeys.member.N`, each one of the tags' keys.
    pub transitive: Option<Sourced<Vec<String>>>,
    /// `SourceIdentity`.
    pub source_identity: Option<Sourced<String>>,
}

impl SessionTags {
    /// The tags, none when unset.
    pub fn tags(&self) -> &[(String, String)] {
        self.tags.as_ref().map_or(&[], |t| &t.value)
    }

    /// The transitive tag keys, none when unset.
    pub fn transitive(&self) -> &[String] {
        self.transitive.as_ref().map_or(&[], |t| &t.value)
    }

    /// Where the first of them that is set came from, if any is.
    fn first_set(&self) -> Option<Source> {
        let tags = self.tags.as_ref().map(|t| t.source);
        let transitive = self.transitive.as_ref().map(|t| t.source);
        tags.or(transitive)
            .or(self.source_identity.as_ref().map(|s| s.source))
    }
}

/// A character STS takes in a tag key or value: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
/// Rust's `is_alphanumeric` is Unicode's Alphabetic and Numeric, a little
/// wider than `\p{L}` (it adds combining marks); the spaces are `\p{Z}`
/// exactly (white space that is not a control character).
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// That every character of `text` (described as `what`) is a [`tag_char`].
fn tag_chars(text: &str, what: &str) -> Result<(), String> {
    match text.chars().find(|c| !tag_char(*c)) {
        Some(c) => Err(format!(
            "{what} holds {}, which STS does not take; use letters, digits, spaces and _.:/=+-@",
            crate::error::shown(&c.to_string())
        )),
        None => Ok(()),
    }
}

/// A key as STS takes it: 1-128 characters of [`tag_char`], not under the
/// `aws:` prefix, which AWS keeps for itself.
fn check_key(key: &str, what: &str) -> Result<(), String> {
    let n = key.chars().count();
    if !(1..=128).contains(&n) {
        return Err(format!(
            "{what} {} is {n} chars; STS takes keys of 1-128",
            quoted(key)
        ));
    }
    tag_chars(key, &format!("{what} {}", quoted(key)))?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "{what} {} starts with aws:, which AWS keeps for its own keys; choose another key",
            quoted(key)
        ));
    }
    Ok(())
}

/// Session tags: `KEY=VALUE` entries separated by commas or newlines (the
/// first `=` ends the key), at most 50, keys of 1-128 and values of 0-256
/// characters STS takes, no key twice (STS compares them without case).
pub fn parse_tags(s: &str) -> Result<Vec<(String, String)>, String> {
    let entries = split_list(s);
    if entries.is_empty() {
        return Err("the list holds no tag; give KEY=VALUE pairs separated by commas, such as team=ci,env=prod".into());
    }
    if entries.len() > MAX_TAGS {
        return Err(format!(
            "{} session tags given; STS takes at most {MAX_TAGS}",
            entries.len()
        ));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!(
                "{} is not KEY=VALUE; give session tags as team=ci,env=prod",
                quoted(&entry)
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        check_key(key, "tag key")?;
        let n = value.chars().count();
        if n > 256 {
            return Err(format!(
                "the value of tag {} is {n} chars; STS takes values of 0-256",
                quoted(key)
            ));
        }
        tag_chars(value, &format!("the value of tag {}", quoted(key)))?;
        if tags
            .iter()
            .any(|(k, _)| k.to_lowercase() == key.to_lowercase())
        {
            return Err(format!(
                "tag key {} is given twice (STS compares keys without case); give each key once",
                quoted(key)
            ));
        }
        tags.push((key.to_string(), value.to_string()));
    }
    Ok(tags)
}

/// Transitive tag keys: keys separated by commas or newlines, at most 50,
/// each as a tag key is; that each is one of the tags is checked with them.
pub fn parse_tag_keys(s: &str) -> Result<Vec<String>, String> {
    let keys = split_list(s);
    if keys.is_empty() {
        return Err("the list holds no key; list keys of the session tags separated by commas, or leave it unset".into());
    }
    if keys.len() > MAX_TAGS {
        return Err(format!(
            "{} transitive tag keys given; STS takes at most {MAX_TAGS}",
            keys.len()
        ));
    }
    for key in &keys {
        check_key(key, "transitive tag key")?;
    }
    Ok(keys)
}

/// A source identity as STS takes it: 2-64 characters of `[\w+=,.@-]`
/// (so never under AWS's own `aws:` prefix, which STS also refuses).
pub fn parse_source_identity(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if !(2..=64).contains(&n) {
        return Err(format!(
            "a source identity is 2-64 chars, this one is {n}; use a name such as the user or pipeline behind the run"
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !s.chars().all(ok) {
        return Err(format!(
            "{} holds a character STS does not take in a source identity; use A-Z a-z 0-9 and _+=,.@-",
            quoted(s)
        ));
    }
    Ok(s.to_string())
}

/// Reads the session tags, the transitive keys and the source identity.
/// `chained` says whether there are chained hops to send them on; the
/// token is the run's, which none of them may be.
pub(super) fn session_tags(
    inputs: &Inputs,
    chained: bool,
    token: &Secret,
) -> Result<SessionTags, Error> {
    let read = SessionTags {
        tags: inputs.parsed(&TAGS, parse_tags)?,
        transitive: inputs.parsed(&TRANSITIVE_TAG_KEYS, parse_tag_keys)?,
        source_identity: inputs.parsed(&SOURCE_IDENTITY, parse_source_identity)?,
    };
    if let Some(source) = read.first_set().filter(|_| !chained) {
        return Err(Error::setting(
            source,
            "session tags and a source identity are sent only on chained hops (sts:AssumeRole); \
             the first hop's tags come from the token's claims (https://aws.amazon.com/tags); \
             set chained role ARNs (PLUGIN_CHAIN_ROLE_ARN, --chain-role-arn) or remove it",
        ));
    }
    if let Some(id) = read
        .source_identity
        .as_ref()
        .filter(|id| id.value == token.expose())
    {
        return Err(Error::setting(
            id.source,
            "the source identity is the token; STS records it in CloudTrail, so set it to a name such as the user or pipeline behind the run",
        ));
    }
    if let Some(t) = &read.tags {
        if t.value.iter().any(|(_, v)| v == token.expose()) {
            return Err(Error::setting(
                t.source,
                "a tag's value is the token; STS records session tags in CloudTrail, so give values such as the pipeline's name",
            ));
        }
    }
    if let Some(keys) = &read.transitive {
        let tags = read.tags();
        let missing = keys.value.iter().find(|k| {
            !tags
                .iter()
                .any(|(t, _)| t.to_lowercase() == k.to_lowercase())
        });
        if let Some(key) = missing {
            let what = match &read.tags {
                Some(t) => format!("is not among the session tags (from {})", t.source),
                None => "names a tag, but no session tags are set".to_string(),
            };
            return Err(Error::setting(
                keys.source,
                format!(
                    "transitive tag key {} {what}; set it in --tags / PLUGIN_TAGS too, or remove it",
                    quoted(key)
                ),
            ));
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: Result<&[(&str, &str)], &str>) {
        let got = parse_tags(input);
        match want {
            Ok(tags) => {
                let tags: Vec<(String, String)> = tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                assert_eq!(got, Ok(tags), "{input}");
            }
            Err(says) => {
                let e = got.unwrap_err();
                assert!(e.contains(says), "{input}: {e}");
            }
        }
    }

    #[test]
    fn tags_as_sts_takes_them() {
        check(
            " team=ci ,\nenv = prod\n",
            Ok(&[("team", "ci"), ("env", "prod")]),
        );
        check("a=b=c,empty=", Ok(&[("a", "b=c"), ("empty", "")]));
        check(
            "Équipe=déploiement 1,k:/+-@.=v_x",
            Ok(&[("Équipe", "déploiement 1"), ("k:/+-@.", "v_x")]),
        );
        let fifty: Vec<String> = (0..50).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse_tags(&fifty.join(",")).unwrap().len(), 50);
        let fifty_one: Vec<String> = (0..51).map(|i| format!("k{i}=v")).collect();
        check(
            &fifty_one.join(","),
            Err("51 session tags given; STS takes at most 50"),
        );
        check(
            &format!("{}=v", "k".repeat(128)),
            Ok(&[(&"k".repeat(128), "v")]),
        );
        check(
            &format!("{}=v", "k".repeat(129)),
            Err("is 129 chars; STS takes keys of 1-128"),
        );
        check(
            &format!("k={}", "v".repeat(256)),
            Ok(&[("k", &"v".repeat(256))]),
        );
        check(
            &format!("k={}", "v".repeat(257)),
            Err("is 257 chars; STS takes values of 0-256"),
        );
        check("=v", Err("is 0 chars"));
        check("team", Err("`team` is not KEY=VALUE"));
        check("te;am=x", Err("holds ;, which STS does not take"));
        check("team=a\tb", Err("the value of tag `team` holds \\t"));
        check("team=a,Team=b", Err("tag key `Team` is given twice"));
        check("aws:team=x", Err("starts with aws:"));
        check(" , ", Err("the list holds no tag"));
    }

    #[test]
    fn transitive_keys_and_source_identity() {
        assert_eq!(parse_tag_keys("team, env").unwrap(), ["team", "env"]);
        assert!(parse_tag_keys(",").unwrap_err().contains("holds no key"));
        let many: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        assert!(parse_tag_keys(&many.join(","))
            .unwrap_err()
            .contains("at most 50"));
        for ok in ["ab", "ci-user@example.com", &"x".repeat(64), "a_+=,.@-"] {
            assert_eq!(parse_source_identity(ok).as_deref(), Ok(ok));
        }
        for (bad, says) in [
            ("a", "2-64 chars, this one is 1"),
            (&"x".repeat(65) as &str, "this one is 65"),
            ("a b", "does not take"),
            ("a/b", "does not take"),
            ("aws:me", "does not take"),
        ] {
            let e = parse_source_identity(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
