//! v10 `KVM_ENABLE_CAP(KVM_CAP_ARM_RME)` actions (v10 06/43 uAPI; `kvm_realm_enable_cap` of rme.c, code as
//! in v9/v8 which the v10 changelogs leave unchanged): CONFIG_REALM, CREATE_REALM, INIT_RIPAS_REALM,
//! POPULATE_REALM, ACTIVATE_REALM. All run under `kvm->lock`.

use realm_rmi::feature_register_0::{HASH_SHA_256, HASH_SHA_512};
use realm_uapi::v10::{
    ARM_RME_CONFIG_HASH_ALGO, ARM_RME_CONFIG_HASH_ALGO_SHA256, ARM_RME_CONFIG_HASH_ALGO_SHA512,
    ARM_RME_CONFIG_RPV, KVM_ARM_VCPU_REC, KVM_CAP_ARM_RME_ACTIVATE_REALM,
    KVM_CAP_ARM_RME_CONFIG_REALM, KVM_CAP_ARM_RME_CREATE_REALM, KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
    KVM_CAP_ARM_RME_POPULATE_REALM, arm_rme_config, arm_rme_init_ripas,
};

use crate::user_memory::UserMemory;
use crate::vm::Vm;
use crate::{Errno, lock};

use super::KvmRealmState;

/// `kvm_realm_enable_cap()`: non-realm VM → -EINVAL; unknown action → -EINVAL; action structs are copied
/// from `args[1]` (unmapped → -EFAULT).
pub(crate) fn enable_cap(vm: &Vm, args: [u64; 4], user: &UserMemory) -> Result<(), Errno> {
    if !vm.is_realm {
        return Err(Errno::EINVAL);
    }
    // Actions are small numbers; anything beyond 32 bits is unknown too.
    let Ok(action) = u32::try_from(args[0]) else {
        return Err(Errno::EINVAL);
    };
    match action {
        KVM_CAP_ARM_RME_CONFIG_REALM => config_realm(vm, args[1], user),
        KVM_CAP_ARM_RME_CREATE_REALM => create_realm(vm),
        KVM_CAP_ARM_RME_INIT_RIPAS_REALM => {
            let r: arm_rme_init_ripas = user.read_struct(args[1])?;
            init_ripas(vm, r.base, r.size)
        }
        KVM_CAP_ARM_RME_POPULATE_REALM => {
            let p = user.read_struct(args[1])?;
            let inner = vm.lock();
            super::populate::v10_populate(vm, &inner, &p, user)
        }
        KVM_CAP_ARM_RME_ACTIVATE_REALM => activate(vm),
        _ => Err(Errno::EINVAL),
    }
}

/// `kvm_rme_config_realm()`: after creation → -EBUSY; then copy `struct arm_rme_config` (-EFAULT).
/// RPV: 64 bytes copied, no validation. HASH_ALGO: SHA-256/512 only if the RMM's FEATURES advertise it,
/// else -EINVAL; unknown `cfg` → -EINVAL.
fn config_realm(vm: &Vm, uaddr: u64, user: &UserMemory) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if inner.realm.state != KvmRealmState::None {
        return Err(Errno::EBUSY);
    }
    let cfg: arm_rme_config = user.read_struct(uaddr)?;
    let feat = vm.shared.rmm_feat_reg0.unwrap_or(0);
    match cfg.cfg {
        ARM_RME_CONFIG_RPV => {
            inner.realm.rpv = cfg.rpv();
            Ok(())
        }
        ARM_RME_CONFIG_HASH_ALGO => {
            let algo = cfg.hash_algo();
            let ok = match algo {
                ARM_RME_CONFIG_HASH_ALGO_SHA256 => HASH_SHA_256.get(feat) != 0,
                ARM_RME_CONFIG_HASH_ALGO_SHA512 => HASH_SHA_512.get(feat) != 0,
                _ => false,
            };
            if !ok {
                return Err(Errno::EINVAL);
            }
            inner.realm.hash_algo = u8::try_from(algo).map_err(|_| Errno::EINVAL)?;
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `kvm_create_realm()`: already created → -EEXIST; reserve a VMID and `realm_create_rd()` (-EINVAL,
/// -ENOMEM, -ENXIO as there). NONE → NEW.
fn create_realm(vm: &Vm) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if inner.realm.state != KvmRealmState::None {
        return Err(Errno::EEXIST);
    }
    super::create_rd(vm, &mut inner)
}

/// `kvm_init_ipa_range_realm()`: `base + size` wraps → -EINVAL; realm not NEW → -EPERM; then
/// `ripas_change(RIPAS_INIT)` without v12's skip hack (an entry already at the map level → -EINVAL).
fn init_ripas(vm: &Vm, base: u64, size: u64) -> Result<(), Errno> {
    let end = base.checked_add(size).ok_or(Errno::EINVAL)?;
    let inner = vm.lock();
    if inner.realm.state != KvmRealmState::New {
        return Err(Errno::EPERM);
    }
    let ctx = vm.ctx(&inner).ok_or(Errno::ENXIO)?;
    ctx.ripas_init(base, end, false)
}

/// `kvm_activate_realm()` (v10): realm not NEW → -EINVAL; `RMI_REALM_ACTIVATE` failure → -ENXIO. NEW →
/// ACTIVE.
fn activate(vm: &Vm) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if inner.realm.state != KvmRealmState::New {
        return Err(Errno::EINVAL);
    }
    let rd = inner.realm.rd.ok_or(Errno::ENXIO)?;
    if !vm.shared.cmds().realm_activate(rd).ok() {
        return Err(Errno::ENXIO);
    }
    inner.realm.state = KvmRealmState::Active;
    Ok(())
}

/// `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)` (v10 12/43): non-realm or no REC feature → -EINVAL; already
/// finalized → -EBUSY (from `kvm_create_rec`); realm not NEW → -ENOENT; then `kvm_create_rec`.
pub(crate) fn finalize_rec(vm: &Vm, vcpu: &crate::vcpu::Vcpu) -> Result<(), Errno> {
    if !vm.is_realm || !lock(&vcpu.arch).has_feature(KVM_ARM_VCPU_REC) {
        return Err(Errno::EINVAL);
    }
    let inner = vm.lock();
    super::rec::create(vm, &inner, vcpu)
}
