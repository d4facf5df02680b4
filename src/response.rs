//! STS's answer: XML text in, typed credentials or error out (SPEC §3).
//! Pure; elements are found by name and namespace, in any order, with or
//! without whitespace.

use roxmltree::{Document, Node};

use crate::secret::Secret;

/// The STS XML namespace. Elements in no namespace are accepted too, since
/// some STS-compatible servers leave it out.
pub const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Temporary credentials and what came with them.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// `SecretAccessKey`.
    pub secret_access_key: Secret,
    /// `SessionToken`.
    pub session_token: Secret,
    /// `Expiration` as STS sent it.
    pub expiration: String,
    /// `Expiration` as Unix seconds.
    pub expires_at: i64,
    /// `AssumedRoleUser/Arn`.
    pub assumed_role_arn: Option<String>,
    /// `SubjectFromWebIdentityToken`.
    pub subject: Option<String>,
    /// `Audience`.
    pub audience: Option<String>,
    /// `Provider`.
    pub provider: Option<String>,
    /// `ResponseMetadata/RequestId`.
    pub request_id: Option<String>,
}

/// An `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    /// `Sender` or `Receiver`.
    pub kind: Option<String>,
    /// `Code`.
    pub code: String,
    /// `Message`.
    pub message: String,
    /// `RequestId`.
    pub request_id: Option<String>,
}

/// What a body turned out to be.
#[derive(Debug)]
pub enum Answer {
    /// `AssumeRoleWithWebIdentityResponse` with all four credential fields.
    Success(Box<Credentials>),
    /// `ErrorResponse`.
    Error(StsError),
}

/// Why a body was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Not XML at all (an HTML page is usually caught here or by `Root`).
    NotXml(String),
    /// XML with a DTD, refused on principle.
    Dtd,
    /// Well-formed XML with an unexpected root element.
    Root(String),
    /// A success response without one of the credential fields.
    Missing(&'static str),
    /// `Expiration` is not an ISO-8601 UTC time.
    Expiration,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::NotXml(e) => write!(f, "the body is not XML ({e})"),
            Malformed::Dtd => {
                f.write_str("it has a DOCTYPE (an HTML page, or XML with a DTD, which is refused)")
            }
            Malformed::Root(r) => write!(
                f,
                "the XML is a <{r}>, neither a success nor an ErrorResponse"
            ),
            Malformed::Missing(e) => write!(f, "the success XML has no {e}"),
            Malformed::Expiration => f.write_str("Expiration is not an ISO-8601 UTC time"),
        }
    }
}

fn is_sts(node: &Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && matches!(node.tag_name().namespace(), None | Some(NS))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is_sts(n, name))
}

/// The element's whole text, as XPath's string-value: every text node under
/// it, so a comment inside a value does not cut it short.
fn text(node: Option<Node>) -> Option<String> {
    let all: String = node?
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let t = all.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parses a body. Refuses DTDs (roxmltree's default, kept on purpose).
pub fn parse(body: &str) -> Result<Answer, Malformed> {
    let doc = Document::parse(body).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Malformed::Dtd,
        // roxmltree quotes the offending character raw: a CR or a terminal
        // escape from the body must not reach the one-line error.
        e => Malformed::NotXml(crate::settings::shown(&e.to_string())),
    })?;
    let root = doc.root_element();
    if is_sts(&root, "ErrorResponse") {
        let error = child(root, "Error");
        let field = |name| text(error.and_then(|e| child(e, name)));
        return Ok(Answer::Error(StsError {
            kind: field("Type"),
            code: field("Code").ok_or(Malformed::Missing("Error/Code"))?,
            message: field("Message").unwrap_or_default(),
            request_id: text(child(root, "RequestId")).or_else(|| field("RequestId")),
        }));
    }
    if !is_sts(&root, "AssumeRoleWithWebIdentityResponse") {
        return Err(Malformed::Root(
            root.tag_name().name().chars().take(64).collect(),
        ));
    }
    let result = child(root, "AssumeRoleWithWebIdentityResult")
        .ok_or(Malformed::Missing("AssumeRoleWithWebIdentityResult"))?;
    let creds = child(result, "Credentials").ok_or(Malformed::Missing("Credentials"))?;
    let field = |name: &'static str| text(child(creds, name)).ok_or(Malformed::Missing(name));
    let access_key_id = field("AccessKeyId")?;
    let secret_access_key = Secret::new(field("SecretAccessKey")?);
    let session_token = Secret::new(field("SessionToken")?);
    let expiration = field("Expiration")?;
    let expires_at = crate::time::parse_utc(&expiration).ok_or(Malformed::Expiration)?;
    let user = child(result, "AssumedRoleUser");
    Ok(Answer::Success(Box::new(Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration,
        expires_at,
        assumed_role_arn: text(user.and_then(|u| child(u, "Arn"))),
        subject: text(child(result, "SubjectFromWebIdentityToken")),
        audience: text(child(result, "Audience")),
        provider: text(child(result, "Provider")),
        request_id: text(child(root, "ResponseMetadata").and_then(|m| child(m, "RequestId"))),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn success(body: &str) -> Credentials {
        match parse(body) {
            Ok(Answer::Success(c)) => *c,
            other => panic!("not a success: {other:?}"),
        }
    }

    #[test]
    fn aws_reference_example() {
        let c = success(&fixture("success-aws-example.xml"));
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            c.secret_access_key.expose(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(
            c.session_token.expose(),
            "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE"
        );
        assert_eq!(c.expiration, "2014-10-24T23:00:23Z");
        assert_eq!(c.expires_at, 1414191623);
        assert_eq!(
            c.assumed_role_arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1")
        );
        assert_eq!(c.provider.as_deref(), Some("www.amazon.com"));
        assert_eq!(
            c.request_id.as_deref(),
            Some("ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE")
        );
    }

    #[test]
    fn other_servers_shapes() {
        let c = success(&fixture("success-one-line-fractional.xml"));
        assert_eq!(c.expiration, "2026-11-25T18:00:00.123456Z");
        assert_eq!(c.expires_at, 1795629600);
        assert_eq!(c.assumed_role_arn, None);
        let c = success(&fixture("success-no-namespace.xml"));
        assert_eq!(c.access_key_id, "ASIANONAMESPACE00001");
    }

    #[test]
    fn errors() {
        let Ok(Answer::Error(e)) = parse(&fixture("error-throttling.xml")) else {
            panic!()
        };
        assert_eq!(
            e,
            StsError {
                kind: Some("Sender".into()),
                code: "Throttling".into(),
                message: "Rate exceeded".into(),
                request_id: Some("f9dc6495-9462-47ce-8b0e-b385f24ee61c".into()),
            }
        );
    }

    #[test]
    fn malformed_bodies() {
        type Check = fn(&Malformed) -> bool;
        let cases: &[(&str, Check)] = &[
            ("proxy-page.html", |m| *m == Malformed::Dtd),
            ("dtd.xml", |m| *m == Malformed::Dtd),
            ("truncated.xml", |m| matches!(m, Malformed::NotXml(_))),
            ("success-missing-session-token.xml", |m| {
                *m == Malformed::Missing("SessionToken")
            }),
            ("success-bad-expiration.xml", |m| {
                *m == Malformed::Expiration
            }),
            ("wrong-namespace.xml", |m| matches!(m, Malformed::Root(_))),
        ];
        for (name, ok) in cases {
            match parse(&fixture(name)) {
                Err(m) => assert!(ok(&m), "{name}: {m:?}"),
                Ok(a) => panic!("{name}: parsed as {a:?}"),
            }
        }
        assert!(matches!(
            parse("garbage \u{1} bytes"),
            Err(Malformed::NotXml(_))
        ));
        assert!(matches!(parse(""), Err(Malformed::NotXml(_))));
    }

    #[test]
    fn a_comment_inside_a_value_does_not_cut_it() {
        // Found by fuzzing (fuzz/fuzz_targets/response.rs): only the text
        // before a comment was read, so a cut AccessKeyId was written out.
        let c = success(&fixture("fuzz/response-comment-in-value.xml"));
        assert_eq!(c.access_key_id, "ASIAQNOTCUT000000001");
        assert_eq!(c.session_token.expose(), "FwoGZXIvYXdzEJr");
    }

    #[test]
    fn xml_errors_quote_control_characters_escaped() {
        // Found by fuzzing (fuzz/fuzz_targets/response.rs): the XML error
        // quoted a CR from the body raw, breaking the one-line message.
        let m = parse(&fixture("fuzz/response-cr-in-xml-error")).unwrap_err();
        assert_eq!(
            m.to_string(),
            "the body is not XML (expected '>' not '\\r' at 1:16)"
        );
        let m = parse("<ErrorResponse\u{1b}>").unwrap_err().to_string();
        assert!(
            !m.contains(char::is_control) && m.contains("\\u{1b}"),
            "{m}"
        );
    }
}
