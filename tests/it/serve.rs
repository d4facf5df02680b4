//! `--serve` (`docs/reference.md` §14.2), through the real binary against
//! the stand-in, with real clients as the command: botocore's container
//! provider and the AWS CLI find the endpoint by themselves; a small
//! Python client tries what they would not (no token, a foreign `Host`).

use std::path::{Path, PathBuf};

use crate::support::*;

/// A client of the endpoint: `refusals` asks as an attacker would, then
/// once rightly; `keys N` asks N times and prints each `AccessKeyId`.
/// Last it prints the token and `host:port`, for the test to check.
const CLIENT: &str = r#"
import http.client, json, os, sys, urllib.parse
u = urllib.parse.urlparse(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
tok = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
host = "%s:%d" % (u.hostname, u.port)
def ask(method="GET", path=u.path, headers=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body
mine = {"Host": host, "Authorization": tok}
if os.environ.get("ROTATE_TO"):
    with open(os.environ["ROTATE_FILE"], "w") as f:
        f.write(os.environ["ROTATE_TO"])
if sys.argv[1] == "refusals":
    print("none", ask(headers={"Host": host})[0])
    print("wrong", ask(headers={"Host": host, "Authorization": tok[:-1] + "x"})[0])
    print("host", ask(headers={"Host": "rebound.example:%d" % u.port, "Authorization": tok})[0])
    print("post", ask("POST", headers=mine)[0])
    print("path", ask(path="/", headers=mine)[0])
    print("right", ask(headers=mine)[0])
elif sys.argv[1] == "drip":
    # A client that sends a byte at a time, for longer than the command
    # runs, in a process of its own; then a request of the right kind.
    import subprocess, time
    drip = "import socket,sys,time\ns=socket.create_connection(('%s',%d))\nfor _ in range(100):\n    s.send(b'G'); time.sleep(0.2)" % (u.hostname, u.port)
    subprocess.Popen([sys.executable, "-c", drip], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    t0 = time.time()
    s, b = ask(headers=mine)
    print("status", s)
    print("waited", round(time.time() - t0, 1))
else:
    for _ in range(int(sys.argv[2])):
        s, b = ask(headers=mine)
        print(s, json.loads(b)["AccessKeyId"] if s == 200 else b.decode())
print("token", tok)
print("at", host)
"#;

/// The Python that has botocore.
fn python() -> String {
    python_with("botocore", "botocore")
}

fn step(sts: &StandIn) -> (Step, PathBuf) {
    let s = Step::harness(sts).set("PATH", "/usr/bin:/bin");
    let client = write_file(&s.dir, "client.py", CLIENT);
    (s, client)
}

/// The value after `name ` in the client's output.
fn said<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} line:\n{stdout}"))
}

#[test]
fn the_endpoint_refuses_all_but_its_own_token_host_and_path() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    let s = s.set("PLUGIN_LOG_LEVEL", "trace");
    let out = s.run(&[
        "--serve",
        "--",
        &python(),
        &client.display().to_string(),
        "refusals",
    ]);
    out.expect(0);
    for (what, status) in [
        ("none", "401"),
        ("wrong", "401"),
        ("host", "403"),
        ("post", "403"),
        ("path", "403"),
        ("right", "200"),
    ] {
        assert_eq!(said(&out.stdout, what), status, "{what}\n{}", out.stderr);
    }
    for why in [
        "refused a request (401): no Authorization header",
        "refused a request (401): the Authorization header is not the token",
        "refused a request (403): its Host is not this endpoint",
        "refused a request (403): only GET is answered",
        "refused a request (403): not the credentials' path",
    ] {
        assert!(out.stderr.contains(why), "{why}\n{}", out.stderr);
    }
    // Neither the endpoint's token nor what it served reaches stderr.
    let token = said(&out.stdout, "token").to_string();
    assert_eq!(token.len(), 64);
    let issued = sts.issued()[0].clone();
    out.assert_hides(&[&s.token]);
    for secret in [&token, &issued.secret_access_key, &issued.session_token] {
        out.says_not(secret.as_str());
    }
    // It closed when the command exited.
    let at = said(&out.stdout, "at");
    assert!(
        std::net::TcpStream::connect(at).is_err(),
        "{at} still listens"
    );
}

#[test]
fn botocore_and_the_aws_cli_use_the_endpoint_by_themselves() {
    let sts = StandIn::start();
    let (s, _) = step(&sts);
    let home = temp_dir("home");
    let s = s
        .set("PLUGIN_REGION", "us-east-1")
        .set("HOME", &home.display().to_string())
        .set("AWS_CA_BUNDLE", &sts.ca().display().to_string());
    // A default profile with keys of its own, which the SDKs would read
    // before the endpoint.
    std::fs::create_dir(home.join(".aws")).unwrap();
    write_file(
        &home.join(".aws"),
        "credentials",
        "[default]\naws_access_key_id = AKIAOTHERPROFILE0000\naws_secret_access_key = x\n",
    );
    let script = "import botocore.session; c = botocore.session.get_session().get_credentials(); print(c.method, c.get_frozen_credentials().access_key)";
    let out = s.run(&["--serve", "--", &python(), "-c", script]);
    out.expect(0);
    let issued = sts.issued()[0].clone();
    assert_eq!(
        out.stdout.trim(),
        format!("container-role {}", issued.access_key_id)
    );
    let mut args = vec!["--serve".to_string(), "--".to_string()];
    args.extend(aws_caller_arn(&sts.url()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.run(&args);
    out.expect(0);
    assert_eq!(
        out.stdout.trim(),
        "arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc"
    );
    let second = sts.issued()[1].clone();
    assert_eq!(
        sts.signatures().last().unwrap().access_key_id,
        second.access_key_id
    );
}

/// The `AccessKeyId`s the client was served, in order.
fn served(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("200 "))
        .map(String::from)
        .collect()
}

fn actions(sts: &StandIn) -> Vec<String> {
    sts.requests()
        .iter()
        .map(|r| r.field("Action").unwrap_or("?").to_string())
        .collect()
}

fn serve_keys(s: &Step, client: &Path, n: &str) -> Output {
    s.run(&[
        "--serve",
        "--",
        &python(),
        &client.display().to_string(),
        "keys",
        n,
    ])
}

#[test]
fn credentials_within_the_window_are_refreshed_and_others_not() {
    // An hour left: two requests, one exchange.
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    let out = serve_keys(&s, &client, "2");
    out.expect(0);
    let first = sts.issued()[0].access_key_id.clone();
    assert_eq!(served(&out.stdout), [first.clone(), first]);
    assert_eq!(sts.counts(), (1, 1));
    // Ten minutes left: the first request refreshes, and both get the new.
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    sts.script([Reply::StsExpiringIn(600)]);
    let out = serve_keys(&s, &client, "2");
    out.expect(0);
    let fresh = sts.issued()[1].access_key_id.clone();
    assert_eq!(served(&out.stdout), [fresh.clone(), fresh]);
    assert_eq!(actions(&sts), ["AssumeRoleWithWebIdentity"; 2]);
    assert!(
        out.stderr.contains("aws-oidc: warning: the credentials last 10m 0s, inside the SDKs' 15-minute refresh window")
            || out.stderr.contains("aws-oidc: warning: the credentials last 9m 59s, inside the SDKs' 15-minute refresh window"),
        "{}",
        out.stderr
    );
    out.says("aws-oidc: refreshed the command's credentials: arn:aws:sts::123456789012:assumed-role/harness-ci/harness-aws-oidc until ");
}

#[test]
fn a_chain_is_refreshed_from_the_first_hop_without_the_token() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    let s = s
        .set(
            "PLUGIN_CHAIN_ROLE_ARN",
            "arn:aws:iam::210987654321:role/deploy",
        )
        .set("PLUGIN_DURATION", "2h");
    // The chained hop's credentials are within the window; the first hop's
    // have two hours.
    sts.script([Reply::Sts, Reply::StsExpiringIn(600)]);
    let out = serve_keys(&s, &client, "2");
    out.expect(0);
    assert_eq!(
        actions(&sts),
        ["AssumeRoleWithWebIdentity", "AssumeRole", "AssumeRole"],
        "{}",
        out.stderr
    );
    // The first hop asked for the duration, to outlive the chained ones.
    assert_eq!(sts.requests()[0].field("DurationSeconds"), Some("7200"));
    assert_eq!(sts.requests()[1].field("DurationSeconds"), Some("3600"));
    let issued = sts.issued();
    // The re-assumed hop was signed with the first hop's key.
    let signers: Vec<String> = sts
        .signatures()
        .iter()
        .map(|v| v.access_key_id.clone())
        .collect();
    assert_eq!(
        signers,
        [
            issued[0].access_key_id.clone(),
            issued[0].access_key_id.clone()
        ]
    );
    let fresh = issued[2].access_key_id.clone();
    assert_eq!(served(&out.stdout), [fresh.clone(), fresh]);
}

#[test]
fn a_failed_refresh_serves_the_old_credentials_and_waits_before_trying_again() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    sts.script([
        Reply::StsExpiringIn(600),
        Reply::Error(403, "AccessDenied", "Not authorized".into()),
    ]);
    let out = serve_keys(&s, &client, "3");
    out.expect(0);
    let old = sts.issued()[0].access_key_id.clone();
    assert_eq!(served(&out.stdout), [old.clone(), old.clone(), old]);
    assert_eq!(sts.counts().0, 2, "one refresh tried, not one per request");
    assert!(
        out.stderr.contains("aws-oidc: warning: cannot refresh the command's credentials (STS refused AssumeRoleWithWebIdentity (HTTP 403): AccessDenied"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("; serving the old ones until they expire at "));
}

#[test]
fn serve_needs_a_command_and_check_says_what_it_would_get() {
    let sts = StandIn::start();
    let (s, _) = step(&sts);
    let out = s.run(&["--serve"]);
    out.expect(2);
    assert!(
        out.last_line()
            .contains("--serve gives a command a credential endpoint, so it needs one after `--`"),
        "{}",
        out.stderr
    );
    let out = s.run(&["--serve", "--check", "--", "env"]);
    out.expect(0);
    assert!(
        out.stdout.contains("command environment: sets AWS_CONTAINER_CREDENTIALS_FULL_URI (http://127.0.0.1 on a port picked when it runs), AWS_CONTAINER_AUTHORIZATION_TOKEN (a fresh secret), AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE (the null device) (from STS); removes "),
        "{}",
        out.stdout
    );
    assert_eq!(sts.counts().0, 0);
}

#[test]
fn a_full_refresh_reads_the_token_file_again() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    let file = write_file(&s.dir, "token", &s.token);
    let rotated = jwt(
        "https://app.harness.io/ng/api/oidc/account/acc123",
        "sts.amazonaws.com",
        "account/acc123:org/default:project/ci:pipeline/deploy:rotated",
        now() + 600,
    );
    let s = s
        .unset("PLUGIN_OIDC_TOKEN_ID")
        .set("PLUGIN_OIDC_TOKEN_FILE", &file.display().to_string())
        .set("ROTATE_FILE", &file.display().to_string())
        .set("ROTATE_TO", &rotated);
    sts.script([Reply::StsExpiringIn(600)]);
    let out = serve_keys(&s, &client, "1");
    out.expect(0);
    let sent: Vec<String> = sts
        .requests()
        .iter()
        .filter_map(|r| r.field("WebIdentityToken").map(String::from))
        .collect();
    assert_eq!(sent, [s.token.clone(), rotated.clone()]);
    out.assert_hides(&[&s.token, &rotated]);
}

#[test]
fn credentials_always_inside_the_window_are_refreshed_once_a_minute_at_most() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    // 15 minutes, every time: each answer is inside the window as it comes.
    let out = serve_keys(&s.set("PLUGIN_DURATION", "15m"), &client, "5");
    out.expect(0);
    assert_eq!(
        actions(&sts),
        ["AssumeRoleWithWebIdentity"; 2],
        "{}",
        out.stderr
    );
    let fresh = sts.issued()[1].access_key_id.clone();
    assert_eq!(served(&out.stdout), vec![fresh; 5]);
}

#[test]
fn a_client_sending_a_byte_at_a_time_holds_up_neither_the_sdk_nor_the_exit() {
    let sts = StandIn::start();
    let (s, client) = step(&sts);
    let started = std::time::Instant::now();
    let out = s.run(&[
        "--serve",
        "--",
        &python(),
        &client.display().to_string(),
        "drip",
    ]);
    out.expect(0);
    assert_eq!(said(&out.stdout, "status"), "200", "{}", out.stderr);
    // The drip gets the endpoint's one second for its whole head, so the
    // request behind it waits at most that; and aws-oidc ends when the
    // command does, though the drip goes on for 20 s.
    let waited: f64 = said(&out.stdout, "waited").parse().unwrap();
    assert!(waited < 1.5, "waited {waited}s behind a slow client");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "aws-oidc stayed {:?} for a slow client",
        started.elapsed()
    );
}
