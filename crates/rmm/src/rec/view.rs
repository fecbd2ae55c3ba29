//! The RMM state as the REC run loop sees it: a REC's run state, the realm behind [`RealmAccess`] (under the
//! state lock), and realm memory through stage 2 for the CPU model ([`RealmMem`], in `realm_mem`).

use super::access::{IpaWalk, RealmAccess, Ripas};
use super::state::RecRun;
use crate::Rmm;
use crate::measurement::HashAlgorithm;
use crate::realm::{Realm, RealmState};
use crate::rmm::RmmState;
use crate::s2tt::{self, S2Ctx};

pub(crate) use super::realm_mem::{MemGeneration, RealmMem, changes_realm_memory};

/// The run state of the REC at `rec`, made from its REC_CREATE values on first use.
pub(crate) fn rec_run_mut(st: &mut RmmState, rec: u64) -> Option<&mut RecRun> {
    let r = st.recs.get_mut(&rec)?;
    if r.run.is_none() {
        let mut run = RecRun::new(r.rd, r.rec_idx, r.mpidr, r.pc, &r.gprs, r.runnable);
        run.ctx.pstate = r.pstate;
        r.run = Some(run);
    }
    r.run.as_mut()
}

/// Take the run state of `rec` out for a run (a shell with its identity stays behind).
pub(crate) fn take_rec_run(st: &mut RmmState, rec: u64) -> Option<RecRun> {
    rec_run_mut(st, rec).map(RecRun::take_for_run)
}

/// Put back the run state after a run.
pub(crate) fn put_rec_run(st: &mut RmmState, rec: u64, run: RecRun) {
    if let Some(r) = st.recs.get_mut(&rec) {
        r.run = Some(run);
    }
}

/// The run states of two distinct RECs.
pub(crate) fn two_rec_runs_mut(
    st: &mut RmmState,
    a: u64,
    b: u64,
) -> Option<(&mut RecRun, &mut RecRun)> {
    rec_run_mut(st, a)?;
    rec_run_mut(st, b)?;
    let [ra, rb] = st.recs.get_disjoint_mut([&a, &b]);
    Some((ra?.run.as_mut()?, rb?.run.as_mut()?))
}

/// State of the realm at `rd` (`None`: no such realm).
pub(crate) fn realm_state(st: &RmmState, rd: u64) -> Option<RealmState> {
    st.realms.get(&rd).map(|r| r.state)
}

/// IPA width of the realm at `rd`.
pub(crate) fn ipa_bits(st: &RmmState, rd: u64) -> u32 {
    st.realms.get(&rd).map_or(0, |r| r.s2.ipa_bits)
}

/// The realm of one REC while the state lock is held.
#[derive(Debug)]
pub(crate) struct RealmView<'a> {
    rmm: &'a Rmm,
    st: &'a mut RmmState,
    rd: u64,
}

impl<'a> RealmView<'a> {
    /// The realm at `rd`.
    pub(crate) fn new(rmm: &'a Rmm, st: &'a mut RmmState, rd: u64) -> Self {
        Self { rmm, st, rd }
    }

    fn realm(&self) -> Option<&Realm> {
        self.st.realms.get(&self.rd)
    }

    /// The last-level entry for `ipa` and its level.
    fn leaf(&self, ipa: u64) -> Option<(u64, i64, s2tt::Walk)> {
        let s2 = &self.realm()?.s2;
        let w = s2.walk(&self.st.rtts, ipa, s2tt::PAGE_LEVEL);
        let e = self.st.rtts.get(&w.table).map_or(0, |t| t[w.index]);
        Some((e, w.level, w))
    }
}

/// RIPAS of an entry that has one (`s2tte_has_ripas` / `s2tte_get_ripas`); `None` for NS and table entries.
pub(crate) fn entry_ripas(e: u64, level: i64) -> Option<Ripas> {
    if S2Ctx::is_unassigned_ns(e) || S2Ctx::is_assigned_ns(e, level) || S2Ctx::is_table(e, level) {
        return None;
    }
    if S2Ctx::is_assigned_ram(e, level) {
        return Some(Ripas::Ram);
    }
    Some(match S2Ctx::ripas_field(e) {
        s2tt::RIPAS_RAM => Ripas::Ram,
        s2tt::RIPAS_DESTROYED => Ripas::Destroyed,
        _ => Ripas::Empty,
    })
}

impl RealmAccess for RealmView<'_> {
    fn attestation(&self) -> &realm_attest::SimulatedPlatform {
        self.rmm.attestation()
    }

    fn ipa_bits(&self) -> u32 {
        self.realm().map_or(0, |r| r.s2.ipa_bits)
    }

    fn hash_algo(&self) -> u8 {
        match self.realm().map(|r| r.measurements.algo()) {
            Some(HashAlgorithm::Sha512) => 1,
            _ => 0,
        }
    }

    fn rpv(&self) -> [u8; 64] {
        self.realm().map_or([0; 64], |r| r.rpv)
    }

    fn rec_count(&self) -> u64 {
        self.realm().map_or(0, |r| r.rec_count)
    }

    fn measurement(&self, idx: usize) -> [u8; 64] {
        self.realm()
            .and_then(|r| r.measurements.with(|m| m.slots.get(idx).copied()))
            .unwrap_or([0; 64])
    }

    fn set_measurement(&mut self, idx: usize, value: [u8; 64]) {
        if let Some(r) = self.st.realms.get(&self.rd) {
            r.measurements.with(|m| {
                if let Some(slot) = m.slots.get_mut(idx) {
                    *slot = value;
                }
            });
        }
    }

    fn system_off(&mut self) {
        if let Some(r) = self.st.realms.get_mut(&self.rd) {
            r.state = RealmState::SystemOff;
        }
    }

    fn ipa_to_pa(&self, ipa: u64) -> IpaWalk {
        let Some((e, level, _)) = self.leaf(ipa) else {
            return IpaWalk::Fail {
                level: 0,
                ripas: Ripas::Empty,
            };
        };
        let walk_level = i8::try_from(level).unwrap_or(0);
        if S2Ctx::is_assigned_ram(e, level) {
            let s2 = self.realm().map(|r| &r.s2);
            let base = s2.map_or(0, |s2| s2.pa(e, level));
            return IpaWalk::Ram {
                pa: base + (ipa & (s2tt::map_size(level) - 1)),
            };
        }
        let ripas = if S2Ctx::is_unassigned_destroyed(e) || S2Ctx::is_assigned_destroyed(e) {
            Ripas::Destroyed
        } else if S2Ctx::is_unassigned_ram(e) {
            Ripas::Ram
        } else {
            Ripas::Empty
        };
        IpaWalk::Fail {
            level: walk_level,
            ripas,
        }
    }

    fn ripas_run(&self, start: u64, end: u64) -> Option<(u64, Ripas)> {
        let (_, level, w) = self.leaf(start)?;
        let entries = self.realm()?.s2.entries(level);
        let table = self.st.rtts.get(&w.table)?;
        let size = s2tt::map_size(level);
        let first = start & !(size - 1);
        let mut addr = first;
        let mut ripas = None;
        for &e in table.iter().take(entries).skip(w.index) {
            let Some(this) = entry_ripas(e, level) else {
                break;
            };
            match ripas {
                None => ripas = Some(this),
                Some(r) if r != this => break,
                Some(_) => {}
            }
            addr += size;
            if addr >= end {
                break;
            }
        }
        if addr == first {
            None
        } else {
            ripas.map(|r| (addr, r))
        }
    }

    fn read_pa(&self, pa: u64, buf: &mut [u8]) {
        self.rmm.mem.read_in_granule(pa & !0xFFF, offset(pa), buf);
    }

    fn write_pa(&self, pa: u64, data: &[u8]) {
        self.rmm.mem.write_in_granule(pa & !0xFFF, offset(pa), data);
    }
}

fn offset(pa: u64) -> usize {
    usize::try_from(pa & 0xFFF).unwrap_or(0)
}
