//! The stand-in's TLS: a test CA and a server certificate made at start, and
//! the rustls server configuration that presents it.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::PROXY_ONLY_HOST;

/// A CA and a server certificate for 127.0.0.1, localhost and
/// [`PROXY_ONLY_HOST`]. Returns the CA PEM, the server chain and key.
pub fn make_certs(trusted: bool) -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("no names, no error");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "aws-oidc test CA");
    let ca_key = KeyPair::generate().expect("ring makes keys");
    let ca_cert = ca.self_signed(&ca_key).expect("self-signing works");
    let issuer = Issuer::new(ca, ca_key);
    let names = vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        PROXY_ONLY_HOST.to_string(),
    ];
    let mut leaf = CertificateParams::new(names).expect("valid names");
    leaf.distinguished_name
        .push(DnType::CommonName, "sts stand-in");
    let leaf_key = KeyPair::generate().expect("ring makes keys");
    let leaf_cert = if trusted {
        leaf.signed_by(&leaf_key, &issuer).expect("signing works")
    } else {
        // Self-signed, so the CA in ca.pem does not vouch for it.
        leaf.self_signed(&leaf_key).expect("self-signing works")
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca_cert.pem(), vec![leaf_cert.der().clone()], key)
}

/// A server configuration presenting `chain`, with ring's defaults, or
/// only TLS 1.2 (`tls12_only`), or only the ChaCha20-Poly1305 suites
/// (`chacha_only`), as some servers in between are set up.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    tls12_only: bool,
    chacha_only: bool,
) -> Arc<rustls::ServerConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if chacha_only {
        provider
            .cipher_suites
            .retain(|s| format!("{:?}", s.suite()).contains("CHACHA20"));
    }
    let versions: &[&rustls::SupportedProtocolVersion] = match tls12_only {
        true => &[&rustls::version::TLS12],
        false => rustls::DEFAULT_VERSIONS,
    };
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .expect("ring supports these versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the generated key matches the certificate");
    Arc::new(config)
}
