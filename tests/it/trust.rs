//! `--trust-policy` (docs/reference.md §15) through the real binary: for
//! each known CI's token, the document parses, names the provider in the
//! role's partition and account, and its conditions, evaluated here as IAM
//! evaluates `StringEquals` and `StringLike`, let in the token it came
//! from and the next build of the same pipeline, and keep out a
//! neighbouring project. The stand-in counts requests: none is sent.

use aws_oidc::json::{parse, Json};

use crate::support::*;

/// One CI's token shape: its claims, the `sub` of the next build of the
/// same pipeline, and those of neighbours that must stay out.
struct Shape {
    ci: &'static str,
    iss: &'static str,
    aud: &'static str,
    sub: &'static str,
    next: &'static [&'static str],
    neighbours: &'static [&'static str],
    op: &'static str,
}

const SHAPES: &[Shape] = &[
    Shape {
        ci: "Harness",
        iss: "https://app.harness.io/ng/api/oidc/account/acc123",
        aud: "sts.amazonaws.com",
        sub: "account/acc123:org/default:project/ci:pipeline/deploy",
        next: &["account/acc123:org/default:project/ci:pipeline/deploy"],
        neighbours: &[
            "account/acc123:org/default:project/web:pipeline/deploy",
            "account/acc123:org/default:project/ci:pipeline/deploy2",
        ],
        op: "StringEquals",
    },
    Shape {
        ci: "GitLab",
        iss: "https://gitlab.com",
        aud: "sts.amazonaws.com",
        sub: "project_path:grp/app:ref_type:branch:ref:main",
        next: &["project_path:grp/app:ref_type:branch:ref:main"],
        neighbours: &[
            "project_path:grp/app2:ref_type:branch:ref:main",
            "project_path:grp/app:ref_type:branch:ref:dev",
        ],
        op: "StringEquals",
    },
    Shape {
        ci: "Buildkite",
        iss: "https://agent.buildkite.com",
        aud: "sts.amazonaws.com",
        sub: "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:0f1e2d3c:step:build",
        next: &[
            "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:9a8b7c6d:step:build",
            "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:9a8b7c6d:step:test",
        ],
        neighbours: &[
            "organization:acme:pipeline:web:ref:refs/heads/main:commit:0f1e2d3c:step:build",
            "organization:acme:pipeline:deploy-2:ref:refs/heads/main:commit:0f1e2d3c:step:build",
            "organization:acme:pipeline:deploy:ref:refs/heads/dev:commit:0f1e2d3c:step:build",
            "organization:evil:pipeline:deploy:ref:refs/heads/main:commit:0f1e2d3c:step:build",
        ],
        op: "StringLike",
    },
    Shape {
        ci: "GitHub Actions",
        iss: "https://token.actions.githubusercontent.com",
        aud: "sts.amazonaws.com",
        sub: "repo:octo/app:ref:refs/heads/main",
        next: &["repo:octo/app:ref:refs/heads/main"],
        neighbours: &[
            "repo:octo/app2:ref:refs/heads/main",
            "repo:octo/app:ref:refs/heads/dev",
            "repo:octo/app:pull_request",
        ],
        op: "StringEquals",
    },
    Shape {
        ci: "CircleCI",
        iss: "https://oidc.circleci.com/org/9f2c4a1e",
        aud: "9f2c4a1e",
        sub: "org/9f2c4a1e/project/77aa/user/u-1",
        next: &["org/9f2c4a1e/project/77aa/user/u-2"],
        neighbours: &[
            "org/9f2c4a1e/project/88bb/user/u-1",
            "org/1234abcd/project/77aa/user/u-1",
        ],
        op: "StringLike",
    },
    Shape {
        ci: "Bitbucket Pipelines",
        iss: "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
        aud: "ari:cloud:bitbucket::workspace/0c9a",
        sub: "{1d2c-repo}:{5e6f-step}",
        next: &["{1d2c-repo}:{7a8b-step}"],
        neighbours: &["{3e4f-repo}:{5e6f-step}"],
        op: "StringLike",
    },
    Shape {
        ci: "a Kubernetes service account",
        iss: "https://oidc.eks.eu-west-1.amazonaws.com/id/0123ABCD",
        aud: "sts.amazonaws.com",
        sub: "system:serviceaccount:ci:deployer",
        next: &["system:serviceaccount:ci:deployer"],
        neighbours: &[
            "system:serviceaccount:ci:other",
            "system:serviceaccount:web:deployer",
        ],
        op: "StringEquals",
    },
    Shape {
        ci: "an issuer aws-oidc does not know",
        iss: "https://idp.example.com/",
        aud: "my-audience",
        sub: "svc-deploy",
        next: &["svc-deploy"],
        neighbours: &["svc-deploy2", "svc"],
        op: "StringEquals",
    },
];

/// One piece of a condition value: a character that matches itself, or
/// (in `StringLike`) `*` / `?`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    Char(char),
    Any,
    One,
}

/// A condition value as IAM reads it: `${*}`, `${?}` and `${$}` are the
/// characters themselves; in `StringLike`, `*` is any run and `?` any one
/// character. Any other `${` is a policy variable, which these documents
/// must never hold.
fn pieces(value: &str, like: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${") {
            let (escaped, tail) = after.split_at(after.find('}').expect("a closed ${"));
            assert!(
                ["*", "?", "$"].contains(&escaped),
                "a policy variable ${{{escaped}}} in {value}"
            );
            out.push(Piece::Char(escaped.chars().next().unwrap()));
            rest = &tail[1..];
            continue;
        }
        out.push(match (c, like) {
            ('*', true) => Piece::Any,
            ('?', true) => Piece::One,
            (c, _) => Piece::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn matches(p: &[Piece], text: &[char]) -> bool {
    match p.first() {
        None => text.is_empty(),
        Some(Piece::Any) => (0..=text.len()).any(|i| matches(&p[1..], &text[i..])),
        Some(Piece::One) => !text.is_empty() && matches(&p[1..], &text[1..]),
        Some(Piece::Char(c)) => text.first() == Some(c) && matches(&p[1..], &text[1..]),
    }
}

fn field<'a>(v: &'a Json, key: &str) -> &'a Json {
    match v {
        Json::Object(fields) => {
            &fields
                .iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("no {key} in {v:?}"))
                .1
        }
        _ => panic!("not an object: {v:?}"),
    }
}

fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        _ => panic!("not a string or list: {v:?}"),
    }
}

/// Whether the statement's conditions all hold for a token with these
/// claims, each key looked up in `context`, as IAM evaluates them: a key
/// the request lacks fails, and a list of values is any of them.
fn allows(statement: &Json, context: &[(String, String)]) -> bool {
    let Json::Object(ops) = field(statement, "Condition") else {
        panic!("no conditions");
    };
    ops.iter().all(|(op, keys)| {
        let like = match op.as_str() {
            "StringEquals" => false,
            "StringLike" => true,
            other => panic!("operator {other}"),
        };
        let Json::Object(keys) = keys else {
            panic!("{keys:?}")
        };
        keys.iter().all(|(key, values)| {
            let Some((_, actual)) = context.iter().find(|(k, _)| k == key) else {
                return false;
            };
            let actual: Vec<char> = actual.chars().collect();
            strings(values)
                .iter()
                .any(|v| matches(&pieces(v, like), &actual))
        })
    })
}

/// The documents `--trust-policy` printed, one after another.
fn documents(stdout: &str) -> Vec<Json> {
    let mut docs = Vec::new();
    let mut start = 0;
    for (i, line) in stdout.lines().enumerate() {
        if line == "}" {
            let text: Vec<&str> = stdout.lines().skip(start).take(i + 1 - start).collect();
            docs.push(parse(&text.join("\n")).expect("each document is JSON"));
            start = i + 1;
        }
    }
    assert_eq!(start, stdout.lines().count(), "only documents on stdout");
    docs
}

fn trust_env(sts: &StandIn, token: &str, role: &str) -> Vec<(String, String)> {
    vec![
        ("PLUGIN_IAMROLEARN".into(), role.into()),
        ("PLUGIN_OIDC_TOKEN_ID".into(), token.into()),
        ("PLUGIN_STS_ENDPOINT".into(), sts.url()),
        ("PLUGIN_CA_BUNDLE".into(), sts.ca().display().to_string()),
        ("PLUGIN_TRUST_POLICY".into(), "true".into()),
    ]
}

fn run_env(env: &[(String, String)], args: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run(&env, args)
}

#[test]
fn each_ci_s_policy_lets_in_its_token_and_the_next_build_and_not_a_neighbour() {
    let sts = StandIn::start();
    for shape in SHAPES {
        for (role, partition) in [
            (ROLE, "aws"),
            (
                "arn:aws-us-gov:iam::123456789012:role/ci/deploy",
                "aws-us-gov",
            ),
        ] {
            let token = jwt(shape.iss, shape.aud, shape.sub, now() + 600);
            let out = run_env(&trust_env(&sts, &token, role), &[]);
            out.expect(0);
            let docs = documents(&out.stdout);
            assert_eq!(docs.len(), 1, "{}", out.stdout);
            assert_eq!(
                field(&docs[0], "Version"),
                &Json::String("2012-10-17".into())
            );
            let Json::Array(statements) = field(&docs[0], "Statement") else {
                panic!()
            };
            let st = &statements[0];
            let provider = shape
                .iss
                .trim_start_matches("https://")
                .trim_end_matches('/');
            assert_eq!(strings(field(st, "Effect")), ["Allow"]);
            assert_eq!(
                strings(field(field(st, "Principal"), "Federated")),
                [format!(
                    "arn:{partition}:iam::123456789012:oidc-provider/{provider}"
                )]
            );
            assert_eq!(
                strings(field(st, "Action")),
                ["sts:AssumeRoleWithWebIdentity"]
            );
            let sub_op = match field(field(st, "Condition"), shape.op) {
                Json::Object(keys) => keys.iter().find(|(k, _)| k.ends_with(":sub")).cloned(),
                _ => None,
            };
            let (sub_key, sub_values) = sub_op
                .unwrap_or_else(|| panic!("{}: no {} on sub\n{}", shape.ci, shape.op, out.stdout));
            assert_eq!(sub_key, format!("{provider}:sub"));
            for v in strings(&sub_values) {
                assert!(
                    !v.starts_with('*') && !v.trim_matches('*').is_empty(),
                    "{}: a bare * in {v}",
                    shape.ci
                );
            }
            let context = |sub: &str| {
                vec![
                    (format!("{provider}:aud"), shape.aud.to_string()),
                    (format!("{provider}:sub"), sub.to_string()),
                ]
            };
            assert!(
                allows(st, &context(shape.sub)),
                "{}: its own token",
                shape.ci
            );
            for next in shape.next {
                assert!(
                    allows(st, &context(next)),
                    "{}: the next build {next}",
                    shape.ci
                );
            }
            for other in shape.neighbours {
                assert!(
                    !allows(st, &context(other)),
                    "{}: the neighbour {other}",
                    shape.ci
                );
            }
            // Another audience is kept out too.
            let other_aud = vec![
                (format!("{provider}:aud"), "another-audience".to_string()),
                (format!("{provider}:sub"), shape.sub.to_string()),
            ];
            assert!(!allows(st, &other_aud), "{}: another audience", shape.ci);
            assert!(
                out.stderr
                    .contains(&format!("the token is from {} (iss ", shape.ci)),
                "{}",
                out.stderr
            );
            out.says(&format!(
                "aws iam create-open-id-connect-provider --url https://{provider} --client-id-list {}",
                shape.aud
            ));
            out.assert_hides(&[&token, token.split('.').nth(2).unwrap()]);
        }
    }
    assert_eq!(sts.requests().len(), 0, "--trust-policy sends nothing");
}

/// A claim that would make a wildcard or a policy variable is written as
/// itself: the policy lets in that very `sub` and not one the wildcard
/// would have matched.
#[test]
fn a_claim_holding_wildcards_or_a_variable_matches_only_itself() {
    let sts = StandIn::start();
    let sub = "org/O1/project/P*${aws:username}?/user/u-1";
    let token = jwt("https://oidc.circleci.com/org/O1", "O1", sub, now() + 600);
    let out = run_env(&trust_env(&sts, &token, ROLE), &[]);
    out.expect(0);
    let docs = documents(&out.stdout);
    let Json::Array(st) = field(&docs[0], "Statement") else {
        panic!()
    };
    let p = "oidc.circleci.com/org/O1";
    let ctx = |s: &str| {
        vec![
            (format!("{p}:aud"), "O1".to_string()),
            (format!("{p}:sub"), s.to_string()),
        ]
    };
    assert!(allows(&st[0], &ctx(sub)));
    assert!(allows(
        &st[0],
        &ctx("org/O1/project/P*${aws:username}?/user/u-2")
    ));
    assert!(!allows(
        &st[0],
        &ctx("org/O1/project/PX${aws:username}?/user/u-1")
    ));
    assert!(!allows(
        &st[0],
        &ctx("org/O1/project/P*${aws:username}X/user/u-1")
    ));
}

#[test]
fn a_chain_adds_each_role_s_policy_trusting_the_role_before() {
    let sts = StandIn::start();
    let role2 = "arn:aws:iam::210987654321:role/deploy";
    let role3 = "arn:aws:iam::333333333333:role/app/final";
    let mut env = trust_env(&sts, &harness_token(), ROLE);
    for (k, v) in [
        ("PLUGIN_CHAIN_ROLE_ARN", format!("{role2},{role3}")),
        ("PLUGIN_EXTERNAL_ID", "ext-7".to_string()),
        ("PLUGIN_TAGS", "team=ci".to_string()),
        ("PLUGIN_SOURCE_IDENTITY", "alice".to_string()),
    ] {
        env.push((k.to_string(), v));
    }
    let out = run_env(&env, &[]);
    out.expect(0);
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 3);
    for (doc, previous) in docs[1..].iter().zip([ROLE, role2]) {
        let Json::Array(st) = field(doc, "Statement") else {
            panic!()
        };
        assert_eq!(
            strings(field(field(&st[0], "Principal"), "AWS")),
            [previous]
        );
        assert_eq!(
            strings(field(&st[0], "Action")),
            ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        );
        assert!(allows(&st[0], &[("sts:ExternalId".into(), "ext-7".into())]));
        assert!(!allows(
            &st[0],
            &[("sts:ExternalId".into(), "ext-8".into())]
        ));
    }
    out.says("document 3 of 3 on stdout (jq -s '.[2]' picks it) is the trust policy of arn:aws:iam::333333333333:role/app/final: aws iam create-role --role-name final --path /app/ ");
    out.says(&format!("{role2}'s own permissions must allow sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity on {role3}"));
    // Without tags or a source identity, only sts:AssumeRole.
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k != "PLUGIN_TAGS" && k != "PLUGIN_SOURCE_IDENTITY")
        .collect();
    let docs = documents(&run_env(&env, &[]).stdout);
    let Json::Array(st) = field(&docs[1], "Statement") else {
        panic!()
    };
    assert_eq!(strings(field(&st[0], "Action")), ["sts:AssumeRole"]);
    assert!(sts.requests().is_empty());
}

/// `--trust-policy` needs no output: in a Harness step without output
/// secrets it still prints, and a step's files are left as they were.
#[test]
fn it_needs_no_output_and_writes_none() {
    let sts = StandIn::start();
    let step = Step::harness(&sts).set("PLUGIN_TRUSTPOLICY", "true");
    let out = step.run(&[]);
    out.expect(0);
    assert_eq!(
        (step.secrets(), step.vars()),
        (String::new(), String::new())
    );
    assert!(!step.secret_file.exists() && !step.vars_file.exists());
    let out = step
        .unset("HARNESS_OUTPUT_SECRET_FILE")
        .unset("DRONE_OUTPUT")
        .run(&[]);
    out.expect(0);
    assert_eq!(documents(&out.stdout).len(), 1);
    assert!(
        out.stderr.ends_with("aws-oidc: nothing was sent\n"),
        "{}",
        out.stderr
    );
    assert!(sts.requests().is_empty());
}

/// The Terraform passes a real HCL parser (python-hcl2), and the policy
/// in it is the JSON document once Terraform fills in the provider.
#[test]
fn terraform_parses_and_holds_the_provider_and_each_role() {
    let sts = StandIn::start();
    let role2 = "arn:aws:iam::210987654321:role/deploy";
    let sub = "project_path:grp/app$x:ref_type:branch:ref:main";
    let token = jwt("https://gitlab.com", "sts.amazonaws.com", sub, now() + 600);
    let mut env = trust_env(&sts, &token, "arn:aws:iam::123456789012:role/ci/first");
    env.push(("PLUGIN_CHAIN_ROLE_ARN".into(), role2.into()));
    let out = run_env(&env, &["--format", "terraform"]);
    out.expect(0);
    let script = r#"
import hcl2, json, sys
doc = hcl2.loads(sys.stdin.read())
def text(v):
    v = v.strip()
    if v.startswith('"') and v.endswith('"'):
        v = v[1:-1]
    if v.startswith("<<-EOT"):
        v = v.split("\n", 1)[1].rsplit("\n", 1)[0]
    return v
found = {}
for block in doc["resource"]:
    for kind, named in block.items():
        for name, body in named.items():
            found[kind.strip('"') + "." + name.strip('"')] = body
out = {}
provider = found.pop("aws_iam_openid_connect_provider.ci")
out["url"] = text(provider["url"])
out["clients"] = [text(c) for c in provider["client_id_list"]]
for key, body in sorted(found.items()):
    policy = text(body["assume_role_policy"])
    policy = policy.replace("${aws_iam_openid_connect_provider.ci.arn}", "PROVIDER_ARN").replace("$${", "${").replace("%%{", "%{")
    out[key] = {"name": text(body["name"]), "path": text(body["path"]), "policy": json.loads(policy)}
print(json.dumps(out))
"#;
    let mut child = python3("hcl2", "python-hcl2")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(out.stdout.as_bytes())
        .unwrap();
    let parsed = child.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&parsed.stderr),
        out.stdout
    );
    let v = parse(String::from_utf8(parsed.stdout).unwrap().trim()).unwrap();
    assert_eq!(strings(field(&v, "url")), ["https://gitlab.com"]);
    assert_eq!(strings(field(&v, "clients")), ["sts.amazonaws.com"]);
    let hop1 = field(&v, "aws_iam_role.hop_1");
    assert_eq!(strings(field(hop1, "name")), ["first"]);
    assert_eq!(strings(field(hop1, "path")), ["/ci/"]);
    let Json::Array(st) = field(field(hop1, "policy"), "Statement") else {
        panic!()
    };
    assert_eq!(
        strings(field(field(&st[0], "Principal"), "Federated")),
        ["PROVIDER_ARN"]
    );
    let ctx = |s: &str| {
        vec![
            (
                "gitlab.com:aud".to_string(),
                "sts.amazonaws.com".to_string(),
            ),
            ("gitlab.com:sub".to_string(), s.to_string()),
        ]
    };
    assert!(allows(&st[0], &ctx(sub)));
    assert!(!allows(
        &st[0],
        &ctx("project_path:grp/app:ref_type:branch:ref:main")
    ));
    let hop2 = field(&v, "aws_iam_role.hop_2");
    let Json::Array(st) = field(field(hop2, "policy"), "Statement") else {
        panic!()
    };
    assert_eq!(
        strings(field(field(&st[0], "Principal"), "AWS")),
        ["arn:aws:iam::123456789012:role/ci/first"]
    );
    assert!(out.stdout.contains("# In account 210987654321: apply with a provider for that account.\nresource \"aws_iam_role\" \"hop_2\""), "{}", out.stdout);
    assert!(sts.requests().is_empty());
}

/// CloudFormation: one template per account, the provider in the first.
#[test]
fn cloudformation_is_one_template_per_account() {
    let sts = StandIn::start();
    let mut env = trust_env(&sts, &harness_token(), ROLE);
    env.push((
        "PLUGIN_CHAIN_ROLE_ARN".into(),
        "arn:aws:iam::123456789012:role/same,arn:aws:iam::210987654321:role/other".into(),
    ));
    let out = run_env(&env, &["--format=cloudformation"]);
    out.expect(0);
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 2);
    let Json::Object(first) = field(&docs[0], "Resources") else {
        panic!()
    };
    let names: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["OidcProvider", "Hop1Role", "Hop2Role"]);
    let provider = field(field(&docs[0], "Resources"), "OidcProvider");
    assert_eq!(strings(field(provider, "Type")), ["AWS::IAM::OIDCProvider"]);
    assert_eq!(
        strings(field(field(provider, "Properties"), "Url")),
        ["https://app.harness.io/ng/api/oidc/account/acc123"]
    );
    let role = field(field(&docs[0], "Resources"), "Hop1Role");
    let Json::Array(st) = field(
        field(field(role, "Properties"), "AssumeRolePolicyDocument"),
        "Statement",
    ) else {
        panic!()
    };
    assert_eq!(
        strings(field(
            field(field(&st[0], "Principal"), "Federated"),
            "Fn::GetAtt"
        )),
        ["OidcProvider", "Arn"]
    );
    let Json::Object(second) = field(&docs[1], "Resources") else {
        panic!()
    };
    assert_eq!(
        second.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["Hop3Role"]
    );
    assert!(sts.requests().is_empty());
}

/// AccessDenied on the first hop points at `--trust-policy`.
#[test]
fn access_denied_points_at_trust_policy() {
    let sts = StandIn::start();
    sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
    )]);
    let out = Step::harness(&sts).run(&[]);
    out.expect(3);
    assert!(out.last_line().ends_with("`aws-oidc --trust-policy` (PLUGIN_TRUST_POLICY=true) with these settings prints the trust policies this token and chain need"), "{}", out.last_line());
}

/// README's Harness, GitLab and Buildkite sections start set-up with
/// `--trust-policy`: each one's set-up, run as written (the Harness step's
/// settings as Harness hands them over, the GitLab job's script and the
/// Buildkite command in sh) with a token of the claims the text states,
/// prints exactly the policy the section shows.
#[test]
fn readme_set_up_prints_the_policies_it_shows() {
    use crate::readme::doc_block;
    let sts = StandIn::start();
    let dir = temp_dir("readme-trust");
    let bin_dir = dir.join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("aws-oidc")).unwrap();
    std::os::unix::fs::symlink(bin(), dir.join("aws-oidc")).unwrap();
    let agent = bin_dir.join("buildkite-agent");
    std::fs::write(&agent, "#!/bin/sh\nprintf '%s\\n' \"$TOKEN\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    // Were anything sent, it would reach the stand-in, which counts it.
    let (url, ca) = (sts.url(), sts.ca().display().to_string());
    let reach = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_CA_BUNDLE", ca.as_str()),
    ];
    let sh = |script: &str, env: &[(&str, &str)]| {
        Output::from(
            std::process::Command::new("sh")
                .args(["-c", script])
                .current_dir(&dir)
                .env_clear()
                .env("PATH", &path)
                .envs(reach)
                .envs(env.iter().copied())
                .output()
                .unwrap(),
        )
    };
    // Harness: the step's settings, camelCase keys as PLUGIN_ names.
    let harness = doc_block("docs/harness.md", "## Harness", "yml", 0);
    let settings = &harness[harness.find("settings:\n").unwrap() + 10..];
    let mut env: Vec<(String, String)> = settings
        .lines()
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (format!("PLUGIN_{}", k.to_ascii_uppercase()), v.to_string()))
        .collect();
    let token = jwt(
        "https://app.harness.io/ng/api/oidc/account/Ab12Cd34Ef56",
        "sts.amazonaws.com",
        "account/Ab12Cd34Ef56:org/default:project/payments:pipeline/deploy",
        now() + 600,
    );
    env.push(("PLUGIN_OIDC_TOKEN_ID".into(), token));
    env.extend(reach.map(|(k, v)| (k.to_string(), v.to_string())));
    let out = run_env(&env, &[]);
    out.expect(0);
    assert_eq!(
        out.stdout,
        doc_block("docs/harness.md", "## Harness", "json", 0)
    );
    // GitLab: the job's script lines.
    let job = doc_block("docs/other-ci.md", "## GitLab CI", "yml", 0);
    let script: Vec<&str> = job
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    let token = jwt(
        "https://gitlab.com",
        "sts.amazonaws.com",
        "project_path:group/app:ref_type:branch:ref:main",
        now() + 600,
    );
    let out = sh(
        &script.join("\n"),
        &[
            ("AWS_OIDC_TOKEN", &token),
            ("ROLE_ARN", "arn:aws:iam::123456789012:role/gitlab-deploy"),
        ],
    );
    out.expect(0);
    assert_eq!(
        out.stdout,
        doc_block("docs/other-ci.md", "## GitLab CI", "json", 0)
    );
    // Buildkite: the command, the token from the agent.
    let token = jwt(
        "https://agent.buildkite.com",
        "sts.amazonaws.com",
        "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:4f1c2e9a7b3d5f60718293a4b5c6d7e8f9012345:step:deploy",
        now() + 600,
    );
    let out = sh(
        &doc_block("docs/other-ci.md", "## Buildkite", "shell", 0),
        &[("TOKEN", &token)],
    );
    out.expect(0);
    assert_eq!(
        out.stdout,
        doc_block("docs/other-ci.md", "## Buildkite", "json", 0)
    );
    assert!(sts.requests().is_empty());
}
