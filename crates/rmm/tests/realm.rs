//! A realm's life: create, RTTs, INIT_RIPAS, DATA, REC, activate, read entries, tear down; RIM checked
//! against an independent computation of the descriptors with sha2.
#![cfg(test)]

use realm_rmm::abi::{self, RMI_ERROR_INPUT, RMI_ERROR_REALM, RMI_ERROR_RTT};
use realm_rmm::testing::{RealmParams, RecParams, World};
use sha2::{Digest as _, Sha256};

fn h(data: &[u8]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(&Sha256::digest(data));
    out
}

fn desc(ty: u8, rim: &[u8; 64], tail: &[(usize, &[u8])]) -> [u8; 64] {
    let mut d = [0u8; 0x100];
    d[0] = ty;
    d[8..16].copy_from_slice(&0x100u64.to_le_bytes());
    d[0x10..0x50].copy_from_slice(rim);
    for (off, bytes) in tail {
        d[*off..*off + bytes.len()].copy_from_slice(bytes);
    }
    h(&d)
}

#[test]
fn realm_life_measures_and_tears_down_to_nothing() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    // Independent initial RIM: a zeroed RmiRealmParams with s2sz 40, num_bps 1, num_wps 1.
    let mut params = [0u8; 0x1000];
    params[8] = 40;
    params[0x18] = 1;
    params[0x20] = 1;
    let mut rim = h(&params);
    assert_eq!(w.rmm.measurements(rd).unwrap().rim, rim[..32]);

    let rtts = w.rtt_path(rd, p.start_level, 0, 3);
    assert_eq!(rtts.len(), 2, "levels 2 and 3");
    // INIT_RIPAS [0, 4 MiB): the level-3 table covers 2 MiB, one entry per page.
    let r = w.rmi(abi::RMI_RTT_INIT_RIPAS, &[rd, 0, 0x40_0000]);
    assert_eq!(r.x[..2], [0, 0x20_0000]);
    for page in 0..512u64 {
        let (b, t) = (page * 0x1000, page * 0x1000 + 0x1000);
        rim = desc(
            2,
            &rim,
            &[(0x50, &b.to_le_bytes()), (0x58, &t.to_le_bytes())],
        );
    }
    // The next 2 MiB is one level-2 entry.
    let r = w.rmi(abi::RMI_RTT_INIT_RIPAS, &[rd, 0x20_0000, 0x40_0000]);
    assert_eq!(r.x[..2], [0, 0x40_0000]);
    rim = desc(
        2,
        &rim,
        &[
            (0x50, &0x20_0000u64.to_le_bytes()),
            (0x58, &0x40_0000u64.to_le_bytes()),
        ],
    );

    let contents = [0x5a; 0x1000];
    let data0 = w.data_create(rd, 0x1000, &contents, true);
    rim = desc(
        0,
        &rim,
        &[
            (0x50, &0x1000u64.to_le_bytes()),
            (0x58, &1u64.to_le_bytes()),
            (0x60, &h(&contents)),
        ],
    );
    let data1 = w.data_create(rd, 0x2000, &contents, false);
    rim = desc(0, &rim, &[(0x50, &0x2000u64.to_le_bytes())]);

    let rec = w.rec_create(
        rd,
        &RecParams {
            pc: 0x8000,
            gprs: [0x4000, 0, 0, 0, 0, 0, 0, 0],
            ..RecParams::runnable(0)
        },
    );
    let mut rec_params = [0u8; 0x1000];
    rec_params[0] = 1;
    rec_params[0x200..0x208].copy_from_slice(&0x8000u64.to_le_bytes());
    rec_params[0x300..0x308].copy_from_slice(&0x4000u64.to_le_bytes());
    rim = desc(1, &rim, &[(0x50, &h(&rec_params))]);
    // A non-runnable REC is not measured.
    let rec1 = w.rec_create(
        rd,
        &RecParams {
            mpidr: 1,
            ..RecParams::default()
        },
    );
    assert_eq!(w.rmm.measurements(rd).unwrap().rim, rim[..32]);
    assert_eq!(w.rmm.measurement_log(rd).unwrap().len(), 1 + 513 + 2 + 1);

    // READ_ENTRY of the data page and of the table above it.
    let e = w.ok(abi::RMI_RTT_READ_ENTRY, &[rd, 0x1000, 3]);
    assert_eq!(e, [3, abi::RMI_ASSIGNED, data0, abi::RMI_RAM]);
    let e = w.ok(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 2]);
    assert_eq!(e, [2, abi::RMI_TABLE, rtts[1], abi::RMI_EMPTY]);

    w.ok(abi::RMI_REALM_ACTIVATE, &[rd]);
    assert_eq!(
        w.rmi(abi::RMI_REALM_ACTIVATE, &[rd]).x[0],
        u64::from(RMI_ERROR_REALM)
    );
    let src = w.alloc();
    let late = w.delegated();
    assert_eq!(
        w.rmi(abi::RMI_DATA_CREATE, &[rd, late, 0x3000, src, 0]).x[0],
        u64::from(RMI_ERROR_REALM)
    );
    // DATA_CREATE_UNKNOWN works in an ACTIVE realm.
    w.ok(abi::RMI_DATA_CREATE_UNKNOWN, &[rd, late, 0x3000]);
    w.rmm.check_invariants().unwrap();

    // Teardown: the realm cannot go while RECs and mappings exist.
    assert_eq!(
        w.rmi(abi::RMI_REALM_DESTROY, &[rd]).x[0],
        u64::from(RMI_ERROR_REALM)
    );
    for (ipa, data) in [(0x1000, data0), (0x2000, data1), (0x3000, late)] {
        let out = w.ok(abi::RMI_DATA_DESTROY, &[rd, ipa]);
        assert_eq!(out[0], data);
        w.ok(abi::RMI_GRANULE_UNDELEGATE, &[data]);
    }
    assert_eq!(
        w.rmi(abi::RMI_DATA_DESTROY, &[rd, 0x1000]).x[0],
        u64::from(RMI_ERROR_RTT) | 3 << 8
    );
    let out = w.ok(abi::RMI_RTT_DESTROY, &[rd, 0, 3]);
    assert_eq!(out[0], rtts[1]);
    let out = w.ok(abi::RMI_RTT_DESTROY, &[rd, 0, 2]);
    assert_eq!(out[0], rtts[0]);
    for rec in [rec, rec1] {
        w.ok(abi::RMI_REC_DESTROY, &[rec]);
    }
    w.ok(abi::RMI_REALM_DESTROY, &[rd]);
    w.rmm.check_invariants().unwrap();
    // Undelegate everything still delegated: the RD, roots, RTTs, RECs and their aux granules.
    let mut pa = realm_rmm::testing::DRAM_BASE;
    while w.rmm.realm_granule_count() > 0 && pa < realm_rmm::testing::DRAM_BASE + (1 << 24) {
        let _ = w.rmi(abi::RMI_GRANULE_UNDELEGATE, &[pa]);
        pa += 0x1000;
    }
    assert_eq!(w.rmm.realm_granule_count(), 0);
    assert_eq!(
        w.rmi(abi::RMI_REALM_ACTIVATE, &[rd]).x[0],
        u64::from(RMI_ERROR_INPUT)
    );
}

#[test]
fn rtt_errors_carry_the_walk_level() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    let data = w.delegated();
    let src = w.alloc();
    // No tables below the level-1 root: the walk stops at level 1.
    assert_eq!(
        w.rmi(abi::RMI_DATA_CREATE, &[rd, data, 0x1000, src, 1]).x[0],
        u64::from(RMI_ERROR_RTT) | 1 << 8
    );
    // Creating the level-3 table first fails at level 1 as well.
    let rtt = w.delegated();
    assert_eq!(
        w.rmi(abi::RMI_RTT_CREATE, &[rd, rtt, 0, 3]).x[0],
        u64::from(RMI_ERROR_RTT) | 1 << 8
    );
    // Level 1 is the root here: not a valid structure level.
    assert_eq!(
        w.rmi(abi::RMI_RTT_CREATE, &[rd, rtt, 0, 1]).x[0],
        u64::from(RMI_ERROR_INPUT)
    );
    // INIT_RIPAS of an unaligned base against a level-1 entry.
    assert_eq!(
        w.rmi(abi::RMI_RTT_INIT_RIPAS, &[rd, 0x1000, 0x2000]).x[0],
        u64::from(RMI_ERROR_RTT) | 1 << 8
    );
    // Unprotected half: map, read back the host's descriptor, unmap.
    let ns_ipa = 1u64 << 39;
    w.rtt_path(rd, p.start_level, ns_ipa, 3);
    let desc = 0x1_0000_0000 | (3 << 6) | (6 << 2);
    w.ok(abi::RMI_RTT_MAP_UNPROTECTED, &[rd, ns_ipa, 3, desc]);
    assert_eq!(
        w.ok(abi::RMI_RTT_READ_ENTRY, &[rd, ns_ipa, 3]),
        [3, abi::RMI_ASSIGNED, desc, abi::RMI_EMPTY]
    );
    assert_eq!(
        w.rmi(abi::RMI_RTT_MAP_UNPROTECTED, &[rd, 0x1000, 3, desc])
            .x[0],
        u64::from(RMI_ERROR_INPUT)
    );
    let top = w.ok(abi::RMI_RTT_UNMAP_UNPROTECTED, &[rd, ns_ipa, 3])[0];
    assert_eq!(top, ns_ipa + 0x20_0000, "no live entry left in the table");
    w.rmm.check_invariants().unwrap();
}

#[test]
fn fold_and_unfold_a_block_of_ram() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    let rtts = w.rtt_path(rd, p.start_level, 0, 3);
    w.ok(abi::RMI_RTT_INIT_RIPAS, &[rd, 0, 0x20_0000]);
    // A contiguous, 2 MiB-aligned run of DATA granules.
    let base = w.alloc_n(1024);
    let base = (base + 0x1f_ffff) & !0x1f_ffff;
    for i in 0..512u64 {
        let d = base + i * 0x1000;
        w.ok(abi::RMI_GRANULE_DELEGATE, &[d]);
        w.ok(abi::RMI_DATA_CREATE_UNKNOWN, &[rd, d, i * 0x1000]);
    }
    assert_eq!(w.ok(abi::RMI_RTT_FOLD, &[rd, 0, 3])[0], rtts[1]);
    assert_eq!(
        w.ok(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 3]),
        [2, abi::RMI_ASSIGNED, base, abi::RMI_RAM]
    );
    w.rmm.check_invariants().unwrap();
    // Unfold again into the same granule.
    w.ok(abi::RMI_RTT_CREATE, &[rd, rtts[1], 0, 3]);
    assert_eq!(
        w.ok(abi::RMI_RTT_READ_ENTRY, &[rd, 0x5000, 3]),
        [3, abi::RMI_ASSIGNED, base + 0x5000, abi::RMI_RAM]
    );
    w.rmm.check_invariants().unwrap();
}
