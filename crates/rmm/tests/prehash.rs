//! `Rmm::prehash`: hashing pinned source pages ahead of RMI_DATA_CREATE changes only when the content
//! hashes are computed. The same calls give the same replies, RIM, log and granule states with or without
//! it, batched (`call_many`) or one by one, whatever order the pages are created in, with pages the cache
//! does not hold (copied host pages, another source), unmeasured pages, and a prehash with the wrong
//! algorithm (which must simply miss).
#![cfg(test)]

use std::sync::Arc;

use realm_rmm::abi;
use realm_rmm::host::{HostMemory as _, PageSource, PinnedPage, Rmi as _, SmcRegs};
use realm_rmm::testing::{RealmParams, World};
use realm_rmm::{DataContents, HashAlgorithm, PlatformConfig};

#[derive(Debug)]
struct Image(Vec<u8>);
impl PageSource for Image {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// `pages` distinct pages (and a partial one, which is never pinned).
fn image(pages: usize, seed: usize) -> Arc<dyn PageSource> {
    let bytes = (0..pages * 4096 + 123)
        .map(|j| u8::try_from((j * 13 + (j / 4096) * 97 + seed) % 251).unwrap_or(0))
        .collect();
    Arc::new(Image(bytes))
}

/// How a world is driven.
#[derive(Clone, Copy, Debug)]
struct Drive {
    sha512: bool,
    /// `Some(algo)`: the image is prehashed with `algo` before the realm is created.
    prehash: Option<HashAlgorithm>,
    batched: bool,
    /// DATA granules are not kept (the measuring platform).
    not_kept: bool,
}

/// Build a realm and create `pages` DATA granules: page `i` at IPA `i`, from image page `pages - 1 - i`
/// (the reverse of the order workers hash in), every fifth from a copied host page instead, every seventh
/// from a page of another (never prehashed) image, every third unmeasured.
fn drive(d: Drive, pages: usize) -> (World, u64, Vec<SmcRegs>) {
    let mut w = if d.not_kept {
        let mut cfg = PlatformConfig::from_platform(&realm_rmm::testing::test_platform());
        cfg.dram = World::new().rmm.platform().dram.clone();
        cfg.data_contents = DataContents::NotKept;
        World::with_platform(cfg)
    } else {
        World::new()
    };
    let img = image(pages, 1);
    let other = image(pages, 2);
    if let Some(algo) = d.prehash {
        w.rmm.prehash(Arc::clone(&img), algo);
    }
    let p = RealmParams {
        hash_algo: u8::from(d.sha512),
        ..RealmParams::default_sha256()
    };
    let rd = w.realm_create(&p);
    let n = u64::try_from(pages).unwrap_or(0);
    let mut ipa = 0;
    while ipa < n * 0x1000 {
        w.rtt_path(rd, p.start_level, ipa, 3);
        ipa += 0x20_0000;
    }
    let mut calls = Vec::new();
    for (i, ipa) in (0..pages).zip((0u64..).step_by(0x1000)) {
        let src = if i % 5 == 2 {
            w.host_page(&[u8::try_from(i % 200).unwrap_or(0); 4096])
        } else {
            let from = if i % 7 == 3 { &other } else { &img };
            let page = PinnedPage::new(Arc::clone(from), (pages - 1 - i) * 4096).unwrap();
            let ns = w.alloc();
            w.rmm.map_page(ns, &page).unwrap();
            ns
        };
        let data = w.alloc();
        let flags = if i % 3 == 0 {
            abi::RMI_NO_MEASURE_CONTENT
        } else {
            abi::RMI_MEASURE_CONTENT
        };
        calls.push(SmcRegs::call(abi::RMI_GRANULE_DELEGATE, &[data]));
        calls.push(SmcRegs::call(
            abi::RMI_DATA_CREATE,
            &[rd, data, ipa, src, flags],
        ));
    }
    let mut replies = Vec::new();
    if d.batched {
        w.rmm.call_many(&calls, &mut replies);
    } else {
        replies.extend(calls.iter().map(|c| w.rmm.call(*c)));
    }
    (w, rd, replies)
}

#[test]
fn prehashing_changes_no_reply_rim_log_or_state() {
    let pages = 1500; // more than one batch step
    for sha512 in [false, true] {
        for not_kept in [false, true] {
            let plain = Drive {
                sha512,
                prehash: None,
                batched: true,
                not_kept,
            };
            let (a, rd, want) = drive(plain, pages);
            assert!(want.iter().all(|r| r.x[0] == 0), "every call succeeds");
            let realm_algo = if sha512 {
                HashAlgorithm::Sha512
            } else {
                HashAlgorithm::Sha256
            };
            let other_algo = if sha512 {
                HashAlgorithm::Sha256
            } else {
                HashAlgorithm::Sha512
            };
            for prehash in [Some(realm_algo), Some(other_algo)] {
                for batched in [true, false] {
                    let d = Drive {
                        sha512,
                        prehash,
                        batched,
                        not_kept,
                    };
                    let (b, _, got) = drive(d, pages);
                    assert_eq!(got, want, "{d:?}: replies");
                    assert_eq!(b.rmm.measurements(rd), a.rmm.measurements(rd), "{d:?}: RIM");
                    assert_eq!(
                        b.rmm.measurement_log(rd),
                        a.rmm.measurement_log(rd),
                        "{d:?}: log"
                    );
                    assert_eq!(
                        b.rmm.realm_granule_count(),
                        a.rmm.realm_granule_count(),
                        "{d:?}"
                    );
                    b.rmm.check_invariants().unwrap();
                }
            }
        }
    }
}
