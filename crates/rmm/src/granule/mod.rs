//! Granule tracking: the state of every DRAM granule and its reference count.
//!
//! Modelled on TF-RMM `rmm-spec-v1.0-rel0` `lib/granule`: states NS (here `Undelegated`), DELEGATED, RD,
//! REC, REC_AUX, DATA, RTT. Absent entries are `Undelegated` with refcount 0, so tracking is sparse.
//! Reference counts: an RD counts its RECs; an RTT counts its live entries (see `s2tt`); a REC counts
//! whether it is running.
//!
//! All metadata sits behind the RMM's one state lock, taken before any memory shard lock.

use crate::memory::PaMap;

/// The state of a granule — DEN0137 1.0-rel0 A2.2 / TF-RMM `enum granule_state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GranuleState {
    /// `NS`: in the Non-secure PAS (UNDELEGATED).
    #[default]
    Undelegated,
    /// `DELEGATED`: in the Realm PAS, free.
    Delegated,
    /// `RD`: a Realm Descriptor.
    Rd,
    /// `REC`: a Realm Execution Context.
    Rec,
    /// `REC_AUX`: an auxiliary granule of a REC.
    RecAux,
    /// `DATA`: realm memory.
    Data,
    /// `RTT`: a Realm Translation Table.
    Rtt,
}

impl GranuleState {
    /// Whether the state machine allows `from → to` (TF-RMM's transitions at v1.0).
    pub fn transition_allowed(from: Self, to: Self) -> bool {
        use GranuleState::*;
        matches!(
            (from, to),
            (Undelegated, Delegated)
                | (Delegated, Undelegated)
                | (Delegated, Rd | Rec | RecAux | Data | Rtt)
                | (Rd | Rec | RecAux | Data | Rtt, Delegated)
        )
    }

    /// Whether granules in this state are in the Realm PAS.
    pub fn is_realm(self) -> bool {
        self != Self::Undelegated
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GranuleInfo {
    pub(crate) state: GranuleState,
    pub(crate) refcount: u64,
}

/// The granule table.
#[derive(Debug, Default)]
pub(crate) struct Granules {
    map: PaMap<GranuleInfo>,
}

impl Granules {
    /// State of the granule at `pa` (aligned).
    pub(crate) fn state(&self, pa: u64) -> GranuleState {
        self.map
            .get(&pa)
            .map_or(GranuleState::Undelegated, |g| g.state)
    }

    /// Reference count of the granule at `pa`.
    pub(crate) fn refcount(&self, pa: u64) -> u64 {
        self.map.get(&pa).map_or(0, |g| g.refcount)
    }

    /// Move the granule at `pa` to `to`; its refcount restarts at zero. Disallowed transitions are a bug
    /// in a handler (checked in debug builds); they are applied anyway so state stays consistent with PAS.
    pub(crate) fn set_state(&mut self, pa: u64, to: GranuleState) {
        let from = self.state(pa);
        debug_assert!(
            GranuleState::transition_allowed(from, to),
            "{from:?} -> {to:?} at {pa:#x}"
        );
        if to == GranuleState::Undelegated {
            self.map.remove(&pa);
        } else {
            self.map.insert(
                pa,
                GranuleInfo {
                    state: to,
                    refcount: 0,
                },
            );
        }
    }

    /// Add `delta` (may be negative) to the refcount of `pa`.
    pub(crate) fn refcount_add(&mut self, pa: u64, delta: i64) {
        if let Some(g) = self.map.get_mut(&pa) {
            g.refcount = g.refcount.saturating_add_signed(delta);
        } else {
            debug_assert!(false, "refcount change on untracked granule {pa:#x}");
        }
    }

    /// Every tracked (non-NS) granule.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, GranuleInfo)> + '_ {
        self.map.iter().map(|(pa, g)| (*pa, *g))
    }

    /// Number of tracked (Realm PAS) granules.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::GranuleState::{self, *};

    #[test]
    fn transition_truth_table() {
        let all = [Undelegated, Delegated, Rd, Rec, RecAux, Data, Rtt];
        for from in all {
            for to in all {
                let expected = match (from, to) {
                    (Undelegated, Delegated) | (Delegated, Undelegated) => true,
                    (Delegated, t) => t != Undelegated && t != Delegated,
                    (f, Delegated) => f != Undelegated,
                    _ => false,
                };
                assert_eq!(
                    GranuleState::transition_allowed(from, to),
                    expected,
                    "{from:?}->{to:?}"
                );
            }
        }
    }
}
