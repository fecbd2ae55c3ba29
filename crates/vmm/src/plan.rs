//! The realm-construction plan: the ordered steps a kernel ABI revision implies, from `KVM_CREATE_VM` to the
//! first `KVM_RUN`. The RIM depends on this order, so it is written down once and both `measure` and `launch`
//! execute it.
//!
//! - **v10** (kvmtool `arm/aarch64/realm.c` `kvm_arm_realm_finalize`, cca/v10-era): CONFIG_REALM(hash algorithm),
//!   CONFIG_REALM(RPV, if given), CREATE_REALM, INIT_RIPAS over all RAM, POPULATE each image in ascending IPA order
//!   (measured first, then unmeasured ones), vCPU registers and `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)` per vCPU
//!   (REC0 runnable), ACTIVATE_REALM.
//! - **v12** (kvm-realm-abi.md §1.1; QEMU `target/arm/kvm-rme.c` "Ported to v12"): `KVM_ARM_RMI_POPULATE` per image
//!   in ascending IPA order (the first creates the RD); vCPU registers; the first `KVM_RUN` makes the kernel create
//!   every REC, INIT_RIPAS every guest_memfd slot and activate the realm.
#![forbid(unsafe_code)]

use std::fmt;

use serde::Serialize;

use crate::config::{AbiRevision, HashAlgorithm, ImageKind, RealmConfig};
use crate::layout::{IpaRange, MemoryMap};
use crate::size::ByteSize;

/// Optional vCPU features asked of `KVM_ARM_VCPU_INIT` (arm64 `KVM_ARM_VCPU_*` feature bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VcpuFeature {
    /// `KVM_ARM_VCPU_POWER_OFF` (0): secondary vCPUs start off and wait for PSCI CPU_ON (as kvmtool does).
    PowerOff,
    /// `KVM_ARM_VCPU_PSCI_0_2` (2): required for realms.
    Psci02,
    /// `KVM_ARM_VCPU_SVE` (4).
    Sve,
    /// `KVM_ARM_VCPU_PMU_V3` (3).
    PmuV3,
    /// `KVM_ARM_VCPU_REC` (9): ABI v10 only.
    Rec,
}

/// One step of realm construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM | IPA size)`.
    CreateVm {
        /// IPA size in bits.
        ipa_bits: u8,
    },
    /// A RAM slot: guest_memfd (`KVM_CREATE_GUEST_MEMFD`) + VMM memory for the shared alias,
    /// `KVM_SET_USER_MEMORY_REGION2`, then `KVM_SET_MEMORY_ATTRIBUTES(PRIVATE)`.
    AddRam {
        /// Memslot number.
        slot: u32,
        /// IPA range.
        range: IpaRange,
    },
    /// `KVM_CREATE_VCPU` + `KVM_ARM_VCPU_INIT`.
    CreateVcpu {
        /// vCPU id.
        vcpu: u32,
        /// Features.
        features: Vec<VcpuFeature>,
    },
    /// SVE vector lengths (`KVM_REG_ARM64_SVE_VLS`) then `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)`.
    ConfigureSve {
        /// vCPU id.
        vcpu: u32,
        /// Maximum vector length in bits.
        vl_bits: u16,
    },
    /// PMU counters: `PMCR_EL0.N` by `KVM_SET_ONE_REG`.
    SetPmuCounters {
        /// vCPU id.
        vcpu: u32,
        /// Counters.
        counters: u8,
    },
    /// Breakpoints/watchpoints: the VM's `ID_AA64DFR0_EL1.{BRPs,WRPs}` (count-1) by `KVM_SET_ONE_REG`.
    SetDebugResources {
        /// Breakpoints (as counted by the user), `None` = keep the kernel's.
        bps: Option<u8>,
        /// Watchpoints, `None` = keep the kernel's.
        wps: Option<u8>,
    },
    /// In-kernel GICv3 (`KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3)`).
    CreateGic {
        /// Distributor.
        dist: IpaRange,
        /// Redistributors.
        redist: IpaRange,
    },
    /// v10 `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_HASH_ALGO)`.
    ConfigureHash {
        /// Algorithm.
        #[serde(serialize_with = "crate::config::names::serialize_hash")]
        algo: HashAlgorithm,
    },
    /// v10 `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_RPV)`.
    ConfigureRpv {
        /// 64 bytes, hex.
        rpv: String,
    },
    /// v10 `KVM_CAP_ARM_RME_CREATE_REALM`.
    CreateRealm,
    /// v10 `KVM_CAP_ARM_RME_INIT_RIPAS_REALM`.
    InitRipas {
        /// The range set to RIPAS RAM.
        range: IpaRange,
    },
    /// Copy an image into protected memory (v10 `KVM_CAP_ARM_RME_POPULATE_REALM`, v12 `KVM_ARM_RMI_POPULATE`).
    Populate {
        /// Which image.
        image: ImageKind,
        /// The range populated (the image rounded out to the VMM's granularity).
        range: IpaRange,
        /// `*_POPULATE_FLAGS_MEASURE`.
        measured: bool,
    },
    /// Boot registers by `KVM_SET_ONE_REG`.
    SetBootRegisters {
        /// vCPU id.
        vcpu: u32,
        /// PC.
        pc: u64,
        /// x0.
        x0: u64,
    },
    /// v10 `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`: creates the vCPU's REC.
    FinalizeRec {
        /// vCPU id.
        vcpu: u32,
    },
    /// v10 `KVM_CAP_ARM_RME_ACTIVATE_REALM`.
    ActivateRealm,
    /// The first `KVM_RUN` (with `immediate_exit = 1`): v12 creates the RECs, INIT_RIPAS, activates.
    FirstRun {
        /// vCPU id.
        vcpu: u32,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateVm { ipa_bits } => write!(f, "create realm VM, {ipa_bits}-bit IPA space"),
            Self::AddRam { slot, range } => {
                write!(
                    f,
                    "add RAM slot {slot} at {range} ({}), guest_memfd-backed",
                    ByteSize(range.size)
                )
            }
            Self::CreateVcpu { vcpu, features } => write!(f, "create vCPU {vcpu} {features:?}"),
            Self::ConfigureSve { vcpu, vl_bits } => {
                write!(f, "vCPU {vcpu}: SVE up to {vl_bits} bits, finalize")
            }
            Self::SetPmuCounters { vcpu, counters } => {
                write!(f, "vCPU {vcpu}: {counters} PMU counters")
            }
            Self::SetDebugResources { bps, wps } => {
                write!(f, "debug resources: bps {bps:?}, wps {wps:?}")
            }
            Self::CreateGic { dist, redist } => write!(
                f,
                "create GICv3 (distributor {dist}, redistributors {redist})"
            ),
            Self::ConfigureHash { algo } => write!(
                f,
                "configure measurement algorithm {}",
                crate::config::hash_name(*algo)
            ),
            Self::ConfigureRpv { rpv } => write!(f, "configure personalization value {rpv}"),
            Self::CreateRealm => f.write_str("create realm descriptor"),
            Self::InitRipas { range } => write!(f, "set RIPAS RAM over {range}"),
            Self::Populate {
                image,
                range,
                measured,
            } => write!(
                f,
                "populate {image} {range} ({}), {}",
                ByteSize(range.size),
                if *measured { "measured" } else { "unmeasured" }
            ),
            Self::SetBootRegisters { vcpu, pc, x0 } => {
                write!(f, "vCPU {vcpu}: PC = {pc:#x}, x0 = {x0:#x}")
            }
            Self::FinalizeRec { vcpu } => write!(f, "vCPU {vcpu}: create REC"),
            Self::ActivateRealm => f.write_str("activate realm"),
            Self::FirstRun { vcpu } => write!(f, "first KVM_RUN of vCPU {vcpu} (immediate exit)"),
        }
    }
}

/// The ordered steps for one realm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Kernel ABI revision.
    pub abi: AbiRevision,
    /// Steps, in order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The steps `cfg` on `map` implies.
    pub fn new(cfg: &RealmConfig, map: &MemoryMap) -> Self {
        let mut steps = vec![Step::CreateVm {
            ipa_bits: map.ipa_bits,
        }];
        for (slot, range) in (0u32..).zip(&map.ram) {
            steps.push(Step::AddRam {
                slot,
                range: *range,
            });
        }
        let p = &cfg.params;
        for vcpu in 0..cfg.cpus {
            let mut features = if vcpu == 0 {
                vec![VcpuFeature::Psci02]
            } else {
                vec![VcpuFeature::PowerOff, VcpuFeature::Psci02]
            };
            if p.sve_vl.is_some() {
                features.push(VcpuFeature::Sve);
            }
            if p.pmu_counters.is_some() {
                features.push(VcpuFeature::PmuV3);
            }
            if cfg.abi == AbiRevision::V10 {
                features.push(VcpuFeature::Rec);
            }
            steps.push(Step::CreateVcpu { vcpu, features });
            if let Some(vl_bits) = p.sve_vl {
                steps.push(Step::ConfigureSve { vcpu, vl_bits });
            }
            if let Some(counters) = p.pmu_counters {
                steps.push(Step::SetPmuCounters { vcpu, counters });
            }
        }
        if p.num_bps.is_some() || p.num_wps.is_some() {
            steps.push(Step::SetDebugResources {
                bps: p.num_bps,
                wps: p.num_wps,
            });
        }
        steps.push(Step::CreateGic {
            dist: map.gic_dist,
            redist: map.gic_redist,
        });
        if cfg.abi == AbiRevision::V10 {
            steps.push(Step::ConfigureHash {
                algo: p.hash_algo(),
            });
            if let Some(rpv) = p.rpv {
                steps.push(Step::ConfigureRpv {
                    rpv: hex::encode(rpv.0),
                });
            }
            steps.push(Step::CreateRealm);
            for range in &map.ram {
                steps.push(Step::InitRipas { range: *range });
            }
        }
        for measured in [true, false] {
            for img in map.images.iter().filter(|i| i.measured == measured) {
                steps.push(Step::Populate {
                    image: img.kind,
                    range: img.populate,
                    measured,
                });
            }
        }
        steps.push(Step::SetBootRegisters {
            vcpu: 0,
            pc: map.pc,
            x0: map.x0,
        });
        if cfg.abi == AbiRevision::V10 {
            for vcpu in 0..cfg.cpus {
                steps.push(Step::FinalizeRec { vcpu });
            }
            steps.push(Step::ActivateRealm);
        }
        steps.push(Step::FirstRun { vcpu: 0 });
        Self {
            abi: cfg.abi,
            steps,
        }
    }

    /// Bytes populated with and without measurement.
    pub fn populated_bytes(&self) -> (u64, u64) {
        let mut out = (0, 0);
        for s in &self.steps {
            if let Step::Populate {
                range, measured, ..
            } = s
            {
                if *measured {
                    out.0 += range.size;
                } else {
                    out.1 += range.size;
                }
            }
        }
        out
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "realm construction plan (ABI {}):", self.abi)?;
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(f, "{:>3}. {s}", i + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;
    use crate::image::synthetic_image;
    use crate::layout::{BootImage, ImageSizes, place};

    fn plan(abi: &str, extra: impl FnOnce(&mut ConfigFile)) -> Plan {
        let mut f = ConfigFile {
            kernel: Some("Image".into()),
            abi: Some(abi.into()),
            cpus: Some(2),
            ..ConfigFile::default()
        };
        extra(&mut f);
        let cfg = f.validate().unwrap();
        let k = synthetic_image(70_000, 1);
        let map = place(
            &cfg,
            &ImageSizes {
                kernel: Some(BootImage::of(&k)),
                initrd: Some(5000),
                ..Default::default()
            },
        )
        .unwrap();
        Plan::new(&cfg, &map)
    }

    fn names(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["step"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn v10_order_is_kvmtools() {
        let p = plan("v10", |f| f.rpv = Some("01".into()));
        assert_eq!(
            names(&p),
            [
                "create_vm",
                "add_ram",
                "create_vcpu",
                "create_vcpu",
                "create_gic",
                "configure_hash",
                "configure_rpv",
                "create_realm",
                "init_ripas",
                "populate",
                "populate",
                "populate",
                "set_boot_registers",
                "finalize_rec",
                "finalize_rec",
                "activate_realm",
                "first_run"
            ]
        );
        let Step::CreateVcpu { features, .. } = &p.steps[2] else {
            panic!()
        };
        assert_eq!(features, &[VcpuFeature::Psci02, VcpuFeature::Rec]);
    }

    #[test]
    fn v12_order_is_implicit() {
        let p = plan("v12", |f| {
            f.unmeasured = vec!["dtb".into()];
            f.sve_vl = Some(256);
            f.num_bps = Some(4);
        });
        assert_eq!(
            names(&p),
            [
                "create_vm",
                "add_ram",
                "create_vcpu",
                "configure_sve",
                "create_vcpu",
                "configure_sve",
                "set_debug_resources",
                "create_gic",
                "populate",
                "populate",
                "populate",
                "set_boot_registers",
                "first_run"
            ]
        );
        // Measured images first (ascending), then unmeasured ones.
        let pops: Vec<_> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Populate {
                    image, measured, ..
                } => Some((*image, *measured)),
                _ => None,
            })
            .collect();
        assert_eq!(
            pops,
            [
                (ImageKind::Kernel, true),
                (ImageKind::Initrd, true),
                (ImageKind::Dtb, false)
            ]
        );
        let (m, u) = p.populated_bytes();
        assert_eq!((m, u), (0x2_0000 + 0x1_0000, 0x1_0000));
    }

    #[test]
    fn display_reads_like_a_plan() {
        let p = plan("v12", |_| {});
        let text = p.to_string();
        assert!(text.starts_with(
            "realm construction plan (ABI v12):\n  1. create realm VM, 33-bit IPA space\n"
        ));
        assert!(text.contains("populate kernel 0x80000000..0x80020000 (128 KiB), measured"));
        assert!(text.contains("vCPU 0: PC = 0x80000000, x0 = 0x8fe00000"));
        let json = serde_json::to_string(&p.steps[0]).unwrap();
        assert_eq!(json, r#"{"step":"create_vm","ipa_bits":33}"#);
    }
}
