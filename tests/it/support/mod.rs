//! Helpers for integration tests: run the real binary with a controlled
//! environment against the STS stand-in.

pub mod case;
pub mod harness;
pub mod standin;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

pub(crate) use case::{assert_all_pass, basic_value, outcome, Case};
pub use harness::StepEnv;
// The independent SigV4 verifier lives in `sigv4.rs` beside this file; the
// stand-in includes it (the examples that run the stand-in need it too).
pub use standin::sigv4;
pub use standin::{temp_dir, Hook, Reply, StandIn, TempDir, Transport};

/// A role ARN in the stand-in's account.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/harness-ci";
/// The account in [`ROLE`].
pub const ACCOUNT: &str = "123456789012";

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Panics with both streams unless the exit code is `code`.
    pub fn expect(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics if any of the secrets appears on stdout or stderr.
    pub fn assert_hides(&self, secrets: &[&str]) -> &Output {
        for s in secrets.iter().filter(|s| s.len() >= 4) {
            assert!(
                !self.stderr.contains(s),
                "stderr leaks a secret ({}…):\n{}",
                &s[..4],
                self.stderr
            );
            assert!(
                !self.stdout.contains(s),
                "stdout leaks a secret ({}…):\n{}",
                &s[..4],
                self.stdout
            );
        }
        self
    }

    /// Panics with both streams unless stderr holds `text`.
    pub fn says(&self, text: &str) -> &Output {
        assert!(
            self.stderr.contains(text),
            "stderr does not say {text:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics with both streams if stderr holds `text`.
    pub fn says_not(&self, text: &str) -> &Output {
        assert!(
            !self.stderr.contains(text),
            "stderr says {text:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The last stderr line, which is the error line on failure.
    pub fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

/// The env and flags every example needs to reach the stand-in instead of AWS.
pub(crate) fn reach(sts: &StandIn) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL_STS".into(), sts.url()),
        ("AWS_CA_BUNDLE".into(), sts.ca().display().to_string()),
    ]
}

/// Runs the binary with exactly this environment (owned pairs), these
/// arguments and `stdin`.
pub(crate) fn run_env(env: &[(String, String)], args: &[&str], stdin: Option<&str>) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_with_stdin(&env, args, stdin)
}

/// The permission bits of `path`.
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aws-oidc"))
}

/// Runs the binary with exactly this environment (nothing inherited) and
/// these arguments.
pub fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    run_with_stdin(env, args, None)
}

/// Like [`run`], feeding `stdin`.
pub fn run_with_stdin(env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    run_binary(&bin(), env, args, stdin)
}

/// Runs any binary (a release build, an emulated one) the same way.
pub fn run_binary(bin: &Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    Output::from(child.wait_with_output().expect("wait for the binary"))
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// An unsigned JWT with these claims (STS verifies; the stand-in and the
/// binary only read).
pub fn jwt(iss: &str, aud: &str, sub: &str, exp: i64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = e.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    let payload = e.encode(format!(
        r#"{{"iss":"{iss}","aud":"{aud}","sub":"{sub}","exp":{exp},"iat":{}}}"#,
        exp - 600
    ));
    let sig = e.encode("signature-bytes-that-nobody-checks-here-0123456789");
    format!("{header}.{payload}.{sig}")
}

/// A token like Harness issues, valid for ten minutes.
pub fn harness_token() -> String {
    jwt(
        "https://app.harness.io/ng/api/oidc/account/acc123",
        "sts.amazonaws.com",
        "account/acc123:org/default:project/ci:pipeline/deploy",
        now() + 600,
    )
}

/// Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A Harness plugin step's environment against the stand-in, with the two
/// output files Harness provides in `dir`.
pub struct Step {
    /// The variables.
    pub env: StepEnv,
    /// HARNESS_OUTPUT_SECRET_FILE.
    pub secret_file: PathBuf,
    /// DRONE_OUTPUT.
    pub vars_file: PathBuf,
    /// The token sent.
    pub token: String,
    /// The folder holding both files, removed when the step is dropped.
    pub dir: TempDir,
}

impl Step {
    /// camelCase settings as the Harness UI writes them, no duration.
    pub fn harness(sts: &StandIn) -> Step {
        let dir = temp_dir("step");
        let secret_file = dir.join("secret.env");
        let vars_file = dir.join("output.env");
        let token = harness_token();
        let env = StepEnv::new(
            ROLE,
            &token,
            &sts.url(),
            &sts.ca().display().to_string(),
            &secret_file.display().to_string(),
        )
        .set("DRONE_OUTPUT", &vars_file.display().to_string())
        .set("PLUGIN_MAX_ATTEMPTS", "3")
        .set("PLUGIN_TIMEOUT", "20s");
        Step {
            env,
            secret_file,
            vars_file,
            token,
            dir,
        }
    }

    /// Sets (or replaces) a variable.
    pub fn set(mut self, key: &str, value: &str) -> Step {
        self.env = self.env.set(key, value);
        self
    }

    /// Removes a variable.
    pub fn unset(mut self, key: &str) -> Step {
        self.env = self.env.unset(key);
        self
    }

    /// Runs the binary with this environment and arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        let env: Vec<(&str, &str)> = self.env.iter().collect();
        run(&env, args)
    }

    /// The secret file's text ("" when missing).
    pub fn secrets(&self) -> String {
        std::fs::read_to_string(&self.secret_file).unwrap_or_default()
    }

    /// The variables file's text ("" when missing).
    pub fn vars(&self) -> String {
        std::fs::read_to_string(&self.vars_file).unwrap_or_default()
    }
}

/// Every secret the run could leak: the token and any issued credentials.
pub fn secrets_of(sts: &StandIn, token: &str) -> Vec<String> {
    let mut all = vec![token.to_string()];
    // Each part of a JWT on its own is secret-bearing too (the signature).
    all.extend(token.split('.').filter(|p| p.len() >= 16).map(String::from));
    for c in sts.issued() {
        all.push(c.secret_access_key);
        all.push(c.session_token);
    }
    all
}

/// The value at `key` of a JSON object, or at index `key` of an array;
/// panics, naming the key, when there is none.
pub fn json_at<'a>(j: &'a aws_oidc::json::Json, key: &str) -> &'a aws_oidc::json::Json {
    use aws_oidc::json::Json;
    let found = match j {
        Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    };
    found.unwrap_or_else(|| panic!("no {key} in {j:?}"))
}

/// Asserts a dotenv text is exactly these `KEY=VALUE` lines.
pub fn assert_lines(text: &str, want: &[(&str, &str)]) {
    let got: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=VALUE: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// A port on 127.0.0.1 that refuses connections for the rest of the test
/// run: a TCP socket bound to it that never listens, kept open, so nothing
/// else can take the port (a port merely found free could be taken by
/// another test between the check and the connect).
pub fn closed_port() -> u16 {
    // SAFETY: socket() has no preconditions; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    let mut addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_in and `len` its size; bind reads
    // it, getsockname writes at most `len` bytes into it.
    let bound = unsafe {
        libc::bind(fd, std::ptr::addr_of!(addr).cast(), len) == 0
            && libc::getsockname(fd, std::ptr::addr_of_mut!(addr).cast(), &mut len) == 0
    };
    assert!(bound, "bind 127.0.0.1: {}", std::io::Error::last_os_error());
    // The descriptor is never closed: the port stays bound and refusing
    // until the test process ends.
    u16::from_be(addr.sin_port)
}

/// Writes `text` to `dir/name` and returns the path.
/// How long a run may take before the test calls it a hang. Runs here end
/// in milliseconds; this only turns a regression into a failure instead of
/// a test that never returns.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the binary with exactly `env`, killing it (by its pid) and failing
/// if it is still running after [`HANG`]: for runs that a regression could
/// make wait for ever (a FIFO, a held lock).
pub fn run_bounded(env: &StepEnv) -> Output {
    let child = Command::new(bin())
        .env_clear()
        .envs(env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => Output::from(out.expect("wait for the binary")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the binary was still running after {HANG:?}: it hangs");
        }
    }
}

/// Makes a FIFO at `path` (one with no writer blocks a plain open).
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(ok.success(), "mkfifo {}", path.display());
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A file under `tests/fixtures/` (saved answers and fuzz findings).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `python3`, for a test that hands its output to a Python consumer, once
/// `module` imports; if python3 or the module is missing, the test fails
/// saying how to install it (`make deps` installs both).
pub fn python3(module: &str, pip_name: &str) -> Command {
    match Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
    {
        Err(e) => panic!(
            "python3 cannot be run ({e}); install it with `make deps` or `apt-get install python3`"
        ),
        Ok(out) if !out.status.success() => panic!(
            "the Python module {module} is missing; install it with `make deps` or `python3 -m pip install {pip_name}`"
        ),
        Ok(_) => Command::new("python3"),
    }
}

/// A proxy on 127.0.0.1 that reads each CONNECT and then answers `reply`
/// (nothing: it closes). Returns its port and a count of connections.
pub fn answering_proxy(
    reply: &'static [u8],
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(reply);
        }
    });
    (port, count)
}

/// The Python interpreter that has `module` (its own path, not a shim's).
pub fn python_with(module: &str, pip_name: &str) -> String {
    let out = python3(module, pip_name)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `aws sts get-caller-identity` against `url`, printing only the ARN, as
/// arguments after `--` (the AWS CLI through the Python that has it).
pub fn aws_caller_arn(url: &str) -> Vec<String> {
    let python = python_with("awscli", "awscli");
    [
        python.as_str(),
        "-m",
        "awscli",
        "sts",
        "get-caller-identity",
    ]
    .iter()
    .chain(&["--endpoint-url", url, "--output", "text", "--query", "Arn"])
    .map(|a| a.to_string())
    .collect()
}
