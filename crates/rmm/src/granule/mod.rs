//! Granule tracking: the state of every DRAM granule and its reference count.
//!
//! Modelled on TF-RMM `rmm-spec-v1.0-rel0` `lib/granule`: states NS (here `Undelegated`), DELEGATED, RD,
//! REC, REC_AUX, DATA, RTT. Absent entries are `Undelegated` with refcount 0, so tracking is sparse.
//! Metadata is stored in contiguous 2 MiB chunks (512 granules), so runs of neighbouring granules cost
//! one map lookup and share cache lines. Reference counts: an RD counts its RECs; an RTT counts its live entries (see `s2tt`); a REC counts
//! whether it is running.
//!
//! All metadata sits behind the RMM's one state lock, taken before any memory shard lock.

use crate::memory::{PaMap, granule_aligned};

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

/// Granules per chunk: one 2 MiB block of 4 KiB granules.
const CHUNK_GRANULES: usize = 512;
/// log2 of a chunk's size in bytes (2 MiB).
const CHUNK_SHIFT: u32 = 21;

/// The metadata of one 2 MiB block, contiguous so neighbouring granules (a realm's DATA pages, its RTTs)
/// share cache lines and one map lookup.
#[derive(Debug)]
struct Chunk {
    entries: [GranuleInfo; CHUNK_GRANULES],
    /// Entries not `Undelegated`.
    tracked: usize,
}

/// The granule table: a sparse map of 2 MiB chunks of contiguous metadata.
#[derive(Debug, Default)]
pub(crate) struct Granules {
    chunks: PaMap<Box<Chunk>>,
    tracked: usize,
}

/// The chunk key and index within the chunk of the aligned address `pa`.
fn split(pa: u64) -> (u64, usize) {
    // The mask keeps the index below 512.
    let idx = usize::try_from((pa >> 12) & (CHUNK_GRANULES as u64 - 1)).unwrap_or(0);
    (pa >> CHUNK_SHIFT, idx)
}

impl Granules {
    fn get(&self, pa: u64) -> Option<&GranuleInfo> {
        if !granule_aligned(pa) {
            return None;
        }
        let (key, idx) = split(pa);
        self.chunks.get(&key).map(|c| &c.entries[idx])
    }

    /// State of the granule at `pa` (aligned).
    pub(crate) fn state(&self, pa: u64) -> GranuleState {
        self.get(pa).map_or(GranuleState::Undelegated, |g| g.state)
    }

    /// Reference count of the granule at `pa`.
    pub(crate) fn refcount(&self, pa: u64) -> u64 {
        self.get(pa).map_or(0, |g| g.refcount)
    }

    /// Move the granule at `pa` to `to`; its refcount restarts at zero. Disallowed transitions are a bug
    /// in a handler (checked in debug builds); they are applied anyway so state stays consistent with PAS.
    pub(crate) fn set_state(&mut self, pa: u64, to: GranuleState) {
        let from = self.state(pa);
        debug_assert!(
            GranuleState::transition_allowed(from, to),
            "{from:?} -> {to:?} at {pa:#x}"
        );
        debug_assert!(granule_aligned(pa), "unaligned granule {pa:#x}");
        let (key, idx) = split(pa);
        let was = from != GranuleState::Undelegated;
        let is = to != GranuleState::Undelegated;
        if !is {
            if let Some(c) = self.chunks.get_mut(&key) {
                c.entries[idx] = GranuleInfo::default();
                if was {
                    c.tracked -= 1;
                    self.tracked -= 1;
                }
                if c.tracked == 0 {
                    self.chunks.remove(&key);
                }
            }
            return;
        }
        let c = self.chunks.entry(key).or_insert_with(|| {
            Box::new(Chunk {
                entries: [GranuleInfo::default(); CHUNK_GRANULES],
                tracked: 0,
            })
        });
        c.entries[idx] = GranuleInfo {
            state: to,
            refcount: 0,
        };
        if !was {
            c.tracked += 1;
            self.tracked += 1;
        }
    }

    /// Add `delta` (may be negative) to the refcount of `pa`.
    pub(crate) fn refcount_add(&mut self, pa: u64, delta: i64) {
        let (key, idx) = split(pa);
        match self.chunks.get_mut(&key).map(|c| &mut c.entries[idx]) {
            Some(g) if g.state != GranuleState::Undelegated && granule_aligned(pa) => {
                g.refcount = g.refcount.saturating_add_signed(delta);
            }
            _ => debug_assert!(false, "refcount change on untracked granule {pa:#x}"),
        }
    }

    /// Every tracked (non-NS) granule.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, GranuleInfo)> + '_ {
        self.chunks.iter().flat_map(|(key, c)| {
            c.entries
                .iter()
                .zip(0u64..)
                .filter(|(g, _)| g.state != GranuleState::Undelegated)
                .map(move |(g, i)| ((key << CHUNK_SHIFT) | (i << 12), *g))
        })
    }

    /// Number of tracked (Realm PAS) granules.
    pub(crate) fn len(&self) -> usize {
        self.tracked
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
