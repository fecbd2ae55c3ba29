//! Realm memory as CPU models on several threads share it: atomic compare-exchange and the staleness
//! generation ([`super::view::RealmMem`], [`super::view::MemGeneration`]).

use std::sync::Arc;

use super::view::RealmMem;
use crate::cpu::RealmMemory;
use crate::testing::{RealmParams, World};

/// A realm with one DATA granule of zeros at IPA 0 (and RTTs down to level 3 there); returns (world, rd).
fn realm_with_data() -> (World, u64) {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    w.rtt_path(rd, p.start_level, 0, 3);
    w.data_create(rd, 0, &[0; 0x1000], false);
    (w, rd)
}

/// Increment the 8-byte counter at `ipa` `n` times the way an LDXR/STXR loop commits: read, then
/// compare-exchange, retrying when another thread got there first.
fn increment(mem: &mut RealmMem<'_>, ipa: u64, n: u32) {
    for _ in 0..n {
        loop {
            let seen = mem.read_value(ipa, 8).expect("mapped");
            let next = seen.wrapping_add(1);
            if mem
                .compare_exchange(ipa, 8, u128::from(seen), u128::from(next))
                .expect("mapped")
                .is_ok()
            {
                break;
            }
        }
    }
}

#[test]
fn compare_exchange_is_atomic_between_threads() {
    let (w, rd) = realm_with_data();
    const PER_THREAD: u32 = 100_000;
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                start.wait();
                increment(&mut RealmMem::new(&w.rmm, rd), 0x10, PER_THREAD);
            });
        }
    });
    let mut mem = RealmMem::new(&w.rmm, rd);
    assert_eq!(
        mem.read_value(0x10, 8),
        Ok(u64::from(2 * PER_THREAD)),
        "increments were lost: compare_exchange is not atomic across threads"
    );
    // A failed exchange stores nothing and reports the value found.
    assert_eq!(
        mem.compare_exchange(0x10, 8, 5, 6),
        Ok(Err(u128::from(2 * PER_THREAD)))
    );
    assert_eq!(mem.read_value(0x10, 8), Ok(u64::from(2 * PER_THREAD)));
    // Unmapped: a stage-2 fault, as for a plain access.
    assert!(mem.compare_exchange(0x20_0000, 8, 0, 1).is_err());
}

#[test]
fn generation_moves_when_cached_code_or_mappings_may_be_stale() {
    let (mut w, rd) = realm_with_data();
    let mut a = RealmMem::new(&w.rmm, rd);
    let mut b = RealmMem::new(&w.rmm, rd);
    let g0 = a.generation();
    b.write_value(0x100, 4, 1).unwrap();
    assert_eq!(a.generation(), g0, "a write to a page nobody fetched from");
    let mut insn = [0u8; 4];
    a.fetch(0x100, &mut insn).unwrap();
    assert_eq!(insn, [1, 0, 0, 0]);
    b.write_value(0x104, 4, 2).unwrap();
    let g1 = a.generation();
    assert!(g1 > g0, "another REC wrote a page code was fetched from");
    b.compare_exchange(0x108, 4, 0, 3).unwrap().unwrap();
    let g2 = a.generation();
    assert!(g2 > g1, "an exchange into a code page");
    let gb = b.generation();
    b.write_value(0x104, 4, 4).unwrap();
    assert_eq!(
        b.generation(),
        gb,
        "a REC's own write to a code page does not move the generation it sees"
    );
    assert_eq!(
        b.invalidate_code(),
        gb,
        "nor its own IC invalidation (its CPU has done its own maintenance)"
    );
    let g3 = a.generation();
    assert!(g3 > g2, "IC IALLUIS from another REC");
    let kept = RealmMem::new(&w.rmm, rd).with_own_bumps(b.own_bumps());
    assert_eq!(
        kept.generation(),
        gb,
        "the own count carries over to the next entry"
    );
    w.data_create(rd, 0x1000, &[0; 0x1000], false);
    let a = RealmMem::new(&w.rmm, rd);
    assert_eq!(
        a.generation(),
        g3,
        "RMI_DATA_CREATE only mapped an unmapped page: nothing cached went stale"
    );
    let r = realm_rmi::host::Rmi::call(
        &w.rmm,
        realm_rmi::host::SmcRegs::call(crate::abi::RMI_DATA_DESTROY, &[rd, 0x1000]),
    );
    assert_eq!(r.x[0], 0, "DATA_DESTROY");
    assert!(
        a.generation() > g3,
        "RMI_DATA_DESTROY removed a mapping: what was cached from it is stale"
    );
}

#[test]
fn cached_translations_follow_changes_to_the_realm_memory() {
    let (mut w, rd) = realm_with_data();
    let src = w.host_page(&[0xab; 0x1000]);
    let data = w.delegated();
    let mut mem = RealmMem::new(&w.rmm, rd);
    mem.write_value(0x200, 4, 0x1234).unwrap();
    assert_eq!(
        mem.read_value(0x200, 4),
        Ok(0x1234),
        "first read walks and caches"
    );
    mem.write_value(0x200, 4, 0x5678).unwrap();
    assert_eq!(
        mem.read_value(0x200, 4),
        Ok(0x5678),
        "a cached page reads what was stored"
    );
    assert!(
        mem.read_value(0x1000, 4).is_err(),
        "page 1 is not mapped yet"
    );
    let r = realm_rmi::host::Rmi::call(
        &w.rmm,
        realm_rmi::host::SmcRegs::call(crate::abi::RMI_DATA_CREATE, &[rd, data, 0x1000, src, 0]),
    );
    assert_eq!(r.x[0], 0, "DATA_CREATE");
    assert_eq!(
        mem.read_value(0x1000, 1),
        Ok(0xab),
        "the realm's memory changed: the new page is seen"
    );
    assert_eq!(
        mem.read_value(0x200, 4),
        Ok(0x5678),
        "page 0 again, walked anew"
    );
}

#[test]
fn values_of_every_size_round_trip_little_endian_walked_and_cached() {
    let (w, rd) = realm_with_data();
    for cached in [false, true] {
        // A fresh view walks on its first access to the page; the second round reuses its translation.
        let mut mem = RealmMem::new(&w.rmm, rd);
        if cached {
            mem.read_value(0, 1).expect("mapped");
        }
        let base = if cached { 0x800 } else { 0x400 };
        for (i, len) in [1usize, 2, 4, 8].into_iter().enumerate() {
            let ipa = base + 0x10 * i as u64 + 1; // misaligned on purpose
            let value = 0x1122_3344_5566_7788u64;
            mem.write_value(ipa, len, value).expect("mapped");
            let mut bytes = [0u8; 9];
            mem.read(ipa - 1, &mut bytes).expect("mapped");
            let mut want = [0u8; 9];
            want[1..=len].copy_from_slice(&value.to_le_bytes()[..len]);
            assert_eq!(bytes, want, "{len}-byte store (cached: {cached})");
            let mask = if len == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * len)) - 1
            };
            assert_eq!(
                mem.read_value(ipa, len),
                Ok(value & mask),
                "{len}-byte load (cached: {cached})"
            );
        }
    }
    // Past the end of a granule the value paths refuse, as the slice paths do.
    let mut mem = RealmMem::new(&w.rmm, rd);
    assert!(mem.read_value(0xffc, 8).is_err());
    assert!(mem.write_value(0xffc, 8, 0).is_err());
}

#[test]
fn stores_of_every_length_land_cold_and_cached() {
    let (w, rd) = realm_with_data();
    for (i, len) in [1usize, 2, 4, 8, 16, 64, 0x1000].into_iter().enumerate() {
        let fill = u8::try_from(i + 1).unwrap();
        let data = vec![fill; len];
        let ipa = if len == 0x1000 {
            0
        } else {
            0x200 + 0x80 * i as u64
        };
        // A cold REC view walks (DC ZVA writes 64 bytes), a warm one stores through its cached granule.
        RealmMem::new(&w.rmm, rd).write(ipa, &data).unwrap();
        let mut back = vec![0; len];
        let mut warm = RealmMem::new(&w.rmm, rd);
        warm.read(ipa, &mut back).unwrap();
        assert_eq!(back, data, "a cold store of {len} bytes");
        let data2 = vec![fill | 0x80; len];
        warm.write(ipa, &data2).unwrap();
        RealmMem::new(&w.rmm, rd).read(ipa, &mut back).unwrap();
        assert_eq!(back, data2, "a cached store of {len} bytes");
    }
}

#[test]
fn a_granule_destroyed_under_a_rec_is_not_seen_through_its_cache() {
    let (mut w, rd) = realm_with_data();
    let mut rec = RealmMem::new(&w.rmm, rd);
    rec.write_value(0x10, 8, 0x1111).unwrap();
    assert_eq!(rec.read_value(0x10, 8), Ok(0x1111));
    let r = realm_rmi::host::Rmi::call(
        &w.rmm,
        realm_rmi::host::SmcRegs::call(crate::abi::RMI_DATA_DESTROY, &[rd, 0]),
    );
    assert_eq!(r.x[0], 0, "DATA_DESTROY");
    assert!(
        rec.read_value(0x10, 8).is_err(),
        "the REC's cached translation of a destroyed granule faults"
    );
    assert!(rec.write_value(0x10, 8, 0x2222).is_err());
    let cache = rec.into_cache();
    w.data_create(rd, 0, &[0; 0x1000], false);
    let mut rec = RealmMem::with_cache(&w.rmm, rd, cache);
    assert_eq!(
        rec.read_value(0x10, 8),
        Ok(0),
        "the re-created granule holds its new contents, not the old live ones"
    );
}

#[test]
fn a_page_handle_is_the_memory_the_rec_view_reads_and_writes() {
    let (w, rd) = realm_with_data();
    let mut mem = RealmMem::new(&w.rmm, rd);
    let page = mem.page(0x123).expect("a protected DATA granule");
    mem.write_value(0x40, 8, 0xabcd).unwrap();
    assert_eq!(
        page.load(0x40, 8),
        0xabcd,
        "a store through the view shows in the page"
    );
    assert!(
        !page.store_value(0x48, 4, 0x55),
        "no code fetched from it yet"
    );
    assert_eq!(RealmMem::new(&w.rmm, rd).read_value(0x48, 4), Ok(0x55));
    let mut insn = [0u8; 4];
    mem.fetch(0x48, &mut insn).unwrap();
    assert!(page.holds_code(), "a fetch marks the page");
    assert!(
        page.store_value(0x48, 4, 0x66),
        "a direct store then reports code"
    );
    assert!(
        Arc::ptr_eq(&page, &RealmMem::new(&w.rmm, rd).page(0).unwrap()),
        "every REC gets the same page"
    );
    assert!(
        mem.page(0x20_0000).is_none(),
        "unmapped: no page, the access faults"
    );
}
