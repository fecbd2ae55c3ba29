//! ABI v10's realm actions: `KVM_ENABLE_CAP(KVM_CAP_ARM_RME, action, &arg)` for CONFIG_REALM (hash algorithm,
//! RPV), CREATE_REALM, INIT_RIPAS_REALM, POPULATE_REALM and ACTIVATE_REALM, and
//! `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)` (Linux CCA series v10, `arch/arm64/kvm/rme.c`).
#![forbid(unsafe_code)]

use realm_uapi::arm64 as k;
use realm_uapi::v10;
use zerocopy::{FromZeros, IntoBytes};

use super::{Built, load_error};
use crate::backend::{BackendError, Ioctl, IoctlArg};
use crate::config::HashAlgorithm;
use crate::layout::IpaRange;

/// `KVM_ENABLE_CAP(KVM_CAP_ARM_RME, action, &arg)`; the argument goes in the scratch page.
pub(super) fn rme_action(
    b: &Built<'_>,
    action: u32,
    arg: Option<&[u8]>,
    what: Ioctl,
) -> Result<(), BackendError> {
    let ptr = match arg {
        Some(bytes) => b.scratch_write(64, bytes)?,
        None => 0,
    };
    let mut cap = k::kvm_enable_cap::new_zeroed();
    cap.cap = v10::KVM_CAP_ARM_RME;
    cap.args[0] = u64::from(action);
    cap.args[1] = ptr;
    b.ioctl(
        b.vm_fd,
        k::KVM_ENABLE_CAP,
        IoctlArg::Buf(cap.as_mut_bytes()),
        || what,
    )?;
    Ok(())
}

/// `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_HASH_ALGO)`.
pub(super) fn configure_hash(b: &Built<'_>, algo: HashAlgorithm) -> Result<(), BackendError> {
    let h = match algo {
        HashAlgorithm::Sha256 => v10::ARM_RME_CONFIG_HASH_ALGO_SHA256,
        HashAlgorithm::Sha512 => v10::ARM_RME_CONFIG_HASH_ALGO_SHA512,
    };
    let cfg = v10::arm_rme_config::with_hash_algo(h);
    rme_action(
        b,
        v10::KVM_CAP_ARM_RME_CONFIG_REALM,
        Some(cfg.as_bytes()),
        Ioctl::RmeConfigHash { algo },
    )
}

/// `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_RPV)` with the 64 bytes `rpv` (hex).
pub(super) fn configure_rpv(b: &Built<'_>, rpv: &str) -> Result<(), BackendError> {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(rpv, &mut bytes).map_err(|e| load_error("personalization value", e))?;
    let cfg = v10::arm_rme_config::with_rpv(&bytes);
    rme_action(
        b,
        v10::KVM_CAP_ARM_RME_CONFIG_REALM,
        Some(cfg.as_bytes()),
        Ioctl::RmeConfigRpv,
    )
}

/// `KVM_CAP_ARM_RME_CREATE_REALM`.
pub(super) fn create_realm(b: &Built<'_>) -> Result<(), BackendError> {
    rme_action(
        b,
        v10::KVM_CAP_ARM_RME_CREATE_REALM,
        None,
        Ioctl::RmeCreateRealm,
    )
}

/// `KVM_CAP_ARM_RME_INIT_RIPAS_REALM` over `range`.
pub(super) fn init_ripas(b: &Built<'_>, range: IpaRange) -> Result<(), BackendError> {
    let arg = v10::arm_rme_init_ripas {
        base: range.base,
        size: range.size,
        reserved: [0; 2],
    };
    rme_action(
        b,
        v10::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
        Some(arg.as_bytes()),
        Ioctl::RmeInitRipas { range },
    )
}

/// `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`: creates the vCPU's REC.
pub(super) fn finalize_rec(b: &Built<'_>, vcpu: u32) -> Result<(), BackendError> {
    let mut what = v10::KVM_ARM_VCPU_REC.to_le_bytes();
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_ARM_VCPU_FINALIZE,
        IoctlArg::Buf(&mut what),
        || Ioctl::FinalizeRec { vcpu },
    )?;
    Ok(())
}

/// `KVM_CAP_ARM_RME_ACTIVATE_REALM`.
pub(super) fn activate_realm(b: &Built<'_>) -> Result<(), BackendError> {
    rme_action(
        b,
        v10::KVM_CAP_ARM_RME_ACTIVATE_REALM,
        None,
        Ioctl::RmeActivate,
    )
}
