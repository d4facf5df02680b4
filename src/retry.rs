//! The retry policy (SPEC §4): which answers are worth another attempt, and
//! how long to wait. Pure.

use std::time::Duration;

/// Backoff base.
pub const BASE: Duration = Duration::from_millis(200);
/// Backoff cap.
pub const CAP: Duration = Duration::from_secs(5);

/// HTTP statuses that are retried whatever the body says (unless the code is
/// a permanent one).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 509)
}

/// What an STS error code means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// Transient: try again.
    Transient,
    /// Permanent: fail on the first answer.
    Permanent,
    /// Not a code the policy names; the HTTP status decides.
    Unknown,
}

/// Classifies an STS error code (and, for `InvalidIdentityToken`, its
/// message).
pub fn classify_code(code: &str, message: &str) -> CodeClass {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "IDPCommunicationError" => CodeClass::Transient,
        "InvalidIdentityToken" if is_key_retrieval(message) => CodeClass::Transient,
        "AccessDenied"
        | "InvalidIdentityToken"
        | "ExpiredTokenException"
        | "IDPRejectedClaim"
        | "MalformedPolicyDocument"
        | "PackedPolicyTooLarge"
        | "RegionDisabledException"
        | "ValidationError"
        | "InvalidParameterValue" => CodeClass::Permanent,
        _ => CodeClass::Unknown,
    }
}

/// STS says this when it could not fetch the provider's JWKS, which is often
/// a blip at the provider.
fn is_key_retrieval(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("verification key") && (m.contains("retriev") || m.contains("fetch"))
}

/// Whether an STS error answer is retried.
pub fn retry_sts_error(status: u16, code: &str, message: &str) -> bool {
    match classify_code(code, message) {
        CodeClass::Transient => true,
        CodeClass::Permanent => false,
        CodeClass::Unknown => retryable_status(status),
    }
}

/// Full-jitter exponential backoff: a wait drawn uniformly from zero to
/// `min(CAP, BASE * 2^(failures-1))`. `random` is any random number.
pub fn backoff(failures: u32, random: u64) -> Duration {
    let ceiling = BASE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(CAP);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(random % (ms + 1))
}

/// A random number from the standard library's per-process hash keys, which
/// the OS seeds. Enough for jitter, and it costs no dependency.
pub fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::time::now() as u64);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_of_the_policy() {
        // (status, code, message, retried)
        let rows = [
            (400, "Throttling", "Rate exceeded", true),
            (400, "ThrottlingException", "", true),
            (400, "RequestLimitExceeded", "", true),
            (500, "InternalFailure", "", true),
            (503, "ServiceUnavailable", "", true),
            (400, "IDPCommunicationError", "timeout contacting provider", true),
            (400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements", true),
            (400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://x", false),
            (400, "InvalidIdentityToken", "Incorrect token audience", false),
            (403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", false),
            (400, "ExpiredTokenException", "Token expired", false),
            (403, "IDPRejectedClaim", "", false),
            (400, "MalformedPolicyDocument", "", false),
            (400, "PackedPolicyTooLarge", "", false),
            (403, "RegionDisabledException", "", false),
            (400, "ValidationError", "", false),
            (400, "InvalidParameterValue", "", false),
            (400, "SomethingNew", "", false),
            (404, "NotFound", "", false),
            (429, "SomethingNew", "", true),
            (500, "SomethingNew", "", true),
            (502, "SomethingNew", "", true),
            (503, "SomethingNew", "", true),
            (504, "SomethingNew", "", true),
            (509, "SomethingNew", "", true),
            (501, "SomethingNew", "", false),
            (503, "AccessDenied", "", false),
        ];
        for (status, code, message, want) in rows {
            assert_eq!(
                retry_sts_error(status, code, message),
                want,
                "{status} {code} {message}"
            );
        }
        for s in [429, 500, 502, 503, 504, 509] {
            assert!(retryable_status(s));
        }
        for s in [200, 301, 400, 403, 404, 501, 505] {
            assert!(!retryable_status(s));
        }
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let ms = |d: Duration| d.as_millis() as u64;
        assert_eq!(ms(backoff(1, u64::MAX)), u64::MAX % 201);
        assert_eq!(ms(backoff(1, 200)), 200);
        assert_eq!(ms(backoff(1, 201)), 0);
        assert_eq!(ms(backoff(2, 400)), 400);
        assert_eq!(ms(backoff(3, 800)), 800);
        assert_eq!(ms(backoff(5, 3200)), 3200);
        assert_eq!(ms(backoff(6, 5000)), 5000);
        assert_eq!(ms(backoff(6, 5001)), 0);
        assert_eq!(ms(backoff(40, 5000)), 5000);
        for f in 1..30 {
            for r in [0, 1, 12345, u64::MAX / 3] {
                assert!(backoff(f, r) <= CAP);
            }
        }
        assert_ne!(random(), random());
    }
}
