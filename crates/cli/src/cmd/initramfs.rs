//! `realm initramfs -o FILE [--message TEXT]`: write the smallest initramfs that proves a Linux realm guest
//! reached userspace — `/dev/console` and an `/init` (a static AArch64 executable realmkit assembles) that
//! prints the message and powers the realm off (`realm_vmm::initramfs`). No downloaded userland.
//!
//! Example: `realm initramfs -o /tmp/init.cpio && realm launch -k vmlinuz.unsigned -i /tmp/init.cpio --cpu a64`.

use std::path::PathBuf;

use crate::error::{CliResult, input};

/// Arguments of `realm initramfs`.
#[derive(Debug, clap::Args)]
pub struct InitramfsArgs {
    /// Where to write the newc cpio archive.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The line /init prints before it powers off.
    #[arg(long, default_value = "realmkit: /init reached, powering off")]
    pub message: String,
}

/// Run `realm initramfs`.
pub fn run(args: &InitramfsArgs) -> CliResult {
    if args.message.len() > 4096 {
        return Err(input(anyhow::anyhow!(
            "--message: {} bytes; at most 4096",
            args.message.len()
        )));
    }
    let mut message = args.message.clone();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    let archive = realm_vmm::initramfs::hello(&message);
    std::fs::write(&args.output, &archive)
        .map_err(|e| input(anyhow::anyhow!("{}: {e}", args.output.display())))?;
    Ok(())
}
