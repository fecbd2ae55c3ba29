//! Golden RIMs for both layouts and both ABI revisions: `measure` (the plan built on realm-kvm + realm-rmm) must
//! equal an independent descriptor-level calculation (tests/support/rim.rs), and `launch` must agree with
//! `measure` on every configuration.

mod support {
    pub mod rim;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::support::rim::{Order, Populate, RealmDesc, compute};
    use realm_vmm::backend::simulated::SimulatedBackend;
    use realm_vmm::build::Quiet;
    use realm_vmm::config::{AbiRevision, ConfigFile, ImageKind, RealmConfig};
    use realm_vmm::image::{ImageSource, filler, synthetic_image};
    use realm_vmm::launch::{self, LaunchOutcome};
    use realm_vmm::measure;
    use realm_vmm::prepare::{Prepared, prepare};

    const MIB: usize = 1 << 20;

    fn bytes(name: &str, data: Vec<u8>) -> Option<ImageSource> {
        Some(ImageSource::Bytes {
            name: name.into(),
            data: Arc::from(data),
        })
    }

    /// A configuration from flags-like values plus in-memory images.
    fn config(
        edit: impl FnOnce(&mut ConfigFile),
        kernel: Option<Vec<u8>>,
        initrd: Option<Vec<u8>>,
        fw: Option<Vec<u8>>,
    ) -> RealmConfig {
        let mut f = ConfigFile {
            kernel: kernel.as_ref().map(|_| "k".into()),
            initrd: initrd.as_ref().map(|_| "i".into()),
            firmware: fw.as_ref().map(|_| "f".into()),
            ..ConfigFile::default()
        };
        edit(&mut f);
        let mut c = f.validate().unwrap();
        c.kernel = kernel.and_then(|k| bytes("kernel", k));
        c.initrd = initrd.and_then(|i| bytes("initrd", i));
        c.firmware = fw.and_then(|b| bytes("firmware", b));
        c
    }

    /// The descriptor the calculator needs, from the configuration and the placed images (the placement itself is
    /// pinned by the layout tests and by the addresses asserted below).
    fn desc(p: &Prepared, ram: &[(u64, u64)], s2sz: u8) -> RealmDesc {
        assert_eq!(p.map.ipa_bits, s2sz);
        let got: Vec<(u64, u64)> = p.map.ram.iter().map(|r| (r.base, r.size)).collect();
        assert_eq!(got, ram);
        let mut populates = Vec::new();
        for measured in [true, false] {
            for (img, (_, data)) in p.map.images.iter().zip(&p.images) {
                if img.measured != measured {
                    continue;
                }
                let mut buf = vec![0u8; usize::try_from(img.populate.size).unwrap()];
                let off = usize::try_from(img.load.base - img.populate.base).unwrap();
                buf[off..off + data.len()].copy_from_slice(data);
                populates.push(Populate {
                    base: img.populate.base,
                    bytes: buf,
                    measured,
                });
            }
        }
        let params = &p.cfg.params;
        let platform = &p.cfg.platform;
        let pmu = params.pmu_counters.is_some();
        let sve = params
            .sve_vl
            .map(|bits| u8::try_from(bits / 128 - 1).unwrap());
        // RmiRealmFlags: LPA2 (bit 0) when the host kernel uses LPA2 (the platform has it), SVE (bit 1) with
        // a vector length, PMU (bit 2) with counters.
        let flags =
            u64::from(platform.lpa2) | (u64::from(sve.is_some()) << 1) | (u64::from(pmu) << 2);
        RealmDesc {
            sha512: params.hash_algo() == realm_vmm::config::HashAlgorithm::Sha512,
            flags,
            s2sz,
            sve_vl: sve.unwrap_or(0),
            // Not given: the kernel keeps ID_AA64DFR0_EL1 as RMI_FEATURES reports, the platform's counts.
            num_bps: params.num_bps.unwrap_or(platform.breakpoints) - 1,
            num_wps: params.num_wps.unwrap_or(platform.watchpoints) - 1,
            pmu_num_ctrs: params.pmu_counters.unwrap_or(0),
            ram: ram.to_vec(),
            populates,
            pc: p.map.pc,
            gprs: [p.map.x0, 0, 0, 0, 0, 0, 0, 0],
            order: match p.cfg.abi {
                AbiRevision::V10 => Order::V10,
                AbiRevision::V12 => Order::V12,
                other => panic!("the VMM drives v10 and v12 only, not {other}"),
            },
        }
    }

    /// Measure, compare with the calculator, check launch agrees; returns the RIM.
    fn check(cfg: &RealmConfig, ram: &[(u64, u64)], s2sz: u8) -> String {
        let p = prepare(cfg).unwrap();
        let report = measure::measure_explained(&p, &mut Quiet, true).unwrap();
        let (expected, log) = compute(&desc(&p, ram, s2sz));
        if hex::encode(&expected) != report.rim {
            let first = log
                .iter()
                .zip(&report.extensions)
                .position(|((_, rim), e)| rim[..] != e.rim_after[..]);
            let detail = first.map(|i| {
                format!(
                    "first difference at extension {i}: calculator {:?} vs {:?}",
                    log[i].0, report.extensions[i]
                )
            });
            panic!(
                "RIM mismatch: measure {} vs calculator {} ({} vs {} extensions); {detail:?}",
                report.rim,
                hex::encode(&expected),
                report.extensions.len(),
                log.len()
            );
        }
        assert_eq!(report.extensions.len(), log.len());
        let backend = SimulatedBackend::for_platform(cfg.abi, &cfg.platform);
        let mut console = Vec::new();
        let launched = launch::launch(&backend, &p, &mut console, &mut Quiet, false).unwrap();
        assert_eq!(launched.outcome, LaunchOutcome::ActivatedNoCode);
        assert_eq!(
            hex::encode(launched.measured.unwrap().rim),
            report.rim,
            "launch and measure disagree"
        );
        report.rim
    }

    #[test]
    fn kvmtool_v12_kernel_initrd() {
        let cfg = config(
            |f| f.cpus = Some(2),
            Some(synthetic_image(3 * MIB / 2, 1)),
            Some(filler(300_000, 2)),
            None,
        );
        check(&cfg, &[(0x8000_0000, 512 << 20)], 33);
    }

    #[test]
    fn kvmtool_v10_kernel_initrd_sha512() {
        let cfg = config(
            |f| {
                f.abi = Some("v10".into());
                f.hash = Some("sha512".into());
                f.rpv = Some("0123456789abcdef".into());
                f.cpus = Some(3);
            },
            Some(synthetic_image(3 * MIB / 2, 1)),
            Some(filler(300_000, 2)),
            None,
        );
        let rim = check(&cfg, &[(0x8000_0000, 512 << 20)], 33);
        assert_eq!(rim.len(), 128);
    }

    #[test]
    fn qemu_v12_kernel_initrd() {
        let cfg = config(
            |f| {
                f.layout = Some("qemu".into());
                f.mem = Some("1G".into());
            },
            Some(synthetic_image(5 * MIB, 3)),
            Some(filler(100_001, 4)),
            None,
        );
        let p = prepare(&cfg).unwrap();
        assert_eq!(p.map.initrd.unwrap().base, 0x4800_0000);
        assert_eq!(p.map.dtb.base, 0x4820_0000);
        check(&cfg, &[(0x4000_0000, 1 << 30)], 41);
    }

    #[test]
    fn qemu_v10_kernel_sha512_512m() {
        let cfg = config(
            |f| {
                f.layout = Some("qemu".into());
                f.abi = Some("v10".into());
                f.hash = Some("sha512".into());
                f.mem = Some("512M".into());
            },
            Some(synthetic_image(2 * MIB, 5)),
            None,
            None,
        );
        check(&cfg, &[(0x4000_0000, 512 << 20)], 41);
    }

    #[test]
    fn kvmtool_v12_firmware() {
        let cfg = config(
            |f| f.mem = Some("64M".into()),
            None,
            None,
            Some(filler(5 * MIB + 123, 6)),
        );
        let p = prepare(&cfg).unwrap();
        assert_eq!((p.map.pc, p.map.x0), (0x8000_0000, 0x8060_0000));
        check(&cfg, &[(0x8000_0000, 64 << 20)], 33);
    }

    /// Issue 9: more debug resources than any named host but `max` offers, on the default platform.
    #[test]
    fn max_platform_v12_firmware_6bps_6wps() {
        let cfg = config(
            |f| {
                f.mem = Some("64M".into());
                f.num_bps = Some(6);
                f.num_wps = Some(6);
            },
            None,
            None,
            Some(filler(2 * MIB + 5, 12)),
        );
        assert_eq!(cfg.platform.name, "max");
        check(&cfg, &[(0x8000_0000, 64 << 20)], 33);
    }

    /// Issue 9: SVE (512 bits: VQ 4, sve_vl 3), 6 PMU counters and SHA-512 through ABI v10 on the default
    /// platform — the SVE feature, VLS register and finalize on every vCPU, then REALM_CREATE with SVE.
    #[test]
    fn max_platform_v10_firmware_sve512_pmu6_sha512() {
        let cfg = config(
            |f| {
                f.mem = Some("64M".into());
                f.abi = Some("v10".into());
                f.sve_vl = Some(512);
                f.pmu_counters = Some(6);
                f.hash = Some("sha512".into());
                f.cpus = Some(2);
            },
            None,
            None,
            Some(filler(MIB + 77, 13)),
        );
        let rim = check(&cfg, &[(0x8000_0000, 64 << 20)], 33);
        assert_eq!(rim.len(), 128);
    }

    /// SVE through ABI v12 (v12 42/46: the VM has SVE, every vCPU finalized with one vector length).
    #[test]
    fn max_platform_v12_kernel_sve2048() {
        let cfg = config(
            |f| {
                f.sve_vl = Some(2048);
                f.cpus = Some(2);
            },
            Some(synthetic_image(MIB, 14)),
            None,
            None,
        );
        check(&cfg, &[(0x8000_0000, 512 << 20)], 33);
    }

    #[test]
    fn qemu_v10_firmware() {
        let cfg = config(
            |f| {
                f.layout = Some("qemu".into());
                f.abi = Some("v10".into());
                f.mem = Some("256M".into());
            },
            None,
            None,
            Some(filler(3 * MIB, 7)),
        );
        check(&cfg, &[(0, 128 << 20), (0x4000_0000, 256 << 20)], 41);
    }

    #[test]
    fn kvmtool_v12_unmeasured_dtb_debug_and_pmu() {
        let cfg = config(
            |f| {
                f.unmeasured = vec!["dtb".into()];
                f.num_bps = Some(4);
                f.num_wps = Some(2);
                f.pmu_counters = Some(6);
                f.mem = Some("4G".into());
            },
            Some(synthetic_image(MIB, 8)),
            Some(filler(5000, 9)),
            None,
        );
        let p = prepare(&cfg).unwrap();
        assert!(
            p.map
                .images
                .iter()
                .any(|i| i.kind == ImageKind::Dtb && !i.measured)
        );
        check(&cfg, &[(0x8000_0000, 4 << 30)], 34);
    }

    #[test]
    fn kvmtool_v10_unmeasured_initrd_big_ipa() {
        let cfg = config(
            |f| {
                f.abi = Some("v10".into());
                f.unmeasured = vec!["initrd".into()];
                f.ipa_bits = Some(40);
            },
            Some(synthetic_image(MIB, 10)),
            Some(filler(70_000, 11)),
            None,
        );
        check(&cfg, &[(0x8000_0000, 512 << 20)], 40);
    }

    #[test]
    fn demo_rims_are_pinned() {
        // Regression values: the demo's RIMs as computed (and cross-checked above by the calculator on the same
        // construction rules); the README quotes the v12 one.
        for (abi, edit) in [(AbiRevision::V12, "v12"), (AbiRevision::V10, "v10")] {
            let cfg = realm_vmm::demo::config(abi);
            let p = prepare(&cfg).unwrap();
            let report = measure::measure_explained(&p, &mut Quiet, true).unwrap();
            let (expected, _) = compute(&desc(&p, &[(0x8000_0000, 256 << 20)], 33));
            assert_eq!(report.rim, hex::encode(expected), "{edit}");
        }
    }
}
