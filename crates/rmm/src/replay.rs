//! Replay of JSON-lines RMI traces (what `realm rmi replay` runs).
//!
//! One JSON object per input line:
//! - `{"write": {"addr": "0x…", "hex": "…"}}`: a host store into Non-secure memory; no output unless the
//!   platform refuses it, then `{"write": "0x…", "fault": "<reason>"}`;
//! - `{"fid": "0xc4000158", "args": ["0x…", …]}`: one RMI call (up to six arguments; missing ones are zero)
//!   → `{"fid": "0x…", "x0": "0x…", "x1": "0x…", "x2": "0x…", "x3": "0x…", "x4": "0x…"}`;
//! - `{"read": {"addr": "0x…", "len": N}}`: a host load of `N` bytes (at most [`MAX_READ`]) of Non-secure
//!   memory, e.g. the run page's exit half after RMI_REC_ENTER → `{"read": "0x…", "hex": "…"}`, or
//!   `{"read": "0x…", "fault": "<reason>"}` when the platform refuses it;
//! - `{"measurements": "0x<rd>"}` → `{"rim": "<hex>", "rem": ["<hex>", …]}` (digest length of the realm's
//!   algorithm), or `{"rim": null, "rem": null}` when there is no RD at that address.
//!
//! Numbers are hex strings (`"0x…"`) or JSON integers; output hex is lowercase. Blank lines are skipped.
//! A malformed line stops the replay with [`ReplayError::Malformed`] naming its (1-based) number.

use std::io::{BufRead, Write};

use serde_json::Value;

use crate::Rmm;
use crate::host::{HostMemory as _, Rmi as _, SmcRegs};

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Line `line` is not a valid trace entry.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the trace or writing the results failed.
    #[error("replay i/o")]
    Io(#[from] std::io::Error),
}

fn number(v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{n} is not a 64-bit unsigned integer")),
        Value::String(s) => {
            let digits = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .ok_or_else(|| format!("{s:?} is not 0x-prefixed hex"))?;
            u64::from_str_radix(digits, 16).map_err(|e| format!("{s:?}: {e}"))
        }
        other => Err(format!("expected a number, found {other}")),
    }
}

/// The most bytes one `read` entry loads (a granule).
pub const MAX_READ: usize = 4096;

/// One parsed trace entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEntry {
    /// Host store.
    Write {
        /// Physical address.
        addr: u64,
        /// Bytes.
        data: Vec<u8>,
    },
    /// RMI call.
    Call {
        /// Function id.
        fid: u64,
        /// x1..x6.
        args: Vec<u64>,
    },
    /// Host load.
    Read {
        /// Physical address.
        addr: u64,
        /// Bytes.
        len: usize,
    },
    /// Measurement read.
    Measurements {
        /// RD address.
        rd: u64,
    },
}

/// Parse one line (already known to be non-blank).
pub fn parse_line(line: &str) -> Result<TraceEntry, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("expected a JSON object")?;
    if let Some(w) = obj.get("write") {
        let addr = number(w.get("addr").ok_or("write without \"addr\"")?)?;
        let hex = w
            .get("hex")
            .and_then(Value::as_str)
            .ok_or("write without a \"hex\" string")?;
        let data = hex::decode(hex).map_err(|e| format!("bad hex: {e}"))?;
        return Ok(TraceEntry::Write { addr, data });
    }
    if let Some(f) = obj.get("fid") {
        let fid = number(f)?;
        let args = match obj.get("args") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= 6 => {
                a.iter().map(number).collect::<Result<_, _>>()?
            }
            Some(_) => return Err("\"args\" must be an array of at most 6 numbers".into()),
        };
        return Ok(TraceEntry::Call { fid, args });
    }
    if let Some(r) = obj.get("read") {
        let addr = number(r.get("addr").ok_or("read without \"addr\"")?)?;
        let len = number(r.get("len").ok_or("read without \"len\"")?)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|n| *n <= MAX_READ)
            .ok_or_else(|| format!("read of {len} bytes: at most {MAX_READ}"))?;
        return Ok(TraceEntry::Read { addr, len });
    }
    if let Some(m) = obj.get("measurements") {
        return Ok(TraceEntry::Measurements { rd: number(m)? });
    }
    Err("expected one of \"write\", \"read\", \"fid\", \"measurements\"".into())
}

/// Apply one entry; returns the output line, if any.
pub fn apply(rmm: &Rmm, entry: &TraceEntry) -> Option<String> {
    match entry {
        TraceEntry::Write { addr, data } => rmm
            .write(*addr, data)
            .err()
            .map(|f| format!("{{\"write\": \"{addr:#x}\", \"fault\": \"{f}\"}}")),
        TraceEntry::Read { addr, len } => {
            let mut buf = vec![0; *len];
            Some(match rmm.read(*addr, &mut buf) {
                Ok(()) => format!(
                    "{{\"read\": \"{addr:#x}\", \"hex\": \"{}\"}}",
                    hex::encode(&buf)
                ),
                Err(f) => format!("{{\"read\": \"{addr:#x}\", \"fault\": \"{f}\"}}"),
            })
        }
        TraceEntry::Call { fid, args } => {
            let mut regs = SmcRegs { x: [0; 7] };
            regs.x[0] = *fid;
            regs.x[1..=args.len()].copy_from_slice(args);
            let r = rmm.call(regs);
            Some(format!(
                "{{\"fid\": \"{fid:#x}\", \"x0\": \"{:#x}\", \"x1\": \"{:#x}\", \"x2\": \"{:#x}\", \"x3\": \"{:#x}\", \"x4\": \"{:#x}\"}}",
                r.x[0], r.x[1], r.x[2], r.x[3], r.x[4]
            ))
        }
        TraceEntry::Measurements { rd } => Some(match rmm.measurements(*rd) {
            Some(m) => {
                let rems: Vec<String> = m
                    .rems
                    .iter()
                    .map(|r| format!("\"{}\"", hex::encode(r)))
                    .collect();
                format!(
                    "{{\"rim\": \"{}\", \"rem\": [{}]}}",
                    hex::encode(&m.rim),
                    rems.join(", ")
                )
            }
            None => "{\"rim\": null, \"rem\": null}".to_owned(),
        }),
    }
}

/// Replay every line of `input` against `rmm`, writing one output line per call/measurement to `out`.
pub fn replay(rmm: &Rmm, input: impl BufRead, mut out: impl Write) -> Result<(), ReplayError> {
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = parse_line(&line).map_err(|reason| ReplayError::Malformed {
            line: i + 1,
            reason,
        })?;
        if let Some(text) = apply(rmm, &entry) {
            writeln!(out, "{text}")?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlatformConfig;

    #[test]
    fn version_call_prints_registers_in_order() {
        let rmm = Rmm::new(PlatformConfig::default());
        let mut out = Vec::new();
        replay(
            &rmm,
            "{\"fid\": \"0xc4000150\", \"args\": [\"0x10000\"]}\n\n".as_bytes(),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"fid\": \"0xc4000150\", \"x0\": \"0x0\", \"x1\": \"0x10000\", \"x2\": \"0x10000\", \"x3\": \"0x0\", \"x4\": \"0x0\"}\n"
        );
    }

    #[test]
    fn malformed_lines_name_their_number() {
        let rmm = Rmm::new(PlatformConfig::default());
        for bad in [
            "{\"fid\": 1.5}",
            "[1]",
            "{\"write\": {\"addr\": \"0x0\", \"hex\": \"zz\"}}",
            "{\"fid\": \"12\"}",
            "{}",
        ] {
            let err = replay(&rmm, format!("\n{bad}\n").as_bytes(), Vec::new()).unwrap_err();
            assert!(
                matches!(err, ReplayError::Malformed { line: 2, .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn reads_print_host_memory_as_hex_and_refusals_as_faults() {
        let rmm = Rmm::new(PlatformConfig::default());
        let base = PlatformConfig::default().dram[0].base;
        let mut out = Vec::new();
        let trace = format!(
            "{{\"write\": {{\"addr\": \"{base:#x}\", \"hex\": \"a1b2\"}}}}\n\
             {{\"read\": {{\"addr\": \"{base:#x}\", \"len\": 3}}}}\n\
             {{\"read\": {{\"addr\": \"0x0\", \"len\": 1}}}}\n"
        );
        replay(&rmm, trace.as_bytes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{{\"read\": \"{base:#x}\", \"hex\": \"a1b200\"}}\n\
                 {{\"read\": \"0x0\", \"fault\": \"physical address 0x0 is not in DRAM\"}}\n"
            )
        );
        let err = replay(
            &rmm,
            "{\"read\": {\"addr\": 0, \"len\": 4097}}".as_bytes(),
            Vec::new(),
        );
        assert!(matches!(err, Err(ReplayError::Malformed { line: 1, .. })));
    }

    #[test]
    fn refused_writes_are_reported() {
        let rmm = Rmm::new(PlatformConfig::default());
        let line = apply(
            &rmm,
            &TraceEntry::Write {
                addr: 0,
                data: vec![1],
            },
        )
        .unwrap();
        assert_eq!(
            line,
            "{\"write\": \"0x0\", \"fault\": \"physical address 0x0 is not in DRAM\"}"
        );
    }
}
