//! `realm bench`'s running figures (issue 12): the `hello` payload from launch to `PSCI SYSTEM_OFF` (target
//! under 20 ms: build, activate, run, power off), and the `smp` payload over 256 vCPUs (target under 1 s on a
//! 2-core machine: 256 RECs created, 255 CPU_ONs completed with RMI_PSCI_COMPLETE, 256 vCPU threads each
//! printing its MPIDR). Each figure's ratio is its time over the target: below 1 meets it.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use crate::backend::{BackendKind, CpuChoice};
use crate::bench::Figure;
use crate::build::Quiet;
use crate::config::{AbiRevision, RealmConfig};
use crate::exits::ExitStatus;
use crate::launch::{LaunchOutcome, LaunchReport, launch_until};
use crate::payload;
use crate::prepare::prepare;

/// The hello target.
pub const HELLO_TARGET: Duration = Duration::from_millis(20);
/// The smp target.
pub const SMP_TARGET: Duration = Duration::from_secs(1);
/// vCPUs of the smp figure.
pub const SMP_VCPUS: u32 = 256;

/// A running-benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum BenchRunError {
    /// The payload's realm could not be prepared, built or run.
    #[error("the {name} benchmark realm: {what}")]
    Realm {
        /// The payload.
        name: &'static str,
        /// What failed.
        what: String,
    },
}

/// The demo layout with payload `name` as its only image and `cpus` vCPUs on `platform`.
pub fn payload_config(
    name: &'static str,
    abi: AbiRevision,
    cpus: u32,
    platform: &realm_platform::Platform,
) -> Result<RealmConfig, BenchRunError> {
    let mut cfg = RealmConfig {
        kernel: None,
        initrd: None,
        cpus,
        platform: platform.clone(),
        ..crate::demo::config(abi)
    };
    payload::install(&mut cfg, name).map_err(|e| BenchRunError::Realm {
        name,
        what: e.to_string(),
    })?;
    Ok(cfg)
}

/// Launch `cfg` once on the simulated platform's realm CPU, the realm's console into `console`; the wall time
/// from preparing to the stop, which must be PSCI SYSTEM_OFF.
pub(crate) fn launch_once(
    name: &'static str,
    cfg: &RealmConfig,
    console: &mut (dyn std::io::Write + Send),
) -> Result<(Duration, LaunchReport), BenchRunError> {
    let fail = |what: String| BenchRunError::Realm { name, what };
    let start = Instant::now();
    let p = prepare(cfg).map_err(|e| fail(e.to_string()))?;
    let backend = crate::backend::open(
        BackendKind::Simulated,
        cfg.abi,
        &cfg.platform,
        CpuChoice::A64,
    )
    .map_err(|e| fail(e.to_string()))?;
    let report = launch_until(
        backend.as_ref(),
        &p,
        console,
        &mut Quiet,
        false,
        Some(Duration::from_secs(60)),
    )
    .map_err(|e| fail(format!("{e:#}")))?;
    let elapsed = start.elapsed();
    if report.outcome != LaunchOutcome::Stopped(ExitStatus::PowerOff) {
        return Err(fail(format!("stopped with {:?}", report.outcome)));
    }
    Ok((elapsed, report))
}

/// The best of `runs` launches of `cfg` (after one warm-up), as a figure against `target`.
fn figure(
    name: &'static str,
    title: String,
    cfg: &RealmConfig,
    runs: usize,
    target: Duration,
) -> Result<Figure, BenchRunError> {
    launch_once(name, cfg, &mut std::io::sink())?;
    let mut best: Option<(Duration, LaunchReport)> = None;
    for _ in 0..runs.max(1) {
        let r = launch_once(name, cfg, &mut std::io::sink())?;
        if best.as_ref().is_none_or(|(t, _)| r.0 < *t) {
            best = Some(r);
        }
    }
    let Some((time, report)) = best else {
        return Err(BenchRunError::Realm {
            name,
            what: "no run".into(),
        });
    };
    let mut notes = Vec::new();
    if let Some(run) = &report.run {
        notes.push(format!("run        {}", run.line()));
    }
    notes.push(format!(
        "build      {:.1} ms (prepare, create, populate, activate)",
        time.saturating_sub(report.run.as_ref().map_or(Duration::ZERO, |r| r.elapsed))
            .as_secs_f64()
            * 1e3
    ));
    Ok(Figure {
        name: title,
        seconds: time.as_secs_f64(),
        reference: format!("target {:.0} ms", target.as_secs_f64() * 1e3),
        ratio: time.as_secs_f64() / target.as_secs_f64(),
        target: format!("< 1 (under {:.0} ms)", target.as_secs_f64() * 1e3),
        notes,
    })
}

/// Both figures on `platform` (ABI v12).
pub fn run(platform: &realm_platform::Platform) -> Result<Vec<Figure>, BenchRunError> {
    let abi = AbiRevision::V12;
    let hello = payload_config("hello", abi, 1, platform)?;
    let smp = payload_config("smp", abi, SMP_VCPUS, platform)?;
    Ok(vec![
        figure(
            "hello",
            "launch: hello, launch to SYSTEM_OFF".into(),
            &hello,
            5,
            HELLO_TARGET,
        )?,
        figure(
            "smp",
            format!("launch: smp over {SMP_VCPUS} vCPUs, launch to SYSTEM_OFF"),
            &smp,
            2,
            SMP_TARGET,
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures' realms run and power off; the ratio is the time over the target (no timing asserted).
    #[test]
    fn hello_figure_runs_its_realm() {
        let cfg = payload_config(
            "hello",
            AbiRevision::V12,
            1,
            &realm_platform::Platform::default(),
        )
        .unwrap();
        let f = figure("hello", "hello".into(), &cfg, 1, HELLO_TARGET).unwrap();
        assert!((f.ratio - f.seconds / 0.020).abs() < 1e-9);
        assert!(
            f.notes[0].contains("mmio 20, system-event 1"),
            "{:?}",
            f.notes
        );
        assert!(
            payload_config(
                "nope",
                AbiRevision::V12,
                1,
                &realm_platform::Platform::default()
            )
            .is_err()
        );
    }
}
