//! The cache folder on disk (`docs/reference.md` §13.3): made as `mkdir -p`
//! would, the last component 0700; refused when it is a link or another
//! user's; tightened to 0700 when it is this user's but open to others.
//! On Unix every entry is reached through the folder's open descriptor
//! (`openat`, `renameat`) without following a link, so the folder cannot
//! be swapped for another after it was checked. Entries are written to a
//! temporary file (`O_EXCL`), synced, and renamed over the old one.

use std::fs::File;
use std::io::{self, Read, Write};

/// Why a folder or an entry cannot be used, as a fragment after its name.
type Problem = String;

/// The open, checked cache folder.
pub struct Folder {
    #[cfg(unix)]
    dir: File,
    #[cfg(windows)]
    path: std::path::PathBuf,
}

/// Makes the folder's missing parents, as `mkdir -p` does, and the folder
/// itself readable by this user only.
fn make(path: &str) -> io::Result<()> {
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // Only Unix sets a mode here; Windows' folder inherits its parent's list.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    match b.create(path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

fn cannot(what: &str, e: &io::Error) -> Problem {
    format!(
        "cannot be {what}: {}; set --cache-dir / PLUGIN_CACHE_DIR to a folder this user may write",
        crate::error::io_reason(e)
    )
}

const NOT_FOLDER: &str = "is not a folder; set --cache-dir / PLUGIN_CACHE_DIR to a folder";

const NOT_REGULAR: &str = "is not a regular file";

const LINK: &str = "is a symbolic link, which is never followed for the cache; \
                    remove the link or set --cache-dir / PLUGIN_CACHE_DIR to the folder itself";

/// An entry read whole, at most `limit` bytes: `None` when there is none,
/// and why it is ignored when it is not a plain UTF-8 file of this user's.
fn read_whole(mut file: File, limit: u64) -> Result<Option<String>, &'static str> {
    let mut text = String::new();
    match (&mut file).take(limit + 1).read_to_string(&mut text) {
        Ok(n) if n as u64 > limit => Err("is larger than an entry can be"),
        Ok(_) => Ok(Some(text)),
        Err(_) => Err("cannot be read as UTF-8 text"),
    }
}

/// Whether `name` is one of the cache's own files: an entry, a lock, or
/// an entry's temporary file.
fn ours(name: &std::ffi::OsStr) -> bool {
    let name = name.to_str().unwrap_or_default();
    name.ends_with(".json")
        || name.ends_with(".lock")
        || (name.ends_with(".tmp") && name.contains(".json."))
}

/// Why a folder the cache would share with others (`/tmp`, a home) is
/// refused: tightening it would lock them out, and its other files are not
/// the cache's to judge.
fn shared(path: &str, what: &str) -> Problem {
    format!(
        "is a shared folder ({what}); give the cache a folder of its own, such as {}",
        std::path::Path::new(path).join("aws-oidc").display()
    )
}

/// Refuses a folder (`path`, as messages name it) whose `names` hold
/// anything but the cache's own files.
fn not_shared(path: &str, names: &[std::ffi::OsString]) -> Result<(), Problem> {
    match names.iter().find(|n| !ours(n)) {
        Some(n) => Err(shared(
            path,
            &format!("it holds other files, such as {}", n.to_string_lossy()),
        )),
        None => Ok(()),
    }
}

/// The name of an entry's temporary file, written by process `pid`.
fn temp_name(name: &str, pid: u32) -> String {
    format!("{name}.{pid}.tmp")
}

/// The process that wrote `file`, when it is a temporary file of the
/// entry `name` (`temp_name`). Windows judges none (§13.3).
#[cfg_attr(windows, allow(dead_code))]
fn temp_writer(file: &str, name: &str) -> Option<u32> {
    let pid = file
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    match pid.bytes().all(|b| b.is_ascii_digit()) {
        true => pid.parse().ok(),
        false => None,
    }
}

/// The names in the open folder `dir`, read from that descriptor (never
/// its path again: the path could lead elsewhere by now).
#[cfg(unix)]
fn listing(dir: &File) -> io::Result<Vec<std::ffi::OsString>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    // "." from the descriptor is the folder itself, opened anew so that
    // reading it moves no offset of the folder's own descriptor.
    // SAFETY: the literal is NUL-terminated; the folder's descriptor is
    // open while `dir` lives.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it; fdopendir
    // takes it over, and closedir below releases both.
    let stream = unsafe { libc::fdopendir(fd) };
    if stream.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `fd` is still ours to close.
        drop(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        return Err(e);
    }
    let mut names = Vec::new();
    loop {
        // SAFETY: `stream` is an open directory stream until closedir.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            break;
        }
        // SAFETY: readdir returned an entry whose `d_name` is a
        // NUL-terminated name, valid until the next readdir.
        let name = unsafe { std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(std::ffi::OsStr::from_bytes(name).to_owned());
        }
    }
    // SAFETY: `stream` is open, and is not used after this.
    unsafe { libc::closedir(stream) };
    Ok(names)
}

#[cfg(unix)]
impl Folder {
    /// Makes or opens the folder and checks it; the old mode when it was
    /// tightened to 0700.
    pub fn open(path: &str) -> Result<(Folder, Option<u32>), Problem> {
        use std::os::unix::fs::PermissionsExt;
        make(path).map_err(|e| cannot("created", &e))?;
        let dir = open_dir(path)?;
        let tightened = judge(path, &dir)?;
        if tightened.is_some() {
            dir.set_permissions(std::fs::Permissions::from_mode(0o700))
                .map_err(|e| cannot("made private (chmod 0700)", &e))?;
        }
        Ok((Folder { dir }, tightened))
    }

    /// The checks of [`Folder::open`], making and changing nothing: `None`
    /// when the folder is missing (a run makes it), else the mode a run
    /// would tighten to 0700.
    pub fn inspect(path: &str) -> Result<Option<Option<u32>>, Problem> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(cannot("checked", &e)),
            Ok(_) => judge(path, &open_dir(path)?).map(Some),
        }
    }

    /// Removes the temporary files of the entry `name` whose writers are
    /// dead (a run killed between writing and renaming one): they hold
    /// credentials. A live writer's is left alone, and so is one whose
    /// writer cannot be told dead (another user's process).
    pub fn remove_dead_temps(&self, name: &str) {
        let me = std::process::id();
        let names = listing(&self.dir).unwrap_or_default();
        for file in names.iter().filter_map(|n| n.to_str()) {
            // Only a single process's id: kill(0) and negative ids ask
            // about groups.
            let pid = temp_writer(file, name)
                .filter(|p| *p != me)
                .and_then(|p| libc::pid_t::try_from(p).ok())
                .filter(|p| *p > 0);
            let Some(pid) = pid else { continue };
            // SAFETY: kill with signal 0 sends nothing; it only asks
            // whether the process exists.
            let gone = unsafe { libc::kill(pid, 0) } != 0
                && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if gone {
                let _ = self.remove(file);
            }
        }
    }

    /// Opens `name` in the folder, never following a link there.
    fn at(&self, name: &str, flags: libc::c_int) -> io::Result<File> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let c = std::ffi::CString::new(name)?;
        let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY;
        // SAFETY: `c` is NUL-terminated and outlives the call; the folder's
        // descriptor is open while `self` lives.
        let fd = unsafe {
            libc::openat(
                self.dir.as_raw_fd(),
                c.as_ptr(),
                flags,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and nothing else owns it.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Opens the lock file `name`, made when missing; why not when it is
    /// not a regular file of this user's (a FIFO would block, another
    /// user's could be held by them for ever).
    pub fn lock_file(&self, name: &str) -> Result<File, Problem> {
        use std::os::unix::fs::MetadataExt;
        let file = self
            .at(name, libc::O_RDWR | libc::O_CREAT | libc::O_NONBLOCK)
            .map_err(|e| match e.raw_os_error() {
                // O_NOFOLLOW's refusal reads "symbolic link loop".
                Some(libc::ELOOP) => "is a symbolic link".to_string(),
                Some(libc::EISDIR) => NOT_REGULAR.to_string(),
                _ => format!("cannot be opened ({})", crate::error::io_reason(&e)),
            })?;
        let m = file
            .metadata()
            .map_err(|e| format!("cannot be checked ({})", crate::error::io_reason(&e)))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        match (m.is_file(), m.uid()) {
            (false, _) => Err(NOT_REGULAR.into()),
            (true, uid) if uid != me => {
                Err(format!("belongs to {}", crate::output::user_name(uid)))
            }
            _ => Ok(file),
        }
    }

    /// The entry's text, `None` when there is none, or why it is ignored.
    pub fn read(&self, name: &str, limit: u64) -> Result<Option<String>, &'static str> {
        use std::os::unix::fs::MetadataExt;
        let file = match self.at(name, libc::O_RDONLY | libc::O_NONBLOCK) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err("is a symbolic link, which is not followed")
            }
            Err(_) => return Err("cannot be opened"),
        };
        let m = file.metadata().map_err(|_| "cannot be checked")?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if !m.is_file() || m.uid() != unsafe { libc::geteuid() } {
            return Err("is not a regular file of this user's");
        }
        read_whole(file, limit)
    }

    /// Removes the entry `name` (a link there, not what it points to).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let c = std::ffi::CString::new(name)?;
        // SAFETY: `c` is NUL-terminated and outlives the call; the folder's
        // descriptor is open while `self` lives.
        match unsafe { libc::unlinkat(self.dir.as_raw_fd(), c.as_ptr(), 0) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Replaces the entry: a new temporary file (0600, `O_EXCL`), written
    /// and synced, renamed over `name`, and the folder synced.
    pub fn replace(&self, name: &str, text: &str) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // Per process: a run that could not take the lock cannot take
        // another's temporary file.
        let tmp = temp_name(name, std::process::id());
        let c_tmp = std::ffi::CString::new(tmp.as_str())?;
        let c_name = std::ffi::CString::new(name)?;
        let fd = self.dir.as_raw_fd();
        // A leftover of a run that died here with this process id, which
        // no live run is writing.
        // SAFETY: `c_tmp` is NUL-terminated and outlives the call.
        unsafe { libc::unlinkat(fd, c_tmp.as_ptr(), 0) };
        // It holds credentials: a signal while it exists removes it.
        let _on_signal = crate::output::remove_on_signal(fd, &tmp);
        let written = self
            .at(&tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| {
                // SAFETY: both names are NUL-terminated and outlive the call;
                // renameat replaces a link at `name` without following it.
                match unsafe { libc::renameat(fd, c_tmp.as_ptr(), fd, c_name.as_ptr()) } {
                    0 => Ok(()),
                    _ => Err(io::Error::last_os_error()),
                }
            });
        if written.is_err() {
            // SAFETY: as above.
            unsafe { libc::unlinkat(fd, c_tmp.as_ptr(), 0) };
        }
        written?;
        self.dir.sync_all()
    }
}

/// Opens the folder at `path` itself, never a link there.
#[cfg(unix)]
fn open_dir(path: &str) -> Result<File, Problem> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match std::fs::symlink_metadata(path) {
            // Linux says ENOTDIR, not ELOOP, for a link under O_DIRECTORY.
            Ok(m) if m.file_type().is_symlink() => LINK.to_string(),
            Ok(m) if !m.is_dir() => NOT_FOLDER.into(),
            _ => cannot("opened", &e),
        })
}

/// Checks the open folder (`path` names it in messages), on its own
/// descriptor only: not shared, this user's; the mode when group or
/// others may open it, which a run tightens to 0700.
#[cfg(unix)]
fn judge(path: &str, dir: &File) -> Result<Option<u32>, Problem> {
    use std::os::unix::fs::MetadataExt;
    let m = dir.metadata().map_err(|e| cannot("checked", &e))?;
    if m.mode() & 0o1000 != 0 {
        return Err(shared(path, &format!("mode {:04o}", m.mode() & 0o7777)));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me {
        return Err(format!(
            "belongs to {}, not to this user (uid {me}), and its owner could read or plant credentials; \
             remove it or set --cache-dir / PLUGIN_CACHE_DIR to a folder this user owns",
            crate::output::user_name(m.uid())
        ));
    }
    not_shared(path, &listing(dir).map_err(|e| cannot("listed", &e))?)?;
    let mode = m.mode() & 0o777;
    Ok((mode & 0o077 != 0).then_some(mode))
}

#[cfg(test)]
mod tests {
    use super::{temp_name, temp_writer};

    #[test]
    fn a_temporary_file_names_its_entry_and_writer() {
        let name = "k1.json";
        assert_eq!(temp_writer(&temp_name(name, 42), name), Some(42));
        for other in [
            "k1.json",
            "k1.json.tmp",
            "k1.json..tmp",
            "k1.json.+42.tmp",
            "k1.json.4x.tmp",
            "k2.json.42.tmp",
            "k1.json.42.tmp.x",
            "k1.json.99999999999.tmp",
        ] {
            assert_eq!(temp_writer(other, name), None, "{other}");
        }
    }
}

#[cfg(windows)]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
impl Folder {
    /// Makes or opens the folder and checks it as an output file is
    /// checked (`docs/reference.md` §6.4): not a link, owned by this user,
    /// writable by nobody else. A folder made here inherits its parent's
    /// list (under `%LOCALAPPDATA%`, this user's alone); it is never
    /// tightened, and each entry gets an owner-only list of its own.
    pub fn open(path: &str) -> Result<(Folder, Option<u32>), Problem> {
        make(path).map_err(|e| cannot("created", &e))?;
        Folder::check(path)?;
        Ok((Folder { path: path.into() }, None))
    }

    /// The checks of [`Folder::open`], making and changing nothing: `None`
    /// when the folder is missing (a run makes it); never tightened.
    pub fn inspect(path: &str) -> Result<Option<Option<u32>>, Problem> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            _ => Folder::check(path).map(|()| Some(None)),
        }
    }

    fn check(path: &str) -> Result<(), Problem> {
        use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
        const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
        const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
        const READ_CONTROL: u32 = 0x0002_0000;
        let m = std::fs::symlink_metadata(path).map_err(|e| cannot("checked", &e))?;
        if m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return Err(LINK.into());
        }
        if !m.is_dir() {
            return Err(NOT_FOLDER.into());
        }
        let handle = std::fs::OpenOptions::new()
            .access_mode(READ_CONTROL)
            .custom_flags(
                FILE_FLAG_BACKUP_SEMANTICS | crate::output::windows::FILE_FLAG_OPEN_REPARSE_POINT,
            )
            .open(path)
            .map_err(|e| cannot("opened", &e))?;
        crate::output::windows::check(&handle)?;
        let names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
            .map_err(|e| cannot("listed", &e))?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        not_shared(path, &names)
    }

    /// Nothing on Windows: whether a writer is alive is not asked there
    /// (`docs/reference.md` §13.3).
    pub fn remove_dead_temps(&self, _: &str) {}

    fn named(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }

    /// Opens the lock file `name`, made when missing; why not when it is
    /// a link or not a regular file.
    pub fn lock_file(&self, name: &str) -> Result<File, Problem> {
        use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .custom_flags(crate::output::windows::FILE_FLAG_OPEN_REPARSE_POINT)
            .open(self.named(name))
            .map_err(|e| format!("cannot be opened ({})", crate::error::io_reason(&e)))?;
        match file.metadata() {
            Ok(m) if m.file_attributes() & 0x400 != 0 => Err("is a link".into()),
            Ok(m) if m.is_file() => Ok(file),
            _ => Err(NOT_REGULAR.into()),
        }
    }

    /// The entry's text, `None` when there is none, or why it is ignored.
    pub fn read(&self, name: &str, limit: u64) -> Result<Option<String>, &'static str> {
        use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(crate::output::windows::FILE_FLAG_OPEN_REPARSE_POINT)
            .open(self.named(name))
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(_) => return Err("cannot be opened"),
        };
        let m = file.metadata().map_err(|_| "cannot be checked")?;
        if !m.is_file() || m.file_attributes() & 0x400 != 0 {
            return Err("is a link or not a regular file, which is not followed");
        }
        crate::output::windows::check(&file).map_err(|_| "is not this user's alone")?;
        read_whole(file, limit)
    }

    /// Removes the entry `name`.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.named(name))
    }

    /// Replaces the entry: a new temporary file with an owner-only list,
    /// written and synced, then renamed over `name`.
    pub fn replace(&self, name: &str, text: &str) -> io::Result<()> {
        let tmp = self.named(&temp_name(name, std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = crate::output::windows::create_new(&tmp.to_string_lossy())
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, self.named(name)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}
