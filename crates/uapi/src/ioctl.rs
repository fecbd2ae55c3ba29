//! The Linux `_IOC` request-number encoding (`include/uapi/asm-generic/ioctl.h`, used by arm64 and x86_64).
//!
//! A request number packs four fields into 32 bits:
//!
//! | bits    | field | meaning |
//! |---------|-------|---------|
//! | \[7:0\]   | nr    | command number within the type |
//! | \[15:8\]  | type  | the driver's magic (`KVMIO` = 0xAE for KVM) |
//! | \[29:16\] | size  | `sizeof` the argument (14 bits) |
//! | \[31:30\] | dir   | [`IOC_NONE`], [`IOC_WRITE`] (user → kernel), [`IOC_READ`] (kernel → user), or both |
//!
//! Request numbers are `u64` here (the `unsigned long` of `ioctl(2)` on LP64). The kernel's `ioctl` syscall
//! takes `unsigned int cmd`, so only the low 32 bits are meaningful; the decoders look at those bits only,
//! exactly as the kernel does (see [`cmd`]).
//!
//! The encoders are `const fn`, so every request number in this crate is computed, not written as a literal:
//! `iow(KVMIO, 0xd7, size_of::<kvm_arm_rmi_populate>())` is `0x4020_aed7`.

/// Bits of the `nr` field (`_IOC_NRBITS`).
pub const IOC_NRBITS: u32 = 8;
/// Bits of the `type` field (`_IOC_TYPEBITS`).
pub const IOC_TYPEBITS: u32 = 8;
/// Bits of the `size` field (`_IOC_SIZEBITS`, asm-generic value used by arm64 and x86_64).
pub const IOC_SIZEBITS: u32 = 14;
/// Bits of the `dir` field (`_IOC_DIRBITS`).
pub const IOC_DIRBITS: u32 = 2;

/// Shift of the `nr` field (`_IOC_NRSHIFT`).
pub const IOC_NRSHIFT: u32 = 0;
/// Shift of the `type` field (`_IOC_TYPESHIFT`).
pub const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
/// Shift of the `size` field (`_IOC_SIZESHIFT`).
pub const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
/// Shift of the `dir` field (`_IOC_DIRSHIFT`).
pub const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;

/// Mask of the `nr` field after shifting (`_IOC_NRMASK`).
pub const IOC_NRMASK: u32 = (1 << IOC_NRBITS) - 1;
/// Mask of the `type` field after shifting (`_IOC_TYPEMASK`).
pub const IOC_TYPEMASK: u32 = (1 << IOC_TYPEBITS) - 1;
/// Mask of the `size` field after shifting (`_IOC_SIZEMASK`).
pub const IOC_SIZEMASK: u32 = (1 << IOC_SIZEBITS) - 1;
/// Mask of the `dir` field after shifting (`_IOC_DIRMASK`).
pub const IOC_DIRMASK: u32 = (1 << IOC_DIRBITS) - 1;

/// No data transfer (`_IOC_NONE`).
pub const IOC_NONE: u32 = 0;
/// Userspace writes, the kernel reads the argument (`_IOC_WRITE`).
pub const IOC_WRITE: u32 = 1;
/// The kernel writes, userspace reads the argument (`_IOC_READ`).
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`.
///
/// Fields wider than their bit range are a programming error in a `const` context: the assertion fires at
/// compile time for every request number of this crate. (The C macro silently truncates instead.)
#[must_use]
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u64 {
    assert!(dir <= IOC_DIRMASK, "_IOC dir out of range");
    assert!(ty <= IOC_TYPEMASK, "_IOC type out of range");
    assert!(nr <= IOC_NRMASK, "_IOC nr out of range");
    assert!(size <= IOC_SIZEMASK as usize, "_IOC size out of range");
    // `size` was just checked to fit in 14 bits, so widening it through u64 loses nothing.
    let size = size as u64;
    ((dir as u64) << IOC_DIRSHIFT)
        | ((ty as u64) << IOC_TYPESHIFT)
        | ((nr as u64) << IOC_NRSHIFT)
        | (size << IOC_SIZESHIFT)
}

/// `_IO(type, nr)`: a request without an argument struct.
#[must_use]
pub const fn io(ty: u32, nr: u32) -> u64 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, T)` with `size = sizeof(T)`: the kernel writes the argument.
#[must_use]
pub const fn ior(ty: u32, nr: u32, size: usize) -> u64 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(type, nr, T)` with `size = sizeof(T)`: the kernel reads the argument.
#[must_use]
pub const fn iow(ty: u32, nr: u32, size: usize) -> u64 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, T)` with `size = sizeof(T)`: the kernel reads and writes the argument.
#[must_use]
pub const fn iowr(ty: u32, nr: u32, size: usize) -> u64 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// The 32-bit command the kernel sees: `ioctl(2)`'s `unsigned int cmd` (the upper half is dropped).
#[must_use]
pub const fn cmd(request: u64) -> u32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the kernel's ioctl entry takes `unsigned int cmd`; dropping the upper half is the point"
    )]
    let cmd = request as u32;
    cmd
}

/// `_IOC_DIR(nr)`: [`IOC_NONE`], [`IOC_WRITE`], [`IOC_READ`] or both.
#[must_use]
pub const fn dir(request: u64) -> u32 {
    (cmd(request) >> IOC_DIRSHIFT) & IOC_DIRMASK
}

/// `_IOC_TYPE(nr)`: the magic (0xAE for KVM).
#[must_use]
pub const fn ty(request: u64) -> u32 {
    (cmd(request) >> IOC_TYPESHIFT) & IOC_TYPEMASK
}

/// `_IOC_NR(nr)`: the command number within the type.
#[must_use]
pub const fn nr(request: u64) -> u32 {
    (cmd(request) >> IOC_NRSHIFT) & IOC_NRMASK
}

/// `_IOC_SIZE(nr)`: the argument size in bytes.
#[must_use]
pub const fn size(request: u64) -> usize {
    // 14 bits always fit in usize.
    ((cmd(request) >> IOC_SIZESHIFT) & IOC_SIZEMASK) as usize
}

/// A request number split into its four fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Ioc {
    /// `_IOC_DIR`.
    pub dir: u32,
    /// `_IOC_TYPE`.
    pub ty: u32,
    /// `_IOC_NR`.
    pub nr: u32,
    /// `_IOC_SIZE`.
    pub size: usize,
}

impl Ioc {
    /// Split `request` (its low 32 bits, as the kernel does).
    #[must_use]
    pub const fn decode(request: u64) -> Self {
        Self {
            dir: dir(request),
            ty: ty(request),
            nr: nr(request),
            size: size(request),
        }
    }

    /// Pack the fields again; `None` if a field does not fit its bit range.
    #[must_use]
    pub const fn encode(self) -> Option<u64> {
        if self.dir > IOC_DIRMASK
            || self.ty > IOC_TYPEMASK
            || self.nr > IOC_NRMASK
            || self.size > IOC_SIZEMASK as usize
        {
            return None;
        }
        Some(ioc(self.dir, self.ty, self.nr, self.size))
    }

    /// The C macro that builds a request with this direction: `_IO`, `_IOW`, `_IOR` or `_IOWR`.
    #[must_use]
    pub const fn macro_name(self) -> &'static str {
        match self.dir {
            IOC_NONE => "_IO",
            IOC_WRITE => "_IOW",
            IOC_READ => "_IOR",
            _ => "_IOWR",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_kvm_requests() {
        // Values from <linux/kvm.h> as built by any Linux userspace (KVM_RUN, KVM_CREATE_VM, KVM_SET_ONE_REG).
        assert_eq!(io(0xae, 0x80), 0xae80);
        assert_eq!(io(0xae, 0x01), 0xae01);
        assert_eq!(iow(0xae, 0xac, 16), 0x4010_aeac);
        assert_eq!(ior(0xae, 0xaf, 32), 0x8020_aeaf);
        assert_eq!(iowr(0xae, 0xd4, 64), 0xc040_aed4);
    }

    #[test]
    fn decode_names_macro() {
        assert_eq!(Ioc::decode(io(0xae, 1)).macro_name(), "_IO");
        assert_eq!(Ioc::decode(iow(0xae, 1, 8)).macro_name(), "_IOW");
        assert_eq!(Ioc::decode(ior(0xae, 1, 8)).macro_name(), "_IOR");
        assert_eq!(Ioc::decode(iowr(0xae, 1, 8)).macro_name(), "_IOWR");
    }

    #[test]
    fn encode_rejects_out_of_range_fields() {
        let ok = Ioc {
            dir: 3,
            ty: 0xff,
            nr: 0xff,
            size: 0x3fff,
        };
        assert_eq!(ok.encode(), Some(0xffff_ffff));
        assert_eq!(Ioc { dir: 4, ..ok }.encode(), None);
        assert_eq!(Ioc { ty: 0x100, ..ok }.encode(), None);
        assert_eq!(Ioc { nr: 0x100, ..ok }.encode(), None);
        assert_eq!(Ioc { size: 0x4000, ..ok }.encode(), None);
    }

    #[test]
    fn upper_half_is_ignored_like_the_kernel() {
        let r = iow(0xae, 0xd7, 32);
        assert_eq!(Ioc::decode(r | 0xdead_beef_0000_0000), Ioc::decode(r));
        assert_eq!(cmd(r | 0xffff_ffff_0000_0000), 0x4020_aed7);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encode_decode_round_trip(dir in 0u32..4, ty in 0u32..256, nr in 0u32..256, size in 0usize..0x4000) {
            let r = ioc(dir, ty, nr, size);
            prop_assert!(r <= u64::from(u32::MAX));
            let d = Ioc::decode(r);
            prop_assert_eq!(d, Ioc { dir, ty, nr, size });
            prop_assert_eq!(d.encode(), Some(r));
        }

        #[test]
        fn decode_encode_round_trip(raw in any::<u32>(), high in any::<u32>()) {
            let request = (u64::from(high) << 32) | u64::from(raw);
            let d = Ioc::decode(request);
            prop_assert_eq!(d.encode(), Some(u64::from(raw)));
        }

        #[test]
        fn helpers_agree_with_ioc(ty in 0u32..256, nr in 0u32..256, size in 0usize..0x4000) {
            prop_assert_eq!(io(ty, nr), ioc(IOC_NONE, ty, nr, 0));
            prop_assert_eq!(ior(ty, nr, size), ioc(IOC_READ, ty, nr, size));
            prop_assert_eq!(iow(ty, nr, size), ioc(IOC_WRITE, ty, nr, size));
            prop_assert_eq!(iowr(ty, nr, size), ioc(IOC_READ | IOC_WRITE, ty, nr, size));
        }
    }
}
