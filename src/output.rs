//! Outputs (SPEC §3): credentials in, file text out, then the one place that
//! writes files. All-or-nothing: every text is rendered and checked before
//! the first byte is written, and a failed write rolls back the files that
//! were already appended to.

use std::fs::{File, OpenOptions};
use std::io::Write;

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
        let target = if out == "-" {
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

/// The last guard before anything is written: every value is non-empty and
/// within the widest of STS's alphabets ([`crate::response::arn_char`]),
/// which no dotenv reader, shell or JSON reader changes or acts on. Answer
/// fields were already held to their own alphabets by `response` (exit 5)
/// and settings by their rules; this catches any value that reaches an
/// output some other way, now or later. The value is never shown.
pub fn check_value(key: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::Output(format!(
            "{key} is empty; nothing was written"
        )));
    }
    if !value.chars().all(crate::response::arn_char) {
        return Err(Error::Output(format!(
            "{key} holds a character outside A-Z a-z 0-9 + = , . @ _ / : -, which readers of the outputs could act on; nothing was written"
        )));
    }
    Ok(())
}

/// Writes every output: the files first, each appended with one write,
/// created 0600 when missing, and synced; stdout last. On any failure the
/// files already written are cut back to their old length.
pub fn write(plan: &Plan, r: &Rendered, stdout: &mut dyn Write) -> Result<(), Error> {
    let mut jobs: Vec<(&str, &str, &str)> = Vec::new();
    if let Target::File(path) = &plan.creds {
        jobs.push((path, r.creds.expose(), &plan.creds_source));
    }
    if let (Some(vars), Some(text)) = (&plan.vars, &r.vars) {
        jobs.push((&vars.value, text, &vars.source));
    }
    // Open everything first, so that a missing directory or a read-only
    // file fails before any file gains a line.
    let mut opened: Vec<(File, u64, &str, &str, &str)> = Vec::new();
    for (path, text, source) in jobs {
        let file = open_append(path).map_err(|e| {
            Error::Output(format!(
                "cannot open {source} ({path}): {}; nothing was written",
                crate::settings::io_reason(&e)
            ))
        })?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        opened.push((file, len, path, text, source));
    }
    let mut done: Vec<(File, u64)> = Vec::new();
    for (mut file, len, path, text, source) in opened {
        let result = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        done.push((file, len));
        if let Err(e) = result {
            rollback(&done);
            return Err(Error::Output(format!(
                "cannot write {source} ({path}): {}; nothing was written",
                crate::settings::io_reason(&e)
            )));
        }
    }
    if plan.creds == Target::Stdout {
        if let Err(e) = stdout
            .write_all(r.creds.expose().as_bytes())
            .and_then(|()| stdout.flush())
        {
            rollback(&done);
            return Err(Error::Output(format!(
                "cannot write the credentials to stdout: {}; nothing was written",
                crate::settings::io_reason(&e)
            )));
        }
    }
    Ok(())
}

fn rollback(done: &[(File, u64)]) {
    for (file, len) in done {
        // Best effort: the error that caused the rollback is the one to report.
        let _ = file.set_len(*len).and_then(|()| file.sync_all());
    }
}

/// Opens for appending, creating the file readable by this user only when it
/// is missing: mode 0600 on Unix; on Windows a protected DACL that grants
/// access to the file's owner alone (see [`owner_only`]). An existing file
/// keeps its permissions either way.
fn open_append(path: &str) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(windows)]
    owner_only::create_new(path)?;
    o.open(path)
}

/// Windows' closest match to mode 0600: a security descriptor whose
/// protected DACL (no inherited entries) grants full access to the user
/// running this process, by SID, and to nobody else. Administrators can
/// still take ownership, as root can read a 0600 file. Declared by hand
/// against advapi32/kernel32 so it costs no crate.
#[cfg(windows)]
mod owner_only {
    use std::ffi::c_void;

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
        // the SID pointer (into `buf`).
        let sid = buf[0] as *mut c_void;
        let mut text: *mut u16 = std::ptr::null_mut();
        // SAFETY: `sid` points into `buf`, which is alive; `text` receives
        // a LocalAlloc'd NUL-terminated string freed below.
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

    /// Creates the file with the owner-only descriptor if it does not exist
    /// yet; an existing file is left as it is (the runner made it). std's
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
                Some(ERROR_FILE_EXISTS) => Ok(()),
                _ => Err(err),
            };
        }
        // SAFETY: a valid handle from CreateFileW, closed once.
        unsafe { CloseHandle(handle) };
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
    fn values_outside_the_allow_list_are_refused_without_showing_them() {
        for bad in [
            "a b",
            "a\nb",
            "a$b",
            "a#b",
            "a'b",
            "a\"b",
            "a;b",
            "a`b",
            "a\\b",
            "a{b",
            "a>b",
            "a\u{1}b",
            "a\u{fffd}b",
        ] {
            let e = check_value("AWS_SESSION_TOKEN", bad).unwrap_err();
            assert_eq!(e.code(), 6);
            assert!(
                e.to_string()
                    .starts_with("AWS_SESSION_TOKEN holds a character outside A-Z a-z 0-9"),
                "{e}"
            );
            assert!(!e.to_string().contains(bad), "{e}");
        }
        assert!(check_value("K", "")
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        assert!(check_value("K", "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE/=").is_ok());
        assert!(check_value(
            "K",
            "arn:aws:sts::123456789012:assumed-role/a_b+c=d,e.f@g-h/s"
        )
        .is_ok());
        // Every answer field's alphabet fits inside the guard's.
        for (field, char_ok) in crate::response::ALPHABETS {
            for c in (0..0x3000)
                .filter_map(char::from_u32)
                .filter(|c| char_ok(*c))
            {
                assert!(crate::response::arn_char(c), "{field}: {c:?}");
            }
        }
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
        write(&p, &r, &mut Vec::new()).unwrap();
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
        // A variables file in a missing directory: the secret file must not gain a line.
        let before = std::fs::read_to_string(&secret).unwrap();
        let s = settings(&[
            ("HARNESS_OUTPUT_SECRET_FILE", secret.to_str().unwrap()),
            ("DRONE_OUTPUT", "/nonexistent/dir/vars"),
        ]);
        let p = plan(&s).unwrap();
        let e = write(&p, &render(&p, &s, &creds()).unwrap(), &mut Vec::new()).unwrap_err();
        assert_eq!(e.code(), 6);
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), before);
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
        assert_eq!(
            write(&p, &render(&p, &s, &creds()).unwrap(), &mut Broken)
                .unwrap_err()
                .code(),
            6
        );
        assert_eq!(std::fs::read_to_string(&vars).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
