//! Bad answers: what STS, a proxy or a server in between sends back, and how
//! each is refused (or retried) without showing a secret.

use super::*;

const AWS_KEY_RETRIEVAL: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// A success body whose session token holds `$`, which dotenv readers expand.
fn dollar_success() -> Vec<u8> {
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{}\"><AssumeRoleWithWebIdentityResult><Credentials>\
         <AccessKeyId>ASIADOLLAR0000000001</AccessKeyId><SecretAccessKey>dollarCaseSecretKey000000000000000000001</SecretAccessKey>\
         <SessionToken>dollarCase$SessionToken000000000000000001</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
         </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        standin::NS
    )
    .into_bytes()
}

fn err(status: u16, code: &'static str, message: &str) -> Reply {
    Reply::Error(status, code, message.to_string())
}

/// The step, sent through a proxy with a password on this loopback port,
/// to a host name only a proxy could reach.
fn through_proxy(sts: &StandIn, s: Step, port: u16) -> Step {
    through_proxy_as(sts, s, port, "ci:s3cr%2Fet")
}

/// [`through_proxy`], with this user and password.
fn through_proxy_as(sts: &StandIn, s: Step, port: u16, userinfo: &str) -> Step {
    s.set(
        "HTTPS_PROXY",
        &format!("http://{userinfo}@127.0.0.1:{port}"),
    )
    .set(
        "PLUGIN_STS_ENDPOINT",
        &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
    )
}

/// A proxy password long enough that a server can quote a part of it.
const PROXY_PASSWORD: &str = "pr0xy-Passw0rd-of-the-runner-42";

/// What a server quoting the proxy's credentials in part says: 16
/// characters of [`PROXY_PASSWORD`] and 20 of the `Proxy-Authorization`
/// Basic value that carries it.
fn quoting_the_proxy() -> String {
    let basic = basic_value(format!("ci:{PROXY_PASSWORD}").as_bytes());
    format!(
        "password {} basic {}",
        &PROXY_PASSWORD[4..20],
        &basic[8..28]
    )
}

/// A proxy that refuses every CONNECT with a 407 whose status text, header
/// and body each quote [`quoting_the_proxy`].
fn proxy_quoting_itself() -> u16 {
    let quote = quoting_the_proxy();
    let reply = format!(
        "HTTP/1.1 407 {quote}\r\nProxy-Authenticate: Basic realm=\"{quote}\"\r\nContent-Length: {}\r\n\r\n{quote}",
        quote.len()
    );
    answering_proxy(Box::leak(reply.into_boxed_str()).as_bytes()).0
}

/// A block page that quotes the request it refused: half of the token,
/// the policy, the form body (percent-encoded) and the policy as HTML text.
fn block_page() -> Vec<u8> {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "<p>token {}</p><p>{POLICY_ECHOED}</p><pre>WebIdentityToken={}&amp;Policy={}</pre><p>{}</p>",
        &OPAQUE_TOKEN[3..18],
        encode(OPAQUE_TOKEN),
        encode(POLICY_ECHOED),
        POLICY_ECHOED.replace('"', "&quot;"),
    )
    .into_bytes()
}

pub(super) fn answer_cases() -> Vec<Case> {
    vec![
        // The token a command printed, quoted on its stderr, is shown
        // nowhere, at info or trace, the first time or when run again.
        case("a token command run again for a retry", 0, "assumed", 2)
            .replies(vec![Reply::RetryAfter("0".into())])
            .with(token_command(r#"echo "minting $T" >&2; printf '%s\n' "$T""#))
            .trace_says("debug: read the token again from PLUGIN_OIDC_TOKEN_COMMAND ("),
        case("a server speaking only TLS 1.2", 0, "assumed arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc", 1)
            .transport(Transport::Tls12),
        case("503 twice, then success", 0, "assumed arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc", 3)
            .replies(vec![err(503, "ServiceUnavailable", "Service unavailable"), Reply::Raw(503, "text/plain", b"busy".to_vec())]),
        case("throttled twice, then success", 0, "assumed", 3).replies(vec![err(400, "Throttling", "Rate exceeded"), err(400, "ThrottlingException", "Rate exceeded")]),
        case("IDPCommunicationError once, then success", 0, "assumed", 2).replies(vec![err(400, "IDPCommunicationError", "Couldn't reach the IdP")]),
        case("provider keys not retrievable once, then success", 0, "assumed", 2).replies(vec![err(400, "InvalidIdentityToken", AWS_KEY_RETRIEVAL)]),
        case("500 on every attempt", 3, "InternalFailure: An internal error occurred (after 3 attempts in ", 3)
            .replies(vec![err(500, "InternalFailure", "An internal error occurred"); 3]),
        case("502 HTML on every attempt", 5, "answered HTTP 502 (text/html) that is not an STS answer", 3)
            .replies(vec![Reply::Raw(502, "text/html", b"<html><body>Bad gateway</body></html>".to_vec()); 3]),
        case("AccessDenied", 3, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (RequestId ", 1)
            .replies(vec![err(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")]),
        case("no OIDC provider", 3, "check that account 123456789012 has an IAM OIDC provider for https://app.harness.io/ng/api/oidc/account/acc123", 1)
            .replies(vec![err(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://app.harness.io/ng/api/oidc/account/acc123")]),
        // Refused unsent, as --check refuses it (§1.3).
        case("expired token", 3, "the token expired 1h 0m ago (exp ", 0)
            .with(|_, s| {
                let t: &'static str = Box::leak(jwt("https://app.harness.io/ng/api/oidc/account/acc123", "sts.amazonaws.com", "x", now() - 3600).into_boxed_str());
                s.set("PLUGIN_OIDC_TOKEN_ID", t)
            }),
        // This machine's clock is behind STS's: STS's word is the hint.
        case("STS says an unexpired token expired", 3, "STS considers it expired, so check this machine's clock", 1)
            .replies(vec![err(400, "ExpiredTokenException", "Token expired: current date/time 1 must be before the expiration date/time 0")]),
        case("a command after a refused exchange", 3, "AccessDenied: Not authorized", 1)
            .replies(vec![err(403, "AccessDenied", "Not authorized")])
            .args(&["--", "sh", "-c", "echo ran"]),
        case("IDPRejectedClaim", 3, "rejected one of these claims", 1).replies(vec![err(403, "IDPRejectedClaim", "Claim rejected")]),
        case("MalformedPolicyDocument", 3, "fix the session policy in PLUGIN_POLICY", 1)
            .set("PLUGIN_POLICY", "{\"Version\":\"2012-10-17\"}")
            .replies(vec![err(400, "MalformedPolicyDocument", "Syntax errors in policy.")]),
        case("PackedPolicyTooLarge", 3, "PackedPolicyTooLarge", 1).replies(vec![err(400, "PackedPolicyTooLarge", "Policy too large")]),
        case("RegionDisabledException", 3, "STS is not activated for this account in this region", 1)
            .replies(vec![err(403, "RegionDisabledException", "STS is not activated in this region for account:123456789012.")]),
        case("duration over the role's maximum", 3, "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 1)
            .set("PLUGIN_DURATION", "2h")
            .with(|sts, s| {
                sts.max_session(3600);
                s
            }),
        case("InvalidParameterValue", 3, "InvalidParameterValue", 1).replies(vec![err(400, "InvalidParameterValue", "Bad value")]),
        case("some other 4xx", 3, "HTTP 404): NotFound", 1).replies(vec![err(404, "NotFound", "nothing here")]),
        case("HTML proxy page", 5, "first bytes: `<!DOCTYPE html> <html><head><title>Access blocked", 1)
            .replies(vec![Reply::Raw(200, "text/html", fixture("proxy-page.html"))]),
        case("body over 1 MiB", 5, "with a body over 1 MiB", 1).replies(vec![Reply::Raw(200, "text/xml", vec![b'<'; 2 << 20])]),
        case("garbage instead of HTTP", 5, "did not answer with HTTP", 1).replies(vec![Reply::Garbage]),
        case("XML with a DTD", 5, "it has a DOCTYPE", 1).replies(vec![Reply::Raw(200, "text/xml", fixture("dtd.xml"))]),
        case("truncated XML", 5, "the body is not XML", 1).replies(vec![Reply::Raw(200, "text/xml", fixture("truncated.xml"))]),
        case("success without SessionToken", 5, "the success XML has no SessionToken", 1)
            .replies(vec![Reply::Raw(200, "text/xml", fixture("success-missing-session-token.xml"))]),
        case("XML that is neither", 5, "neither a success nor an ErrorResponse", 1)
            .replies(vec![Reply::Raw(200, "text/xml", b"<Hello>world</Hello>".to_vec())]),
        case("silent server", 4, "no answer from 127.0.0.1 within the 2s timeout (from PLUGIN_TIMEOUT)", 1)
            .set("PLUGIN_TIMEOUT", "2s")
            .replies(vec![Reply::Stall]),
        case("connection closed without an answer", 4, "cannot reach 127.0.0.1: connection closed before an answer after 3 attempts", 3).replies(vec![Reply::Close; 3]),
        case("connection refused", 4, "cannot reach 127.0.0.1: connection refused", 0).with(|_, s| {
            let port = closed_port();
            let url: &'static str = Box::leak(format!("https://127.0.0.1:{port}").into_boxed_str());
            s.set("PLUGIN_STS_ENDPOINT", url)
        }),
        case("untrusted certificate", 4, "TLS to 127.0.0.1 failed: the server's certificate is not trusted (unknown issuer)", 0)
            .transport(Transport::UntrustedTls),
        // Only AES-GCM is offered (src/request/tls.rs, §3.3).
        case("a server offering only ChaCha20-Poly1305", 4, "TLS to 127.0.0.1 failed: the TLS handshake failed (received fatal alert: HandshakeFailure)", 0)
            .transport(Transport::ChaChaOnly),
        case("a credential dotenv readers would mangle", 5, "the answer holds a character STS never sends in SessionToken", 1)
            .replies(vec![Reply::Raw(200, "text/xml", dollar_success())]),
        case("variables file cannot be opened", 6, "DRONE_OUTPUT (/nonexistent/dir/output.env) cannot be created: the directory /nonexistent/dir does not exist", 0)
            .set("DRONE_OUTPUT", "/nonexistent/dir/output.env"),
        case("an opaque (non-JWT) token is sent as is", 0, "assumed", 1).set("PLUGIN_OIDC_TOKEN_ID", "opaque-oauth-access-token-0123456789")
            .trace_says("the token is not a JWT; sending it as is"),
        case("a 503 with a success body is retried", 0, "assumed", 2).replies(vec![Reply::Raw(
            503,
            "text/xml",
            fixture("success-one-line-fractional.xml"),
        )]),
        case("STS quoting the policy back", 3, "ValidationError: 1 validation error detected: Value '<redacted>' at 'policy'", 1)
            .set("PLUGIN_POLICY", POLICY_ECHOED)
            .replies(vec![err(
                400,
                "ValidationError",
                &format!("1 validation error detected: Value '{POLICY_ECHOED}' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            )]),
        // Destinations are refused before STS is asked.
        case("explicit output is a device", 6, "--output / PLUGIN_OUTPUT_FILE (/dev/null) is a device, not a regular file", 0)
            .set("PLUGIN_OUTPUT_FILE", "/dev/null"),
        case("secret file is a directory", 6, "is a directory; name a file inside it", 0).with(|_, s| {
            let dir = s.dir.join("a-folder");
            std::fs::create_dir(&dir).unwrap();
            s.set("HARNESS_OUTPUT_SECRET_FILE", dir.to_str().unwrap())
        }),
        case("secret file is a symlink", 6, "is a symbolic link, which is never followed for an output", 0).with(|_, s| {
            let target = write_file(&s.dir, "target.env", "");
            let link = s.dir.join("link.env");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            s.set("HARNESS_OUTPUT_SECRET_FILE", link.to_str().unwrap())
        }),
        case("secret file others can write", 6, "can be written by group or others (mode 0666); run chmod go-w", 0).with(|_, s| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&s.secret_file, "").unwrap();
            std::fs::set_permissions(&s.secret_file, std::fs::Permissions::from_mode(0o666)).unwrap();
            s
        }),
        case("output and variables file are one file", 6, "DRONE_OUTPUT (", 0).with(|_, s| {
            let vars = s.vars_file.display().to_string();
            s.set("PLUGIN_OUTPUT_FILE", &vars)
        }),
        case("secret file is the token file", 6, "is the same file as AWS_WEB_IDENTITY_TOKEN_FILE", 0).with(|_, s| {
            let file = write_file(&s.dir, "token", &s.token);
            let path = file.to_str().unwrap();
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", path).set("HARNESS_OUTPUT_SECRET_FILE", path)
        }),
        case("CA bundle as the output", 6, "is the same file as PLUGIN_CA_BUNDLE", 0)
            .with(|sts, s| s.set("PLUGIN_OUTPUT_FILE", sts.ca().to_str().unwrap())),
        case("STS quoting the token whole, encoded and in part", 3, "ValidationError: Value '<redacted>', '<redacted>' or '<redacted>' at 'webIdentityToken'", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .replies(vec![err(
                400,
                "ValidationError",
                &format!("Value '{OPAQUE_TOKEN}', '{}' or '{}' at 'webIdentityToken'", OPAQUE_TOKEN.replace(':', "%3A").replace('!', "%21"), &OPAQUE_TOKEN[5..20]),
            )]),
        case("a block page quoting the request", 5, "answered HTTP 403 (text/html; charset=utf-8) that is not an STS answer", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .set("PLUGIN_POLICY", POLICY_ECHOED)
            .replies(vec![Reply::Raw(403, "text/html; charset=utf-8", block_page())]),
        case("a header quoting the token", 5, "answered HTTP 403 (text/html; echo=<redacted>) that is not an STS answer", 1)
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN)
            .replies(vec![Reply::Raw(403, "text/html; echo=opaque:SIG:abc!def-0123456789x", b"<p>no</p>".to_vec())]),
        case("a 900 KB STS message", 3, "ValidationError: xxxxxxxx", 1)
            .replies(vec![err(400, "ValidationError", &"x".repeat(900_000))]),
        case("HTML with a charset on every attempt", 5, "answered HTTP 500 (text/html; charset=utf-8) that is not an STS answer: ", 3)
            .replies(vec![Reply::Raw(500, "text/html; charset=utf-8", b"<html><body>oops</body></html>".to_vec()); 3]),
        case("silent server, the timeout said once", 4, "s of it waiting; check that this runner can reach it", 1)
            .set("PLUGIN_TIMEOUT", "2s")
            .replies(vec![Reply::Stall]),
        case("proxy refusing the connection", 4, "cannot reach sts.stand-in.invalid through the proxy http://***:***@127.0.0.1:", 0).with(|sts, s| {
            through_proxy(sts, s, closed_port())
        }),
        // A proxy's own refusal, and STS's through it, quoting the proxy's
        // password and Basic value in part: the 12-character check below.
        case("a proxy refusal quoting its password and Basic value", 4, "refused to connect to sts.stand-in.invalid: 407 Proxy Authentication Required; check HTTPS_PROXY", 0)
            .with(|sts, s| through_proxy_as(sts, s, proxy_quoting_itself(), &format!("ci:{PROXY_PASSWORD}"))),
        case("STS through a proxy quoting its password and Basic value", 3, "AccessDenied: saw password <redacted> basic <redacted> (RequestId", 1)
            .with(|sts, s| through_proxy_as(sts, s, standin::Proxy::start(sts.port).port, &format!("ci:{PROXY_PASSWORD}")))
            .replies(vec![err(403, "AccessDenied", &format!("saw {}", quoting_the_proxy()))]),
        case("proxy dropping the connection", 4, "through the proxy http://***:***@127.0.0.1:", 0).with(|sts, s| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            std::thread::spawn(move || listener.incoming().for_each(drop));
            through_proxy(sts, s, port)
        }),
        case("a shell command in SessionToken", 5, "answered HTTP 200 with credentials, but the answer holds a character STS never sends in SessionToken; nothing was written", 1)
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z"))]),
        case("a shell command in the Arn", 5, "the answer holds a character STS never sends in AssumedRoleUser/Arn", 1)
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN, "2099-01-01T00:00:00Z"))]),
        case("a leap second in Expiration", 5, "Expiration is not an RFC 3339 UTC time", 1)
            .set("PLUGIN_OUTPUT_FORMAT", "credential-process")
            .replies(vec![Reply::Raw(200, "text/xml", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "9999-12-31T23:59:60Z"))]),
        case("an answer that is not UTF-8", 5, "the body is not UTF-8", 1).replies(vec![Reply::Raw(200, "text/xml", {
            let mut b = hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z");
            b.extend_from_slice(b"<!-- \xff -->");
            b
        })]),
        case("an answer in ISO-8859-1", 5, "the body is declared as charset `iso-8859-1`", 1)
            .replies(vec![Reply::Raw(200, "text/xml; charset=iso-8859-1", hostile_success(HOSTILE_TOKEN_OK, HOSTILE_ARN_OK, "2099-01-01T00:00:00Z"))]),
        case("a session token over 64 KiB", 5, "answered HTTP 200 with credentials, but SessionToken is 65537 characters, over the 65536 aws-oidc takes; nothing was written", 1)
            .replies(vec![Reply::StsWithTokenOf((64 << 10) + 1)]),
        // A request line longer than the client's buffer is this side's
        // doing: not blamed on the server, not retried, and nothing reaches it.
        case("a request the client cannot write", 1, "cannot send the request to 127.0.0.1: a request line or header is longer than the client's output buffer (ureq: protocol: output too small to write output); this is aws-oidc's doing, not the server's or the network's; nothing was written", 0)
            .with(|sts, s| s.set("PLUGIN_STS_ENDPOINT", &format!("{}/{}", sts.url(), "p".repeat(9 << 10)))),
        case("response headers over the limit", 5, "answered with response headers over 16 KiB", 1).replies(vec![Reply::StsWithHeaders(100 << 10)]),
        case("throttled up to the attempt cap the user set", 3, "of it waiting (max attempts 3, from PLUGIN_MAX_ATTEMPTS)", 3)
            .replies(vec![err(400, "Throttling", "Rate exceeded"); 3]),
        case("Retry-After past the timeout", 3, "the server asked to wait 3600s, past the 20s timeout (from PLUGIN_TIMEOUT)", 1)
            .replies(vec![Reply::RetryAfter("3600".into())]),
        case("a Retry-After date past the timeout", 3, "past the 20s timeout (from PLUGIN_TIMEOUT)", 1)
            .replies(vec![Reply::RetryAfter("Fri, 01 Jan 2100 00:00:00 GMT".into())]),
        // An input that does not exist yet is still an input: a later step's
        // SDK reads it (attack finding 2).
        case("secret file is the token file, not there yet", 6, "is the same file as AWS_WEB_IDENTITY_TOKEN_FILE", 0).with(|_, s| {
            let path = s.dir.join("token").display().to_string();
            s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &path).set("HARNESS_OUTPUT_SECRET_FILE", &path)
        }),
        case("secret file is SSL_CERT_FILE, not there yet", 6, "is the same file as SSL_CERT_FILE", 0).with(|_, s| {
            let path = s.dir.join("ca.pem").display().to_string();
            s.set("SSL_CERT_FILE", &path).set("HARNESS_OUTPUT_SECRET_FILE", &path)
        }),
        case("an outage worded as a failure, with what to do", 3, "STS failed AssumeRoleWithWebIdentity (HTTP 503): ServiceUnavailable: Service is down", 3)
            .trace_says("try later")
            .replies(vec![err(503, "ServiceUnavailable", "Service is down"); 3]),
        case("InternalFailure says what to do", 3, "; STS or something in between failed; it is retried until the timeout", 3)
            .replies(vec![err(500, "InternalFailure", "internal"); 3]),
        case("an unknown code says what to do", 3, "; aws-oidc has no hint for this code; look it up under Errors", 1)
            .trace_says("SomeNewCode: new (RequestId ")
            .replies(vec![err(400, "SomeNewCode", "new")]),
        case("a redirect names where, masked", 5, "answered HTTP 302 redirecting to https://***:***@login.example/sso?x=1 (redirects are not followed); set the endpoint", 1)
            .replies(vec![Reply::Redirect(302, "https://user:pw@login.example/sso?x=1".into())]),
        case("a refusal with the cache on writes no entry", 3, "AccessDenied: no (RequestId ", 1)
            .with(cache_in("cache"))
            .replies(vec![err(403, "AccessDenied", "no")]),
        case("an answer for an account not allowed", 5, "error: STS answered with credentials for arn:aws:sts::210987654321:assumed-role/harness-ci/harness-aws-oidc in account 210987654321, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (123456789012); nothing was written", 1)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::StsAsAccount("210987654321")]),
        case("an answer without its role under the account guard", 5, "error: STS answered without AssumedRoleUser/Arn, so its account cannot be checked against PLUGIN_ALLOWED_ACCOUNT_IDS; nothing was written", 1)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::Raw(200, "text/xml", without_assumed_role())]),
        case("an answer for an account not allowed, masked", 5, "STS answered with credentials for arn:aws:sts::************:assumed-role/harness-ci/harness-aws-oidc in account ************, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (1 account id, masked)", 1)
            .set("PLUGIN_MASK_ACCOUNT_ID", "true")
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT)
            .replies(vec![Reply::StsAsAccount("210987654321")]),
        case("a chained hop refused names its hop, role and what must hold", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 403): AccessDenied: User: arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/deploy (RequestId ", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .with(|sts, s| {
                sts.deny_role(CHAIN_ROLE);
                s
            })
            .trace_says("the trust policy of arn:aws:iam::210987654321:role/deploy names the previous assumed role arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"),
        case("a chained hop whose signer STS does not accept", 3, "(HTTP 403): InvalidClientTokenId: The security token included in the request is invalid (RequestId ", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(403, "InvalidClientTokenId", "The security token included in the request is invalid")])
            .trace_says("STS did not accept the credentials of arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc that signed this hop"),
        case("the first hop of a chain refused names it", 3, "STS refused AssumeRoleWithWebIdentity (hop 1 of 2, role arn:aws:iam::123456789012:role/harness-ci) (HTTP 400): InvalidIdentityToken", 1)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![err(400, "InvalidIdentityToken", "No OpenIDConnect provider found")]),
        case("a chained hop asking past the chaining hour", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 400): ValidationError: The requested DurationSeconds exceeds", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")]),
        case("a chained hop answered without credentials", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200 (text/xml) that is not an STS answer: the answer is a <GetCallerIdentityResponse>, not the AssumeRoleResponse asked for; first bytes: `", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/xml", caller_identity_xml("arn:aws:sts::210987654321:assumed-role/deploy/x"))]),
        case("a chained hop throttled until the attempts run out", 3, "STS refused AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy) (HTTP 400): Throttling: Rate exceeded", 4)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(400, "Throttling", "Rate exceeded"), err(400, "Throttling", "Rate exceeded"), err(400, "Throttling", "Rate exceeded")]),
        case("a chained hop with no answer names its hop", 4, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): cannot reach 127.0.0.1", 4)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Close, Reply::Close, Reply::Close]),
        case("a chained hop's answer not understood names its hop", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/html", b"<html>portal</html>".to_vec())]),
        case("verify answered with another caller", 5, "--verify: STS says the credentials are arn:aws:sts::999999999999:assumed-role/other/x, not the assumed role arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc; nothing was written", 2)
            .set("PLUGIN_VERIFY", "true")
            .with(|sts, s| {
                sts.caller_arn("arn:aws:sts::999999999999:assumed-role/other/x");
                s
            }),
        case("verify refused", 3, "STS refused GetCallerIdentity (--verify) (HTTP 403): ExpiredToken: The security token included in the request is expired", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, err(403, "ExpiredToken", "The security token included in the request is expired")])
            .trace_says("STS did not accept the new credentials that signed GetCallerIdentity"),
        case("verify answered with credentials instead", 5, "GetCallerIdentity (--verify): 127.0.0.1 answered HTTP 200, but the answer is a <AssumeRoleWithWebIdentityResponse>, not the GetCallerIdentityResponse asked for; nothing was written", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, Reply::Raw(200, "text/xml", standin::success_xml("ASIAVERIFYCASE000001", "verifyCaseSecretKey00000000000000000001", "verifyCaseSessionToken000000000000000001", "2099-01-01T00:00:00Z", HOSTILE_ARN_OK))]),
        case("the cache folder shared (sticky)", 6, "(from PLUGIN_CACHE_DIR) is a shared folder (mode 1777); give the cache a folder of its own, such as ", 0)
            .with(|sts, s| {
                let dir = s.dir.join("tmp");
                std::fs::create_dir(&dir).unwrap();
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
                cache_in("tmp")(sts, s)
            }),
        case("the cache folder holding other files", 6, "is a shared folder (it holds other files, such as notes.txt); give the cache a folder of its own", 0)
            .with(|sts, s| {
                std::fs::create_dir(s.dir.join("home")).unwrap();
                write_file(&s.dir.join("home"), "notes.txt", "x");
                cache_in("home")(sts, s)
            }),
        // Its parent made, the folder itself cannot be: the reason is the
        // OS's, and nothing is asked.
        case("the cache folder's name too long", 6, "(from PLUGIN_CACHE_DIR) cannot be created: file name too long; set --cache-dir / PLUGIN_CACHE_DIR to a folder this user may write", 0)
            .with(|sts, s| cache_in(Box::leak("x".repeat(300).into_boxed_str()))(sts, s)),
        // Under a file: a regression cannot make it in the working directory.
        case("the cache folder a relative path", 2, "PLUGIN_CACHE_DIR: `Cargo.toml/cache` must be an absolute path: credential_process runs from any working directory", 0)
            .set("PLUGIN_CACHE", "true")
            .set("PLUGIN_CACHE_DIR", "Cargo.toml/cache"),
        case("a chained hop answered for another role", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): STS answered with arn:aws:sts::210987654321:assumed-role/admin/harness-aws-oidc, not role deploy as session harness-aws-oidc (an ARN ending in :assumed-role/deploy/harness-aws-oidc); nothing was written", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::StsEdited("assumed-role/deploy/", "assumed-role/admin/".into())]),
        case("a first hop answered for an account not allowed stops there", 5, "AssumeRoleWithWebIdentity (hop 1 of 2, role arn:aws:iam::123456789012:role/harness-ci): STS answered with credentials for arn:aws:sts::999999999999:assumed-role/harness-ci/harness-aws-oidc in account 999999999999, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list", 1)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012,210987654321")
            .replies(vec![Reply::StsAsAccount("999999999999")]),
        case("a last hop answered for an account not allowed", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): STS answered with credentials for arn:aws:sts::999999999999:assumed-role/deploy/harness-aws-oidc in account 999999999999, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", "123456789012,210987654321")
            .replies(vec![Reply::Sts, Reply::StsAsAccount("999999999999")]),
        case("a chained hop answered with the web-identity root", 5, "AssumeRole (hop 2 of 2, role arn:aws:iam::210987654321:role/deploy): 127.0.0.1 answered HTTP 200 with credentials, but the answer is a <AssumeRoleWithWebIdentityResponse>, not the AssumeRoleResponse asked for; nothing was written", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, Reply::StsEdited("AssumeRoleRe", "AssumeRoleWithWebIdentityRe".into())]),
        // A refusal that is not about the web identity keeps its own hint
        // on a chained hop.
        case("a chained hop in a region STS is off in", 3, "); STS is not activated for this account in this region; activate it in IAM account settings, or choose another region (--region / PLUGIN_REGION)", 2)
            .set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE)
            .replies(vec![Reply::Sts, err(403, "RegionDisabledException", "STS is not activated in this region for account:210987654321")]),
        // The right caller, but an error status: not an answer to trust.
        case("verify answered with an error status", 5, "GetCallerIdentity (--verify): 127.0.0.1 answered HTTP 403, but with an error status; nothing was written; check that the endpoint is STS", 2)
            .set("PLUGIN_VERIFY", "true")
            .replies(vec![Reply::Sts, Reply::Raw(403, "text/xml", caller_identity_xml("arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"))]),
        case("an answer with two Credentials", 5, "127.0.0.1 answered HTTP 200 with credentials, but the answer has more than one Credentials; nothing was written", 1)
            .replies(vec![Reply::StsEdited("</Credentials>", "</Credentials><Credentials></Credentials>".into())]),
        case("one of several roles refused names it and writes nothing", 3, "STS refused AssumeRoleWithWebIdentity for role gov (arn:aws:iam::210987654321:role/deploy) (HTTP 403): AccessDenied", 2)
            .unset("PLUGIN_IAMROLEARN")
            .set("PLUGIN_ROLES", TWO_ROLES)
            .with(|sts, s| {
                sts.deny_role(CHAIN_ROLE);
                s
            }),
        case("one of several roles unreachable names it", 4, "role prod (arn:aws:iam::123456789012:role/harness-ci): cannot reach 127.0.0.1", 3)
            .unset("PLUGIN_IAMROLEARN")
            .set("PLUGIN_ROLES", TWO_ROLES)
            .replies(vec![Reply::Close, Reply::Close, Reply::Close]),
        case("an answer with two AssumedRoleUser", 5, "127.0.0.1 answered HTTP 200 with credentials, but the answer has more than one AssumedRoleUser; nothing was written", 1)
            .replies(vec![Reply::StsEdited("<Credentials>", "<AssumedRoleUser></AssumedRoleUser><Credentials>".into())]),
    ]
}

/// A `GetCallerIdentityResponse` naming `arn`.
fn caller_identity_xml(arn: &str) -> Vec<u8> {
    let account = arn.split(':').nth(4).unwrap();
    format!(
        "<GetCallerIdentityResponse xmlns=\"{}\"><GetCallerIdentityResult><Arn>{arn}</Arn>\
         <Account>{account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
        standin::NS
    )
    .into_bytes()
}

/// A success body whose credentials are fine but which names no assumed
/// role (no `AssumedRoleUser`), as some STS-compatible servers answer.
fn without_assumed_role() -> Vec<u8> {
    let body = String::from_utf8(hostile_success(
        HOSTILE_TOKEN_OK,
        HOSTILE_ARN_OK,
        "2099-01-01T00:00:00Z",
    ))
    .unwrap();
    let arn = format!("<AssumedRoleUser><Arn>{HOSTILE_ARN_OK}</Arn></AssumedRoleUser>");
    assert!(body.contains(&arn));
    body.replace(&arn, "").into_bytes()
}

/// A success body with these values, as a hostile or altered answer sends it.
fn hostile_success(token: &str, arn: &str, expiration: &str) -> Vec<u8> {
    standin::success_xml(
        "ASIAHOSTILE000000001",
        HOSTILE_SECRET,
        token,
        expiration,
        arn,
    )
}

#[test]
fn answers_matrix() {
    let cases = answer_cases();
    assert!(cases.len() >= 25);
    // Retried cases spend most of their time waiting (retry::LATER paces a
    // throttled run at a second or more): side by side, the matrix takes
    // about as long as its slowest case.
    let outcomes = std::thread::scope(|scope| {
        let running: Vec<_> = cases
            .iter()
            .map(|c| scope.spawn(move || outcome(c)))
            .collect();
        running
            .into_iter()
            .map(|case| {
                case.join()
                    .unwrap_or_else(|_| Err("the case's thread died".into()))
            })
            .collect()
    });
    assert_all_pass(outcomes);
}

/// A success answer that is refused (altered in transit, or by a hostile
/// server) holds credentials: no part of them is ever shown, however it was
/// refused, and the line says so without a preview.
#[test]
fn a_refused_answer_with_credentials_shows_no_part_of_them() {
    const KEY: &str = "wJalrXUtnFEMIK7MDENXGbPxRfiCYEXAMPLEKEY12";
    const TOKEN: &str = "FwoGZXIvYXdzEBYaDHnSeSsionT0kenPartTwo0001";
    let success = || {
        standin::success_xml(
            "ASIAREFUSED000000001",
            KEY,
            TOKEN,
            "2099-01-01T00:00:00Z",
            HOSTILE_ARN_OK,
        )
    };
    let altered = |from: &[u8], to: &[u8]| -> Vec<u8> {
        let body = success();
        let at = body.windows(from.len()).position(|w| w == from).unwrap();
        [&body[..at], to, &body[at + from.len()..]].concat()
    };
    let rows: Vec<(&str, u16, &str, Vec<u8>, &str)> = vec![
        (
            "a byte not UTF-8 inside the secret key",
            200,
            "text/xml",
            altered(b"MDENX", b"MDEN\xe9"),
            "the body is not UTF-8",
        ),
        (
            "a DOCTYPE before a success body",
            200,
            "text/xml",
            [b"<!DOCTYPE x>".as_slice(), &success()].concat(),
            "DOCTYPE",
        ),
        (
            "a success body without its Expiration",
            200,
            "text/xml",
            altered(b"<Expiration>2099-01-01T00:00:00Z</Expiration>", b""),
            "has no Expiration",
        ),
        (
            "a success body in another charset",
            200,
            "text/xml; charset=iso-8859-1",
            success(),
            "charset `iso-8859-1`",
        ),
        (
            "a success body cut short",
            200,
            "text/xml",
            success()[..400].to_vec(),
            "the body is not XML",
        ),
        (
            "a success body with an error status",
            403,
            "text/xml",
            success(),
            "with an error status",
        ),
    ];
    for (name, status, ct, body, says) in rows {
        for level in ["info", "trace"] {
            let sts = StandIn::start();
            sts.script([Reply::Raw(status, ct, body.clone())]);
            let step = Step::harness(&sts)
                .set("PLUGIN_LOG_LEVEL", level)
                .set("PLUGIN_MAX_ATTEMPTS", "1");
            let out = step.run(&[]);
            let ctx = format!("{name} at {level}:\n{}", out.stderr);
            assert_eq!(out.code, 5, "{ctx}");
            let last = out.last_line();
            assert!(
                last.contains(&format!("answered HTTP {status} with credentials, but ")),
                "{ctx}"
            );
            assert!(last.contains(says), "{ctx}\nwanted: {says}");
            assert!(!last.contains("first bytes"), "{ctx}");
            for secret in [KEY, TOKEN] {
                for w in secret.as_bytes().windows(8) {
                    let w = std::str::from_utf8(w).unwrap();
                    assert!(
                        !out.stderr.contains(w) && !out.stdout.contains(w),
                        "shows `{w}`: {ctx}"
                    );
                }
            }
            assert_eq!(step.secrets(), "", "{ctx}");
        }
    }
}

/// A proxy that takes the CONNECT and drops it is unreachable, not a
/// refusal of its credentials: "cannot reach … through the proxy", retried
/// as unreachable. A 407 names itself and points at the credentials.
#[test]
fn a_proxy_dropping_the_connect_is_unreachable_and_a_407_names_itself() {
    let sts = StandIn::start();
    let (port, count) = answering_proxy(b"");
    let step = through_proxy(&sts, Step::harness(&sts), port);
    let out = step.run(&[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let last = out.last_line();
    assert!(
        last.contains(&format!(
            "cannot reach {} through the proxy http://***:***@127.0.0.1:{port} (from HTTPS_PROXY)",
            standin::PROXY_ONLY_HOST
        )),
        "{last}"
    );
    assert!(!last.contains("credentials"), "{last}");
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "{}",
        out.stderr
    );
    out.says("attempt 1 of 3 failed: proxy: it closed");

    let (port, count) = answering_proxy(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n");
    let out = through_proxy(&sts, Step::harness(&sts), port).run(&[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let last = out.last_line();
    assert!(last.contains("407 Proxy Authentication Required"), "{last}");
    assert!(
        last.contains("check HTTPS_PROXY and its credentials"),
        "{last}"
    );
    assert!(!last.contains("407/407"), "{last}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(sts.requests().len(), 0);
}
