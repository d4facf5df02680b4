//! Settings read as a group, beside `resolve` (`docs/reference.md` §1.2):
//! the cache's folder and the warning of credentials due for refresh as
//! they arrive.

use std::path::Path;

use super::*;

/// The cache folder when `--cache` is on (`docs/reference.md` §13):
/// `--cache-dir`, else the platform's per-user cache folder. The
/// variables are read here, from the inputs, like every other setting.
pub(super) fn cache_dir(
    inputs: &Inputs,
    warnings: &mut Vec<String>,
) -> Result<Option<Sourced<String>>, Error> {
    let on = inputs.boolean(&CACHE)?;
    let dir = inputs.get(&CACHE_DIR);
    // credential_process runs from any working directory: a relative
    // folder would be another one each time, as a relative XDG_CACHE_HOME.
    if let Some(d) = dir.as_ref().filter(|d| !Path::new(&d.value).is_absolute()) {
        return Err(Error::setting(
            d.source,
            format!(
                "{} must be an absolute path: credential_process runs from any working directory",
                crate::error::quoted(&d.value)
            ),
        ));
    }
    if !on.value {
        if let Some(d) = dir {
            warnings.push(format!(
                "{} is set but the cache is off; set --cache / PLUGIN_CACHE=true to use it",
                d.source
            ));
        }
        return Ok(None);
    }
    if dir.is_some() {
        return Ok(dir);
    }
    // XDG says a relative XDG_CACHE_HOME is to be ignored.
    let absolute = |f: &Sourced<String>| Path::new(&f.value).is_absolute();
    let (base, under, what) = match cfg!(windows) {
        true => (
            inputs.env_first(&CACHE_BASE_ENVS[..1]),
            "aws-oidc",
            "LOCALAPPDATA",
        ),
        false => match inputs.env_first(&CACHE_BASE_ENVS[1..2]).filter(absolute) {
            Some(xdg) => (Some(xdg), "aws-oidc", ""),
            None => (
                inputs.env_first(&CACHE_BASE_ENVS[2..]).filter(absolute),
                ".cache/aws-oidc",
                "XDG_CACHE_HOME or HOME",
            ),
        },
    };
    match base {
        Some(b) => Ok(Some(Sourced {
            value: Path::new(&b.value).join(under).display().to_string(),
            source: b.source,
        })),
        None => Err(Error::setting(
            on.source,
            format!(
                "the cache is on but there is no folder for it: {what} is not set (or not an absolute path); \
                 set --cache-dir / PLUGIN_CACHE_DIR to a folder this user owns"
            ),
        )),
    }
}

/// The AWS SDKs refresh `credential_process` credentials that expire
/// within 15 minutes, so credentials of 15 minutes or less (900 s, the
/// least STS grants) are due as they arrive and every API call runs
/// aws-oidc and STS again (`docs/reference.md` §6.3). Chained hops ask for
/// at most an hour, which lowers no duration to 15 minutes, so the duration
/// set is what the written credentials last.
pub(super) fn refreshed_at_once(
    format: Format,
    duration: Option<&Sourced<u32>>,
    cache: bool,
) -> Option<String> {
    let d = duration.filter(|d| format == Format::CredentialProcess && d.value <= 900)?;
    let cache = match cache {
        true => "(the cache reuses only credentials with more than 15m left)",
        false => "and turn on --cache (PLUGIN_CACHE) to reuse them",
    };
    Some(format!(
        "{}: credentials of {} for credential-process are due for refresh as they arrive: the AWS SDKs refresh credentials within 15 minutes of their expiry, \
         so every API call will run aws-oidc and STS again; ask a longer duration (1h or more) {cache}",
        d.source,
        crate::time::human(i64::from(d.value))
    ))
}
