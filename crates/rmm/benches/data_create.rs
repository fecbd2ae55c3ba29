//! RMI_DATA_CREATE with MEASURE_CONTENT over 256 MiB (`REALM_BENCH_MIB` to change): throughput and its
//! ratio to raw SHA-256/SHA-512 of the same pages on one core, measured in the same run, call by call and
//! through `Rmi::call_many` (contents hashed on all cores). Call by call, the contents are hashed by the
//! RMM's hash pool after each call returns, so the timed region ends with reading the final RIM (which
//! waits for that work). Prints the ratio lines, then runs a small criterion group.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use realm_rmm::abi;
use realm_rmm::host::{HostMemory as _, Rmi as _, SmcRegs};
use realm_rmm::testing::{RealmParams, World};
use sha2::{Digest as _, Sha256, Sha512};

const PAGE: usize = 0x1000;

struct Setup {
    w: World,
    calls: Vec<SmcRegs>,
    pages: Vec<Vec<u8>>,
}

fn page_contents(i: u64) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..PAGE / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect()
}

/// A realm with level-3 tables over `[0, n pages)` and `n` DATA_CREATE calls ready to issue.
fn setup(n: u64, sha512: bool, keep_pages: bool) -> Setup {
    let mut w = World::new();
    let p = RealmParams {
        hash_algo: u8::from(sha512),
        ..RealmParams::default_sha256()
    };
    let rd = w.realm_create(&p);
    let mut ipa = 0;
    while ipa < n * 0x1000 {
        w.rtt_path(rd, p.start_level, ipa, 3);
        ipa += 0x20_0000;
    }
    let mut calls = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut pages = Vec::new();
    for i in 0..n {
        let contents = page_contents(i);
        let src = w.host_page(&contents);
        let data = w.delegated();
        calls.push(SmcRegs::call(
            abi::RMI_DATA_CREATE,
            &[rd, data, i * 0x1000, src, abi::RMI_MEASURE_CONTENT],
        ));
        if keep_pages {
            pages.push(contents);
        }
    }
    Setup { w, calls, pages }
}

/// This thread's CPU time (`/proc/thread-self/schedstat`, ns), so single-threaded ratios are not skewed by
/// other processes on a busy machine; `None` where unavailable.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

fn cpu_since(start: Option<Duration>) -> Option<Duration> {
    Some(thread_cpu()? - start?)
}

/// CPU time of all of this process's live threads (the RMM's hash pool included), ns.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok()?;
        total += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn raw_hash(pages: &[Vec<u8>], sha512: bool) -> Duration {
    let t = Instant::now();
    for p in pages {
        if sha512 {
            black_box(Sha512::digest(p));
        } else {
            black_box(Sha256::digest(p));
        }
    }
    t.elapsed()
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

fn report() {
    let mib: u64 = std::env::var("REALM_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let n = mib * 256;
    let bytes = n * PAGE as u64;
    for sha512 in [false, true] {
        let name = if sha512 { "sha512" } else { "sha256" };
        let s = setup(n, sha512, true);
        let c0 = thread_cpu();
        let raw = raw_hash(&s.pages, sha512);
        let raw_cpu = cpu_since(c0);
        let c0 = thread_cpu();
        let p0 = process_cpu();
        let t = Instant::now();
        for c in &s.calls {
            let r = s.w.rmm.call(*c);
            assert_eq!(r.x[0], 0);
        }
        // The RIM read waits for the queued measurement work: part of the call-by-call time.
        let rim_one = s.w.rmm.measurements(s.calls[0].x[1]).map(|m| m.rim);
        let one = t.elapsed();
        let one_cpu = cpu_since(c0);
        let all_cpu = process_cpu().zip(p0).map(|(b, a)| b - a);
        if let (Some(r), Some(o), Some(a)) = (raw_cpu, one_cpu, all_cpu) {
            println!(
                "{name}: by thread CPU time: raw {:.0} MiB/s, DATA_CREATE call-by-call {:.0} MiB/s = {:.2}x raw (calling thread only); all threads {:.0} MiB/s = {:.2}x raw",
                mib_s(bytes, r),
                mib_s(bytes, o),
                r.as_secs_f64() / o.as_secs_f64(),
                mib_s(bytes, a),
                r.as_secs_f64() / a.as_secs_f64()
            );
        }
        drop(s);
        let s = setup(n, sha512, false);
        let mut out = Vec::with_capacity(s.calls.len());
        let t = Instant::now();
        s.w.rmm.call_many(&s.calls, &mut out);
        let many = t.elapsed();
        assert!(out.iter().all(|r| r.x[0] == 0));
        assert_eq!(
            s.w.rmm.measurements(s.calls[0].x[1]).map(|m| m.rim),
            rim_one,
            "batch RIM differs"
        );
        println!(
            "{name}: raw {:.0} MiB/s (1 core); DATA_CREATE call-by-call {:.0} MiB/s = {:.2}x raw; call_many {:.0} MiB/s = {:.2}x raw ({} threads, {mib} MiB)",
            mib_s(bytes, raw),
            mib_s(bytes, one),
            raw.as_secs_f64() / one.as_secs_f64(),
            mib_s(bytes, many),
            raw.as_secs_f64() / many.as_secs_f64(),
            rayon::current_num_threads(),
        );
        let _ = s.w.rmm.read(0, &mut []);
    }
}

/// Where the time goes: the same run of calls without content hashing (flags 0) and without copying or
/// measuring (DATA_CREATE_UNKNOWN).
fn overheads() {
    let n = 16384;
    let s = setup(n, false, false);
    let t = Instant::now();
    for c in &s.calls {
        let mut c = *c;
        c.x[5] = abi::RMI_NO_MEASURE_CONTENT;
        assert_eq!(s.w.rmm.call(c).x[0], 0);
    }
    let no_content = t.elapsed();
    let s = setup(n, false, false);
    let t = Instant::now();
    for c in &s.calls {
        let r =
            s.w.rmm
                .call(SmcRegs::call(abi::RMI_DATA_CREATE_UNKNOWN, &c.x[1..4]));
        assert_eq!(r.x[0], 0);
    }
    let unknown = t.elapsed();
    println!(
        "per call: DATA_CREATE flags=0 {:.2} us, DATA_CREATE_UNKNOWN {:.2} us",
        no_content.as_secs_f64() * 1e6 / n as f64,
        unknown.as_secs_f64() * 1e6 / n as f64
    );
}

fn bench(c: &mut Criterion) {
    overheads();
    report();
    let mut g = c.benchmark_group("data_create_16MiB");
    g.sample_size(10);
    g.bench_function("call_by_call_sha256", |b| {
        b.iter_batched(
            || setup(4096, false, false),
            |s| {
                for c in &s.calls {
                    black_box(s.w.rmm.call(*c));
                }
                black_box(s.w.rmm.measurements(s.calls[0].x[1]));
                s
            },
            criterion::BatchSize::PerIteration,
        );
    });
    g.bench_function("call_many_sha256", |b| {
        b.iter_batched(
            || setup(4096, false, false),
            |s| {
                let mut out = Vec::new();
                s.w.rmm.call_many(&s.calls, &mut out);
                s
            },
            criterion::BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
