//! vCPUs and the interrupt controller: `KVM_CREATE_VCPU` + `KVM_ARM_VCPU_INIT`, SVE vector lengths, registers
//! by `KVM_{GET,SET}_ONE_REG` (boot registers, PMU counters, the VM's debug resources), and the in-kernel GICv3.
#![forbid(unsafe_code)]

use realm_uapi::arm64 as k;
use realm_uapi::v10;
use zerocopy::{FromZeros, IntoBytes};

use super::{Built, set_one_reg};
use crate::backend::{BackendError, Fd, Ioctl, IoctlArg};
use crate::layout::IpaRange;
use crate::plan::VcpuFeature;

/// `KVM_CREATE_VCPU`, then `KVM_ARM_VCPU_INIT` with the preferred target and `features`.
pub(super) fn create_vcpu(
    b: &mut Built<'_>,
    vcpu: u32,
    features: &[VcpuFeature],
) -> Result<(), BackendError> {
    let fd = b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_VCPU,
        IoctlArg::Val(u64::from(vcpu)),
        || Ioctl::CreateVcpu { vcpu },
    )?;
    b.vcpus.push(super::fd_of(fd)?);
    let mut init = k::kvm_vcpu_init::new_zeroed();
    b.ioctl(
        b.vm_fd,
        k::KVM_ARM_PREFERRED_TARGET,
        IoctlArg::Buf(init.as_mut_bytes()),
        || Ioctl::PreferredTarget,
    )?;
    for f in features {
        init.set_feature(match f {
            VcpuFeature::PowerOff => k::KVM_ARM_VCPU_POWER_OFF,
            VcpuFeature::Psci02 => k::KVM_ARM_VCPU_PSCI_0_2,
            VcpuFeature::Sve => k::KVM_ARM_VCPU_SVE,
            VcpuFeature::PmuV3 => k::KVM_ARM_VCPU_PMU_V3,
            VcpuFeature::Rec => v10::KVM_ARM_VCPU_REC,
        });
    }
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_ARM_VCPU_INIT,
        IoctlArg::Buf(init.as_mut_bytes()),
        || Ioctl::VcpuInit {
            vcpu,
            features: features.to_vec(),
        },
    )?;
    Ok(())
}

/// `KVM_REG_ARM64_SVE_VLS` = the vector lengths VQ 1..=`vl_bits`/128, then
/// `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)`.
pub(super) fn configure_sve(b: &Built<'_>, vcpu: u32, vl_bits: u16) -> Result<(), BackendError> {
    // KVM_REG_ARM64_SVE_VLS is 512 bits: a bitmap of the vector lengths to offer.
    let mut vls = [0u8; 64];
    for vq in 1..=usize::from(vl_bits / 128).min(512) {
        vls[(vq - 1) / 8] |= 1 << ((vq - 1) % 8);
    }
    let addr = b.scratch_write(0, &vls)?;
    set_one_reg(
        b,
        vcpu,
        k::REG_SVE_VLS,
        addr,
        Ioctl::SetSveVls { vcpu, vl_bits },
    )?;
    let mut what = k::KVM_ARM_VCPU_SVE.to_le_bytes();
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_ARM_VCPU_FINALIZE,
        IoctlArg::Buf(&mut what),
        || Ioctl::FinalizeSve { vcpu },
    )?;
    Ok(())
}

/// `KVM_SET_ONE_REG(id)` = `value` on `vcpu`.
pub(super) fn set_reg(
    b: &Built<'_>,
    vcpu: u32,
    id: u64,
    value: u64,
    reg: &'static str,
) -> Result<(), BackendError> {
    let addr = b.scratch_write(0, &value.to_le_bytes())?;
    set_one_reg(b, vcpu, id, addr, Ioctl::SetOneReg { reg, value, vcpu })
}

/// `KVM_GET_ONE_REG(id)` of `vcpu`.
fn get_reg(b: &Built<'_>, vcpu: u32, id: u64, reg: &'static str) -> Result<u64, BackendError> {
    let addr = b.scratch_write(0, &[0; 8])?;
    let mut one = k::kvm_one_reg { id, addr };
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_GET_ONE_REG,
        IoctlArg::Buf(one.as_mut_bytes()),
        || Ioctl::GetOneReg { reg, vcpu },
    )?;
    b.scratch_read_u64(0)
}

/// The VM's `ID_AA64DFR0_EL1.{BRPs,WRPs}` (count-1) set to the counts asked for, which may not exceed the
/// kernel's initial value (v12 38/46: the RMM's NUM_BPS/NUM_WPS): KVM refuses an ID register write above the
/// sanitised value.
pub(super) fn set_debug_resources(
    b: &Built<'_>,
    bps: Option<u8>,
    wps: Option<u8>,
) -> Result<(), BackendError> {
    let mut dfr0 = get_reg(b, 0, k::REG_ID_AA64DFR0_EL1, "ID_AA64DFR0_EL1")?;
    for (asked, shift, what) in [(bps, 12, "breakpoints"), (wps, 20, "watchpoints")] {
        let max = ((dfr0 >> shift) & 0xf) + 1;
        let Some(n) = asked else { continue };
        if u64::from(n) > max {
            return Err(BackendError::DebugResources {
                what,
                asked: n,
                max,
                backend: b.backend.name(),
            });
        }
        dfr0 = (dfr0 & !(0xf << shift)) | (u64::from(n.saturating_sub(1)) << shift);
    }
    set_reg(b, 0, k::REG_ID_AA64DFR0_EL1, dfr0, "ID_AA64DFR0_EL1")
}

/// `KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3)`, its distributor and redistributor addresses, then
/// `KVM_DEV_ARM_VGIC_CTRL_INIT`.
pub(super) fn create_gic(
    b: &mut Built<'_>,
    dist: IpaRange,
    redist: IpaRange,
) -> Result<(), BackendError> {
    let mut dev = k::kvm_create_device {
        r#type: k::KVM_DEV_TYPE_ARM_VGIC_V3,
        fd: 0,
        flags: 0,
    };
    b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_DEVICE,
        IoctlArg::Buf(dev.as_mut_bytes()),
        || Ioctl::CreateGic,
    )?;
    let gic = Fd(dev.fd.cast_signed());
    b.other_fds.push(gic);
    for (ty, base, region) in [
        (k::KVM_VGIC_V3_ADDR_TYPE_DIST, dist.base, "distributor"),
        (
            k::KVM_VGIC_V3_ADDR_TYPE_REDIST,
            redist.base,
            "redistributors",
        ),
    ] {
        let addr = b.scratch_write(0, &base.to_le_bytes())?;
        let mut attr = k::kvm_device_attr {
            flags: 0,
            group: k::KVM_DEV_ARM_VGIC_GRP_ADDR,
            attr: u64::from(ty),
            addr,
        };
        b.ioctl(
            gic,
            k::KVM_SET_DEVICE_ATTR,
            IoctlArg::Buf(attr.as_mut_bytes()),
            || Ioctl::SetGicAddress { region, base },
        )?;
    }
    let mut init = k::kvm_device_attr {
        flags: 0,
        group: k::KVM_DEV_ARM_VGIC_GRP_CTRL,
        attr: u64::from(k::KVM_DEV_ARM_VGIC_CTRL_INIT),
        addr: 0,
    };
    b.ioctl(
        gic,
        k::KVM_SET_DEVICE_ATTR,
        IoctlArg::Buf(init.as_mut_bytes()),
        || Ioctl::InitGic,
    )?;
    Ok(())
}
