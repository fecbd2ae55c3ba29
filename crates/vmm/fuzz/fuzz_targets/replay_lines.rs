//! Fuzz target: RMI trace lines as `realm rmi replay` feeds them to the software RMM — split at newlines,
//! each at most 1 MiB and UTF-8 (longer or binary lines are refused before the RMM sees them) — against a
//! small DRAM. Nothing may panic or hang; every line is replayed or refused as malformed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realm_rmm::replay::{ReplayError, replay};
use realm_rmm::{DramRegion, PlatformConfig, Rmm};

const MAX_TRACE_LINE: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let rmm = Rmm::new(PlatformConfig {
        dram: vec![DramRegion {
            base: 0x8000_0000,
            size: 16 << 20,
        }],
        ..PlatformConfig::default()
    });
    for line in data.split(|b| *b == b'\n') {
        if line.len() > MAX_TRACE_LINE {
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return;
        };
        match replay(&rmm, text.as_bytes(), std::io::sink()) {
            Ok(()) | Err(ReplayError::Malformed { .. }) => {}
            Err(e) => panic!("replay to a sink failed: {e}"),
        }
    }
});
