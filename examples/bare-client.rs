//! The bare client the size and CPU budgets are measured against: one AssumeRoleWithWebIdentity
//! POST with the same crates and release profile, and nothing else (no
//! settings, retries, logging or output files). Prints the AccessKeyId.
//!
//! Usage: bare-client ENDPOINT CA_PEM TOKEN

use ureq::tls::{PemItem, RootCerts, TlsConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, ca, token] = &args[..] else {
        eprintln!("usage: bare-client ENDPOINT CA_PEM TOKEN");
        std::process::exit(2);
    };
    let pem = std::fs::read(ca).expect("read CA");
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    // The same TLS provider as aws-oidc's (no provider is linked by ureq's
    // features any more: aws-oidc gives its own).
    let tls = TlsConfig::builder()
        .unversioned_rustls_crypto_provider(aws_oidc::request::tls_provider())
        .root_certs(RootCerts::new_with_certs(&certs))
        .build();
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .build(),
    );
    let mut resp = agent
        .post(endpoint.as_str())
        .send_form([
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", "arn:aws:iam::123456789012:role/bench"),
            ("RoleSessionName", "bench"),
            ("WebIdentityToken", token.as_str()),
        ])
        .expect("POST");
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .expect("body");
    let doc = roxmltree::Document::parse(&body).expect("XML");
    let key = doc
        .descendants()
        .find(|n| n.has_tag_name("AccessKeyId"))
        .and_then(|n| n.text())
        .expect("AccessKeyId");
    println!("{key}");
}
