//! `struct kvm_run`: the page a vCPU fd maps, as an arm64 (or any 64-bit) kernel lays it out.
//!
//! `include/uapi/linux/kvm.h`: a 32-byte header (request/exit fields), a 256-byte anonymous union of per-exit
//! structs at offset 32, `kvm_valid_regs`/`kvm_dirty_regs` at 288/296, and the 2048-byte `s` union (arm64's
//! `struct kvm_sync_regs` padded) at 304; 2352 bytes in all. The exit union is kept as bytes ([`kvm_run::exit`])
//! with typed, safe views of the members a realm VMM sees ([`kvm_run::exit_as`], [`kvm_run::set_exit`]),
//! because reading a Rust `union` is unsafe and this crate forbids unsafe code.

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::catalog::{Field, Item, Kind, layout};

/// Size of the exit union (`char padding[256]` fixes it).
pub const KVM_RUN_EXIT_SIZE: usize = 256;
/// Size of the `s` union (`SYNC_REGS_SIZE_BYTES`).
pub const SYNC_REGS_SIZE_BYTES: usize = 2048;

/// `struct kvm_run` (2352 bytes; the vCPU mmap is `KVM_GET_VCPU_MMAP_SIZE` bytes, at least this).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run {
    /// In: (x86 only).
    pub request_interrupt_window: u8,
    /// In: non-zero makes `KVM_RUN` return `-EINTR` without entering the guest. (Kernel code spells it
    /// `immediate_exit__unsafe` through `HINT_UNSAFE_IN_KVM`; the userspace name is unchanged.)
    pub immediate_exit: u8,
    /// Padding.
    pub padding1: [u8; 6],
    /// Out: `KVM_EXIT_*`.
    pub exit_reason: u32,
    /// Out: (x86 only).
    pub ready_for_interrupt_injection: u8,
    /// Out: (x86 only).
    pub if_flag: u8,
    /// Out: `KVM_RUN_*` flags.
    pub flags: u16,
    /// In/out: (x86 only).
    pub cr8: u64,
    /// In/out: (x86 only).
    pub apic_base: u64,
    /// The exit union's bytes (`mmio`, `hypercall`, `system_event`, `memory_fault`, … all start here).
    pub exit: [u8; KVM_RUN_EXIT_SIZE],
    /// Sync-regs valid mask.
    pub kvm_valid_regs: u64,
    /// Sync-regs dirty mask.
    pub kvm_dirty_regs: u64,
    /// The `s` union (arm64: `struct kvm_sync_regs { __u64 device_irq_level; }` padded to 2048).
    pub s: [u8; SYNC_REGS_SIZE_BYTES],
}

/// Offset of the exit union in `kvm_run`.
pub const KVM_RUN_EXIT_OFFSET: usize = offset_of!(kvm_run, exit);

mod sealed {
    /// Only this module's member structs are exit-union members.
    pub trait Sealed {}
}

/// A struct that is one member of `kvm_run`'s exit union (sealed: the members below, each at most 256 bytes).
pub trait KvmRunExit: sealed::Sealed + FromBytes + IntoBytes + Immutable + KnownLayout {}

impl kvm_run {
    /// Read the exit union as member `T` (its first `size_of::<T>()` bytes).
    #[must_use]
    pub fn exit_as<T: KvmRunExit>(&self) -> T {
        match T::read_from_prefix(&self.exit) {
            Ok((value, _)) => value,
            // Every member is at most KVM_RUN_EXIT_SIZE bytes (asserted at compile time below).
            Err(_) => T::new_zeroed(),
        }
    }

    /// Write member `T` into the exit union (the rest of the union is left as it is, as in C).
    pub fn set_exit<T: KvmRunExit>(&mut self, value: &T) {
        let bytes = value.as_bytes();
        if let Some(dst) = self.exit.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

/// `kvm_run.mmio` (`KVM_EXIT_MMIO`): an emulated access in the shared (unprotected) IPA half.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_mmio {
    /// Guest physical address.
    pub phys_addr: u64,
    /// Data (write: from the guest; read: filled by the VMM).
    pub data: [u8; 8],
    /// Access size in bytes.
    pub len: u32,
    /// Non-zero for a write.
    pub is_write: u8,
    /// Padding (implicit in C).
    pub pad: [u8; 3],
}
impl sealed::Sealed for kvm_run_mmio {}
impl KvmRunExit for kvm_run_mmio {}

/// `kvm_run.hypercall` (`KVM_EXIT_HYPERCALL`): an SMCCC call forwarded to userspace.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_hypercall {
    /// The SMCCC function id.
    pub nr: u64,
    /// Arguments (arm64 leaves them in the vCPU registers; these are zero).
    pub args: [u64; 6],
    /// Return value.
    pub ret: u64,
    /// `KVM_HYPERCALL_EXIT_*` (a union with x86's `__u32 longmode` in C).
    pub flags: u64,
}
impl sealed::Sealed for kvm_run_hypercall {}
impl KvmRunExit for kvm_run_hypercall {}

/// `kvm_run.system_event` (`KVM_EXIT_SYSTEM_EVENT`): PSCI SYSTEM_OFF / RESET / SUSPEND …
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_system_event {
    /// `KVM_SYSTEM_EVENT_*`.
    pub r#type: u32,
    /// Valid entries of `data`.
    pub ndata: u32,
    /// Event data; `data[0]` is the C union's `flags`.
    pub data: [u64; 16],
}
impl sealed::Sealed for kvm_run_system_event {}
impl KvmRunExit for kvm_run_system_event {}

/// `kvm_run.memory_fault` (`KVM_EXIT_MEMORY_FAULT`, with `KVM_RUN` returning `-EFAULT`): a private/shared
/// conversion request, e.g. a realm's RIPAS change (v12 and later).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_memory_fault {
    /// `KVM_MEMORY_EXIT_FLAG_PRIVATE` when the guest wants the range private.
    pub flags: u64,
    /// First guest physical address.
    pub gpa: u64,
    /// Bytes.
    pub size: u64,
}
impl sealed::Sealed for kvm_run_memory_fault {}
impl KvmRunExit for kvm_run_memory_fault {}

/// `kvm_run.fail_entry` (`KVM_EXIT_FAIL_ENTRY`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_fail_entry {
    /// Architecture-specific reason (arm64: the ESR-like code).
    pub hardware_entry_failure_reason: u64,
    /// The physical CPU.
    pub cpu: u32,
    /// Padding (implicit in C).
    pub pad: u32,
}
impl sealed::Sealed for kvm_run_fail_entry {}
impl KvmRunExit for kvm_run_fail_entry {}

/// `kvm_run.internal` (`KVM_EXIT_INTERNAL_ERROR`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_internal {
    /// `KVM_INTERNAL_ERROR_*`.
    pub suberror: u32,
    /// Valid entries of `data`.
    pub ndata: u32,
    /// Data.
    pub data: [u64; 16],
}
impl sealed::Sealed for kvm_run_internal {}
impl KvmRunExit for kvm_run_internal {}

/// `kvm_run.arm_nisv` (`KVM_EXIT_ARM_NISV`): a data abort without valid syndrome, if userspace opted in.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_run_arm_nisv {
    /// ESR_EL2 ISS bits.
    pub esr_iss: u64,
    /// Faulting IPA.
    pub fault_ipa: u64,
}
impl sealed::Sealed for kvm_run_arm_nisv {}
impl KvmRunExit for kvm_run_arm_nisv {}

const _: () = {
    assert!(size_of::<kvm_run_mmio>() == 24);
    assert!(size_of::<kvm_run_hypercall>() == 72);
    assert!(size_of::<kvm_run_system_event>() == 136);
    assert!(offset_of!(kvm_run_system_event, r#type) == 0);
    assert!(size_of::<kvm_run_memory_fault>() == 24);
    assert!(size_of::<kvm_run_fail_entry>() == 16);
    assert!(size_of::<kvm_run_internal>() == 136);
    assert!(size_of::<kvm_run_arm_nisv>() == 16);
};

/// `kvm_run` field of an exit-union member: `KVM_RUN_EXIT_OFFSET + offset_of!(T, f)`.
macro_rules! member {
    ($name:literal, $t:ty, $f:ident) => {
        Field {
            name: $name,
            offset: KVM_RUN_EXIT_OFFSET + offset_of!($t, $f),
        }
    };
}

/// `sizeof` of an exit-union member, checked against `sizeof(((struct kvm_run *)0)->member)`.
macro_rules! member_size {
    ($member:literal, $t:ty) => {
        Item::expr(
            concat!("sizeof(kvm_run.", $member, ")"),
            concat!("sizeof(((struct kvm_run *)0)->", $member, ")"),
            Kind::Constant,
            size_of::<$t>() as u64,
        )
    };
}

/// The `kvm_run` items of the arm64 catalog section.
pub(super) const CATALOG: [Item; 10] = [
    layout!(kvm_run, "struct kvm_run", size 2352, {
        request_interrupt_window @ 0, immediate_exit @ 1, padding1 @ 2, exit_reason @ 8,
        ready_for_interrupt_injection @ 12, if_flag @ 13, flags @ 14, cr8 @ 16, apic_base @ 24,
        kvm_valid_regs @ 288, kvm_dirty_regs @ 296, s @ 304,
    }, extra [
        member!("mmio", kvm_run_mmio, phys_addr),
        member!("mmio.phys_addr", kvm_run_mmio, phys_addr),
        member!("mmio.data", kvm_run_mmio, data),
        member!("mmio.len", kvm_run_mmio, len),
        member!("mmio.is_write", kvm_run_mmio, is_write),
        member!("hypercall.nr", kvm_run_hypercall, nr),
        member!("hypercall.args", kvm_run_hypercall, args),
        member!("hypercall.ret", kvm_run_hypercall, ret),
        member!("hypercall.flags", kvm_run_hypercall, flags),
        member!("system_event.type", kvm_run_system_event, r#type),
        member!("system_event.ndata", kvm_run_system_event, ndata),
        member!("system_event.flags", kvm_run_system_event, data),
        member!("system_event.data", kvm_run_system_event, data),
        member!("memory_fault.flags", kvm_run_memory_fault, flags),
        member!("memory_fault.gpa", kvm_run_memory_fault, gpa),
        member!("memory_fault.size", kvm_run_memory_fault, size),
        member!("fail_entry.hardware_entry_failure_reason", kvm_run_fail_entry, hardware_entry_failure_reason),
        member!("fail_entry.cpu", kvm_run_fail_entry, cpu),
        member!("internal.suberror", kvm_run_internal, suberror),
        member!("internal.ndata", kvm_run_internal, ndata),
        member!("internal.data", kvm_run_internal, data),
        member!("arm_nisv.esr_iss", kvm_run_arm_nisv, esr_iss),
        member!("arm_nisv.fault_ipa", kvm_run_arm_nisv, fault_ipa),
    ]),
    member_size!("mmio", kvm_run_mmio),
    member_size!("hypercall", kvm_run_hypercall),
    member_size!("system_event", kvm_run_system_event),
    member_size!("memory_fault", kvm_run_memory_fault),
    member_size!("fail_entry", kvm_run_fail_entry),
    member_size!("internal", kvm_run_internal),
    member_size!("arm_nisv", kvm_run_arm_nisv),
    Item::expr(
        "sizeof(kvm_run.exit)",
        "sizeof(((struct kvm_run *)0)->padding)",
        Kind::Constant,
        KVM_RUN_EXIT_SIZE as u64,
    ),
    Item::expr(
        "KVM_RUN_EXIT_OFFSET",
        "offsetof(struct kvm_run, padding)",
        Kind::Constant,
        KVM_RUN_EXIT_OFFSET as u64,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::{KVM_EXIT_MEMORY_FAULT, KVM_MEMORY_EXIT_FLAG_PRIVATE};
    use zerocopy::FromZeros as _;

    #[test]
    fn exit_views_alias_the_union() {
        let mut run = kvm_run::new_zeroed();
        run.exit_reason = KVM_EXIT_MEMORY_FAULT;
        run.set_exit(&kvm_run_memory_fault {
            flags: u64::from(KVM_MEMORY_EXIT_FLAG_PRIVATE),
            gpa: 0x8000_0000,
            size: 0x20_0000,
        });
        let bytes = run.as_bytes();
        assert_eq!(&bytes[8..12], &39u32.to_ne_bytes());
        assert_eq!(&bytes[32..40], &8u64.to_ne_bytes());
        assert_eq!(&bytes[40..48], &0x8000_0000u64.to_ne_bytes());
        let mf: kvm_run_memory_fault = run.exit_as();
        assert_eq!(mf.size, 0x20_0000);
        let mmio: kvm_run_mmio = run.exit_as();
        assert_eq!(mmio.phys_addr, 8);
    }
}
