//! STS's answer: XML text in, typed credentials or error out
//! (`docs/reference.md` §5).
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

/// A `GetCallerIdentityResponse`: who the credentials that signed it are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `Arn`: for role credentials, the assumed-role ARN.
    pub arn: String,
    /// `Account`, when sent.
    pub account: Option<String>,
    /// `ResponseMetadata/RequestId`.
    pub request_id: Option<String>,
}

/// What a body turned out to be.
#[derive(Debug)]
pub enum Answer {
    /// `AssumeRoleWithWebIdentityResponse` or `AssumeRoleResponse` with all
    /// four credential fields.
    Success(Box<Credentials>),
    /// `ErrorResponse`.
    Error(StsError),
    /// `GetCallerIdentityResponse` (`--verify`, `docs/reference.md` §11).
    Identity(Identity),
}

/// The success answers, each root and its result element: an action's
/// answer is `{Action}Response`. The first two carry credentials, with the
/// same `Credentials` and `AssumedRoleUser` inside.
const ANSWERS: [(&str, &str); 3] = [
    (
        "AssumeRoleWithWebIdentityResponse",
        "AssumeRoleWithWebIdentityResult",
    ),
    ("AssumeRoleResponse", "AssumeRoleResult"),
    ("GetCallerIdentityResponse", "GetCallerIdentityResult"),
];

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
    /// `Expiration` is not strict RFC 3339 UTC (see [`crate::time::parse_utc`]).
    Expiration,
    /// A value written to the outputs holds a character outside what STS
    /// sends in that field (see [`ALPHABETS`]). The value is never quoted.
    Alphabet(&'static str),
    /// `AccessKeyId` is outside STS's 16-128 characters.
    KeyIdLength(usize),
    /// `SessionToken` is longer than [`SESSION_TOKEN_LIMIT`].
    TokenLength(usize),
    /// The body is not UTF-8: the byte offset of the first bad byte.
    NotUtf8(usize),
    /// The body declares a charset other than UTF-8 or US-ASCII: where
    /// (Content-Type or the XML declaration) and what, one line, cut short.
    Charset(&'static str, String),
    /// A success answer to another call: the root found, and the one the
    /// call made gets.
    OtherAnswer(&'static str, &'static str),
    /// An element that an answer holds once is there more than once.
    Duplicate(&'static str),
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
            Malformed::Expiration => f.write_str(
                "Expiration is not an RFC 3339 UTC time as STS sends it (YYYY-MM-DDTHH:MM:SS[.fraction]Z)",
            ),
            Malformed::Alphabet(field) => {
                write!(f, "the answer holds a character STS never sends in {field}")
            }
            Malformed::KeyIdLength(n) => write!(
                f,
                "AccessKeyId is {n} characters, and STS sends 16 to 128"
            ),
            Malformed::TokenLength(n) => write!(
                f,
                "SessionToken is {n} characters, over the {SESSION_TOKEN_LIMIT} aws-oidc takes"
            ),
            Malformed::NotUtf8(at) => write!(
                f,
                "the body is not UTF-8 (byte {at}), and STS answers in UTF-8"
            ),
            Malformed::Charset(place, name) => write!(
                f,
                "{place} `{name}`, and STS answers in UTF-8"
            ),
            Malformed::OtherAnswer(got, asked) => {
                write!(f, "the answer is a <{got}>, not the {asked} asked for")
            }
            Malformed::Duplicate(e) => write!(f, "the answer has more than one {e}"),
        }
    }
}

impl Malformed {
    /// Whether the body is a success answer whose values were refused: its
    /// text holds credentials, so no part of it may be shown.
    pub fn in_credentials(&self) -> bool {
        matches!(
            self,
            Malformed::Expiration
                | Malformed::Alphabet(_)
                | Malformed::KeyIdLength(_)
                | Malformed::TokenLength(_)
        )
    }

    /// The reason without any text taken from the body (the XML parser's
    /// message, a root element's name): for a body that carries
    /// credentials, where any piece of the body may be one.
    pub fn without_body_text(&self) -> String {
        match self {
            Malformed::NotXml(_) => "the body is not XML".into(),
            Malformed::Root(_) => "its root is neither a success nor an ErrorResponse".into(),
            m => m.to_string(),
        }
    }
}

/// Whether a body carries credentials, decided from its bytes before any
/// decoding (`docs/reference.md` §5.1): it names a `Credentials`,
/// `SecretAccessKey` or `SessionToken` element or the success root, in any
/// case, and whatever NUL bytes (UTF-16) lie between the letters. Such a
/// body is never previewed: an altered byte can split a secret key into
/// runs too short to look secret.
pub fn carries_credentials(body: &[u8]) -> bool {
    let letters: Vec<u8> = body
        .iter()
        .filter(|b| **b != 0)
        .map(u8::to_ascii_lowercase)
        .collect();
    [
        &b"<credentials"[..],
        b"secretaccesskey",
        b"sessiontoken",
        b"assumerolewithwebidentityresponse",
        b"assumeroleresponse",
    ]
    .iter()
    .any(|needle| letters.windows(needle.len()).any(|w| w == *needle))
}

/// Whether a character belongs to a field's alphabet.
pub type Alphabet = fn(char) -> bool;

/// `AccessKeyId`: upper-case letters and digits.
pub fn key_id_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// `SecretAccessKey` and `SessionToken`: base64, base64url, and the
/// JWT-shaped tokens of STS-compatible servers such as MinIO.
pub fn secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=-_.".contains(c)
}

/// ARNs: IAM's name characters, `/` for paths and `:` between parts.
pub fn arn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_/:-".contains(c)
}

/// Every answer field that reaches an output, with the characters STS and
/// STS-compatible servers send in it. `Expiration` has its own, stricter
/// rule ([`crate::time::parse_utc`]). Each alphabet is a subset of
/// [`arn_char`], which `output` checks every written value against.
pub const ALPHABETS: [(&str, Alphabet); 4] = [
    ("AccessKeyId", key_id_char),
    ("SecretAccessKey", secret_char),
    ("SessionToken", secret_char),
    ("AssumedRoleUser/Arn", arn_char),
];

/// The longest `SessionToken` taken, in characters (`docs/reference.md`
/// §3.4). AWS documents no maximum (STS's are about 1 KB); a session token
/// is sent back as a header when it signs the next call (a chained hop,
/// `--verify`), and the client's buffer for a signed request is sized for
/// one of this length (`request`'s `SIGNED_OUTPUT_BUFFER`).
pub const SESSION_TOKEN_LIMIT: usize = 64 << 10;

/// Holds the values of [`ALPHABETS`]' fields, in its order, to their
/// alphabets, `AccessKeyId` to STS's 16-128 characters and `SessionToken`
/// to [`SESSION_TOKEN_LIMIT`]: for an answer, and for a cache entry read
/// back (`docs/reference.md` §13).
pub fn check_fields(values: [Option<&str>; 4]) -> Result<(), Malformed> {
    for ((field, char_ok), value) in ALPHABETS.iter().zip(values) {
        if value.is_some_and(|v| !v.chars().all(char_ok)) {
            return Err(Malformed::Alphabet(field));
        }
    }
    let n = values[0].map_or(0, |v| v.chars().count());
    if !(16..=128).contains(&n) {
        return Err(Malformed::KeyIdLength(n));
    }
    // ASCII by its alphabet: bytes are characters.
    let n = values[2].map_or(0, str::len);
    if n > SESSION_TOKEN_LIMIT {
        return Err(Malformed::TokenLength(n));
    }
    Ok(())
}

/// The body as text: UTF-8, and not declared as anything else by the
/// Content-Type's `charset` (the header's value as received, or anything
/// without a `;` when there was none). Bytes are never replaced: a
/// credential decoded with U+FFFD in it would be a different credential.
pub fn decode<'a>(body: &'a [u8], content_type: &str) -> Result<&'a str, Malformed> {
    let charset = content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    if let Some(name) = charset.filter(|c| !utf8_compatible(c)) {
        return Err(Malformed::Charset(
            "the body is declared as charset",
            quoted(name),
        ));
    }
    std::str::from_utf8(body).map_err(|e| Malformed::NotUtf8(e.valid_up_to()))
}

/// UTF-8, or US-ASCII, which is a subset of it.
fn utf8_compatible(charset: &str) -> bool {
    ["utf-8", "utf8", "us-ascii", "ascii"]
        .iter()
        .any(|c| charset.eq_ignore_ascii_case(c))
}

/// A name from the body or a header as a message may quote it: one line,
/// at most 40 characters.
fn quoted(name: &str) -> String {
    crate::error::shown(&name.chars().take(40).collect::<String>())
}

/// The `encoding` of an XML declaration at the start of the body, if any.
fn declared_encoding(body: &str) -> Option<&str> {
    let decl = body.trim_start_matches('\u{feff}').strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let value = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &value[1..];
    Some(&value[..value.find(quote)?])
}

fn is_sts(node: &Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && matches!(node.tag_name().namespace(), None | Some(NS))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is_sts(n, name))
}

/// The element an answer holds at most once, refused when there are more:
/// read first-wins, a second `Credentials` could hide behind the first.
fn once<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Result<Option<Node<'a, 'i>>, Malformed> {
    let mut found = node.children().filter(|n| is_sts(n, name));
    let first = found.next();
    match found.next() {
        Some(_) => Err(Malformed::Duplicate(name)),
        None => Ok(first),
    }
}

/// The element an answer holds exactly once.
fn one<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Result<Node<'a, 'i>, Malformed> {
    once(node, name)?.ok_or(Malformed::Missing(name))
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

/// Parses the body of the answer to `action` (`AssumeRoleWithWebIdentity`,
/// `AssumeRole` or `GetCallerIdentity`): that action's success, or an
/// `ErrorResponse`. Refuses DTDs (roxmltree's default, kept on purpose).
pub fn parse(body: &str, action: &str) -> Result<Answer, Malformed> {
    // roxmltree reads the text as it is, whatever the declaration says; a
    // body declared in another charset would be read wrong.
    if let Some(name) = declared_encoding(body).filter(|c| !utf8_compatible(c)) {
        return Err(Malformed::Charset(
            "the XML declares encoding",
            quoted(name),
        ));
    }
    let doc = Document::parse(body).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Malformed::Dtd,
        // roxmltree quotes the offending character raw: a CR or a terminal
        // escape from the body must not reach the one-line error.
        e => Malformed::NotXml(crate::error::shown(&e.to_string())),
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
    let Some((root_name, result_name)) = ANSWERS.iter().find(|(r, _)| is_sts(&root, r)) else {
        return Err(Malformed::Root(
            root.tag_name().name().chars().take(64).collect(),
        ));
    };
    if root_name.strip_suffix("Response") != Some(action) {
        let asked = ANSWERS
            .iter()
            .map(|(r, _)| *r)
            .find(|r| r.strip_suffix("Response") == Some(action))
            .unwrap_or("answer");
        return Err(Malformed::OtherAnswer(root_name, asked));
    }
    let result = one(root, result_name)?;
    if action == "GetCallerIdentity" {
        return identity(root, result);
    }
    let creds = one(result, "Credentials")?;
    let field = |name: &'static str| text(Some(one(creds, name)?)).ok_or(Malformed::Missing(name));
    let access_key_id = field("AccessKeyId")?;
    let secret_access_key = Secret::new(field("SecretAccessKey")?);
    let session_token = Secret::new(field("SessionToken")?);
    let expiration = field("Expiration")?;
    let assumed_role_arn = match once(result, "AssumedRoleUser")? {
        Some(user) => text(once(user, "Arn")?),
        None => None,
    };
    // Only STS's alphabet reaches a file: checked here, once, for every
    // format, before anything is rendered.
    check_fields([
        Some(access_key_id.as_str()),
        Some(secret_access_key.expose()),
        Some(session_token.expose()),
        assumed_role_arn.as_deref(),
    ])?;
    let expires_at = crate::time::parse_utc(&expiration).ok_or(Malformed::Expiration)?;
    Ok(Answer::Success(Box::new(Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration,
        expires_at,
        assumed_role_arn,
        subject: text(child(result, "SubjectFromWebIdentityToken")),
        audience: text(child(result, "Audience")),
        provider: text(child(result, "Provider")),
        request_id: text(child(root, "ResponseMetadata").and_then(|m| child(m, "RequestId"))),
    })))
}

/// A `GetCallerIdentityResponse`: its `Arn`, in the ARN alphabet, since
/// messages quote it.
fn identity(root: Node, result: Node) -> Result<Answer, Malformed> {
    let arn = text(Some(one(result, "Arn")?)).ok_or(Malformed::Missing("Arn"))?;
    let account = text(child(result, "Account"));
    let values = [Some(arn.as_str()), account.as_deref()];
    if values.iter().flatten().any(|v| !v.chars().all(arn_char)) {
        return Err(Malformed::Alphabet("GetCallerIdentityResult"));
    }
    Ok(Answer::Identity(Identity {
        arn,
        account,
        request_id: text(child(root, "ResponseMetadata").and_then(|m| child(m, "RequestId"))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    /// Parses a body as the answer to the call its root answers (the
    /// web-identity call when it names none).
    fn parsed(body: &str) -> Result<Answer, Malformed> {
        let action = ["AssumeRole", "GetCallerIdentity"]
            .into_iter()
            .find(|a| body.contains(&format!("<{a}Response")))
            .unwrap_or("AssumeRoleWithWebIdentity");
        parse(body, action)
    }

    fn success(body: &str) -> Credentials {
        match parsed(body) {
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
    fn assume_role_and_caller_identity_answers() {
        let c = success(&fixture("assume-role-aws-example.xml"));
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(c.expires_at, 1573306481);
        assert_eq!(
            c.assumed_role_arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/demo/TestAR")
        );
        assert!(carries_credentials(
            fixture("assume-role-aws-example.xml").as_bytes()
        ));
        let Ok(Answer::Identity(id)) = parsed(&fixture("caller-identity-aws-example.xml")) else {
            panic!("not an identity")
        };
        assert_eq!(
            id.arn,
            "arn:aws:sts::123456789012:assumed-role/my-role-name/my-role-session-name"
        );
        assert_eq!(id.account.as_deref(), Some("123456789012"));
        // The same per-field alphabets as the web-identity answer.
        let bad = fixture("assume-role-aws-example.xml").replace("EXAMPLEKEY<", "EXAMPLE KEY<");
        assert_eq!(
            parsed(&bad).unwrap_err(),
            Malformed::Alphabet("SecretAccessKey")
        );
        let bad = fixture("caller-identity-aws-example.xml").replace("my-role-name/", "my role/");
        assert!(matches!(parsed(&bad), Err(Malformed::Alphabet(_))));
        let bad = fixture("caller-identity-aws-example.xml")
            .replace("<Arn>", "<Arnx>")
            .replace("</Arn>", "</Arnx>");
        assert_eq!(parsed(&bad).unwrap_err(), Malformed::Missing("Arn"));
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
        let Ok(Answer::Error(e)) = parsed(&fixture("error-throttling.xml")) else {
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
            match parsed(&fixture(name)) {
                Err(m) => assert!(ok(&m), "{name}: {m:?}"),
                Ok(a) => panic!("{name}: parsed as {a:?}"),
            }
        }
        assert!(matches!(
            parsed("garbage \u{1} bytes"),
            Err(Malformed::NotXml(_))
        ));
        assert!(matches!(parsed(""), Err(Malformed::NotXml(_))));
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
        let m = parsed(&fixture("fuzz/response-cr-in-xml-error")).unwrap_err();
        assert_eq!(
            m.to_string(),
            "the body is not XML (expected '>' not '\\r' at 1:16)"
        );
        let m = parsed("<ErrorResponse\u{1b}>").unwrap_err().to_string();
        assert!(
            !m.contains(char::is_control) && m.contains("\\u{1b}"),
            "{m}"
        );
    }

    /// A success answer with one element's text replaced.
    fn with(element: &str, value: &str) -> String {
        let body = fixture("success-aws-example.xml");
        let open = format!("<{element}>");
        let start = body.find(&open).unwrap() + open.len();
        let end = start + body[start..].find('<').unwrap();
        format!("{}{value}{}", &body[..start], &body[end..])
    }

    #[test]
    fn each_field_allows_only_what_sts_sends() {
        let key_ok = "ASIA0123456789ABCDEF";
        let secret_ok = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYz=EXAMPLE-_.";
        let arn_ok = "arn:aws-us-gov:sts::123456789012:assumed-role/a_b+c=d,e.f@g-h/s";
        for (element, value) in [
            ("AccessKeyId", key_ok),
            ("AccessKeyId", &"A".repeat(16)),
            ("AccessKeyId", &"9".repeat(128)),
            ("SecretAccessKey", secret_ok),
            ("SessionToken", secret_ok),
            // MinIO's session token is a JWT.
            (
                "SessionToken",
                "eyJhbGciOiJIUzUxMiJ9.eyJhY2Nlc3NLZXkiOiJYIn0.c2ln-_",
            ),
            ("Arn", arn_ok),
        ] {
            assert!(success_ok(&with(element, value)), "{element} = {value}");
        }
        // Each field against characters outside its alphabet, including
        // everything a shell or a dotenv reader would act on.
        let hostile = [
            ';', '`', '\\', ' ', '$', '\'', '"', '#', '{', '}', '(', ')', '|', '&', '*', '?', '!',
            '~', '%', '^', '[', ']', '<', '>', '\t', '\u{7f}', '\u{85}', 'é', '\u{fffd}',
            '\u{2028}',
        ];
        let fields = [
            (
                "AccessKeyId",
                "AccessKeyId",
                key_ok,
                "abc+/=,@:-_.".chars().collect::<Vec<_>>(),
            ),
            (
                "SecretAccessKey",
                "SecretAccessKey",
                secret_ok,
                vec![',', '@', ':'],
            ),
            (
                "SessionToken",
                "SessionToken",
                secret_ok,
                vec![',', '@', ':'],
            ),
            ("Arn", "AssumedRoleUser/Arn", arn_ok, vec![]),
        ];
        for (element, field, good, extra) in fields {
            for c in hostile.iter().chain(&extra) {
                // Inside the value: surrounding whitespace is not a value's.
                let mut bad: String = good.chars().take(8).collect();
                bad.push(*c);
                bad.extend(good.chars().skip(8));
                let escaped = bad.replace('&', "&amp;").replace('<', "&lt;");
                let m = parsed(&with(element, &escaped)).unwrap_err();
                assert_eq!(m, Malformed::Alphabet(field), "{element} with {c:?}");
                assert!(m.in_credentials());
                assert_eq!(
                    m.to_string(),
                    format!("the answer holds a character STS never sends in {field}")
                );
            }
        }
        for (n, ok) in [(15, false), (16, true), (128, true), (129, false)] {
            let r = parsed(&with("AccessKeyId", &"A".repeat(n)));
            match ok {
                true => assert!(r.is_ok(), "{n}"),
                false => assert_eq!(r.unwrap_err(), Malformed::KeyIdLength(n)),
            }
        }
        for (n, ok) in [
            (1, true),
            (SESSION_TOKEN_LIMIT, true),
            (SESSION_TOKEN_LIMIT + 1, false),
        ] {
            let r = parsed(&with("SessionToken", &"T".repeat(n)));
            match ok {
                true => assert!(r.is_ok(), "{n}"),
                false => {
                    let m = r.unwrap_err();
                    assert_eq!(m, Malformed::TokenLength(n));
                    assert!(m.in_credentials());
                }
            }
        }
    }

    fn success_ok(body: &str) -> bool {
        matches!(parsed(body), Ok(Answer::Success(_)))
    }

    #[test]
    fn expiration_is_strict_rfc3339_utc() {
        for (value, ok) in [
            ("2026-11-25T18:00:59Z", true),
            ("2026-11-25T18:00:60Z", false),
            ("9999-12-31T23:59:60Z", false),
            ("2026-11-25T18:00:00.123456789Z", true),
            ("2026-11-25T18:00:00.1234567890Z", false),
            ("0999-11-25T18:00:00Z", true),
            ("999-11-25T18:00:00Z", false),
            ("2026-11-25T18:00:00", false),
            ("2026-11-25T18:00:00+00:00", false),
            ("2026-11-25T18:00:00-05:00", false),
        ] {
            match ok {
                true => assert!(success_ok(&with("Expiration", value)), "{value}"),
                false => {
                    let m = parsed(&with("Expiration", value)).unwrap_err();
                    assert_eq!(m, Malformed::Expiration, "{value}");
                    assert!(!m.to_string().contains(value));
                }
            }
        }
    }

    #[test]
    fn only_utf8_and_us_ascii_bodies_are_read() {
        let body = fixture("success-aws-example.xml");
        for ct in [
            "text/xml",
            "no content type",
            "text/xml; charset=utf-8",
            "text/xml;charset=UTF-8",
            "text/xml; charset=\"us-ascii\"",
            "text/xml; boundary=x; Charset=utf8",
        ] {
            assert_eq!(decode(body.as_bytes(), ct), Ok(body.as_str()), "{ct}");
        }
        for (ct, name) in [
            ("text/xml; charset=iso-8859-1", "iso-8859-1"),
            ("text/xml; charset=\"UTF-16\"", "UTF-16"),
            ("text/xml; charset=windows-1252", "windows-1252"),
        ] {
            assert_eq!(
                decode(body.as_bytes(), ct),
                Err(Malformed::Charset(
                    "the body is declared as charset",
                    name.into()
                ))
            );
        }
        let m = decode(b"<a>\xe9</a>", "text/xml").unwrap_err();
        assert_eq!(m, Malformed::NotUtf8(3));
        assert!(!m.in_credentials());
        // A charset name is quoted on one line and cut short.
        let m = decode(
            b"",
            &format!("text/xml; charset=a\u{1b}b{}", "x".repeat(100)),
        )
        .unwrap_err();
        let text = m.to_string();
        assert!(
            !text.contains(char::is_control) && text.len() < 120,
            "{text}"
        );
        // The XML declaration says the same, in either quote.
        for (decl, ok) in [
            ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", true),
            ("<?xml version='1.0' encoding='us-ascii'?>", true),
            ("\u{feff}<?xml version=\"1.0\"?>", true),
            ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", false),
            ("\u{feff}<?xml version='1.0' encoding = 'latin1' ?>", false),
        ] {
            let r = parsed(&format!("{decl}{body}"));
            match ok {
                true => assert!(r.is_ok(), "{decl}"),
                false => assert!(
                    matches!(r, Err(Malformed::Charset("the XML declares encoding", _))),
                    "{decl}"
                ),
            }
        }
    }

    /// Each call's answer has that call's root, and what an answer holds
    /// once is refused twice (issue 11: an AssumeRole hop answered with a
    /// web-identity root, a second Credentials read first-wins).
    #[test]
    fn an_answer_is_the_call_s_and_holds_each_element_once() {
        let web = fixture("success-aws-example.xml");
        let chained = fixture("assume-role-aws-example.xml");
        let caller = fixture("caller-identity-aws-example.xml");
        for (body, action, got, asked) in [
            (
                &web,
                "AssumeRole",
                "AssumeRoleWithWebIdentityResponse",
                "AssumeRoleResponse",
            ),
            (
                &chained,
                "AssumeRoleWithWebIdentity",
                "AssumeRoleResponse",
                "AssumeRoleWithWebIdentityResponse",
            ),
            (
                &caller,
                "AssumeRole",
                "GetCallerIdentityResponse",
                "AssumeRoleResponse",
            ),
            (
                &web,
                "GetCallerIdentity",
                "AssumeRoleWithWebIdentityResponse",
                "GetCallerIdentityResponse",
            ),
        ] {
            let m = parse(body, action).unwrap_err();
            assert_eq!(m, Malformed::OtherAnswer(got, asked));
            assert_eq!(
                m.to_string(),
                format!("the answer is a <{got}>, not the {asked} asked for")
            );
        }
        // An error answers any call.
        let error = fixture("error-throttling.xml");
        assert!(matches!(parse(&error, "AssumeRole"), Ok(Answer::Error(_))));
        let twice = |body: &str, element: &str| {
            let (open, close) = (format!("<{element}>"), format!("</{element}>"));
            let start = body.find(&open).unwrap();
            let end = body.find(&close).unwrap() + close.len();
            format!("{}{}{}", &body[..end], &body[start..end], &body[end..])
        };
        for (body, element) in [
            (&web, "AssumeRoleWithWebIdentityResult"),
            (&web, "Credentials"),
            (&web, "AssumedRoleUser"),
            (&web, "AccessKeyId"),
            (&web, "SessionToken"),
            (&web, "Arn"),
            (&chained, "Credentials"),
            (&chained, "AssumedRoleUser"),
            (&caller, "Arn"),
        ] {
            let m = parsed(&twice(body, element)).unwrap_err();
            assert_eq!(
                m.to_string(),
                format!("the answer has more than one {element}"),
                "{element}"
            );
        }
    }
}
