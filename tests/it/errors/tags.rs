//! Session tags, the source identity and `--trust-policy`: every refusal,
//! before any request.

use super::*;

/// A token of tag characters only, so that a case can put it in a tag's
/// value without another rule refusing it first.
const TAG_SHAPED_TOKEN: &str = "opaque-token-of-tag-characters-0123456789";

/// Session tags, the source identity (docs/reference.md §11.6) and
/// `--trust-policy` (§15): every refusal, before any request.
fn tags_and_trust_cases() -> Vec<Case> {
    let many = |n: usize, f: fn(usize) -> String| -> &'static str {
        Box::leak((0..n).map(f).collect::<Vec<_>>().join(",").into_boxed_str())
    };
    let chained = |c: Case| c.set("PLUGIN_CHAIN_ROLE_ARN", CHAIN_ROLE);
    vec![
        case("session tags without chained roles", 2, "PLUGIN_TAGS: session tags and a source identity are sent only on chained hops (sts:AssumeRole); the first hop's tags come from the token's claims (https://aws.amazon.com/tags); set chained role ARNs", 0)
            .set("PLUGIN_TAGS", "team=ci"),
        case("transitive tag keys without chained roles", 2, "PLUGIN_TRANSITIVETAGKEYS: session tags and a source identity are sent only on chained hops", 0)
            .set("PLUGIN_TRANSITIVETAGKEYS", "team"),
        case("a source identity without chained roles", 2, "PLUGIN_SOURCE_IDENTITY: session tags and a source identity are sent only on chained hops", 0)
            .set("PLUGIN_SOURCE_IDENTITY", "alice"),
        chained(case("a tag that is not KEY=VALUE", 2, "PLUGIN_TAGS: `team` is not KEY=VALUE; give session tags as team=ci,env=prod", 0))
            .set("PLUGIN_TAGS", "team"),
        chained(case("fifty-one tags", 2, "PLUGIN_TAGS: 51 session tags given; STS takes at most 50", 0))
            .with(move |_, s| s.set("PLUGIN_TAGS", many(51, |i| format!("k{i}=v")))),
        chained(case("a tag key of 129 characters", 2, "is 129 chars; STS takes keys of 1-128", 0))
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("{}=v", "k".repeat(129)))),
        chained(case("a tag value of 257 characters", 2, "PLUGIN_TAGS: the value of tag `k` is 257 chars; STS takes values of 0-256", 0))
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("k={}", "v".repeat(257)))),
        chained(case("a tag value with a character STS refuses", 2, "PLUGIN_TAGS: the value of tag `team` holds ;, which STS does not take", 0))
            .set("PLUGIN_TAGS", "team=a;b"),
        chained(case("a tag key twice", 2, "PLUGIN_TAGS: tag key `TEAM` is given twice (STS compares keys without case)", 0))
            .set("PLUGIN_TAGS", "team=a,TEAM=b"),
        chained(case("a tag key under aws:", 2, "PLUGIN_TAGS: tag key `aws:team` starts with aws:", 0))
            .set("PLUGIN_TAGS", "aws:team=a"),
        chained(case("a tag list with no tag", 2, "PLUGIN_TAGS: the list holds no tag", 0))
            .set("PLUGIN_TAGS", " , "),
        chained(case("a transitive key not among the tags", 2, "PLUGIN_TRANSITIVE_TAG_KEYS: transitive tag key `env` is not among the session tags (from PLUGIN_TAGS)", 0))
            .set("PLUGIN_TAGS", "team=ci")
            .set("PLUGIN_TRANSITIVE_TAG_KEYS", "team,env"),
        chained(case("transitive keys without tags", 2, "PLUGIN_TRANSITIVE_TAG_KEYS: transitive tag key `team` names a tag, but no session tags are set", 0))
            .set("PLUGIN_TRANSITIVE_TAG_KEYS", "team"),
        chained(case("fifty-one transitive keys", 2, "51 transitive tag keys given; STS takes at most 50", 0))
            .with(move |_, s| s.set("PLUGIN_TRANSITIVE_TAG_KEYS", many(51, |i| format!("k{i}")))),
        chained(case("a source identity of one character", 2, "PLUGIN_SOURCEIDENTITY: a source identity is 2-64 chars, this one is 1", 0))
            .set("PLUGIN_SOURCEIDENTITY", "a"),
        chained(case("a source identity with a space", 2, "PLUGIN_SOURCE_IDENTITY: `a b` holds a character STS does not take in a source identity", 0))
            .set("PLUGIN_SOURCE_IDENTITY", "a b"),
        chained(case("the token given as the source identity", 2, "PLUGIN_SOURCE_IDENTITY: a source identity is 2-64 chars, this one is ", 0))
            .with(token_in("PLUGIN_SOURCE_IDENTITY")),
        chained(case("an opaque token given as the source identity", 2, "PLUGIN_SOURCE_IDENTITY: the source identity is the token", 0))
            .set("PLUGIN_OIDC_TOKEN_ID", "opaque-token-of-source-characters-01")
            .set("PLUGIN_SOURCE_IDENTITY", "opaque-token-of-source-characters-01"),
        chained(case("the token given as a tag's value", 2, "PLUGIN_TAGS: a tag's value is the token", 0))
            .set("PLUGIN_OIDC_TOKEN_ID", TAG_SHAPED_TOKEN)
            .with(|_, s| s.set("PLUGIN_TAGS", &format!("k={TAG_SHAPED_TOKEN}"))),
        case("trust policy with a token that is not a JWT", 2, "PLUGIN_OIDC_TOKEN_ID: the token is not a JWT, so it has no iss, aud and sub to write a trust policy from", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .set("PLUGIN_OIDC_TOKEN_ID", OPAQUE_TOKEN),
        case("trust policy with a token without sub", 2, "the token has no sub claim, which the trust policy needs it (is this the CI's OIDC ID token?): without a sub condition a role would trust every token of app.harness.io/ng/api/oidc/account/acc123", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .with(|_, s| {
                let token = jwt("https://app.harness.io/ng/api/oidc/account/acc123", "sts.amazonaws.com", "", now() + 600);
                s.set("PLUGIN_OIDC_TOKEN_ID", &token)
            }),
        case("trust policy in a run's format", 2, "PLUGIN_OUTPUT_FORMAT: `dotenv` is not a format of --trust-policy; use json, terraform or cloudformation", 0)
            .set("PLUGIN_TRUST_POLICY", "true")
            .set("PLUGIN_OUTPUT_FORMAT", "dotenv"),
        case("trust policy not a boolean", 2, "PLUGIN_TRUSTPOLICY: `please` is not a boolean", 0)
            .set("PLUGIN_TRUSTPOLICY", "please"),
    ]
}

#[test]
fn tags_and_trust_matrix() {
    let cases = tags_and_trust_cases();
    assert_all_pass(cases.iter().map(outcome).collect());
}
