//! Realm measurements: the RIM and its extension descriptors, and the REMs.
//!
//! DEN0137 1.0-rel0 (RMI_REALM_CREATE, RMI_DATA_CREATE, RMI_REC_CREATE, RMI_RTT_INIT_RIPAS) as TF-RMM
//! `rmm-spec-v1.0-rel0` `lib/measurement/src/{rim.c,measurement_descs.h}` computes them: every extension
//! hashes a zeroed 0x100-byte descriptor holding the current RIM in a 64-byte field (zero-padded for
//! SHA-256); the initial RIM hashes a zeroed 0x1000-byte `RmiRealmParams` with seven fields copied.

use sha2::{Digest as _, Sha256, Sha512};
use zerocopy::{FromZeros as _, IntoBytes as _};

pub use crate::abi::HashAlgorithm;
use crate::abi::{RmiRealmParams, RmiRecParams};

mod page_hashes;
mod pipeline;
pub(crate) use page_hashes::PageHashes;
pub(crate) use pipeline::{DataHash, MAX_PENDING, MeasurementChain};

/// Size of a measurement slot.
pub const MAX_MEASUREMENT_SIZE: usize = 64;
/// One measurement slot (digest bytes then zero padding).
pub(crate) type Slot = [u8; MAX_MEASUREMENT_SIZE];

const DESC_SIZE: usize = 0x100;
const DESC_TYPE_DATA: u8 = 0;
const DESC_TYPE_REC: u8 = 1;
const DESC_TYPE_RIPAS: u8 = 2;

/// Hashing with a realm's [`HashAlgorithm`] (the enum is the ABI's, in `realm-rmi`).
pub(crate) trait HashExt {
    /// Hash `data` into a zero-padded slot.
    fn hash(self, data: &[u8]) -> Slot;

    /// `out[i] = self.hash(msgs[i])` for each `i` below `msgs.len().min(out.len())`: SHA-256 messages of
    /// equal length [`realm_sha::LANES`] at a time as interleaved streams ([`realm_sha::sha256_each`]).
    fn hash_each(self, msgs: &[&[u8]], out: &mut [Slot]);
}

impl HashExt for HashAlgorithm {
    fn hash(self, data: &[u8]) -> Slot {
        let mut out = [0; MAX_MEASUREMENT_SIZE];
        match self {
            Self::Sha256 => out[..32].copy_from_slice(&Sha256::digest(data)),
            Self::Sha512 => out.copy_from_slice(&Sha512::digest(data)),
        }
        out
    }

    fn hash_each(self, msgs: &[&[u8]], out: &mut [Slot]) {
        if self != Self::Sha256 {
            for (slot, m) in out.iter_mut().zip(msgs) {
                *slot = self.hash(m);
            }
            return;
        }
        let mut digests = [[0; 32]; realm_sha::LANES];
        for (group, slots) in msgs
            .chunks(realm_sha::LANES)
            .zip(out.chunks_mut(realm_sha::LANES))
        {
            realm_sha::sha256_each(group, &mut digests);
            for (slot, d) in slots.iter_mut().zip(&digests[..group.len()]) {
                *slot = [0; MAX_MEASUREMENT_SIZE];
                slot[..32].copy_from_slice(d);
            }
        }
    }
}

/// A realm's measurements as tools read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurements {
    /// The realm's algorithm.
    pub hash_algo: HashAlgorithm,
    /// The RIM (digest-length bytes).
    pub rim: Vec<u8>,
    /// REM0..REM3 (digest-length bytes each).
    pub rems: [Vec<u8>; 4],
}

/// What one RIM extension measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeasurementKind {
    /// RMI_REALM_CREATE: the RIM's initial value.
    RealmCreate,
    /// RMI_DATA_CREATE at `ipa` with `flags`; `content_hash` is zero unless MEASURE_CONTENT.
    Data {
        /// IPA.
        ipa: u64,
        /// `RmiDataMeasureContent` value.
        flags: u64,
        /// Hash of the granule's contents (digest-length bytes).
        content_hash: Vec<u8>,
    },
    /// RMI_REC_CREATE of a runnable REC; `content_hash` is the hash of the measured `RmiRecParams`.
    Rec {
        /// Hash of the measured REC parameters (digest-length bytes).
        content_hash: Vec<u8>,
    },
    /// RMI_RTT_INIT_RIPAS, one RTT entry `[base, top)`.
    Ripas {
        /// Base IPA.
        base: u64,
        /// Top IPA.
        top: u64,
    },
}

/// One RIM extension and the RIM after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasurementEvent {
    /// What was measured.
    pub kind: MeasurementKind,
    /// The RIM after this event (digest-length bytes).
    pub rim_after: Vec<u8>,
}

/// A compact log record: what was measured, without the content digest (kept in
/// [`RealmMeasurements::digests`]) or the RIM after it (recomputed by [`RealmMeasurements::events`]), so a
/// DATA_CREATE appends 24 + digest-length bytes instead of two 64-byte slots.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LogRecord {
    RealmCreate,
    Data { ipa: u64, flags: u64 },
    Rec,
    Ripas { base: u64, top: u64 },
}

/// A realm's measurement state.
#[derive(Clone, Debug)]
pub(crate) struct RealmMeasurements {
    pub(crate) algo: HashAlgorithm,
    /// Slot 0 = RIM, 1..=4 = REM0..REM3.
    pub(crate) slots: [Slot; 5],
    /// The RIM set by RMI_REALM_CREATE, where [`Self::events`] starts its replay.
    initial_rim: Slot,
    /// Every RIM extension in order (the first is `RealmCreate`).
    log: Chunked<LogRecord, 4096>,
    /// The content digests of the `Data` and `Rec` records in order, digest-length bytes each (a chunk's
    /// capacity is a multiple of every digest length, so no digest straddles two chunks).
    digests: Chunked<u8, 0x1_0000>,
}

/// An append-only sequence in chunks of `CAP` elements, each allocated whole: growing it never moves what
/// is stored (a single `Vec` would copy the whole log at every doubling), so an append is constant time.
#[derive(Clone, Debug)]
struct Chunked<T, const CAP: usize> {
    chunks: Vec<Vec<T>>,
}

impl<T, const CAP: usize> Default for Chunked<T, CAP> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T: Copy, const CAP: usize> Chunked<T, CAP> {
    fn push(&mut self, v: T) {
        self.extend_from_slice(std::slice::from_ref(&v));
    }

    /// Append `vs` (its length dividing `CAP`, so it never straddles two chunks).
    fn extend_from_slice(&mut self, vs: &[T]) {
        match self.chunks.last_mut() {
            Some(c) if c.len() + vs.len() <= CAP => c.extend_from_slice(vs),
            _ => {
                let mut c = Vec::with_capacity(CAP);
                c.extend_from_slice(vs);
                self.chunks.push(c);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flatten()
    }
}

fn desc(ty: u8, rim: &Slot) -> [u8; DESC_SIZE] {
    let mut d = [0u8; DESC_SIZE];
    d[0] = ty;
    d[0x08..0x10].copy_from_slice(&(DESC_SIZE as u64).to_le_bytes());
    d[0x10..0x50].copy_from_slice(rim);
    d
}

/// TF-RMM `measurement_data_granule_measure`'s descriptor: RIM, IPA, flags, content hash.
fn data_desc(rim: &Slot, ipa: u64, flags: u64, content: &Slot) -> [u8; DESC_SIZE] {
    let mut d = desc(DESC_TYPE_DATA, rim);
    d[0x50..0x58].copy_from_slice(&ipa.to_le_bytes());
    d[0x58..0x60].copy_from_slice(&flags.to_le_bytes());
    d[0x60..0xa0].copy_from_slice(content);
    d
}

/// TF-RMM `measurement_rec_params_measure`'s descriptor: RIM, hash of the measured REC parameters.
fn rec_desc(rim: &Slot, content: &Slot) -> [u8; DESC_SIZE] {
    let mut d = desc(DESC_TYPE_REC, rim);
    d[0x50..0x90].copy_from_slice(content);
    d
}

/// TF-RMM `measurement_init_ripas_measure`'s descriptor: RIM, base, top.
fn ripas_desc(rim: &Slot, base: u64, top: u64) -> [u8; DESC_SIZE] {
    let mut d = desc(DESC_TYPE_RIPAS, rim);
    d[0x50..0x58].copy_from_slice(&base.to_le_bytes());
    d[0x58..0x60].copy_from_slice(&top.to_le_bytes());
    d
}

/// The RIM's initial value for `params` (TF-RMM `measurement_realm_params_measure`).
pub(crate) fn realm_params_rim(algo: HashAlgorithm, p: &RmiRealmParams) -> Slot {
    let mut m = RmiRealmParams::new_zeroed();
    m.flags = p.flags;
    m.s2sz = p.s2sz;
    m.sve_vl = p.sve_vl;
    m.num_bps = p.num_bps;
    m.num_wps = p.num_wps;
    m.pmu_num_ctrs = p.pmu_num_ctrs;
    m.hash_algo = p.hash_algo;
    algo.hash(m.as_bytes())
}

impl RealmMeasurements {
    /// Measurements initialised by RMI_REALM_CREATE.
    pub(crate) fn new(algo: HashAlgorithm, params: &RmiRealmParams) -> Self {
        let rim = realm_params_rim(algo, params);
        Self {
            algo,
            slots: [rim, [0; 64], [0; 64], [0; 64], [0; 64]],
            initial_rim: rim,
            log: {
                let mut log = Chunked::default();
                log.push(LogRecord::RealmCreate);
                log
            },
            digests: Chunked::default(),
        }
    }

    fn extend(&mut self, d: &[u8; DESC_SIZE], rec: LogRecord) {
        self.slots[0] = self.algo.hash(d);
        self.log.push(rec);
    }

    fn push_digest(&mut self, content: &Slot) {
        self.digests
            .extend_from_slice(&content[..self.algo.digest_len()]);
    }

    /// Extend with a DATA descriptor; `content` is the content hash (zero when not measured).
    pub(crate) fn extend_data(&mut self, ipa: u64, flags: u64, content: &Slot) {
        let d = data_desc(&self.slots[0], ipa, flags, content);
        self.push_digest(content);
        self.extend(&d, LogRecord::Data { ipa, flags });
    }

    /// Extend with a REC descriptor for `params` (flags, pc and gprs measured).
    pub(crate) fn extend_rec(&mut self, params: &RmiRecParams) {
        let mut m = RmiRecParams::new_zeroed();
        m.flags = params.flags;
        m.pc = params.pc;
        m.gprs = params.gprs;
        let content = self.algo.hash(m.as_bytes());
        let d = rec_desc(&self.slots[0], &content);
        self.push_digest(&content);
        self.extend(&d, LogRecord::Rec);
    }

    /// Extend with a RIPAS descriptor for `[base, top)`.
    pub(crate) fn extend_ripas(&mut self, base: u64, top: u64) {
        let d = ripas_desc(&self.slots[0], base, top);
        self.extend(&d, LogRecord::Ripas { base, top });
    }

    /// The public view.
    pub(crate) fn view(&self) -> Measurements {
        let n = self.algo.digest_len();
        Measurements {
            hash_algo: self.algo,
            rim: self.slots[0][..n].to_vec(),
            rems: [1, 2, 3, 4].map(|i| self.slots[i][..n].to_vec()),
        }
    }

    /// The public log: the records replayed from the initial RIM through the same descriptors, so every
    /// `rim_after` is the RIM the extension produced (the last one is the current RIM).
    pub(crate) fn events(&self) -> Vec<MeasurementEvent> {
        let n = self.algo.digest_len();
        let mut rim = self.initial_rim;
        let mut digests = self.digests.chunks.iter().flat_map(|c| c.chunks_exact(n));
        let mut next_digest = || {
            let mut s = [0; MAX_MEASUREMENT_SIZE];
            if let Some(c) = digests.next() {
                s[..n].copy_from_slice(c);
            }
            s
        };
        self.log
            .iter()
            .map(|rec| {
                let kind = match *rec {
                    LogRecord::RealmCreate => MeasurementKind::RealmCreate,
                    LogRecord::Data { ipa, flags } => {
                        let content = next_digest();
                        rim = self.algo.hash(&data_desc(&rim, ipa, flags, &content));
                        MeasurementKind::Data {
                            ipa,
                            flags,
                            content_hash: content[..n].to_vec(),
                        }
                    }
                    LogRecord::Rec => {
                        let content = next_digest();
                        rim = self.algo.hash(&rec_desc(&rim, &content));
                        MeasurementKind::Rec {
                            content_hash: content[..n].to_vec(),
                        }
                    }
                    LogRecord::Ripas { base, top } => {
                        rim = self.algo.hash(&ripas_desc(&rim, base, top));
                        MeasurementKind::Ripas { base, top }
                    }
                };
                MeasurementEvent {
                    kind,
                    rim_after: rim[..n].to_vec(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_params(algo: u8) -> RmiRealmParams {
        let mut p = RmiRealmParams::new_zeroed();
        p.s2sz = 48;
        p.num_bps = 1;
        p.num_wps = 1;
        p.hash_algo = algo;
        // Not measured: must not change the RIM.
        p.vmid = 7;
        p.rtt_base = 0x8000_0000;
        p.rpv = [0xaa; 64];
        p
    }

    /// Reference page §3.1: the calculator's unit-test vector (flags 0, s2sz 48, 2 bps, 2 wps, no PMU).
    #[test]
    fn realm_create_rim_matches_published_vectors() {
        let sha256 = realm_params_rim(HashAlgorithm::Sha256, &vector_params(0));
        assert_eq!(
            hex::encode(&sha256[..32]),
            "6739dfb22b75ee1268d08dfa8369f501bc0b066243553f069f560d1fa1172973"
        );
        assert_eq!(sha256[32..], [0; 32]);
        let sha512 = realm_params_rim(HashAlgorithm::Sha512, &vector_params(1));
        assert_eq!(
            hex::encode(sha512),
            "799e434048fb57eb9d4f0e2a2b98158720377252deab2bdfcd69b5a8f82237f4\
             34bd6bb1c75bf160a2d49382f733b3439a3ff769e4ea5dd9a6f72239d44bbbab"
        );
    }

    /// The compact log replays to the RIM after every extension, with the content digests in order, for
    /// both algorithms and every record kind.
    #[test]
    fn log_replay_matches_the_rim_after_each_extension() {
        for algo in [0, 1] {
            let a = HashAlgorithm::from_rmi(algo).unwrap();
            let n = a.digest_len();
            let mut m = RealmMeasurements::new(a, &vector_params(algo));
            let mut rims = vec![m.slots[0][..n].to_vec()];
            for i in 0..5u64 {
                let mut content = [0; 64];
                content[..n].fill(u8::try_from(i + 1).unwrap());
                m.extend_data(i << 12, i & 1, &content);
                rims.push(m.slots[0][..n].to_vec());
            }
            let mut rec = RmiRecParams::new_zeroed();
            rec.pc = 0x8000;
            m.extend_rec(&rec);
            rims.push(m.slots[0][..n].to_vec());
            m.extend_ripas(0x1000, 0x3000);
            rims.push(m.slots[0][..n].to_vec());
            m.extend_data(0x9000, 0, &[0; 64]);
            rims.push(m.slots[0][..n].to_vec());
            let ev = m.events();
            assert_eq!(
                ev.iter().map(|e| e.rim_after.clone()).collect::<Vec<_>>(),
                rims
            );
            assert_eq!(ev[0].kind, MeasurementKind::RealmCreate);
            assert_eq!(
                ev[3].kind,
                MeasurementKind::Data {
                    ipa: 0x2000,
                    flags: 0,
                    content_hash: vec![3; n]
                }
            );
            // Only measured fields are set, so the whole struct is what is measured.
            let rec_hash = a.hash(rec.as_bytes());
            assert_eq!(
                ev[6].kind,
                MeasurementKind::Rec {
                    content_hash: rec_hash[..n].to_vec()
                }
            );
            assert_eq!(
                ev[7].kind,
                MeasurementKind::Ripas {
                    base: 0x1000,
                    top: 0x3000
                }
            );
            assert_eq!(
                ev[8].kind,
                MeasurementKind::Data {
                    ipa: 0x9000,
                    flags: 0,
                    content_hash: vec![0; n]
                }
            );
        }
    }

    #[test]
    fn data_descriptor_layout() {
        let rim = [0x11; 64];
        let mut d = desc(DESC_TYPE_DATA, &rim);
        d[0x50..0x58].copy_from_slice(&0x1000u64.to_le_bytes());
        assert_eq!(d[0], 0);
        assert_eq!(d[8], 0x00);
        assert_eq!(d[9], 0x01, "len = 0x100");
        assert_eq!(d[0x10..0x50], [0x11; 64]);
        assert_eq!(d[0x51], 0x10);
    }
}
