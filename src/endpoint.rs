//! Which STS endpoint to call (`docs/reference.md` §2). Pure: settings in,
//! URL out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Error;
use crate::partition;
use crate::settings::{Settings, Source, Sourced};

/// The global endpoint, which serves only the `aws` partition.
pub const GLOBAL: &str = "https://sts.amazonaws.com";

/// The regions that `AWS_STS_REGIONAL_ENDPOINTS=legacy` sends to the global
/// endpoint.
pub const LEGACY_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// What the endpoint is chosen from.
#[derive(Debug, Default)]
pub struct Input<'a> {
    /// An explicit endpoint and where it came from.
    pub explicit: Option<&'a Sourced<String>>,
    /// The region, if set.
    pub region: Option<&'a str>,
    /// FIPS endpoint wanted.
    pub fips: bool,
    /// Dual-stack endpoint wanted.
    pub dualstack: bool,
    /// `AWS_STS_REGIONAL_ENDPOINTS=legacy`.
    pub legacy_global: bool,
    /// The role ARN's partition.
    pub role_partition: &'a str,
    /// How messages name that role: empty for `the role ARN`, the first
    /// hop's; a chained hop's names its hop, ARN and setting.
    pub role: &'a str,
    /// Where the region came from, for messages (empty: not shown).
    pub region_source: Source,
    /// Where FIPS came from.
    pub fips_source: Source,
    /// Where dual-stack came from.
    pub dualstack_source: Source,
}

/// ` (from X)` when the source is known.
fn from(source: Source) -> String {
    match source {
        Source::Default => String::new(),
        s => format!(" (from {s})"),
    }
}

/// Where the request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL to POST to.
    pub url: String,
    /// Host name or address, without brackets.
    pub host: String,
    /// Whether the host is loopback (plain http allowed, never proxied):
    /// [`loopback_addrs`] knows its addresses without a lookup.
    pub loopback: bool,
}

/// Chooses the endpoint for validated settings. Every hop goes to it
/// (`docs/reference.md` §11.1), so each chained role's partition is held
/// to it as the first role's is, naming its hop.
pub fn for_settings(s: &Settings) -> Result<Endpoint, Error> {
    let endpoint = resolve(&settings_input(s, &s.role.partition, ""))?;
    if let Some(chained) = &s.chain.roles {
        let n = chained.len() + 1;
        for (i, r) in chained.iter().enumerate() {
            let role = format!(
                "hop {} of {n}: the role ARN {} (from {})",
                i + 2,
                r.arn,
                chained.source
            );
            resolve(&settings_input(s, &r.partition, &role))?;
        }
    }
    Ok(endpoint)
}

fn settings_input<'a>(s: &'a Settings, partition: &'a str, role: &'a str) -> Input<'a> {
    Input {
        explicit: s.endpoint.as_ref(),
        region: s.region.as_ref().map(|r| r.value.as_str()),
        fips: s.fips.value,
        dualstack: s.dualstack.value,
        legacy_global: s.legacy_global,
        role_partition: partition,
        role,
        region_source: s.region.as_ref().map_or(Source::Default, |r| r.source),
        fips_source: s.fips.source,
        dualstack_source: s.dualstack.source,
    }
}

/// Chooses the endpoint, or says which settings conflict.
pub fn resolve(input: &Input) -> Result<Endpoint, Error> {
    // Names what is set, and where from, so the user knows what to unset.
    let fips_dual = match (input.fips, input.dualstack) {
        (true, true) => format!(
            "FIPS{} and dual-stack{}",
            from(input.fips_source),
            from(input.dualstack_source)
        ),
        (true, false) => format!("FIPS{}", from(input.fips_source)),
        _ => format!("dual-stack{}", from(input.dualstack_source)),
    };
    let role_p = partition::named(input.role_partition);
    let role = match input.role {
        "" => "the role ARN",
        r => r,
    };
    if let Some(region) = input.region {
        let region_p = partition::of_region(region);
        if region_p.name != role_p.name {
            return Err(Error::Conflict(format!(
                "{role} is in partition {} but region {region}{} is in {}; set a region of the role's partition (for example {}) or fix the role ARN",
                role_p.name, from(input.region_source), region_p.name, role_p.example_region
            )));
        }
    }
    if let Some(found) = input.explicit {
        if input.fips || input.dualstack {
            return Err(Error::Conflict(format!(
                "{} sets an explicit endpoint, which cannot be combined with {fips_dual}; put the host you want in the endpoint, or unset it",
                found.source
            )));
        }
        return parse_url(&found.value).map_err(|p| Error::setting(found.source, p));
    }
    let Some(region) = input.region else {
        if input.fips || input.dualstack {
            return Err(Error::Conflict(format!(
                "{fips_dual} endpoints are regional; set PLUGIN_REGION (or AWS_REGION) as well, for example {}",
                role_p.example_region
            )));
        }
        if role_p.name != "aws" {
            return Err(Error::Conflict(format!(
                "{role} is in partition {}, which the global endpoint sts.amazonaws.com does not serve; set PLUGIN_REGION (or AWS_REGION) to one of its regions, for example {}, or PLUGIN_STS_ENDPOINT",
                role_p.name, role_p.example_region
            )));
        }
        return Ok(global());
    };
    if region == "aws-global" {
        if input.fips || input.dualstack {
            return Err(Error::Conflict(format!(
                "region aws-global{} has no {fips_dual} endpoint; set a real region such as us-east-1",
                from(input.region_source)
            )));
        }
        return Ok(global());
    }
    if input.legacy_global && !input.fips && !input.dualstack && LEGACY_REGIONS.contains(&region) {
        return Ok(global());
    }
    regional(input, region)
}

/// The regional endpoint of `region`, FIPS and dual-stack as `input` asks.
fn regional(input: &Input, region: &str) -> Result<Endpoint, Error> {
    let p = partition::of_region(region);
    let host = match (input.fips, input.dualstack) {
        (false, false) => format!("sts.{region}.{}", p.dns),
        (true, false) if p.name == "aws-us-gov" => format!("sts.{region}.amazonaws.com"),
        (true, false) => format!("sts-fips.{region}.{}", p.dns),
        (fips, true) => {
            let Some(dual) = p.dual_dns else {
                return Err(Error::Conflict(format!(
                    "partition {} has no dual-stack STS endpoint; unset dual-stack{}",
                    p.name,
                    from(input.dualstack_source)
                )));
            };
            let prefix = if fips { "sts-fips" } else { "sts" };
            format!("{prefix}.{region}.{dual}")
        }
    };
    Ok(Endpoint {
        url: format!("https://{host}/"),
        host,
        loopback: false,
    })
}

fn global() -> Endpoint {
    Endpoint {
        url: format!("{GLOBAL}/"),
        host: "sts.amazonaws.com".into(),
        loopback: false,
    }
}

/// Checks an explicit endpoint: `https://` anywhere, `http://` only for a
/// loopback host. A missing path becomes `/`.
pub fn parse_url(s: &str) -> Result<Endpoint, String> {
    const WANT: &str = "use an https:// URL such as https://sts.us-east-1.amazonaws.com";
    // Messages quote the value with control characters escaped, so they
    // stay one line, and with any user:password masked.
    let shown = crate::error::quoted(&crate::secret::mask_url(s));
    // Any `@` is refused: a password may hold an unencoded `/`, `?` or `#`,
    // so only "no @ at all" proves that no credentials are in the URL.
    if s.contains('@') {
        return Err(format!(
            "{shown}: the endpoint URL must not hold a user or password (an @); {WANT}"
        ));
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!("{shown} is not a URL; {WANT}"));
    };
    let scheme = scheme.to_ascii_lowercase();
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if path.starts_with(['?', '#']) {
        return Err(format!("{shown} has a query or fragment; {WANT}"));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let (h, tail) = v6
            .split_once(']')
            .ok_or_else(|| format!("{shown} has an unclosed [; {WANT}"))?;
        if !(tail.is_empty() || is_port(tail)) {
            return Err(format!("{shown} has a bad port; {WANT}"));
        }
        // Brackets hold an IPv6 address only; the URI parser lets any text
        // through, which would fail only when connecting.
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{shown} has no IPv6 address in its [ ]; {WANT}"));
        }
        h.to_ascii_lowercase()
    } else {
        let (h, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| !is_port(&format!(":{p}"))) {
            return Err(format!("{shown} has a bad port; {WANT}"));
        }
        h.to_ascii_lowercase()
    };
    if host.is_empty() {
        return Err(format!("{shown} has no host; {WANT}"));
    }
    // A name with an empty label (`.`, `sts..amazonaws.com`) would fail
    // only at DNS; one trailing dot is a valid fully qualified name.
    let name = host.strip_suffix('.').unwrap_or(&host);
    if !host.contains(':') && name.split('.').any(str::is_empty) {
        return Err(format!(
            "{shown} has an empty part in its host name; {WANT}"
        ));
    }
    let loopback = is_loopback(&host);
    match scheme.as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "plain http:// is allowed only for 127.0.0.1, ::1 or localhost, not {}; {WANT}",
                crate::error::shown(&host)
            ))
        }
        _ => {
            return Err(format!(
                "scheme `{}` is not accepted; {WANT}",
                crate::error::shown(&scheme)
            ))
        }
    }
    let path = if path.is_empty() { "/" } else { path };
    let url = format!("{scheme}://{authority}{path}");
    // The client parses the URL again: what it cannot (a space, a stray
    // byte in the host) is a setting error now, not a failed request later.
    if url.parse::<ureq::http::Uri>().is_err() {
        return Err(format!("{shown} is not a valid URL; {WANT}"));
    }
    Ok(Endpoint {
        url,
        host,
        loopback,
    })
}

fn is_port(tail: &str) -> bool {
    tail.strip_prefix(':').is_some_and(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    })
}

/// 127.0.0.0/8, ::1 (however written) and localhost: the hosts that plain
/// http may reach and that never use the proxy.
pub fn is_loopback(host: &str) -> bool {
    loopback_addrs(host).is_some()
}

/// The addresses of a loopback host, known without asking any resolver:
/// `localhost` in any case, with or without a trailing dot, is 127.0.0.1
/// and ::1 (the system resolver may match /etc/hosts case-sensitively and
/// then ask DNS); a literal loopback address is itself. `None` for any
/// other host. IPv6 brackets are optional.
pub fn loopback_addrs(host: &str) -> Option<Vec<IpAddr>> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.eq_ignore_ascii_case("localhost") {
        return Some(vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]);
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ip = match bare {
        Some(v6) => v6.parse::<Ipv6Addr>().ok()?.into(),
        None => host.parse::<IpAddr>().ok()?,
    };
    ip.is_loopback().then(|| vec![ip])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        region: Option<&'a str>,
        fips: bool,
        dual: bool,
        legacy: bool,
        role: &'a str,
    ) -> Input<'a> {
        Input {
            explicit: None,
            region,
            fips,
            dualstack: dual,
            legacy_global: legacy,
            role_partition: role,
            ..Default::default()
        }
    }

    /// (region, fips, dual-stack, legacy, role partition, expected URL)
    type Row<'a> = (Option<&'a str>, bool, bool, bool, &'a str, &'a str);

    #[test]
    fn every_row_of_the_endpoint_table() {
        // (region, fips, dual-stack, legacy, role partition, expected URL)
        let rows: &[Row] = &[
            (
                None,
                false,
                false,
                false,
                "aws",
                "https://sts.amazonaws.com/",
            ),
            (
                Some("aws-global"),
                false,
                false,
                false,
                "aws",
                "https://sts.amazonaws.com/",
            ),
            (
                Some("aws-global"),
                false,
                false,
                true,
                "aws",
                "https://sts.amazonaws.com/",
            ),
            (
                Some("us-east-1"),
                false,
                false,
                false,
                "aws",
                "https://sts.us-east-1.amazonaws.com/",
            ),
            (
                Some("eu-west-2"),
                false,
                false,
                false,
                "aws",
                "https://sts.eu-west-2.amazonaws.com/",
            ),
            (
                Some("ap-southeast-5"),
                false,
                false,
                true,
                "aws",
                "https://sts.ap-southeast-5.amazonaws.com/",
            ),
            (
                Some("us-east-1"),
                true,
                false,
                false,
                "aws",
                "https://sts-fips.us-east-1.amazonaws.com/",
            ),
            (
                Some("us-east-1"),
                false,
                true,
                false,
                "aws",
                "https://sts.us-east-1.api.aws/",
            ),
            (
                Some("us-east-1"),
                true,
                true,
                false,
                "aws",
                "https://sts-fips.us-east-1.api.aws/",
            ),
            (
                Some("cn-north-1"),
                false,
                false,
                false,
                "aws-cn",
                "https://sts.cn-north-1.amazonaws.com.cn/",
            ),
            (
                Some("cn-northwest-1"),
                true,
                false,
                false,
                "aws-cn",
                "https://sts-fips.cn-northwest-1.amazonaws.com.cn/",
            ),
            (
                Some("cn-north-1"),
                false,
                true,
                false,
                "aws-cn",
                "https://sts.cn-north-1.api.amazonwebservices.com.cn/",
            ),
            (
                Some("cn-north-1"),
                true,
                true,
                false,
                "aws-cn",
                "https://sts-fips.cn-north-1.api.amazonwebservices.com.cn/",
            ),
            (
                Some("us-gov-west-1"),
                false,
                false,
                false,
                "aws-us-gov",
                "https://sts.us-gov-west-1.amazonaws.com/",
            ),
            (
                Some("us-gov-west-1"),
                true,
                false,
                false,
                "aws-us-gov",
                "https://sts.us-gov-west-1.amazonaws.com/",
            ),
            (
                Some("us-gov-east-1"),
                false,
                true,
                false,
                "aws-us-gov",
                "https://sts.us-gov-east-1.api.aws/",
            ),
            (
                Some("us-gov-east-1"),
                true,
                true,
                false,
                "aws-us-gov",
                "https://sts-fips.us-gov-east-1.api.aws/",
            ),
            (
                Some("us-iso-east-1"),
                false,
                false,
                false,
                "aws-iso",
                "https://sts.us-iso-east-1.c2s.ic.gov/",
            ),
            (
                Some("us-iso-east-1"),
                true,
                false,
                false,
                "aws-iso",
                "https://sts-fips.us-iso-east-1.c2s.ic.gov/",
            ),
            (
                Some("us-isob-east-1"),
                false,
                false,
                false,
                "aws-iso-b",
                "https://sts.us-isob-east-1.sc2s.sgov.gov/",
            ),
            (
                Some("eu-isoe-west-1"),
                false,
                false,
                false,
                "aws-iso-e",
                "https://sts.eu-isoe-west-1.cloud.adc-e.uk/",
            ),
            (
                Some("us-isof-south-1"),
                false,
                false,
                false,
                "aws-iso-f",
                "https://sts.us-isof-south-1.csp.hci.ic.gov/",
            ),
            (
                Some("eusc-de-east-1"),
                false,
                false,
                false,
                "aws-eusc",
                "https://sts.eusc-de-east-1.amazonaws.eu/",
            ),
            (
                Some("eusc-de-east-1"),
                true,
                false,
                false,
                "aws-eusc",
                "https://sts-fips.eusc-de-east-1.amazonaws.eu/",
            ),
            // Legacy mode: the 15 legacy regions go global unless FIPS or dual-stack.
            (
                Some("us-east-1"),
                false,
                false,
                true,
                "aws",
                "https://sts.amazonaws.com/",
            ),
            (
                Some("us-east-1"),
                true,
                false,
                true,
                "aws",
                "https://sts-fips.us-east-1.amazonaws.com/",
            ),
            (
                Some("us-east-1"),
                false,
                true,
                true,
                "aws",
                "https://sts.us-east-1.api.aws/",
            ),
            (
                Some("cn-north-1"),
                false,
                false,
                true,
                "aws-cn",
                "https://sts.cn-north-1.amazonaws.com.cn/",
            ),
        ];
        for &(region, fips, dual, legacy, role, want) in rows {
            let got = resolve(&input(region, fips, dual, legacy, role));
            assert_eq!(
                got.map(|e| e.url),
                Ok(want.to_string()),
                "{region:?} fips={fips} dual={dual} legacy={legacy}"
            );
        }
        for region in LEGACY_REGIONS {
            let got = resolve(&input(Some(region), false, false, true, "aws")).unwrap();
            assert_eq!(got.url, "https://sts.amazonaws.com/", "{region}");
        }
        assert_eq!(LEGACY_REGIONS.len(), 15);
    }

    #[test]
    fn conflicts_name_what_to_set() {
        let explicit = Sourced {
            value: "https://x.example".into(),
            source: Source::Env("PLUGIN_STS_ENDPOINT"),
        };
        let rows: &[(Input, &str)] = &[
            (Input { explicit: Some(&explicit), fips: true, role_partition: "aws", ..Default::default() }, "PLUGIN_STS_ENDPOINT sets an explicit endpoint"),
            (Input { explicit: Some(&explicit), dualstack: true, role_partition: "aws", ..Default::default() }, "cannot be combined"),
            (input(None, true, false, false, "aws"), "endpoints are regional; set PLUGIN_REGION"),
            (input(None, false, true, false, "aws"), "endpoints are regional"),
            (input(Some("us-iso-east-1"), false, true, false, "aws-iso"), "partition aws-iso has no dual-stack"),
            (input(Some("us-isob-east-1"), false, true, false, "aws-iso-b"), "has no dual-stack"),
            (input(Some("eu-isoe-west-1"), false, true, false, "aws-iso-e"), "has no dual-stack"),
            (input(Some("us-isof-south-1"), false, true, false, "aws-iso-f"), "has no dual-stack"),
            (input(Some("eusc-de-east-1"), false, true, false, "aws-eusc"), "partition aws-eusc has no dual-stack"),
            (input(Some("us-east-1"), false, false, false, "aws-cn"), "the role ARN is in partition aws-cn but region us-east-1 is in aws; set a region of the role's partition (for example cn-north-1)"),
            (input(Some("cn-north-1"), false, false, false, "aws"), "but region cn-north-1 is in aws-cn"),
            (input(Some("aws-global"), false, false, false, "aws-us-gov"), "is in aws"),
            (input(None, false, false, false, "aws-cn"), "global endpoint sts.amazonaws.com does not serve"),
            (input(None, false, false, false, "aws-us-gov"), "for example us-gov-west-1"),
            (input(Some("aws-global"), true, false, false, "aws"), "aws-global has no"),
            (input(Some("aws-global"), true, true, false, "aws"), "region aws-global has no FIPS and dual-stack endpoint"),
            (input(None, true, true, false, "aws"), "FIPS and dual-stack endpoints are regional"),
        ];
        for (inp, want) in rows {
            let e = resolve(inp).unwrap_err();
            assert_eq!(e.code(), 2);
            assert!(e.to_string().contains(want), "{inp:?}: {e}");
        }
    }

    #[test]
    fn endpoints_the_client_cannot_parse_are_setting_errors() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): a URL with a
        // character no URI holds passed the checks, and only the request
        // failed (exit 4, after --check had said the settings were valid).
        let value =
            &crate::testing::fuzz_value("settings-endpoint-unparsable", "PLUGIN_STS_ENDPOINT");
        let found = Sourced {
            value: value.into(),
            source: Source::Env("PLUGIN_STS_ENDPOINT"),
        };
        let e = resolve(&Input {
            explicit: Some(&found),
            role_partition: "aws",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(
            e.to_string().starts_with(
                "PLUGIN_STS_ENDPOINT: `https://sts.us-east-1.amazonaws.com\\` is not a valid URL"
            ),
            "{e}"
        );
        for bad in [
            "https://sts amazonaws.com",
            "https://sts.amazonaws.com/a b",
            "https://sts.\u{fffd}.com",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e, format!("`{bad}` is not a valid URL; use an https:// URL such as https://sts.us-east-1.amazonaws.com"));
        }
    }

    #[test]
    fn host_names_have_no_empty_parts() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): the host `.` was
        // accepted (and no NO_PROXY entry could name it).
        let value = &crate::testing::fuzz_value("settings-endpoint-dot-host", "PLUGIN_ENDPOINT");
        let e = parse_url(value).unwrap_err();
        assert!(e.contains("has an empty part in its host name"), "{e}");
        for bad in [
            "https://sts..amazonaws.com",
            "https://.sts.amazonaws.com",
            "https://..:443",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "`{bad}` has an empty part in its host name; use an https:// URL"
                )),
                "{e}"
            );
        }
        assert_eq!(
            parse_url("https://sts.amazonaws.com.").unwrap().host,
            "sts.amazonaws.com."
        );
    }

    #[test]
    fn brackets_hold_an_ipv6_address() {
        // Found by fuzzing (fuzz/fuzz_targets/settings.rs): any text in [ ]
        // was taken as the host, kept in upper case unlike a name.
        let value =
            &crate::testing::fuzz_value("settings-endpoint-brackets", "PLUGIN_STS_ENDPOINT");
        let e = parse_url(value).unwrap_err();
        assert!(e.contains("has no IPv6 address in its [ ]"), "{e}");
        let e = parse_url("https://[2001:DB8::1]:8443").unwrap();
        assert_eq!(
            (e.host.as_str(), e.url.as_str()),
            ("2001:db8::1", "https://[2001:DB8::1]:8443/")
        );
    }

    #[test]
    fn explicit_endpoints() {
        let ok = |s: &str, url: &str, host: &str, lo: bool| {
            let e = parse_url(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(
                (e.url.as_str(), e.host.as_str(), e.loopback),
                (url, host, lo),
                "{s}"
            );
        };
        ok(
            "https://sts.example.com",
            "https://sts.example.com/",
            "sts.example.com",
            false,
        );
        ok(
            "https://STS.example.com:8443/sts/",
            "https://STS.example.com:8443/sts/",
            "sts.example.com",
            false,
        );
        ok(
            "http://127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "127.0.0.1",
            true,
        );
        ok(
            "http://127.1.2.3:1",
            "http://127.1.2.3:1/",
            "127.1.2.3",
            true,
        );
        ok(
            "http://localhost:4566/",
            "http://localhost:4566/",
            "localhost",
            true,
        );
        ok("http://[::1]:4566", "http://[::1]:4566/", "::1", true);
        ok(
            "http://[0:0:0:0:0:0:0:1]:4566",
            "http://[0:0:0:0:0:0:0:1]:4566/",
            "0:0:0:0:0:0:0:1",
            true,
        );
        ok(
            "http://LOCALHOST:4566",
            "http://LOCALHOST:4566/",
            "localhost",
            true,
        );
        ok(
            "http://localhost.:4566",
            "http://localhost.:4566/",
            "localhost.",
            true,
        );
        ok(
            "https://[2001:db8::1]",
            "https://[2001:db8::1]/",
            "2001:db8::1",
            false,
        );
        for bad in [
            "http://sts.example.com",
            "http://10.0.0.1:80",
            "http://128.0.0.1",
            "http://localhost.evil.com",
            "http://localhost..",
            "http://[::2]:1",
            "http://[::ffff:127.0.0.1]:1",
            "http://0.0.0.0:1",
            "http://127.1:1",
            "ftp://sts.example.com",
            "sts.example.com",
            "https://",
            "https://:443",
            "https://u:p@sts.example.com",
            "https://sts.example.com:99999",
            "https://sts.example.com:x",
            "https://sts.example.com?x=1",
        ] {
            let e = parse_url(bad).unwrap_err();
            let why = match bad {
                "ftp://sts.example.com" => "scheme `ftp` is not accepted".to_string(),
                "sts.example.com" => format!("`{bad}` is not a URL"),
                "https://" | "https://:443" => format!("`{bad}` has no host"),
                "https://u:p@sts.example.com" => "`https://***:***@sts.example.com`: the endpoint URL must not hold a user or password".into(),
                "https://sts.example.com?x=1" => format!("`{bad}` has a query or fragment"),
                "http://localhost.." => format!("`{bad}` has an empty part in its host name"),
                "https://sts.example.com:99999" | "https://sts.example.com:x" => {
                    format!("`{bad}` has a bad port")
                }
                _ => "plain http:// is allowed only for 127.0.0.1, ::1 or localhost, not ".into(),
            };
            assert!(e.starts_with(&why), "{bad}: {e}");
            assert!(
                e.ends_with("; use an https:// URL such as https://sts.us-east-1.amazonaws.com"),
                "{e}"
            );
        }
        let found = Sourced {
            value: "http://sts.example.com".into(),
            source: Source::Env("AWS_ENDPOINT_URL_STS"),
        };
        let e = resolve(&Input {
            explicit: Some(&found),
            role_partition: "aws",
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AWS_ENDPOINT_URL_STS: plain http:// is allowed only for"),
            "{e}"
        );
    }

    #[test]
    fn loopback_hosts_resolve_without_a_lookup() {
        let v4: IpAddr = Ipv4Addr::LOCALHOST.into();
        let v6: IpAddr = Ipv6Addr::LOCALHOST.into();
        for name in ["localhost", "LOCALHOST", "LocalHost.", "localhost."] {
            assert_eq!(loopback_addrs(name), Some(vec![v4, v6]), "{name}");
        }
        assert_eq!(
            loopback_addrs("127.0.0.2"),
            Some(vec!["127.0.0.2".parse().unwrap()])
        );
        for v6name in ["::1", "[::1]", "0:0:0:0:0:0:0:1", "[0:0:0:0:0:0:0:1]"] {
            assert_eq!(loopback_addrs(v6name), Some(vec![v6]), "{v6name}");
        }
        for other in [
            "localhost..",
            "localhost.evil.com",
            "127.0.0.1.",
            "::2",
            "10.0.0.1",
            "",
            "0.0.0.0",
        ] {
            assert_eq!(loopback_addrs(other), None, "{other}");
        }
    }

    #[test]
    fn credentials_in_an_endpoint_are_never_quoted() {
        for url in [
            "https://u:PASSWORD@sts.example.com/",
            "https://u:PASS/WORD@sts.example.com/",
            "https://u:PASS?WORD@sts.example.com",
            "https://u:PASS#WORD@sts.example.com",
            "http://u:PASSWORD@127.0.0.1:1/",
        ] {
            let e = parse_url(url).unwrap_err();
            assert!(e.contains("must not hold a user or password"), "{e}");
            assert!(
                !e.contains("PASS") && !e.contains("WORD") && !e.contains("u:"),
                "{e}"
            );
        }
    }

    /// Each chained role is held to the endpoint as the first role is,
    /// named by its hop: against the region, and without one against the
    /// global endpoint, which serves only `aws`.
    #[test]
    fn every_chained_role_is_in_the_endpoint_s_partition() {
        let with = |extra: &[(&str, &str)]| {
            let mut env = vec![(
                "PLUGIN_CHAIN_ROLE_ARN",
                "arn:aws:iam::111111111111:role/a,arn:aws-cn:iam::222222222222:role/b",
            )];
            env.extend_from_slice(extra);
            for_settings(&crate::testing::settings(&env))
        };
        let e = with(&[("PLUGIN_REGION", "us-east-1")]).unwrap_err();
        assert_eq!(e.code(), 2);
        assert_eq!(
            e.to_string(),
            "hop 3 of 3: the role ARN arn:aws-cn:iam::222222222222:role/b (from PLUGIN_CHAIN_ROLE_ARN) is in partition aws-cn \
             but region us-east-1 (from PLUGIN_REGION) is in aws; set a region of the role's partition (for example cn-north-1) or fix the role ARN"
        );
        let e = with(&[]).unwrap_err().to_string();
        assert!(
            e.starts_with("hop 3 of 3: the role ARN arn:aws-cn:iam::222222222222:role/b (from PLUGIN_CHAIN_ROLE_ARN) is in partition aws-cn, which the global endpoint sts.amazonaws.com does not serve"),
            "{e}"
        );
        // An explicit endpoint without a region: not checked, as the first
        // role's is not.
        let explicit = with(&[("PLUGIN_STS_ENDPOINT", "https://127.0.0.1:9/")]);
        assert_eq!(explicit.map(|e| e.host), Ok("127.0.0.1".to_string()));
    }
}
