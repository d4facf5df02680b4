//! The credential cache's entry reader (`cache::decode`, `docs/reference.md`
//! §13.5) and its key. Input: any text, read as an entry. No panic; what
//! decodes holds only STS's alphabets and writes back to the same entry;
//! the key is the same for the same input and differs when a field does.
#![no_main]

use aws_oidc::cache;
use aws_oidc::request::Field;
use aws_oidc::response::{arn_char, Credentials};
use aws_oidc::secret::Secret;
use libfuzzer_sys::fuzz_target;

fn same(a: &Credentials, b: &Credentials) -> bool {
    a.access_key_id == b.access_key_id
        && a.secret_access_key.expose() == b.secret_access_key.expose()
        && a.session_token.expose() == b.session_token.expose()
        && (a.expiration.as_str(), a.expires_at) == (b.expiration.as_str(), b.expires_at)
        && a.assumed_role_arn == b.assumed_role_arn
}

/// A one-hop form of a role and a token.
fn form<'a>(role: &str, token: &'a Secret) -> Vec<(String, Field<'a>)> {
    vec![
        ("RoleArn".to_string(), Field::Plain(role.to_string())),
        ("WebIdentityToken".to_string(), Field::Secret(token)),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = "0123456789abcdef";
    if let Ok(c) = cache::decode(key, text) {
        let values = [
            c.access_key_id.as_str(),
            c.secret_access_key.expose(),
            c.session_token.expose(),
            c.expiration.as_str(),
            c.assumed_role_arn.as_deref().unwrap_or("x"),
        ];
        for v in values {
            assert!(!v.is_empty() && v.chars().all(arn_char), "an entry let through {v:?}");
        }
        let again = cache::decode(key, cache::encode(key, &c).expose()).expect("re-read");
        assert!(same(&c, &again));
        assert!(cache::decode("another", cache::encode(key, &c).expose()).is_err());
    }
    // The key: deterministic, and a changed value (plain or secret) changes it.
    let secret = Secret::new(text);
    let k = cache::key(text, &[form(text, &secret)]);
    assert_eq!(k, cache::key(text, &[form(text, &secret)]));
    assert_ne!(k, cache::key(text, &[form(&format!("{text}x"), &secret)]));
    let other = Secret::new(format!("{text}x"));
    assert_ne!(k, cache::key(text, &[form(text, &other)]));
});
