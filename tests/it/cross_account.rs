//! docs/cross-account.md's worked examples (role chaining from a Harness
//! step, a Drone pipeline, a shell and `~/.aws/config`), and the trust
//! policies every guide shows, run from the guides' own text.

use crate::cli::*;
use crate::readme::{doc_block, doc_text};
use crate::support::*;

/// The identity account and the deploy role of README's Cross-account
/// examples.
const FIRST_ROLE: &str = "arn:aws:iam::111111111111:role/ci-identity";
const DEPLOY_ROLE: &str = "arn:aws:iam::222222222222:role/deploy";
const EXTERNAL_ID: &str = "ci-deploy-7f3a";

/// Whether this build has these flags. Role chaining, `--verify` and
/// `--cache` (issue 11) were built on branches of their own; until they are
/// merged, the README examples that use them are run only as far as this
/// build goes (the account guard), and the rest is skipped, saying so.
fn built_with(flags: &[&str]) -> bool {
    let help = run(&[], &["--help"]).stdout;
    let missing: Vec<&&str> = flags
        .iter()
        .filter(|f| !help.contains(&format!("  {f} ")))
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped the chained run: this build has no {missing:?}");
    }
    missing.is_empty()
}

/// A plugin step's `settings:` as the runner hands them over: each
/// `key: value` directly under it as `PLUGIN_<KEY>`, comments dropped. A
/// nested value (`from_secret:`) is left to the caller.
fn yaml_settings(yaml: &str) -> Vec<(String, String)> {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "settings:");
    let Some(head) = lines.next() else {
        return Vec::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let inner: Vec<&str> = lines.take_while(|l| indent(l) > indent(head)).collect();
    let depth = inner.first().map_or(0, |l| indent(l));
    inner
        .iter()
        .filter(|l| indent(l) == depth)
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            let v = v.split(" #").next().unwrap_or_default().trim();
            (!v.is_empty()).then(|| (format!("PLUGIN_{}", k.to_uppercase()), v.to_string()))
        })
        .collect()
}

/// The requests of one chained run through the README's roles: the
/// web-identity hop for the first role, then `AssumeRole` for the deploy
/// role with the external id and the same session name, then (with
/// `verify`) `GetCallerIdentity`. Returns the deploy role's credentials.
fn assert_chained(sts: &StandIn, session: &str, verify: bool) -> standin::Issued {
    let reqs = sts.requests();
    let action = |i: usize| reqs.get(i).and_then(|r| r.field("Action"));
    assert_eq!(action(0), Some("AssumeRoleWithWebIdentity"));
    assert_eq!(reqs[0].field("RoleArn"), Some(FIRST_ROLE));
    assert_eq!(reqs[0].field("ExternalId"), None);
    assert_eq!(action(1), Some("AssumeRole"));
    assert_eq!(reqs[1].field("RoleArn"), Some(DEPLOY_ROLE));
    assert_eq!(reqs[1].field("ExternalId"), Some(EXTERNAL_ID));
    for r in &reqs[..2] {
        assert_eq!(r.field("RoleSessionName"), Some(session));
    }
    match verify {
        true => assert_eq!((reqs.len(), action(2)), (3, Some("GetCallerIdentity"))),
        false => assert_eq!(reqs.len(), 2),
    }
    sts.issued()
        .into_iter()
        .find(|i| {
            i.assumed_role_arn
                .contains(":222222222222:assumed-role/deploy/")
        })
        .expect("the deploy role's credentials were issued")
}

/// README "Chaining in a Harness step": the step's settings as Harness
/// hands them over. The example's allowedAccountIds lets its roles through
/// (`--check`); with chaining built, the run writes the deploy role's
/// credentials.
#[test]
fn readme_cross_account_harness_step() {
    let sts = StandIn::start();
    let yaml = doc_block(
        "docs/cross-account.md",
        "## Chaining in a Harness step",
        "yaml",
        0,
    );
    let mut step = Step::harness(&sts);
    for (k, v) in yaml_settings(&yaml) {
        step = step.set(&k, &v.replace("<+pipeline.executionId>", "exec42"));
    }
    assert_eq!(step.env.get("PLUGIN_IAMROLEARN"), Some(FIRST_ROLE));
    assert_eq!(step.env.get("PLUGIN_CHAINROLEARN"), Some(DEPLOY_ROLE));
    let out = step.run(&["--check"]);
    out.expect(0);
    assert!(
        out.stdout.contains(
            "allowed accounts: 111111111111, 222222222222 (from PLUGIN_ALLOWEDACCOUNTIDS)\n"
        ),
        "{}",
        out.stdout
    );
    if !built_with(&["--chain-role-arn", "--external-id", "--verify"]) {
        return;
    }
    let out = step.run(&[]);
    out.expect(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let last = assert_chained(&sts, "harness-exec42", true);
    assert!(step
        .secrets()
        .contains(&format!("AWS_ACCESS_KEY_ID={}\n", last.access_key_id)));
    assert!(step
        .vars()
        .contains(&format!("AWS_OIDC_ROLE_ARN={DEPLOY_ROLE}\n")));
    let secrets = secrets_of(&sts, &step.token);
    out.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// README "Chaining in Drone and Woodpecker": the first step as Drone hands
/// it over, then the later steps' commands in sh. Before chaining is built
/// the same pipeline runs one hop, through the guard.
#[test]
fn readme_cross_account_drone_pipeline() {
    let sts = StandIn::start();
    let workspace = temp_dir("drone-chain");
    let yaml = doc_block(
        "docs/cross-account.md",
        "## Chaining in Drone and Woodpecker",
        "yaml",
        0,
    );
    let (env, token) = drone_first_step(&sts, &yaml, &workspace);
    let chained = built_with(&["--chain-role-arn", "--external-id", "--verify"]);
    let out = run_env(&env, &[], None);
    out.expect(0).assert_hides(&[&token]);
    let issued = match chained {
        true => assert_chained(&sts, "drone-app-42", true),
        false => sts.issued().pop().unwrap(),
    };
    let out = drone_later_steps(&yaml, &workspace);
    assert_eq!(
        out.stdout,
        aws_printed(&issued, "us-west-2"),
        "{}",
        out.stderr
    );
    assert!(!workspace.join("aws-oidc.env").exists());
}

/// README "Chaining from a shell": the script in sh, the token in a file.
#[test]
fn readme_cross_account_shell() {
    if !built_with(&["--chain-role-arn", "--external-id", "--verify"]) {
        return;
    }
    let sts = StandIn::start();
    let job = ShellJob::shell(&sts);
    let out = job.run(
        &["sh"],
        &doc_block("docs/cross-account.md", "## Chaining from a shell", "sh", 0),
    );
    let last = assert_chained(&sts, "deploy-ci", true);
    assert_eq!(
        out.stdout,
        aws_printed(&last, "eu-west-1"),
        "{}",
        out.stderr
    );
}

/// README "Chaining in `~/.aws/config`" as botocore reads it, in two
/// processes one after the other: the first exchanges (two hops), the
/// second is served from the cache in `$HOME/.cache/aws-oidc`.
#[test]
fn readme_cross_account_profile_is_cached() {
    if !built_with(&["--chain-role-arn", "--external-id", "--cache"]) {
        return;
    }
    let sts = StandIn::start();
    let home = temp_dir("profile-chain");
    let ini = doc_block(
        "docs/cross-account.md",
        "## Chaining in `~/.aws/config`",
        "ini",
        0,
    );
    let first = botocore_profile_reads(&sts, &home, &ini, "deploy", 2);
    let last = assert_chained(&sts, "gitlab-4242", false);
    assert_eq!(first, vec![last.access_key_id.clone(); 2]);
    let second = botocore_profile_reads(&sts, &home, &ini, "deploy", 2);
    assert_eq!(second, first);
    assert_eq!(
        sts.requests().len(),
        2,
        "the second process asked STS again"
    );
    let cache = home.join(".cache/aws-oidc");
    assert_eq!(mode(&cache), 0o700);
}

/// README "The two policies": both are JSON, and they name the roles and
/// the external id the examples below them use, so a reader who copies one
/// policy and one example gets a pair that fits.
#[test]
fn readme_cross_account_policies_fit_the_examples() {
    use aws_oidc::json::{parse, Json};
    let at = json_at;
    let text = |s: &str| Json::String(s.to_string());
    let statement = |n: usize| {
        let block = doc_block("docs/cross-account.md", "## The two policies", "json", n);
        let doc = parse(&block).unwrap_or_else(|| panic!("not JSON:\n{block}"));
        assert_eq!(at(&doc, "Version"), &text("2012-10-17"));
        at(at(&doc, "Statement"), "0").clone()
    };
    let permission = statement(0);
    assert_eq!(at(&permission, "Effect"), &text("Allow"));
    assert_eq!(at(&permission, "Action"), &text("sts:AssumeRole"));
    assert_eq!(at(at(&permission, "Resource"), "0"), &text(DEPLOY_ROLE));
    let trust = statement(1);
    assert_eq!(at(&trust, "Action"), &text("sts:AssumeRole"));
    assert_eq!(at(at(&trust, "Principal"), "AWS"), &text(FIRST_ROLE));
    let condition = at(at(&trust, "Condition"), "StringEquals");
    assert_eq!(at(condition, "sts:ExternalId"), &text(EXTERNAL_ID));
    for (heading, lang) in [
        ("## Chaining in a Harness step", "yaml"),
        ("## Chaining in Drone and Woodpecker", "yaml"),
        ("## Chaining from a shell", "sh"),
        ("## Chaining in `~/.aws/config`", "ini"),
    ] {
        let example = doc_block("docs/cross-account.md", heading, lang, 0);
        for name in [
            FIRST_ROLE,
            DEPLOY_ROLE,
            EXTERNAL_ID,
            "111111111111,222222222222",
        ] {
            assert!(example.contains(name), "{heading} lacks {name}");
        }
    }
}

/// Every JSON block of README and the guides: the text of each, as the
/// reader copies it.
fn readme_json_blocks() -> Vec<String> {
    [
        "README.md",
        "docs/harness.md",
        "docs/other-ci.md",
        "docs/cross-account.md",
    ]
    .iter()
    .flat_map(|file| {
        let text = doc_text(file);
        text.split("```json\n")
            .skip(1)
            .map(|b| b[..b.find("```").unwrap()].to_string())
            .collect::<Vec<_>>()
    })
    .collect()
}

/// Whether `text` matches IAM's `StringLike` pattern `pattern`, where
/// `*` is any run of characters and an upper-case placeholder
/// (`ACCOUNT_ID`, `ORG`) stands for one value of the reader's.
fn iam_like(pattern: &str, text: &str) -> bool {
    let mut glob = String::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let upper = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(rest.len());
        if upper >= 3 {
            glob.push('*');
            rest = &rest[upper..];
        } else {
            glob.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    fn matches(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', p)) => (0..=t.len()).any(|i| matches(p, &t[i..])),
            Some((c, p)) => t.first() == Some(c) && matches(p, &t[1..]),
        }
    }
    matches(glob.as_bytes(), text.as_bytes())
}

/// README's trust policies are whole documents IAM accepts (Version
/// 2012-10-17, a Statement list), one for each CI whose token README
/// exchanges, and each lets in exactly the tokens the examples above use:
/// its provider is the token's issuer, its `aud` the token's audience, its
/// `sub` pattern matches the `sub` that CI sends. Every other JSON block
/// in README is a whole policy document too.
#[test]
fn readme_trust_policies_are_whole_documents_for_each_ci() {
    use aws_oidc::json::{parse, Json};
    let at = json_at;
    let text = |s: &str| Json::String(s.to_string());
    let mut trusted = Vec::new();
    for block in readme_json_blocks() {
        let doc = parse(&block).unwrap_or_else(|| panic!("not JSON:\n{block}"));
        assert_eq!(at(&doc, "Version"), &text("2012-10-17"), "{block}");
        let Json::Array(statements) = at(&doc, "Statement") else {
            panic!("Statement is not a list:\n{block}")
        };
        for st in statements {
            assert_eq!(at(st, "Effect"), &text("Allow"), "{block}");
            if at(st, "Action") != &text("sts:AssumeRoleWithWebIdentity") {
                continue;
            }
            let Json::String(federated) = at(at(st, "Principal"), "Federated") else {
                panic!("{block}")
            };
            let provider = federated.split_once(":oidc-provider/").unwrap().1;
            let mut conditions = Vec::new();
            for (test, keys) in match at(st, "Condition") {
                Json::Object(tests) => tests,
                _ => panic!("{block}"),
            } {
                for (key, value) in match keys {
                    Json::Object(keys) => keys,
                    _ => panic!("{block}"),
                } {
                    let Json::String(value) = value else {
                        panic!("{block}")
                    };
                    let claim = key
                        .strip_prefix(&format!("{provider}:"))
                        .unwrap_or_else(|| {
                            panic!("{key} is not a key of the provider {provider}:\n{block}")
                        });
                    conditions.push((test.clone(), claim.to_string(), value.clone()));
                }
            }
            trusted.push((provider.to_string(), conditions));
        }
    }
    let gitlab = jwt("https://gitlab.com", "sts.amazonaws.com", GITLAB_SUB, now());
    let buildkite = jwt(
        "https://agent.buildkite.com",
        "sts.amazonaws.com",
        BUILDKITE_SUB,
        now(),
    );
    // The Harness token README's set-up shows the policy of.
    let harness = jwt(
        "https://app.harness.io/ng/api/oidc/account/Ab12Cd34Ef56",
        "sts.amazonaws.com",
        "account/Ab12Cd34Ef56:org/default:project/payments:pipeline/deploy",
        now(),
    );
    for token in [harness, gitlab, buildkite] {
        let payload = token.split('.').nth(1).unwrap();
        let payload =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap();
        let claims = parse(std::str::from_utf8(&payload).unwrap()).unwrap();
        let claim = |name: &str| match at(&claims, name) {
            Json::String(s) => s.clone(),
            other => panic!("{name}: {other:?}"),
        };
        let issuer = claim("iss");
        let Some((_, conditions)) = trusted
            .iter()
            .find(|(provider, _)| iam_like(&format!("https://{provider}"), &issuer))
        else {
            panic!("README has no trust policy for tokens from {issuer}")
        };
        for name in ["aud", "sub"] {
            assert!(
                conditions.iter().any(|(_, c, _)| c == name),
                "the trust policy for {issuer} has no {name} condition"
            );
        }
        for (test, name, value) in conditions {
            let got = claim(name);
            let ok = match test.as_str() {
                "StringEquals" => iam_like(value, &got) && !value.contains('*'),
                "StringLike" => iam_like(value, &got),
                other => panic!("{other} in the trust policy for {issuer}"),
            };
            assert!(
                ok,
                "{issuer}: {test} {name} {value:?} does not let in {got:?}"
            );
        }
    }
}
