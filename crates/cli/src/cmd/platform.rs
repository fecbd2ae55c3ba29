//! `--platform` and its overrides (shared by `measure`, `launch`, `demo`, `bench` and `rmi replay`), and
//! `realm platform [NAME] [--json]`, which prints a profile: its fields and the `RMI_FEATURES(0)` value the
//! RMM reports on it.
//!
//! Example: `realm platform qemu-max`, `realm measure --platform fvp --platform-wps 8 …`.

use std::io::Write as _;

use realm_platform::{Platform, PlatformOverrides};

use crate::error::{CliError, CliResult, input, runtime};

/// The simulated machine: a profile and overrides of single fields.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct PlatformArgs {
    /// The simulated platform: max (default), qemu-max or fvp (see `realm platform`).
    #[arg(long, value_name = "NAME", alias = "features-profile")]
    pub platform: Option<String>,
    /// Override the platform's physical address size in bits (32, 36, 40, 42, 44, 48, 52).
    #[arg(long, value_name = "BITS")]
    pub platform_pa_bits: Option<u8>,
    /// Override FEAT_LPA2 (52-bit IPAs with 4 KiB pages).
    #[arg(long, value_name = "BOOL")]
    pub platform_lpa2: Option<bool>,
    /// Override the largest SVE vector length in bits (0: no SVE).
    #[arg(long, value_name = "BITS")]
    pub platform_sve_vl: Option<u16>,
    /// Override the number of breakpoints (2..16).
    #[arg(long, value_name = "N")]
    pub platform_bps: Option<u8>,
    /// Override the number of watchpoints (2..16).
    #[arg(long, value_name = "N")]
    pub platform_wps: Option<u8>,
    /// Override the number of PMU counters (0..31).
    #[arg(long, value_name = "N")]
    pub platform_pmu_counters: Option<u8>,
    /// Override whether the RMM measures with SHA-512.
    #[arg(long, value_name = "BOOL")]
    pub platform_sha512: Option<bool>,
    /// Override the number of GICv3 list registers (1..16).
    #[arg(long, value_name = "N")]
    pub platform_gic_lrs: Option<u8>,
    /// Override the host kernel's vCPU limit.
    #[arg(long, value_name = "N")]
    pub platform_max_vcpus: Option<u32>,
    /// Override the counter frequency CNTFRQ_EL0 in Hz.
    #[arg(long, value_name = "HZ")]
    pub platform_cntfrq: Option<u64>,
    /// Override the seed of the platform's attestation keys (64 hex digits; see `realm platform endorsements`).
    #[arg(long, value_name = "HEX")]
    pub platform_attestation_seed: Option<String>,
}

impl PlatformArgs {
    /// The choices as overrides (laid over a configuration file's `[platform]` table).
    pub fn overrides(&self) -> PlatformOverrides {
        PlatformOverrides {
            name: self.platform.clone(),
            pa_bits: self.platform_pa_bits,
            lpa2: self.platform_lpa2,
            sve_vl: self.platform_sve_vl,
            bps: self.platform_bps,
            wps: self.platform_wps,
            pmu_counters: self.platform_pmu_counters,
            pmu: None,
            sha512: self.platform_sha512,
            gic_lrs: self.platform_gic_lrs,
            max_vcpus: self.platform_max_vcpus,
            cntfrq: self.platform_cntfrq,
            attestation_seed: self.platform_attestation_seed.clone(),
        }
    }

    /// The platform chosen; an unknown name or an impossible override is bad input.
    pub fn resolve(&self) -> Result<Platform, CliError> {
        self.overrides().resolve().map_err(input)
    }
}

/// Arguments of `realm platform`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlatformCmdArgs {
    #[command(subcommand)]
    command: Option<PlatformCommand>,
    /// The profile to print (default: max); `--platform-*` overrides apply.
    name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    platform: PlatformArgs,
}

/// Subcommands of `realm platform`.
#[derive(Debug, clap::Subcommand)]
pub enum PlatformCommand {
    /// The platform's endorsements: CPAK public key and platform reference values.
    Endorsements(crate::cmd::endorsements::EndorsementsArgs),
}

/// Run `realm platform`.
pub fn run(args: &PlatformCmdArgs) -> CliResult {
    if let Some(PlatformCommand::Endorsements(e)) = &args.command {
        return crate::cmd::endorsements::run(e);
    }
    let mut choice = args.platform.clone();
    if args.name.is_some() {
        choice.platform.clone_from(&args.name);
    }
    let p = choice.resolve()?;
    let features = p.features_register0();
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&p).map_err(runtime)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("rmi_features0".into(), format!("{features:#x}").into());
            o.insert("kvm_ipa_limit".into(), p.kvm_ipa_limit().into());
        }
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).map_err(runtime)?
        )
        .map_err(runtime)?;
        return Ok(());
    }
    let sve = if p.sve_max_vl == 0 {
        "none".to_owned()
    } else {
        format!("up to {} bits", p.sve_max_vl)
    };
    let hashes = [(p.sha256, "SHA-256"), (p.sha512, "SHA-512")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = [
        ("platform", p.name.clone()),
        ("RMI_FEATURES(0)", format!("{features:#x}")),
        ("physical address size", format!("{} bits", p.pa_bits)),
        ("LPA2", yes(p.lpa2)),
        (
            "realm IPA limit (S2SZ, KVM_CAP_ARM_VM_IPA_SIZE)",
            format!("{} bits", p.kvm_ipa_limit()),
        ),
        ("SVE", sve),
        (
            "breakpoints / watchpoints",
            format!("{} / {}", p.breakpoints, p.watchpoints),
        ),
        (
            "PMU",
            if p.pmu {
                format!("{} counters", p.pmu_counters)
            } else {
                "none".into()
            },
        ),
        ("hash algorithms", hashes),
        (
            "GICv3 CPU interface",
            format!(
                "{} list registers, {} priority bits, {} preemption bits",
                p.gic.list_registers, p.gic.priority_bits, p.gic.preemption_bits
            ),
        ),
        ("MAX_RECS_ORDER", p.max_recs_order.to_string()),
        ("vCPUs (KVM_CAP_MAX_VCPUS)", p.max_vcpus.to_string()),
        ("CNTFRQ_EL0", format!("{} Hz", p.cntfrq)),
        ("MIDR_EL1", format!("{:#x}", p.cpu.midr)),
        (
            "DRAM",
            p.dram
                .iter()
                .map(|d| format!("{:#x}+{:#x}", d.base, d.size))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<48} {v}").map_err(runtime)?;
    }
    Ok(())
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}
