//! `--trust-policy` (`docs/reference.md` §15): the trust policy each role of
//! the run needs for this token, from the token's own claims (`iss`, `aud`,
//! `sub`) and the role ARNs, as IAM JSON, Terraform or CloudFormation. A
//! mode of its own: it sends nothing and writes no file; the documents go
//! to stdout, what to do with them to the log. Everything but [`print`] is
//! pure.

use std::io::Write;

use crate::claims::{self, Claims};
use crate::error::Error;
use crate::json::quote;
use crate::log::Log;
use crate::settings::{RoleArn, Settings, TrustFormat, TOKEN};

/// The CIs whose `sub` this module knows the shape of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    /// Harness: `iss` `https://app.harness.io/ng/api/oidc/account/ACCOUNT_ID`.
    Harness,
    /// GitLab: `sub` `project_path:GROUP/PROJECT:ref_type:branch:ref:main`.
    GitLab,
    /// Buildkite: `sub` `organization:ORG:pipeline:PIPELINE:ref:REF:commit:SHA:step:KEY`.
    Buildkite,
    /// GitHub Actions: `sub` `repo:ORG/REPO:ref:refs/heads/BRANCH` or `repo:ORG/REPO:environment:NAME`.
    GitHub,
    /// CircleCI: `sub` `org/ORG_ID/project/PROJECT_ID/user/USER_ID`.
    CircleCi,
    /// Bitbucket Pipelines: `sub` `{REPO_UUID}:{STEP_UUID}` (`{REPO_UUID}:{ENV_UUID}:{STEP_UUID}` when deploying).
    Bitbucket,
    /// A Kubernetes service account: `sub` `system:serviceaccount:NAMESPACE:NAME`.
    Kubernetes,
    /// Any other issuer: the `sub` is matched exactly.
    Other,
}

impl Ci {
    /// How the explanation names it.
    pub fn name(self) -> &'static str {
        match self {
            Ci::Harness => "Harness",
            Ci::GitLab => "GitLab",
            Ci::Buildkite => "Buildkite",
            Ci::GitHub => "GitHub Actions",
            Ci::CircleCi => "CircleCI",
            Ci::Bitbucket => "Bitbucket Pipelines",
            Ci::Kubernetes => "a Kubernetes service account",
            Ci::Other => "an issuer aws-oidc does not know",
        }
    }
}

/// Which CI issued a token, from its issuer (without `https://`) and `sub`.
pub fn detect(provider: &str, sub: &str) -> Ci {
    let host = provider.split('/').next().unwrap_or_default();
    if host == "harness.io" || host.ends_with(".harness.io") {
        return Ci::Harness;
    }
    if host == "token.actions.githubusercontent.com" || sub.starts_with("repo:") {
        return Ci::GitHub;
    }
    if sub.starts_with("project_path:") {
        return Ci::GitLab;
    }
    if host == "agent.buildkite.com"
        || (sub.starts_with("organization:") && sub.contains(":pipeline:"))
    {
        return Ci::Buildkite;
    }
    if host == "oidc.circleci.com" {
        return Ci::CircleCi;
    }
    if host == "api.bitbucket.org" {
        return Ci::Bitbucket;
    }
    if sub.starts_with("system:serviceaccount:") {
        return Ci::Kubernetes;
    }
    Ci::Other
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `StringEquals`: the whole value.
    Equals,
    /// `StringLike`: `*` any run of characters, `?` any one.
    Like,
}

impl Op {
    /// IAM's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Op::Equals => "StringEquals",
            Op::Like => "StringLike",
        }
    }
}

/// The value a policy gives for `text`: `$` as IAM's `${$}`, so that no
/// part of a claim is read as a policy variable, and for `StringLike`
/// `*` and `?` as `${*}` and `${?}`, so that they match only themselves.
pub fn literal(text: &str, op: Op) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match (c, op) {
            ('$', _) => out.push_str("${$}"),
            ('*', Op::Like) => out.push_str("${*}"),
            ('?', Op::Like) => out.push_str("${?}"),
            (c, _) => out.push(c),
        }
    }
    out
}

/// The `sub` condition for a CI's token: exact where its `sub` stays the
/// same from build to build, else a `StringLike` that keeps every part
/// naming the project and puts `*` only where each build differs. A `sub`
/// that is not of the CI's shape gets the exact condition. Returns the
/// operator, the value and why.
pub fn sub_condition(ci: Ci, sub: &str) -> (Op, String, &'static str) {
    let like = |fixed: &str, rest: &str| (Op::Like, literal(fixed, Op::Like) + rest);
    let varying = match ci {
        // organization:O:pipeline:P:ref:R:commit:SHA:step:KEY; refs and
        // slugs hold no `:`, so only the commit and step vary.
        Ci::Buildkite => sub
            .find(":commit:")
            .filter(|at| sub[..*at].contains(":pipeline:") && sub[..*at].contains(":ref:"))
            .filter(|at| sub[*at..].contains(":step:"))
            .map(|at| like(&sub[..at + ":commit:".len()], "*:step:*")),
        // org/O/project/P/user/U: the user is whoever started the build.
        Ci::CircleCi => sub
            .rfind("/user/")
            .filter(|at| sub.starts_with("org/") && sub[..*at].contains("/project/"))
            .map(|at| like(&sub[..at + "/user/".len()], "*")),
        // {REPO}:{STEP} or {REPO}:{ENV}:{STEP}: the step's UUID is new
        // each build.
        Ci::Bitbucket => sub
            .rfind(":\u{7b}")
            .filter(|at| sub.starts_with('{') && sub.ends_with('}') && *at > 0)
            .map(|at| like(&sub[..at + 1], "*")),
        _ => None,
    };
    let why = match ci {
        Ci::Harness => "Harness's sub names the account, organisation, project and pipeline, which stay the same from build to build",
        Ci::GitLab => "GitLab's sub names the project, the ref type and the ref, which stay the same from build to build of a branch",
        Ci::GitHub => "GitHub's sub names the repository and the branch, tag, environment or pull request, which stay the same from build to build",
        Ci::Kubernetes => "a service account's sub names its namespace and name",
        Ci::Buildkite if varying.is_some() => "Buildkite's sub names the commit and the step, which change every build, so both are *; the organisation, pipeline and ref stay fixed",
        Ci::CircleCi if varying.is_some() => "CircleCI's sub names the user who started the build, so the user is *; the organisation and project stay fixed",
        Ci::Bitbucket if varying.is_some() => "Bitbucket's sub ends with the step's UUID, new every build, so it is *; the repository (and environment) stay fixed",
        Ci::Other => "aws-oidc does not know this issuer's sub, so it is matched exactly; if it changes from build to build, replace only the changing part with *",
        _ => "this sub is not of the CI's usual shape, so it is matched exactly; if it changes from build to build, replace only the changing part with *",
    };
    match varying {
        Some((op, value)) => (op, value, why),
        None => (Op::Equals, literal(sub, Op::Equals), why),
    }
}

/// One role's trust: who may assume it, how, and on what conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The role.
    pub role: RoleArn,
    /// `Federated` (the OIDC provider's ARN) or `AWS` (the previous role).
    pub principal: Principal,
    /// `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRole`, then
    /// `sts:TagSession` and `sts:SetSourceIdentity` when the run sends them.
    pub actions: Vec<&'static str>,
    /// `(operator, key, values)`, in the order printed.
    pub conditions: Vec<(Op, String, Vec<String>)>,
}

/// Who a role trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The OIDC provider, by its ARN.
    Federated(String),
    /// The role before it in the chain, by its ARN.
    Aws(String),
}

/// Everything `--trust-policy` prints, worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The issuer as the OIDC provider is named: without `https://` and a
    /// trailing `/`.
    pub provider: String,
    /// The token's audiences: the provider's client IDs.
    pub audiences: Vec<String>,
    /// Which CI, and why the `sub` condition is what it is.
    pub ci: Ci,
    /// Why the `sub` condition is exact or not.
    pub why: &'static str,
    /// Each role's trust, in hop order.
    pub roles: Vec<Trust>,
}

/// The plan from the token's claims and the run's roles: the first role
/// trusts the OIDC provider in its own account and partition; each chained
/// role trusts the role before it, with the external ID, and with
/// `sts:TagSession` / `sts:SetSourceIdentity` when the run sends tags or a
/// source identity. A claim that is missing is an error: a policy without
/// its condition would trust every token of the issuer.
pub fn plan(claims: &Claims, s: &Settings) -> Result<Plan, String> {
    let want = "trust policy needs it (is this the CI's OIDC ID token?)";
    let Some(iss) = claims.iss.as_deref() else {
        return Err(format!("the token has no iss claim, which the {want}"));
    };
    let provider = iss
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    if provider.is_empty() || provider.contains(char::is_whitespace) {
        return Err(format!(
            "the token's iss {} is no OIDC issuer URL",
            crate::error::quoted(iss)
        ));
    }
    if claims.aud.is_empty() {
        return Err(format!("the token has no aud claim, which the {want}"));
    }
    let Some(sub) = claims.sub.as_deref().filter(|s| !s.is_empty()) else {
        return Err(format!(
            "the token has no sub claim, which the {want}: without a sub condition a role would trust every token of {provider}"
        ));
    };
    let ci = detect(&provider, sub);
    let (op, value, why) = sub_condition(ci, sub);
    let aud = |v: &String| literal(v, Op::Equals);
    let mut conditions = vec![(
        Op::Equals,
        format!("{provider}:aud"),
        claims.aud.iter().map(aud).collect(),
    )];
    conditions.push((op, format!("{provider}:sub"), vec![value]));
    let first = &s.role.value;
    let mut roles = vec![Trust {
        role: first.clone(),
        principal: Principal::Federated(format!(
            "arn:{}:iam::{}:oidc-provider/{provider}",
            first.partition, first.account
        )),
        actions: vec!["sts:AssumeRoleWithWebIdentity"],
        conditions,
    }];
    let tags = &s.chain.tags;
    let mut previous = first;
    for role in s.chained() {
        let mut actions = vec!["sts:AssumeRole"];
        if !tags.tags().is_empty() {
            actions.push("sts:TagSession");
        }
        if tags.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        let conditions = match &s.chain.external_id {
            Some(id) => vec![(
                Op::Equals,
                "sts:ExternalId".to_string(),
                vec![literal(id, Op::Equals)],
            )],
            None => Vec::new(),
        };
        roles.push(Trust {
            role: role.clone(),
            principal: Principal::Aws(previous.arn.clone()),
            actions,
            conditions,
        });
        previous = role;
    }
    Ok(Plan {
        provider,
        audiences: claims.aud.clone(),
        ci,
        why,
        roles,
    })
}

/// A JSON value as the documents are built: strings, lists, objects in
/// order. Printed with two spaces a level.
#[derive(Debug, Clone)]
enum V {
    S(String),
    A(Vec<V>),
    O(Vec<(String, V)>),
}

fn s(text: &str) -> V {
    V::S(text.to_string())
}

fn o(fields: Vec<(&str, V)>) -> V {
    V::O(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// One string as itself, several as a list (as IAM writes them).
fn one_or_list(items: &[String]) -> V {
    match items {
        [one] => s(one),
        many => V::A(many.iter().map(|i| s(i)).collect()),
    }
}

impl V {
    fn write(&self, out: &mut String, depth: usize) {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            V::S(text) => out.push_str(&quote(text)),
            V::A(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(depth + 1));
                    item.write(out, depth + 1);
                }
                out.push('\n');
                out.push_str(&pad(depth));
                out.push(']');
            }
            V::O(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(depth + 1));
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.write(out, depth + 1);
                }
                if fields.is_empty() {
                    out.push('}');
                    return;
                }
                out.push('\n');
                out.push_str(&pad(depth));
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }
}

/// A role's trust policy document, with `federated` standing for the OIDC
/// provider's ARN (a reference in Terraform and CloudFormation).
fn document(t: &Trust, federated: V) -> V {
    let principal = match &t.principal {
        Principal::Federated(_) => o(vec![("Federated", federated)]),
        Principal::Aws(arn) => o(vec![("AWS", s(arn))]),
    };
    let actions: Vec<String> = t.actions.iter().map(|a| a.to_string()).collect();
    let mut statement = vec![
        ("Effect", s("Allow")),
        ("Principal", principal),
        ("Action", one_or_list(&actions)),
    ];
    let mut by_op: Vec<(String, V)> = Vec::new();
    for op in [Op::Equals, Op::Like] {
        let keys: Vec<(String, V)> = t
            .conditions
            .iter()
            .filter(|(o, _, _)| *o == op)
            .map(|(_, k, v)| (k.clone(), one_or_list(v)))
            .collect();
        if !keys.is_empty() {
            by_op.push((op.name().to_string(), V::O(keys)));
        }
    }
    if !by_op.is_empty() {
        statement.push(("Condition", V::O(by_op)));
    }
    o(vec![
        ("Version", s("2012-10-17")),
        ("Statement", V::A(vec![o(statement)])),
    ])
}

fn federated_arn(plan: &Plan) -> V {
    match &plan.roles[0].principal {
        Principal::Federated(arn) => s(arn),
        Principal::Aws(arn) => s(arn),
    }
}

/// The IAM JSON: each role's trust policy document, in hop order, one
/// after another (`jq -s '.[N]'` picks one).
pub fn json(plan: &Plan) -> String {
    let mut out = String::new();
    for t in &plan.roles {
        out.push_str(&document(t, federated_arn(plan)).text());
        out.push('\n');
    }
    out
}

/// A role's IAM name and path, from `role/[PATH/]NAME`.
pub fn name_and_path(role: &RoleArn) -> (&str, String) {
    let resource = role.arn.split_once(":role/").map_or("", |(_, r)| r);
    match resource.rsplit_once('/') {
        Some((path, name)) => (name, format!("/{path}/")),
        None => (resource, "/".to_string()),
    }
}

/// Text HCL reads as itself in a string or heredoc: `${` and `%{`
/// doubled, so that no template is evaluated. (The braces are written
/// `\u{7b}`, so that the source's braces stay balanced for
/// `src/invariants.rs`.)
fn hcl_text(text: &str) -> String {
    text.replace("$\u{7b}", "$$\u{7b}")
        .replace("%\u{7b}", "%%\u{7b}")
}

/// A Terraform string: quoted, as [`hcl_text`].
fn hcl(text: &str) -> String {
    hcl_text(&quote(text))
}

/// Terraform: the OIDC provider and each role with its trust policy (as a
/// heredoc of the JSON, the provider named by reference).
pub fn terraform(plan: &Plan) -> String {
    let first_account = &plan.roles[0].role.account;
    let audiences: Vec<String> = plan.audiences.iter().map(|a| hcl(a)).collect();
    let mut out = format!(
        "# The OIDC provider and the roles this token needs, from its iss, aud and sub\n\
         # (aws-oidc --trust-policy). Apply in account {first_account}.\n\
         resource \"aws_iam_openid_connect_provider\" \"ci\" {{\n  url            = {}\n  client_id_list = [{}]\n}}\n",
        hcl(&format!("https://{}", plan.provider)),
        audiences.join(", ")
    );
    for (i, t) in plan.roles.iter().enumerate() {
        let (name, path) = name_and_path(&t.role);
        let doc = document(t, s("${aws_iam_openid_connect_provider.ci.arn}")).text();
        // Only the provider's reference stays a template; every `${` of
        // the document's own text is doubled, as in any HCL string.
        let doc = hcl_text(&doc).replace(
            "$${aws_iam_openid_connect_provider.ci.arn}",
            "${aws_iam_openid_connect_provider.ci.arn}",
        );
        let body: String = doc.lines().map(|l| format!("    {l}\n")).collect();
        let account = match t.role.account == *first_account {
            true => String::new(),
            false => format!(
                "# In account {}: apply with a provider for that account.\n",
                t.role.account
            ),
        };
        out.push_str(&format!(
            "\n{account}resource \"aws_iam_role\" \"hop_{}\" {{\n  name               = {}\n  path               = {}\n  assume_role_policy = <<-EOT\n{body}  EOT\n}}\n",
            i + 1,
            hcl(name),
            hcl(&path),
        ));
    }
    out
}

/// CloudFormation: one template per account, in the order the roles come;
/// the first holds the OIDC provider, named by `Fn::GetAtt`.
pub fn cloudformation(plan: &Plan) -> String {
    let mut accounts: Vec<&str> = Vec::new();
    for t in &plan.roles {
        if !accounts.contains(&t.role.account.as_str()) {
            accounts.push(&t.role.account);
        }
    }
    let mut out = String::new();
    for (n, account) in accounts.iter().enumerate() {
        let mut resources: Vec<(String, V)> = Vec::new();
        if n == 0 {
            let url = format!("https://{}", plan.provider);
            let provider = o(vec![
                ("Type", s("AWS::IAM::OIDCProvider")),
                (
                    "Properties",
                    o(vec![
                        ("Url", s(&url)),
                        (
                            "ClientIdList",
                            V::A(plan.audiences.iter().map(|a| s(a)).collect()),
                        ),
                    ]),
                ),
            ]);
            resources.push(("OidcProvider".into(), provider));
        }
        for (i, t) in plan
            .roles
            .iter()
            .enumerate()
            .filter(|(_, t)| t.role.account == *account)
        {
            let (name, path) = name_and_path(&t.role);
            let federated = o(vec![(
                "Fn::GetAtt",
                V::A(vec![s("OidcProvider"), s("Arn")]),
            )]);
            let properties = o(vec![
                ("RoleName", s(name)),
                ("Path", s(&path)),
                ("AssumeRolePolicyDocument", document(t, federated)),
            ]);
            let role = o(vec![
                ("Type", s("AWS::IAM::Role")),
                ("Properties", properties),
            ]);
            resources.push((format!("Hop{}Role", i + 1), role));
        }
        let template = o(vec![
            ("AWSTemplateFormatVersion", s("2010-09-09")),
            (
                "Description",
                s(&format!(
                    "aws-oidc --trust-policy: roles in account {account}"
                )),
            ),
            ("Resources", V::O(resources)),
        ]);
        out.push_str(&template.text());
        out.push('\n');
    }
    out
}

/// What to do with the documents, one log line each.
pub fn notes(plan: &Plan, format: TrustFormat) -> Vec<String> {
    let first = &plan.roles[0];
    let n = plan.roles.len();
    let mut notes = vec![format!(
        "the token is from {} (iss https://{}); {}",
        plan.ci.name(),
        plan.provider,
        plan.why
    )];
    let aud = plan.audiences.join(" ");
    notes.push(format!(
        "once per account, the OIDC provider (skip if aws iam list-open-id-connect-providers shows arn:{}:iam::{}:oidc-provider/{}): aws iam create-open-id-connect-provider --url https://{} --client-id-list {aud}",
        first.role.partition, first.role.account, plan.provider, plan.provider
    ));
    if first.role.partition == "aws-cn"
        && !plan.audiences.iter().any(|a| a == "sts.amazonaws.com.cn")
    {
        notes.push("in aws-cn STS takes only the audience sts.amazonaws.com.cn: request the token with that audience and print this again".into());
    }
    if format != TrustFormat::Json {
        let what = match format {
            TrustFormat::Terraform => "the Terraform on stdout holds the provider and every role",
            _ => "the CloudFormation on stdout is one template per account, the first holding the provider",
        };
        notes.push(format!("{what}; grant each role its permissions as well"));
        return notes;
    }
    for (i, t) in plan.roles.iter().enumerate() {
        let (name, path) = name_and_path(&t.role);
        let path = match path.as_str() {
            "/" => String::new(),
            p => format!(" --path {p}"),
        };
        let which = match n {
            1 => "the document on stdout".to_string(),
            _ => format!(
                "document {} of {n} on stdout (jq -s '.[{i}]' picks it)",
                i + 1
            ),
        };
        let mut line = format!(
            "{which} is the trust policy of {}: aws iam create-role --role-name {name}{path} --assume-role-policy-document file://trust.json, or for a role that exists aws iam update-assume-role-policy --role-name {name} --policy-document file://trust.json",
            t.role.arn
        );
        if let Principal::Aws(previous) = &t.principal {
            line.push_str(&format!(
                "; {previous}'s own permissions must allow {} on {}",
                t.actions.join(", "),
                t.role.arn
            ));
        }
        notes.push(line);
    }
    notes
}

/// The mode: the token's claims, the plan, the documents to `stdout` and
/// the notes to the log. A token that is no JWT, or lacks a claim, is a
/// setting's error (exit 2), as nothing can be written from it.
pub fn print(
    s: &Settings,
    format: TrustFormat,
    log: &mut Log,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let source = s.token.source;
    let Some(claims) = claims::decode(s.token.expose()) else {
        return Err(Error::setting(
            source,
            format!(
                "the token is not a JWT, so it has no iss, aud and sub to write a trust policy from; set {} to the CI's OIDC ID token",
                TOKEN.named(Some(source))
            ),
        ));
    };
    // The run's warnings and listing come after the token is known to be
    // a JWT: one that is not is this mode's error, not "sent as is".
    for w in &s.warnings {
        log.warn(w);
    }
    for line in s.listing() {
        log.debug(&line);
    }
    let plan = plan(&claims, s).map_err(|p| Error::setting(source, p))?;
    let text = match format {
        TrustFormat::Json => json(&plan),
        TrustFormat::Terraform => terraform(&plan),
        TrustFormat::CloudFormation => cloudformation(&plan),
    };
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|_| Error::Output("cannot write the trust policy to stdout".into()))?;
    for note in notes(&plan, format) {
        log.info(&note);
    }
    log.info("nothing was sent");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ci: Ci, sub: &str, op: Op, value: &str) {
        let (got_op, got, _) = sub_condition(ci, sub);
        assert_eq!((got_op, got.as_str()), (op, value), "{ci:?} {sub}");
    }

    #[test]
    fn each_ci_s_sub_is_exact_where_it_is_stable_and_like_where_a_build_changes_it() {
        use Op::{Equals, Like};
        check(
            Ci::Harness,
            "account/a1:org/default:project/ci:pipeline/deploy",
            Equals,
            "account/a1:org/default:project/ci:pipeline/deploy",
        );
        check(
            Ci::GitLab,
            "project_path:grp/app:ref_type:branch:ref:main",
            Equals,
            "project_path:grp/app:ref_type:branch:ref:main",
        );
        check(
            Ci::GitHub,
            "repo:octo/app:environment:prod",
            Equals,
            "repo:octo/app:environment:prod",
        );
        check(
            Ci::Kubernetes,
            "system:serviceaccount:ci:deployer",
            Equals,
            "system:serviceaccount:ci:deployer",
        );
        check(
            Ci::Buildkite,
            "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:0123abc:step:build",
            Like,
            "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:*:step:*",
        );
        check(
            Ci::CircleCi,
            "org/O1/project/P1/user/U1",
            Like,
            "org/O1/project/P1/user/*",
        );
        check(Ci::Bitbucket, "{r-1}:{s-1}", Like, "{r-1}:*");
        check(Ci::Bitbucket, "{r-1}:{e-1}:{s-1}", Like, "{r-1}:{e-1}:*");
        // Not of the CI's shape: exact, never wider.
        check(
            Ci::Buildkite,
            "organization:acme:pipeline:deploy",
            Equals,
            "organization:acme:pipeline:deploy",
        );
        check(Ci::CircleCi, "user/U1", Equals, "user/U1");
        check(Ci::Bitbucket, "{r-1}", Equals, "{r-1}");
        check(Ci::Other, "whatever*", Equals, "whatever*");
        // What a claim holds is never a wildcard or a policy variable.
        check(
            Ci::CircleCi,
            "org/O*/project/P?/user/U",
            Like,
            "org/O${*}/project/P${?}/user/*",
        );
        check(Ci::Other, "a${aws:username}", Equals, "a${$}{aws:username}");
    }

    #[test]
    fn the_ci_is_told_by_its_issuer_and_sub() {
        for (provider, sub, ci) in [
            (
                "app.harness.io/ng/api/oidc/account/a1",
                "account/a1",
                Ci::Harness,
            ),
            (
                "token.actions.githubusercontent.com",
                "repo:o/r:ref:refs/heads/main",
                Ci::GitHub,
            ),
            (
                "ghe.example.com/_services/token",
                "repo:o/r:pull_request",
                Ci::GitHub,
            ),
            (
                "gitlab.example.com",
                "project_path:g/p:ref_type:tag:ref:v1",
                Ci::GitLab,
            ),
            (
                "agent.buildkite.com",
                "organization:o:pipeline:p",
                Ci::Buildkite,
            ),
            (
                "oidc.circleci.com/org/O1",
                "org/O1/project/P1/user/U1",
                Ci::CircleCi,
            ),
            (
                "api.bitbucket.org/2.0/workspaces/w/pipelines-config/identity/oidc",
                "{r}:{s}",
                Ci::Bitbucket,
            ),
            (
                "oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                "system:serviceaccount:ns:sa",
                Ci::Kubernetes,
            ),
            ("idp.example.com", "someone", Ci::Other),
        ] {
            assert_eq!(detect(provider, sub), ci, "{provider} {sub}");
        }
    }

    #[test]
    fn the_first_role_trusts_the_provider_in_its_partition_and_each_chained_one_the_role_before() {
        let s = crate::testing::settings(&[
            (
                "PLUGIN_IAM_ROLE_ARN",
                "arn:aws-cn:iam::123456789012:role/ci/first",
            ),
            (
                "PLUGIN_CHAIN_ROLE_ARN",
                "arn:aws-cn:iam::210987654321:role/second",
            ),
            ("PLUGIN_EXTERNAL_ID", "ext-1"),
            ("PLUGIN_SOURCE_IDENTITY", "alice"),
        ]);
        let claims = Claims {
            iss: Some("https://gitlab.com/".into()),
            aud: vec!["sts.amazonaws.com.cn".into()],
            sub: Some("project_path:g/p:ref_type:branch:ref:main".into()),
            exp: None,
        };
        let p = plan(&claims, &s).unwrap();
        assert_eq!(p.provider, "gitlab.com");
        assert_eq!(
            p.roles[0].principal,
            Principal::Federated("arn:aws-cn:iam::123456789012:oidc-provider/gitlab.com".into())
        );
        assert_eq!(
            p.roles[1].principal,
            Principal::Aws("arn:aws-cn:iam::123456789012:role/ci/first".into())
        );
        assert_eq!(
            p.roles[1].actions,
            ["sts:AssumeRole", "sts:SetSourceIdentity"]
        );
        assert_eq!(
            p.roles[1].conditions,
            [(Op::Equals, "sts:ExternalId".into(), vec!["ext-1".into()])]
        );
        assert_eq!(
            name_and_path(&p.roles[0].role),
            ("first", "/ci/".to_string())
        );
        assert_eq!(name_and_path(&p.roles[1].role), ("second", "/".to_string()));
        for (missing, says) in [
            (
                Claims {
                    iss: None,
                    ..claims.clone()
                },
                "no iss claim",
            ),
            (
                Claims {
                    aud: vec![],
                    ..claims.clone()
                },
                "no aud claim",
            ),
            (
                Claims {
                    sub: Some(String::new()),
                    ..claims.clone()
                },
                "no sub claim",
            ),
            (
                Claims {
                    sub: None,
                    ..claims.clone()
                },
                "would trust every token of gitlab.com",
            ),
        ] {
            let e = plan(&missing, &s).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn several_audiences_are_a_list_and_one_is_a_string() {
        let s = crate::testing::settings(&[]);
        let claims = Claims {
            iss: Some("https://idp.example.com".into()),
            aud: vec!["a".into(), "b".into()],
            sub: Some("x".into()),
            exp: None,
        };
        let text = json(&plan(&claims, &s).unwrap());
        assert!(
            text.contains(
                "\"idp.example.com:aud\": [\n            \"a\",\n            \"b\"\n          ]"
            ),
            "{text}"
        );
        assert!(text.contains("\"idp.example.com:sub\": \"x\""), "{text}");
        assert!(crate::json::parse(&text).is_some(), "{text}");
    }
}
