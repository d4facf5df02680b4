//! How a step reaches STS: the proxy, loopback and plain http, the CA bundle,
//! and the host as written.

use super::*;

#[test]
fn proxy_from_env_carries_the_request_and_its_password_stays_hidden() {
    let sts = StandIn::start();
    let proxy = standin::Proxy::start(sts.port);
    let step = Step::harness(&sts)
        .set(
            "PLUGIN_STS_ENDPOINT",
            &format!("https://{}:{}", standin::PROXY_ONLY_HOST, sts.port),
        )
        .set(
            "HTTPS_PROXY",
            &format!("http://ci-user:s3cret-pw@127.0.0.1:{}", proxy.port),
        )
        .set("HTTP_PROXY", "http://must-not-be-used:1")
        .set("PLUGIN_LOG_LEVEL", "trace");
    let out = step.run(&[]);
    out.expect(0);
    let connects = proxy.connects();
    assert_eq!(connects.len(), 1);
    assert_eq!(connects[0].method, "CONNECT");
    assert_eq!(
        connects[0].path,
        format!("{}:{}", standin::PROXY_ONLY_HOST, sts.port)
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("ci-user:s3cret-pw");
    assert_eq!(
        connects[0].header("proxy-authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    out.assert_hides(&["s3cret-pw", "ci-user", &basic]);
    out.says("http://***:***@127.0.0.1");

    // NO_PROXY sends it direct, where the name does not resolve: exit 4, proxy unused.
    let out = step
        .set("NO_PROXY", "localhost,.stand-in.invalid")
        .set("PLUGIN_MAX_ATTEMPTS", "1")
        .run(&[]);
    out.expect(4);
    assert!(
        out.last_line()
            .contains(&format!("cannot reach {}: ", standin::PROXY_ONLY_HOST))
            && !out.last_line().contains("through the proxy"),
        "{}",
        out.stderr
    );
    assert_eq!(proxy.connects().len(), 1);
}

#[test]
fn loopback_endpoints_never_use_the_proxy() {
    let sts = StandIn::start();
    let proxy = standin::Proxy::start(1);
    let step = Step::harness(&sts)
        .set("HTTPS_PROXY", &format!("http://127.0.0.1:{}", proxy.port))
        .set("PLUGIN_LOG_LEVEL", "debug");
    let out = step.run(&[]);
    out.expect(0);
    assert!(proxy.connects().is_empty());
    // Said at debug when a proxy is set; nothing about a proxy when none is.
    out.says("aws-oidc: debug: not using a proxy for 127.0.0.1 (loopback or NO_PROXY)\n");
    let out = step.unset("HTTPS_PROXY").run(&[]);
    out.expect(0);
    out.says_not("proxy");
}

#[test]
fn plain_http_is_allowed_on_loopback_only() {
    let sts = StandIn::with(Transport::Plain);
    let step = Step::harness(&sts).set(
        "PLUGIN_STS_ENDPOINT",
        &format!("http://localhost:{}", sts.port),
    );
    step.run(&[]).expect(0);
    assert_eq!(sts.requests().len(), 1);
    let out = step
        .set("PLUGIN_STS_ENDPOINT", "http://sts.amazonaws.com")
        .run(&[]);
    out.expect(2);
    assert!(
        out.last_line().contains(
            "PLUGIN_STS_ENDPOINT: plain http:// is allowed only for 127.0.0.1, ::1 or localhost"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(sts.requests().len(), 1);
}

#[test]
fn untrusted_certificate_names_the_host_and_the_ca_setting() {
    let sts = StandIn::with(Transport::UntrustedTls);
    let step = Step::harness(&sts);
    let out = step.run(&[]);
    out.expect(4);
    let line = out.last_line();
    assert!(
        line.contains("TLS to 127.0.0.1 failed: the server's certificate is not trusted"),
        "{line}"
    );
    assert!(line.contains("PLUGIN_CA_BUNDLE"), "{line}");
    assert!(
        !out.stderr.contains("retrying"),
        "TLS trust failures are not retried:\n{}",
        out.stderr
    );
    // Without the CA bundle the built-in roots do not know the test CA either.
    let sts = StandIn::start();
    let out = Step::harness(&sts).unset("PLUGIN_CA_BUNDLE").run(&[]);
    out.expect(4);
    assert!(
        out.last_line().contains("not trusted (unknown issuer)"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_ca_bundle_is_read_under_every_spelling() {
    let sts = StandIn::start();
    for name in ["PLUGIN_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"] {
        let step = Step::harness(&sts)
            .unset("PLUGIN_CA_BUNDLE")
            .set(name, &sts.ca().display().to_string());
        step.run(&[]).expect(0);
    }
    let dir = temp_dir("ca");
    let empty = write_file(&dir, "empty.pem", "# no certificates here\n");
    let out = Step::harness(&sts)
        .unset("PLUGIN_CA_BUNDLE")
        .set("AWS_CA_BUNDLE", &empty.display().to_string())
        .run(&[]);
    out.expect(2);
    assert!(out.last_line().contains("AWS_CA_BUNDLE:"), "{}", out.stderr);
}

/// Runs the step's binary in a private mount namespace whose /etc/hosts
/// sends every spelling of localhost to 127.0.0.2, and whose resolv.conf
/// names a DNS server on 127.0.0.2 where nothing answers: any lookup either
/// goes to the wrong address or fails, and nothing leaves the machine.
/// `None`, with the reason printed, where such a namespace cannot be made.
fn run_where_localhost_is_elsewhere(step: &Step) -> Option<Output> {
    use std::process::Command;
    if Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!(
            "skipped: cannot make a mount namespace (unshare -m needs root or CAP_SYS_ADMIN)"
        );
        return None;
    }
    let dir = temp_dir("hosts");
    let hosts = write_file(
        &dir,
        "hosts",
        "127.0.0.2 localhost LOCALHOST LocalHost localhost. LOCALHOST.\n",
    );
    let resolv = write_file(&dir, "resolv.conf", "nameserver 127.0.0.2\n");
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(r#"mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && unset PATH && exec "$3""#)
        .arg("sh")
        .args([&hosts, &resolv, &bin()])
        .env_clear()
        .envs(step.env.iter())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run unshare");
    let _ = std::fs::remove_dir_all(&dir);
    Some(Output::from(out))
}

#[test]
fn localhost_in_any_case_reaches_loopback_without_a_lookup() {
    // Found from outside: `http://LOCALHOST:PORT` was allowed, then looked
    // up; musl matches /etc/hosts case-sensitively, so a stub DNS answering
    // 127.0.0.2 received the token in cleartext.
    let sts = StandIn::with(Transport::Plain);
    let names = ["LOCALHOST", "localhost.", "LocalHost", "localhost"];
    for name in names {
        let step = Step::harness(&sts)
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("http://{name}:{}", sts.port),
            )
            .set("PLUGIN_MAX_ATTEMPTS", "1");
        let Some(out) = run_where_localhost_is_elsewhere(&step) else {
            return;
        };
        assert_eq!(out.code, 0, "{name}:\n{}", out.stderr);
    }
    assert_eq!(sts.requests().len(), names.len());
    assert_eq!(
        sts.requests()[0].header("host"),
        Some(format!("LOCALHOST:{}", sts.port).as_str())
    );
}

#[test]
fn ipv6_loopback_however_written_is_loopback() {
    let sts = match StandIn::bound(Transport::Plain, "[::1]:0") {
        Ok(sts) => sts,
        Err(e) => {
            eprintln!("skipped: cannot listen on ::1 ({e})");
            return;
        }
    };
    for host in ["[0:0:0:0:0:0:0:1]", "[::1]"] {
        // The proxy would refuse: loopback must not use it.
        let out = Step::harness(&sts)
            .set(
                "PLUGIN_STS_ENDPOINT",
                &format!("http://{host}:{}", sts.port),
            )
            .set("HTTPS_PROXY", "http://127.0.0.1:9")
            .run(&[]);
        assert_eq!(out.code, 0, "{host}:\n{}", out.stderr);
    }
    assert_eq!(sts.requests().len(), 2);
}

#[test]
fn the_trace_shows_the_host_header_as_sent() {
    let sts = StandIn::start();
    let out = Step::harness(&sts)
        .set("PLUGIN_LOG_LEVEL", "trace")
        .run(&[]);
    out.expect(0);
    let sent = sts.requests()[0]
        .header("host")
        .unwrap_or_default()
        .to_string();
    assert_eq!(sent, format!("127.0.0.1:{}", sts.port));
    out.says(&format!("request headers: Host: {sent};"));
}
