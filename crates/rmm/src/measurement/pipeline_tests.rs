//! The pipeline against the measurements extended in the call: same RIM, REMs and log, bounded queue,
//! no deadlock when drained from the pool's only thread.

use std::sync::Arc;

use zerocopy::FromZeros as _;

use super::*;
use crate::abi::{RmiRealmParams, RmiRecParams};

fn params(algo: u8) -> RmiRealmParams {
    let mut p = RmiRealmParams::new_zeroed();
    p.s2sz = 40;
    p.hash_algo = algo;
    p
}

#[derive(Debug)]
struct File(Vec<u8>);
impl crate::host::PageSource for File {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn contents(i: u64) -> Option<Contents> {
    // Every seventh page is the all-zero granule (`None`), as an untouched source is; every fifth a host
    // page held by reference (a pinned page-cache page).
    (i % 7 != 3).then(|| {
        let mut g = [0u8; 4096];
        for (j, b) in g.iter_mut().enumerate() {
            *b = u8::try_from((i * 31 + j as u64 * 7) % 251).unwrap_or(0);
        }
        if i % 5 == 1 {
            let src: Arc<dyn crate::host::PageSource> = Arc::new(File(g.to_vec()));
            Contents::Mapped(crate::host::PinnedPage::new(src, 0).expect("a whole page"))
        } else {
            Contents::Owned(Arc::new(g))
        }
    })
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// The same sequence of extensions on a chain with `pool` and on plain measurements.
fn run(algo: u8, pool: &rayon::ThreadPool, max_pending: usize, n: u64) {
    let a = HashAlgorithm::from_rmi(algo).unwrap();
    let mut want = RealmMeasurements::new(a, &params(algo));
    let chain = MeasurementChain::new(RealmMeasurements::new(a, &params(algo)), max_pending);
    for i in 0..n {
        let measured = i % 5 != 1;
        let c = contents(i);
        let hash = if measured {
            a.hash(bytes_of(c.as_ref()))
        } else {
            [0; 64]
        };
        want.extend_data(i << 12, u64::from(measured), &hash);
        let work = if measured {
            DataHash::Todo(c)
        } else {
            DataHash::Known([0; 64])
        };
        chain.extend_data(Some(pool), i << 12, u64::from(measured), work);
        assert!(chain.pending() <= max_pending, "queue over its bound");
        if i % 97 == 50 {
            let mut rec = RmiRecParams::new_zeroed();
            rec.pc = i;
            want.extend_rec(&rec);
            chain.with(|m| m.extend_rec(&rec));
        }
        if i % 89 == 20 {
            want.extend_ripas(i << 12, (i + 1) << 12);
            chain.with(|m| m.extend_ripas(i << 12, (i + 1) << 12));
        }
        if i % 113 == 70 {
            assert_eq!(chain.with(|m| m.view()), want.view(), "RIM read at {i}");
        }
    }
    assert_eq!(chain.with(|m| m.view()), want.view());
    assert_eq!(chain.with(|m| m.events()), want.events());
    assert_eq!(chain.pending(), 0);
    assert_eq!(chain.clone().with(|m| m.view()), want.view());
}

#[test]
fn pipelined_measurements_equal_the_in_call_ones() {
    let p = pool(2);
    run(0, &p, MAX_PENDING, 600);
    run(1, &p, MAX_PENDING, 300);
}

#[test]
fn a_full_queue_makes_the_caller_hash() {
    let p = pool(2);
    run(0, &p, 4, 500);
    run(1, &p, 1, 200);
}

/// Pushes and reads from the pool's only thread: its queued worker tasks cannot start until this returns,
/// so draining must do the work itself.
#[test]
fn draining_on_the_pools_only_thread_does_not_wait_for_the_pool() {
    let p = pool(1);
    p.install(|| run(0, &p, 8, 200));
}

#[test]
fn without_a_pool_the_extension_is_made_in_the_call() {
    let a = HashAlgorithm::Sha256;
    let chain = MeasurementChain::new(RealmMeasurements::new(a, &params(0)), MAX_PENDING);
    let mut want = RealmMeasurements::new(a, &params(0));
    let c = contents(1);
    chain.extend_data(None, 0x1000, 1, DataHash::Todo(c.clone()));
    assert_eq!(chain.pending(), 0);
    want.extend_data(0x1000, 1, &a.hash(bytes_of(c.as_ref())));
    assert_eq!(chain.with(|m| m.events()), want.events());
}
