//! Profiles in the shared credentials and config files
//! (`docs/reference.md` §16.2): [`merge`] is pure (old text, section and
//! keys in, new text out) and changes only that section; [`ProfileFile`]
//! checks a file as every destination is checked (§6.2) before STS is
//! asked, and writes it under a lock, through a temporary file that is
//! synced and renamed over it.
//!
//! Lines are read as botocore's `configparser` reads them: `[NAME]` starts
//! a section; a line starting `#` or `;` (after blanks) is a comment; an
//! indented line after a key continues that key's value; other lines are
//! `key = value` or `key: value`, the key compared without case.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{destinations, ProfilePlan};
use crate::error::{io_reason, Error};
use crate::secret::Secret;

/// The keys of a set of credentials in the shared credentials file.
pub const KEY_NAMES: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// What no profile of ours keeps: the keys, and the session token's old
/// name, which botocore still reads.
pub const OWN_KEYS: [&str; 4] = [
    KEY_NAMES[0],
    KEY_NAMES[1],
    KEY_NAMES[2],
    "aws_security_token",
];

/// The largest file merged: profiles files are a few KB.
const LIMIT: u64 = 4 << 20;

/// How long a run waits for another that is writing the same file.
const PATIENCE: Duration = Duration::from_secs(10);

/// One change to one section: keys set (in this order, each replacing
/// every line it had), keys removed, everything else kept. A section that
/// is left without any key is removed.
#[derive(Debug)]
pub struct Edit {
    /// The section's name, without brackets: `ci`, `profile ci`, `default`.
    pub section: String,
    /// Keys and values to write.
    pub set: Vec<(&'static str, Secret)>,
    /// Keys to remove.
    pub remove: &'static [&'static str],
}

/// The section that holds profile `name`: `[name]` in the credentials
/// file; in the config file `[profile name]`, but `[default]` as is.
pub fn section(name: &str, config: bool) -> String {
    match config && name != "default" {
        true => format!("profile {name}"),
        false => name.to_string(),
    }
}

/// What a line is, as the readers see it.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `[NAME]`, its name with blanks inside made single.
    Header(String),
    /// `key = value`, the key lower-cased.
    Key(String),
    /// An indented line after a key: more of its value.
    More,
    /// A comment or a blank line.
    Other,
}

/// Each line of `text` (with its line ending) and what it is.
fn lines(text: &str) -> Vec<(&str, Kind)> {
    let mut out = Vec::new();
    let mut in_key = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let kind = if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            Kind::Other
        } else if in_key && line.starts_with([' ', '\t']) {
            Kind::More
        } else if t.starts_with('[') && t.ends_with(']') {
            let name: Vec<&str> = t[1..t.len() - 1].split_whitespace().collect();
            Kind::Header(name.join(" "))
        } else {
            let key = t.split(['=', ':']).next().unwrap_or(t);
            Kind::Key(key.trim().to_ascii_lowercase())
        };
        in_key = match kind {
            Kind::Key(_) | Kind::More => true,
            Kind::Header(_) => false,
            // A blank line or comment does not end a value, as configparser reads it.
            Kind::Other => in_key,
        };
        out.push((line, kind));
    }
    out
}

/// Where section `name` is: the index of its header line and of the line
/// after its last; `Err` when it is there more than once, which botocore
/// refuses to read at all.
fn find(all: &[(&str, Kind)], name: &str) -> Result<Option<(usize, usize)>, String> {
    let headers: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].1 == Kind::Header(name.to_string()))
        .collect();
    match headers[..] {
        [] => Ok(None),
        [at] => {
            let end = (at + 1..all.len())
                .find(|&j| matches!(all[j].1, Kind::Header(_)))
                .unwrap_or(all.len());
            Ok(Some((at, end)))
        }
        _ => Err(format!(
            "holds [{name}] {} times, which the AWS SDKs refuse to read; remove all but one",
            headers.len()
        )),
    }
}

/// The keys section `name` holds, lower-cased; `None` without it.
pub fn keys(text: &str, name: &str) -> Result<Option<Vec<String>>, String> {
    let all = lines(text);
    Ok(find(&all, name)?.map(|(at, end)| {
        all[at + 1..end]
            .iter()
            .filter_map(|(_, k)| match k {
                Kind::Key(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }))
}

/// Why section `name` may not be replaced without `--overwrite-profile`:
/// it holds long-lived keys, a key id or secret without a session token.
pub fn long_lived(text: &str, name: &str) -> Result<Option<String>, String> {
    let Some(keys) = keys(text, name)? else {
        return Ok(None);
    };
    let has = |k: &str| keys.iter().any(|have| have == k);
    let key = KEY_NAMES[..2].iter().find(|k| has(k));
    match key {
        Some(k) if !has(KEY_NAMES[2]) && !has(OWN_KEYS[3]) => Ok(Some(format!(
            "[{name}] holds long-lived keys ({k} without aws_session_token), which would be lost"
        ))),
        _ => Ok(None),
    }
}

/// Whether the run changes a profiles file holding `text`, judged before
/// the request: the credentials file unless the profiles are refreshable
/// (then only when a section has keys to remove), the config file when a
/// region or `credential_process` is written or a section holds an old
/// `credential_process` to remove. A file left alone is not checked,
/// locked or written: a `~/.aws/config` that is a link stays usable.
pub fn touched(
    text: &str,
    sections: &[String],
    config: bool,
    region: bool,
    refreshable: bool,
) -> bool {
    let holds = |wanted: &[&str]| {
        sections.iter().any(|s| {
            keys(text, s)
                .ok()
                .flatten()
                .is_some_and(|k| k.iter().any(|k| wanted.contains(&k.as_str())))
        })
    };
    match config {
        false => !refreshable || holds(&OWN_KEYS),
        true => region || refreshable || holds(&["credential_process"]),
    }
}

/// `old` with `edit` made: every line outside its section as it was, and
/// in it every line but the keys set or removed (comments and other keys
/// stay where they are). A key set that was there takes the place of its
/// first line; a new one goes after the section's last key; a missing
/// section goes at the end, after a blank line. New lines end as the
/// file's do (`\r\n` when it has any).
pub fn merge(old: &str, edit: &Edit) -> Result<String, String> {
    let eol = match old.contains("\r\n") {
        true => "\r\n",
        false => "\n",
    };
    let key_line = |k: &str, v: &Secret| format!("{k} = {}{eol}", v.expose());
    let all = lines(old);
    let Some((at, end)) = find(&all, &edit.section)? else {
        if edit.set.is_empty() {
            return Ok(old.to_string());
        }
        let mut out = old.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        if !out.is_empty() && !out.ends_with(&format!("{eol}{eol}")) && out != eol {
            out.push_str(eol);
        }
        out.push_str(&format!("[{}]{eol}", edit.section));
        for (k, v) in &edit.set {
            out.push_str(&key_line(k, v));
        }
        return Ok(out);
    };
    let mut body: Vec<String> = Vec::new();
    let mut written: Vec<&str> = Vec::new();
    let (mut keep, mut last_key) = (true, None);
    for (line, kind) in &all[at + 1..end] {
        match kind {
            Kind::Key(k) => {
                let set = edit.set.iter().find(|(name, _)| name == k);
                keep = set.is_none() && !edit.remove.contains(&k.as_str());
                match set {
                    Some((name, v)) if !written.contains(name) => {
                        written.push(name);
                        body.push(key_line(name, v));
                        last_key = Some(body.len());
                    }
                    _ if keep => {
                        body.push(line.to_string());
                        last_key = Some(body.len());
                    }
                    _ => {}
                }
            }
            Kind::More if keep => {
                body.push(line.to_string());
                last_key = Some(body.len());
            }
            Kind::More => {}
            _ => body.push(line.to_string()),
        }
    }
    let new: Vec<String> = edit
        .set
        .iter()
        .filter(|(k, _)| !written.contains(k))
        .map(|(k, v)| key_line(k, v))
        .collect();
    let mut header = all[at].0.to_string();
    if !header.ends_with('\n') && (!new.is_empty() || !body.is_empty()) {
        header.push_str(eol);
    }
    let insert = last_key.unwrap_or(0);
    if !new.is_empty() && insert > 0 && !body[insert - 1].ends_with('\n') {
        body[insert - 1].push_str(eol);
    }
    body.splice(insert..insert, new);
    let before: String = all[..at].iter().map(|(l, _)| *l).collect();
    let after: String = all[end..].iter().map(|(l, _)| *l).collect();
    // A section left without keys goes, with whatever it held.
    let section = match last_key.is_some() || !edit.set.is_empty() {
        true => header + &body.concat(),
        false => String::new(),
    };
    Ok(before + &section + &after)
}

/// One of the two profiles files, checked before STS is asked.
#[derive(Debug)]
pub struct ProfileFile {
    /// The path.
    pub path: String,
    /// How messages name it: `the shared credentials file (from HOME)`.
    pub named: String,
    /// Its folder may be made (the default `~/.aws`).
    pub make_folder: bool,
}

impl ProfileFile {
    /// Refuses, as every destination refusal is, with what to do.
    fn refuse(&self, problem: &str, after: bool) -> Error {
        let tail = match after {
            true => "nothing was written",
            false => "nothing was sent",
        };
        Error::Output(format!("{} ({}) {problem}; {tail}", self.named, self.path))
    }

    /// The file's text, `""` when it is not there; refused when it is not
    /// UTF-8 or too large to be a profiles file.
    pub fn read(&self, after: bool) -> Result<String, Error> {
        let mut o = OpenOptions::new();
        o.read(true);
        // A FIFO slipped in must not block the run.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NONBLOCK | libc::O_NOCTTY);
        let file = match o.open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(e) => return Err(self.refuse(&format!("cannot be read: {}", io_reason(&e)), after)),
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(self.refuse("is not a regular file; name a regular file", after));
        }
        let mut bytes = Vec::new();
        file.take(LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.refuse(&format!("cannot be read: {}", io_reason(&e)), after))?;
        if bytes.len() as u64 > LIMIT {
            return Err(self.refuse(
                "is over 4 MiB, which no profiles file is; name another file",
                after,
            ));
        }
        String::from_utf8(bytes).map_err(|_| {
            self.refuse(
                "is not UTF-8, so it cannot be merged without changing it; save it as UTF-8",
                after,
            )
        })
    }

    /// Checks that every edit can be made to `text`: no section twice, and
    /// no long-lived keys replaced unless `overwrite`.
    pub fn check(
        &self,
        text: &str,
        edits: &[&str],
        overwrite: bool,
        after: bool,
    ) -> Result<(), Error> {
        for name in edits {
            let lost = long_lived(text, name).map_err(|p| self.refuse(&p, after))?;
            if let Some(why) = lost.filter(|_| !overwrite) {
                return Err(self.refuse(
                    &format!("{why}; set --overwrite-profile / PLUGIN_OVERWRITE_PROFILE to replace them, or choose another profile name"),
                    after,
                ));
            }
        }
        Ok(())
    }

    /// What `--check` says of the file.
    pub fn state(&self, text: &str, edits: &[&str]) -> String {
        let missing = !Path::new(&self.path).exists();
        let each: Vec<String> = edits
            .iter()
            .map(|s| match keys(text, s) {
                Ok(Some(_)) => format!("[{s}] would be replaced"),
                _ => format!("[{s}] would be added"),
            })
            .collect();
        match missing {
            true => format!(
                "missing, would be created readable by this user only; {}",
                each.join(", ")
            ),
            false => format!("exists; {}", each.join(", ")),
        }
    }

    /// Makes the edits under the file's lock: read again, checked again,
    /// merged, and written through a temporary file that is synced and
    /// renamed over it (its folder synced too). Nothing is written when
    /// nothing changes. Returns the old text, for [`ProfileFile::restore`].
    pub fn write(&self, edits: &[Edit], overwrite: bool) -> Result<Option<String>, Error> {
        let merged = |old: &str| -> Result<String, Error> {
            let mut new = old.to_string();
            for e in edits {
                new = merge(&new, e).map_err(|p| self.refuse(&p, true))?;
            }
            Ok(new)
        };
        // A file the edits leave as it is is not touched, nor locked.
        let old = self.read(true)?;
        if merged(&old)? == old {
            return Ok(None);
        }
        if self.make_folder {
            make_folder(&self.path)
                .map_err(|e| self.refuse(&format!("cannot be made: {}", io_reason(&e)), true))?;
        }
        let _lock = self.lock()?;
        check_again(&self.path).map_err(|p| self.refuse(&p, true))?;
        let old = self.read(true)?;
        let names: Vec<&str> = edits.iter().map(|e| e.section.as_str()).collect();
        self.check(&old, &names, overwrite, true)?;
        let new = merged(&old)?;
        if new == old {
            return Ok(None);
        }
        self.replace(&new)
            .map_err(|e| self.refuse(&format!("cannot be written: {}", io_reason(&e)), true))?;
        Ok(Some(old))
    }

    /// Puts the old text back after a later file failed (best effort: the
    /// error that failed the run is the one to report).
    pub fn restore(&self, old: &str) {
        let _lock = self.lock();
        let _ = match old.is_empty() {
            true => std::fs::remove_file(&self.path),
            false => self.replace(old),
        };
    }

    /// The file's lock, `FILE.lock` beside it (empty, left in place), taken
    /// with the operating system's file lock, waiting for another run for
    /// at most [`PATIENCE`].
    fn lock(&self) -> Result<File, Error> {
        let path = format!("{}.lock", self.path);
        let file = open_lock(&path).map_err(|p| {
            self.refuse(&format!("cannot be locked: its lock file {path} {p}"), true)
        })?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(self.refuse(
                        &format!(
                            "is locked by another run for over {}s (its lock file {path})",
                            PATIENCE.as_secs()
                        ),
                        true,
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(self.refuse(&format!("cannot be locked: {}", io_reason(&e)), true))
                }
            }
        }
    }

    /// Writes `text` to `FILE.aws-oidc.PID.tmp` (made readable by this
    /// user only), syncs it, gives it the old file's mode, renames it over
    /// the file and syncs the folder.
    fn replace(&self, text: &str) -> std::io::Result<()> {
        let tmp = format!("{}.aws-oidc.{}.tmp", self.path, std::process::id());
        let _ = std::fs::remove_file(&tmp);
        // It holds credentials: a signal while it exists removes it.
        #[cfg(unix)]
        let folder = File::open(destinations::dir_of(Path::new(&self.path)))?;
        #[cfg(unix)]
        let _on_signal = {
            use std::os::fd::AsRawFd;
            let name = Path::new(&tmp)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            super::signals::remove_on_signal(folder.as_raw_fd(), &name.unwrap_or_default())
        };
        let mut file = destinations::create_new(&tmp)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| keep_mode(&file, &self.path))
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        sync_folder(&self.path)
    }
}

/// The old file's permissions on the new one (a 0644 config stays 0644);
/// a new file keeps its 0600.
#[cfg(unix)]
fn keep_mode(file: &File, path: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) => file.set_permissions(std::fs::Permissions::from_mode(
            m.permissions().mode() & 0o755,
        )),
        Err(_) => Ok(()),
    }
}

/// Windows: the new file has its owner-only access list.
#[cfg(not(unix))]
fn keep_mode(_: &File, _: &str) -> std::io::Result<()> {
    Ok(())
}

/// Syncs the folder a file was renamed into, so the rename survives a crash.
#[cfg(unix)]
fn sync_folder(path: &str) -> std::io::Result<()> {
    let dir = destinations::dir_of(Path::new(path));
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_: &str) -> std::io::Result<()> {
    Ok(())
}

/// Makes the default folder (`~/.aws`) when missing, 0700.
fn make_folder(path: &str) -> std::io::Result<()> {
    let dir = destinations::dir_of(Path::new(path));
    #[cfg(unix)]
    let made =
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(dir);
    #[cfg(not(unix))]
    let made = std::fs::DirBuilder::new().create(dir);
    match made {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Each profiles file checked, with its text then and the sections the
/// run changes in it.
pub(super) type Checked = Vec<(ProfileFile, Secret, Vec<String>)>;

/// Checks both profiles files as every destination is checked, without
/// opening either for writing (each is replaced whole, later, under its
/// lock), and that the run's edits can be made to each: no section twice,
/// no long-lived keys replaced unless allowed (`docs/reference.md` §16.2).
pub(super) fn open(
    p: &ProfilePlan,
    seen: &mut Vec<(String, String, bool)>,
    record: &'static super::rollback::Record,
) -> Result<(Checked, Vec<String>), Error> {
    let (mut checked, mut warnings) = (Vec::new(), Vec::new());
    let files = [
        (&p.files.credentials, "the shared credentials file", false),
        (&p.files.config, "the config file", true),
    ];
    for (f, what, config) in files {
        let file = ProfileFile {
            path: f.value.clone(),
            named: format!("{what} (from {})", f.source),
            make_folder: p.files.default_folder,
        };
        let sections: Vec<String> = p.names.iter().map(|n| section(n, config)).collect();
        // Read through a link, if it is one: only a file the run changes
        // is held to the destination rules.
        let text = file.read(false)?;
        let region = p.region.is_some();
        if !touched(&text, &sections, config, region, p.refreshable) {
            checked.push((file, Secret::new(text), sections));
            continue;
        }
        let folder_missing = !destinations::dir_of(Path::new(&file.path)).exists();
        if !(file.make_folder && folder_missing) {
            let (_, warning) = destinations::open_one(
                &file.path,
                &file.named,
                false,
                destinations::Mode::Inspect,
                seen,
                record,
            )?;
            // Replaced by a rename: its folder must take a new file.
            destinations::may_write(&file.path, true).map_err(|e| {
                Error::Output(format!(
                    "{} ({}) {}; nothing was sent",
                    file.named,
                    file.path,
                    destinations::cannot("replaced", &e)
                ))
            })?;
            warnings.extend(warning.filter(|_| !config));
        }
        let names: Vec<&str> = sections.iter().map(String::as_str).collect();
        // The config file's keys are never long-lived ones.
        file.check(&text, &names, p.overwrite || config, false)?;
        checked.push((file, Secret::new(text), sections));
    }
    Ok((checked, warnings))
}

/// The destination rules again, on a profiles file about to be replaced:
/// another run, or the user, may have changed it since it was checked.
fn check_again(path: &str) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => destinations::check_existing(&m, path, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot be checked: {}", io_reason(&e))),
    }
}

/// Opens (made when missing, 0600) a lock file, never through a link or
/// onto anything but a regular file of this user's that others cannot
/// write.
fn open_lock(path: &str) -> Result<File, String> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        o.custom_flags(super::windows::FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = o
        .open(path)
        .map_err(|e| destinations::cannot("opened", &e))?;
    let m = file
        .metadata()
        .map_err(|e| destinations::cannot("checked", &e))?;
    destinations::check_existing(&m, path, false)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(section: &str, set: &[(&'static str, &str)], remove: &'static [&'static str]) -> Edit {
        Edit {
            section: section.into(),
            set: set.iter().map(|(k, v)| (*k, Secret::new(*v))).collect(),
            remove,
        }
    }

    fn keys3(v: &str) -> Edit {
        edit(
            "ci",
            &[(KEY_NAMES[0], v), (KEY_NAMES[1], "s"), (KEY_NAMES[2], "t")],
            &OWN_KEYS,
        )
    }

    /// `(old, edit, new)`.
    fn check(old: &str, e: &Edit, new: &str) {
        assert_eq!(merge(old, e).unwrap(), new, "from {old:?}");
    }

    #[test]
    fn a_missing_section_goes_at_the_end() {
        let new = "[ci]\naws_access_key_id = K\naws_secret_access_key = s\naws_session_token = t\n";
        check("", &keys3("K"), new);
        check("[a]\nx = 1\n", &keys3("K"), &format!("[a]\nx = 1\n\n{new}"));
        check("[a]\nx = 1", &keys3("K"), &format!("[a]\nx = 1\n\n{new}"));
        check(
            "[a]\nx = 1\n\n",
            &keys3("K"),
            &format!("[a]\nx = 1\n\n{new}"),
        );
        check(
            "# only a comment\n",
            &keys3("K"),
            &format!("# only a comment\n\n{new}"),
        );
        // Nothing to set and no section: nothing changes.
        check("[a]\n", &edit("ci", &[], &OWN_KEYS), "[a]\n");
    }

    #[test]
    fn a_section_is_replaced_key_by_key_and_nothing_else_moves() {
        let old = "# top\n[a]\nx=1\n\n[ci]\n; mine\nregion = eu-west-1\nAWS_ACCESS_KEY_ID=old\n  more of it\naws_session_token: old\naws_access_key_id = dup\naws_security_token = old\n\n[b]\ny = 2";
        let new = "# top\n[a]\nx=1\n\n[ci]\n; mine\nregion = eu-west-1\naws_access_key_id = K\naws_session_token = t\naws_secret_access_key = s\n\n[b]\ny = 2";
        check(old, &keys3("K"), new);
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let old = "[a]\r\nx = 1\r\n";
        check(
            old,
            &edit("ci", &[("region", "r")], &[]),
            "[a]\r\nx = 1\r\n\r\n[ci]\r\nregion = r\r\n",
        );
        check(
            "[ci]\r\nregion = old\r\n",
            &edit("ci", &[("region", "new")], &[]),
            "[ci]\r\nregion = new\r\n",
        );
    }

    #[test]
    fn removing_every_key_removes_the_section() {
        let old = "[a]\nx = 1\n\n[ci]\n# old keys\naws_access_key_id = K\naws_secret_access_key = s\naws_session_token = t\n\n[b]\n";
        check(old, &edit("ci", &[], &OWN_KEYS), "[a]\nx = 1\n\n[b]\n");
        // Another key keeps it.
        check(
            "[ci]\noutput = json\naws_access_key_id = K\n",
            &edit("ci", &[], &OWN_KEYS),
            "[ci]\noutput = json\n",
        );
    }

    #[test]
    fn headers_are_read_as_the_sdks_read_them() {
        check(
            "[ profile   dev ]\nregion = a\n",
            &edit("profile dev", &[("region", "b")], &[]),
            "[ profile   dev ]\nregion = b\n",
        );
        // A new key goes after the last key, before trailing blank lines.
        check(
            "[ci]\nregion = a\n\n\n[next]\n",
            &edit("ci", &[("credential_process", "/bin/x --y")], &[]),
            "[ci]\nregion = a\ncredential_process = /bin/x --y\n\n\n[next]\n",
        );
        // A header with no key under it and no newline.
        check(
            "[ci]",
            &edit("ci", &[("region", "r")], &[]),
            "[ci]\nregion = r\n",
        );
        assert_eq!(section("ci", true), "profile ci");
        assert_eq!(section("default", true), "default");
        assert_eq!(section("ci", false), "ci");
    }

    #[test]
    fn a_section_twice_is_refused() {
        let e = merge("[ci]\n[x]\n[ci]\n", &keys3("K")).unwrap_err();
        assert_eq!(
            e,
            "holds [ci] 2 times, which the AWS SDKs refuse to read; remove all but one"
        );
    }

    #[test]
    fn long_lived_keys_are_found() {
        let t = "[static]\naws_access_key_id = A\naws_secret_access_key = B\n[temp]\naws_access_key_id = A\naws_session_token = C\n[old]\naws_secret_access_key = B\naws_security_token = C\n[other]\nregion = x\n";
        assert!(long_lived(t, "static")
            .unwrap()
            .unwrap()
            .contains("aws_access_key_id without aws_session_token"));
        for ok in ["temp", "old", "other", "missing"] {
            assert_eq!(long_lived(t, ok).unwrap(), None, "{ok}");
        }
    }
}
