//! The scrubber that cleans text from the network before it is shown
//! (`secret::Scrubber`), alone and as the body preview uses it.
//!
//! Input: up to three secrets, one per line, then a NUL byte, then the text
//! the network sent (both decoded as lossy UTF-8).
//!
//! Asserted: no run of `Scrubber::RUN` (12) characters of a secret survives,
//! in any stretch of the output between two `<redacted>` marks; the output
//! is one line.
#![no_main]

use aws_oidc::request;
use aws_oidc::secret::{one_line, Scrubber};
use libfuzzer_sys::fuzz_target;

const MARK: &str = "<redacted>";

fn check(secrets: &[String], shown: &str, what: &str) {
    assert!(!shown.contains(['\n', '\r']), "{what} is not one line: {shown:?}");
    for part in shown.split(MARK) {
        for secret in secrets {
            for form in [secret.clone(), one_line(secret)] {
                for w in form.as_bytes().windows(Scrubber::RUN) {
                    assert!(
                        !part.as_bytes().windows(w.len()).any(|p| p == w),
                        "{what} shows {:?} of secret {secret:?}: {shown:?}",
                        String::from_utf8_lossy(w)
                    );
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, text) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => return,
    };
    let secrets: Vec<String> = head
        .split(|b| *b == b'\n')
        .take(3)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let text = String::from_utf8_lossy(text);
    let scrubber = Scrubber::new(secrets.iter().map(String::as_str));
    check(&secrets, &scrubber.heard(&text), "heard");
    // As request.rs shows a body: scrubbed, previewed, heard.
    let preview = scrubber.heard(&request::preview(&scrubber.scrub(&text)));
    check(&secrets, &preview, "preview");
});
