//! AWS Signature Version 4 for STS form POSTs. Pure: a request, credentials,
//! a scope and a time in; the headers that sign it out.
//!
//! Built from ring's HMAC-SHA256 and SHA-256, which rustls already links.
//! Each step of the algorithm is a function of its own, so tests can hold
//! each one against AWS's published test-suite vectors:
//! [`canonical_request`] → [`string_to_sign`] (with [`credential_scope`])
//! → [`signing_key`] → [`signature`]; [`sign`] runs them all.
//!
//! STS needs no `X-Amz-Content-Sha256` header (only S3 does), so none is
//! added; the body's hash is still the canonical request's last line.
//! STS form POSTs carry every parameter in the body, so the canonical query
//! string is always empty.

use ring::{digest, hmac};

use crate::secret::Secret;

/// The signing algorithm's name, the first word of `Authorization`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The region the global endpoint and a host without a region sign for.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The service name STS signs for.
pub const STS_SERVICE: &str = "sts";

/// The keys that sign a request.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// `AKIA…` or `ASIA…`; not a secret (it names the key, and STS echoes it).
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a Secret,
    /// The session token of temporary credentials; sent and signed as
    /// `X-Amz-Security-Token`.
    pub session_token: Option<&'a Secret>,
}

/// The request to sign, as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The `Host` header as sent: the host, with `:port` when the URL
    /// names a port that is not the scheme's default.
    pub host: &'a str,
    /// The URL's path as sent (already percent-encoded), `/` for STS.
    pub path: &'a str,
    /// Headers to sign besides `Host`, `X-Amz-Date` and
    /// `X-Amz-Security-Token`, which [`sign`] adds itself. Every header
    /// given here is signed, so give only headers sent as given.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body, whose SHA-256 is signed.
    pub body: &'a [u8],
}

/// What a signature is scoped to, and when it is made.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The signing region, from [`signing_region`].
    pub region: &'a str,
    /// The service, [`STS_SERVICE`] for STS.
    pub service: &'a str,
    /// When the request is signed, in Unix seconds.
    pub time: i64,
}

/// A signed request: the headers to send and the steps that made them.
#[derive(Debug)]
pub struct Signed {
    /// Step 1. A secret: it holds the session token, when there is one.
    pub canonical_request: Secret,
    /// Step 2: holds only hashes and the scope.
    pub string_to_sign: String,
    /// Step 3, in hex: derived from the secret key, so a secret.
    pub signing_key: Secret,
    /// The `Authorization` header's value.
    pub authorization: String,
    /// The `X-Amz-Date` header's value, `20150830T123600Z`.
    pub amz_date: String,
    /// The `X-Amz-Security-Token` header's value, for session credentials.
    pub security_token: Option<Secret>,
}

impl Signed {
    /// The headers to add to the request, values exposed for sending.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut h = vec![
            ("Authorization", self.authorization.as_str()),
            ("X-Amz-Date", self.amz_date.as_str()),
        ];
        if let Some(token) = &self.security_token {
            h.push(("X-Amz-Security-Token", token.expose()));
        }
        h
    }
}

/// Signs a request: every step of SigV4, and the headers that carry it.
pub fn sign(req: &Request, creds: &Credentials, scope: &Scope) -> Signed {
    let amz_date = amz_date(scope.time);
    // The headers the signer adds are signed with the caller's.
    let mut headers: Vec<(&str, &str)> = req.headers.to_vec();
    headers.push(("host", req.host));
    headers.push(("x-amz-date", &amz_date));
    if let Some(token) = creds.session_token {
        headers.push(("x-amz-security-token", token.expose()));
    }
    let canonical = canonical_request(req.method, req.path, &headers, req.body);
    let date = &amz_date[..8];
    let credential_scope = credential_scope(date, scope.region, scope.service);
    let string_to_sign = string_to_sign(&amz_date, &credential_scope, &canonical);
    let key = signing_key(creds.secret_access_key, date, scope.region, scope.service);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={}, Signature={}",
        creds.access_key_id,
        signed_headers(&headers),
        signature(&key, &string_to_sign)
    );
    Signed {
        canonical_request: Secret::new(canonical),
        string_to_sign,
        signing_key: key.hex(),
        authorization,
        amz_date,
        security_token: creds.session_token.cloned(),
    }
}

/// Unix seconds as SigV4's basic ISO 8601 form, `20150830T123600Z`.
pub fn amz_date(time: i64) -> String {
    crate::time::format_utc(time).replace(['-', ':'], "")
}

/// Step 1, the canonical request: method, canonical path, the (empty)
/// query string, the canonical headers, the signed header names and the
/// body's SHA-256, one per line. `headers` are all the headers signed,
/// `Host` and `X-Amz-Date` included.
pub fn canonical_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut out = format!("{method}\n{}\n\n", canonical_path(path));
    for (name, value) in canonical_headers(headers) {
        out.push_str(&name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers(headers));
    out.push('\n');
    out.push_str(&hex(digest::digest(&digest::SHA256, body).as_ref()));
    out
}

/// The `SignedHeaders` list: lower-case names, sorted, once each, `;`
/// between them.
pub fn signed_headers(headers: &[(&str, &str)]) -> String {
    canonical_headers(headers)
        .into_iter()
        .map(|(name, _)| name)
        .collect::<Vec<_>>()
        .join(";")
}

/// Headers as SigV4 signs them: names lower-cased and trimmed, sorted;
/// each value trimmed with its runs of spaces and tabs made one space;
/// the values of a name given more than once joined with `,` in the order
/// given.
fn canonical_headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            let value = v
                .split([' ', '\t'])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            (n.trim().to_ascii_lowercase(), value)
        })
        .collect();
    // An insertion sort: stable, so repeated names keep their values'
    // order, and smaller in the binary than the standard library's sort
    // for the handful of headers a request has.
    for i in 1..sorted.len() {
        let mut j = i;
        while j > 0 && sorted[j - 1].0 > sorted[j].0 {
            sorted.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut merged: Vec<(String, String)> = Vec::with_capacity(sorted.len());
    for (name, value) in sorted {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    merged
}

/// The path as SigV4 signs it for every service but S3: `.`, `..` and
/// empty segments removed (a trailing `/` kept), then each byte outside
/// the unreserved set percent-encoded, so an already-encoded path is
/// encoded a second time, as AWS's own signers do.
pub fn canonical_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(
        &segments
            .iter()
            .map(|s| uri_encode(s))
            .collect::<Vec<_>>()
            .join("/"),
    );
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Percent-encodes every byte but `A-Z a-z 0-9 - _ . ~`, upper-case hex.
pub(crate) fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push_str(&hex(&[b]).to_ascii_uppercase());
        }
    }
    out
}

/// The credential scope, `20150830/us-east-1/sts/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// Step 2, the string to sign: the algorithm, the time, the scope and the
/// canonical request's SHA-256, one per line.
pub fn string_to_sign(amz_date: &str, credential_scope: &str, canonical_request: &str) -> String {
    let hash = digest::digest(&digest::SHA256, canonical_request.as_bytes());
    format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(hash.as_ref())
    )
}

/// A derived signing key. As secret as the key it comes from: it signs any
/// request of its day, region and service, so it never prints.
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// The key in hex, as a [`Secret`].
    pub fn hex(&self) -> Secret {
        Secret::new(hex(&self.0))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Step 3, the signing key: HMAC-SHA256 chained from `AWS4` + the secret
/// key through the date (`20150830`), the region, the service and
/// `aws4_request`.
pub fn signing_key(
    secret_access_key: &Secret,
    date: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let mut key = format!("AWS4{}", secret_access_key.expose()).into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes());
        key = tag.as_ref().to_vec();
    }
    SigningKey(key)
}

/// Step 4, the signature: the string to sign's HMAC under the signing key,
/// in lower-case hex.
pub fn signature(signing_key: &SigningKey, string_to_sign: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &signing_key.0);
    hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref())
}

/// Lower-case hex, as SigV4 writes every hash and signature.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The DNS suffixes of AWS's partitions that STS hosts end in, regional and
/// dual-stack (as `endpoint` builds them; a unit test holds the two
/// together).
const STS_SUFFIXES: &[&str] = &[
    "amazonaws.com",
    "amazonaws.com.cn",
    "api.aws",
    "api.amazonwebservices.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
    "amazonaws.eu",
];

/// The region a request to `host` is signed for: `us-east-1` for the
/// global endpoint `sts.amazonaws.com` whatever the region (where
/// `AWS_STS_REGIONAL_ENDPOINTS=legacy` sends some regions; STS accepts no
/// other scope there, and botocore signs so too); else the region setting
/// when it is set (`aws-global` is the global endpoint's); else the
/// region in an AWS STS host name (`sts.R.amazonaws.com`,
/// `sts-fips.R.amazonaws.com`, `sts.R.amazonaws.com.cn`, `sts.R.api.aws`,
/// `*.sts.R.vpce.amazonaws.com`, and the same shapes in every partition),
/// so VPC endpoints and explicit regional endpoints sign for their region;
/// else `us-east-1`, which the global endpoint and an explicit endpoint
/// with no region in its name sign for. `host` is the host name alone,
/// without a port.
pub fn signing_region(region_setting: Option<&str>, host: &str) -> String {
    let global = crate::endpoint::GLOBAL.trim_start_matches("https://");
    if host.trim_end_matches('.').eq_ignore_ascii_case(global) {
        return DEFAULT_REGION.to_string();
    }
    match region_setting {
        Some("aws-global") => DEFAULT_REGION.to_string(),
        Some(region) if !region.is_empty() => region.to_string(),
        _ => region_in_host(host).unwrap_or_else(|| DEFAULT_REGION.to_string()),
    }
}

/// The region named by an AWS STS host name, if it is one.
fn region_in_host(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels
        .iter()
        .position(|l| *l == "sts" || *l == "sts-fips")?;
    let region = *labels.get(at + 1)?;
    let rest = labels.get(at + 2..)?.join(".");
    // `sts.R.<suffix>` is the whole name; a VPC endpoint's `.sts.R.vpce.<suffix>`
    // follows the endpoint's own labels.
    let suffix = match at {
        0 => rest.as_str(),
        _ => rest.strip_prefix("vpce.")?,
    };
    (STS_SUFFIXES.contains(&suffix) && looks_like_region(region)).then(|| region.to_string())
}

/// `us-east-1`, `cn-north-1`, `us-gov-west-1`, `eusc-de-east-1`: lower-case
/// words joined by `-`, ending in a number.
fn looks_like_region(label: &str) -> bool {
    label.contains('-')
        && label.ends_with(|c: char| c.is_ascii_digit())
        && label.starts_with(|c: char| c.is_ascii_lowercase())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint;

    #[test]
    fn the_signing_region_is_the_setting_else_the_host_s_else_us_east_1() {
        let rows: &[(Option<&str>, &str, &str)] = &[
            // The setting wins, whatever the host.
            (
                Some("eu-west-1"),
                "sts.us-west-2.amazonaws.com",
                "eu-west-1",
            ),
            (
                Some("cn-north-1"),
                "sts.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
            ),
            (Some("us-gov-west-1"), "127.0.0.1", "us-gov-west-1"),
            (Some("aws-global"), "sts.amazonaws.com", "us-east-1"),
            // aws-global is no signing region, whatever the endpoint.
            (Some("aws-global"), "127.0.0.1", "us-east-1"),
            // The global endpoint, where AWS_STS_REGIONAL_ENDPOINTS=legacy
            // sends some regions, signs for us-east-1 whatever the region
            // (as botocore does): STS refuses another scope there.
            (Some("eu-west-1"), "sts.amazonaws.com", "us-east-1"),
            (Some("eu-west-1"), "STS.amazonaws.com.", "us-east-1"),
            (Some(""), "sts.eu-west-3.amazonaws.com", "eu-west-3"),
            // Regional, FIPS and dual-stack hosts in every partition.
            (None, "sts.eu-west-1.amazonaws.com", "eu-west-1"),
            (None, "sts-fips.us-east-2.amazonaws.com", "us-east-2"),
            (None, "sts.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
            (None, "sts.us-gov-east-1.api.aws", "us-gov-east-1"),
            (
                None,
                "sts.cn-northwest-1.amazonaws.com.cn",
                "cn-northwest-1",
            ),
            (
                None,
                "sts.cn-north-1.api.amazonwebservices.com.cn",
                "cn-north-1",
            ),
            (None, "sts.ap-southeast-2.api.aws", "ap-southeast-2"),
            (None, "sts-fips.ca-central-1.api.aws", "ca-central-1"),
            (None, "sts.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"),
            (None, "sts.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1"),
            (None, "sts.eu-isoe-west-1.cloud.adc-e.uk", "eu-isoe-west-1"),
            (
                None,
                "sts.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1",
            ),
            (None, "sts.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1"),
            // Case and a trailing dot do not matter.
            (None, "STS.EU-CENTRAL-1.AMAZONAWS.COM.", "eu-central-1"),
            // VPC endpoints, regional and zonal.
            (
                None,
                "vpce-0123456789abcdef0-abcdefgh.sts.eu-north-1.vpce.amazonaws.com",
                "eu-north-1",
            ),
            (
                None,
                "vpce-0123-abcd-us-west-2a.sts.us-west-2.vpce.amazonaws.com",
                "us-west-2",
            ),
            (
                None,
                "vpce-1.sts.cn-north-1.vpce.amazonaws.com.cn",
                "cn-north-1",
            ),
            // The global endpoint and hosts with no region sign for us-east-1.
            (None, "sts.amazonaws.com", "us-east-1"),
            (None, "sts.amazonaws.com.cn", "us-east-1"),
            (None, "127.0.0.1", "us-east-1"),
            (None, "::1", "us-east-1"),
            (None, "localhost", "us-east-1"),
            (None, "sts.internal.example.com", "us-east-1"),
            // A label after sts that is not shaped like a region: no
            // trailing number, no dash, not starting with a letter, or
            // with a character regions never hold.
            (None, "sts.us-east.amazonaws.com", "us-east-1"),
            (None, "sts.useast1.amazonaws.com", "us-east-1"),
            (None, "sts.1-east-1.amazonaws.com", "us-east-1"),
            (None, "sts.eu_west-1.amazonaws.com", "us-east-1"),
            (None, "proxy.example.com", "us-east-1"),
            // Look-alikes are not AWS names.
            (
                None,
                "sts.eu-west-1.amazonaws.com.evil.example",
                "us-east-1",
            ),
            (None, "sts.eu-west-1.example.com", "us-east-1"),
            (None, "x.sts.eu-west-1.amazonaws.com", "us-east-1"),
            (None, "sts.eu-west-1.vpce.amazonaws.com", "us-east-1"),
            (None, "sts.not_a_region.amazonaws.com", "us-east-1"),
            (None, "sts.westeurope.amazonaws.com", "us-east-1"),
            (None, "sts..amazonaws.com", "us-east-1"),
            (None, "sts", "us-east-1"),
            (None, "", "us-east-1"),
        ];
        for (setting, host, want) in rows {
            assert_eq!(signing_region(*setting, host), *want, "{setting:?} {host}");
        }
    }

    /// Every host `endpoint` builds, in every partition, FIPS and
    /// dual-stack, and its VPC endpoint form, signs for its own region:
    /// the suffix list cannot drift from the partition table.
    #[test]
    fn every_host_the_endpoint_stage_builds_signs_for_its_region() {
        let partitions = crate::partition::PARTITIONS;
        let mut checked = 0;
        for p in partitions {
            let (name, region) = (p.name, p.example_region);
            assert_eq!(crate::partition::of_region(region).name, name);
            for (fips, dualstack) in [(false, false), (true, false), (false, true), (true, true)] {
                let input = endpoint::Input {
                    region: Some(region),
                    fips,
                    dualstack,
                    role_partition: name,
                    ..Default::default()
                };
                let Ok(ep) = endpoint::resolve(&input) else {
                    continue;
                };
                assert_eq!(signing_region(None, &ep.host), region, "{}", ep.host);
                let vpce = ep
                    .host
                    .replacen(&format!("{region}."), &format!("{region}.vpce."), 1);
                let vpce = format!("vpce-0abc-1234.{vpce}");
                if !dualstack {
                    assert_eq!(signing_region(None, &vpce), region, "{vpce}");
                }
                checked += 1;
            }
        }
        // Every partition has a plain and a FIPS endpoint; some dual-stack.
        assert!(checked >= 2 * partitions.len(), "{checked}");
        assert_eq!(
            signing_region(
                None,
                &endpoint::resolve(&endpoint::Input {
                    role_partition: "aws",
                    ..Default::default()
                })
                .map(|e| e.host)
                .unwrap_or_default()
            ),
            "us-east-1"
        );
    }

    #[test]
    fn the_steps_produce_aws_documented_values() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(hex(&[0, 1, 0xab, 0xff]), "0001abff");
        // The derived key of AWS's signing walk-through (IAM, 2012-02-15).
        let secret = Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(
            signing_key(&secret, "20120215", "us-east-1", "iam")
                .hex()
                .expose(),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
        let key = signing_key(&secret, "20120215", "us-east-1", "iam");
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(
            credential_scope("20150830", "eu-west-1", "sts"),
            "20150830/eu-west-1/sts/aws4_request"
        );
    }

    #[test]
    fn paths_and_headers_are_canonical() {
        for (path, want) in [
            ("/", "/"),
            ("", "/"),
            ("//example//", "/example/"),
            ("/./a/../b/", "/b/"),
            ("/a b/%41", "/a%20b/%2541"),
            ("/sts/proxy", "/sts/proxy"),
            ("/~_-.x", "/~_-.x"),
        ] {
            assert_eq!(canonical_path(path), want, "{path}");
        }
        let headers = [
            ("X-B", "  two   words\tand  "),
            ("host", "h"),
            (" x-a ", "1"),
            ("X-A", "2"),
        ];
        assert_eq!(
            canonical_request("POST", "/", &headers, b""),
            "POST\n/\n\nhost:h\nx-a:1,2\nx-b:two words and\n\nhost;x-a;x-b\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("SECRETKEYSECRETKEY");
        let token = Secret::new("TOKENTOKENTOKEN");
        let creds = Credentials {
            access_key_id: "ASIAEXAMPLE",
            secret_access_key: &secret,
            session_token: Some(&token),
        };
        let req = Request {
            method: "POST",
            host: "sts.eu-west-1.amazonaws.com",
            path: "/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: b"Action=AssumeRole",
        };
        let scope = Scope {
            region: "eu-west-1",
            service: STS_SERVICE,
            time: 1_700_000_000,
        };
        let signed = sign(&req, &creds, &scope);
        let shown = format!(
            "{signed:?} {creds:?} {:?}",
            signing_key(&secret, "1", "2", "3")
        );
        for s in ["SECRETKEY", "TOKENTOKEN", signed.signing_key.expose()] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert!(signed
            .canonical_request
            .expose()
            .contains("x-amz-security-token:TOKENTOKENTOKEN"));
        assert_eq!(
            signed.headers(),
            [
                ("Authorization", signed.authorization.as_str()),
                ("X-Amz-Date", "20231114T221320Z"),
                ("X-Amz-Security-Token", "TOKENTOKENTOKEN"),
            ]
        );
        assert!(signed.authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20231114/eu-west-1/sts/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        ));
    }
}
