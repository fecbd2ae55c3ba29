//! The named platform profiles and where each value comes from.
//!
//! | field | `max` | `qemu-max` | `fvp` |
//! |---|---|---|---|
//! | PA size, LPA2 | 52, yes | 52, yes | 48, no |
//! | SVE max VL | 2048 | 2048 | none |
//! | breakpoints / watchpoints | 16 / 16 | 6 / 4 | 16 / 16 [inferred] |
//! | PMU counters | 31 | 6 | 31 [inferred] |
//! | hash algorithms | SHA-256, SHA-512 | SHA-256, SHA-512 | SHA-256, SHA-512 |
//! | GIC list registers, PRI/PRE bits | 16, 5/5 | 4, 5/5 | 16, 5/5 [inferred] |
//! | `MAX_RECS_ORDER` | 10 | 10 | 10 |
//! | `CNTFRQ_EL0` | 1 GHz | 1 GHz | 100 MHz |
//! | `RMI_FEATURES(0)` | 0x2bf_fcf3_ff34 | 0x28f_3431_7f34 | 0x2bf_fcf3_c030 |
//!
//! Sources per profile are in each function's documentation and in `docs/platforms.md`; [inferred] marks FVP
//! defaults no readable source states.

use crate::{CpuIdentity, DramRegion, GicCpuInterface, Platform};

/// Base of the default DRAM region (where QEMU `virt` and the FVP put RAM).
pub const DEFAULT_DRAM_BASE: u64 = 0x4000_0000;
/// Size of the default DRAM region: 1 TiB, so a host can back realms of hundreds of GiB (memory is sparse,
/// untouched granules cost nothing).
pub const DEFAULT_DRAM_SIZE: u64 = 1 << 40;

fn default_dram() -> Vec<DramRegion> {
    vec![DramRegion {
        base: DEFAULT_DRAM_BASE,
        size: DEFAULT_DRAM_SIZE,
    }]
}

/// The ID registers of QEMU 10.0's `-cpu max` as a guest reads them (QEMU 10.0 `target/arm/cpu64.c`
/// `aarch64_max_initfn` and what it inherits, read from Debian's 10.0 source; facts only): 6 breakpoints,
/// 4 watchpoints, PMUVer 6, `PMCR_EL0.N` 6.
const QEMU_MAX_IDS: CpuIdentity = CpuIdentity {
    // Implementer 0 ("software"), PartNum 0x051.
    midr: 0x000f_0510,
    revidr: 0,
    id_aa64pfr0: 0x1311_0011_2111_2222,
    id_aa64pfr1: 0x0000_0010_0100_0121,
    id_aa64isar0: 0x1221_1111_1021_2120,
    id_aa64isar1: 0x0111_2111_1021_1502,
    id_aa64isar2: 0x0000_0000_0011_0012,
    id_aa64mmfr0: 0x2100_0323_1020_1126,
    id_aa64mmfr1: 0x0110_1120_1031_2122,
    id_aa64mmfr2: 0x1221_0111_1201_1011,
    id_aa64dfr0: 0x1000_0000_1030_560a,
    ctr: 0xb444_c004,
    dczid: 0x4,
};

/// The `max` profile (the default of `measure`, `launch` and `demo`): the most a DEN0137 1.0 RMM can report
/// in `RmiFeatureRegister0` — 52-bit IPA with LPA2, SVE up to 2048 bits (VQ 16), 16 breakpoints and 16
/// watchpoints (the 4-bit `BRPs`/`WRPs` fields), a PMU with 31 counters (`PMCR_EL0.N` maximum), SHA-256 and
/// SHA-512, 16 list registers (`ICH_VTR_EL2.ListRegs` maximum) — so that every valid realm configuration
/// can be measured. The ID registers are QEMU `max`'s (the most featureful CPU a user can run TF-RMM on)
/// with `ID_AA64DFR0_EL1.BRPs/WRPs` at 15; the counter runs at 1 GHz (the Armv8.6+ fixed frequency).
pub fn max() -> Platform {
    let mut cpu = QEMU_MAX_IDS;
    cpu.id_aa64dfr0 = (cpu.id_aa64dfr0 & !((0xf << 12) | (0xf << 20))) | (0xf << 12) | (0xf << 20);
    Platform {
        name: "max".into(),
        dram: default_dram(),
        pa_bits: 52,
        lpa2: true,
        sve_max_vl: 2048,
        breakpoints: 16,
        watchpoints: 16,
        pmu: true,
        pmu_counters: 31,
        hpmn0: true,
        sha256: true,
        sha512: true,
        gic: GicCpuInterface {
            list_registers: 16,
            priority_bits: 5,
            preemption_bits: 5,
        },
        max_recs_order: 10,
        max_vcpus: 512,
        cntfrq: 1_000_000_000,
        cpu,
        attestation_seed: crate::DEFAULT_ATTESTATION_SEED,
    }
}

/// `qemu-max`: TF-RMM `rmm-spec-v1.0-rel0` on QEMU 10.0 `-M virt,virtualization=on,secure=on,gic-version=3
/// -cpu max,x-rme=on`, which answers `RMI_FEATURES(0)` = 0x28f_3431_7f34 (observed; shared reference
/// `rmm-v1.0.md` §12): S2SZ 52 with LPA2, SVE up to VQ 16, 6 breakpoints, 4 watchpoints (QEMU's `max`
/// `ID_AA64DFR0_EL1.BRPs = 5, WRPs = 3`), PMU with 6 counters (QEMU's `PMCR_EL0.N`), SHA-256 and SHA-512,
/// 4 list registers (QEMU's GICv3 CPU interface, `ICH_VTR_EL2.ListRegs = 3`, 5 priority and 5 preemption
/// bits). QEMU `virt` 9.0 and later machine types run the counter at 1 GHz.
pub fn qemu_max() -> Platform {
    Platform {
        name: "qemu-max".into(),
        breakpoints: 6,
        watchpoints: 4,
        pmu_counters: 6,
        gic: GicCpuInterface {
            list_registers: 4,
            priority_bits: 5,
            preemption_bits: 5,
        },
        cpu: QEMU_MAX_IDS,
        ..max()
    }
}

/// `fvp`: the Arm FVP Base RevC-2xAEMvA with the parameters TF-A's RME documentation passes
/// (`-C cluster0.has_rme=1 …`) and the model's defaults otherwise, as TF-RMM's FVP build sees it: 48-bit PA
/// without LPA2 (`-C cluster0.PA_SIZE=48`; TF-RMM's `model-enable-lpa2.yaml` turns LPA2 on), no SVE (no
/// `ScalableVectorExtension.so` in that command), a 100 MHz counter (TF-A `fvp-base-psci-common.dtsi`), MIDR
/// 0x410f_d0f0 (TF-A `aem_generic.h` `BASE_AEM_MIDR`). [inferred] 16 breakpoints and watchpoints, PMUv3
/// with 31 counters and 16 list registers: the model's defaults for these are not in any source we could read,
/// so the profile takes the architectural maxima (docs/platforms.md).
pub fn fvp() -> Platform {
    let mut cpu = QEMU_MAX_IDS;
    cpu.midr = 0x410f_d0f0;
    cpu.id_aa64mmfr0 = (cpu.id_aa64mmfr0 & !0xf) | 0x5; // PARange 48 bits
    cpu.id_aa64pfr0 &= !(0xf << 32); // no SVE
    Platform {
        name: "fvp".into(),
        pa_bits: 48,
        lpa2: false,
        sve_max_vl: 0,
        cntfrq: 100_000_000,
        cpu,
        ..max()
    }
}
