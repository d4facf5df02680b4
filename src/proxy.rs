//! The proxy: its URL, parsed and checked once, and the NO_PROXY rules that
//! decide whether a request goes through it (`docs/reference.md` §1.5).
//! Pure.

use std::net::Ipv4Addr;

use crate::error::shown;
use crate::secret::Secret;

/// The proxy settings, in curl's order for an https URL.
pub const PROXY_ENVS: &[&str] = &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// Hosts that bypass the proxy.
pub const NO_PROXY_ENVS: &[&str] = &["NO_PROXY", "no_proxy"];

/// A proxy to reach STS through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as given, with any user:password.
    pub url: Secret,
    /// The URL with the user and password left out, for logs.
    pub display: String,
    /// The same URL as the client took it.
    pub client: ureq::Proxy,
}

/// Shows only what logs may show: the client's own `Debug` would print
/// the URL.
impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("display", &self.display)
            .finish_non_exhaustive()
    }
}

/// The NO_PROXY entries of a NO_PROXY value: separated by commas or
/// whitespace, lower-cased.
pub fn no_proxy_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
        .collect()
}

/// A proxy URL: `http://[user:password@]host[:port]`, or `host:port`,
/// checked once, here: the URL for the client, already parsed by it, and a
/// form safe to log.
pub fn parse(s: &str) -> Result<Proxy, String> {
    // Only a valid scheme is a scheme: in `ci:pa://PASS@host:9` the text
    // before `://` is a user and part of a password, and is never quoted.
    let (scheme, rest) = match (crate::secret::split_scheme(s), s.split_once("://")) {
        ((Some(scheme), rest), _) => (scheme.to_ascii_lowercase(), rest),
        // Without an @ there are no credentials to hide, so a mistyped
        // scheme can be quoted back.
        (_, Some((scheme, rest))) if !s.contains('@') => (scheme.to_ascii_lowercase(), rest),
        _ => ("http".to_string(), s),
    };
    if scheme.starts_with("socks") {
        return Err(format!(
            "{} proxies are not supported; use an http:// proxy (HTTPS is tunnelled with CONNECT)",
            shown(&scheme)
        ));
    }
    if scheme != "http" {
        return Err(format!(
            "proxy scheme `{}` is not supported; use an http:// proxy URL",
            shown(&scheme)
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    // An '@' past the first '/' belongs to a user or password holding an
    // unencoded '/'; cut there, the start of the password would show as the
    // host in logs. The value is not quoted, since it holds the password.
    if rest[authority.len()..].contains('@') {
        return Err(
            "the proxy URL has an @ after a /; percent-encode any / in the user or password as %2F"
                .into(),
        );
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() || hostport.starts_with(':') {
        return Err("the proxy URL has no host; use http://host:port".into());
    }
    let url = match userinfo {
        Some(u) => format!("http://{u}@{hostport}"),
        None => format!("http://{hostport}"),
    };
    // The user name is part of the proxy's credentials too: neither is shown.
    let display = crate::secret::mask_url(&url);
    // The client's own parse, done once, here: it must take the URL and
    // reach the host shown. A `?`, `#` or space in the password would cut
    // it or fail only at the request. Not quoted, since it holds the
    // password.
    let client = ureq::Proxy::new(&url).ok().filter(|c| {
        let authority = c.uri().authority();
        // It takes `host:port` with any port text; only digits are a port.
        let port_ok = authority.is_some_and(|a| {
            a.port().is_some()
                || !hostport
                    .rsplit(']')
                    .next()
                    .unwrap_or_default()
                    .contains(':')
        });
        port_ok && authority.map(|a| a.as_str()) == url.get("http://".len()..)
    });
    let Some(client) = client else {
        return Err("the proxy URL is not one the client can use; percent-encode any ? # / @ or space in the user or password (? is %3F), and give the port as digits".into());
    };
    Ok(Proxy {
        url: Secret::new(url),
        display,
        client,
    })
}

/// The proxy to use for the endpoint's `host`: none for a loopback one or
/// a NO_PROXY match, as curl does.
pub fn choose<'a, P>(
    proxy: Option<&'a P>,
    no_proxy: &[String],
    host: &str,
    loopback: bool,
) -> Option<&'a P> {
    let proxy = proxy?;
    if loopback || no_proxy.iter().any(|entry| no_proxy_matches(entry, host)) {
        return None;
    }
    Some(proxy)
}

/// One NO_PROXY entry against a host: `*`, an exact name, a domain suffix
/// (`example.com` or `.example.com` matches `sts.example.com`), or an IPv4
/// CIDR block. A `:port` on the entry is ignored.
pub fn no_proxy_matches(entry: &str, host: &str) -> bool {
    let entry = entry.trim().to_ascii_lowercase();
    if entry == "*" {
        return true;
    }
    let host = host.to_ascii_lowercase();
    if let Some((net, bits)) = entry.split_once('/') {
        let (Ok(net), Ok(bits), Ok(ip)) = (
            net.parse::<Ipv4Addr>(),
            bits.parse::<u32>(),
            host.parse::<Ipv4Addr>(),
        ) else {
            return false;
        };
        if bits > 32 {
            return false;
        }
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        return u32::from(net) & mask == u32::from(ip) & mask;
    }
    let entry = entry.trim_start_matches("*.").trim_start_matches('.');
    let entry = match entry.rsplit_once(':') {
        // `host:port` or `[v6]:port`; a bare IPv6 address ends in digits too.
        Some((h, p))
            if p.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')) =>
        {
            h
        }
        _ => entry,
    };
    let entry = entry.trim_start_matches('[').trim_end_matches(']');
    !entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_rules() {
        let rows = [
            ("*", "sts.amazonaws.com", true),
            ("amazonaws.com", "sts.amazonaws.com", true),
            (".amazonaws.com", "sts.amazonaws.com", true),
            ("*.amazonaws.com", "sts.amazonaws.com", true),
            ("sts.amazonaws.com", "sts.amazonaws.com", true),
            ("STS.AMAZONAWS.COM:443", "sts.amazonaws.com", true),
            ("amazonaws.com", "notamazonaws.com", false),
            ("example.com", "sts.amazonaws.com", false),
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("10.0.0.0/8", "sts.amazonaws.com", false),
            ("[::1]", "::1", true),
            // A bare IPv6 address ends in digits, and is not host:port.
            ("::1", "::1", true),
            ("fd00::10", "fd00::1", false),
            // A port that is not a number is not a port: no entry matches.
            ("sts.amazonaws.com:https", "sts.amazonaws.com", false),
            // CIDR at its edges: /32 is one address, /0 every one, more
            // than 32 bits is not a network.
            ("10.0.0.1/32", "10.0.0.1", true),
            ("10.0.0.1/32", "10.0.0.2", false),
            ("10.0.0.0/0", "192.0.2.1", true),
            ("10.0.0.0/33", "10.0.0.0", false),
            ("", "x", false),
        ];
        for (entry, host, want) in rows {
            assert_eq!(no_proxy_matches(entry, host), want, "{entry} vs {host}");
        }
    }

    #[test]
    fn no_proxy_ipv6_with_port() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): `[v6]:port` kept
        // its port, so it never matched and the proxy was used.
        let text = crate::testing::fixture("fuzz/settings-no-proxy-ipv6-port");
        let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap();
        let endpoint = crate::endpoint::parse_url(get("PLUGIN_STS_ENDPOINT=")).unwrap();
        assert!(no_proxy_matches(get("NO_PROXY="), &endpoint.host));
        assert!(no_proxy_matches("[::1]:443", "::1"));
        assert!(!no_proxy_matches("[::1]:443", "::2"));
    }

    #[test]
    fn a_proxy_url_without_a_host_is_refused() {
        for url in [
            "http://:3128",
            "http://user:pass@:3128",
            "http://user:pass@",
        ] {
            assert_eq!(
                parse(url).unwrap_err(),
                "the proxy URL has no host; use http://host:port",
                "{url}"
            );
        }
    }

    #[test]
    fn debug_shows_the_masked_url_only() {
        let proxy = parse("http://user:s3cret@proxy.internal:3128").unwrap();
        let shown = format!("{proxy:?}");
        assert!(shown.starts_with("Proxy { display: "), "{shown}");
        assert!(shown.contains("proxy.internal:3128"), "{shown}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("user"),
            "{shown}"
        );
    }

    #[test]
    fn proxy_choice() {
        let proxy = parse("http://p:3128").unwrap();
        let remote = "sts.amazonaws.com";
        assert!(choose(Some(&proxy), &[], remote, false).is_some());
        assert!(choose(Some(&proxy), &[], "127.0.0.1", true).is_none());
        let bypass = ["example.com".to_string(), ".amazonaws.com".to_string()];
        assert!(choose(Some(&proxy), &bypass, remote, false).is_none());
        assert!(choose::<Proxy>(None, &[], remote, false).is_none());
    }
}
