//! A small in-memory realm behind [`RealmAccess`] for unit tests of the RSI, PSCI and exit handling.

use std::collections::HashMap;
use std::sync::Mutex;

use zerocopy::FromZeros as _;

use crate::abi::RmiRecExit;
use crate::cpu::RealmExit;
use crate::rec::access::{IpaWalk, RealmAccess, Ripas};
use crate::rec::run::exit::handle_realm_exit;
use crate::rec::state::RecRun;

/// The protected-range size of the fake realms the tests build (`ipa_bits` 39).
pub(crate) const PAR: u64 = 1 << 38;

/// A REC of the fake realm, with X4/X5 marked to check preservation.
pub(crate) fn rec(idx: u64) -> RecRun {
    let mut r = RecRun::new(0x1000, idx, idx, 0x100, &[], true);
    r.ctx.gprs[4] = 0x4444;
    r.ctx.gprs[5] = 0x5555;
    r
}

/// Execute an SMC with `regs` in X0..; returns (resumed, exit).
pub(crate) fn smc(rec: &mut RecRun, realm: &mut FakeRealm, regs: &[u64]) -> (bool, RmiRecExit) {
    rec.ctx.gprs[..regs.len()].copy_from_slice(regs);
    let mut exit = RmiRecExit::new_zeroed();
    let resumed = handle_realm_exit(rec, realm, &mut exit, RealmExit::Smc);
    (resumed, exit)
}

/// A realm: `ipa_bits`, granule entries by IPA, DATA contents by PA (PA = IPA + `PA_OFFSET` for RAM).
#[derive(Debug)]
pub(crate) struct FakeRealm {
    pub(crate) ipa_bits: u32,
    pub(crate) hash_algo: u8,
    pub(crate) rec_count: u64,
    pub(crate) system_off: bool,
    pub(crate) measurements: [[u8; 64]; 5],
    /// Entries of the protected granules that exist; absent IPAs walk to a level-2 unassigned-EMPTY entry.
    pub(crate) entries: HashMap<u64, IpaWalk>,
    pub(crate) mem: Mutex<HashMap<u64, u8>>,
}

pub(crate) const PA_OFFSET: u64 = 0x8000_0000;

impl FakeRealm {
    pub(crate) fn new(ipa_bits: u32) -> Self {
        Self {
            ipa_bits,
            hash_algo: 0,
            rec_count: 2,
            system_off: false,
            measurements: [[0; 64]; 5],
            entries: HashMap::new(),
            mem: Mutex::new(HashMap::new()),
        }
    }

    /// Make `[base, top)` assigned RAM.
    pub(crate) fn ram(mut self, base: u64, top: u64) -> Self {
        for ipa in (base..top).step_by(0x1000) {
            self.entries.insert(
                ipa,
                IpaWalk::Ram {
                    pa: ipa + PA_OFFSET,
                },
            );
        }
        self
    }

    /// Set the entry of one granule.
    pub(crate) fn entry(mut self, ipa: u64, walk: IpaWalk) -> Self {
        self.entries.insert(ipa, walk);
        self
    }

    pub(crate) fn read_u64(&self, pa: u64) -> u64 {
        let mut b = [0u8; 8];
        self.read_pa(pa, &mut b);
        u64::from_le_bytes(b)
    }
}

/// The attestation side of the fake realms' platform (the default seed), booted once per test binary.
pub(crate) fn fake_attestation() -> &'static realm_attest::SimulatedPlatform {
    static PLATFORM: std::sync::OnceLock<realm_attest::SimulatedPlatform> =
        std::sync::OnceLock::new();
    PLATFORM.get_or_init(|| {
        realm_attest::SimulatedPlatform::boot(
            &realm_platform::DEFAULT_ATTESTATION_SEED,
            realm_attest::TokenFormat::Rel0,
        )
    })
}

impl RealmAccess for FakeRealm {
    fn attestation(&self) -> &realm_attest::SimulatedPlatform {
        fake_attestation()
    }
    fn ipa_bits(&self) -> u32 {
        self.ipa_bits
    }
    fn hash_algo(&self) -> u8 {
        self.hash_algo
    }
    fn rpv(&self) -> [u8; 64] {
        [0x5A; 64]
    }
    fn rec_count(&self) -> u64 {
        self.rec_count
    }
    fn measurement(&self, idx: usize) -> [u8; 64] {
        self.measurements[idx]
    }
    fn set_measurement(&mut self, idx: usize, value: [u8; 64]) {
        self.measurements[idx] = value;
    }
    fn system_off(&mut self) {
        self.system_off = true;
    }
    fn ipa_to_pa(&self, ipa: u64) -> IpaWalk {
        self.entries.get(&ipa).copied().unwrap_or(IpaWalk::Fail {
            level: 2,
            ripas: Ripas::Empty,
        })
    }
    fn ripas_run(&self, start: u64, end: u64) -> Option<(u64, Ripas)> {
        let ripas_of = |ipa| match self.ipa_to_pa(ipa) {
            IpaWalk::Ram { .. } => Ripas::Ram,
            IpaWalk::Fail { ripas, .. } => ripas,
        };
        let first = ripas_of(start);
        let table_end = (start | 0x1F_FFFF) + 1;
        let mut top = start;
        while top < end && top < table_end && ripas_of(top) == first {
            top += 0x1000;
        }
        Some((top, first))
    }
    fn read_pa(&self, pa: u64, buf: &mut [u8]) {
        let mem = self
            .mem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = mem.get(&(pa + i as u64)).copied().unwrap_or(0);
        }
    }
    fn write_pa(&self, pa: u64, data: &[u8]) {
        let mut mem = self
            .mem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, b) in data.iter().enumerate() {
            mem.insert(pa + i as u64, *b);
        }
    }
}
