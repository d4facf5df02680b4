//! The `aws-oidc` binary: collect arguments and environment, run, exit.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Inserted one by one: collecting into a BTreeMap links a sort routine
    // (3 KB) for no gain.
    let mut env = std::collections::BTreeMap::new();
    for (k, v) in std::env::vars_os() {
        if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
            env.insert(k, v);
        }
    }
    let code = aws_oidc::run(&args, env);
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
