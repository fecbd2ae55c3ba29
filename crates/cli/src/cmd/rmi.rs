//! `realm rmi …`: the software RMM on its own.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use realm_rmm::replay::{ReplayError, replay};
use realm_rmm::{DramRegion, PlatformConfig, Rmm};

use crate::cmd::platform::PlatformArgs;

use crate::error::{CliResult, input, runtime};

/// Arguments of `realm rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    #[command(subcommand)]
    command: RmiCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RmiCommand {
    /// Replay a JSON-lines RMI trace against a fresh software RMM.
    ///
    /// Example: `realm rmi replay --dram 0x80000000:1G --platform qemu-max trace.jsonl`
    Replay(ReplayArgs),
}

/// Arguments of `realm rmi replay`.
#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// A DRAM region `BASE:SIZE` (hex or decimal; SIZE may end in K, M, G or T). Repeatable; default: the
    /// platform default (1 TiB at 0x40000000).
    #[arg(long, value_name = "BASE:SIZE")]
    dram: Vec<String>,
    /// The platform the RMM runs on (its RMI_FEATURES and limits); `--features-profile` is an alias.
    #[command(flatten)]
    platform: PlatformArgs,
    /// The trace (JSON lines); `-` for stdin.
    file: PathBuf,
}

fn parse_u64(s: &str) -> anyhow::Result<u64> {
    let (digits, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        Some('T' | 't') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16)?,
        None => digits.parse()?,
    };
    v.checked_mul(mult)
        .ok_or_else(|| anyhow!("{s} overflows 64 bits"))
}

fn parse_dram(s: &str) -> anyhow::Result<DramRegion> {
    let (base, size) = s
        .split_once(':')
        .ok_or_else(|| anyhow!("expected BASE:SIZE"))?;
    let region = DramRegion {
        base: parse_u64(base)?,
        size: parse_u64(size)?,
    };
    if !region.base.is_multiple_of(0x1000)
        || !region.size.is_multiple_of(0x1000)
        || region.size == 0
        || region.end().is_none()
    {
        return Err(anyhow!(
            "base and size must be non-zero multiples of 4 KiB that fit in 64 bits"
        ));
    }
    Ok(region)
}

/// Run `realm rmi`.
pub fn run(args: &RmiArgs) -> CliResult {
    let RmiCommand::Replay(args) = &args.command;
    let mut platform = PlatformConfig::from_platform(&args.platform.resolve()?);
    if !args.dram.is_empty() {
        platform.dram = args
            .dram
            .iter()
            .map(|d| parse_dram(d).with_context(|| format!("--dram {d}")))
            .collect::<anyhow::Result<_>>()
            .map_err(input)?;
    }
    let rmm = Rmm::new(platform);
    let result = if args.file.as_os_str() == "-" {
        replay(&rmm, io::stdin().lock(), io::stdout().lock())
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))
            .map_err(input)?;
        replay(&rmm, BufReader::new(file), io::stdout().lock())
    };
    match result {
        Ok(()) => Ok(()),
        Err(e @ ReplayError::Malformed { .. }) => Err(input(
            anyhow!(e).context(format!("replaying {}", args.file.display())),
        )),
        Err(e) => Err(runtime(anyhow!(e))),
    }
}
