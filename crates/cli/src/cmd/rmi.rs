//! `realm rmi …`: the software RMM on its own.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read as _, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use realm_rmm::replay::{ReplayError, replay};
use realm_rmm::{DramRegion, PlatformConfig, Rmm};

use crate::cmd::platform::PlatformArgs;

use crate::error::{CliResult, input, runtime};

/// The longest trace line replayed: 1 MiB (a `write` of one 4 KiB granule is about 8 KiB of hex).
pub const MAX_TRACE_LINE: usize = 1 << 20;

/// Arguments of `realm rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    #[command(subcommand)]
    command: RmiCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RmiCommand {
    /// Replay a JSON-lines RMI trace against a fresh software RMM; RMI_REC_ENTER runs the REC's code on the
    /// platform's realm CPU, and `read` entries show host memory (e.g. the run page's exit).
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
    let described = args.platform.resolve()?;
    // RMI_REC_ENTER runs the REC on the platform's realm CPU (realm-a64 with the platform's ID registers).
    let mut platform = PlatformConfig {
        cpu: realm_vmm::backend::simulated::a64_cpu(&described),
        ..PlatformConfig::from_platform(&described)
    };
    if !args.dram.is_empty() {
        platform.dram = args
            .dram
            .iter()
            .map(|d| parse_dram(d).with_context(|| format!("--dram {d}")))
            .collect::<anyhow::Result<_>>()
            .map_err(input)?;
    }
    let rmm = Rmm::new(platform);
    let out = io::stdout().lock();
    if args.file.as_os_str() == "-" {
        replay_lines(&rmm, io::stdin().lock(), out, Path::new("-"))
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))
            .map_err(input)?;
        replay_lines(&rmm, BufReader::new(file), out, &args.file)
    }
}

/// Replay `input` line by line: each line at most [`MAX_TRACE_LINE`] bytes and UTF-8, refused with its number
/// otherwise (exit 2), as is an input that cannot be read (a directory); writing the results failing is a
/// runtime failure (exit 1).
fn replay_lines(rmm: &Rmm, mut trace: impl BufRead, mut out: impl Write, name: &Path) -> CliResult {
    let bad = |e: anyhow::Error| input(e.context(format!("replaying {}", name.display())));
    let mut buf = Vec::new();
    for number in 1.. {
        buf.clear();
        let limit = u64::try_from(MAX_TRACE_LINE).unwrap_or(u64::MAX) + 1;
        let got = (&mut trace)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading the trace {}", name.display()))
            .map_err(input)?;
        if got == 0 {
            break;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if line.len() > MAX_TRACE_LINE {
            return Err(bad(anyhow!(
                "line {number} is longer than 1 MiB (the most a trace line may be)"
            )));
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return Err(bad(anyhow!("line {number} is not UTF-8 text")));
        };
        match replay(rmm, text.as_bytes(), &mut out) {
            Ok(()) => {}
            Err(ReplayError::Malformed { reason, .. }) => {
                return Err(bad(anyhow!(ReplayError::Malformed {
                    line: number,
                    reason
                })));
            }
            Err(e) => return Err(runtime(anyhow!(e))),
        }
    }
    out.flush().map_err(runtime)
}
