//! The integration tests: one binary whose modules share `support`. Each
//! module runs the real `aws-oidc` binary with a cleared environment against
//! the TLS STS stand-in in `support::standin`.
//!
//! The release and Windows modules are `#[ignore]`d in a plain `cargo test`;
//! `make test-release` and `make test-windows` build what they need and run
//! them with `--ignored release::` and `--ignored windows::`.

mod support;

mod bounds;
mod cache;
mod chain;
mod check;
mod cli;
mod cross_account;
mod errors;
mod exec;
mod flags;
mod fleet;
mod hits;
mod inputs;
mod outputs;
mod plugin;
mod profiles;
mod promises;
mod readme;
mod release;
mod serve;
mod sigv4;
mod support_self;
mod tags;
mod token;
mod trust;
mod windows;
