//! `realm bench`: throughput figures of `measure`, each as a ratio to a limit measured in the same run.
//!
//! 1. `measure` of a 1 GiB firmware image vs one core's raw SHA-256 rate (target ≥ 1.4×: the RMM hashes DATA
//!    granules on both cores through `Rmi::call_many`);
//! 2. a 4 GiB-RAM realm with a 64 MiB payload vs the time to hash the payload (target ≤ 1.25×);
//! 3. a 256 GiB-RAM realm with a 16 MiB payload (target < 0.5 s, peak RSS < 64 MiB + payload, from
//!    `/proc/self/status` VmHWM — run first, so the peak is this realm's).
//!
//! Each figure also shows the *machine floor*: one core's SHA-256 of the payload plus two cold first-touch
//! copies of it (guest memory, the realm's granules), spread perfectly over two cores, measured in the same
//! run; on a VM whose fresh memory is slow to fault in, that floor can lie above a target.
//!
//! Figures only: nothing here asserts on time.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::build::Quiet;
use crate::config::{AbiRevision, Layout, RealmConfig, RealmParams};
use crate::image::{ImageSource, filler};
use crate::measure::{MeasureError, measure};
use crate::os::cpu_time;
use crate::prepare::{PrepareError, prepare};
use crate::size::{GIB, MIB};

/// One benchmark's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figure {
    /// What was timed.
    pub name: String,
    /// Seconds.
    pub seconds: f64,
    /// The reference it is compared with.
    pub reference: String,
    /// The ratio (meaning per benchmark; see `target`).
    pub ratio: f64,
    /// The target, in words.
    pub target: String,
    /// Extra figures (throughput, RSS).
    pub notes: Vec<String>,
}

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Preparing a configuration failed.
    #[error("preparing the {0} benchmark realm")]
    Prepare(&'static str, #[source] PrepareError),
    /// Measuring failed.
    #[error("measuring the {0} benchmark realm")]
    Measure(&'static str, #[source] MeasureError),
}

fn firmware_config(
    platform: &realm_platform::Platform,
    mem: u64,
    payload: usize,
    seed: u8,
) -> RealmConfig {
    RealmConfig {
        kernel: None,
        initrd: None,
        dtb: None,
        firmware: Some(ImageSource::Bytes {
            name: format!("<{} MiB firmware>", payload >> 20),
            data: Arc::from(filler(payload, seed)),
        }),
        cmdline: String::new(),
        mem,
        cpus: 1,
        layout: Layout::Kvmtool,
        ipa_bits: None,
        params: RealmParams::default(),
        abi: AbiRevision::V12,
        unmeasured: BTreeSet::new(),
        platform: platform.clone(),
    }
}

/// Figures of one timed `measure`.
#[derive(Clone, Copy, Debug)]
struct Timing {
    /// Until the RIM is final.
    rim: Duration,
    /// Including the realm's teardown.
    with_teardown: Duration,
    /// Loading the images into guest memory (part of `rim`).
    load: Duration,
    /// The populate steps (part of `rim`).
    populate: Duration,
    /// CPU time of the whole process (every thread) over the measure, teardown included.
    cpu: Option<Duration>,
    /// CPU time of the calling thread (the one issuing the ioctls).
    main_cpu: Option<Duration>,
}

impl Timing {
    /// The wall time the measure would take on two idle cores, bounded below by its CPU figures:
    /// max(calling thread's CPU time, all threads' CPU time / 2). An estimate for a loaded machine.
    fn idle_two_core_secs(&self) -> Option<f64> {
        Some(
            self.main_cpu?
                .as_secs_f64()
                .max(self.cpu?.as_secs_f64() / 2.0),
        )
    }
}

fn cpu_since(now: Option<Duration>, then: Option<Duration>) -> Option<Duration> {
    Some(now?.saturating_sub(then?))
}

fn time_measure(name: &'static str, cfg: &RealmConfig) -> Result<Timing, BenchError> {
    let p = prepare(cfg).map_err(|e| BenchError::Prepare(name, e))?;
    let (cpu0, main0) = (cpu_time(false), cpu_time(true));
    let t = Instant::now();
    let report = measure(&p, &mut Quiet).map_err(|e| BenchError::Measure(name, e))?;
    let with_teardown = t.elapsed();
    Ok(Timing {
        rim: report.stats.total_time,
        with_teardown,
        load: report.stats.load_time,
        populate: report.stats.populate_time,
        cpu: cpu_since(cpu_time(false), cpu0),
        main_cpu: cpu_since(cpu_time(true), main0),
    })
}

fn teardown_note(d: &Timing) -> String {
    format!(
        "{:.3} s with the realm's teardown (image load {:.3} s, populate {:.3} s)",
        d.with_teardown.as_secs_f64(),
        d.load.as_secs_f64(),
        d.populate.as_secs_f64()
    )
}

fn cpu_note(d: &Timing) -> String {
    match (d.cpu, d.main_cpu) {
        (Some(all), Some(main)) => format!(
            "CPU time {:.3} s in all threads, {:.3} s on the calling thread (teardown included)",
            all.as_secs_f64(),
            main.as_secs_f64()
        ),
        _ => "CPU time unavailable".into(),
    }
}

/// Seconds one core takes to SHA-256 `data`, best of `runs`.
pub fn sha256_seconds(data: &[u8], runs: usize) -> f64 {
    sha256_times(data, runs).0
}

/// (wall seconds, the thread's CPU seconds) one core takes to SHA-256 `data`, best of `runs` each.
pub fn sha256_times(data: &[u8], runs: usize) -> (f64, f64) {
    (0..runs.max(1))
        .map(|_| {
            let c = cpu_time(true);
            let t = Instant::now();
            std::hint::black_box(Sha256::digest(data));
            let wall = t.elapsed().as_secs_f64();
            let cpu = cpu_since(cpu_time(true), c).map_or(wall, |d| d.as_secs_f64());
            (wall, cpu)
        })
        .fold((f64::INFINITY, f64::INFINITY), |a, b| {
            (a.0.min(b.0), a.1.min(b.1))
        })
}

/// Seconds one thread takes to copy `data` into fresh (never touched) memory: the first-touch cost of the
/// pages plus the copy, which a faithful measure pays at least twice (the image in guest memory, the
/// realm's granules). Best of `runs`.
pub fn cold_copy_seconds(data: &[u8], runs: usize) -> f64 {
    (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            let mut fresh = vec![0u8; data.len()];
            fresh.copy_from_slice(data);
            std::hint::black_box(&fresh);
            let secs = t.elapsed().as_secs_f64();
            drop(fresh);
            secs
        })
        .fold(f64::INFINITY, f64::min)
}

/// The firmware payload of a benchmark configuration.
fn firmware_bytes(cfg: &RealmConfig) -> Option<&[u8]> {
    match &cfg.firmware {
        Some(ImageSource::Bytes { data, .. }) => Some(data),
        _ => None,
    }
}

/// The machine floor of a measure of a payload on two cores: its one-core SHA-256 time plus two cold
/// copies of it, spread perfectly over both cores. No faithful measure can beat it on this machine.
/// Returns two notes: the floor with the measure's ratio to it, and whether `target_secs` (the longest
/// measure the target allows) lies above or below it.
fn floor_notes(
    measure_secs: f64,
    hash_secs: f64,
    cold_copy_secs: f64,
    target_secs: f64,
) -> [String; 2] {
    let floor = (hash_secs + 2.0 * cold_copy_secs) / 2.0;
    [
        format!(
            "machine floor (one core's SHA-256 {hash_secs:.3} s + 2 cold first-touch copies {cold_copy_secs:.3} s \
             each, over 2 cores) {floor:.3} s; measure / floor = {:.2}",
            measure_secs / floor
        ),
        format!(
            "the target needs the measure within {target_secs:.3} s: {} this machine's floor ({floor:.3} s)",
            if target_secs < floor {
                "below"
            } else {
                "above"
            }
        ),
    ]
}

/// Peak resident set size of this process, bytes (`VmHWM`), if readable.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[expect(clippy::cast_precision_loss, reason = "byte counts as f64 for rates")]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Seconds are the time until the RIM is final (the build through realm activation); the teardown of the
/// realm afterwards is shown as a note.
///
/// Run the three benchmarks (a few seconds and ~4 GiB of memory in all).
pub fn run(platform: &realm_platform::Platform) -> Result<Vec<Figure>, BenchError> {
    let mut out = Vec::new();

    // 3 first: the process's peak RSS must be this realm's.
    let payload = 16 * MIB;
    let cfg = firmware_config(platform, 256 * GIB, 16 << 20, 3);
    let d = time_measure("256 GiB", &cfg)?;
    let secs = d.rim.as_secs_f64();
    let rss = peak_rss().unwrap_or(0);
    out.push(Figure {
        name: "measure: 256 GiB RAM, 16 MiB payload".into(),
        seconds: secs,
        reference: "0.5 s".into(),
        ratio: secs / 0.5,
        target: "< 1 (under 0.5 s); peak RSS < 64 MiB + payload".into(),
        notes: vec![
            format!(
                "peak RSS (VmHWM) {:.1} MiB, limit {:.1} MiB",
                mib(rss),
                mib(64 * MIB + payload)
            ),
            teardown_note(&d),
            cpu_note(&d),
        ],
    });

    // Reference: one core's SHA-256 rate on 256 MiB.
    let sample = filler(256 << 20, 9);
    let (sample_secs, sample_cpu) = sha256_times(&sample, 3);
    let sha_rate = mib(sample.len() as u64) / sample_secs;
    let sha_cpu_rate = mib(sample.len() as u64) / sample_cpu;
    drop(sample);

    // 1: 1 GiB firmware.
    let cfg = firmware_config(platform, 2 * GIB, 1 << 30, 1);
    let cold_copy = firmware_bytes(&cfg).map_or(f64::NAN, |data| cold_copy_seconds(data, 2));
    let d = time_measure("1 GiB firmware", &cfg)?;
    let secs = d.rim.as_secs_f64();
    let rate = 1024.0 / secs;
    let hash_1g = 1024.0 / sha_rate;
    let floor = floor_notes(secs, hash_1g, cold_copy, hash_1g / 1.4);
    let mut cpu_ratio = String::from("CPU-time ratio unavailable");
    if let Some(idle) = d.idle_two_core_secs() {
        cpu_ratio = format!(
            "CPU-time ratio (estimate for 2 idle cores: 1 GiB / max(calling thread CPU, all CPU / 2) \
             = {idle:.3} s, vs one core's SHA-256 per CPU second {sha_cpu_rate:.0} MiB/s): {:.2}",
            1024.0 / idle / sha_cpu_rate
        );
    }
    out.push(Figure {
        name: "measure: 1 GiB firmware".into(),
        seconds: secs,
        reference: format!("one core's SHA-256: {sha_rate:.0} MiB/s"),
        ratio: rate / sha_rate,
        target: "≥ 1.4 (measure throughput / one core's SHA-256 rate)".into(),
        notes: vec![
            format!("measure throughput {rate:.0} MiB/s"),
            teardown_note(&d),
            cpu_note(&d),
            cpu_ratio,
        ]
        .into_iter()
        .chain(floor)
        .collect(),
    });
    drop(cfg);

    // 2: 4 GiB RAM, 64 MiB payload.
    let cfg = firmware_config(platform, 4 * GIB, 64 << 20, 2);
    let (hash_secs, hash_cpu) =
        firmware_bytes(&cfg).map_or((f64::NAN, f64::NAN), |data| sha256_times(data, 3));
    let cold_copy = firmware_bytes(&cfg).map_or(f64::NAN, |data| cold_copy_seconds(data, 3));
    let d = time_measure("4 GiB", &cfg)?;
    let secs = d.rim.as_secs_f64();
    let floor = floor_notes(secs, hash_secs, cold_copy, 1.25 * hash_secs);
    let mut cpu_ratio = String::from("CPU-time ratio unavailable");
    if let Some(idle) = d.idle_two_core_secs() {
        cpu_ratio = format!(
            "CPU-time ratio (estimate for 2 idle cores: max(calling thread CPU, all CPU / 2) = {idle:.3} s, \
             vs the payload hash's CPU time {hash_cpu:.3} s): {:.2}",
            idle / hash_cpu
        );
    }
    out.push(Figure {
        name: "measure: 4 GiB RAM, 64 MiB payload".into(),
        seconds: secs,
        reference: format!("SHA-256 of the payload on one core: {:.3} s", hash_secs),
        ratio: secs / hash_secs,
        target: "≤ 1.25 (measure time / payload hash time)".into(),
        notes: [teardown_note(&d), cpu_note(&d), cpu_ratio]
            .into_iter()
            .chain(floor)
            .collect(),
    });
    Ok(out)
}
