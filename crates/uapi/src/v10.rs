//! ABI v10: "arm64: Support for Arm CCA in KVM" v10, 20 Aug 2025 (43 patches, RMM v1.0).
//!
//! uAPI from patch 06/43 (`<20250820145606.180644-7-steven.price@arm.com>`) and the machine type from 09/43.
//! The realm is driven through one multiplexed capability: `KVM_ENABLE_CAP(KVM_CAP_ARM_RME)` with
//! `args[0]` = an action (`KVM_CAP_ARM_RME_*_REALM`) and `args[1]` = a user pointer to the action's struct.
//! Every vCPU needs the `KVM_ARM_VCPU_REC` feature and `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`.
//!
//! Everything here exists in v10 only unless its doc says otherwise: v12 replaced the actions with implicit
//! steps and `KVM_ARM_RMI_POPULATE` (see [`crate::v12`]).

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::arm64::KVMIO;
use crate::catalog::{Field, Item, Kind, layout, num, num64};
use crate::ioctl::iow;

/// `KVM_CAP_ARM_RME` (244): realms are supported; also the `KVM_ENABLE_CAP` entry point of the actions below.
///
/// v10 only (`include/uapi/linux/kvm.h`, after `KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED` 243). Renamed
/// `KVM_CAP_ARM_RMI` and made detection-only in v12.
pub const KVM_CAP_ARM_RME: u32 = 244;

/// Action 0 of `KVM_CAP_ARM_RME`: configure the realm (`args[1]` → [`arm_rme_config`]) before it is created.
/// v10 only (`arch/arm64/include/uapi/asm/kvm.h`).
pub const KVM_CAP_ARM_RME_CONFIG_REALM: u32 = 0;
/// Action 1 of `KVM_CAP_ARM_RME`: create the realm descriptor in the RMM. v10 only.
pub const KVM_CAP_ARM_RME_CREATE_REALM: u32 = 1;
/// Action 2 of `KVM_CAP_ARM_RME`: set RIPAS RAM over a range (`args[1]` → [`arm_rme_init_ripas`]). v10 only.
pub const KVM_CAP_ARM_RME_INIT_RIPAS_REALM: u32 = 2;
/// Action 3 of `KVM_CAP_ARM_RME`: populate protected memory from the shared alias
/// (`args[1]` → [`arm_rme_populate_realm`]). v10 only.
pub const KVM_CAP_ARM_RME_POPULATE_REALM: u32 = 3;
/// Action 4 of `KVM_CAP_ARM_RME`: activate the realm (no more population, RIPAS or vCPU changes). v10 only.
pub const KVM_CAP_ARM_RME_ACTIVATE_REALM: u32 = 4;

/// [`arm_rme_config::cfg`] value: set the Realm Personalization Value. v10 only.
pub const ARM_RME_CONFIG_RPV: u32 = 0;
/// [`arm_rme_config::cfg`] value: set the measurement hash algorithm. v10 only.
pub const ARM_RME_CONFIG_HASH_ALGO: u32 = 1;
/// Hash algorithm SHA-256 (the RMI encoding, `RMI_HASH_SHA_256`). v10 only.
pub const ARM_RME_CONFIG_HASH_ALGO_SHA256: u32 = 0;
/// Hash algorithm SHA-512 (`RMI_HASH_SHA_512`). v10 only.
pub const ARM_RME_CONFIG_HASH_ALGO_SHA512: u32 = 1;
/// Size in bytes of the RPV. v10 only.
pub const ARM_RME_CONFIG_RPV_SIZE: usize = 64;

/// Size of the anonymous union of [`arm_rme_config`] (`__u8 reserved[256]` fixes it).
pub const ARM_RME_CONFIG_UNION_SIZE: usize = 256;

/// `struct arm_rme_config`: the argument of [`KVM_CAP_ARM_RME_CONFIG_REALM`]. v10 only.
///
/// In C the struct is `__u32 cfg` followed by an anonymous union of `__u8 rpv[64]` (for
/// [`ARM_RME_CONFIG_RPV`]), `__u32 hash_algo` (for [`ARM_RME_CONFIG_HASH_ALGO`]) and `__u8 reserved[256]`
/// (which fixes the size). Reading a Rust `union` field is `unsafe`, and this crate forbids unsafe code, so
/// the union is kept as its widest member, the byte array [`Self::reserved`] (offset 4, like every member),
/// and the other two members are reached through safe accessors ([`Self::rpv`], [`Self::hash_algo`] and
/// their setters) that read and write the same bytes the C members alias. `hash_algo` uses the host's byte
/// order, as the kernel does. Layout: size 260, `cfg` at 0, the union (all members) at 4.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct arm_rme_config {
    /// [`ARM_RME_CONFIG_RPV`] or [`ARM_RME_CONFIG_HASH_ALGO`].
    pub cfg: u32,
    /// The union's bytes (its `reserved[256]` member); `rpv` and `hash_algo` alias the start.
    pub reserved: [u8; ARM_RME_CONFIG_UNION_SIZE],
}

impl arm_rme_config {
    /// Offset of the union (and so of `rpv`, `hash_algo` and `reserved`) in the struct.
    pub const UNION_OFFSET: usize = offset_of!(Self, reserved);

    /// A config setting the RPV: `cfg = ARM_RME_CONFIG_RPV`, `rpv = *rpv`, the rest zero.
    #[must_use]
    pub fn with_rpv(rpv: &[u8; ARM_RME_CONFIG_RPV_SIZE]) -> Self {
        let mut c = Self::new_zeroed();
        c.cfg = ARM_RME_CONFIG_RPV;
        c.set_rpv(rpv);
        c
    }

    /// A config setting the hash algorithm: `cfg = ARM_RME_CONFIG_HASH_ALGO`, `hash_algo = algo`.
    #[must_use]
    pub fn with_hash_algo(algo: u32) -> Self {
        let mut c = Self::new_zeroed();
        c.cfg = ARM_RME_CONFIG_HASH_ALGO;
        c.set_hash_algo(algo);
        c
    }

    /// The union read as `__u8 rpv[64]`.
    #[must_use]
    pub fn rpv(&self) -> [u8; ARM_RME_CONFIG_RPV_SIZE] {
        let mut rpv = [0; ARM_RME_CONFIG_RPV_SIZE];
        rpv.copy_from_slice(&self.reserved[..ARM_RME_CONFIG_RPV_SIZE]);
        rpv
    }

    /// Write the union's `rpv` member (the first 64 bytes; the rest are left as they are, as in C).
    pub fn set_rpv(&mut self, rpv: &[u8; ARM_RME_CONFIG_RPV_SIZE]) {
        self.reserved[..ARM_RME_CONFIG_RPV_SIZE].copy_from_slice(rpv);
    }

    /// The union read as `__u32 hash_algo` (host byte order).
    #[must_use]
    pub fn hash_algo(&self) -> u32 {
        let [a, b, c, d, ..] = self.reserved;
        u32::from_ne_bytes([a, b, c, d])
    }

    /// Write the union's `hash_algo` member (the first 4 bytes, host byte order).
    pub fn set_hash_algo(&mut self, algo: u32) {
        self.reserved[..4].copy_from_slice(&algo.to_ne_bytes());
    }
}

/// [`arm_rme_populate_realm::flags`] bit 0: measure the contents (RMI `RMI_MEASURE_CONTENT`). v10 only.
pub const KVM_ARM_RME_POPULATE_FLAGS_MEASURE: u32 = 1 << 0;

/// `struct arm_rme_populate_realm`: the argument of [`KVM_CAP_ARM_RME_POPULATE_REALM`]. v10 only.
///
/// Copies `[base, base + size)` from the memslot's shared alias (there is no source pointer in v10).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct arm_rme_populate_realm {
    /// First IPA (PAGE_SIZE aligned).
    pub base: u64,
    /// Bytes (PAGE_SIZE aligned).
    pub size: u64,
    /// [`KVM_ARM_RME_POPULATE_FLAGS_MEASURE`] or 0.
    pub flags: u32,
    /// Must be zero.
    pub reserved: [u32; 3],
}

/// `struct arm_rme_init_ripas`: the argument of [`KVM_CAP_ARM_RME_INIT_RIPAS_REALM`]. v10 only.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct arm_rme_init_ripas {
    /// First IPA.
    pub base: u64,
    /// Bytes.
    pub size: u64,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// vCPU feature bit 9 of `kvm_vcpu_init.features`: this vCPU is a REC of the realm; must be set on all vCPUs
/// of a realm VM and finalized with `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`.
///
/// v10 only (`arch/arm64/include/uapi/asm/kvm.h`); removed in v12 (RECs are created at the first run).
pub const KVM_ARM_VCPU_REC: u32 = 9;

/// `struct kvm_arm_rmm_psci_complete`: the argument of [`KVM_ARM_VCPU_RMM_PSCI_COMPLETE`]. v10 only
/// (renamed `kvm_arm_rmi_psci_complete` in v12, same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_arm_rmm_psci_complete {
    /// MPIDR of the vCPU the PSCI call (CPU_ON, AFFINITY_INFO) names.
    pub target_mpidr: u64,
    /// The PSCI status to return to the caller.
    pub psci_status: u32,
    /// Must be zero.
    pub padding: [u32; 3],
}

/// `KVM_ARM_VCPU_RMM_PSCI_COMPLETE = _IOW(KVMIO, 0xd6, struct kvm_arm_rmm_psci_complete)`: vCPU ioctl telling
/// the RMM the target REC and status of a PSCI call handled by userspace. v10 only (`include/uapi/linux/kvm.h`).
pub const KVM_ARM_VCPU_RMM_PSCI_COMPLETE: u64 =
    iow(KVMIO, 0xd6, size_of::<kvm_arm_rmm_psci_complete>());

/// Shift of the machine-type field in `KVM_CREATE_VM`'s type argument. v10 (09/43), v12 (09/46), v13.
pub const KVM_VM_TYPE_ARM_SHIFT: u32 = 8;
/// Mask of the machine-type field, bits \[11:8\] (`0xfULL << KVM_VM_TYPE_ARM_SHIFT`). v10, v12, v13.
pub const KVM_VM_TYPE_ARM_MASK: u64 = 0xf << KVM_VM_TYPE_ARM_SHIFT;

/// `KVM_VM_TYPE_ARM(_type)`: place a machine type in bits \[11:8\]. v10, v12, v13.
#[expect(non_snake_case, reason = "kernel macro name")]
#[must_use]
pub const fn KVM_VM_TYPE_ARM(ty: u64) -> u64 {
    (ty << KVM_VM_TYPE_ARM_SHIFT) & KVM_VM_TYPE_ARM_MASK
}

/// `KVM_VM_TYPE_ARM_NORMAL = KVM_VM_TYPE_ARM(0)`: a normal (non-realm) VM. v10, v12, v13.
pub const KVM_VM_TYPE_ARM_NORMAL: u64 = KVM_VM_TYPE_ARM(0);
/// `KVM_VM_TYPE_ARM_REALM = KVM_VM_TYPE_ARM(1)` = 0x100: a realm VM. v10, v12, v13 (v14 moved it to bit 30).
pub const KVM_VM_TYPE_ARM_REALM: u64 = KVM_VM_TYPE_ARM(1);

/// The machine-type items shared by v10, v12 and v13 (same text in each posting).
pub(crate) const VM_TYPE_BITS_11_8: [Item; 5] = [
    num!(VmType, KVM_VM_TYPE_ARM_SHIFT),
    num64!(VmType, KVM_VM_TYPE_ARM_MASK),
    Item::expr(
        "KVM_VM_TYPE_ARM(2)",
        "KVM_VM_TYPE_ARM(2)",
        Kind::VmType,
        KVM_VM_TYPE_ARM(2),
    ),
    num64!(VmType, KVM_VM_TYPE_ARM_NORMAL),
    num64!(VmType, KVM_VM_TYPE_ARM_REALM),
];

/// Every v10 item (see [`crate::catalog`]).
pub(crate) const CATALOG: &[Item] = &[
    num!(Capability, KVM_CAP_ARM_RME),
    VM_TYPE_BITS_11_8[0],
    VM_TYPE_BITS_11_8[1],
    VM_TYPE_BITS_11_8[2],
    VM_TYPE_BITS_11_8[3],
    VM_TYPE_BITS_11_8[4],
    num64!(Request, KVM_ARM_VCPU_RMM_PSCI_COMPLETE),
    num!(Constant, KVM_CAP_ARM_RME_CONFIG_REALM),
    num!(Constant, KVM_CAP_ARM_RME_CREATE_REALM),
    num!(Constant, KVM_CAP_ARM_RME_INIT_RIPAS_REALM),
    num!(Constant, KVM_CAP_ARM_RME_POPULATE_REALM),
    num!(Constant, KVM_CAP_ARM_RME_ACTIVATE_REALM),
    num!(Constant, ARM_RME_CONFIG_RPV),
    num!(Constant, ARM_RME_CONFIG_HASH_ALGO),
    num!(Constant, ARM_RME_CONFIG_HASH_ALGO_SHA256),
    num!(Constant, ARM_RME_CONFIG_HASH_ALGO_SHA512),
    Item::number(
        "ARM_RME_CONFIG_RPV_SIZE",
        Kind::Constant,
        ARM_RME_CONFIG_RPV_SIZE as u64,
    ),
    num!(Constant, KVM_ARM_RME_POPULATE_FLAGS_MEASURE),
    num!(Constant, KVM_ARM_VCPU_REC),
    layout!(arm_rme_config, "struct arm_rme_config", size 260, { cfg @ 0, reserved @ 4 }, extra [
        Field { name: "rpv", offset: arm_rme_config::UNION_OFFSET },
        Field { name: "hash_algo", offset: arm_rme_config::UNION_OFFSET },
    ]),
    layout!(arm_rme_populate_realm, "struct arm_rme_populate_realm", size 32, {
        base @ 0, size @ 8, flags @ 16, reserved @ 20,
    }),
    layout!(arm_rme_init_ripas, "struct arm_rme_init_ripas", size 32, { base @ 0, size @ 8, reserved @ 16 }),
    layout!(kvm_arm_rmm_psci_complete, "struct kvm_arm_rmm_psci_complete", size 24, {
        target_mpidr @ 0, psci_status @ 8, padding @ 12,
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rme_config_accessors_alias_the_union() {
        let mut rpv = [0u8; 64];
        for (i, b) in rpv.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap_or(0) ^ 0x5a;
        }
        let c = arm_rme_config::with_rpv(&rpv);
        assert_eq!(c.cfg, ARM_RME_CONFIG_RPV);
        assert_eq!(c.rpv(), rpv);
        assert_eq!(&c.as_bytes()[4..68], &rpv[..]);
        assert!(c.as_bytes()[68..].iter().all(|&b| b == 0));

        let h = arm_rme_config::with_hash_algo(ARM_RME_CONFIG_HASH_ALGO_SHA512);
        assert_eq!(h.cfg, ARM_RME_CONFIG_HASH_ALGO);
        assert_eq!(h.hash_algo(), 1);
        assert_eq!(&h.as_bytes()[4..8], &1u32.to_ne_bytes());
        assert_eq!(h.as_bytes().len(), 260);
    }

    #[test]
    fn rme_config_round_trips_through_bytes() {
        let mut bytes = [0u8; 260];
        bytes[..4].copy_from_slice(&ARM_RME_CONFIG_HASH_ALGO.to_ne_bytes());
        bytes[4..8].copy_from_slice(&7u32.to_ne_bytes());
        let c = arm_rme_config::read_from_bytes(&bytes).expect("260 bytes");
        assert_eq!(c.cfg, ARM_RME_CONFIG_HASH_ALGO);
        assert_eq!(c.hash_algo(), 7);
        assert_eq!(c.as_bytes(), &bytes[..]);
    }

    #[test]
    fn vm_type_realm_is_bits_11_8() {
        assert_eq!(KVM_VM_TYPE_ARM_REALM, 0x100);
        assert_eq!(KVM_VM_TYPE_ARM_MASK, 0xf00);
        assert_eq!(KVM_VM_TYPE_ARM(0x1f), 0xf00);
    }
}
