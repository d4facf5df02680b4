//! Outputs (SPEC §3): credentials in, file text out, then the one place that
//! opens and writes files. Every destination is checked and opened before
//! STS is asked ([`open`]), so a run that could not write asks nothing.
//! All-or-nothing: every text is rendered and checked before the first byte
//! is written, and a failed run cuts the files it appended to back to their
//! old length and removes the files it created.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::claims::quote;
use crate::error::Error;
use crate::response::Credentials;
use crate::secret::Secret;
use crate::settings::{Format, Found, Settings};

/// Where the credentials go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Appended to this file.
    File(String),
    /// Standard output.
    Stdout,
}

/// The plan, decided before any network traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Credentials destination.
    pub creds: Target,
    /// Format of the credentials destination.
    pub format: Format,
    /// Which setting chose the destination, for logs.
    pub creds_source: String,
    /// The output variables file, when set.
    pub vars: Option<Found>,
}

impl Plan {
    /// Whether the credentials go to Harness's secret file (dotenv, three
    /// keys, and the Harness expressions are worth logging).
    pub fn to_secret_file(&self) -> bool {
        self.creds_source == settings_secret_file()
    }
}

fn settings_secret_file() -> &'static str {
    crate::settings::SECRET_FILE.envs[0]
}

/// Explains exit 6 when there is nowhere safe for the credentials.
pub const NO_DESTINATION: &str = "nowhere to write the credentials: HARNESS_OUTPUT_SECRET_FILE is not set, \
and Harness sets it only when output secrets are enabled for the account (feature flag CI_ENABLE_OUTPUT_SECRETS; ask Harness support); \
outside Harness choose an output with PLUGIN_OUTPUT_FILE / --output FILE (or - for stdout) or --format credential-process";

/// Chooses the credentials destination in SPEC §3's order.
pub fn plan(s: &Settings) -> Result<Plan, Error> {
    let (creds, format, creds_source) = if let Some(out) = &s.output {
        // `/dev/stdout` is a symlink on Linux, which [`open`] never
        // follows; it means what `-` means.
        let target = if out == "-" || out == "/dev/stdout" {
            Target::Stdout
        } else {
            Target::File(out.clone())
        };
        (
            target,
            s.format,
            "--output / PLUGIN_OUTPUT_FILE".to_string(),
        )
    } else if s.format == Format::CredentialProcess {
        (
            Target::Stdout,
            s.format,
            "--format credential-process".to_string(),
        )
    } else if let Some(path) = &s.secret_file {
        (
            Target::File(path.clone()),
            Format::Dotenv,
            settings_secret_file().to_string(),
        )
    } else {
        return Err(Error::Output(NO_DESTINATION.into()));
    };
    Ok(Plan {
        creds,
        format,
        creds_source,
        vars: s.vars_file.clone(),
    })
}

/// The three credential keys, in the order they are written.
pub const CREDENTIAL_KEYS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The non-secret variables: region, expiry, and (when `account` is true)
/// account id and role ARNs.
pub fn variables(s: &Settings, c: &Credentials, account: bool) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(r) = s.region.as_deref().filter(|r| *r != "aws-global") {
        v.push(("AWS_REGION", r.to_string()));
        v.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    v.push(("AWS_CREDENTIAL_EXPIRATION", c.expiration.clone()));
    if account {
        v.extend(account_variables(s, c));
    }
    v
}

fn account_variables(s: &Settings, c: &Credentials) -> Vec<(&'static str, String)> {
    let mut v = vec![("AWS_ACCOUNT_ID", s.role.account.clone())];
    if let Some(arn) = &c.assumed_role_arn {
        v.push(("AWS_ASSUMED_ROLE_ARN", arn.clone()));
    }
    v.push(("AWS_ROLE_ARN", s.role.arn.clone()));
    v
}

/// Everything to write, rendered and checked.
#[derive(Debug)]
pub struct Rendered {
    /// The credentials text.
    pub creds: Secret,
    /// The variables text, when there is a variables file.
    pub vars: Option<String>,
    /// Keys written with the credentials.
    pub creds_keys: Vec<&'static str>,
    /// Keys written to the variables file.
    pub vars_keys: Vec<&'static str>,
}

/// Renders every output. Fails, writing nothing, when a value holds a
/// character the readers would mangle.
pub fn render(plan: &Plan, s: &Settings, c: &Credentials) -> Result<Rendered, Error> {
    let creds_pairs = [
        (CREDENTIAL_KEYS[0], c.access_key_id.as_str()),
        (CREDENTIAL_KEYS[1], c.secret_access_key.expose()),
        (CREDENTIAL_KEYS[2], c.session_token.expose()),
    ];
    let is_secret_file = plan.to_secret_file();
    let extra = if is_secret_file {
        if s.mask_account {
            account_variables(s, c)
        } else {
            Vec::new()
        }
    } else {
        // With mask account, the account and role ARNs go only to the
        // secret file, never to a file or stream the user chose.
        variables(s, c, !s.mask_account)
    };
    for (k, v) in creds_pairs
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str())))
    {
        check_value(k, v)?;
    }
    let mut creds_keys: Vec<&'static str> = CREDENTIAL_KEYS.to_vec();
    let creds = match plan.format {
        Format::Dotenv | Format::Shell => {
            creds_keys.extend(extra.iter().map(|(k, _)| *k));
            let lines = creds_pairs.iter().map(|(k, v)| (*k, *v)).chain(extra.iter().map(|(k, v)| (*k, v.as_str())));
            lines
                .map(|(k, v)| match plan.format {
                    Format::Shell => format!("export {k}='{v}'\n"),
                    _ => format!("{k}={v}\n"),
                })
                .collect()
        }
        Format::Json => format!(
            "{{\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{},\"AssumedRoleArn\":{}}}\n",
            quote(&c.access_key_id),
            quote(c.secret_access_key.expose()),
            quote(c.session_token.expose()),
            quote(&c.expiration),
            c.assumed_role_arn
                .as_deref()
                .filter(|_| !s.mask_account)
                .map_or("null".to_string(), quote),
        ),
        Format::CredentialProcess => format!(
            "{{\"Version\":1,\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":{}}}\n",
            quote(&c.access_key_id),
            quote(c.secret_access_key.expose()),
            quote(c.session_token.expose()),
            quote(&crate::time::format_utc(c.expires_at)),
        ),
    };
    let (vars, vars_keys) = match &plan.vars {
        None => (None, Vec::new()),
        Some(_) => {
            let v = variables(s, c, !s.mask_account);
            for (k, val) in &v {
                check_value(k, val)?;
            }
            let text = v.iter().map(|(k, val)| format!("{k}={val}\n")).collect();
            (Some(text), v.iter().map(|(k, _)| *k).collect())
        }
    };
    Ok(Rendered {
        creds: Secret::new(creds),
        vars,
        creds_keys,
        vars_keys,
    })
}

/// Harness and GitLab read these files line by line, expand `$`, strip
/// unquoted `#` and reject newlines, so a value with any of those (or a
/// quote, backslash, space or control character) would arrive changed. It
/// is refused rather than written wrong. The value is never shown.
pub fn check_value(key: &str, value: &str) -> Result<(), Error> {
    let bad = value
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "$#'\"`\\".contains(*c));
    match bad {
        None if !value.is_empty() => Ok(()),
        None => Err(Error::Output(format!(
            "{key} is empty in STS's answer; nothing was written"
        ))),
        Some(c) => Err(Error::Output(format!(
            "{key} holds a character ({}) that dotenv readers would change; nothing was written",
            match c {
                '\n' | '\r' => "a newline".to_string(),
                c if c.is_whitespace() => "a space".to_string(),
                c if c.is_control() => format!("control character U+{:04X}", c as u32),
                c => format!("`{c}`"),
            }
        ))),
    }
}

/// Whether [`open`] opens the destinations for a run or, for `--check`,
/// only inspects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create or open each file for appending.
    Open,
    /// Make every check, but create, open for writing or change nothing.
    Inspect,
}

/// One destination file, checked and (for a run) opened before the request.
#[derive(Debug)]
struct Destination {
    path: String,
    source: String,
    /// The open file; `None` under `--check`.
    file: Option<File>,
    /// The length before this run, which a failed run cuts it back to.
    len: u64,
    /// The file did not exist: this run creates it (under `--check`, would),
    /// and a failed run removes it again.
    new: bool,
    /// The old text does not end in a newline, so one goes first.
    needs_newline: bool,
    /// Bytes were written, so a failed run cuts them off again.
    written: bool,
    /// The whole run succeeded: keep what was written.
    done: bool,
}

impl Destination {
    fn append(&mut self, text: &str) -> Result<(), Error> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        // One write, so that a reader never sees half a line of ours.
        let mut bytes = Vec::with_capacity(text.len() + 1);
        if self.needs_newline {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(text.as_bytes());
        self.written = true;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                Error::Output(format!(
                    "cannot write {} ({}): {}; nothing was written",
                    self.source,
                    self.path,
                    crate::settings::io_reason(&e)
                ))
            })
    }

    /// What `--check` says about the file.
    fn state(&self) -> &'static str {
        match self.new {
            true => "missing, would be created readable by this user only",
            false => "exists, would be appended to",
        }
    }
}

/// Until the run succeeds, dropping a destination undoes the run: a file
/// appended to is cut back to its old length and a file created is
/// removed, so a failed run leaves nothing behind, whichever step failed.
impl Drop for Destination {
    fn drop(&mut self) {
        let Some(file) = self.file.take().filter(|_| !self.done) else {
            return;
        };
        // Best effort: the error that failed the run is the one to report.
        if self.new {
            drop(file);
            let _ = std::fs::remove_file(&self.path);
        } else if self.written {
            let _ = file.set_len(self.len).and_then(|()| file.sync_all());
        }
    }
}

/// Every destination file of a plan, checked and opened before STS is
/// asked. Until [`write`] succeeds, dropping it undoes the run (see
/// [`Destination`]'s `Drop`).
#[derive(Debug)]
pub struct Destinations {
    creds: Option<Destination>,
    vars: Option<Destination>,
    /// Worth a warning: a credentials file that others can read.
    pub warnings: Vec<String>,
}

impl Destinations {
    /// What `--check` says about the credentials file and the variables
    /// file, when each is a file.
    pub fn states(&self) -> (Option<&'static str>, Option<&'static str>) {
        (
            self.creds.as_ref().map(Destination::state),
            self.vars.as_ref().map(Destination::state),
        )
    }
}

/// Checks every destination of the plan and, in [`Mode::Open`], opens it,
/// before any request. A destination must be a regular file, reached
/// without a symlink (or Windows reparse point) at its last component,
/// owned by this user and not writable by others; a missing one is created
/// readable by this user only, with `O_EXCL`. No two destinations, and no
/// destination and input file (`inputs`: token file, CA bundle), may be the
/// same file, compared by device and inode. Refusals are exit 6 and name
/// the path.
pub fn open(plan: &Plan, inputs: &[Found], mode: Mode) -> Result<Destinations, Error> {
    let mut seen: Vec<(String, String, bool)> = inputs
        .iter()
        .filter_map(|f| {
            let key = key_of(&std::fs::metadata(&f.value).ok()?, Path::new(&f.value))?;
            Some((key, format!("{} ({})", f.source, f.value), true))
        })
        .collect();
    let mut d = Destinations {
        creds: None,
        vars: None,
        warnings: Vec::new(),
    };
    if let Target::File(path) = &plan.creds {
        let source = &plan.creds_source;
        let (dest, warning) = open_one(path, source, mode, &mut seen)?;
        d.creds = Some(dest);
        d.warnings.extend(warning);
    }
    if let Some(v) = &plan.vars {
        // The variables are not secret, so others reading them is no matter.
        d.vars = Some(open_one(&v.value, &v.source, mode, &mut seen)?.0);
    }
    Ok(d)
}

/// Checks and opens one destination, with a warning when others can read
/// it. `seen` holds the files already claimed, by key: the inputs (`true`)
/// and earlier destinations.
fn open_one(
    path: &str,
    source: &str,
    mode: Mode,
    seen: &mut Vec<(String, String, bool)>,
) -> Result<(Destination, Option<String>), Error> {
    let named = format!("{source} ({path})");
    let refuse = |problem: String| Error::Output(format!("{named} {problem}; nothing was sent"));
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(refuse(format!(
                "cannot be checked: {}",
                crate::settings::io_reason(&e)
            )))
        }
    };
    let mut key = match &existing {
        Some(m) => {
            check_existing(m, path, source).map_err(refuse)?;
            key_of(m, Path::new(path))
        }
        None => new_key(Path::new(path)).map_err(refuse)?,
    }
    .ok_or_else(|| refuse("cannot be identified".into()))?;
    if let Some((_, other, input)) = seen.iter().find(|s| s.0 == key) {
        return Err(refuse(match input {
            true => format!("is the same file as {other}, which is read, never written; write the credentials to another file"),
            false => format!("is the same file as {other}; each output needs its own file (the credentials must never reach the variables file)"),
        }));
    }
    let warning = existing
        .as_ref()
        .and_then(|m| readable_by_others(m, path))
        .map(|w| format!("{named} {w}"));
    let mut d = Destination {
        path: path.to_string(),
        source: source.to_string(),
        file: None,
        len: existing.as_ref().map_or(0, Metadata::len),
        new: existing.is_none(),
        needs_newline: false,
        written: false,
        done: false,
    };
    if mode == Mode::Inspect {
        #[cfg(windows)]
        if existing.is_some() {
            owner_only::check(&inspect_handle(path).map_err(|e| refuse(cannot("opened", &e)))?)
                .map_err(refuse)?;
        }
        seen.push((key, named.clone(), false));
        return Ok((d, warning));
    }
    // From here on, dropping `d` removes a file created here.
    let file = d.file.insert(match d.new {
        true => create_new(path).map_err(|e| {
            refuse(match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "appeared while it was being created; run again".to_string()
                }
                _ => cannot("created", &e),
            })
        })?,
        false => open_existing(path).map_err(|e| refuse(cannot("opened", &e)))?,
    });
    // The checks again, on what was opened: the name could have been
    // swapped between the look and the open.
    let m = file.metadata().map_err(|e| refuse(cannot("checked", &e)))?;
    if !d.new {
        check_existing(&m, path, source).map_err(refuse)?;
        #[cfg(windows)]
        owner_only::check(file).map_err(refuse)?;
    }
    let opened = key_of(&m, Path::new(path));
    if !d.new && opened.as_ref() != Some(&key) {
        return Err(refuse(
            "changed while it was being checked; run again".into(),
        ));
    }
    // A file just created is known by its own key from now on.
    key = opened.unwrap_or(key);
    seen.push((key, named.clone(), false));
    d.len = m.len();
    if d.len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| refuse(cannot("read", &e)))?;
        d.needs_newline = last[0] != b'\n';
    }
    Ok((d, warning))
}

fn cannot(what: &str, e: &std::io::Error) -> String {
    format!(
        "cannot be {what}: {}; check the path and that this step may write there",
        crate::settings::io_reason(e)
    )
}

/// The rules for a destination that exists: a regular file, reached without
/// a link, owned by this user, not writable by group or others.
fn check_existing(m: &Metadata, path: &str, source: &str) -> Result<(), String> {
    let t = m.file_type();
    if t.is_symlink() || is_reparse_point(m) {
        return Err(
            "is a symbolic link, which is never followed for an output; \
                    name the file itself, or remove the link"
                .into(),
        );
    }
    if t.is_dir() {
        return Err("is a directory; name a file inside it".into());
    }
    if !t.is_file() {
        let stdout = match source.starts_with("--output") {
            true => ", or - for stdout",
            false => "",
        };
        return Err(format!(
            "is {}, not a regular file; name a regular file{stdout}",
            special_kind(m)
        ));
    }
    owned_and_private(m, path)
}

#[cfg(unix)]
fn special_kind(m: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &Metadata) -> &'static str {
    "a special file"
}

#[cfg(unix)]
fn owned_and_private(m: &Metadata, path: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me {
        return Err(format!(
            "belongs to {}, not to this user (uid {me}), and its owner could read the credentials; \
             remove it or choose a path this user owns",
            user_name(m.uid())
        ));
    }
    let mode = m.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "can be written by group or others (mode {mode:04o}); run chmod go-w {path} \
             (GitLab's Docker and Kubernetes executors run jobs with umask 0000, so files made earlier in the job are 0666)"
        ));
    }
    Ok(())
}

/// Windows checks the owner and the access list on the open handle
/// ([`owner_only::check`]).
#[cfg(not(unix))]
fn owned_and_private(_: &Metadata, _: &str) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn readable_by_others(m: &Metadata, path: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mode = m.mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!("can be read by group or others (mode {mode:04o}); chmod go-r {path} keeps the credentials private")
    })
}

#[cfg(not(unix))]
fn readable_by_others(_: &Metadata, _: &str) -> Option<String> {
    None
}

/// `uid N (name)`, the name from /etc/passwd when it has one.
#[cfg(unix)]
fn user_name(uid: u32) -> String {
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        });
    match name {
        Some(n) => format!("uid {uid} ({n})"),
        None => format!("uid {uid}"),
    }
}

#[cfg(unix)]
fn is_reparse_point(_: &Metadata) -> bool {
    false
}

#[cfg(windows)]
fn is_reparse_point(m: &Metadata) -> bool {
    use std::os::windows::fs::MetadataExt;
    const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
    m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
}

/// Which file a name is, so that two names for one file are caught: device
/// and inode on Unix; on Windows the full path with links resolved.
#[cfg(unix)]
fn key_of(m: &Metadata, _: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    Some(format!("{}:{}", m.dev(), m.ino()))
}

#[cfg(windows)]
fn key_of(_: &Metadata, path: &Path) -> Option<String> {
    let full = std::fs::canonicalize(path).ok()?;
    Some(full.to_string_lossy().to_lowercase())
}

/// The key of a file not there yet: its directory's key and its name. A
/// missing directory is refused here, before any request.
fn new_key(path: &Path) -> Result<Option<String>, String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let shown = dir.display();
    let m = std::fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("cannot be created: the directory {shown} does not exist; create it first or choose another path")
        }
        _ => format!("cannot be created: {shown}: {}", crate::settings::io_reason(&e)),
    })?;
    if !m.is_dir() {
        return Err(format!("cannot be created: {shown} is not a directory"));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
    Ok(key_of(&m, dir).zip(name).map(|(k, n)| format!("{k}/{n}")))
}

/// Creates a file that must not exist yet (`O_EXCL`, so no link is
/// followed), readable and writable by this user only: mode 0600 on Unix;
/// on Windows a protected DACL that grants access to the file's owner alone
/// (see [`owner_only`]).
fn create_new(path: &str) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        owner_only::create_new(path)?;
        o.custom_flags(owner_only::FILE_FLAG_OPEN_REPARSE_POINT);
    }
    o.open(path)
}

/// Opens an existing file for appending without following a link at the
/// last component, and without blocking on a FIFO that slipped in.
fn open_existing(path: &str) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        o.custom_flags(owner_only::FILE_FLAG_OPEN_REPARSE_POINT);
    }
    o.open(path)
}

/// Under `--check` on Windows: a handle that can read the file's security
/// descriptor and nothing else.
#[cfg(windows)]
fn inspect_handle(path: &str) -> std::io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    const READ_CONTROL: u32 = 0x0002_0000;
    OpenOptions::new()
        .access_mode(READ_CONTROL)
        .custom_flags(owner_only::FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Writes every output into the destinations [`open`] opened: the files
/// first, each appended with one write (after a newline when the old text
/// lacks one) and synced; stdout last. On any failure, dropping the
/// destinations undoes what was written.
pub fn write(
    mut dest: Destinations,
    plan: &Plan,
    r: &Rendered,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    if let Some(d) = &mut dest.creds {
        d.append(r.creds.expose())?;
    }
    if let (Some(d), Some(text)) = (&mut dest.vars, &r.vars) {
        d.append(text)?;
    }
    if plan.creds == Target::Stdout {
        stdout
            .write_all(r.creds.expose().as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| {
                Error::Output(format!(
                    "cannot write the credentials to stdout: {}; nothing was written",
                    crate::settings::io_reason(&e)
                ))
            })?;
    }
    for d in [&mut dest.creds, &mut dest.vars].into_iter().flatten() {
        d.done = true;
    }
    Ok(())
}

/// Windows' closest match to mode 0600: a security descriptor whose
/// protected DACL (no inherited entries) grants full access to the user
/// running this process, by SID, and to nobody else. Administrators can
/// still take ownership, as root can read a 0600 file. And the check of an
/// existing destination ([`check`]): owned by this user, and no access
/// entry lets anyone else write. Declared by hand against advapi32/kernel32
/// so it costs no crate.
#[cfg(windows)]
mod owner_only {
    use std::ffi::c_void;
    use std::os::windows::io::AsRawHandle;

    /// Open the link or junction itself rather than its target, so that a
    /// reparse point is seen (and refused) instead of followed.
    pub const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    const SE_FILE_OBJECT: u32 = 1;
    const OWNER_SECURITY_INFORMATION: u32 = 0x1;
    const DACL_SECURITY_INFORMATION: u32 = 0x4;
    const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
    const INHERIT_ONLY_ACE: u8 = 0x8;
    /// FILE_WRITE_DATA, FILE_APPEND_DATA, WRITE_DAC, WRITE_OWNER,
    /// GENERIC_ALL and GENERIC_WRITE: any right that can change the text or
    /// give itself that right.
    const WRITE_RIGHTS: u32 = 0x2 | 0x4 | 0x0004_0000 | 0x0008_0000 | 0x1000_0000 | 0x4000_0000;
    /// Who may write besides the owner, as root may on Unix: SYSTEM,
    /// Administrators, and OWNER RIGHTS (which is the owner).
    const TRUSTED: [&str; 3] = ["S-1-5-18", "S-1-5-32-544", "S-1-3-4"];

    const SDDL_REVISION_1: u32 = 1;
    const TOKEN_QUERY: u32 = 0x0008;
    const TOKEN_USER_CLASS: u32 = 1;
    const GENERIC_WRITE: u32 = 0x4000_0000;
    const FILE_SHARE_READ_WRITE: u32 = 0x1 | 0x2;
    const CREATE_NEW: u32 = 1;
    const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
    const ERROR_FILE_EXISTS: i32 = 80;

    /// `SECURITY_ATTRIBUTES`.
    #[repr(C)]
    struct SecurityAttributes {
        length: u32,
        descriptor: *mut c_void,
        inherit_handle: i32,
    }

    #[link(name = "advapi32")]
    extern "system" {
        fn GetSecurityInfo(
            handle: *mut c_void,
            object_type: u32,
            info: u32,
            owner: *mut *mut c_void,
            group: *mut *mut c_void,
            dacl: *mut *mut c_void,
            sacl: *mut *mut c_void,
            descriptor: *mut *mut c_void,
        ) -> u32;
        fn GetAce(acl: *mut c_void, index: u32, ace: *mut *mut c_void) -> i32;
        fn OpenProcessToken(process: *mut c_void, access: u32, token: *mut *mut c_void) -> i32;
        fn GetTokenInformation(
            token: *mut c_void,
            class: u32,
            info: *mut c_void,
            len: u32,
            ret: *mut u32,
        ) -> i32;
        fn ConvertSidToStringSidW(sid: *mut c_void, out: *mut *mut u16) -> i32;
        fn ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl: *const u16,
            revision: u32,
            descriptor: *mut *mut c_void,
            size: *mut u32,
        ) -> i32;
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn GetCurrentProcess() -> *mut c_void;
        fn LocalFree(mem: *mut c_void) -> *mut c_void;
        fn CloseHandle(handle: *mut c_void) -> i32;
        fn CreateFileW(
            name: *const u16,
            access: u32,
            share: u32,
            attributes: *mut SecurityAttributes,
            disposition: u32,
            flags: u32,
            template: *mut c_void,
        ) -> *mut c_void;
    }

    fn last_error() -> std::io::Error {
        std::io::Error::last_os_error()
    }

    /// The current user's SID as text, `S-1-5-21-…`.
    fn user_sid() -> std::io::Result<String> {
        let mut token = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` receives
        // a real handle that is closed below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(last_error());
        }
        // TOKEN_USER is a pointer-aligned struct followed by the SID; 512
        // bytes hold any SID (at most 68 bytes) with room to spare.
        let mut buf = [0u64; 64];
        let mut len = 0u32;
        // SAFETY: `buf` is writable for the length passed and aligned for
        // TOKEN_USER; `token` is the handle just opened.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TOKEN_USER_CLASS,
                buf.as_mut_ptr().cast(),
                512,
                &mut len,
            )
        };
        let err = last_error();
        // SAFETY: closing the handle opened above, once.
        unsafe { CloseHandle(token) };
        if ok == 0 {
            return Err(err);
        }
        // TOKEN_USER starts with SID_AND_ATTRIBUTES, whose first field is
        // the SID pointer (into `buf`), which is alive across the call.
        sid_text(buf[0] as *mut c_void)
    }

    /// A SID as text. `sid` must point at a valid SID.
    fn sid_text(sid: *mut c_void) -> std::io::Result<String> {
        let mut text: *mut u16 = std::ptr::null_mut();
        // SAFETY: the caller hands a valid SID; `text` receives a
        // LocalAlloc'd NUL-terminated string freed below.
        if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
            return Err(last_error());
        }
        // SAFETY: `text` is NUL-terminated; read up to the NUL, then free.
        let s = unsafe {
            let n = (0..).take_while(|&i| *text.add(i) != 0).count();
            let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, n));
            LocalFree(text.cast());
            s
        };
        Ok(s)
    }

    /// Creates the file with the owner-only descriptor; an existing file is
    /// an `AlreadyExists` error, as with `O_EXCL`. std's
    /// `OpenOptionsExt::security_attributes` is not stable, so the create is
    /// done here and the append through std.
    pub fn create_new(path: &str) -> std::io::Result<()> {
        // Protected DACL: allow FILE_ALL_ACCESS to this user only.
        let sddl: Vec<u16> = format!("D:P(A;;FA;;;{})", user_sid()?)
            .encode_utf16()
            .chain(Some(0))
            .collect();
        let mut sd = std::ptr::null_mut();
        // SAFETY: `sddl` is NUL-terminated UTF-16 alive across the call; `sd`
        // receives a LocalAlloc'd descriptor freed below.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(last_error());
        }
        let mut attrs = SecurityAttributes {
            length: std::mem::size_of::<SecurityAttributes>() as u32,
            descriptor: sd,
            inherit_handle: 0,
        };
        let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
        // SAFETY: `wide` is NUL-terminated and `attrs` points at the live
        // descriptor; both outlive the call.
        let handle = unsafe {
            CreateFileW(
                wide.as_ptr(),
                GENERIC_WRITE,
                FILE_SHARE_READ_WRITE,
                &mut attrs,
                CREATE_NEW,
                FILE_ATTRIBUTE_NORMAL,
                std::ptr::null_mut(),
            )
        };
        let err = last_error();
        // SAFETY: the descriptor came from the conversion above; freed once.
        unsafe { LocalFree(sd) };
        if handle as isize == -1 {
            return match err.raw_os_error() {
                Some(ERROR_FILE_EXISTS) => Err(std::io::ErrorKind::AlreadyExists.into()),
                _ => Err(err),
            };
        }
        // SAFETY: a valid handle from CreateFileW, closed once.
        unsafe { CloseHandle(handle) };
        Ok(())
    }

    /// The owner and write rules for an existing destination, on its open
    /// handle: owned by this user (or by Administrators or SYSTEM, which
    /// own what elevated runs create), and no allow entry of the DACL that
    /// gives write access to anyone but this user, SYSTEM, Administrators
    /// or the owner. A missing DACL grants everyone everything, and is
    /// refused. Deny entries are not weighed.
    pub fn check(file: &std::fs::File) -> Result<(), String> {
        let me = user_sid().map_err(|e| format!("cannot be checked: {e}"))?;
        let mut owner = std::ptr::null_mut();
        let mut dacl = std::ptr::null_mut();
        let mut sd = std::ptr::null_mut();
        // SAFETY: the handle is open for the call; `owner` and `dacl` point
        // into `sd`, a LocalAlloc'd descriptor freed below.
        let status = unsafe {
            GetSecurityInfo(
                file.as_raw_handle(),
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        if status != 0 {
            let e = std::io::Error::from_raw_os_error(status as i32);
            return Err(format!("cannot be checked: {e}"));
        }
        let verdict = judge(&me, owner, dacl);
        // SAFETY: the descriptor came from GetSecurityInfo; freed once.
        unsafe { LocalFree(sd) };
        verdict
    }

    /// The verdict on an owner SID and a DACL that live in a descriptor the
    /// caller keeps alive.
    fn judge(me: &str, owner: *mut c_void, dacl: *mut c_void) -> Result<(), String> {
        let owner = sid_text(owner).map_err(|e| format!("cannot be checked: {e}"))?;
        if owner != me && !TRUSTED[..2].contains(&owner.as_str()) {
            return Err(format!(
                "belongs to {owner}, not to this user ({me}), and its owner could read the credentials; \
                 remove it or choose a path this user owns"
            ));
        }
        if dacl.is_null() {
            return Err(
                "has no access list, so everyone may write it; remove it or choose another path"
                    .into(),
            );
        }
        // SAFETY: an ACL starts with revision (u8), padding (u8), size
        // (u16) and the entry count (u16), at offset 4.
        let count = unsafe { dacl.cast::<u8>().add(4).cast::<u16>().read_unaligned() };
        for i in 0..u32::from(count) {
            let mut ace = std::ptr::null_mut();
            // SAFETY: `i` is below the ACL's entry count.
            if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
                return Err(format!("cannot be checked: {}", last_error()));
            }
            let ace = ace.cast::<u8>();
            // SAFETY: an ACE starts with its type (u8) and flags (u8), then
            // its size (u16); an ACCESS_ALLOWED_ACE follows with the mask
            // (u32) at offset 4 and the SID at offset 8.
            let (kind, flags, mask) =
                unsafe { (*ace, *ace.add(1), ace.add(4).cast::<u32>().read_unaligned()) };
            if kind != ACCESS_ALLOWED_ACE_TYPE
                || flags & INHERIT_ONLY_ACE != 0
                || mask & WRITE_RIGHTS == 0
            {
                continue;
            }
            // SAFETY: as above, the SID of an allow entry is at offset 8.
            let who = sid_text(unsafe { ace.add(8) }.cast())
                .map_err(|e| format!("cannot be checked: {e}"))?;
            if who != me && !TRUSTED.contains(&who.as_str()) {
                return Err(format!(
                    "can be written by {who} as well as this user; remove that entry (icacls FILE /remove {who}) or choose another path"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{resolve, Files, Inputs};

    struct NoFiles;
    impl Files for NoFiles {
        fn read(&mut self, _: &str, _: u64) -> std::io::Result<Vec<u8>> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    fn settings(env: &[(&str, &str)]) -> Settings {
        let mut all = vec![
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
            ("PLUGIN_OIDC_TOKEN", "abcd"),
        ];
        all.extend_from_slice(env);
        let inputs = Inputs {
            flags: vec![],
            env: all
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        resolve(&inputs, &mut NoFiles).unwrap()
    }

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sec/ret+key"),
            session_token: Secret::new("sess+ion/token=="),
            expiration: "2026-11-25T18:00:00.5Z".into(),
            expires_at: 1795629600,
            assumed_role_arn: Some("arn:aws:sts::123456789012:assumed-role/ci/s".into()),
            subject: None,
            audience: None,
            provider: None,
            request_id: None,
        }
    }

    #[test]
    fn destination_order() {
        let p = |env: &[(&str, &str)]| plan(&settings(env));
        assert_eq!(
            p(&[
                ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
                ("PLUGIN_OUTPUT_FILE", "/o")
            ])
            .unwrap()
            .creds,
            Target::File("/o".into())
        );
        assert_eq!(
            p(&[
                ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
                ("PLUGIN_OUTPUT_FILE", "-")
            ])
            .unwrap()
            .creds,
            Target::Stdout
        );
        assert_eq!(
            p(&[
                ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
                ("PLUGIN_OUTPUT_FORMAT", "credential-process")
            ])
            .unwrap()
            .creds,
            Target::Stdout
        );
        let secret = p(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("PLUGIN_OUTPUT_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(
            (secret.creds, secret.format),
            (Target::File("/s".into()), Format::Dotenv)
        );
        let e = p(&[("DRONE_OUTPUT", "/v")]).unwrap_err();
        assert_eq!(e.code(), 6);
        assert!(e.to_string().contains("CI_ENABLE_OUTPUT_SECRETS"));
        assert_eq!(
            p(&[
                ("DRONE_OUTPUT", "/d"),
                ("HARNESS_OUTPUT_FILE", "/h"),
                ("HARNESS_OUTPUT_SECRET_FILE", "/s")
            ])
            .unwrap()
            .vars
            .unwrap()
            .value,
            "/d"
        );
    }

    fn rendered(env: &[(&str, &str)]) -> (String, Option<String>) {
        let s = settings(env);
        let r = render(&plan(&s).unwrap(), &s, &creds()).unwrap();
        (r.creds.expose().to_string(), r.vars)
    }

    #[test]
    fn renderings() {
        let (c, v) = rendered(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("DRONE_OUTPUT", "/v"),
            ("PLUGIN_REGION", "eu-west-1"),
        ]);
        assert_eq!(c, "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=sec/ret+key\nAWS_SESSION_TOKEN=sess+ion/token==\n");
        assert_eq!(
            v.unwrap(),
            "AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\nAWS_CREDENTIAL_EXPIRATION=2026-11-25T18:00:00.5Z\n\
             AWS_ACCOUNT_ID=123456789012\nAWS_ASSUMED_ROLE_ARN=arn:aws:sts::123456789012:assumed-role/ci/s\nAWS_ROLE_ARN=arn:aws:iam::123456789012:role/ci\n"
        );
        let (c, v) = rendered(&[
            ("HARNESS_OUTPUT_SECRET_FILE", "/s"),
            ("DRONE_OUTPUT", "/v"),
            ("PLUGIN_MASK_ACCOUNT_ID", "true"),
        ]);
        assert!(c.ends_with("AWS_ACCOUNT_ID=123456789012\nAWS_ASSUMED_ROLE_ARN=arn:aws:sts::123456789012:assumed-role/ci/s\nAWS_ROLE_ARN=arn:aws:iam::123456789012:role/ci\n"), "{c}");
        assert_eq!(
            v.unwrap(),
            "AWS_CREDENTIAL_EXPIRATION=2026-11-25T18:00:00.5Z\n"
        );
        let (c, _) = rendered(&[
            ("PLUGIN_OUTPUT_FILE", "/o"),
            ("PLUGIN_OUTPUT_FORMAT", "shell"),
            ("PLUGIN_REGION", "aws-global"),
        ]);
        assert!(c.starts_with("export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\nexport AWS_SECRET_ACCESS_KEY='sec/ret+key'\n"), "{c}");
        assert!(
            c.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-25T18:00:00.5Z'\n")
                && !c.contains("AWS_REGION"),
            "{c}"
        );
        let (c, _) = rendered(&[
            ("PLUGIN_OUTPUT_FILE", "-"),
            ("PLUGIN_OUTPUT_FORMAT", "json"),
        ]);
        assert_eq!(c, "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"sess+ion/token==\",\"Expiration\":\"2026-11-25T18:00:00.5Z\",\"AssumedRoleArn\":\"arn:aws:sts::123456789012:assumed-role/ci/s\"}\n");
        let (c, _) = rendered(&[("PLUGIN_OUTPUT_FORMAT", "credential-process")]);
        assert_eq!(c, "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"sess+ion/token==\",\"Expiration\":\"2026-11-25T18:00:00Z\"}\n");
    }

    #[test]
    fn values_readers_would_mangle_are_refused_without_showing_them() {
        for (bad, what) in [
            ("a b", "a space"),
            ("a\nb", "a newline"),
            ("a$b", "`$`"),
            ("a#b", "`#`"),
            ("a'b", "`'`"),
            ("a\"b", "`\"`"),
            ("a\u{1}b", "U+0001"),
            ("", "empty"),
        ] {
            let e = check_value("AWS_SESSION_TOKEN", bad).unwrap_err();
            assert_eq!(e.code(), 6);
            assert!(e.to_string().contains(what), "{e}");
            if bad.len() > 1 {
                assert!(!e.to_string().contains(bad), "{e}");
            }
        }
        assert!(check_value("K", "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE/=").is_ok());
    }

    #[test]
    fn writes_append_create_0600_and_roll_back() {
        let dir = std::env::temp_dir().join(format!("aws-oidc-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        let vars = dir.join("vars");
        std::fs::write(&vars, "EXISTING=1\n").unwrap();
        let s = settings(&[
            ("HARNESS_OUTPUT_SECRET_FILE", secret.to_str().unwrap()),
            ("DRONE_OUTPUT", vars.to_str().unwrap()),
        ]);
        let p = plan(&s).unwrap();
        let r = render(&p, &s, &creds()).unwrap();
        let d = open(&p, &[], Mode::Open).unwrap();
        write(d, &p, &r, &mut Vec::new()).unwrap();
        assert!(std::fs::read_to_string(&secret)
            .unwrap()
            .starts_with("AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"));
        assert!(std::fs::read_to_string(&vars)
            .unwrap()
            .starts_with("EXISTING=1\nAWS_CREDENTIAL_EXPIRATION="));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // A variables file in a missing directory: refused when opening,
        // and the secret file this attempt created is removed again.
        let new_secret = dir.join("new-secret");
        let s = settings(&[
            ("HARNESS_OUTPUT_SECRET_FILE", new_secret.to_str().unwrap()),
            ("DRONE_OUTPUT", "/nonexistent/dir/vars"),
        ]);
        let e = open(&plan(&s).unwrap(), &[], Mode::Open).unwrap_err();
        assert_eq!(e.code(), 6);
        assert!(
            e.to_string().contains("/nonexistent/dir does not exist"),
            "{e}"
        );
        assert!(!new_secret.exists());
        // Stdout failing after the files were written: they are cut back.
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let s = settings(&[
            ("PLUGIN_OUTPUT_FILE", "-"),
            ("DRONE_OUTPUT", vars.to_str().unwrap()),
        ]);
        let p = plan(&s).unwrap();
        let before = std::fs::read_to_string(&vars).unwrap();
        let d = open(&p, &[], Mode::Open).unwrap();
        assert_eq!(
            write(d, &p, &render(&p, &s, &creds()).unwrap(), &mut Broken)
                .unwrap_err()
                .code(),
            6
        );
        assert_eq!(std::fs::read_to_string(&vars).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
