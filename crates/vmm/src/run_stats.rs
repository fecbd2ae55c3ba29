//! What a launch's run did: instructions the realm CPUs retired (realm-a64 behind a counting factory), the
//! exits the VMM saw by kind and in order per vCPU, and the time from the first `KVM_RUN` to the stop.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use realm_rmm::cpu::{
    RealmCpu, RealmCpuFactory, RealmExit, RealmMemory, RecContext, RecIdentity, RunControl,
};
use realm_uapi::arm64 as k;
use serde::Serialize;

/// A shared count of retired instructions.
pub type InstructionCounter = Arc<AtomicU64>;

/// realm-a64 CPUs that add what they retire to one counter after each run.
#[derive(Debug)]
pub struct CountingA64Factory {
    config: realm_a64::CpuConfig,
    budget: u64,
    total: InstructionCounter,
}

impl CountingA64Factory {
    /// CPUs of `config` whose runs end after `budget` instructions (0: unbounded), counted into `total`.
    pub fn new(config: realm_a64::CpuConfig, budget: u64, total: InstructionCounter) -> Self {
        Self {
            config,
            budget,
            total,
        }
    }
}

impl RealmCpuFactory for CountingA64Factory {
    fn create(&self, _rec: RecIdentity) -> Box<dyn RealmCpu> {
        let cpu = realm_a64::A64Cpu::new(&self.config);
        if let Some(control) = cpu.run_control() {
            control.set_budget(self.budget);
        }
        Box::new(CountingCpu {
            cpu,
            counted: 0,
            total: self.total.clone(),
        })
    }
}

#[derive(Debug)]
struct CountingCpu {
    cpu: realm_a64::A64Cpu,
    counted: u64,
    total: InstructionCounter,
}

impl RealmCpu for CountingCpu {
    fn run(&mut self, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> RealmExit {
        let exit = self.cpu.run(ctx, mem);
        let retired = self.cpu.retired();
        self.total
            .fetch_add(retired.saturating_sub(self.counted), Ordering::Relaxed);
        self.counted = retired;
        exit
    }

    fn run_control(&self) -> Option<RunControl> {
        self.cpu.run_control()
    }

    /// The generic counter, which the RMM reads for the realm's timers (`check_pending_timers`, the exit's
    /// ISTATUS): without it every timer reads as not fired at exit and as fired at the next entry, and the
    /// REC exits with RMI_EXIT_IRQ forever without running.
    fn counter(&self) -> Option<u64> {
        self.cpu.counter()
    }
}

/// The name of a `kvm_run.exit_reason`, as the summary and the exit log show it.
pub fn exit_name(reason: u32) -> &'static str {
    match reason {
        k::KVM_EXIT_MMIO => "mmio",
        k::KVM_EXIT_HYPERCALL => "hypercall",
        k::KVM_EXIT_MEMORY_FAULT => "memory-fault",
        k::KVM_EXIT_SYSTEM_EVENT => "system-event",
        k::KVM_EXIT_SHUTDOWN => "shutdown",
        k::KVM_EXIT_INTR => "intr",
        k::KVM_EXIT_INTERNAL_ERROR => "internal-error",
        k::KVM_EXIT_UNKNOWN => "unknown",
        _ => "other",
    }
}

/// The run half of a launch report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// Instructions the realm's CPUs retired (`None`: the backend cannot tell, e.g. real hardware).
    pub instructions: Option<u64>,
    /// Exits the VMM saw, by kind.
    pub exits: BTreeMap<&'static str, u64>,
    /// Each vCPU's exits in order (index = vCPU id).
    pub sequence: Vec<Vec<&'static str>>,
    /// From the first `KVM_RUN` to the stop.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RunSummary {
    /// Total exits.
    pub fn total_exits(&self) -> u64 {
        self.exits.values().sum()
    }

    /// One line: `N instructions, E exits (kind n, …) in T ms`.
    pub fn line(&self) -> String {
        let kinds: Vec<String> = self.exits.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let instructions = self
            .instructions
            .map_or_else(String::new, |n| format!("{n} instructions, "));
        format!(
            "{instructions}{} exits ({}) in {:.1} ms",
            self.total_exits(),
            kinds.join(", "),
            self.elapsed.as_secs_f64() * 1e3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_names_every_kind() {
        let mut s = RunSummary {
            instructions: Some(1234),
            elapsed: Duration::from_micros(2500),
            ..RunSummary::default()
        };
        s.exits.insert(exit_name(k::KVM_EXIT_MMIO), 20);
        s.exits.insert(exit_name(k::KVM_EXIT_SYSTEM_EVENT), 1);
        assert_eq!(
            s.line(),
            "1234 instructions, 21 exits (mmio 20, system-event 1) in 2.5 ms"
        );
        assert_eq!(exit_name(0xFFFF), "other");
    }

    #[test]
    fn the_counting_cpu_is_the_a64_cpu_in_everything_but_counting() {
        let f = CountingA64Factory::new(
            realm_a64::CpuConfig::default(),
            7,
            InstructionCounter::default(),
        );
        let cpu = f.create(RecIdentity {
            rd: 0,
            rec: 0,
            index: 0,
            mpidr: 0,
        });
        assert!(cpu.run_control().is_some(), "kickable");
        assert!(
            cpu.counter().is_some(),
            "reads the generic counter for the RMM's timer checks"
        );
    }
}
