//! Devices and VM attributes: the vGIC (`KVM_CREATE_DEVICE`, `KVM_CREATE_IRQCHIP`) and the SMCCC filter
//! (`KVM_SET_DEVICE_ATTR` on the VM fd, arch/arm64/kvm/hypercalls.c).

use std::sync::Arc;

use crate::Errno;
use crate::abi::{self, u32_at, u64_at};
use crate::fd::{Arg, File, Outcome};
use crate::vm::{FilterRange, Vm};

/// A device from `KVM_CREATE_DEVICE` (the vGIC, `kvm-arm-vgic-v3`/`-v2`).
#[derive(Debug)]
pub(crate) struct DeviceFile {
    /// The device pins its VM.
    _vm: Arc<Vm>,
    /// `KVM_DEV_TYPE_ARM_VGIC_V3` or `_V2`.
    _ty: u32,
}

/// `kvm_vgic_create()`: one vGIC per VM (-EEXIST), none once a vCPU has run (-EBUSY). Realms reject
/// GICv2 (v12; errno -EINVAL **[uncertain]**).
pub(crate) fn create_vgic(vm: &Arc<Vm>, ty: u32) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if vm.is_realm && ty != abi::KVM_DEV_TYPE_ARM_VGIC_V3 {
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
    let mut b = arg.read(abi::size::CREATE_DEVICE)?;
    let (ty, flags) = (u32_at(&b, 0), u32_at(&b, 8));
    if ty != abi::KVM_DEV_TYPE_ARM_VGIC_V2 && ty != abi::KVM_DEV_TYPE_ARM_VGIC_V3 {
        return Err(Errno::ENODEV);
    }
    if flags & abi::KVM_CREATE_DEVICE_TEST != 0 {
        return Ok(Outcome::Value(0));
    }
    create_vgic(vm, ty)?;
    // The fd is written back into the struct; install it first through a placeholder-free path:
    // the caller installs the new file and we cannot know the number yet, so pre-install here.
    let file = File::Device(Arc::new(DeviceFile {
        _vm: Arc::clone(vm),
        _ty: ty,
    }));
    let fd = arg.install(file)?;
    abi::put_u32(&mut b, 4, fd.0.cast_unsigned());
    arg.write(&b)?;
    Ok(Outcome::Value(0))
}

/// Device-fd ioctls (`kvm_device_ioctl`): the vGIC's attributes are accepted and not modelled; any other
/// request → -ENOTTY (the vGIC has no `ioctl` op).
pub(crate) fn device_ioctl(
    _dev: &Arc<DeviceFile>,
    cmd: u32,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    match cmd {
        abi::KVM_SET_DEVICE_ATTR | abi::KVM_GET_DEVICE_ATTR | abi::KVM_HAS_DEVICE_ATTR => {
            arg.read(abi::size::DEVICE_ATTR)?;
            Ok(Outcome::Value(0))
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// VM attributes (`kvm_vm_set_attr`/`kvm_vm_has_attr`): `KVM_ARM_VM_SMCCC_CTRL`/`KVM_ARM_VM_SMCCC_FILTER`
/// (`kvm_smccc_set_filter`, arch/arm64/kvm/hypercalls.c); other groups → -ENXIO.
pub(crate) fn vm_device_attr(
    vm: &Arc<Vm>,
    cmd: u32,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    let b = arg.read(abi::size::DEVICE_ATTR)?;
    let (group, attr, addr) = (u32_at(&b, 4), u64_at(&b, 8), u64_at(&b, 16));
    if group != abi::KVM_ARM_VM_SMCCC_CTRL || attr != abi::KVM_ARM_VM_SMCCC_FILTER {
        return Err(Errno::ENXIO);
    }
    if cmd == abi::KVM_HAS_DEVICE_ATTR {
        return Ok(Outcome::Value(0));
    }
    let mut f = [0u8; 24];
    arg.user().read(addr, &mut f)?;
    let (base, nr, action) = (u32_at(&f, 0), u32_at(&f, 4), f[8]);
    if f[9..].iter().any(|&p| p != 0) || nr == 0 {
        return Err(Errno::EINVAL);
    }
    let end = base.checked_add(nr - 1).ok_or(Errno::EINVAL)?;
    if action > abi::KVM_SMCCC_FILTER_FWD_TO_USER {
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
