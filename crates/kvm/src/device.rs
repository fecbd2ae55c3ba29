//! Devices and VM attributes: the vGIC (`KVM_CREATE_DEVICE`, `KVM_CREATE_IRQCHIP`) and the SMCCC filter
//! (`KVM_SET_DEVICE_ATTR` on the VM fd, arch/arm64/kvm/hypercalls.c).

use std::sync::Arc;

use realm_uapi::arm64::{
    KVM_CREATE_DEVICE_TEST, KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_VGIC_GRP_ADDR,
    KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, KVM_DEV_TYPE_ARM_VGIC_V3,
    KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR, KVM_SET_DEVICE_ATTR, KVM_VGIC_V3_ADDR_TYPE_DIST,
    KVM_VGIC_V3_ADDR_TYPE_REDIST, kvm_create_device, kvm_device_attr,
};
use zerocopy::IntoBytes;

use crate::Errno;
use crate::abi::{
    KVM_ARM_VM_SMCCC_CTRL, KVM_ARM_VM_SMCCC_FILTER, KVM_DEV_TYPE_ARM_VGIC_V2,
    KVM_SMCCC_FILTER_FWD_TO_USER, kvm_smccc_filter,
};
use crate::fd::{Arg, File, Outcome};
use crate::vm::{FilterRange, Vm};

/// A device from `KVM_CREATE_DEVICE` (the vGIC, `kvm-arm-vgic-v3`/`-v2`).
#[derive(Debug)]
pub(crate) struct DeviceFile {
    /// The device pins its VM.
    vm: Arc<Vm>,
    /// `KVM_DEV_TYPE_ARM_VGIC_V3` or `_V2`.
    _ty: u32,
}

/// `kvm_vgic_create()`: one vGIC per VM (-EEXIST), none once a vCPU has run (-EBUSY). Realms reject
/// GICv2 (v12; errno -EINVAL **[uncertain]**).
pub(crate) fn create_vgic(vm: &Arc<Vm>, ty: u32) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if vm.is_realm && ty != KVM_DEV_TYPE_ARM_VGIC_V3 {
        return Err(Errno::EINVAL);
    }
    if inner.irqchip {
        return Err(Errno::EEXIST);
    }
    if inner.has_ran_once {
        return Err(Errno::EBUSY);
    }
    inner.irqchip = true;
    Ok(())
}

/// `kvm_ioctl_create_device()`: unknown types → -ENODEV; `KVM_CREATE_DEVICE_TEST` only probes. Only the
/// vGIC device types are modelled.
pub(crate) fn create_device(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let mut cd: kvm_create_device = arg.read_struct()?;
    let ty = cd.r#type;
    if ty != KVM_DEV_TYPE_ARM_VGIC_V2 && ty != KVM_DEV_TYPE_ARM_VGIC_V3 {
        return Err(Errno::ENODEV);
    }
    if cd.flags & KVM_CREATE_DEVICE_TEST != 0 {
        return Ok(Outcome::Value(0));
    }
    create_vgic(vm, ty)?;
    // The fd is written back into the struct; install it first through a placeholder-free path:
    // the caller installs the new file and we cannot know the number yet, so pre-install here.
    let file = File::Device(Arc::new(DeviceFile {
        vm: Arc::clone(vm),
        _ty: ty,
    }));
    let fd = arg.install(file)?;
    cd.fd = fd.0.cast_unsigned();
    arg.write(cd.as_bytes())?;
    Ok(Outcome::Value(0))
}

/// Device-fd ioctls (`kvm_device_ioctl`): `KVM_SET_DEVICE_ATTR` of the vGIC's base addresses
/// (`KVM_DEV_ARM_VGIC_GRP_ADDR`: 64 KiB aligned, else -EINVAL; set twice → -EEXIST), its interrupt count
/// (`KVM_DEV_ARM_VGIC_GRP_NR_IRQS`: a multiple of 32 in \[64, 1024\], else -EINVAL; after init → -EBUSY) and
/// `KVM_DEV_ARM_VGIC_CTRL_INIT` (`vgic_v3_set_attr`); other attributes are accepted and not modelled; any
/// other request → -ENOTTY (the vGIC has no `ioctl` op).
pub(crate) fn device_ioctl(
    dev: &Arc<DeviceFile>,
    cmd: u64,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    match cmd {
        KVM_SET_DEVICE_ATTR => {
            let a: kvm_device_attr = arg.read_struct()?;
            vgic_set_attr(&dev.vm, &a, arg)?;
            Ok(Outcome::Value(0))
        }
        KVM_GET_DEVICE_ATTR | KVM_HAS_DEVICE_ATTR => {
            arg.read_struct::<kvm_device_attr>()?;
            Ok(Outcome::Value(0))
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// `vgic_v3_set_attr()` for the groups a VMM uses to build a realm's GIC.
fn vgic_set_attr(vm: &Arc<Vm>, a: &kvm_device_attr, arg: &mut Arg<'_, '_>) -> Result<(), Errno> {
    let mut vgic = crate::lock(&vm.vgic);
    match a.group {
        KVM_DEV_ARM_VGIC_GRP_ADDR => {
            let base: u64 = arg.user().read_struct(a.addr)?;
            let slot = match u32::try_from(a.attr) {
                Ok(KVM_VGIC_V3_ADDR_TYPE_DIST) => &mut vgic.dist_base,
                Ok(KVM_VGIC_V3_ADDR_TYPE_REDIST) => &mut vgic.redist_base,
                _ => return Ok(()),
            };
            if base & 0xffff != 0 {
                return Err(Errno::EINVAL);
            }
            if slot.is_some() {
                return Err(Errno::EEXIST);
            }
            *slot = Some(base);
        }
        KVM_DEV_ARM_VGIC_GRP_NR_IRQS => {
            let n: u32 = arg.user().read_struct(a.addr)?;
            if !(64..=crate::vgic::NR_IRQS_MAX).contains(&n) || !n.is_multiple_of(32) {
                return Err(Errno::EINVAL);
            }
            if vgic.initialized || vgic.nr_irqs != 0 {
                return Err(Errno::EBUSY);
            }
            vgic.nr_irqs = n;
        }
        KVM_DEV_ARM_VGIC_GRP_CTRL
            if a.attr == u64::from(KVM_DEV_ARM_VGIC_CTRL_INIT) && !vgic.initialized =>
        {
            vgic.init();
        }
        _ => {}
    }
    Ok(())
}

/// VM attributes (`kvm_vm_set_attr`/`kvm_vm_has_attr`): `KVM_ARM_VM_SMCCC_CTRL`/`KVM_ARM_VM_SMCCC_FILTER`
/// (`kvm_smccc_set_filter`, arch/arm64/kvm/hypercalls.c); other groups → -ENXIO.
pub(crate) fn vm_device_attr(
    vm: &Arc<Vm>,
    cmd: u64,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    let a: kvm_device_attr = arg.read_struct()?;
    if a.group != KVM_ARM_VM_SMCCC_CTRL || a.attr != KVM_ARM_VM_SMCCC_FILTER {
        return Err(Errno::ENXIO);
    }
    if cmd == KVM_HAS_DEVICE_ATTR {
        return Ok(Outcome::Value(0));
    }
    let f: kvm_smccc_filter = arg.user().read_struct(a.addr)?;
    let (base, nr, action) = (f.base, f.nr_functions, f.action);
    if f.pad.iter().any(|&p| p != 0) || nr == 0 {
        return Err(Errno::EINVAL);
    }
    let end = base.checked_add(nr - 1).ok_or(Errno::EINVAL)?;
    if action > KVM_SMCCC_FILTER_FWD_TO_USER {
        return Err(Errno::EINVAL);
    }
    let mut inner = vm.lock();
    if inner.has_ran_once {
        return Err(Errno::EBUSY);
    }
    if inner
        .smccc_filter
        .iter()
        .any(|r| base <= r.end && r.start <= end)
    {
        return Err(Errno::EEXIST);
    }
    inner.smccc_filter.push(FilterRange {
        start: base,
        end,
        action,
    });
    Ok(Outcome::Value(0))
}
