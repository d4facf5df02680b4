//! The destination rules (`docs/reference.md` §6.2), in one place: every
//! output file is checked and, for a run, opened before STS is asked; a
//! failed run undoes what it wrote.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::rollback::{Entry, Record};
#[cfg(windows)]
use super::windows as owner_only;
use super::{ChosenBy, Plan, Rendered, Target};
use crate::error::{io_reason, Error};
use crate::settings::Sourced;

pub use super::cache_files::CacheFiles;

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
pub(super) struct Destination {
    path: String,
    source: String,
    /// The open file; `None` under `--check`.
    file: Option<File>,
    /// The length before this run.
    len: u64,
    /// The file did not exist: this run creates it (under `--check`, would).
    new: bool,
    /// The old text does not end in a newline, so one goes first.
    needs_newline: bool,
    /// The file in the run's [`Record`], once opened: what undoing it takes.
    entry: Option<&'static Entry>,
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
        // Recorded before the write starts, so that a signal during it or
        // after it undoes it, as a failure does.
        if let Some(e) = self.entry {
            e.start();
        }
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                Error::Output(format!(
                    "cannot write {} ({}): {}; nothing was written",
                    self.source,
                    self.path,
                    io_reason(&e)
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

/// Every destination file of a plan, checked and opened before STS is
/// asked. Until [`write`] succeeds, dropping it undoes the run (see its
/// `Drop`).
#[derive(Debug)]
pub struct Destinations {
    creds: Option<Destination>,
    vars: Option<Destination>,
    /// The profiles files (credentials, then config), each with its text
    /// when checked and the sections the run changes in it.
    profiles: super::profile::Checked,
    /// What undoing the run takes, shared with a signal's handler.
    record: &'static Record,
    /// Worth a warning: a credentials file that others can read.
    pub warnings: Vec<String>,
}

/// Until the run succeeds, dropping the destinations undoes the run, from
/// the record a signal's handler undoes it from: each file appended to is
/// cut back to its old length and each file created is removed, so a failed
/// run leaves nothing behind, whichever step failed.
impl Drop for Destinations {
    fn drop(&mut self) {
        self.record.cut();
        // Closed before the removal, which Windows refuses for an open file.
        self.creds.take();
        self.vars.take();
        self.record.remove();
        #[cfg(unix)]
        super::signals::disarm(self.record);
    }
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

    /// What `--check` says about each profiles file: its path and state.
    pub fn profile_states(&self) -> Vec<String> {
        self.profiles
            .iter()
            .map(|(f, text, sections)| {
                let sections: Vec<&str> = sections.iter().map(String::as_str).collect();
                format!(
                    "{} ({}): {}",
                    f.named,
                    f.path,
                    f.state(text.expose(), &sections)
                )
            })
            .collect()
    }
}

/// Checks every destination of the plan and, in [`Mode::Open`], opens it,
/// before any request. A destination must be a regular file, reached
/// without a symlink (or Windows reparse point) at its last component,
/// owned by this user and not writable by others; a missing one is created
/// readable by this user only, with `O_EXCL`. No two destinations, and no
/// destination and input file (`inputs`: token file, CA bundle), may be the
/// same file, compared by device and inode; none may be in the cache's
/// folder (`cache`). Refusals are exit 6 and name the path.
pub fn open(
    plan: &Plan,
    inputs: &[Sourced<String>],
    cache: Option<CacheFiles>,
    mode: Mode,
) -> Result<Destinations, Error> {
    let mut seen: Vec<(String, String, bool)> = inputs
        .iter()
        .filter_map(|f| {
            // A missing input is keyed like a missing destination: a later
            // step may create it and read what this run wrote there.
            let path = Path::new(&f.value);
            let key = match std::fs::metadata(path) {
                Ok(m) => key_of(&m, path),
                Err(_) => new_key(path).ok().flatten(),
            }?;
            Some((key, format!("{} ({})", f.source, f.value), true))
        })
        .collect();
    let (cache_folder, cache_files) = cache.map(|c| c.claimed()).unwrap_or_default();
    seen.extend(cache_files);
    let in_cache = |path: &str, source: &str| {
        cache?
            .refuses(cache_folder.as_ref(), path)
            .map(|problem| Error::Output(format!("{source} ({path}) {problem}; nothing was sent")))
    };
    // Windows: stdout is not compared (`docs/reference.md` §6.4).
    #[cfg(unix)]
    if plan.creds == Target::Stdout {
        let named = format!("{} (stdout)", plan.chosen_by.name());
        let refuse = |problem: &str| Error::Output(format!("{named} {problem}; nothing was sent"));
        match stdout_file() {
            Stdout::Nowhere => return Err(refuse(
                "leads nowhere: stdout is /dev/null or was closed, and the credentials would be lost; \
                 send stdout to a pipe or a file, or name a file",
            )),
            Stdout::File(key) => {
                if let Some(problem) = same_file(&seen, &key) {
                    return Err(refuse(&problem));
                }
                seen.push((key, "stdout".into(), false));
            }
            Stdout::Stream => {}
        }
    }
    let mut d = Destinations {
        creds: None,
        vars: None,
        profiles: Vec::new(),
        record: Record::new(),
        warnings: Vec::new(),
    };
    if let Target::File(path) = &plan.creds {
        let source = plan.chosen_by.name();
        // Only `--output` can name stdout instead, so only its refusals say so.
        let stdout_ok = plan.chosen_by == ChosenBy::Output;
        if let Some(e) = in_cache(path, source) {
            return Err(e);
        }
        let (dest, warning) = open_one(path, source, stdout_ok, mode, &mut seen, d.record)?;
        d.creds = Some(dest);
        d.warnings.extend(warning);
    }
    if let Some(v) = &plan.vars {
        if let Some(e) = in_cache(&v.value, v.source.name()) {
            return Err(e);
        }
        // The variables are not secret, so others reading them is no matter.
        let vars = open_one(&v.value, v.source.name(), false, mode, &mut seen, d.record)?;
        d.vars = Some(vars.0);
    }
    if let Some(p) = &plan.profiles {
        for f in [&p.files.credentials, &p.files.config] {
            if let Some(e) = in_cache(&f.value, f.source.name()) {
                return Err(e);
            }
        }
        let (files, warnings) = super::profile::open(p, &mut seen, d.record)?;
        d.profiles = files;
        d.warnings.extend(warnings);
    }
    Ok(d)
}

/// Checks and opens one destination, with a warning when others can read
/// it. `seen` holds the files already claimed, by key: the inputs (`true`)
/// and earlier destinations. An opened file joins the run's `record`.
pub(super) fn open_one(
    path: &str,
    source: &str,
    stdout_ok: bool,
    mode: Mode,
    seen: &mut Vec<(String, String, bool)>,
    record: &'static Record,
) -> Result<(Destination, Option<String>), Error> {
    let named = format!("{source} ({path})");
    let refuse = |problem: String| Error::Output(format!("{named} {problem}; nothing was sent"));
    // Said here, once, for the run and `--check` alike: the system's own
    // words for such a name ("is a directory", "not a directory") mislead.
    if path.ends_with('/') || (cfg!(windows) && path.ends_with('\\')) {
        return Err(refuse("ends in a slash; name a file, not a folder".into()));
    }
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(refuse(format!("cannot be checked: {}", io_reason(&e)))),
    };
    let mut key = match &existing {
        Some(m) => {
            check_existing(m, path, stdout_ok).map_err(refuse)?;
            key_of(m, Path::new(path))
        }
        None => new_key(Path::new(path)).map_err(refuse)?,
    }
    .ok_or_else(|| refuse("cannot be identified".into()))?;
    if let Some(problem) = same_file(seen, &key) {
        return Err(refuse(problem));
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
        entry: None,
    };
    if mode == Mode::Inspect {
        // What the open would say, without opening: `--check` exits as
        // the run would.
        may_write(path, d.new)
            .map_err(|e| refuse(cannot(if d.new { "created" } else { "opened" }, &e)))?;
        #[cfg(windows)]
        if existing.is_some() {
            owner_only::check(&inspect_handle(path).map_err(|e| refuse(cannot("opened", &e)))?)
                .map_err(refuse)?;
        }
        seen.push((key, named.clone(), false));
        return Ok((d, warning));
    }
    let file = d.file.insert(open_or_create(path, d.new).map_err(refuse)?);
    let m = file.metadata();
    // From here on, undoing the run (a failure or a signal) removes a file
    // created here, and cuts a file appended to back to this length.
    let len = m.as_ref().map_or(0, Metadata::len);
    d.entry = Some(record.add(path, file, len, d.new));
    // The checks again, on what was opened: the name could have been
    // swapped between the look and the open.
    let m = m.map_err(|e| refuse(cannot("checked", &e)))?;
    if !d.new {
        check_existing(&m, path, stdout_ok).map_err(refuse)?;
    }
    // A created file too, on the handle it was created with.
    #[cfg(windows)]
    owner_only::check(file).map_err(refuse)?;
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
        d.needs_newline = last_byte(file).map_err(|e| refuse(cannot("read", &e)))? != b'\n';
    }
    Ok((d, warning))
}

/// Creates a missing destination, or opens an existing one for appending;
/// the error says which failed, and how.
fn open_or_create(path: &str, new: bool) -> Result<File, String> {
    match new {
        true => create_new(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                "appeared while it was being created; run again".to_string()
            }
            _ => cannot("created", &e),
        }),
        false => open_existing(path).map_err(|e| cannot("opened", &e)),
    }
}

/// The last byte of a non-empty file, so an append can start on a new line.
fn last_byte(file: &mut File) -> std::io::Result<u8> {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    Ok(last[0])
}

/// Why a destination with this key is refused, when a file in `seen`
/// (an input, `true`, or an earlier destination) has it.
fn same_file(seen: &[(String, String, bool)], key: &str) -> Option<String> {
    let (_, other, input) = seen.iter().find(|s| s.0 == key)?;
    Some(match input {
        true => format!("is the same file as {other}, which is read, never written; write the credentials to another file"),
        false => format!("is the same file as {other}; each output needs its own file (the credentials must never reach the variables file)"),
    })
}

pub(super) fn cannot(what: &str, e: &std::io::Error) -> String {
    format!(
        "cannot be {what}: {}; check the path and that this step may write there",
        io_reason(e)
    )
}

/// The rules for a destination that exists: a regular file, reached without
/// a link, owned by this user, not writable by group or others.
pub(super) fn check_existing(m: &Metadata, path: &str, stdout_ok: bool) -> Result<(), String> {
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
        let stdout = match stdout_ok {
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
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
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
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
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
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn readable_by_others(_: &Metadata, _: &str) -> Option<String> {
    None
}

/// `uid N (name)`, the name from /etc/passwd when it has one.
#[cfg(unix)]
pub(crate) fn user_name(uid: u32) -> String {
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
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn is_reparse_point(m: &Metadata) -> bool {
    use std::os::windows::fs::MetadataExt;
    const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
    m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
}

/// What stdout is, when it is the credentials destination.
#[cfg(unix)]
enum Stdout {
    /// A pipe, a terminal or a socket: nothing to compare.
    Stream,
    /// A regular file, by its key, compared like a destination.
    File(String),
    /// /dev/null, or closed at start (Rust's runtime reopens a closed
    /// stdout on /dev/null): the credentials would be lost.
    Nowhere,
}

#[cfg(unix)]
fn stdout_file() -> Stdout {
    // SAFETY: an all-zero `stat` is a valid value, and fstat only writes
    // into it; fd 1 is open (the runtime reopens it when it was closed).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; a failure leaves `st` unread.
    if unsafe { libc::fstat(1, &mut st) } != 0 {
        return Stdout::Nowhere;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Stdout::File(format!("{}:{}", st.st_dev, st.st_ino)),
        libc::S_IFCHR if st.st_rdev == libc::makedev(1, 3) => Stdout::Nowhere,
        _ => Stdout::Stream,
    }
}

/// Which file a name is, so that two names for one file are caught: device
/// and inode on Unix; on Windows the full path with links resolved.
#[cfg(unix)]
pub(super) fn key_of(m: &Metadata, _: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    Some(format!("{}:{}", m.dev(), m.ino()))
}

#[cfg(windows)]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
pub(super) fn key_of(_: &Metadata, path: &Path) -> Option<String> {
    let full = std::fs::canonicalize(path).ok()?;
    Some(full.to_string_lossy().to_lowercase())
}

/// The directory a file is (or would be) in.
pub(super) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether this process may create the file (write and search its
/// directory) or append to it, by its effective ids, read-only file systems
/// included.
#[cfg(unix)]
pub(super) fn may_write(path: &str, new: bool) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let (target, how) = match new {
        true => (dir_of(Path::new(path)).as_os_str(), libc::W_OK | libc::X_OK),
        false => (Path::new(path).as_os_str(), libc::W_OK),
    };
    let c = std::ffi::CString::new(target.as_bytes())?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call, and
    // faccessat only reads it.
    match unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), how, libc::AT_EACCESS) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// On Windows the access list is judged on the handle instead.
#[cfg(not(unix))]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
pub(super) fn may_write(_: &str, _: bool) -> std::io::Result<()> {
    Ok(())
}

/// The key of a file not there yet: its directory's key and its name. A
/// missing directory is refused here, before any request.
fn new_key(path: &Path) -> Result<Option<String>, String> {
    let dir = dir_of(path);
    let shown = dir.display();
    let m = std::fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("cannot be created: the directory {shown} does not exist; create it first or choose another path")
        }
        _ => format!("cannot be created: {shown}: {}", io_reason(&e)),
    })?;
    if !m.is_dir() {
        return Err(format!("cannot be created: {shown} is not a directory"));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
    // Windows names are case-insensitive, as `key_of`'s are there.
    #[cfg(windows)]
    let name = name.map(|n| n.to_lowercase());
    Ok(key_of(&m, dir).zip(name).map(|(k, n)| format!("{k}/{n}")))
}

/// Creates a file that must not exist yet (`O_EXCL`, so no link is
/// followed), readable and writable by this user only: mode 0600 on Unix;
/// on Windows a protected DACL that grants access to the file's owner alone
/// ([`owner_only::create_new`], which keeps the handle it created).
#[cfg(unix)]
pub(super) fn create_new(path: &str) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(path)
}

#[cfg(windows)]
pub(super) use owner_only::create_new;

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
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
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
    // Last of the files: each is replaced whole, so a failure puts back
    // the ones replaced before it, and the appends are cut off on drop.
    let overwrite = plan.profiles.as_ref().is_some_and(|p| p.overwrite);
    let mut replaced = Vec::new();
    for (i, (file, _, _)) in dest.profiles.iter().enumerate() {
        // The config file's keys are never long-lived ones.
        match file.write(&r.profile_edits[i], overwrite || i == 1) {
            Ok(old) => replaced.push((file, old)),
            Err(e) => {
                for (file, old) in replaced {
                    if let Some(old) = old {
                        file.restore(&old);
                    }
                }
                return Err(e);
            }
        }
    }
    if plan.creds == Target::Stdout {
        stdout
            .write_all(r.creds.expose().as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| {
                Error::Output(format!(
                    "cannot write the credentials to stdout: {}; nothing was written",
                    crate::error::io_reason(&e)
                ))
            })?;
    }
    dest.record.keep();
    Ok(())
}
