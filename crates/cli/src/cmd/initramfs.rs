//! `realm initramfs`: write an initramfs realmkit builds itself (`realm_vmm::initramfs`), no downloaded userland:
//!
//! - `realm initramfs -o FILE [--message TEXT]`: `/dev/console` and an `/init` (a static AArch64 executable
//!   realmkit assembles) that prints the message and powers the realm off;
//! - `realm initramfs --attest --challenge HEX --modules DIR -o FILE`: an `/init` that loads the kernel's
//!   `configfs`, `tsm_report` and `arm-cca-guest` modules (uncompressed `.ko` files in DIR, from the kernel's
//!   Debian package: `tools/linux/fetch-kernel.sh --modules`), asks configfs-tsm for an attestation token over
//!   the challenge and prints it as hex between marker lines on the console;
//! - `realm initramfs --token-from LOG -o token.cbor`: the token such an `/init` printed, from a console log.
//!
//! Example: `realm initramfs -o /tmp/init.cpio && realm launch -k vmlinuz.unsigned -i /tmp/init.cpio --cpu a64`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use realm_vmm::initramfs::attest;

use crate::cmd::verify::parse_challenge;
use crate::error::{CliResult, input};

/// Arguments of `realm initramfs`.
#[derive(Debug, clap::Args)]
pub struct InitramfsArgs {
    /// Where to write the newc cpio archive (the token with --token-from).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The line /init prints before it powers off.
    #[arg(long, default_value = realm_vmm::initramfs::HELLO_LINE)]
    pub message: String,
    /// Build the attestation /init (needs --challenge and --modules).
    #[arg(long, conflicts_with = "token_from", requires_all = ["challenge", "modules"])]
    pub attest: bool,
    /// The attestation challenge, hex (up to 64 bytes, zero-padded on the right).
    #[arg(long, requires = "attest")]
    pub challenge: Option<String>,
    /// Directory with the uncompressed configfs.ko, tsm_report.ko and arm-cca-guest.ko of the kernel booted.
    #[arg(long, requires = "attest")]
    pub modules: Option<PathBuf>,
    /// Read the token the attestation /init printed from this console log and write it (CBOR) to --output.
    #[arg(long, value_name = "LOG")]
    pub token_from: Option<PathBuf>,
}

/// Run `realm initramfs`.
pub fn run(args: &InitramfsArgs) -> CliResult {
    let bytes = if let Some(log) = &args.token_from {
        let text = std::fs::read(log).with_context(|| log.display().to_string());
        let text = String::from_utf8_lossy(&text.map_err(input)?).into_owned();
        attest::token_from_console(&text)
            .with_context(|| log.display().to_string())
            .map_err(input)?
    } else if args.attest {
        let challenge = parse_challenge(args.challenge.as_deref().unwrap_or_default())?;
        let dir = args.modules.as_deref().unwrap_or(Path::new("."));
        let mut modules = Vec::new();
        for name in attest::MODULES {
            let path = dir.join(format!("{name}.ko"));
            let data = std::fs::read(&path)
                .with_context(|| format!("module {name}: {}", path.display()))
                .map_err(input)?;
            if !data.starts_with(b"\x7fELF") {
                return Err(input(anyhow::anyhow!(
                    "{}: not an ELF module (decompress .ko.xz first)",
                    path.display()
                )));
            }
            modules.push((name.to_string(), data));
        }
        realm_vmm::initramfs::attest(&challenge, &modules).map_err(|e| input(anyhow::anyhow!(e)))?
    } else {
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
        realm_vmm::initramfs::hello(&message)
    };
    std::fs::write(&args.output, &bytes)
        .map_err(|e| input(anyhow::anyhow!("{}: {e}", args.output.display())))?;
    Ok(())
}
