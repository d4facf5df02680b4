//! Files named by settings: the token file and the CA bundle
//! (`docs/reference.md` §1.3 and §1.4), read through the [`Files`] trait so
//! the rules stay testable; [`DiskFiles`] is the real one.

use std::io::{self, Read};

use super::defs::{names, TOKEN, TOKEN_COMMAND, TOKEN_FILE};
use super::{Inputs, Source, Sourced, TokenSource};
pub(super) use crate::error::jwt_shaped;
use crate::error::{io_reason, shown, Error};
use crate::secret::Secret;

/// Reads files named by settings: the token file and the CA bundle. `-`
/// means standard input. Tests hand in a fake.
pub trait Files {
    /// Reads at most `limit` bytes of the file. Symlinks are followed, but
    /// what they lead to must be a regular file: anything else (a FIFO, a
    /// device, a directory) is an error saying what it is, given at once,
    /// without waiting on it.
    fn read(&mut self, path: &str, limit: u64) -> io::Result<Vec<u8>>;

    /// Runs a token command (`docs/reference.md` §14.3), found as a shell
    /// finds it, and what it printed: at most `limit` bytes of standard
    /// output, killed when `deadline` passes. Only a run's reader
    /// ([`super::System`]) runs one; other readers (tests' fakes, fuzzing)
    /// refuse, so nothing is started by accident.
    fn run(
        &mut self,
        words: &[String],
        _deadline: std::time::Instant,
        _limit: usize,
    ) -> Result<crate::exec::Captured, Error> {
        Err(Error::CommandNotRunnable(format!(
            "the command `{}` cannot be run here",
            shown(&words[0])
        )))
    }
}

/// The error [`Files::read`] gives for a path that is not a regular file:
/// what it is instead, as `read_file` quotes it ("… is a FIFO (named pipe),
/// not a regular file").
pub fn not_a_regular_file(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file"),
    )
}

/// Reads files from disk; `-` is standard input.
pub struct DiskFiles;

impl Files for DiskFiles {
    fn read(&mut self, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        if path == "-" {
            io::stdin().lock().take(limit).read_to_end(&mut buf)?;
            return Ok(buf);
        }
        // Symlinks are followed (Kubernetes' projected token is a chain of
        // them), but only a regular file is read: opening a FIFO with no
        // writer blocks whatever the timeout says, and a device never ends.
        // Checked before the open, so a device is never opened, and again
        // on what was opened, in case the path changed in between; the open
        // itself does not wait (O_NONBLOCK, which a regular file ignores).
        regular_file(&std::fs::metadata(path)?)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = options.open(path)?;
        regular_file(&file.metadata()?)?;
        file.take(limit).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// An error naming what the path is, unless it is a regular file.
fn regular_file(meta: &std::fs::Metadata) -> io::Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(not_a_regular_file("a FIFO (named pipe)"));
        }
        if kind.is_char_device() {
            return Err(not_a_regular_file("a character device"));
        }
        if kind.is_block_device() {
            return Err(not_a_regular_file("a block device"));
        }
        if kind.is_socket() {
            return Err(not_a_regular_file("a socket"));
        }
    }
    Err(not_a_regular_file(match kind.is_dir() {
        true => "a directory",
        false => "something else",
    }))
}

/// Where the token is read from: the first set of `--token`,
/// `--token-file`, `--token-command`, the value env names, the `PLUGIN_`
/// file env names, the command env names, then `AWS_WEB_IDENTITY_TOKEN_FILE`
/// (`docs/reference.md` §1.3): flags before env, and a source chosen by
/// name before the one an EKS pod is given whether or not this step uses it.
fn token_setting(inputs: &Inputs) -> Option<(Sourced<String>, Kind)> {
    let aws_files = &TOKEN_FILE.envs[TOKEN_FILE.plugin..];
    inputs
        .flag(&TOKEN)
        .map(|f| (f, Kind::Value))
        .or_else(|| inputs.flag(&TOKEN_FILE).map(|f| (f, Kind::File)))
        .or_else(|| inputs.flag(&TOKEN_COMMAND).map(|f| (f, Kind::Command)))
        .or_else(|| inputs.env_first(TOKEN.envs).map(|f| (f, Kind::Value)))
        .or_else(|| {
            inputs
                .env_first(TOKEN_FILE.plugin_envs())
                .map(|f| (f, Kind::File))
        })
        .or_else(|| {
            inputs
                .env_first(TOKEN_COMMAND.envs)
                .map(|f| (f, Kind::Command))
        })
        .or_else(|| inputs.env_first(aws_files).map(|f| (f, Kind::File)))
}

/// Which kind of token setting was read.
#[derive(Clone, Copy)]
enum Kind {
    Value,
    File,
    Command,
}

/// The token and where it came from. A token command must finish by
/// `deadline`; its standard error, scrubbed, goes to `stderr`.
#[inline(never)]
pub(super) fn read_token(
    inputs: &Inputs,
    files: &mut dyn Files,
    deadline: std::time::Instant,
    stderr: &mut Vec<String>,
) -> Result<(Sourced<Secret>, TokenSource), Error> {
    let Some((f, kind)) = token_setting(inputs) else {
        return Err(Error::setting(
            format!(
                "{}, {}, {}",
                names(&TOKEN),
                names(&TOKEN_FILE),
                names(&TOKEN_COMMAND)
            ),
            "no OIDC token is set; in Harness enable OIDC for the plugin step so that \
             PLUGIN_OIDC_TOKEN_ID is injected, elsewhere pass the token by env, a file or a command",
        ));
    };
    let (token, from) = match kind {
        Kind::Value => (
            checked_token(&f.value, "the token", f.source)?,
            TokenSource::Value,
        ),
        Kind::File => (
            token_from_file(files, &f)?,
            match f.value.as_str() {
                "-" => TokenSource::Stdin,
                path => TokenSource::File(path.to_string()),
            },
        ),
        Kind::Command => {
            let words = super::token::words(&f)?;
            let not_sent = "nothing was sent";
            let token =
                super::token::from_command(f.source, &words, files, deadline, not_sent, stderr)?;
            (token, TokenSource::Command(words))
        }
    };
    let token = Sourced {
        value: token,
        source: f.source,
    };
    Ok((token, from))
}

/// The token in the file (`-`: standard input) that `f` names, held to the
/// token's rules (`docs/reference.md` §1.3, §1.4).
pub(super) fn token_from_file(files: &mut dyn Files, f: &Sourced<String>) -> Result<Secret, Error> {
    let bytes = read_file(files, f, 1 << 20)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::setting(
            f.source,
            format!(
                "{} is not UTF-8 text; it should hold the OIDC token",
                f.value
            ),
        )
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::setting(
            f.source,
            format!("{} is empty; it should hold the OIDC token", f.value),
        ));
    }
    let place = match f.value.as_str() {
        "-" => "the token on stdin".to_string(),
        path => format!("the token in {path}"),
    };
    checked_token(text, &place, f.source)
}

/// The token, held to its rules: one line of printable ASCII,
/// 4-20000 characters. `place` says where it was (`the token in PATH`).
pub(super) fn checked_token(token: &str, place: &str, source: Source) -> Result<Secret, Error> {
    if let Some(problem) = token_problem(token) {
        return Err(Error::setting(source, format!("{place} {problem}")));
    }
    let n = token.chars().count();
    if !(4..=20000).contains(&n) {
        return Err(Error::setting(
            source,
            format!("the token is {n} chars; STS accepts 4-20000"),
        ));
    }
    Ok(Secret::new(token))
}

/// What is wrong with a token's text, already trimmed: it must be one line
/// of printable ASCII with no space, as every OIDC token is. Says where,
/// never what.
pub(super) fn token_problem(token: &str) -> Option<String> {
    let (at, c) = token
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())?;
    let at = at + 1;
    Some(match c {
        '\n' | '\r' => "spans more than one line; it should hold the token alone, on one line".into(),
        ' ' | '\t' => format!("holds whitespace at character {at}; it should hold the token alone, on one line"),
        c if c.is_control() => format!(
            "holds control character U+{:04X} at character {at}; it should hold the token alone, as text",
            c as u32
        ),
        _ => format!("holds a non-ASCII character at character {at}; OIDC tokens are printable ASCII"),
    })
}

/// Whether a value given as a file path looks like a token instead: long,
/// or three base64url parts, and no path separator. Such a "path" is never
/// quoted back, since it would put the token in the log.
fn looks_like_token(path: &str) -> bool {
    !path.contains(['/', '\\']) && (jwt_shaped(path) || path.len() > 128)
}

/// Whether a value reads as a file path, and so may be quoted back: `-`, a
/// value with a path separator, or a file name with an extension, made of
/// the ASCII characters file names use and not long enough to be a token.
pub(super) fn looks_like_path(value: &str) -> bool {
    let name = value.rsplit(['/', '\\']).next().unwrap_or_default();
    // `+`, `=`, `:` and `!` are base64's and opaque tokens' more than
    // paths'; a drive letter's `:` is the one allowed.
    let plain = |s: &str| {
        s.char_indices().all(|(i, c)| {
            c.is_ascii_alphanumeric() || "/\\._-~ ".contains(c) || (c == ':' && i == 1)
        })
    };
    let extension = name
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()));
    value == "-"
        || (plain(value)
            && !looks_like_token(value)
            && value.split(['/', '\\']).all(|part| part.len() <= 64)
            && (value.contains(['/', '\\']) || extension))
}

fn read_file(files: &mut dyn Files, f: &Sourced<String>, limit: u64) -> Result<Vec<u8>, Error> {
    if looks_like_token(&f.value) {
        return Err(Error::setting(
            f.source,
            format!(
                "the value ({} chars) looks like a token, not a file path; pass the token itself with PLUGIN_OIDC_TOKEN (or --token-file - on stdin), or the path of a file holding it",
                f.value.chars().count()
            ),
        ));
    }
    let bytes = files.read(&f.value, limit + 1).map_err(|e| {
        // A value that is not clearly a path may be a token put in the
        // wrong variable: it is described, not quoted.
        let what = match looks_like_path(&f.value) {
            true => shown(&f.value),
            false => format!(
                "the value of {} ({} characters, not shown as it does not look like a path)",
                f.source,
                f.value.chars().count()
            ),
        };
        Error::setting(
            f.source,
            format!(
                "cannot read {what}: {}; check the path and that this step can read it",
                io_reason(&e)
            ),
        )
    })?;
    if bytes.len() as u64 > limit {
        return Err(Error::setting(
            f.source,
            format!(
                "{} is larger than {} bytes; is it the right file?",
                f.value, limit
            ),
        ));
    }
    Ok(bytes)
}

/// The usable certificates in a PEM bundle, and how many certificate
/// blocks it has (other items, such as keys, are skipped). Usable means
/// what the TLS stack will do with it succeeds: rustls takes it as a trust
/// anchor. A block that is not X.509 would otherwise be counted, and every
/// handshake would fail later with "unknown issuer".
pub(super) fn certificates(pem: &[u8]) -> (Vec<ureq::tls::Certificate<'static>>, usize) {
    let mut blocks = 0;
    let mut usable = Vec::new();
    let mut anchors = rustls::RootCertStore::empty();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => {
                blocks += 1;
                let der = rustls::pki_types::CertificateDer::from(c.der());
                if anchors.add(der).is_ok() {
                    usable.push(c);
                }
            }
            // A block whose base64 does not decode: a certificate, broken.
            Err(_) => blocks += 1,
            Ok(_) => {}
        }
    }
    (usable, blocks)
}

/// A CA bundle's usable certificates, which replace the built-in roots.
#[derive(Debug, Clone)]
pub struct CaBundle {
    /// The bundle's path and where it was named.
    pub path: Sourced<String>,
    /// The certificates rustls accepts as trust anchors.
    pub certs: Vec<ureq::tls::Certificate<'static>>,
}

/// Reads the CA bundle, if one is named: it must hold at least one usable
/// certificate; unusable blocks are a warning.
pub(super) fn read_ca_bundle(
    inputs: &Inputs,
    files: &mut dyn Files,
    warnings: &mut Vec<String>,
) -> Result<Option<CaBundle>, Error> {
    let Some(f) = inputs.get(&super::defs::CA_BUNDLE) else {
        return Ok(None);
    };
    let pem = read_file(files, &f, 16 << 20)?;
    let (certs, blocks) = certificates(&pem);
    let count = certs.len();
    if blocks == 0 {
        return Err(Error::setting(
            f.source,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at a PEM CA bundle",
                f.value
            ),
        ));
    }
    if count == 0 {
        return Err(Error::setting(
            f.source,
            format!(
                "{} holds {blocks} PEM certificate block{} but no usable X.509 certificate; point it at a PEM bundle of CA certificates",
                f.value,
                if blocks == 1 { "" } else { "s" }
            ),
        ));
    }
    if count < blocks {
        let bad = blocks - count;
        warnings.push(format!(
            "{}: {bad} of the {blocks} PEM certificate blocks in {} are not usable X.509 certificates and are ignored",
            f.source, f.value,
        ));
    }
    Ok(Some(CaBundle { path: f, certs }))
}
