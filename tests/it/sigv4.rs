//! The SigV4 signer (`aws_oidc::request::sigv4`) and the stand-in's independent
//! verifier (`support/sigv4.rs`), each held to AWS's published vectors
//! (`tests/fixtures/sigv4/`), to each other, and the signer to botocore's
//! `SigV4Auth` on generated requests.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::sigv4::{verify, Raw};
use aws_oidc::request::sigv4::{self, Credentials, Request, Scope};
use aws_oidc::secret::Secret;

/// The suite's key, secret, scope and time (2015-08-30T12:36:00Z).
const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TIME: i64 = 1_440_938_160;

/// The vectors used, each a folder under `tests/fixtures/sigv4/`.
const VECTORS: &[&str] = &[
    "post-vanilla",
    "post-header-key-sort",
    "post-header-value-case",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
    "post-sts-token/post-sts-header-before",
    "post-sts-token/post-sts-header-after",
];

/// One vector's five files.
struct Vector {
    name: &'static str,
    req: Raw,
    creq: String,
    sts: String,
    authz: String,
    sreq: Raw,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4")
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .iter()
        .map(|name| {
            let leaf = name.rsplit('/').next().unwrap();
            let read = |ext: &str| {
                let path = fixtures().join(name).join(format!("{leaf}.{ext}"));
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            Vector {
                name,
                req: Raw::parse(&read("req")),
                creq: read("creq"),
                sts: read("sts"),
                authz: read("authz"),
                sreq: Raw::parse(&read("sreq")),
            }
        })
        .collect()
}

/// The signer's input for a suite request: its headers but those the
/// signer adds itself, and the token when the request carries one.
fn sign_suite(raw: &Raw) -> sigv4::Signed {
    let own = ["host", "x-amz-date", "x-amz-security-token"];
    let headers: Vec<(&str, &str)> = raw
        .headers
        .iter()
        .filter(|(n, _)| !own.contains(&n.to_ascii_lowercase().as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let host = raw.values("host")[0].to_string();
    let secret = Secret::new(SECRET);
    let token = raw
        .values("x-amz-security-token")
        .first()
        .map(|t| Secret::new(*t));
    sigv4::sign(
        &Request {
            method: &raw.method,
            host: &host,
            path: &raw.path,
            headers: &headers,
            body: &raw.body,
        },
        &Credentials {
            access_key_id: KEY_ID,
            secret_access_key: &secret,
            session_token: token.as_ref(),
        },
        &Scope {
            region: "us-east-1",
            service: "service",
            time: TIME,
        },
    )
}

fn suite_secret(id: &str) -> Option<String> {
    (id == KEY_ID).then(|| SECRET.to_string())
}

#[test]
fn the_signer_matches_every_published_vector_step_by_step() {
    for v in vectors() {
        let signed = sign_suite(&v.req);
        assert_eq!(
            signed.canonical_request.expose(),
            v.creq,
            "{} .creq",
            v.name
        );
        assert_eq!(signed.string_to_sign, v.sts, "{} .sts", v.name);
        assert_eq!(signed.authorization, v.authz, "{} .authz", v.name);
        assert_eq!(signed.amz_date, "20150830T123600Z", "{}", v.name);
        // The signed request is the request plus the signer's headers (and,
        // for header-after, a token added after signing).
        assert_eq!(
            v.sreq.values("authorization"),
            [v.authz.as_str()],
            "{}",
            v.name
        );
        for (name, value) in &v.req.headers {
            assert_eq!(v.sreq.values(name), [value.as_str()], "{} {name}", v.name);
        }
        for (name, value) in signed.headers() {
            if name != "Authorization" {
                assert_eq!(v.req.values(name), [value], "{} {name}", v.name);
            }
        }
        assert_eq!(v.sreq.body, v.req.body, "{}", v.name);
    }
}

#[test]
fn the_verifier_accepts_every_published_signed_request() {
    let token = Raw::parse(
        &std::fs::read_to_string(
            fixtures().join("post-sts-token/post-sts-header-before/post-sts-header-before.req"),
        )
        .unwrap(),
    )
    .values("x-amz-security-token")[0]
        .to_string();
    for v in vectors() {
        let ok = verify(&v.sreq, suite_secret).unwrap_or_else(|r| panic!("{}: {r:?}", v.name));
        assert_eq!(
            (
                ok.access_key_id.as_str(),
                ok.region.as_str(),
                ok.service.as_str()
            ),
            (KEY_ID, "us-east-1", "service"),
            "{}",
            v.name
        );
        let want_token = v.name.contains("sts-header").then(|| token.clone());
        assert_eq!(ok.session_token, want_token, "{}", v.name);
        let token_signed = ok
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token");
        assert_eq!(token_signed, v.name.ends_with("before"), "{}", v.name);
    }
}

#[test]
fn the_verifier_refuses_any_change_to_a_signed_byte() {
    for v in vectors() {
        let mut changes: Vec<(String, Raw)> = Vec::new();
        let mut body = v.sreq.clone();
        body.body.push(b'x');
        changes.push(("body".into(), body));
        let mut path = v.sreq.clone();
        path.path = "/other".into();
        changes.push(("path".into(), path));
        let mut method = v.sreq.clone();
        method.method = "PUT".into();
        changes.push(("method".into(), method));
        for (i, (name, _)) in v.sreq.headers.iter().enumerate() {
            let lower = name.to_ascii_lowercase();
            let signed =
                v.authz.contains(&format!("{lower};")) || v.authz.contains(&format!("{lower},"));
            if lower == "authorization" || !signed {
                continue;
            }
            let mut h = v.sreq.clone();
            h.headers[i].1.push('1');
            changes.push((format!("header {name}"), h));
            let mut gone = v.sreq.clone();
            gone.headers.remove(i);
            changes.push((format!("no header {name}"), gone));
        }
        let mut sig = v.sreq.clone();
        let at = sig
            .headers
            .iter()
            .position(|(n, _)| n == "Authorization")
            .unwrap();
        let last = sig.headers[at].1.pop().unwrap();
        sig.headers[at].1.push(if last == '0' { '1' } else { '0' });
        changes.push(("signature".into(), sig));
        for (what, raw) in changes {
            let refused = verify(&raw, suite_secret).expect_err(&format!("{}: {what}", v.name));
            assert!(
                ["SignatureDoesNotMatch", "IncompleteSignature"].contains(&refused.code),
                "{}: {what}: {refused:?}",
                v.name
            );
        }
        assert_eq!(
            verify(&v.sreq, |_| None).unwrap_err().code,
            "InvalidClientTokenId"
        );
        // An unsigned header added on the way does not matter.
        let mut extra = v.sreq.clone();
        extra.headers.push(("User-Agent".into(), "proxy".into()));
        assert!(verify(&extra, suite_secret).is_ok(), "{}", v.name);
    }
    let mut unsigned = Raw::parse("POST / HTTP/1.1\nHost:h\nX-Amz-Date:20150830T123600Z");
    assert_eq!(
        verify(&unsigned, suite_secret).unwrap_err().code,
        "MissingAuthenticationToken"
    );
    unsigned
        .headers
        .push(("Authorization".into(), "Bearer x".into()));
    assert_eq!(
        verify(&unsigned, suite_secret).unwrap_err().code,
        "IncompleteSignature"
    );
}

/// A small seeded PRNG (xorshift64*), so every run makes the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
    fn text(&mut self, alphabet: &[u8], min: u64, max: u64) -> String {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// A generated case: what the signer and botocore are both given.
struct Case {
    key_id: String,
    secret: Secret,
    token: Option<Secret>,
    region: String,
    service: String,
    time: i64,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Case {
    fn generate(rng: &mut Rng) -> Case {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let secret_alphabet: Vec<u8> = [ALNUM, b"+/"].concat();
        let token_alphabet: Vec<u8> = [ALNUM, b"+/="].concat();
        // Header values: printable ASCII, with runs of spaces and tabs.
        let value_alphabet: Vec<u8> = (0x21..0x7f).chain(*b"    \t").collect();
        let host = match rng.below(4) {
            0 => format!("127.0.0.1:{}", 1024 + rng.below(60000)),
            1 => "sts.amazonaws.com".to_string(),
            2 => format!(
                "sts.{}.amazonaws.com",
                rng.pick(&["eu-west-1", "us-gov-west-1", "ap-south-2"])
            ),
            _ => "sts.cn-north-1.amazonaws.com.cn".to_string(),
        };
        let segment = |rng: &mut Rng| rng.text(b"abcXYZ019-._~%20:@!$&'()*+,;=", 1, 8);
        let path = match rng.below(3) {
            0 => "/".to_string(),
            _ => {
                (0..1 + rng.below(3))
                    .map(|_| format!("/{}", segment(rng)))
                    .collect::<String>()
                    + if rng.below(2) == 0 { "/" } else { "" }
            }
        };
        let mut headers = vec![(
            rng.pick(&["Content-Type", "content-type", "CONTENT-TYPE"])
                .to_string(),
            rng.pick(&[
                "application/x-www-form-urlencoded; charset=utf-8",
                "application/x-www-form-urlencoded",
            ])
            .to_string(),
        )];
        for _ in 0..rng.below(4) {
            let name = rng.pick(&["X-Custom", "x-extra-1", "My-Header", "Accept", "X-Amz-Meta"]);
            headers.push((name.to_string(), rng.text(&value_alphabet, 0, 24)));
        }
        let body = (0..rng.below(300)).map(|_| rng.below(256) as u8).collect();
        Case {
            key_id: format!(
                "{}{}",
                rng.pick(&["AKIA", "ASIA"]),
                rng.text(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16)
            ),
            secret: Secret::new(rng.text(&secret_alphabet, 40, 40)),
            token: (rng.below(2) == 0).then(|| Secret::new(rng.text(&token_alphabet, 100, 600))),
            region: rng
                .pick(&[
                    "us-east-1",
                    "eu-west-1",
                    "cn-north-1",
                    "us-gov-west-1",
                    "us-isob-east-1",
                ])
                .to_string(),
            service: rng.pick(&["sts", "sts", "service"]).to_string(),
            // Any second from 2000 to 2099.
            time: 946_684_800 + rng.below(3_155_760_000) as i64,
            host,
            path,
            headers,
            body,
        }
    }

    fn sign(&self) -> sigv4::Signed {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        sigv4::sign(
            &Request {
                method: "POST",
                host: &self.host,
                path: &self.path,
                headers: &headers,
                body: &self.body,
            },
            &Credentials {
                access_key_id: &self.key_id,
                secret_access_key: &self.secret,
                session_token: self.token.as_ref(),
            },
            &Scope {
                region: &self.region,
                service: &self.service,
                time: self.time,
            },
        )
    }

    /// The request as it goes on the wire, for the verifier.
    fn sent(&self, signed: &sigv4::Signed) -> Raw {
        let mut headers = vec![("Host".to_string(), self.host.clone())];
        headers.extend(self.headers.iter().cloned());
        headers.extend(
            signed
                .headers()
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        Raw {
            method: "POST".into(),
            path: self.path.clone(),
            headers,
            body: self.body.clone(),
        }
    }

    /// The line `botocore_sign.py` reads.
    fn line(&self) -> String {
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let headers: Vec<String> = self
            .headers
            .iter()
            .flat_map(|(n, v)| [n.clone(), v.clone()])
            .collect();
        let fields = [
            hex(self.key_id.as_bytes()),
            hex(self.secret.expose().as_bytes()),
            hex(self.token.as_ref().map_or("", |t| t.expose()).as_bytes()),
            hex(self.region.as_bytes()),
            hex(self.service.as_bytes()),
            hex(self.time.to_string().as_bytes()),
            hex(format!("https://{}{}", self.host, self.path).as_bytes()),
            hex(headers.join("\0").as_bytes()),
            hex(&self.body),
        ];
        fields.join("\t")
    }
}

fn cases(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = Rng(seed);
    (0..n).map(|_| Case::generate(&mut rng)).collect()
}

#[test]
fn the_verifier_accepts_what_the_signer_signs_and_nothing_changed() {
    for (i, case) in cases(0x5167_7634, 300).iter().enumerate() {
        let signed = case.sign();
        let sent = case.sent(&signed);
        let secret = case.secret.expose().to_string();
        let key_id = case.key_id.clone();
        let lookup = |id: &str| (id == key_id).then(|| secret.clone());
        let ok = verify(&sent, lookup).unwrap_or_else(|r| panic!("case {i}: {r:?}"));
        assert_eq!(ok.region, case.region, "case {i}");
        assert_eq!(
            ok.session_token.as_deref(),
            case.token.as_ref().map(|t| t.expose()),
            "case {i}"
        );
        // Deterministic: the same input signs the same.
        assert_eq!(case.sign().authorization, signed.authorization, "case {i}");
        let mut changed = sent.clone();
        changed.body.push(b'&');
        assert!(verify(&changed, lookup).is_err(), "case {i}");
    }
}

/// botocore, the reference every AWS CLI call signs with, signs each
/// generated request and each published vector exactly as the signer does.
#[test]
fn botocore_signs_every_generated_request_as_the_signer_does() {
    let mut all = cases(0xB0C0_C0DE, 200);
    // The published vectors too, under STS-like names.
    for v in vectors() {
        let host = v.req.values("host")[0].to_string();
        let token = v
            .req
            .values("x-amz-security-token")
            .first()
            .map(|t| Secret::new(*t));
        let own = ["host", "x-amz-date", "x-amz-security-token"];
        all.push(Case {
            key_id: KEY_ID.into(),
            secret: Secret::new(SECRET),
            token,
            region: "us-east-1".into(),
            service: "service".into(),
            time: TIME,
            host,
            path: v.req.path.clone(),
            headers: v
                .req
                .headers
                .iter()
                .filter(|(n, _)| !own.contains(&n.to_ascii_lowercase().as_str()))
                .cloned()
                .collect(),
            body: v.req.body.clone(),
        });
    }
    let input: String = all.iter().map(|c| c.line() + "\n").collect();
    let script = fixtures().join("botocore_sign.py");
    let mut child = Command::new("python3")
        .arg("-B")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); the botocore cross-check needs python3 with botocore: `make test` installs it (scripts/deps.sh)")
        });
    let mut stdin = child.stdin.take().unwrap();
    // Written from a thread, so a full stdout pipe cannot stall both sides.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "botocore_sign.py failed ({}): {}\nthe botocore cross-check needs python3 with botocore: `make test` installs it (scripts/deps.sh)",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.len());
    let unhex = |s: &str| {
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    for (i, (case, line)) in all.iter().zip(lines).enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let signed = case.sign();
        assert_eq!(
            signed.canonical_request.expose(),
            unhex(f[3]),
            "case {i}: canonical request"
        );
        assert_eq!(
            signed.string_to_sign,
            unhex(f[4]),
            "case {i}: string to sign"
        );
        assert_eq!(signed.authorization, f[0], "case {i}");
        assert_eq!(signed.amz_date, f[1], "case {i}");
        let token = signed.security_token.as_ref().map_or("-", |t| t.expose());
        assert_eq!(token, f[2], "case {i}");
    }
}
