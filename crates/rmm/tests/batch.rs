//! `call_many` over runs of RMI_DATA_CREATE longer than one step of the batch pipeline (apply, hash and RIM
//! chain overlap across steps) gives exactly the one-by-one results, including a failure in a later step.
#![cfg(test)]

use realm_rmm::abi;
use realm_rmm::host::{Rmi as _, SmcRegs};
use realm_rmm::testing::{RealmParams, World};

/// A realm with tables over `n` pages and `n` DATA_CREATE calls; call `fail_at` uses an undelegated
/// granule; flags cycle through measured / not measured.
fn build(n: usize, fail_at: Option<usize>, sha512: bool) -> (World, u64, Vec<SmcRegs>) {
    let mut w = World::new();
    let p = RealmParams {
        hash_algo: u8::from(sha512),
        ..RealmParams::default_sha256()
    };
    let rd = w.realm_create(&p);
    let pages = u64::try_from(n).unwrap_or(0);
    let mut ipa = 0;
    while ipa < pages * 0x1000 {
        w.rtt_path(rd, p.start_level, ipa, 3);
        ipa += 0x20_0000;
    }
    let mut calls = Vec::new();
    for (i, ipa) in (0..n).zip((0u64..).step_by(0x1000)) {
        let src = w.host_page(&[u8::try_from(i % 251).unwrap_or(0); 0x1000]);
        let data = if fail_at == Some(i) {
            w.alloc()
        } else {
            w.delegated()
        };
        let flags = if i % 3 == 0 {
            abi::RMI_NO_MEASURE_CONTENT
        } else {
            abi::RMI_MEASURE_CONTENT
        };
        calls.push(SmcRegs::call(
            abi::RMI_DATA_CREATE,
            &[rd, data, ipa, src, flags],
        ));
    }
    (w, rd, calls)
}

fn check(n: usize, fail_at: Option<usize>, sha512: bool) {
    let (a, rd, calls) = build(n, fail_at, sha512);
    let mut one_by_one = Vec::new();
    for c in &calls {
        let r = a.rmm.call(*c);
        one_by_one.push(r);
        if r.x[0] != 0 {
            break;
        }
    }
    let (b, _, calls_b) = build(n, fail_at, sha512);
    let mut batched = Vec::new();
    b.rmm.call_many(&calls_b, &mut batched);
    assert_eq!(one_by_one, batched);
    assert_eq!(batched.len(), fail_at.map_or(n, |f| f + 1));
    assert_eq!(a.rmm.measurement_log(rd), b.rmm.measurement_log(rd));
    assert_eq!(a.rmm.measurements(rd), b.rmm.measurements(rd));
    for c in &calls {
        let ra = a.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
        let rb = b.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
        assert_eq!(ra, rb);
    }
    assert_eq!(a.rmm.realm_granule_count(), b.rmm.realm_granule_count());
    b.rmm.check_invariants().unwrap();
}

#[test]
fn long_runs_equal_one_by_one() {
    check(1100, None, false);
    check(700, None, true);
}

#[test]
fn failure_in_a_later_step_stops_the_run_like_one_by_one() {
    check(900, Some(611), false);
    check(600, Some(256), true);
    check(600, Some(0), false);
}
