//! The asynchronous measurement pipeline: RMI_DATA_CREATE with MEASURE_CONTENT queues the RIM extension
//! and returns; the RMM's hash pool hashes the queued contents (in parallel) and chains the RIM in call
//! order. Every other access to a realm's measurements ([`MeasurementChain::with`]: REC_CREATE,
//! RTT_INIT_RIPAS, RSI MEASUREMENT_READ/EXTEND, `Rmm::measurements`, `Rmm::measurement_log`,
//! REALM_DESTROY, the batch path) first drains the queue, so every RIM, REM and log entry is the one the
//! calls made one by one produce (TF-RMM `rmm-spec-v1.0-rel0` `lib/measurement` computes them in the
//! call; only when the work is done differs, never its inputs or order).
//!
//! The contents are the source granule's as DATA_CREATE found them (`memory::PhysMem::copy_granule`):
//! shared copy-on-write, or a host page held by reference, so later writes to either granule do not change
//! what is hashed, and nothing is copied to hash it.
//!
//! Deadlock freedom: workers take only the chain's own mutex (never the RMM state lock), and the lock order
//! is the state lock, then a chain mutex. A thread that drains the queue claims and hashes the queued work
//! itself, and waits only for entries another thread is hashing right now, so draining never depends on a
//! pool task being scheduled (it is safe on a pool thread, and on a one-thread pool).
//! Memory is bounded: a DATA_CREATE that finds more than [`MAX_PENDING`] entries queued hashes queued work
//! itself before returning.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::{HashAlgorithm, HashExt as _, RealmMeasurements, Slot};
use crate::memory::{Contents, bytes_of};

/// Queued DATA_CREATE extensions above which the caller helps hashing (16384 granules: 64 MiB of
/// contents).
pub(crate) const MAX_PENDING: usize = 16384;

/// The content hash of one RMI_DATA_CREATE extension, as the caller has it.
#[derive(Debug)]
pub(crate) enum DataHash {
    /// Known already: zero (not measured) or found computed (`PageHashes`).
    Known(Slot),
    /// To compute: the hash of these contents (`None` is all zero).
    Todo(Option<Contents>),
}

/// The content-hash work of one queued extension.
enum Work {
    /// Not started: the contents to hash (`None` is all zero).
    Todo(Option<Contents>),
    /// Being hashed by some thread.
    Claimed,
    /// The content hash.
    Done(Slot),
}

/// One queued RMI_DATA_CREATE extension.
struct Entry {
    ipa: u64,
    flags: u64,
    work: Work,
}

/// A realm's measurements and the extensions queued on them.
struct Inner {
    m: RealmMeasurements,
    pending: VecDeque<Entry>,
    /// Sequence number of `pending[0]`.
    head: u64,
    /// Index in `pending` before which no entry is `Todo`.
    next_todo: usize,
    /// Pool tasks running [`Shared::run_worker`].
    workers: usize,
    /// Threads waiting on the condition variable.
    waiters: usize,
}

impl Inner {
    /// Take the first entry not yet started: its sequence number and contents.
    fn claim(&mut self) -> Option<(u64, Option<Contents>)> {
        while let Some(e) = self.pending.get_mut(self.next_todo) {
            let seq = self.head + self.next_todo as u64;
            self.next_todo += 1;
            if matches!(e.work, Work::Todo(_))
                && let Work::Todo(c) = std::mem::replace(&mut e.work, Work::Claimed)
            {
                return Some((seq, c));
            }
        }
        None
    }

    /// Record the content hash of entry `seq`, then extend the RIM with every finished entry at the front;
    /// whether any was.
    fn complete(&mut self, seq: u64, hash: Slot) -> bool {
        let idx = usize::try_from(seq - self.head).unwrap_or(usize::MAX);
        if let Some(e) = self.pending.get_mut(idx) {
            e.work = Work::Done(hash);
        }
        let mut progressed = false;
        while let Some(Entry {
            work: Work::Done(h),
            ..
        }) = self.pending.front()
        {
            let h = *h;
            if let Some(e) = self.pending.pop_front() {
                self.m.extend_data(e.ipa, e.flags, &h);
            }
            self.head += 1;
            self.next_todo = self.next_todo.saturating_sub(1);
            progressed = true;
        }
        progressed
    }
}

/// What the chain and its pool tasks share.
struct Shared {
    inner: Mutex<Inner>,
    ready: Condvar,
    algo: HashAlgorithm,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hash(&self, contents: Option<&Contents>) -> Slot {
        self.algo.hash(bytes_of(contents))
    }

    /// Hash a claimed entry and, with SHA-256, up to [`realm_sha::LANES`] − 1 more claimed with it, outside
    /// the lock (eight at a time as interleaved streams, [`realm_sha::sha256_each`]), and record them, waking
    /// waiters if the RIM moved.
    fn finish<'a>(
        &'a self,
        mut g: MutexGuard<'a, Inner>,
        (seq, c): (u64, Option<Contents>),
    ) -> MutexGuard<'a, Inner> {
        const LANES: usize = realm_sha::LANES;
        let mut seqs = [seq; LANES];
        let mut contents: [Option<Contents>; LANES] = Default::default();
        contents[0] = c;
        let mut n = 1;
        if self.algo == HashAlgorithm::Sha256 {
            while n < LANES
                && let Some((seq, c)) = g.claim()
            {
                (seqs[n], contents[n]) = (seq, c);
                n += 1;
            }
        }
        drop(g);
        let bytes: [&[u8]; LANES] = std::array::from_fn(|i| &bytes_of(contents[i].as_ref())[..]);
        let mut hashes = [[0; super::MAX_MEASUREMENT_SIZE]; LANES];
        self.algo.hash_each(&bytes[..n], &mut hashes[..n]);
        drop(contents);
        let mut g = self.lock();
        let mut moved = false;
        for (&seq, h) in seqs[..n].iter().zip(hashes) {
            moved |= g.complete(seq, h);
        }
        if moved && g.waiters > 0 {
            self.ready.notify_all();
        }
        g
    }

    /// A pool task: hash queued entries until none is left to start.
    fn run_worker(&self) {
        let mut g = self.lock();
        while let Some(job) = g.claim() {
            g = self.finish(g, job);
        }
        g.workers -= 1;
    }

    /// Hash queued entries on this thread, and wait for those being hashed elsewhere, until at most `max`
    /// are queued.
    fn drain_to<'a>(&'a self, mut g: MutexGuard<'a, Inner>, max: usize) -> MutexGuard<'a, Inner> {
        while g.pending.len() > max {
            if let Some(job) = g.claim() {
                g = self.finish(g, job);
            } else {
                g.waiters += 1;
                g = self.ready.wait(g).unwrap_or_else(PoisonError::into_inner);
                g.waiters -= 1;
            }
        }
        g
    }
}

/// A realm's measurements behind the pipeline (the `measurements` of a [`crate::realm::Realm`]).
pub(crate) struct MeasurementChain {
    shared: Arc<Shared>,
    max_pending: usize,
}

impl MeasurementChain {
    /// A chain over `m`, queueing at most `max_pending` extensions before callers help.
    pub(crate) fn new(m: RealmMeasurements, max_pending: usize) -> Self {
        let algo = m.algo;
        Self {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    m,
                    pending: VecDeque::new(),
                    head: 0,
                    next_todo: 0,
                    workers: 0,
                    waiters: 0,
                }),
                ready: Condvar::new(),
                algo,
            }),
            max_pending,
        }
    }

    /// The realm's hash algorithm (fixed at RMI_REALM_CREATE; no need to drain).
    pub(crate) fn algo(&self) -> HashAlgorithm {
        self.shared.algo
    }

    /// Run `f` on the measurements once every queued extension is in them.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut RealmMeasurements) -> R) -> R {
        let mut g = self.shared.drain_to(self.shared.lock(), 0);
        f(&mut g.m)
    }

    /// Extend the RIM with a DATA descriptor for `ipa` and `flags` and the content hash `hash`. Contents
    /// still to hash are hashed on `pool` when there is one, after this returns.
    pub(crate) fn extend_data(
        &self,
        pool: Option<&rayon::ThreadPool>,
        ipa: u64,
        flags: u64,
        hash: DataHash,
    ) {
        let mut g = self.shared.lock();
        let work = match (pool, hash) {
            (Some(pool), DataHash::Todo(contents)) => {
                if g.workers < pool.current_num_threads() {
                    g.workers += 1;
                    let shared = Arc::clone(&self.shared);
                    pool.spawn(move || shared.run_worker());
                }
                Work::Todo(contents)
            }
            (None, DataHash::Todo(contents)) => Work::Done(self.shared.hash(contents.as_ref())),
            (_, DataHash::Known(content)) => Work::Done(content),
        };
        match work {
            Work::Done(content) if g.pending.is_empty() => g.m.extend_data(ipa, flags, &content),
            work => {
                g.pending.push_back(Entry { ipa, flags, work });
                if g.pending.len() > self.max_pending {
                    drop(self.shared.drain_to(g, self.max_pending));
                }
            }
        }
    }

    /// Extensions queued and not yet in the RIM.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.shared.lock().pending.len()
    }
}

impl Clone for MeasurementChain {
    /// A separate chain holding the measurements as drained now.
    fn clone(&self) -> Self {
        Self::new(self.with(|m| m.clone()), self.max_pending)
    }
}

impl fmt::Debug for MeasurementChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.shared.lock();
        f.debug_struct("MeasurementChain")
            .field("algo", &self.shared.algo)
            .field("pending", &g.pending.len())
            .field(
                "rim",
                &hex::encode(&g.m.slots[0][..self.shared.algo.digest_len()]),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
