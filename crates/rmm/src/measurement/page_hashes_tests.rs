//! The page-hash cache: hits hash nothing, misses (other source, other algorithm, copied contents) hash the
//! bytes they are given, every page of a source is hashed exactly once whatever the order it is asked in,
//! with or without workers.

use std::sync::Arc;

use super::*;

#[derive(Debug)]
struct File(Vec<u8>);
impl PageSource for File {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A source of `pages` distinct pages and `tail` more bytes (a partial last page), varied by `seed`.
fn source(pages: usize, tail: usize, seed: u8) -> Arc<dyn PageSource> {
    let len = pages * PINNED_PAGE_SIZE + tail;
    let bytes = (0..len)
        .map(|j| {
            let page = j / PINNED_PAGE_SIZE;
            u8::try_from((j * 7 + page * 131 + usize::from(seed) * 17) % 251).unwrap_or(0)
        })
        .collect();
    Arc::new(File(bytes))
}

fn page(src: &Arc<dyn PageSource>, i: usize) -> Option<Contents> {
    Some(Contents::Mapped(
        PinnedPage::new(Arc::clone(src), i * PINNED_PAGE_SIZE).expect("a whole page"),
    ))
}

/// The hash of page `i` of `src`, computed directly.
fn direct(algo: HashAlgorithm, src: &Arc<dyn PageSource>, i: usize) -> Slot {
    algo.hash(&src.bytes()[i * PINNED_PAGE_SIZE..(i + 1) * PINNED_PAGE_SIZE])
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn a_hit_returns_the_pages_hash_without_hashing_again() {
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let cache = PageHashes::default();
        let src = source(5, 0, 1);
        cache.prehash(Arc::clone(&src), algo, None);
        assert!(!cache.is_empty(), "{algo:?}: the source is registered");
        assert_eq!(
            cache.ready(algo, page(&src, 2).as_ref()),
            None,
            "{algo:?}: nothing hashed yet"
        );
        for i in 0..5 {
            assert_eq!(
                cache.hash(algo, page(&src, i).as_ref()),
                direct(algo, &src, i),
                "{algo:?} page {i}"
            );
        }
        assert_eq!(
            cache.hashed(),
            5,
            "{algo:?}: each page hashed once, on first use"
        );
        for i in (0..5).rev() {
            let p = page(&src, i);
            assert!(cache.holds(algo, p.as_ref()), "{algo:?}: page {i} is held");
            assert_eq!(
                cache.ready(algo, p.as_ref()),
                Some(direct(algo, &src, i)),
                "{algo:?} page {i} ready"
            );
            assert_eq!(
                cache.hash(algo, p.as_ref()),
                direct(algo, &src, i),
                "{algo:?} page {i} hit"
            );
        }
        assert_eq!(cache.hashed(), 5, "{algo:?}: hits hash nothing");
    }
}

#[test]
fn misses_hash_the_bytes_they_are_given() {
    let algo = HashAlgorithm::Sha256;
    let cache = PageHashes::default();
    let cached = source(4, 0, 1);
    cache.prehash(Arc::clone(&cached), algo, None);
    for i in 0..4 {
        cache.hash(algo, page(&cached, i).as_ref());
    }
    // A stale source: another source (different bytes at the same offsets), and one with the very same
    // bytes; neither is registered, so neither may be answered from the registered one's entries.
    let other = source(4, 0, 2);
    let twin: Arc<dyn PageSource> = Arc::new(File(cached.bytes().to_vec()));
    for i in 0..4 {
        let p = page(&other, i);
        assert!(
            !cache.holds(algo, p.as_ref()),
            "another source's page {i} is not held"
        );
        assert_eq!(
            cache.ready(algo, p.as_ref()),
            None,
            "another source's page {i}"
        );
        assert_eq!(
            cache.hash(algo, p.as_ref()),
            direct(algo, &other, i),
            "another source's page {i}"
        );
        assert!(
            !cache.holds(algo, page(&twin, i).as_ref()),
            "a twin source's page {i} is not held"
        );
        assert_eq!(
            cache.hash(algo, page(&twin, i).as_ref()),
            direct(algo, &twin, i)
        );
    }
    // Another algorithm: the SHA-512 of the registered pages, not their cached SHA-256.
    let sha512 = HashAlgorithm::Sha512;
    assert!(!cache.holds(sha512, page(&cached, 1).as_ref()));
    assert_eq!(
        cache.hash(sha512, page(&cached, 1).as_ref()),
        direct(sha512, &cached, 1)
    );
    // Contents of the platform's own store, and the zero granule.
    let owned = Contents::Owned(Arc::new([9; 4096]));
    assert!(!cache.holds(algo, Some(&owned)));
    assert_eq!(cache.hash(algo, Some(&owned)), algo.hash(&[9; 4096]));
    assert!(!cache.holds(algo, None));
    assert_eq!(cache.hash(algo, None), algo.hash(&[0; 4096]));
    assert_eq!(cache.hashed(), 4, "misses are not hashed into the cache");
}

#[test]
fn a_partial_last_page_is_not_held_and_a_source_is_registered_once() {
    let algo = HashAlgorithm::Sha256;
    let cache = PageHashes::default();
    let src = source(3, 100, 4);
    cache.prehash(Arc::clone(&src), algo, None);
    cache.prehash(Arc::clone(&src), algo, None);
    assert_eq!(format!("{cache:?}"), "PageHashes { sources: 1, pages: 3 }");
    cache.prehash(Arc::clone(&src), HashAlgorithm::Sha512, None);
    assert_eq!(format!("{cache:?}"), "PageHashes { sources: 2, pages: 6 }");
    assert!(PinnedPage::new(Arc::clone(&src), 3 * PINNED_PAGE_SIZE).is_none());
}

#[test]
fn workers_and_callers_in_any_order_hash_each_page_once() {
    for threads in [1, 2, 3] {
        for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
            let pool = pool(threads);
            let cache = PageHashes::default();
            let n = 1100; // three chunks of digests, the last partial
            let src = source(n, 7, 5);
            cache.prehash(Arc::clone(&src), algo, Some(&pool));
            // Asked in an order unlike the workers' (odd pages descending, then even ascending): whatever a
            // worker has hashed, is hashing or has not reached, every answer is the page's own hash.
            let order = (0..n)
                .rev()
                .filter(|i| i % 2 == 1)
                .chain((0..n).filter(|i| i % 2 == 0));
            for i in order {
                assert_eq!(
                    cache.hash(algo, page(&src, i).as_ref()),
                    direct(algo, &src, i),
                    "{threads} threads, {algo:?}, page {i}"
                );
            }
            // Every page was asked for, so every page's hash is final; the workers hashed some of them.
            assert_eq!(
                cache.hashed(),
                n,
                "{threads} threads, {algo:?}: every page hashed exactly once"
            );
        }
    }
}

#[test]
fn dropping_the_cache_stops_its_workers() {
    let pool = pool(1);
    // Keep the pool's only thread busy until the cache is gone, so its worker starts after the drop.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    pool.spawn(move || {
        let _ = wait.recv();
    });
    let cache = PageHashes::default();
    cache.prehash(source(4096, 0, 6), HashAlgorithm::Sha256, Some(&pool));
    let entry = Arc::clone(&cache.read()[0]);
    drop(cache);
    go.send(()).unwrap();
    // Runs after the worker (the pool takes spawned work in order), or inside its first yield if it
    // did not stop.
    pool.install(|| ());
    assert_eq!(
        entry.hashed.load(Ordering::Relaxed),
        0,
        "a worker hashed pages of a dropped cache"
    );
}

/// A source with a "file": `read_at` copies from its bytes and counts the calls, or refuses.
#[derive(Debug)]
struct WithFile {
    bytes: Vec<u8>,
    reads: std::sync::atomic::AtomicUsize,
    refuse: bool,
}

impl PageSource for WithFile {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        if self.refuse {
            return false;
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        buf.copy_from_slice(&self.bytes[offset..offset + buf.len()]);
        true
    }
}

#[test]
fn pages_are_read_through_the_file_when_the_source_has_one() {
    for refuse in [false, true] {
        let pool = pool(2);
        let algo = HashAlgorithm::Sha256;
        let n = 70;
        let with_file = Arc::new(WithFile {
            bytes: source(n, 0, 7).bytes().to_vec(),
            reads: std::sync::atomic::AtomicUsize::new(0),
            refuse,
        });
        let src: Arc<dyn PageSource> = with_file.clone();
        let cache = PageHashes::default();
        cache.prehash(Arc::clone(&src), algo, Some(&pool));
        for i in (0..n).rev() {
            assert_eq!(
                cache.hash(algo, page(&src, i).as_ref()),
                direct(algo, &src, i),
                "refuse {refuse}, page {i}"
            );
        }
        let reads = with_file.reads.load(Ordering::Relaxed);
        if refuse {
            assert_eq!(reads, 0);
        } else {
            // Workers read CLAIM_PAGES at a time, callers one page: at least one read per claim.
            assert!(
                (n.div_ceil(CLAIM_PAGES)..=2 * n).contains(&reads),
                "{reads} reads for {n} pages"
            );
        }
    }
}

#[test]
fn a_caller_ahead_of_the_workers_hashes_the_next_claim_whole() {
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let cache = PageHashes::default();
        let src = source(2 * CLAIM_PAGES + 7, 0, 3);
        // No pool: the caller is the only worker.
        cache.prehash(Arc::clone(&src), algo, None);
        // Hash page `i` (it must equal the direct hash), after which the cache has hashed `hashed` pages.
        let hash_then = |i: usize, hashed: usize, what: &str| {
            assert_eq!(
                cache.hash(algo, page(&src, i).as_ref()),
                direct(algo, &src, i),
                "{algo:?}: page {i}"
            );
            assert_eq!(cache.hashed(), hashed, "{algo:?}: {what}");
        };
        hash_then(
            1,
            CLAIM_PAGES,
            "the first claim, hashed whole by the caller",
        );
        for i in 0..CLAIM_PAGES {
            assert_eq!(
                cache.ready(algo, page(&src, i).as_ref()),
                Some(direct(algo, &src, i)),
                "{algo:?}: page {i} of the claim"
            );
        }
        // A page past the next claim is hashed alone; the next claim's own pages then come as a run.
        let far = 2 * CLAIM_PAGES + 3;
        hash_then(far, CLAIM_PAGES + 1, "that page alone");
        hash_then(CLAIM_PAGES + 2, 2 * CLAIM_PAGES + 1, "the second claim");
        // The last, short claim skips the page already hashed.
        hash_then(2 * CLAIM_PAGES, 2 * CLAIM_PAGES + 7, "every page once");
        for i in 0..2 * CLAIM_PAGES + 7 {
            assert_eq!(
                cache.hash(algo, page(&src, i).as_ref()),
                direct(algo, &src, i),
                "{algo:?}: page {i}"
            );
        }
        assert_eq!(
            cache.hashed(),
            2 * CLAIM_PAGES + 7,
            "{algo:?}: hits hash nothing"
        );
    }
}
