//! Session tags, transitive tag keys and the source identity on chained
//! hops (docs/reference.md §11.6), through the real binary and the
//! stand-in, which checks them as STS does, records what each session was
//! given, and verifies every chained hop's signature with the independent
//! SigV4 verifier.

use crate::support::*;

const ROLE2: &str = "arn:aws:iam::210987654321:role/deploy";
const ROLE3: &str = "arn:aws:iam::333333333333:role/app/final";

fn chained(sts: &StandIn, arns: &str) -> Step {
    Step::harness(sts).set("PLUGIN_CHAINROLEARN", arns)
}

/// The tag, transitive-key and source-identity fields of a request, in
/// the order sent.
fn tag_fields(r: &standin::Recorded) -> Vec<String> {
    r.form
        .iter()
        .filter(|(k, _)| {
            k.starts_with("Tags.") || k.starts_with("TransitiveTagKeys.") || k == "SourceIdentity"
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

#[test]
fn tags_go_on_every_chained_hop_signed_and_never_on_the_first() {
    let sts = StandIn::start();
    let step = chained(&sts, &format!("{ROLE2},{ROLE3}"))
        .set("PLUGIN_TAGS", "team=ci, env=prod eu,Équipe=déploiement:1/2")
        .set("PLUGIN_TRANSITIVETAGKEYS", "team,Équipe")
        .set("PLUGIN_SOURCE_IDENTITY", "alice@example.com");
    let out = step.run(&["--log-level", "trace"]);
    out.expect(0);
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(tag_fields(&reqs[0]), Vec::<String>::new());
    let want = [
        "Tags.member.1.Key=team",
        "Tags.member.1.Value=ci",
        "Tags.member.2.Key=env",
        "Tags.member.2.Value=prod eu",
        "Tags.member.3.Key=Équipe",
        "Tags.member.3.Value=déploiement:1/2",
        "TransitiveTagKeys.member.1=team",
        "TransitiveTagKeys.member.2=Équipe",
        "SourceIdentity=alice@example.com",
    ];
    for r in &reqs[1..] {
        assert_eq!(tag_fields(r), want);
    }
    // Each chained hop's body, tags included, is what its signature
    // covers: the stand-in's independent verifier accepted both, each
    // signed by the hop before's key.
    let (issued, sigs) = (sts.issued(), sts.signatures());
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[0].access_key_id, issued[0].access_key_id);
    assert_eq!(sigs[1].access_key_id, issued[1].access_key_id);
    // What each session was given, as the stand-in recorded it.
    assert!(issued[0].tags.is_empty() && issued[0].source_identity.is_none());
    for c in &issued[1..] {
        let keys: Vec<&str> = c.tags.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["team", "env", "Équipe"]);
        assert_eq!(c.tags[1].1, "prod eu");
        assert_eq!(c.transitive_tag_keys, ["team", "Équipe"]);
        assert_eq!(c.source_identity.as_deref(), Some("alice@example.com"));
    }
    let mut secrets = secrets_of(&sts, &step.token);
    secrets.retain(|s| !s.is_empty());
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn check_shows_the_tags_on_each_chained_hop_and_sends_nothing() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2)
        .set("PLUGIN_TAGS", "team=ci")
        .set("PLUGIN_SOURCE_IDENTITY", "alice");
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(sts.requests().is_empty());
    let hop2 = &out.stdout[out.stdout.find("(hop 2 of 2").unwrap()..];
    for want in [
        "  Tags.member.1.Key=team\n",
        "  Tags.member.1.Value=ci\n",
        "  SourceIdentity=alice\n",
    ] {
        assert!(hop2.contains(want), "{want}\n{}", out.stdout);
    }
    let hop1 = &out.stdout[..out.stdout.find("(hop 2 of 2").unwrap()];
    assert!(!hop1.contains("Tags.member"), "{}", out.stdout);
}

/// The cache key covers the tags: the same run with other tags is a miss
/// (docs/reference.md §13.2).
#[test]
fn other_tags_are_another_cache_entry() {
    let sts = StandIn::start();
    let step = chained(&sts, ROLE2)
        .set("PLUGIN_CACHE", "true")
        .set("PLUGIN_OUTPUT_FORMAT", "credential-process")
        .unset("HARNESS_OUTPUT_SECRET_FILE");
    let dir = step.dir.join("cache").display().to_string();
    let step = step.set("PLUGIN_CACHE_DIR", &dir);
    for (tags, requests) in [("team=ci", 2), ("team=ci", 2), ("team=cd", 4)] {
        step.clone_with("PLUGIN_TAGS", tags).run(&[]).expect(0);
        assert_eq!(sts.requests().len(), requests, "{tags}");
    }
}

/// The stand-in refuses tags on `AssumeRoleWithWebIdentity`, which takes
/// its tags from the token, so a run that sent them there would fail.
#[test]
fn the_stand_in_refuses_tags_on_the_web_identity_hop() {
    let sts = StandIn::with(Transport::Plain);
    let token = harness_token();
    let body = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=s1&WebIdentityToken={token}&Tags.member.1.Key=a&Tags.member.1.Value=b",
        ROLE.replace(':', "%3A").replace('/', "%2F")
    );
    let answer = post_plain(sts.port, &body);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("AssumeRoleWithWebIdentity has no parameter Tags.member.1.Key"),
        "{answer}"
    );
    assert!(sts.issued().is_empty());
}

/// POSTs a form to a plain-HTTP stand-in and returns the whole answer.
fn post_plain(port: u16, body: &str) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

trait CloneWith {
    fn clone_with(&self, key: &str, value: &str) -> Step;
}

impl CloneWith for Step {
    /// The same step with one more variable (the files and the folder are
    /// this step's).
    fn clone_with(&self, key: &str, value: &str) -> Step {
        let env = self.env.clone().set(key, value);
        Step {
            env,
            secret_file: self.secret_file.clone(),
            vars_file: self.vars_file.clone(),
            token: self.token.clone(),
            dir: temp_dir("step-copy"),
        }
    }
}
