//! Where the request goes: proxies, endpoints and the CA bundle.

use super::*;

#[test]
fn regional_or_legacy_endpoints() {
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN_ID", "abcd")];
    for (value, legacy) in [("regional", false), ("legacy", true), ("LEGACY", true)] {
        let env = [base[0], base[1], ("AWS_STS_REGIONAL_ENDPOINTS", value)];
        assert_eq!(ok(&env, &[]).legacy_global, legacy, "{value}");
    }
    assert!(!ok(&base, &[]).legacy_global);
}

#[test]
fn proxies() {
    assert_eq!(
        parse_proxy("http://proxy:3128").unwrap(),
        ("http://proxy:3128".into(), "http://proxy:3128".into())
    );
    assert_eq!(
        parse_proxy("http://bob:hunter2@proxy:3128/").unwrap(),
        (
            "http://bob:hunter2@proxy:3128".into(),
            "http://***:***@proxy:3128".into()
        )
    );
    assert_eq!(parse_proxy("proxy:3128").unwrap().0, "http://proxy:3128");
    assert!(parse_proxy("socks5://proxy:1080")
        .unwrap_err()
        .contains("not supported"));
    assert_eq!(
        parse_proxy("socks5h://proxy:1080").unwrap_err(),
        "socks5h proxies are not supported; use an http:// proxy (HTTPS is tunnelled with CONNECT)"
    );
    assert_eq!(
        parse_proxy("ftp://proxy").unwrap_err(),
        "proxy scheme `ftp` is not supported; use an http:// proxy URL"
    );
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    let mut env = base.to_vec();
    env.extend([
        ("HTTP_PROXY", "http://ignored:1"),
        ("all_proxy", "http://all:2"),
        ("https_proxy", "http://low:3"),
    ]);
    let s = ok(&env, &[]);
    assert_eq!(s.proxy.unwrap().display, "http://low:3");
    env.push(("HTTPS_PROXY", "socks5://x:1"));
    assert!(err(&env, &[]).starts_with("HTTPS_PROXY: socks5 proxies are not supported"));
    let e = err(
        &[
            ("AWS_ROLE_ARN", ARN),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
            ("HTTPS_PROXY", "socks://u:pw@x:1"),
        ],
        &[],
    );
    assert!(!e.contains("pw"), "{e}");
}

#[test]
fn a_slash_in_a_proxy_password_never_shows_it() {
    // Found by fuzzing (fuzz/fuzz_targets/settings.rs): with an unencoded
    // '/' in the password, the URL was cut at the '/' and the start of
    // the password was logged as the proxy's port.
    let text = crate::testing::fixture("fuzz/settings-proxy-password-slash");
    let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let shown = match resolve(&inputs(&env, &[]), &mut NoFiles) {
        Ok(s) => {
            format!("{:?}", s.listing()) + &s.proxy.map(|p| p.value.display).unwrap_or_default()
        }
        Err(e) => e.to_string(),
    };
    assert!(!shown.contains("Ab3"), "{shown}");
    assert!(
        shown.contains("percent-encode any / in the user or password as %2F"),
        "{shown}"
    );
    assert!(parse_proxy("http://svc:a%2Fb@proxy:3128").is_ok());
}

#[test]
fn proxy_urls_the_client_cannot_use_are_refused() {
    // Found by fuzzing (fuzz/fuzz_targets/settings.rs): a `?` in the
    // password passed here, then the client read the URL differently
    // (or not at all) and the run failed after --check said it was fine.
    let text = crate::testing::fixture("fuzz/settings-proxy-question-mark");
    let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let e = resolve(&inputs(&env, &[]), &mut NoFiles)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("HTTPS_PROXY: the proxy URL is not one the client can use"),
        "{e}"
    );
    assert!(!e.contains("pa?ss") && !e.contains("svc"), "{e}");
    for bad in [
        "http://svc:pa#ss@proxy:3128",
        "http://svc:pa ss@proxy:3128",
        "proxy:port",
    ] {
        assert!(
            parse_proxy(bad)
                .unwrap_err()
                .starts_with("the proxy URL is not one the client can use; percent-encode"),
            "{bad}"
        );
    }
    for good in [
        "http://svc:pa%3Fss@proxy:3128",
        "proxy",
        "http://[::1]:3128",
        "http://[::1]",
    ] {
        assert!(parse_proxy(good).is_ok(), "{good}");
    }
}

#[test]
fn endpoint_sources_and_ignore_switch() {
    let base = [("AWS_ROLE_ARN", ARN), ("PLUGIN_OIDC_TOKEN", "abcd")];
    let mut env = base.to_vec();
    env.push(("AWS_ENDPOINT_URL", "https://generic"));
    assert_eq!(
        ok(&env, &[]).endpoint.unwrap().source,
        Source::Env("AWS_ENDPOINT_URL")
    );
    env.push(("AWS_ENDPOINT_URL_STS", "https://sts-only"));
    assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://sts-only");
    env.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
    assert!(ok(&env, &[]).endpoint.is_none());
    env.push(("PLUGIN_ENDPOINT", "https://plugin"));
    assert_eq!(ok(&env, &[]).endpoint.unwrap().value, "https://plugin");
    let s = ok(&env, &["--endpoint=https://flag"]);
    assert_eq!(s.endpoint.unwrap().source, Source::Flag("--endpoint"));
}

#[test]
fn ca_bundle_must_hold_a_certificate() {
    let env = [
        ("AWS_ROLE_ARN", ARN),
        ("PLUGIN_OIDC_TOKEN", "abcd"),
        ("AWS_CA_BUNDLE", "/ca.pem"),
    ];
    let mut files = OneFile("/ca.pem", "not a pem\n");
    let e = resolve(&inputs(&env, &[]), &mut files).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("AWS_CA_BUNDLE: /ca.pem holds no PEM certificate"),
        "{e}"
    );
    assert_eq!(e.code(), 2);
}

#[test]
fn proxy_urls_that_do_not_parse_never_show_their_credentials() {
    for url in [
        "ci:pa://PASS@host:9",
        "http://ci:pa/SS@host:9",
        "http://ci:pa?SS@host:9",
        "http://ci:pa#SS@host:9",
        "ftp://ci:PASS@host:9",
    ] {
        let e = parse_proxy(url).unwrap_err();
        assert!(
            !e.contains("PASS") && !e.contains("SS") && !e.contains("ci"),
            "{url}: {e}"
        );
    }
}

#[test]
fn only_usable_certificates_count_in_a_ca_bundle() {
    let garbage = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n";
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    for (pem, usable, blocks) in [
        ("", 0, 0),
        ("# a comment, no PEM at all\n", 0, 0),
        (key, 0, 0),
        (garbage, 0, 1),
        (bad_base64, 0, 1),
        (&format!("{garbage}{key}{garbage}"), 0, 2),
    ] {
        let (certs, n) = certificates(pem.as_bytes());
        assert_eq!((certs.len(), n), (usable, blocks), "{pem}");
    }
    let bundle = |pem: &'static str| {
        let mut files = OneFile("/ca.pem", pem);
        resolve(
            &inputs(
                &[
                    ("AWS_ROLE_ARN", ARN),
                    ("PLUGIN_OIDC_TOKEN", "h.p.s"),
                    ("AWS_CA_BUNDLE", "/ca.pem"),
                ],
                &[],
            ),
            &mut files,
        )
    };
    let e = bundle(garbage).unwrap_err();
    assert_eq!(e.code(), 2);
    assert_eq!(
        e.to_string(),
        "AWS_CA_BUNDLE: /ca.pem holds 1 PEM certificate block but no usable X.509 certificate; point it at a PEM bundle of CA certificates"
    );
    assert!(bundle(key)
        .unwrap_err()
        .to_string()
        .contains("holds no PEM certificate"));
}
