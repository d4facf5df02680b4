//! The HTTP client of every call (`docs/reference.md` §3): the agent's
//! trust roots, proxy, timeouts and buffers, and the resolver that keeps
//! plain http on this machine.

use std::net::SocketAddr;
use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use super::USER_AGENT;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::log::Log;
use crate::proxy;
use crate::response;
use crate::settings::Settings;

/// Largest response header block read, status line included
/// (`docs/reference.md` §3.4): STS sends under 1 KB, and gateways in
/// between add a few KB at most.
pub const HEADER_LIMIT: usize = 16 << 10;

/// ureq's input buffer, one per transport (TCP, and TLS over it). ureq
/// needs the whole header block in it, and one byte more: a full buffer
/// that is still no answer is then a block over [`HEADER_LIMIT`], which
/// ureq reports as such, not as a read that made no progress (a closed
/// connection, exit 4). ureq's default of 128 KiB, zero-filled for both
/// transports with the output buffers, cost more CPU than the TLS
/// handshake's signature checks (docs/measured.md).
const INPUT_BUFFER: usize = HEADER_LIMIT + 1;

/// ureq's output buffer, one per transport: the request head and the
/// form body go through it in pieces of this size, but each line of the
/// head must fit whole (else ureq fails the request as its own error). An
/// unsigned STS request is a few KB, its longest line the request line.
const OUTPUT_BUFFER: usize = 8 << 10;

/// The output buffer of a run that signs a request (a chained hop,
/// `--verify`): its head holds the previous credentials' session token as
/// `X-Amz-Security-Token`, up to [`response::SESSION_TOKEN_LIMIT`], plus
/// everything an unsigned head holds and `Authorization` (under 1 KB), so
/// the whole head fits with room to spare. The body still goes in pieces.
/// Only such runs pay for zero-filling it (docs/measured.md).
const SIGNED_OUTPUT_BUFFER: usize = OUTPUT_BUFFER + response::SESSION_TOKEN_LIMIT;

/// The `Host` header for the URL, as the client would write it: the host,
/// and the port unless it is the scheme's default. Sent explicitly, so the
/// trace shows what is on the wire.
pub(super) fn host_header(url: &str) -> String {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return String::new();
    };
    let host = uri.host().unwrap_or_default();
    let default = if uri.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    match uri.port_u16() {
        Some(port) if port != default => format!("{host}:{port}"),
        _ => host.to_string(),
    }
}

/// Resolves `localhost` and literal loopback addresses without asking the
/// system resolver, so plain http can only reach this machine (musl
/// matches /etc/hosts case-sensitively and would ask DNS for `LOCALHOST`).
/// Every other name goes to the default resolver.
#[derive(Debug)]
struct LoopbackFirst;

impl Resolver for LoopbackFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let fixed = uri.host().and_then(crate::endpoint::loopback_addrs);
        let Some(ips) = fixed else {
            return DefaultResolver::default().resolve(uri, config, timeout);
        };
        let port = port_of(uri);
        let mut addrs = self.empty();
        for ip in ips {
            addrs.push(SocketAddr::new(ip, port));
        }
        Ok(addrs)
    }
}

/// The URL's port, else its scheme's.
pub(super) fn port_of(uri: &ureq::http::Uri) -> u16 {
    let default = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    uri.port_u16().unwrap_or(default)
}

pub(super) fn agent(
    s: &Settings,
    endpoint: &Endpoint,
    log: &mut Log,
) -> Result<ureq::Agent, Error> {
    let roots = match &s.ca_bundle {
        None => RootCerts::WebPki,
        Some(bundle) => RootCerts::new_with_certs(&bundle.certs),
    };
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(super::tls::provider())
        .root_certs(roots)
        .build();
    let proxy = match proxy::choose(
        s.proxy.as_ref(),
        &s.no_proxy,
        &endpoint.host,
        endpoint.loopback,
    ) {
        None => None,
        Some(p) => {
            log.debug(&format!("using proxy {} (from {})", p.display, p.source));
            Some(p.client.clone())
        }
    };
    if proxy.is_none() && s.proxy.is_some() {
        log.debug(&format!(
            "not using a proxy for {} (loopback or NO_PROXY)",
            endpoint.host
        ));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .https_only(!endpoint.loopback)
        .user_agent(USER_AGENT)
        .proxy(proxy)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .max_response_header_size(HEADER_LIMIT)
        .input_buffer_size(INPUT_BUFFER)
        .output_buffer_size(match s.chained().is_empty() && !s.chain.verify {
            true => OUTPUT_BUFFER,
            false => SIGNED_OUTPUT_BUFFER,
        })
        .timeout_connect(Some(s.timeout.value.min(Duration::from_secs(10))))
        .tls_config(tls)
        .build();
    Ok(ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        LoopbackFirst,
    ))
}
