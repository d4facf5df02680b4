//! The `aws-oidc` binary: collect arguments and environment, run, exit.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let code = aws_oidc::run(&args, env);
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
