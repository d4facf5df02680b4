//! The command mode (`docs/reference.md` §14): `aws-oidc [settings] --
//! COMMAND [ARGS…]` runs COMMAND with the credentials in its environment
//! only, never on disk, and exits with its status.
//!
//! The command is found before STS is asked ([`find`]), its environment is
//! a pure function of aws-oidc's own and what it is given
//! ([`environment`]), and [`run`] starts it, passes on the signals a runner
//! sends, and waits. [`capture`] runs a token command (§14.3) and collects
//! what it prints, bounded in time and size.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;

/// A command found on disk, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The name as given (`aws`, `./deploy.sh`), which the child sees as
    /// its `argv[0]` and messages show.
    pub name: OsString,
    /// Where it was found.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Program {
    /// The process that runs it: its path and arguments, exactly `env`,
    /// and (on Unix) its name as given as `argv[0]`, as a shell starts it.
    fn command(&self, env: &[(OsString, OsString)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.path);
        cmd.args(&self.args).env_clear().envs(env.iter().cloned());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::arg0(&mut cmd, &self.name);
        cmd
    }

    /// The name as messages show it.
    pub fn shown(&self) -> String {
        crate::error::word(&self.name.to_string_lossy())
    }
}

/// The search path when `PATH` is unset, as POSIX shells use
/// (`confstr(_CS_PATH)` and more).
#[cfg(unix)]
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What finding a file gave.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A file this user may execute.
    Runnable(PathBuf),
    /// Something is there, but it cannot be executed, and why.
    NotRunnable(String),
    /// Nothing is there.
    Missing,
}

/// Finds the command (`command[0]`) as a shell would: a name holding a
/// path separator as it is, else in each `PATH` entry of the environment
/// the command will run in (`path`), the first runnable file winning.
/// Not found is exit 127, found but not runnable 126, as shells say.
pub fn find(command: &[OsString], path: Option<&OsStr>) -> Result<Program, Error> {
    let Some((name, args)) = command.split_first() else {
        return Err(Error::Usage(
            "`--` must be followed by the command to run, as in `aws-oidc … -- aws sts get-caller-identity`"
                .into(),
        ));
    };
    let shown = crate::error::word(&name.to_string_lossy());
    if name.is_empty() {
        return Err(Error::CommandNotFound(
            "the command after `--` is empty".into(),
        ));
    }
    let separated = name.to_string_lossy().contains('/')
        || (cfg!(windows) && name.to_string_lossy().contains('\\'));
    let found = match separated {
        true => look(Path::new(name)),
        false => search(name, path),
    };
    match found {
        Found::Runnable(path) => Ok(Program {
            name: name.clone(),
            path,
            args: args.to_vec(),
        }),
        Found::NotRunnable(why) => Err(Error::CommandNotRunnable(format!(
            "the command `{shown}` {why}; nothing was sent"
        ))),
        Found::Missing => Err(Error::CommandNotFound(match separated {
            true => format!("the command `{shown}` does not exist; check the path; nothing was sent"),
            false => format!(
                "the command `{shown}` is not found in PATH; install it, or name it by its path; nothing was sent"
            ),
        })),
    }
}

/// The `PATH` of an environment, which [`find`] searches.
pub fn search_path(env: &[(OsString, OsString)]) -> Option<&OsStr> {
    env.iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_os_str())
}

/// Searches each `PATH` entry for `name` (on Windows with each `PATHEXT`
/// ending too): the first runnable file, else the first reason one found
/// cannot run, else missing.
fn search(name: &OsStr, path: Option<&OsStr>) -> Found {
    #[cfg(unix)]
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    #[cfg(not(unix))]
    let path = path.unwrap_or_default();
    let mut first_refusal = None;
    for dir in entries(path) {
        // An empty entry is the working folder, as for shells.
        let dir = match dir.as_os_str().is_empty() {
            true => PathBuf::from("."),
            false => dir,
        };
        for candidate in candidates(&dir, name) {
            match look(&candidate) {
                Found::Runnable(p) => return Found::Runnable(p),
                Found::NotRunnable(why) if first_refusal.is_none() => {
                    first_refusal = Some(Found::NotRunnable(why))
                }
                _ => {}
            }
        }
    }
    first_refusal.unwrap_or(Found::Missing)
}

/// The folders a search path lists, in order (`:` between them on Unix,
/// `;` on Windows).
fn entries(path: &OsStr) -> Vec<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_bytes()
            .split(|b| *b == b':')
            .map(|p| PathBuf::from(OsStr::from_bytes(p)))
            .collect()
    }
    #[cfg(not(unix))]
    path.to_string_lossy()
        .split(';')
        .map(PathBuf::from)
        .collect()
}

/// The files `name` may be in `dir`: itself, and on Windows with each
/// executable ending.
fn candidates(dir: &Path, name: &OsStr) -> Vec<PathBuf> {
    #[cfg(windows)]
    {
        let mut all = vec![dir.join(name)];
        for ext in [".exe", ".com", ".bat", ".cmd"] {
            let mut n = name.to_os_string();
            n.push(ext);
            all.push(dir.join(n));
        }
        all
    }
    #[cfg(not(windows))]
    vec![dir.join(name)]
}

/// Whether the file at `path` can be run by this user.
fn look(path: &Path) -> Found {
    let m = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Missing,
        // A file where a folder on the way should be, or a name no file
        // can have: nothing there.
        #[cfg(unix)]
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ENAMETOOLONG)) => {
            return Found::Missing
        }
        Err(e) => {
            return Found::NotRunnable(format!(
                "cannot be checked ({})",
                crate::error::io_reason(&e)
            ))
        }
    };
    if m.is_dir() {
        return Found::NotRunnable("is a folder, not a program".into());
    }
    match executable(path) {
        true => Found::Runnable(path.to_path_buf()),
        false => Found::NotRunnable(
            "is not executable by this user; make it executable (chmod +x) or run it through its interpreter"
                .into(),
        ),
    }
}

/// Whether this process may execute the file, by its effective ids.
#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call, and
    // faccessat only reads it.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) == 0 }
}

/// On Windows a file found is run by its ending.
#[cfg(not(unix))]
#[cfg_attr(unix, mutants::skip)] // never applied: Windows only (.cargo/mutants.toml)
fn executable(_: &Path) -> bool {
    true
}

/// Names that would make an SDK in the command pick other credentials
/// than the ones given, or read a token: removed from its environment.
/// Names ending in `*` are prefixes.
pub const REMOVED: [&str; 14] = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_*",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_PROFILES_FILE",
];

/// What the command is given, besides the environment it inherits.
#[derive(Debug)]
pub struct Given<'a> {
    /// The variables set: the credentials (or the endpoint that serves
    /// them) and the region.
    pub set: Vec<(&'static str, String)>,
    /// Env names aws-oidc read the token from (every spelling of the
    /// token settings): removed.
    pub token_names: &'a [&'a str],
    /// The token itself: any variable whose value holds it, whole or
    /// within a longer value, is removed, whatever its name, so the
    /// command never sees it.
    pub token: &'a str,
}

/// The command's environment: aws-oidc's own (`base`, in order), less
/// [`REMOVED`], the token's names and any variable holding the token, plus
/// what `given` sets.
pub fn environment(base: &[(OsString, OsString)], given: &Given) -> Vec<(OsString, OsString)> {
    let removed = |name: &OsStr| {
        let name = name.to_string_lossy();
        REMOVED.iter().any(|r| match r.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *r,
        }) || given.token_names.contains(&name.as_ref())
            || given.set.iter().any(|(k, _)| *k == name)
    };
    let holds_token =
        |value: &OsStr| !given.token.is_empty() && value.to_string_lossy().contains(given.token);
    let mut env: Vec<(OsString, OsString)> = base
        .iter()
        .filter(|(k, v)| !removed(k) && !holds_token(v))
        .cloned()
        .collect();
    env.extend(
        given
            .set
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env
}

/// Runs the program in `env` and waits for it: its exit status, or 128+N
/// when signal N ended it. SIGINT, SIGTERM and SIGHUP sent to aws-oidc
/// are passed on to it (unless ignored when aws-oidc started, as under
/// `nohup`: then the command ignores them too).
pub fn run(program: &Program, env: &[(OsString, OsString)]) -> Result<i32, Error> {
    // The command may run code of anyone's (a build's dependencies), as
    // this user: it must not read the token from aws-oidc itself, through
    // /proc/PID/environ or by attaching to it (§14.1). Not dumpable, those
    // are root's alone; the command, once exec'd, is dumpable as usual.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes a plain integer and changes only this
    // process's dumpable flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    let mut cmd = program.command(env);
    let status = forward::spawn_and_wait(&mut cmd).map_err(|e| {
        let why = crate::error::io_reason(&e);
        let message = format!("the command `{}` cannot be started: {why}", program.shown());
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::CommandNotFound(message),
            _ => Error::CommandNotRunnable(message),
        }
    })?;
    Ok(status_code(status))
}

/// The exit status as a shell reports it: the code, or 128+N for signal N.
fn status_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128 + sig;
    }
    status.code().unwrap_or(1)
}

/// What a command run by [`capture`] gave.
#[derive(Debug)]
pub struct Captured {
    /// Its exit status, or 128+N when signal N ended it.
    pub status: i32,
    /// Its standard output, at most the limit asked for.
    pub stdout: Vec<u8>,
    /// Whether it printed more than that (it was then stopped).
    pub over: bool,
    /// Its standard error, at most [`STDERR_KEPT`] bytes.
    pub stderr: Vec<u8>,
    /// Whether it was stopped because the deadline passed.
    pub timed_out: bool,
}

/// How much of a captured command's standard error is kept to show.
pub const STDERR_KEPT: usize = 16 << 10;

/// How long a command that has exited is waited for to close its output:
/// a process it left running in the background may hold it open for ever.
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// Runs the program in `env`, without a shell and with nothing on its
/// standard input, and collects what it prints: at most `limit` bytes of
/// standard output (one more and it is killed), the first
/// [`STDERR_KEPT`] bytes of standard error. It is killed (SIGKILL on
/// Unix) when `deadline` passes. Used for token commands
/// (`docs/reference.md` §14.3), whose output must be whole before it is
/// shown: the caller scrubs standard error of the token standard output
/// held.
pub fn capture(
    program: &Program,
    env: &[(OsString, OsString)],
    deadline: Instant,
    limit: usize,
) -> Result<Captured, Error> {
    let mut cmd = program.command(env);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A group of its own, so that stopping it stops what it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| {
        Error::CommandNotRunnable(format!(
            "the command `{}` cannot be started: {}",
            program.shown(),
            crate::error::io_reason(&e)
        ))
    })?;
    let (done, closed) = mpsc::channel();
    let stdout = drain(child.stdout.take(), limit + 1, done.clone());
    let stderr = drain(child.stderr.take(), STDERR_KEPT, done);
    let (mut open, mut exited_at, mut stopped) = (2, None, None);
    let status = loop {
        let over = lock(&stdout).len() > limit;
        let late = Instant::now() >= deadline;
        if let Some(status) = child.try_wait().ok().flatten() {
            let at = *exited_at.get_or_insert_with(Instant::now);
            if open == 0 || at.elapsed() >= CLOSE_GRACE || over {
                break status;
            }
        } else if over || late {
            stopped = Some(over);
            #[cfg(unix)]
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill only sends the signal, to the group the
                // command leads (its pid, negated).
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            // Killed: its pipes close with it, or are left to whatever it
            // started, which is not waited for.
            match child.wait() {
                Ok(status) => break status,
                Err(e) => return Err(Error::CommandNotRunnable(crate::error::io_reason(&e))),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if closed
            .recv_timeout(left.clamp(Duration::from_millis(1), TICK))
            .is_ok()
        {
            open -= 1;
        }
    };
    let mut stdout = std::mem::take(&mut *lock(&stdout));
    let over = stdout.len() > limit || stopped == Some(true);
    stdout.truncate(limit);
    let stderr = std::mem::take(&mut *lock(&stderr));
    Ok(Captured {
        status: status_code(status),
        stdout,
        over,
        stderr,
        timed_out: stopped == Some(false),
    })
}

/// How often [`capture`] looks at the command while it runs.
const TICK: Duration = Duration::from_millis(20);

type Shared = Arc<Mutex<Vec<u8>>>;

fn lock(buf: &Shared) -> std::sync::MutexGuard<'_, Vec<u8>> {
    // A reader thread only appends; a panic there leaves bytes still usable.
    buf.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads `pipe` on a thread of its own into a shared buffer, keeping at
/// most `keep` bytes (and reading on, so the writer is never blocked),
/// and says on `done` when it closes.
fn drain(pipe: Option<impl Read + Send + 'static>, keep: usize, done: mpsc::Sender<()>) -> Shared {
    let buf: Shared = Arc::default();
    let shared = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        if let Some(mut pipe) = pipe {
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                let mut b = lock(&shared);
                let room = keep.saturating_sub(b.len()).min(n);
                b.extend_from_slice(&chunk[..room]);
            }
        }
        let _ = done.send(());
    });
    buf
}

#[cfg(unix)]
mod forward {
    //! Passing a runner's signals on to the command.

    use std::sync::atomic::{AtomicI32, Ordering};

    /// The running command's pid, 0 when none.
    static CHILD: AtomicI32 = AtomicI32::new(0);

    use crate::signal::SIGNALS;

    /// Starts `cmd` with the signals held back until its pid is known,
    /// then passes each on to it while waiting for it.
    pub fn spawn_and_wait(
        cmd: &mut std::process::Command,
    ) -> std::io::Result<std::process::ExitStatus> {
        // SAFETY: an all-zero sigset_t is a valid set to fill; these calls
        // only read and write the sets given.
        let (mut block, mut old) = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            (set, std::mem::zeroed::<libc::sigset_t>())
        };
        for sig in SIGNALS {
            // SAFETY: `block` is an initialised set.
            unsafe { libc::sigaddset(&mut block, sig) };
        }
        // SAFETY: both sets are valid.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old) };
        // The command starts with the mask aws-oidc started with, as a
        // shell's command does: std leaves the held-back signals blocked.
        let start_mask = old;
        // SAFETY: between fork and exec the closure only calls
        // pthread_sigmask, which is async-signal-safe, on a set it owns.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(cmd, move || match libc::pthread_sigmask(
                libc::SIG_SETMASK,
                &start_mask,
                std::ptr::null_mut(),
            ) {
                0 => Ok(()),
                e => Err(std::io::Error::from_raw_os_error(e)),
            });
        }
        let spawned = cmd.spawn();
        if let Ok(child) = &spawned {
            CHILD.store(child.id() as i32, Ordering::SeqCst);
            install();
        }
        // SAFETY: `old` is the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        let status = spawned?.wait();
        CHILD.store(0, Ordering::SeqCst);
        status
    }

    fn install() {
        crate::signal::install(pass_on, libc::SA_RESTART);
    }

    /// Sends the signal on to the command; aws-oidc waits for it to end.
    /// Once it has ended, the signal is aws-oidc's own again: it ends the
    /// run as it would have without a command (a `--serve` endpoint
    /// closing must not outlive a runner's cancel).
    extern "C" fn pass_on(sig: libc::c_int) {
        let pid = CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe; `pid` is our child's.
            unsafe { libc::kill(pid, sig) };
            return;
        }
        // SAFETY: signal and raise are async-signal-safe; with the default
        // action back, raising the signal ends the process by it.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

#[cfg(not(unix))]
mod forward {
    //! On Windows a console's Ctrl-C reaches the command by itself.

    pub fn spawn_and_wait(
        cmd: &mut std::process::Command,
    ) -> std::io::Result<std::process::ExitStatus> {
        cmd.spawn()?.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn the_environment_loses_other_credentials_and_the_token_and_gains_the_given() {
        let base = os(&[
            ("PATH", "/bin"),
            ("AWS_PROFILE", "prod"),
            ("AWS_DEFAULT_PROFILE", "x"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.2/x",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t"),
            ("AWS_ACCESS_KEY_ID", "AKIASTALE"),
            ("AWS_SECURITY_TOKEN", "stale"),
            ("PLUGIN_OIDC_TOKEN_ID", "eyJ.token.x"),
            ("GITLAB_OIDC_TOKEN", " eyJ.token.x\n"),
            ("AUTH_HEADER", "Bearer eyJ.token.x"),
            ("AWS_REGION", "eu-west-1"),
            ("HOME", "/root"),
        ]);
        let given = Given {
            set: vec![
                ("AWS_ACCESS_KEY_ID", "ASIANEW".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
            token_names: &["PLUGIN_OIDC_TOKEN_ID", "PLUGIN_OIDC_TOKEN"],
            token: "eyJ.token.x",
        };
        assert_eq!(
            environment(&base, &given),
            os(&[
                ("PATH", "/bin"),
                ("HOME", "/root"),
                ("AWS_ACCESS_KEY_ID", "ASIANEW"),
                ("AWS_REGION", "us-east-1"),
            ])
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_captured_command_is_bounded_in_time_and_output() {
        let sh = |script: &str| Program {
            name: "sh".into(),
            path: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
        };
        let env = os(&[("PATH", "/usr/bin:/bin"), ("X", "x-value")]);
        let soon = || Instant::now() + Duration::from_secs(20);
        let c = capture(&sh("echo out $X; echo err >&2; exit 3"), &env, soon(), 100).unwrap();
        assert_eq!(
            (c.status, c.stdout, c.stderr),
            (3, b"out x-value\n".to_vec(), b"err\n".to_vec())
        );
        assert!(!c.over && !c.timed_out);
        // One byte over the limit and it is stopped, whatever it prints.
        let c = capture(&sh("head -c 11 /dev/zero; exec sleep 20"), &env, soon(), 10).unwrap();
        assert!(c.over && !c.timed_out);
        assert_eq!(c.stdout.len(), 10);
        let c = capture(&sh("head -c 10 /dev/zero"), &env, soon(), 10).unwrap();
        assert!(!c.over);
        // Killed at the deadline.
        let t0 = Instant::now();
        let c = capture(
            &sh("exec sleep 20"),
            &env,
            t0 + Duration::from_millis(300),
            10,
        )
        .unwrap();
        assert!(c.timed_out);
        assert_eq!(c.status, 128 + libc::SIGKILL);
        assert!(t0.elapsed() < Duration::from_secs(5));
        // What it leaves running in the background is not waited for.
        let t0 = Instant::now();
        let c = capture(&sh("echo tok; sleep 20 &"), &env, soon(), 10).unwrap();
        assert_eq!(
            (c.status, c.stdout.as_slice(), c.timed_out),
            (0, &b"tok\n"[..], false)
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
        // Standard error is kept to its first STDERR_KEPT bytes.
        let c = capture(&sh("head -c 20000 /dev/zero >&2"), &env, soon(), 10).unwrap();
        assert_eq!(c.stderr.len(), STDERR_KEPT);
    }

    #[cfg(unix)]
    #[test]
    fn a_command_is_found_as_a_shell_finds_it() {
        let dir = std::env::temp_dir().join(format!("aws-oidc-exec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let write = |p: &Path, mode: u32| {
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        };
        write(&dir.join("a/tool"), 0o644);
        write(&dir.join("b/tool"), 0o755);
        let path = std::env::join_paths([dir.join("a"), dir.join("b")]).unwrap();
        let cmd = |name: &str| vec![OsString::from(name), OsString::from("arg")];
        let p = find(&cmd("tool"), Some(&path)).unwrap();
        assert_eq!(p.path, dir.join("b/tool"));
        assert_eq!(p.args, [OsString::from("arg")]);
        let only_a = dir.join("a").into_os_string();
        let e = find(&cmd("tool"), Some(&only_a)).unwrap_err();
        assert_eq!(e.code(), 126, "{e}");
        assert!(
            e.to_string()
                .contains("`tool` is not executable by this user"),
            "{e}"
        );
        let e = find(&cmd("nope"), Some(&path)).unwrap_err();
        assert_eq!(e.code(), 127);
        assert!(
            e.to_string()
                .starts_with("the command `nope` is not found in PATH"),
            "{e}"
        );
        let e = find(&cmd(&dir.join("missing").display().to_string()), None).unwrap_err();
        assert_eq!(e.code(), 127);
        let e = find(&cmd(&dir.join("a").display().to_string()), None).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().contains("is a folder")),
            (126, true)
        );
        assert_eq!(find(&[], None).unwrap_err().code(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
