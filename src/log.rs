//! Logging to stderr (`docs/reference.md` §8). Every line goes through [`Log::emit`], which
//! keeps it on one line of at most [`LINE_CAP`] characters, removes every
//! secret the run knows and, with mask account, hides the account id.

use std::io::Write;

/// The longest line printed, in characters, `…` included. A 900 KB STS
/// message or a 120 KB setting value quoted back stays one readable line.
pub const LINE_CAP: usize = 1000;

/// Log levels, least verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only the final error line.
    Error,
    /// Warnings too.
    Warn,
    /// The default: what is being assumed, retries, the result.
    Info,
    /// Settings with sources, token claims, status codes, timings.
    Debug,
    /// Request and response headers.
    Trace,
}

/// The logger. Holds the level, the run's secrets and the account id to
/// mask, if any.
pub struct Log {
    level: Level,
    mask: Vec<String>,
    /// Every secret given to [`Log::hide`], to rebuild `secrets` from.
    hidden: Vec<String>,
    /// Secrets to forget once their time (Unix seconds) has passed.
    retired: Vec<(i64, Vec<crate::secret::Secret>)>,
    secrets: Option<crate::secret::Scrubber>,
    out: Box<dyn Write + Send>,
}

impl Log {
    /// A logger writing to stderr.
    pub fn stderr(level: Level) -> Log {
        Log::to(level, Box::new(std::io::stderr()))
    }

    /// A logger writing anywhere (tests).
    pub fn to(level: Level, out: Box<dyn Write + Send>) -> Log {
        Log {
            level,
            mask: Vec::new(),
            hidden: Vec::new(),
            retired: Vec::new(),
            secrets: None,
            out,
        }
    }

    /// From now on, show this account id (and every one given before) as
    /// `************` on every line.
    pub fn mask_account(&mut self, account: &str) {
        if !self.mask.iter().any(|a| a == account) {
            self.mask.push(account.to_string());
        }
    }

    /// From now on, remove these secrets, whole, from every line (and from
    /// the `--check` report): a token pasted into another setting is quoted
    /// by that setting's error, and must not come out there. Each call adds
    /// to the secrets given before (each hop's credentials join the token).
    pub fn hide(&mut self, secrets: &[crate::secret::Secret]) {
        let before = self.hidden.len();
        for s in secrets.iter().map(|s| s.expose()) {
            // Once is enough: a refreshing run (`--serve`) learns the same
            // first hop again at every refresh.
            if !self.hidden.iter().any(|h| h == s) {
                self.hidden.push(s.to_string());
            }
        }
        if self.hidden.len() != before || self.secrets.is_none() {
            self.rebuild();
        }
    }

    /// Stops hiding these secrets: credentials that have expired and will
    /// never be served again, so that a run that refreshes for hours
    /// (`--serve`) holds a bounded list (`docs/reference.md` §14.2).
    pub fn forget(&mut self, secrets: &[crate::secret::Secret]) {
        let before = self.hidden.len();
        self.hidden
            .retain(|h| !secrets.iter().any(|s| s.expose() == h));
        if self.hidden.len() != before {
            self.rebuild();
        }
    }

    /// These secrets stay hidden until `until` (Unix seconds: when the
    /// credentials they belong to expire), and [`Log::forget_expired`]
    /// forgets them after.
    pub fn hide_until(&mut self, secrets: &[crate::secret::Secret], until: i64) {
        self.hide(secrets);
        self.retired.push((until, secrets.to_vec()));
    }

    /// Forgets the secrets given to [`Log::hide_until`] whose time has
    /// passed at `now`.
    pub fn forget_expired(&mut self, now: i64) {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retired)
            .into_iter()
            .partition(|(until, _)| *until <= now);
        self.retired = kept;
        for (_, secrets) in gone {
            self.forget(&secrets);
        }
    }

    fn rebuild(&mut self) {
        let all = self.hidden.iter().map(String::as_str);
        self.secrets = Some(crate::secret::Scrubber::whole(all));
    }

    /// Whether lines at `level` are printed.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level
    }

    /// Writes one line at `level`.
    pub fn emit(&mut self, level: Level, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        let tag = match level {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
            Level::Debug => "debug: ",
            Level::Trace => "trace: ",
        };
        // One line whatever the message holds: control characters escaped.
        let line = crate::error::shown(&self.masked(&format!("aws-oidc: {tag}{msg}")));
        let mut line = capped(&line, LINE_CAP).into_owned();
        line.push('\n');
        // One write with its newline: `writeln!` makes two on unbuffered
        // stderr, each a system call (a pipe's reader woken twice), and a
        // line from a parallel run could land between them. A failed write
        // to stderr has nowhere better to be reported.
        let _ = self.out.write_all(line.as_bytes());
    }

    /// The text with the run's secrets and the masked account id hidden.
    pub fn masked(&self, text: &str) -> String {
        let text = match &self.secrets {
            Some(s) => s.scrub(text),
            None => text.to_string(),
        };
        self.mask.iter().fold(text, |text, account| {
            text.replace(account.as_str(), "************")
        })
    }

    /// Error line.
    pub fn error(&mut self, msg: &str) {
        self.emit(Level::Error, msg)
    }
    /// Warning line.
    pub fn warn(&mut self, msg: &str) {
        self.emit(Level::Warn, msg)
    }
    /// Info line.
    pub fn info(&mut self, msg: &str) {
        self.emit(Level::Info, msg)
    }
    /// Debug line.
    pub fn debug(&mut self, msg: &str) {
        self.emit(Level::Debug, msg)
    }
    /// Trace line.
    pub fn trace(&mut self, msg: &str) {
        self.emit(Level::Trace, msg)
    }
}

/// The text cut to at most `cap` characters, ending with `…` when cut.
pub fn capped(text: &str, cap: usize) -> std::borrow::Cow<'_, str> {
    // No more bytes than `cap`, so no more characters: nothing to count.
    if text.len() <= cap {
        return text.into();
    }
    match text.char_indices().nth(cap) {
        None => text.into(),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(cap - 1)
                .map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end]).into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What was written, each write call's bytes apart.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<Vec<u8>>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().concat()).unwrap()
        }
    }

    #[test]
    fn every_account_and_every_secret_given_stays_hidden() {
        use crate::secret::Secret;
        let buf = Buf::default();
        let mut log = Log::to(Level::Info, Box::new(buf.clone()));
        log.mask_account("111111111111");
        log.mask_account("222222222222");
        log.hide(&[Secret::new("first-token")]);
        log.hide(&[Secret::new("hop-two-secret")]);
        log.info("111111111111 222222222222 first-token hop-two-secret");
        assert_eq!(
            buf.text(),
            "aws-oidc: ************ ************ <redacted> <redacted>\n"
        );
    }

    #[test]
    fn retired_secrets_stay_hidden_until_their_time_then_are_forgotten() {
        use crate::secret::Secret;
        let buf = Buf::default();
        let mut log = Log::to(Level::Info, Box::new(buf.clone()));
        log.hide(&[Secret::new("kept-token")]);
        log.hide(&[Secret::new("kept-token")]);
        assert_eq!(log.hidden.len(), 1, "hidden once");
        log.hide_until(&[Secret::new("old-secret")], 100);
        log.forget_expired(99);
        log.info("kept-token old-secret");
        log.forget_expired(100);
        log.info("kept-token old-secret");
        assert_eq!(
            buf.text(),
            "aws-oidc: <redacted> <redacted>\naws-oidc: <redacted> old-secret\n"
        );
        assert_eq!((log.hidden.len(), log.retired.len()), (1, 0));
    }

    #[test]
    fn levels_masking_and_one_line() {
        let buf = Buf::default();
        let mut log = Log::to(Level::Info, Box::new(buf.clone()));
        log.debug("hidden");
        log.info("role arn:aws:iam::123456789012:role/x");
        log.mask_account("123456789012");
        log.warn("role arn:aws:iam::123456789012:role/x\nsecond");
        log.error("boom");
        let text = buf.text();
        assert_eq!(
            text,
            "aws-oidc: role arn:aws:iam::123456789012:role/x\n\
             aws-oidc: warning: role arn:aws:iam::************:role/x\\nsecond\n\
             aws-oidc: error: boom\n"
        );
    }

    #[test]
    fn each_line_is_one_write_with_its_newline() {
        let buf = Buf::default();
        let mut log = Log::to(Level::Info, Box::new(buf.clone()));
        log.info("assumed");
        log.error(&"x".repeat(2 * LINE_CAP));
        let calls = buf.0.lock().unwrap();
        assert_eq!(calls.len(), 2, "one write per line");
        assert_eq!(calls[0], b"aws-oidc: assumed\n");
        assert!(calls[1].ends_with("x…\n".as_bytes()));
    }

    #[test]
    fn every_line_is_capped() {
        let buf = Buf::default();
        let mut log = Log::to(Level::Info, Box::new(buf.clone()));
        log.error(&"é".repeat(900_000));
        log.info("short");
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].chars().count(), LINE_CAP);
        assert!(lines[0].starts_with("aws-oidc: error: éé") && lines[0].ends_with("é…"));
        assert_eq!(lines[1], "aws-oidc: short");
        assert_eq!(capped("abc", 3), "abc");
        assert_eq!(capped("abcd", 3), "ab…");
    }
}
