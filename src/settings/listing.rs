//! What the settings look like in the log (`docs/reference.md` §8): the
//! debug listing of every setting read, and the allowed accounts as every
//! message shows them.

use std::fmt;

use super::{Settings, Source, TokenSource};

/// The allowed ids as the listing and messages show them: the ids, or under
/// mask account only how many there are.
pub fn listed(allowed: &[String], masked: bool) -> String {
    match (masked, allowed.len()) {
        (false, _) => allowed.join(", "),
        (true, 1) => "1 account id, masked".into(),
        (true, n) => format!("{n} account ids, masked"),
    }
}

impl Settings {
    /// The debug listing, one line per setting that was read or has a
    /// default: `setting NAME = VALUE (from SOURCE)`, no secret, URLs
    /// masked.
    pub fn listing(&self) -> Vec<String> {
        fn row(name: &str, value: &dyn fmt::Display, source: &dyn fmt::Display) -> String {
            format!("setting {name} = {value} (from {source})")
        }
        let mut rows = vec![
            row("role ARN", &self.role.arn, &self.role.source),
            row(
                "token",
                &format_args!("<redacted, {} chars>", self.token.len()),
                &self.token_from(),
            ),
            row(
                "session name",
                &self.session_name.value,
                &self.session_name.source,
            ),
        ];
        if let TokenSource::Command(words) = &self.token_source {
            let shown = crate::error::shown(&words.join(" "));
            rows.insert(2, row("token command", &shown, &self.token.source));
        }
        if let Some(d) = &self.duration {
            rows.push(row("duration", &format_args!("{}s", d.value), &d.source));
        }
        if let Some(r) = &self.region {
            rows.push(row("region", &r.value, &r.source));
        }
        // A user:password in the URL is refused later; it is never logged.
        if let Some(e) = &self.endpoint {
            rows.push(row("endpoint", &crate::secret::mask_url(e), &e.source));
        }
        if let Some(b) = &self.ca_bundle {
            let shown = format_args!("{} ({} certificates)", b.path.value, b.certs.len());
            rows.push(row("CA bundle", &shown, &b.path.source));
        }
        if let Some(p) = &self.proxy {
            rows.push(row("proxy", &p.display, &p.source));
        }
        if let Some(p) = &self.policy {
            let shown = format_args!("<redacted, {} chars>", p.expose().chars().count());
            rows.push(row("policy", &shown, &p.source));
        }
        if let Some(a) = &self.policy_arns {
            rows.push(row("policy ARNs", &a.join(","), &a.source));
        }
        let timeout = format_args!("{}s", self.timeout.as_secs());
        rows.push(row("timeout", &timeout, &self.timeout.source));
        rows.push(match &self.max_attempts {
            Some(a) => row("attempts", &a.value, &a.source),
            None => row("attempts", &"none", &Source::Default),
        });
        if let Some(c) = &self.cache {
            rows.push(row("cache folder", &c.value, &c.source));
        }
        if let Some(a) = &self.allowed_accounts {
            let shown = listed(a, self.mask_account);
            rows.push(row("allowed account ids", &shown, &a.source));
        }
        if let Some(r) = &self.chain.roles {
            let arns: Vec<&str> = r.iter().map(|a| a.arn.as_str()).collect();
            rows.push(row("chained role ARNs", &arns.join(","), &r.source));
        }
        if let Some(e) = &self.chain.external_id {
            rows.push(row("external ID", &e.value, &e.source));
        }
        let t = &self.chain.tags;
        if let Some(tags) = &t.tags {
            let shown: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rows.push(row("session tags", &shown.join(","), &tags.source));
        }
        if let Some(keys) = &t.transitive {
            rows.push(row("transitive tag keys", &keys.join(","), &keys.source));
        }
        if let Some(id) = &t.source_identity {
            rows.push(row("source identity", &id.value, &id.source));
        }
        rows.extend(self.profiles.listing());
        rows
    }
}
