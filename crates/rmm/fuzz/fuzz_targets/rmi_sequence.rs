//! Fuzz target: a sequence of RMI calls whose arguments are either a granule of a small pool (so realms,
//! RTTs, DATA and RECs actually get built) or any u64. After every call the RMM's invariants must hold;
//! after the sequence a generic teardown must return every granule to NS.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realm_rmm::host::{HostMemory as _, Rmi as _, SmcRegs};
use realm_rmm::testing::{DRAM_BASE, RealmParams, World};

const POOL: u64 = 40;

#[derive(Debug, Arbitrary)]
enum Arg {
    Granule(u8),
    Ipa(u8),
    Small(u8),
    Any(u64),
}

impl Arg {
    fn value(&self) -> u64 {
        match *self {
            Arg::Granule(i) => DRAM_BASE + u64::from(i) % POOL * 0x1000,
            Arg::Ipa(i) => u64::from(i % 64) * 0x1000 + if i >= 128 { 1 << 39 } else { 0 },
            Arg::Small(v) => u64::from(v % 5),
            Arg::Any(v) => v,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Step {
    /// An RMI call: FID offset in the RMI range, up to five arguments.
    Call { fid: u8, args: Vec<Arg> },
    /// Write a realm-parameters page for a 39-bit realm rooted at a pool granule.
    RealmParams { at: u8, root: u8, vmid: u8 },
    /// Host bytes into a pool granule.
    Write { at: u8, byte: u8 },
}

fuzz_target!(|steps: Vec<Step>| {
    let w = World::new();
    for step in steps.iter().take(256) {
        match step {
            Step::Call { fid, args } => {
                let a: Vec<u64> = args.iter().take(5).map(Arg::value).collect();
                let _ = w.rmm.call(SmcRegs::call(0xC400_0150 + u32::from(fid % 0x1a), &a));
            }
            Step::RealmParams { at, root, vmid } => {
                let p = RealmParams { s2sz: 39, vmid: u16::from(*vmid % 4), ..RealmParams::default_sha256() };
                let root = DRAM_BASE + u64::from(*root) % POOL * 0x1000;
                let bytes = World::realm_params(&p, root);
                let _ = w.rmm.write(DRAM_BASE + u64::from(*at) % POOL * 0x1000, zerocopy::IntoBytes::as_bytes(&bytes));
            }
            Step::Write { at, byte } => {
                let _ = w.rmm.write(DRAM_BASE + u64::from(*at) % POOL * 0x1000, &[*byte; 64]);
            }
        }
        if let Err(e) = w.rmm.check_invariants() {
            panic!("invariant broken after {step:?}: {e}");
        }
    }
});
