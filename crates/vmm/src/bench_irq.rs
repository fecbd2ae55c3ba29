//! `realm bench run`'s interrupt figure (issue 15): the round trip of a virtual timer interrupt — from the
//! compare value the timer fires at, through the REC's exit, the kernel layer's WFI wake-up and PPI 27 in a
//! list register, the realm's handler (`ICC_IAR1_EL1`), to just after its `ICC_EOIR1_EL1` — measured by the
//! realm itself against the counter ([`crate::payload::timer::timer_samples`]), in microseconds, mean and
//! median over [`SAMPLES`] interrupts. It is compared with a plain exit round trip measured the same way in
//! the same realm: a `GICD_CTLR` read, one REC exit emulated in the kernel layer and a re-entry.
#![forbid(unsafe_code)]

use std::time::Duration;

use crate::bench::Figure;
use crate::bench_run::BenchRunError;
use crate::config::{AbiRevision, RealmConfig};
use crate::image::ImageSource;
use crate::payload::{Target, timer};

/// Interrupts (and exits) sampled.
pub const SAMPLES: u32 = 50;
/// The timer period, long enough that each interrupt is taken from an idle (sleeping) vCPU.
pub const PERIOD_US: u32 = 2_000;
const NAME: &str = "timer";

/// What the realm measured, in counter ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct IrqSamples {
    /// `CNTFRQ_EL0`.
    pub hz: u64,
    /// Fire (CVAL) to after the EOI, per interrupt.
    pub irq: Vec<u64>,
    /// One kernel-emulated exit round trip, per sample.
    pub exit: Vec<u64>,
}

impl IrqSamples {
    /// Parse the `timer_samples` payload's console output; `None` if a line is missing or malformed (or
    /// the payload reported an early interrupt or a stray INTID).
    pub fn parse(out: &str) -> Option<Self> {
        let mut hz = None;
        let (mut irq, mut exit) = (Vec::new(), Vec::new());
        for line in out.lines() {
            if let Some(rest) = line.strip_prefix("timer: CNTFRQ ") {
                hz = rest.split(' ').next()?.parse().ok();
            } else if let Some(v) = line.strip_prefix("timer: irq ") {
                irq.push(v.parse().ok()?);
            } else if let Some(v) = line.strip_prefix("timer: exit ") {
                exit.push(v.parse().ok()?);
            } else if line.starts_with("timer: early ") && line != "timer: early 0, other INTIDs 0"
            {
                return None;
            }
        }
        let hz = hz.filter(|h| *h > 0)?;
        (!irq.is_empty() && !exit.is_empty()).then_some(Self { hz, irq, exit })
    }

    /// (mean, median) of `ticks` in microseconds.
    pub fn micros(&self, ticks: &[u64]) -> (f64, f64) {
        let us = |t: f64| t * 1e6 / self.hz as f64;
        let mut v = ticks.to_vec();
        v.sort_unstable();
        let mean = v.iter().map(|t| *t as f64).sum::<f64>() / v.len().max(1) as f64;
        let median = match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2] as f64,
            n => (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0,
        };
        (us(mean), us(median))
    }
}

/// The timer-samples realm on `platform` (ABI `abi`, one vCPU).
fn config(abi: AbiRevision, platform: &realm_platform::Platform) -> RealmConfig {
    let mut cfg = RealmConfig {
        kernel: None,
        initrd: None,
        cpus: 1,
        platform: platform.clone(),
        ..crate::demo::config(abi)
    };
    let code = timer::timer_samples(&Target::of(&cfg), SAMPLES, PERIOD_US);
    cfg.firmware = Some(ImageSource::Bytes {
        name: "<timer samples payload>".into(),
        data: std::sync::Arc::from(code),
    });
    cfg
}

/// Run the realm once; its samples and the wall time.
pub fn measure(
    abi: AbiRevision,
    platform: &realm_platform::Platform,
) -> Result<(IrqSamples, Duration), BenchRunError> {
    let fail = |what: String| BenchRunError::Realm { name: NAME, what };
    let cfg = config(abi, platform);
    let mut console = Vec::new();
    let (elapsed, _) = crate::bench_run::launch_once(NAME, &cfg, &mut console)?;
    let out = String::from_utf8_lossy(&console);
    let samples =
        IrqSamples::parse(&out).ok_or_else(|| fail(format!("unexpected output: {out}")))?;
    Ok((samples, elapsed))
}

/// The figure on `platform` (ABI v12): the interrupt round trip's mean in seconds, its ratio to the plain
/// exit round trip's mean.
pub fn run(platform: &realm_platform::Platform) -> Result<Figure, BenchRunError> {
    let (s, wall) = measure(AbiRevision::V12, platform)?;
    Ok(figure(&s, wall))
}

/// The figure for samples `s` from a run of `wall` time.
pub fn figure(s: &IrqSamples, wall: Duration) -> Figure {
    let (irq_mean, irq_median) = s.micros(&s.irq);
    let (exit_mean, exit_median) = s.micros(&s.exit);
    Figure {
        name: format!(
            "interrupt round trip: timer fire → guest handler → EOI, {} interrupts",
            s.irq.len()
        ),
        seconds: irq_mean / 1e6,
        reference: format!(
            "a plain exit round trip (GICD_CTLR read emulated in the kernel layer): mean {exit_mean:.1} us, \
             median {exit_median:.1} us"
        ),
        ratio: if exit_mean > 0.0 {
            irq_mean / exit_mean
        } else {
            0.0
        },
        target: "none (the interrupt's round trip over the exit's)".into(),
        notes: vec![
            format!("interrupt  mean {irq_mean:.1} us, median {irq_median:.1} us"),
            format!("exit       mean {exit_mean:.1} us, median {exit_median:.1} us"),
            format!(
                "run        {:.1} ms in all, CNTFRQ {} Hz",
                wall.as_secs_f64() * 1e3,
                s.hz
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_and_summarise() {
        let out = "timer: CNTFRQ 1000000 Hz, period 2000 ticks, 3 interrupts\n\
                   timer: early 0, other INTIDs 0\n\
                   timer: irq 10\ntimer: irq 30\ntimer: irq 20\n\
                   timer: exit 4\ntimer: exit 2\n";
        let s = IrqSamples::parse(out).unwrap();
        assert_eq!(s.hz, 1_000_000);
        assert_eq!(s.irq, [10, 30, 20]);
        // At 1 MHz a tick is a microsecond: mean 20, median 20; the exits' median is the middle of 2 and 4.
        assert_eq!(s.micros(&s.irq), (20.0, 20.0));
        assert_eq!(s.micros(&s.exit), (3.0, 3.0));
        let f = figure(&s, Duration::from_millis(5));
        assert!((f.seconds - 20e-6).abs() < 1e-12, "{f:?}");
        assert!((f.ratio - 20.0 / 3.0).abs() < 1e-9, "{f:?}");
        assert!(
            IrqSamples::parse(&out.replace("early 0", "early 1")).is_none(),
            "an early interrupt fails"
        );
        assert!(IrqSamples::parse("timer: irq x\n").is_none(), "bad input");
    }

    /// The realm runs and every sample is there (no timing asserted).
    #[test]
    fn the_realm_reports_every_sample() {
        let (s, _) = measure(AbiRevision::V12, &realm_platform::Platform::default()).unwrap();
        assert_eq!(s.irq.len(), SAMPLES as usize);
        assert_eq!(s.exit.len(), SAMPLES as usize);
        assert!(
            s.exit.iter().all(|t| *t > 0),
            "an exit takes time: {:?}",
            s.exit
        );
    }
}
