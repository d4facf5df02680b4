//! The command line: `--flag value`, `--flag=value`, booleans, `--check`,
//! `--help` and `--version` (`docs/reference.md` §1.1 and §9).

use super::defs::{nearest, Kind, ALL};
use crate::error::{shown, Error};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// An exchange, or with `check` only its validation.
    Run {
        /// Flags as given, `(flag name, value)`, later ones win.
        flags: Vec<(&'static str, String)>,
        /// `--check`: validate and print, no network traffic.
        check: bool,
    },
}

/// Reads the command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, Error> {
    let mut flags = Vec::new();
    let mut check = false;
    let mut rest = args.iter().enumerate();
    while let Some((i, arg)) = rest.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            "--check" => {
                check = true;
                continue;
            }
            _ => {}
        }
        if arg.starts_with("--check=") {
            return Err(Error::Usage("flag `--check` takes no value".into()));
        }
        let Some(body) = arg.strip_prefix("--") else {
            if arg.starts_with('-') && arg.len() > 1 {
                return Err(Error::Usage(format!(
                    "{}; aws-oidc takes --flags (and -h, -V)",
                    unknown("option", arg)
                )));
            }
            let after_bool = i > 0
                && matches!(arg.to_ascii_lowercase().as_str(), "true" | "false")
                && ALL
                    .iter()
                    .any(|d| d.kind == Kind::Bool && d.flag == Some(args[i - 1].as_str()));
            if after_bool {
                return Err(Error::Usage(format!(
                    "`{} {arg}`: boolean flags take their value with =, as in {}={}",
                    args[i - 1],
                    args[i - 1],
                    arg.to_ascii_lowercase()
                )));
            }
            // Other arguments are not echoed: a token pasted in the wrong
            // place must not end up in the log.
            return Err(Error::Usage(format!(
                "unexpected argument in position {}; aws-oidc takes only --flags",
                i + 1
            )));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some((flag, def)) = ALL
            .iter()
            .find_map(|d| d.flag.filter(|f| f[2..] == *name).map(|f| (f, *d)))
        else {
            return Err(Error::Usage(unknown_flag(&format!("--{name}"))));
        };
        let value = match (def.kind, inline) {
            (_, Some(v)) if v.trim().is_empty() => {
                return Err(Error::Usage(format!("flag `{flag}` needs a value")))
            }
            (_, Some(v)) => v,
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Value, None) => match rest.next() {
                Some((_, v)) if !v.starts_with("--") && !v.trim().is_empty() => v.clone(),
                _ => return Err(Error::Usage(format!("flag `{flag}` needs a value"))),
            },
        };
        flags.push((flag, value));
    }
    Ok(Command::Run { flags, check })
}

/// "unknown flag `--x`", with the flag it probably meant, found as a
/// misspelt `PLUGIN_` name's is (`docs/reference.md` §1.6): `--role-arm`
/// gets "did you mean --role-arn?". A flag not shown (it could be a
/// token) gets no suggestion, which would hint at what it holds.
fn unknown_flag(arg: &str) -> String {
    let said = unknown("flag", arg);
    let flags = ALL.iter().filter_map(|d| d.flag);
    let named = said.contains('`');
    match nearest(arg, flags.chain(["--check", "--help", "--version"])) {
        Some(meant) if named => format!("{said}; did you mean {meant}?"),
        _ => said,
    }
}

/// "unknown flag `--x`", naming the argument unless it could be a token
/// pasted after `--`: one word (no whitespace or control character) that is
/// long or holds characters no flag name has.
fn unknown(what: &str, arg: &str) -> String {
    let name = arg.trim_start_matches('-');
    let word = !name.contains(|c: char| c.is_whitespace() || c.is_control());
    let token_like = word
        && (name.len() > 32
            || name.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')));
    match token_like {
        false => format!("unknown {what} `{}`", shown(arg)),
        true => format!(
            "unknown {what} ({} characters, not shown as it does not look like a flag name)",
            arg.chars().count()
        ),
    }
}
