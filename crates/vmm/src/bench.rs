//! `realm bench`: how fast `measure` is, each figure a ratio to a limit measured in the same run on the same
//! bytes (issue 14):
//!
//! 1. a 256 GiB-RAM realm with a 16 MiB payload: under 0.5 s and 80 MiB of peak RSS;
//! 2. a 1 GiB firmware (best of three runs, as the references are best of two): `measure`'s throughput at least 1.6× one core's SHA-256 rate of the payload, peak RSS
//!    at most the payload + 64 MiB, and — when the calculator `realm-measurements` is installed
//!    ([`calculator`]: on PATH or by `tools/calculator/install.sh`) — at least 3× faster than it;
//! 3. the same firmware through ABI v10, the runs taking turns with v12's: v12 must cost no more CPU time
//!    than v10 (best of three each);
//! 4. a 4 GiB-RAM realm with a 64 MiB payload: at most 1.1× the payload's one-core SHA-256 time.
//!
//! The references: *one core's SHA-256* of the payload (`sha2`, as `openssl dgst -sha256`), and the
//! *zero-copy floor*: the payload mapped, each 4 KiB page hashed in place on two threads (eight pages at a
//! time as interleaved streams, as `measure` hashes them: `realm-sha`) and the 256-byte
//! RIM descriptors chained in page order — what no faithful `measure` can beat, since it must hash every
//! byte and chain every page, and need copy none. Payloads are files (page cache warm, as a user's images
//! are after a first run), measured by a child `realm measure` so its wall time and peak RSS (`wait4`) are
//! its own, startup and teardown included ([`MeasureRunner::Child`]); tests run them in process.
//!
//! Figures only: nothing here asserts on time. The machine's load average is printed with them.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::build::Quiet;
use crate::config::{AbiRevision, RealmConfig};
use crate::image::{ImageData, ImageSource, filler};
use crate::measure::{MeasureError, measure};
use crate::prepare::{PrepareError, prepare};
use crate::size::{GIB, MIB};

#[path = "bench_calculator.rs"]
mod calculator;

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
    /// Extra figures (floor, RSS, CPU time, load).
    pub notes: Vec<String>,
}

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Writing or mapping a payload file failed.
    #[error("writing the {0} benchmark payload")]
    Payload(&'static str, #[source] std::io::Error),
    /// Preparing a configuration failed.
    #[error("preparing the {0} benchmark realm")]
    Prepare(&'static str, #[source] PrepareError),
    /// Measuring failed.
    #[error("measuring the {0} benchmark realm")]
    Measure(&'static str, #[source] MeasureError),
    /// The child `realm measure` could not run or failed.
    #[error("running `realm measure` for the {0} benchmark")]
    Child(&'static str, #[source] std::io::Error),
}

/// How `measure` is run for a figure.
#[derive(Clone, Debug)]
pub enum MeasureRunner {
    /// `exe measure --firmware FILE --mem M --abi A --platform P --json` as a child process: wall time,
    /// CPU time and peak RSS are the child's own (`wait4`).
    Child(PathBuf),
    /// In this process (tests): prepare + measure + teardown; no peak RSS of its own.
    InProcess,
}

/// One timed `measure`.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Wall time: the whole command (child) or prepare through teardown (in process).
    pub wall: Duration,
    /// CPU time, every thread.
    pub cpu: Option<Duration>,
    /// Peak RSS, bytes (child only).
    pub peak_rss: Option<u64>,
}

/// Runs of `measure` per 1 GiB figure, of which the best counts (as for the one-core references).
const MEASURE_RUNS: usize = 3;

impl Run {
    /// No run yet: [`Run::best`] of it and a run is that run.
    const NONE: Self = Self {
        wall: Duration::MAX,
        cpu: None,
        peak_rss: None,
    };

    /// The best of two runs: the shorter wall time, the smaller CPU time, and the larger peak RSS (the
    /// limit holds for every run).
    fn best(self, other: Self) -> Self {
        let min = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            wall: self.wall.min(other.wall),
            cpu: min(self.cpu, other.cpu),
            peak_rss: self.peak_rss.max(other.peak_rss),
        }
    }
}

/// A benchmark payload: a firmware file of deterministic bytes, removed on drop.
#[derive(Debug)]
struct Payload {
    path: PathBuf,
    data: ImageData,
}

impl Payload {
    fn new(name: &'static str, len: usize, seed: u8) -> Result<Self, BenchError> {
        let path = std::env::temp_dir().join(format!(
            "realm-bench-{}-{}-{seed}.bin",
            std::process::id(),
            len >> 20
        ));
        // Written 8 MiB at a time: this process's peak RSS must stay small, since a child's `ru_maxrss`
        // includes the parent's high-water mark when it was spawned (Linux records the pre-exec mm's in
        // exec), and the payload is not touched here before the children have run.
        let write = || -> std::io::Result<ImageData> {
            use std::io::Write as _;
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
            let mut left = len;
            let mut i = 0u8;
            while left > 0 {
                let n = left.min(8 << 20);
                f.write_all(&filler(n, seed ^ i))?;
                left -= n;
                i = i.wrapping_add(1);
            }
            f.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            ImageData::map(&std::fs::File::open(&path)?)
        };
        match write() {
            Ok(data) => Ok(Self { path, data }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(BenchError::Payload(name, e))
            }
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The kvmtool-layout, one-vCPU configuration measuring `firmware` in `mem` bytes of RAM.
fn firmware_config(
    platform: &realm_platform::Platform,
    firmware: &Path,
    mem: u64,
    abi: AbiRevision,
) -> RealmConfig {
    RealmConfig {
        kernel: None,
        initrd: None,
        dtb: None,
        firmware: Some(ImageSource::File(firmware.to_path_buf())),
        cmdline: String::new(),
        mem,
        cpus: 1,
        layout: crate::config::Layout::Kvmtool,
        ipa_bits: None,
        params: crate::config::RealmParams::default(),
        abi,
        unmeasured: std::collections::BTreeSet::new(),
        platform: platform.clone(),
    }
}

impl MeasureRunner {
    fn run(
        &self,
        name: &'static str,
        platform: &realm_platform::Platform,
        firmware: &Path,
        mem: u64,
        abi: AbiRevision,
    ) -> Result<Run, BenchError> {
        match self {
            Self::Child(exe) => {
                let mut cmd = std::process::Command::new(exe);
                cmd.arg("measure")
                    .arg("--firmware")
                    .arg(firmware)
                    .args(["--mem", &format!("{}M", mem >> 20)])
                    .args(["--abi", abi.name(), "--platform", &platform.name, "--json"]);
                let u = crate::os::run_child(&mut cmd).map_err(|e| BenchError::Child(name, e))?;
                if !u.success {
                    return Err(BenchError::Child(
                        name,
                        std::io::Error::other("it exited with a failure status"),
                    ));
                }
                Ok(Run {
                    wall: u.wall,
                    cpu: Some(u.cpu),
                    peak_rss: Some(u.peak_rss),
                })
            }
            Self::InProcess => {
                let cfg = firmware_config(platform, firmware, mem, abi);
                let cpu0 = crate::os::cpu_time(false);
                let t = Instant::now();
                let p = prepare(&cfg).map_err(|e| BenchError::Prepare(name, e))?;
                measure(&p, &mut Quiet).map_err(|e| BenchError::Measure(name, e))?;
                drop(p);
                let wall = t.elapsed();
                let cpu = crate::os::cpu_time(false)
                    .zip(cpu0)
                    .map(|(a, b)| a.saturating_sub(b));
                Ok(Run {
                    wall,
                    cpu,
                    peak_rss: None,
                })
            }
        }
    }
}

/// (wall seconds, the thread's CPU seconds) one core takes to SHA-256 `data` in one pass, best of `runs`
/// each.
pub fn sha256_seconds(data: &[u8], runs: usize) -> (f64, f64) {
    (0..runs.max(1))
        .map(|_| {
            let c = crate::os::cpu_time(true);
            let t = Instant::now();
            std::hint::black_box(Sha256::digest(data));
            let wall = t.elapsed().as_secs_f64();
            let cpu = crate::os::cpu_time(true)
                .zip(c)
                .map_or(wall, |(a, b)| a.saturating_sub(b).as_secs_f64());
            (wall, cpu)
        })
        .fold((f64::INFINITY, f64::INFINITY), |a, b| {
            (a.0.min(b.0), a.1.min(b.1))
        })
}

/// On a busy machine wall times stretch: CPU time says what the run would cost on two idle cores, at
/// best (perfectly parallel) half of it.
fn cpu_note(run: &Run, hash_cpu: f64) -> String {
    let cpu = cpu_secs(run);
    format!(
        "CPU time {cpu:.3} s = {:.2}× the one-core hash's CPU time {hash_cpu:.3} s (on 2 idle cores at best \
         {:.3} s, ratio {:.2})",
        cpu / hash_cpu,
        cpu / 2.0,
        hash_cpu / (cpu / 2.0)
    )
}

/// Pages per unit of work of [`zero_copy_floor`] (2 MiB).
const FLOOR_BLOCK_PAGES: usize = 512;

/// The RIM after extending `rim` with a DATA descriptor (DEN0137 1.0-rel0 A7.1.1, 0x100 bytes: type 0,
/// length, the RIM, the IPA, flags 1, the content hash) for the page at `ipa` whose content hash is
/// `content`.
fn extend(rim: &[u8; 32], ipa: u64, content: &[u8; 32]) -> [u8; 32] {
    let mut desc = [0u8; 0x100];
    desc[8..16].copy_from_slice(&0x100u64.to_le_bytes());
    desc[16..48].copy_from_slice(rim);
    desc[80..88].copy_from_slice(&ipa.to_le_bytes());
    desc[88..96].copy_from_slice(&1u64.to_le_bytes());
    desc[96..128].copy_from_slice(content);
    Sha256::digest(desc).into()
}

/// The zero-copy floor: every 4 KiB page of `data` hashed where it lies, on two threads, and the RIM chained
/// over the pages' descriptors in page order by whichever thread finds the next block hashed. Returns the
/// wall time and the final chain value (so a test can check it against a one-thread chain).
pub fn zero_copy_floor(data: &[u8]) -> (Duration, [u8; 32]) {
    let pages: Vec<&[u8]> = data.chunks(4096).collect();
    let blocks: Vec<&[&[u8]]> = pages.chunks(FLOOR_BLOCK_PAGES).collect();
    let hashed: Vec<OnceLock<Vec<[u8; 32]>>> = blocks.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let chain = Mutex::new((0usize, [0u8; 32]));
    let advance = |c: &mut (usize, [u8; 32])| {
        while let Some(hs) = hashed.get(c.0).and_then(OnceLock::get) {
            for (i, h) in hs.iter().enumerate() {
                let ipa = ((c.0 * FLOOR_BLOCK_PAGES + i) * 4096) as u64;
                c.1 = extend(&c.1, ipa, h);
            }
            c.0 += 1;
        }
    };
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    if let Ok(mut c) = chain.try_lock() {
                        advance(&mut c);
                    }
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    let Some(block) = blocks.get(b) else { break };
                    let hs = hash_pages(block);
                    let _ = hashed[b].set(hs);
                }
            });
        }
    });
    let mut c = chain
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    advance(&mut c);
    (t.elapsed(), c.1)
}

/// SHA-256 of each page as `measure` hashes them: whole pages eight at a time as interleaved streams
/// ([`realm_sha::sha256_each`]), a short last page alone.
fn hash_pages(pages: &[&[u8]]) -> Vec<[u8; 32]> {
    let whole = pages.iter().take_while(|p| p.len() == 4096).count();
    let mut out = vec![[0; 32]; whole];
    realm_sha::sha256_each(&pages[..whole], &mut out);
    out.extend(pages[whole..].iter().map(|p| hash_page(p)));
    out
}

/// One core's SHA-256 of every whole page of `data` as `measure`'s hash threads hash them (best of `runs`,
/// wall seconds), [`realm_sha::LANES`] pages at a time or, with `lanes` 2, two at a time.
fn lanes_seconds(data: &[u8], lanes: usize, runs: usize) -> f64 {
    let lanes = lanes.clamp(2, realm_sha::LANES);
    let mut out = [[0; 32]; realm_sha::LANES];
    let mut pages = [&[][..]; realm_sha::LANES];
    (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            for group in data.chunks_exact(lanes * 4096) {
                for (p, page) in pages.iter_mut().zip(group.chunks_exact(4096)) {
                    *p = page;
                }
                // Fewer than `LANES` pages go two at a time (`sha256_pair`).
                realm_sha::sha256_each(&pages[..lanes], &mut out);
                std::hint::black_box(&out);
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// SHA-256 of a page, a short last page padded with zeros (as the realm's granule holds it).
fn hash_page(page: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(page);
    if page.len() < 4096 {
        h.update(&[0u8; 4096][page.len()..]);
    }
    h.finalize().into()
}

#[expect(clippy::cast_precision_loss, reason = "byte counts as f64 for figures")]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

fn rss_note(run: &Run, limit: u64) -> String {
    match run.peak_rss {
        Some(rss) => format!(
            "peak RSS {:.1} MiB (limit {:.1} MiB): {}",
            mib(rss),
            mib(limit),
            if rss <= limit { "within" } else { "OVER" }
        ),
        None => "peak RSS not measured (in process)".into(),
    }
}

fn cpu_secs(run: &Run) -> f64 {
    run.cpu.map_or(f64::NAN, |d| d.as_secs_f64())
}

/// Run the benchmarks: about 1.2 GiB of payload files in the temporary directory, a few seconds a figure.
pub fn run(
    platform: &realm_platform::Platform,
    runner: &MeasureRunner,
) -> Result<Vec<Figure>, BenchError> {
    let load = |when: &str| {
        crate::os::load_average().map_or_else(
            || format!("load average {when}: unknown"),
            |l| format!("load average {when}: {l:.2} (1 min, 2 cores here = busy above ~2)"),
        )
    };
    let mut out = Vec::new();

    // 1: 256 GiB of RAM, 16 MiB payload.
    let small = Payload::new("256 GiB", 16 << 20, 3)?;
    let r = runner.run(
        "256 GiB",
        platform,
        &small.path,
        256 * GIB,
        AbiRevision::V12,
    )?;
    let secs = r.wall.as_secs_f64();
    out.push(Figure {
        name: "measure: 256 GiB RAM, 16 MiB payload".into(),
        seconds: secs,
        reference: "0.5 s".into(),
        ratio: secs / 0.5,
        target: "< 1 (under 0.5 s); peak RSS < 80 MiB".into(),
        notes: vec![
            rss_note(&r, 80 * MIB),
            format!("CPU time {:.3} s", cpu_secs(&r)),
        ],
    });
    drop(small);

    // 2 and 3: 1 GiB firmware, v12 then v10.
    let big = Payload::new("1 GiB firmware", 1 << 30, 1)?;
    let mid = Payload::new("4 GiB", 64 << 20, 2)?;
    // Every child first (see `Payload::new`), then the references in this process.
    let load_before = load("before");
    // Best of `MEASURE_RUNS` each, v12 and v10 taking turns, so a burst of load on this shared machine
    // stretches one run, not a whole figure, and falls on both revisions alike.
    let (mut v12, mut v10) = (Run::NONE, Run::NONE);
    for _ in 0..MEASURE_RUNS {
        v12 = v12.best(runner.run(
            "1 GiB firmware",
            platform,
            &big.path,
            2 * GIB,
            AbiRevision::V12,
        )?);
        v10 = v10.best(runner.run(
            "1 GiB firmware v10",
            platform,
            &big.path,
            2 * GIB,
            AbiRevision::V10,
        )?);
    }
    let calculator = calculator::seconds(&big.path, 2048);
    let mid_run = runner.run("4 GiB", platform, &mid.path, 4 * GIB, AbiRevision::V12)?;
    let (hash, hash_cpu) = sha256_seconds(&big.data, 2);
    let (floor, _) = zero_copy_floor(&big.data);
    let floor = floor.as_secs_f64();
    let pairs = lanes_seconds(&big.data, 2, 2);
    let lanes = lanes_seconds(&big.data, realm_sha::LANES, 2);
    let secs = v12.wall.as_secs_f64();
    let mut notes = vec![
        format!(
            "one core's SHA-256 of the payload {hash:.3} s = {:.0} MiB/s",
            1024.0 / hash
        ),
        format!(
            "one core's SHA-256 of its pages as interleaved streams (realm-sha, {}): two {pairs:.3} s = \
             {:.2}×, {} (as measure hashes them) {lanes:.3} s = {:.2}× that rate",
            if realm_sha::interleaved() {
                "SHA-NI"
            } else {
                "no SHA-NI here: sha2"
            },
            hash / pairs,
            realm_sha::LANES,
            hash / lanes
        ),
        format!(
            "zero-copy floor (2 threads hash the mapped pages as measure does, RIM chained in order) {floor:.3} s = {:.2}× \
             one core's rate; measure / floor = {:.2}",
            hash / floor,
            secs / floor
        ),
        rss_note(&v12, (1 << 30) + 64 * MIB),
        cpu_note(&v12, hash_cpu),
    ];
    notes.push(match calculator {
        Some(Ok(c)) => format!(
            "calculator `realm-measurements` {c:.3} s: measure is {:.2}× faster (target ≥ 3×)",
            c / secs
        ),
        Some(Err(why)) => format!("calculator `realm-measurements`: {why}"),
        None => format!(
            "calculator `{}` not on PATH nor in ~/{} (tools/calculator/install.sh installs it): not \
             compared",
            calculator::NAME,
            calculator::INSTALL_DIR
        ),
    });
    notes.push(load_before);
    notes.push(load("after"));
    out.push(Figure {
        name: "measure: 1 GiB firmware".into(),
        seconds: secs,
        reference: format!("one core's SHA-256 of the payload: {hash:.3} s"),
        ratio: hash / secs,
        target: "≥ 1.6 (measure throughput / one core's SHA-256 rate)".into(),
        notes,
    });
    out.push(Figure {
        name: "measure: 1 GiB firmware, ABI v10 vs v12 (CPU time)".into(),
        seconds: v10.wall.as_secs_f64(),
        reference: format!("v10 CPU time {:.3} s", cpu_secs(&v10)),
        ratio: cpu_secs(&v12) / cpu_secs(&v10),
        target: "≤ 1 (v12 CPU time / v10 CPU time)".into(),
        notes: vec![
            format!("v12 CPU time {:.3} s, wall {secs:.3} s", cpu_secs(&v12)),
            rss_note(&v10, (1 << 30) + 64 * MIB),
        ],
    });
    drop(big);

    // 4: 4 GiB of RAM, 64 MiB payload.
    let (hash, hash_cpu) = sha256_seconds(&mid.data, 3);
    let (floor, _) = zero_copy_floor(&mid.data);
    let r = mid_run;
    let secs = r.wall.as_secs_f64();
    out.push(Figure {
        name: "measure: 4 GiB RAM, 64 MiB payload".into(),
        seconds: secs,
        reference: format!("one core's SHA-256 of the payload: {hash:.3} s"),
        ratio: secs / hash,
        target: "≤ 1.1 (measure time / payload hash time)".into(),
        notes: vec![
            format!(
                "zero-copy floor {:.3} s; measure / floor = {:.2}",
                floor.as_secs_f64(),
                secs / floor.as_secs_f64()
            ),
            rss_note(&r, (64 << 20) + 64 * MIB),
            cpu_note(&r, hash_cpu),
            load("after"),
        ],
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_chains_every_page_in_order() {
        // Three blocks and a short last page: the two-thread chain equals the chain computed in order.
        let data = filler(2 * FLOOR_BLOCK_PAGES * 4096 + 5000, 4);
        let (_, rim) = zero_copy_floor(&data);
        let mut want = [0u8; 32];
        for (i, page) in data.chunks(4096).enumerate() {
            want = extend(&want, (i * 4096) as u64, &hash_page(page));
        }
        assert_eq!(
            rim, want,
            "the two-thread chain differs from the in-order chain"
        );
        let mut padded = data[data.len() - 904..].to_vec();
        padded.resize(4096, 0);
        assert_eq!(
            hash_page(&data[data.len() - 904..]),
            <[u8; 32]>::from(Sha256::digest(&padded)),
            "a short page is hashed zero-padded"
        );
    }

    #[test]
    fn an_empty_payload_has_an_empty_chain() {
        assert_eq!(zero_copy_floor(&[]).1, [0; 32]);
    }
}
