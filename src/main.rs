//! The `aws-oidc` binary: collect arguments and environment, run, exit.

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let env: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os().collect();
    let code = aws_oidc::run_as(&args, &env, || std::env::current_exe().ok());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
