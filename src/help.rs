//! The `--help` text (`docs/reference.md` §9), built from the settings
//! table so it cannot drift.

use std::fmt::Write as _;

use crate::settings;
/// The version `--help` names.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `--help` text, built from the settings table so it cannot drift.
pub fn help() -> String {
    let mut h = format!(
        "aws-oidc {VERSION}: trade a CI OIDC token for temporary AWS credentials (STS AssumeRoleWithWebIdentity)\n\n\
         usage: aws-oidc [--flag value | --flag=value]... [--check] [-- COMMAND [ARGS]...]\n\n\
         Every setting is read from its flag, else from the first non-empty env name listed.\n\
         In a Harness or Drone plugin step, settings: {{iamRoleArn: ...}} arrives as PLUGIN_IAMROLEARN.\n\n"
    );
    for def in settings::ALL {
        let name = def.name;
        let flag = def.flag.unwrap_or("(env only)");
        let _ = writeln!(h, "  {flag:<20} {name}");
        let _ = writeln!(h, "  {:<20}   env: {}", "", def.envs.join(", "));
        let _ = writeln!(
            h,
            "  {:<20}   default: {}; accepts: {}",
            "", def.default, def.accepts
        );
    }
    let _ = write!(
        h,
        "  {:<20} proxy: {} (http:// only; socks is refused); bypass: {}\n\n",
        "(env only)",
        settings::PROXY_ENVS.join(", "),
        settings::NO_PROXY_ENVS.join(", ")
    );
    h.push_str(
        "  --check              make every check a run makes before its request (settings, output\n\
         \x20                      files, token expiry); show the endpoint, the request (each hop's\n\
         \x20                      with chaining; token and policy redacted), the token's claims and\n\
         \x20                      where outputs go; send nothing and change no file; exit as the\n\
         \x20                      run would: 2 bad setting, 3 expired token, 6 nowhere to write\n\
         \x20                      or an output file or the cache folder refused\n\
         \x20 --help, --version\n\n\
         The token: prefer env, --token-file (- reads stdin) or --token-command. --token puts it\n\
         where process lists and shell history can see it. A token file or command is read again\n\
         before each retry; --check runs the token command too (it sends nothing to STS).\n\n\
         Formats: dotenv (KEY=VALUE), shell (export KEY='VALUE'), json, credential-process (AWS's\n\
         credential_process JSON on stdout), fish (set -gx KEY 'VALUE'), powershell ($env:KEY =\n\
         'VALUE'). Log levels: error, warn, info, debug, trace.\n\n\
         Profiles: --profile NAME writes the credentials to [NAME] of the shared credentials file\n\
         (merged, locked, atomic; long-lived keys refused unless --overwrite-profile); --refreshable\n\
         writes credential_process instead; --roles NAME=ARN,... makes one exchange per role, each\n\
         set's names prefixed NAME_ (or, with --profiles, to profile NAME).\n\n\
         Exit codes: 0 written; 2 bad setting or usage, or a role outside the allowed accounts;\n\
         3 STS refused; 4 no answer (network, TLS, timeout); 5 answer not understood, or for an\n\
         account not allowed; 6 output not written, or an output file refused (a link, not a\n\
         regular file, another user's, writable by others, named twice, an input file) or the\n\
         cache folder refused (a link, another user's, shared) before any request; 1 anything else.\n\n\
         With `-- COMMAND [ARGS]...`, COMMAND runs with the credentials in its environment only\n\
         (nothing is written), and aws-oidc exits with its status (128+N for signal N); 126 it\n\
         cannot be run, 127 it is not found, both before any request.\n",
    );
    h
}
