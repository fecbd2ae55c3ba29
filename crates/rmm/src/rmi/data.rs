//! RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN, RMI_DATA_DESTROY — DEN0137 1.0-rel0 B4.3.
//!
//! Failure conditions in the order of TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rtt.c` (`data_create`,
//! `smc_data_destroy`). RMI_DATA_CREATE also has a batch form for [`crate::host::Rmi::call_many`] (runs of
//! DATA_CREATE, with or without the GRANULE_DELEGATE of each destination before it): the calls are applied
//! in order under one lock hold, the contents of the measured granules are hashed on
//! all cores and the RIM is extended in call order (pipelined with the hashing), so every status, granule
//! state and RIM equals the one-by-one result.

use rayon::prelude::*;

use super::rtt::{level_walk, table_mut};
use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::abi::{RMI_MEASURE_CONTENT, RMI_NO_MEASURE_CONTENT};
use crate::granule::GranuleState;
use crate::host::SmcRegs;
use crate::measurement::{DataHash, HashAlgorithm, HashExt as _, PageHashes, Slot};
use crate::memory::{Contents, bytes_of};
use crate::realm::RealmState;
use crate::rmm::RmmState;
use crate::s2tt::{OA_BITS, PAGE_LEVEL, S2Ctx, skip_non_live};

/// A DATA granule created, its measurement still to be done.
#[derive(Clone, Debug)]
pub(crate) struct DataCreated {
    rd: u64,
    ipa: u64,
    flags: u64,
    /// The realm's algorithm when the contents are measured (`None`: content hash zero).
    algo: Option<HashAlgorithm>,
    /// The source granule's contents, hashed where they are (`None` is all zero).
    contents: Option<Contents>,
}

impl DataCreated {
    /// The content hash (zero unless MEASURE_CONTENT), from `hashes` when it holds the source page; needs
    /// no RMM state, so it can run on any thread.
    fn content_hash(&self, hashes: &PageHashes) -> Slot {
        match self.algo {
            Some(algo) => hashes.hash(algo, self.contents.as_ref()),
            None => [0; 64],
        }
    }

    /// The content hashes of `ds`, in order: those measured with SHA-256 together, eight at a time as
    /// interleaved streams (`HashExt::hash_each`) straight from their contents, the others through
    /// [`DataCreated::content_hash`]. (A content hash is the hash of the bytes whether or not `hashes` holds
    /// the page: the cache only saves the work.)
    fn content_hashes(ds: &[Self], hashes: &PageHashes) -> Vec<Slot> {
        let sha256 = |d: &Self| d.algo == Some(HashAlgorithm::Sha256);
        let mut out: Vec<Slot> = ds
            .iter()
            .map(|d| {
                if sha256(d) {
                    [0; 64]
                } else {
                    d.content_hash(hashes)
                }
            })
            .collect();
        let lanes: Vec<usize> = (0..ds.len()).filter(|&i| sha256(&ds[i])).collect();
        let bytes: Vec<&[u8]> = lanes
            .iter()
            .map(|&i| &bytes_of(ds[i].contents.as_ref())[..])
            .collect();
        let mut slots = vec![[0; 64]; lanes.len()];
        HashAlgorithm::Sha256.hash_each(&bytes, &mut slots);
        for (&i, slot) in lanes.iter().zip(slots) {
            out[i] = slot;
        }
        out
    }

    /// The content hash for the measurement pipeline: known when not measured or already in `hashes`.
    fn into_data_hash(self, hashes: &PageHashes) -> DataHash {
        match self.algo {
            None => DataHash::Known([0; 64]),
            Some(algo) => hashes
                .ready(algo, self.contents.as_ref())
                .map_or(DataHash::Todo(self.contents), DataHash::Known),
        }
    }
}

/// The checks and state change shared by DATA_CREATE (`src = Some`) and DATA_CREATE_UNKNOWN (TF-RMM
/// `data_create`): `data` DELEGATED and `rd` an RD → INPUT; (DATA_CREATE only) realm not NEW → REALM; `ipa`
/// outside the protected half or not page aligned → INPUT; `data` above 48 bits without LPA2 → INPUT; the
/// walk stops above level 3 → RTT(walk level); the entry not unassigned → RTT(3).
fn data_create_common(
    rmm: &Rmm,
    st: &mut RmmState,
    a: &RawArgs,
    src: Option<u64>,
) -> Result<DataCreated, RmiError> {
    let (rd, data, ipa) = (a.arg(1), a.arg(2), a.arg(3));
    if data == rd
        || !st.found(rmm, data, GranuleState::Delegated)
        || !st.found(rmm, rd, GranuleState::Rd)
    {
        return Err(RmiError::INPUT);
    }
    let realm = st.realms.get(&rd).ok_or(RmiError::INPUT)?;
    if src.is_some() && realm.state != RealmState::New {
        return Err(RmiError::REALM);
    }
    let (s2, algo) = (realm.s2, realm.measurements.algo());
    if !s2.in_par(ipa) || !s2.valid_map_addr(ipa, PAGE_LEVEL) {
        return Err(RmiError::INPUT);
    }
    if !s2.lpa2 && data >= 1 << OA_BITS {
        return Err(RmiError::INPUT);
    }
    let w = level_walk(st, &s2, ipa, PAGE_LEVEL)?;
    let t = table_mut(st, w.table)?;
    let e = t[w.index];
    if !S2Ctx::is_unassigned(e) {
        return Err(RmiError::rtt(PAGE_LEVEL));
    }
    t[w.index] = match src {
        Some(_) => s2.assigned(data, PAGE_LEVEL, crate::s2tt::RIPAS_RAM),
        None => s2.assigned(data, PAGE_LEVEL, S2Ctx::ripas_field(e)),
    };
    let contents = src.and_then(|src| rmm.mem.copy_granule(src, data));
    st.granules.refcount_add(w.table, 1);
    st.granules.set_state(data, GranuleState::Data);
    let flags = a.arg(5);
    Ok(DataCreated {
        rd,
        ipa,
        flags,
        algo: (src.is_some() && flags == RMI_MEASURE_CONTENT).then_some(algo),
        contents,
    })
}

/// DATA_CREATE's own first checks: `flags` not 0/1 → INPUT; `src` not an NS DRAM granule → INPUT.
fn data_create_locked(rmm: &Rmm, st: &mut RmmState, a: &RawArgs) -> Result<DataCreated, RmiError> {
    let (src, flags) = (a.arg(4), a.arg(5));
    if flags != RMI_NO_MEASURE_CONTENT && flags != RMI_MEASURE_CONTENT {
        return Err(RmiError::INPUT);
    }
    if !st.found(rmm, src, GranuleState::Undelegated) {
        return Err(RmiError::INPUT);
    }
    data_create_common(rmm, st, a, Some(src))
}

fn extend(st: &RmmState, d: &DataCreated, content: &Slot) {
    if let Some(r) = st.realms.get(&d.rd) {
        r.measurements
            .with(|m| m.extend_data(d.ipa, d.flags, content));
    }
}

/// RMI_DATA_CREATE(rd, data, ipa, src, flags): copy the NS granule `src` into `data`, map it at `ipa` as
/// assigned_ram and extend the RIM (content hash only with MEASURE_CONTENT). The extension is queued on
/// the realm's measurement pipeline: the RMM's hash pool hashes the contents after this returns, and
/// every reader of the measurements waits for it ([`crate::measurement::MeasurementChain`]).
pub(crate) fn data_create(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let mut st = rmm.lock();
    let d = data_create_locked(rmm, &mut st, a)?;
    if let Some(r) = st.realms.get(&d.rd) {
        let (ipa, flags) = (d.ipa, d.flags);
        let hash = d.into_data_hash(&rmm.page_hashes);
        r.measurements
            .extend_data(rmm.hash_pool(), ipa, flags, hash);
    }
    Ok(Reply::OK)
}

/// Calls per step of the batch pipeline: while the pool hashes the contents of one step, this thread chains
/// the RIM over the previous step's and applies the next step's calls.
const BATCH_STEP: usize = 1024;

/// Apply `calls` in order until one fails (setting `failed`); push every reply, return the created granules.
fn apply_step(
    rmm: &Rmm,
    st: &mut RmmState,
    calls: Option<&[SmcRegs]>,
    replies: &mut Vec<Reply>,
    failed: &mut bool,
) -> Vec<DataCreated> {
    let calls = calls.unwrap_or_default();
    let mut done = Vec::with_capacity(calls.len());
    for regs in calls {
        match apply_call(rmm, st, regs, replies) {
            Ok(d) => done.extend(d),
            Err(()) => {
                *failed = true;
                break;
            }
        }
    }
    done
}

/// Apply one batch call and push its reply: the DATA granule it created (`None` for a GRANULE_DELEGATE),
/// or `Err` if it failed.
fn apply_call(
    rmm: &Rmm,
    st: &mut RmmState,
    regs: &SmcRegs,
    replies: &mut Vec<Reply>,
) -> Result<Option<DataCreated>, ()> {
    let a = &RawArgs { x: regs.x };
    let result = if is_delegate(a) {
        super::granule::granule_delegate_locked(rmm, st, a).map(|_| None)
    } else {
        data_create_locked(rmm, st, a).map(Some)
    };
    match result {
        Ok(d) => {
            replies.push(Reply::OK);
            Ok(d)
        }
        Err(e) => {
            replies.push(e.into());
            Err(())
        }
    }
}

/// Whether a batch call is RMI_GRANULE_DELEGATE (the others are RMI_DATA_CREATE).
fn is_delegate(a: &RawArgs) -> bool {
    super::command(a.x[0]).is_some_and(|c| c.fid == crate::abi::RMI_GRANULE_DELEGATE)
}

/// A run of RMI_DATA_CREATE calls, possibly interleaved with the RMI_GRANULE_DELEGATE of their
/// destinations (the kernel's populate sequence), applied in order, stopping after the first failure;
/// returns the reply of every call made. A three-stage pipeline under one lock hold: apply step k+1 and
/// chain the RIM over step k-1 (in call order, on this thread) while the pool hashes the contents of step k. Nothing outside the
/// lock can observe the interleaving, and the RIM chain and states are those of the calls one by one.
pub(crate) fn data_create_batch(rmm: &Rmm, calls: &[SmcRegs]) -> Vec<Reply> {
    let mut guard = rmm.lock();
    let st = &mut *guard;
    let mut replies = Vec::with_capacity(calls.len());
    let mut failed = false;
    if !rmm.page_hashes.is_empty() {
        batch_prehashed(rmm, st, calls, &mut replies);
        return replies;
    }
    let cache = &rmm.page_hashes;
    let mut steps = calls.chunks(BATCH_STEP);
    rmm.on_hash_pool(|| {
        let mut applied = apply_step(rmm, st, steps.next(), &mut replies, &mut failed);
        let mut hashed: Option<(Vec<DataCreated>, Vec<Slot>)> = None;
        while !applied.is_empty() || hashed.is_some() {
            let next = if failed { None } else { steps.next() };
            let (next_applied, hashes) = rayon::join(
                || {
                    if let Some((ds, hs)) = hashed.take() {
                        for (d, h) in ds.iter().zip(&hs) {
                            extend(st, d, h);
                        }
                    }
                    apply_step(rmm, st, next, &mut replies, &mut failed)
                },
                || {
                    applied
                        .par_chunks(4 * realm_sha::LANES)
                        .flat_map_iter(|group| DataCreated::content_hashes(group, cache))
                        .collect::<Vec<Slot>>()
                },
            );
            hashed = (!applied.is_empty()).then_some((applied, hashes));
            applied = next_applied;
        }
    });
    replies
}

/// [`data_create_batch`] while the RMM's pool is hashing pinned source pages ahead
/// ([`crate::Rmm::prehash`]): this thread applies each call and chains the RIM over it in call order, the
/// content hashes taken from the cache (waiting for a page being hashed now, hashing one nobody has
/// started) or, for contents the cache does not hold (copied pages), hashed here: the pool's threads are
/// busy hashing ahead, and keep at it meanwhile. Each call is chained as soon as it is applied.
fn batch_prehashed(rmm: &Rmm, st: &mut RmmState, calls: &[SmcRegs], replies: &mut Vec<Reply>) {
    for regs in calls {
        match apply_call(rmm, st, regs, replies) {
            Ok(Some(d)) => extend(st, &d, &d.content_hash(&rmm.page_hashes)),
            Ok(None) => {}
            Err(()) => return,
        }
    }
}

/// RMI_DATA_CREATE_UNKNOWN(rd, data, ipa): map `data` at `ipa` keeping the entry's RIPAS; not measured, no
/// realm-state check.
pub(crate) fn data_create_unknown(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let mut st = rmm.lock();
    data_create_common(rmm, &mut st, a, None)?;
    Ok(Reply::OK)
}

/// RMI_DATA_DESTROY(rd, ipa) → data_pa, top.
///
/// Failure conditions: `rd` not an RD → INPUT (top 0); `ipa` outside the protected half or not page aligned
/// → INPUT (top 0); walk stops above level 3 → RTT(walk level); entry not assigned → RTT(3). On RTT errors
/// and success, `top` is the next live entry's IPA (TF-RMM `s2tt_skip_non_live_entries`).
pub(crate) fn data_destroy(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa) = (a.arg(1), a.arg(2));
    let mut st = rmm.lock();
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    let s2 = st.realms.get(&rd).ok_or(RmiError::INPUT)?.s2;
    if !s2.in_par(ipa) || !s2.valid_map_addr(ipa, PAGE_LEVEL) {
        return Err(RmiError::INPUT);
    }
    let w = s2.walk(&st.rtts, ipa, PAGE_LEVEL);
    let t = table_mut(&mut st, w.table)?;
    if w.level != PAGE_LEVEL {
        let top = skip_non_live(t, ipa, &w);
        return Ok(Reply::error_with(RmiError::rtt(w.level), [0, top, 0, 0]));
    }
    let e = t[w.index];
    let new = if S2Ctx::is_assigned_ram(e, PAGE_LEVEL) || S2Ctx::is_assigned_destroyed(e) {
        S2Ctx::unassigned(crate::s2tt::RIPAS_DESTROYED)
    } else if S2Ctx::is_assigned_empty(e) {
        S2Ctx::unassigned(crate::s2tt::RIPAS_EMPTY)
    } else {
        let top = skip_non_live(t, ipa, &w);
        return Ok(Reply::error_with(RmiError::rtt(PAGE_LEVEL), [0, top, 0, 0]));
    };
    let data = s2.pa(e, PAGE_LEVEL);
    t[w.index] = new;
    let top = skip_non_live(t, ipa, &w);
    st.granules.refcount_add(w.table, -1);
    st.granules.set_state(data, GranuleState::Delegated);
    rmm.mem.zero(data);
    Ok(Reply::outputs([data, top, 0, 0]))
}
