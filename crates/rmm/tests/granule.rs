//! RMI_VERSION, RMI_FEATURES, RMI_GRANULE_DELEGATE/UNDELEGATE and host access to memory.
#![cfg(test)]

use realm_rmm::abi::{self, RMI_ERROR_INPUT, RMI_SUCCESS, SMC_UNKNOWN};
use realm_rmm::host::{HostAccessFault, HostMemory, Rmi, SmcRegs};
use realm_rmm::{DramRegion, FeatureProfile, PlatformConfig, Rmm};

const BASE: u64 = 0x8000_0000;

fn rmm() -> Rmm {
    Rmm::new(PlatformConfig {
        dram: vec![DramRegion {
            base: BASE,
            size: 256 << 30,
        }],
        ..PlatformConfig::default()
    })
}

fn call(rmm: &Rmm, fid: u32, args: &[u64]) -> SmcRegs {
    rmm.call(SmcRegs::call(fid, args))
}

#[test]
fn version_reports_1_0_and_rejects_other_requests() {
    let rmm = rmm();
    let ok = call(&rmm, abi::RMI_VERSION, &[0x1_0000]);
    assert_eq!(ok.x[..3], [0, 0x1_0000, 0x1_0000]);
    let bad = call(&rmm, abi::RMI_VERSION, &[0x2_0000]);
    assert_eq!(bad.x[..3], [u64::from(RMI_ERROR_INPUT), 0x1_0000, 0x1_0000]);
}

#[test]
fn features_index_0_is_the_profile_register_and_others_zero() {
    let rmm = Rmm::new(PlatformConfig {
        features: FeatureProfile::qemu_max(),
        ..PlatformConfig::default()
    });
    assert_eq!(
        call(&rmm, abi::RMI_FEATURES, &[0]).x[..2],
        [0, 0x28f_3431_7f34]
    );
    assert_eq!(call(&rmm, abi::RMI_FEATURES, &[1]).x[..2], [0, 0]);
}

#[test]
fn unknown_fids_return_smc_unknown() {
    let rmm = rmm();
    for fid in [
        0xC400_0156u32,
        0xC400_0160,
        0xC400_0163,
        0xC400_016A,
        0x8400_0000,
    ] {
        assert_eq!(call(&rmm, fid, &[1, 2, 3]).x[0], SMC_UNKNOWN, "{fid:#x}");
    }
    // The SVE hint bit is stripped before dispatch.
    assert_eq!(
        call(&rmm, abi::RMI_VERSION | (1 << 16), &[0x1_0000]).x[0],
        0
    );
}

#[test]
fn result_registers_follow_the_observed_convention() {
    let rmm = rmm();
    let ret = rmm.call(SmcRegs {
        x: [
            u64::from(abi::RMI_GRANULE_DELEGATE),
            BASE,
            11,
            12,
            13,
            14,
            15,
        ],
    });
    assert_eq!(ret.x, [0, 0, 0, 0, 13, 14, 15]);
}

#[test]
fn delegate_then_undelegate_round_trips_and_blocks_host_access() {
    let rmm = rmm();
    rmm.write(BASE, &[0xaa; 16]).unwrap();
    assert_eq!(
        call(&rmm, abi::RMI_GRANULE_DELEGATE, &[BASE]).status(),
        RMI_SUCCESS
    );
    assert_eq!(rmm.realm_granule_count(), 1);
    let mut buf = [0u8; 16];
    assert_eq!(
        rmm.read(BASE + 8, &mut buf),
        Err(HostAccessFault::GranuleProtection { pa: BASE })
    );
    assert_eq!(
        rmm.write(BASE, &[1]),
        Err(HostAccessFault::GranuleProtection { pa: BASE })
    );
    assert_eq!(
        call(&rmm, abi::RMI_GRANULE_DELEGATE, &[BASE]).status(),
        RMI_ERROR_INPUT
    );
    assert_eq!(
        call(&rmm, abi::RMI_GRANULE_UNDELEGATE, &[BASE]).status(),
        RMI_SUCCESS
    );
    assert_eq!(
        call(&rmm, abi::RMI_GRANULE_UNDELEGATE, &[BASE]).status(),
        RMI_ERROR_INPUT
    );
    rmm.read(BASE, &mut buf).unwrap();
    assert_eq!(buf, [0; 16], "delegation scrubs the granule");
    assert_eq!(rmm.realm_granule_count(), 0);
    rmm.check_invariants().unwrap();
}

#[test]
fn delegate_rejects_unaligned_and_non_dram_addresses() {
    let rmm = rmm();
    for addr in [BASE + 8, BASE - 0x1000, BASE + (256 << 30), !0xfff, 0] {
        assert_eq!(
            call(&rmm, abi::RMI_GRANULE_DELEGATE, &[addr]).status(),
            RMI_ERROR_INPUT,
            "{addr:#x}"
        );
    }
    rmm.check_invariants().unwrap();
}

#[test]
fn sparse_memory_handles_a_256_gib_dram() {
    let rmm = rmm();
    let top = BASE + (256 << 30) - 0x1000;
    rmm.write(top, &[5; 0x1000]).unwrap();
    assert_eq!(
        call(&rmm, abi::RMI_GRANULE_DELEGATE, &[top]).status(),
        RMI_SUCCESS
    );
    assert_eq!(rmm.dram(), vec![BASE..BASE + (256 << 30)]);
}
