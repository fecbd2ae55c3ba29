//! Running the `realm` binary from the CLI tests.

use std::process::{Command, Output};

/// Run `realm` with `args`; what it printed and how it exited.
pub fn realm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_realm"))
        .args(args)
        .output()
        .expect("run realm")
}
