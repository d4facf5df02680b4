//! `make demo`: one whole exchange, as a Harness plugin step would run it,
//! against the local TLS STS stand-in. Shows the step's environment, the
//! log, and what the runner would find in the output files.
//!
//! Usage: demo [PATH-TO-aws-oidc]   (default: target/release/aws-oidc)

// The stand-in and the step's environment are shared with the tests: to
// this example they are libraries, `pub` so that dead code in them is
// caught in the test binary, which uses all of them, not here, which uses
// a part.
#[path = "../tests/it/support/harness.rs"]
pub mod harness;
#[path = "../tests/it/support/standin/mod.rs"]
pub mod standin;
// Ctrl-C handling shared by the examples that own a stand-in.
#[path = "shared/interrupt.rs"]
mod interrupt;

use std::process::Command;

use base64::Engine;

fn mask(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!(
        "{shown}{}",
        "*".repeat(value.chars().count().saturating_sub(4).min(16))
    )
}

fn main() {
    // Ctrl-C ends the child; the demo then returns and removes its folders.
    interrupt::end_on_interrupt();
    // Everything the demo creates is owned inside `demo` and removed when it
    // returns: an `exit` here would skip those destructors.
    std::process::exit(demo());
}

fn demo() -> i32 {
    let bin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/aws-oidc".into());
    let sts = standin::StandIn::start();
    let dir = standin::temp_dir("demo");
    let secret_file = dir.join("harness-output-secrets.env");
    let vars_file = dir.join("drone-output.env");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(format!(
            r#"{{"iss":"https://app.harness.io/ng/api/oidc/account/demo-account","aud":"sts.amazonaws.com","sub":"account/demo-account:org/default:project/demo:pipeline/deploy","exp":{}}}"#,
            now + 600
        )),
        b64.encode("demo-signature-not-checked-by-the-stand-in")
    );
    let env = harness::StepEnv::new(
        "arn:aws:iam::123456789012:role/harness-deploy",
        &token,
        &sts.url(),
        &sts.ca().display().to_string(),
        &secret_file.display().to_string(),
    )
    .set("DRONE_OUTPUT", &vars_file.display().to_string())
    .set("PLUGIN_REGION", "eu-west-1")
    .set("PLUGIN_DURATION", "1h");

    println!("== A Harness plugin step's environment (the STS endpoint is the local TLS stand-in)");
    for (k, v) in env.iter() {
        let shown = if k == "PLUGIN_OIDC_TOKEN_ID" {
            format!("{}… ({} chars, a JWT)", mask(v), v.len())
        } else {
            v.to_string()
        };
        println!("   {k}={shown}");
    }
    println!("\n== {bin} (its log, on stderr)");
    let status = Command::new(&bin).env_clear().envs(env.iter()).status();
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot run {bin}: {e}; build it first (make build)");
            return 1;
        }
    };
    println!("\n== exit code: {}", status.code().unwrap_or(-1));
    let Some(req) = sts.requests().pop() else {
        println!("   the binary sent no request; see its log above");
        return status.code().unwrap_or(1).max(1);
    };
    println!(
        "\n== What the stand-in received: {} {} (User-Agent {})",
        req.method,
        req.path,
        req.header("user-agent").unwrap_or("-")
    );
    for (k, v) in &req.form {
        let shown = if k == "WebIdentityToken" {
            format!("{}… ({} chars)", mask(v), v.len())
        } else {
            v.clone()
        };
        println!("   {k}={shown}");
    }

    println!("\n== HARNESS_OUTPUT_SECRET_FILE: Harness turns these into output secrets (values masked here)");
    for line in std::fs::read_to_string(&secret_file)
        .unwrap_or_default()
        .lines()
    {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        println!("   {k}={}", mask(v));
    }
    println!("\n== DRONE_OUTPUT: plain output variables");
    for line in std::fs::read_to_string(&vars_file)
        .unwrap_or_default()
        .lines()
    {
        println!("   {line}");
    }
    println!("\n== A later Run step maps them into its environment:");
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        println!("   {k}: <+steps.aws_oidc.output.outputVariables.{k}>");
    }
    status.code().unwrap_or(1)
}
