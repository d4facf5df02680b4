//! STS's answer: `response::parse` and everything that shows a body to the
//! user (`request::preview`) or writes its values (`output::check_value`).
//! Input: the body bytes, decoded as the client does (lossy UTF-8).
#![no_main]

use aws_oidc::response::{self, Answer};
use aws_oidc::{output, request, time};
use libfuzzer_sys::fuzz_target;

/// The characters `preview` treats as part of a secret-looking run.
fn run_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=_.%-".contains(c)
}

/// Maximal runs of `run_char` characters.
fn runs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !run_char(c)).filter(|r| !r.is_empty())
}

fn check_preview(body: &str) {
    let p = request::preview(body);
    assert!(!p.chars().any(char::is_control), "preview has a control character: {p:?}");
    assert!(p.chars().count() <= 161, "preview is {} chars", p.chars().count());
    // No 20-char window of a secret-looking run in the body may show.
    for out_run in runs(&p) {
        if out_run.len() < 20 {
            continue;
        }
        for i in 0..=out_run.len() - 20 {
            let window = &out_run[i..i + 20];
            assert!(
                !runs(body).any(|r| r.contains(window)),
                "preview shows `{window}` from the body: {p:?}"
            );
        }
    }
}

/// The whole text (all text under it, comments skipped) of the first
/// element of each credential name in the answer's Credentials.
fn whole_texts(body: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(doc) = roxmltree::Document::parse(body) else { return out };
    let sts = |n: &roxmltree::Node, name: &str| {
        n.is_element()
            && n.tag_name().name() == name
            && matches!(n.tag_name().namespace(), None | Some(response::NS))
    };
    let creds = doc
        .root_element()
        .children()
        .find(|n| sts(n, "AssumeRoleWithWebIdentityResult"))
        .and_then(|r| r.children().find(|n| sts(n, "Credentials")));
    for field in creds.iter().flat_map(|c| c.children()).filter(|n| n.is_element()) {
        let name = field.tag_name().name().to_string();
        if sts(&field, &name) && !out.contains_key(&name) {
            let text: String = field.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
            out.insert(name, text.trim().to_string());
        }
    }
    out
}

fn trimmed_nonempty(what: &str, v: &str) {
    assert!(!v.is_empty() && v.trim() == v, "{what} is {v:?}");
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    check_preview(&body);
    match response::parse(&body) {
        Ok(Answer::Success(c)) => {
            trimmed_nonempty("AccessKeyId", &c.access_key_id);
            trimmed_nonempty("SecretAccessKey", c.secret_access_key.expose());
            trimmed_nonempty("SessionToken", c.session_token.expose());
            trimmed_nonempty("Expiration", &c.expiration);
            assert_eq!(time::parse_utc(&c.expiration), Some(c.expires_at));
            // Each value is the element's whole text, never a piece of it.
            let whole = whole_texts(&body);
            for (name, value) in [
                ("AccessKeyId", c.access_key_id.as_str()),
                ("SecretAccessKey", c.secret_access_key.expose()),
                ("SessionToken", c.session_token.expose()),
                ("Expiration", c.expiration.as_str()),
            ] {
                assert_eq!(whole.get(name).map(String::as_str), Some(value), "{name} is cut");
            }
            // The Debug form (what a stray `{:?}` would print) hides secrets.
            let dbg = format!("{c:?}");
            for secret in [c.secret_access_key.expose(), c.session_token.expose()] {
                if secret.len() >= 8 && !c.access_key_id.contains(secret) && !c.expiration.contains(secret) {
                    let others = [&c.assumed_role_arn, &c.subject, &c.audience, &c.provider, &c.request_id];
                    if !others.iter().any(|o| o.as_deref().is_some_and(|o| o.contains(secret))) {
                        assert!(!dbg.contains(secret), "Debug shows a secret: {dbg}");
                    }
                }
            }
            // Writing them must answer, not panic.
            let _ = output::check_value("AWS_ACCESS_KEY_ID", &c.access_key_id);
            let _ = output::check_value("AWS_SECRET_ACCESS_KEY", c.secret_access_key.expose());
            let _ = output::check_value("AWS_SESSION_TOKEN", c.session_token.expose());
            if let Some(arn) = &c.assumed_role_arn {
                let _ = output::check_value("AWS_ASSUMED_ROLE_ARN", arn);
            }
        }
        Ok(Answer::Error(e)) => {
            trimmed_nonempty("Error/Code", &e.code);
        }
        Err(m) => {
            let text = m.to_string();
            // It is quoted in a one-line error: no newline, no terminal escape.
            assert!(!text.contains(char::is_control), "Malformed has a control character: {text:?}");
        }
    }
});
