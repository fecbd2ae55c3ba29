//! The invariant checker behind [`crate::Rmm::check_invariants`].

use std::collections::{HashMap, HashSet};

use crate::Rmm;
use crate::granule::GranuleState;
use crate::rmm::RmmState;
use crate::s2tt::{PAGE_LEVEL, S2Ctx};

fn expect(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Check `st` (see `Rmm::check_invariants`).
pub(crate) fn check(rmm: &Rmm, st: &RmmState) -> Result<(), String> {
    let mut tracked: Vec<u64> = st.granules.iter().map(|(pa, _)| pa).collect();
    tracked.sort_unstable();
    let realm = rmm.mem.realm_granules();
    expect(tracked == realm, || {
        format!(
            "granule tracking ({}) and Realm PAS ({}) disagree",
            tracked.len(),
            realm.len()
        )
    })?;
    let mut by_state: HashMap<GranuleState, HashSet<u64>> = HashMap::new();
    for (pa, g) in st.granules.iter() {
        expect(rmm.mem.is_granule(pa), || {
            format!("tracked granule {pa:#x} is not a DRAM granule")
        })?;
        by_state.entry(g.state).or_default().insert(pa);
    }
    let set = |s: GranuleState| by_state.get(&s).cloned().unwrap_or_default();
    let keys = |m: Vec<u64>| m.into_iter().collect::<HashSet<u64>>();
    expect(
        set(GranuleState::Rd) == keys(st.realms.keys().copied().collect()),
        || "RD granules and realms differ".into(),
    )?;
    expect(
        set(GranuleState::Rec) == keys(st.recs.keys().copied().collect()),
        || "REC granules and RECs differ".into(),
    )?;
    expect(
        set(GranuleState::Rtt) == keys(st.rtts.keys().copied().collect()),
        || "RTT granules and tables differ".into(),
    )?;
    let aux: HashSet<u64> = st
        .recs
        .values()
        .flat_map(|r| r.aux.iter().copied())
        .collect();
    expect(set(GranuleState::RecAux) == aux, || {
        "REC_AUX granules and RECs' aux lists differ".into()
    })?;
    for g in set(GranuleState::Delegated) {
        expect(st.granules.refcount(g) == 0, || {
            format!("delegated granule {g:#x} has a refcount")
        })?;
    }
    for (rd, r) in &st.realms {
        let recs = st.recs.values().filter(|rec| rec.rd == *rd).count() as u64;
        expect(st.granules.refcount(*rd) == recs, || {
            format!("RD {rd:#x} refcount is not its REC count")
        })?;
        expect(st.vmids.contains(&r.s2.vmid), || {
            format!("realm {rd:#x} VMID not reserved")
        })?;
        check_tree(st, &r.s2)?;
    }
    expect(st.vmids.len() == st.realms.len(), || {
        "VMIDs reserved without a realm".into()
    })?;
    Ok(())
}

/// Walk one realm's RTT tree: refcounts and what entries point at.
fn check_tree(st: &RmmState, s2: &S2Ctx) -> Result<(), String> {
    let mut stack: Vec<(u64, i64)> = (0..u64::from(s2.num_root_rtts))
        .map(|i| (s2.rtt_base + i * 0x1000, s2.start_level))
        .collect();
    while let Some((pa, level)) = stack.pop() {
        let t = st
            .rtts
            .get(&pa)
            .ok_or_else(|| format!("RTT {pa:#x} has no table"))?;
        let mut live = 0u64;
        for e in t.iter() {
            if S2Ctx::is_table(*e, level) {
                let child = s2.pa(*e, level);
                expect(st.granules.state(child) == GranuleState::Rtt, || {
                    format!("table entry to non-RTT {child:#x}")
                })?;
                stack.push((child, level + 1));
                live += 1;
            } else if S2Ctx::is_assigned_ns(*e, level) {
                // Not counted.
            } else if S2Ctx::is_live(*e) {
                live += 1;
                if level == PAGE_LEVEL {
                    let d = s2.pa(*e, level);
                    expect(st.granules.state(d) == GranuleState::Data, || {
                        format!("page entry to non-DATA {d:#x}")
                    })?;
                }
            }
        }
        expect(st.granules.refcount(pa) == live, || {
            format!(
                "RTT {pa:#x} refcount {} but {live} live entries",
                st.granules.refcount(pa)
            )
        })?;
    }
    Ok(())
}
