//! One case per failure condition of REALM_CREATE, REC_CREATE, DATA_CREATE and the RTT commands, each
//! expecting TF-RMM rmm-spec-v1.0-rel0's status and index, and no state change.
#![cfg(test)]

use realm_rmm::abi::{
    self, RMI_ERROR_INPUT, RMI_ERROR_REALM, RMI_ERROR_RTT, RmiRealmParams, RmiRecParams,
};
use realm_rmm::host::{HostMemory as _, SmcRegs};
use realm_rmm::testing::{RealmParams, RecParams, World};
use zerocopy::{FromZeros as _, IntoBytes as _};

fn x0(status: u8, index: u8) -> u64 {
    u64::from(status) | u64::from(index) << 8
}

/// REALM_CREATE with one field of a valid parameter block changed.
#[test]
fn realm_create_each_parameter_condition_is_error_input() {
    type Edit = fn(&mut RmiRealmParams);
    let cases: &[(&str, Edit)] = &[
        ("lpa2 unsupported", |p| p.flags |= abi::RMI_REALM_FLAGS_LPA2),
        ("s2sz below 32", |p| p.s2sz = 31),
        ("s2sz above feature", |p| p.s2sz = 49),
        ("s2sz high bytes (read as u32)", |p| p.s2sz |= 1 << 8),
        ("num_bps zero", |p| p.num_bps = 0),
        ("num_bps above feature", |p| p.num_bps = 6),
        ("num_wps zero", |p| p.num_wps = 0),
        ("sve_vl above feature", |p| {
            p.flags |= abi::RMI_REALM_FLAGS_SVE;
            p.sve_vl = 16;
        }),
        ("pmu counters above feature", |p| {
            p.flags |= abi::RMI_REALM_FLAGS_PMU;
            p.pmu_num_ctrs = 7;
        }),
        ("start level inconsistent", |p| p.rtt_level_start = 0),
        ("start level out of range", |p| p.rtt_level_start = -1),
        ("root count wrong", |p| p.rtt_num_start = 1),
        ("hash algorithm", |p| p.hash_algo = 2),
    ];
    for (name, edit) in cases {
        let mut w = World::new();
        let roots = w.alloc_n(2);
        for r in [roots, roots + 0x1000] {
            w.ok(abi::RMI_GRANULE_DELEGATE, &[r]);
        }
        let rd = w.delegated();
        let mut p = World::realm_params(&RealmParams::default_sha256(), roots);
        edit(&mut p);
        let params = w.host_page(p.as_bytes());
        assert_eq!(
            w.rmi(abi::RMI_REALM_CREATE, &[rd, params]).x[0],
            x0(RMI_ERROR_INPUT, 0),
            "{name}"
        );
        assert_eq!(w.rmm.realm_granule_count(), 3, "{name}: no state change");
        w.rmm.check_invariants().unwrap();
    }
}

#[test]
fn realm_create_granule_conditions() {
    let mut w = World::new();
    let roots = w.alloc_n(2);
    let rd = w.delegated();
    let p = World::realm_params(&RealmParams::default_sha256(), roots);
    let params = w.host_page(p.as_bytes());
    // Roots not delegated.
    assert_eq!(
        w.rmi(abi::RMI_REALM_CREATE, &[rd, params]).x[0],
        x0(RMI_ERROR_INPUT, 0)
    );
    for r in [roots, roots + 0x1000] {
        w.ok(abi::RMI_GRANULE_DELEGATE, &[r]);
    }
    // rd aliases a root.
    assert_eq!(
        w.rmi(abi::RMI_REALM_CREATE, &[roots + 0x1000, params]).x[0],
        x0(RMI_ERROR_INPUT, 0)
    );
    // Params in a delegated granule.
    assert_eq!(
        w.rmi(abi::RMI_REALM_CREATE, &[rd, rd]).x[0],
        x0(RMI_ERROR_INPUT, 0)
    );
    w.ok(abi::RMI_REALM_CREATE, &[rd, params]);
    // Same VMID again.
    let mut w2 = w;
    let roots2 = w2.alloc_n(2);
    for r in [roots2, roots2 + 0x1000] {
        w2.ok(abi::RMI_GRANULE_DELEGATE, &[r]);
    }
    let rd2 = w2.delegated();
    let p2 = World::realm_params(&RealmParams::default_sha256(), roots2);
    let params2 = w2.host_page(p2.as_bytes());
    assert_eq!(
        w2.rmi(abi::RMI_REALM_CREATE, &[rd2, params2]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "VMID in use"
    );
    let p3 = World::realm_params(
        &RealmParams {
            vmid: 2,
            ..RealmParams::default_sha256()
        },
        roots2,
    );
    let params3 = w2.host_page(p3.as_bytes());
    w2.ok(abi::RMI_REALM_CREATE, &[rd2, params3]);
    w2.rmm.check_invariants().unwrap();
}

#[test]
fn rec_create_conditions() {
    let mut w = World::new();
    let rd = w.realm_create(&RealmParams::default_sha256());
    let mk = |w: &mut World, mpidr: u64, num_aux: u64| {
        let mut p = RmiRecParams::new_zeroed();
        p.mpidr = mpidr;
        p.num_aux = num_aux;
        for a in p.aux.iter_mut() {
            *a = w.delegated();
        }
        let params = w.host_page(p.as_bytes());
        (w.delegated(), params)
    };
    let (rec, params) = mk(&mut w, 1, 16);
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "mpidr not next index"
    );
    let (rec, params) = mk(&mut w, 0x10, 16);
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "mpidr bits outside Aff0[3:0]"
    );
    let (rec, params) = mk(&mut w, 0, 15);
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "num_aux not 16"
    );
    let (rec, params) = mk(&mut w, 0, 17);
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "num_aux above 16"
    );
    // num_aux is read as 32 bits by TF-RMM: 1 << 32 | 16 passes.
    let (rec, params) = mk(&mut w, 0, (1 << 32) | 16);
    w.ok(abi::RMI_REC_CREATE, &[rd, rec, params]);
    w.ok(abi::RMI_REALM_ACTIVATE, &[rd]);
    let (rec, params) = mk(&mut w, 1, 16);
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_REALM, 0),
        "realm not NEW"
    );
    w.rmm.check_invariants().unwrap();
    // The REC cannot be destroyed twice; the realm cannot be destroyed while it exists.
    assert_eq!(
        w.rmi(abi::RMI_REALM_DESTROY, &[rd]).x[0],
        x0(RMI_ERROR_REALM, 0)
    );
}

#[test]
fn data_create_conditions_in_order() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    let src = w.host_page(&[1; 16]);
    let data = w.delegated();
    let call = |w: &World, args: &[u64]| w.rmi(abi::RMI_DATA_CREATE, args).x[0];
    assert_eq!(
        call(&w, &[rd, data, 0x1000, src, 2]),
        x0(RMI_ERROR_INPUT, 0),
        "flags"
    );
    assert_eq!(
        call(&w, &[rd, data, 0x1000, data, 1]),
        x0(RMI_ERROR_INPUT, 0),
        "src not NS"
    );
    assert_eq!(
        call(&w, &[rd, src, 0x1000, src, 1]),
        x0(RMI_ERROR_INPUT, 0),
        "data not delegated"
    );
    assert_eq!(
        call(&w, &[rd, data, 0x1800, src, 1]),
        x0(RMI_ERROR_INPUT, 0),
        "ipa unaligned"
    );
    assert_eq!(
        call(&w, &[rd, data, 1 << 39, src, 1]),
        x0(RMI_ERROR_INPUT, 0),
        "ipa unprotected"
    );
    assert_eq!(
        call(&w, &[rd, data, 0x1000, src, 1]),
        x0(RMI_ERROR_RTT, 1),
        "walk stops at level 1"
    );
    w.rtt_path(rd, p.start_level, 0, 2);
    assert_eq!(
        call(&w, &[rd, data, 0x1000, src, 1]),
        x0(RMI_ERROR_RTT, 2),
        "walk stops at level 2"
    );
    w.rtt_path(rd, 2, 0, 3);
    assert_eq!(call(&w, &[rd, data, 0x1000, src, 1]), 0);
    let data2 = w.delegated();
    assert_eq!(
        call(&w, &[rd, data2, 0x1000, src, 1]),
        x0(RMI_ERROR_RTT, 3),
        "entry assigned"
    );
    w.ok(abi::RMI_REALM_ACTIVATE, &[rd]);
    assert_eq!(
        call(&w, &[rd, data2, 0x2000, src, 1]),
        x0(RMI_ERROR_REALM, 0),
        "realm not NEW"
    );
    // RTT_DESTROY of a table with a live entry: RTT(3) and top = ipa.
    let r = w.rmi(abi::RMI_RTT_DESTROY, &[rd, 0, 3]);
    assert_eq!(r.x[..3], [x0(RMI_ERROR_RTT, 3), 0, 0]);
    // DATA_DESTROY of an unassigned entry: RTT(3), top = next live entry (none after 0x1000 → end of table).
    let r = w.rmi(abi::RMI_DATA_DESTROY, &[rd, 0x2000]);
    assert_eq!(r.x[..3], [x0(RMI_ERROR_RTT, 3), 0, 0x20_0000]);
    let r = w.rmi(abi::RMI_DATA_DESTROY, &[rd, 0x0000]);
    assert_eq!(
        r.x[..3],
        [x0(RMI_ERROR_RTT, 3), 0, 0x1000],
        "skips to the live entry"
    );
    w.rmm.check_invariants().unwrap();
}

#[test]
fn read_entry_and_levels() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    let r = w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 3]);
    assert_eq!(
        r.x[..5],
        [0, 1, abi::RMI_UNASSIGNED, 0, abi::RMI_EMPTY],
        "walk stops at the level-1 root"
    );
    assert_eq!(
        w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 0]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "above start level"
    );
    assert_eq!(
        w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 4]).x[0],
        x0(RMI_ERROR_INPUT, 0)
    );
    assert_eq!(
        w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, 1 << 40, 1]).x[0],
        x0(RMI_ERROR_INPUT, 0),
        "outside IPA space"
    );
    let r = w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, 1 << 39, 1]);
    assert_eq!(
        r.x[..5],
        [0, 1, abi::RMI_UNASSIGNED, 0, abi::RMI_EMPTY],
        "unassigned_ns"
    );
    // A failed READ_ENTRY does not write x4: the caller's x4 comes back.
    let r = w.rmm_call(SmcRegs::call(abi::RMI_RTT_READ_ENTRY, &[rd, 0, 9, 0xdead]));
    assert_eq!(r.x[4], 0xdead);
}

trait CallExt {
    fn rmm_call(&self, regs: SmcRegs) -> SmcRegs;
}

impl CallExt for World {
    fn rmm_call(&self, regs: SmcRegs) -> SmcRegs {
        realm_rmm::host::Rmi::call(&self.rmm, regs)
    }
}

#[test]
fn rec_params_must_be_ns() {
    let mut w = World::new();
    let rd = w.realm_create(&RealmParams::default_sha256());
    let rec = w.delegated();
    let params = w.delegated();
    assert_eq!(
        w.rmi(abi::RMI_REC_CREATE, &[rd, rec, params]).x[0],
        x0(RMI_ERROR_INPUT, 0)
    );
    let _ = w.rmm.write(params, &[0]);
    let _ = RecParams::runnable(0);
}

/// TF-RMM `smc_rtt_read_entry` (the `s2tt_context` version of `runtime/rmi/rtt.c`, without planes): an
/// assigned_destroyed entry reports state ASSIGNED, RIPAS DESTROYED and its PA. (The reference page says 0,
/// which is what the older pre-`s2tt_context` rtt.c does; see docs/rmm-failure-conditions.md.)
#[test]
fn read_entry_assigned_destroyed_reports_its_address() {
    let mut w = World::new();
    let p = RealmParams::default_sha256();
    let rd = w.realm_create(&p);
    let ipa = 0x20_0000;
    w.rtt_path(rd, 1, ipa, 3);
    let data = w.data_create(rd, ipa, &[0x5a; 4096], true);
    let r = w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, ipa, 3]);
    assert_eq!(r.x[..5], [0, 3, abi::RMI_ASSIGNED, data, abi::RMI_RAM]);
    // DATA_DESTROY of assigned_ram leaves unassigned_destroyed; DATA_CREATE_UNKNOWN then makes it
    // assigned_destroyed.
    w.ok(abi::RMI_DATA_DESTROY, &[rd, ipa]);
    let r = w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, ipa, 3]);
    assert_eq!(r.x[..5], [0, 3, abi::RMI_UNASSIGNED, 0, abi::RMI_DESTROYED]);
    w.ok(abi::RMI_DATA_CREATE_UNKNOWN, &[rd, data, ipa]);
    let r = w.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, ipa, 3]);
    assert_eq!(
        r.x[..5],
        [0, 3, abi::RMI_ASSIGNED, data, abi::RMI_DESTROYED]
    );
    w.rmm.check_invariants().unwrap();
}
