//! `call_many` over runs of RMI_DATA_CREATE longer than one step of the batch pipeline (apply, hash and RIM
//! chain overlap across steps) gives exactly the one-by-one results, including a failure in a later step;
//! likewise for the kernel's populate sequence (GRANULE_DELEGATE of each destination, then DATA_CREATE).
#![cfg(test)]

use realm_rmm::abi;
use realm_rmm::host::{Rmi as _, SmcRegs};
use realm_rmm::testing::{RealmParams, World};

/// How the run is made.
#[derive(Clone, Copy)]
struct Run {
    pages: usize,
    sha512: bool,
    /// Each DATA_CREATE is preceded by the GRANULE_DELEGATE of its destination (the kernel's populate).
    delegate: bool,
    /// Page whose call fails: its DATA_CREATE destination is undelegated (without `delegate`), or its
    /// GRANULE_DELEGATE names a granule that is already delegated (with `delegate`).
    fail_at: Option<usize>,
}

/// A realm with tables over `n` pages and the calls of `run`; flags cycle through measured / not measured.
fn build(run: Run) -> (World, u64, Vec<SmcRegs>) {
    let Run {
        pages: n,
        sha512,
        delegate,
        fail_at,
    } = run;
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
        let data = if fail_at == Some(i) || delegate {
            w.alloc()
        } else {
            w.delegated()
        };
        if delegate {
            let target = if fail_at == Some(i) {
                w.delegated()
            } else {
                data
            };
            calls.push(SmcRegs::call(abi::RMI_GRANULE_DELEGATE, &[target]));
        }
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

fn check(run: Run) {
    let (a, rd, calls) = build(run);
    let mut one_by_one = Vec::new();
    for c in &calls {
        let r = a.rmm.call(*c);
        one_by_one.push(r);
        if r.x[0] != 0 {
            break;
        }
    }
    let (b, _, calls_b) = build(run);
    let mut batched = Vec::new();
    b.rmm.call_many(&calls_b, &mut batched);
    assert_eq!(one_by_one, batched);
    let per_page = if run.delegate { 2 } else { 1 };
    assert_eq!(
        batched.len(),
        run.fail_at
            .map_or(run.pages * per_page, |f| f * per_page + 1)
    );
    assert_eq!(
        batched.last().map(|r| r.x[0] != 0),
        Some(run.fail_at.is_some())
    );
    assert_eq!(a.rmm.measurement_log(rd), b.rmm.measurement_log(rd));
    assert_eq!(a.rmm.measurements(rd), b.rmm.measurements(rd));
    for c in calls
        .iter()
        .filter(|c| c.x[0] == u64::from(abi::RMI_DATA_CREATE))
    {
        let ra = a.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
        let rb = b.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
        assert_eq!(ra, rb);
    }
    assert_eq!(a.rmm.realm_granule_count(), b.rmm.realm_granule_count());
    b.rmm.check_invariants().unwrap();
}

fn run(pages: usize, sha512: bool, delegate: bool, fail_at: Option<usize>) -> Run {
    Run {
        pages,
        sha512,
        delegate,
        fail_at,
    }
}

#[test]
fn long_runs_equal_one_by_one() {
    check(run(1100, false, false, None));
    check(run(700, true, false, None));
}

#[test]
fn failure_in_a_later_step_stops_the_run_like_one_by_one() {
    check(run(900, false, false, Some(611)));
    check(run(600, true, false, Some(256)));
    check(run(600, false, false, Some(0)));
}

#[test]
fn delegate_and_data_create_pairs_equal_one_by_one() {
    check(run(1100, false, true, None));
    check(run(300, true, true, None));
}

#[test]
fn a_failed_delegate_stops_the_pairs_like_one_by_one() {
    check(run(700, false, true, Some(611)));
    check(run(300, false, true, Some(1)));
    check(run(300, true, true, Some(0)));
}
