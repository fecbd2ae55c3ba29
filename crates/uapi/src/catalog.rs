//! One data table of every item of every ABI revision: the single source shared by the C layout test
//! (`tests/c_layout.rs`), `realm abi` and the docs.
//!
//! Each [`Item`] carries its Rust value and the C expression that must evaluate to the same value when
//! compiled against the revision's header (`tests/c/<section>.h`). Struct items carry `sizeof` and every
//! field's `offsetof`, computed in Rust with `size_of`/`offset_of!`.
//!
//! The table below is `realm abi`'s output, kept in `crates/uapi/ABI.md` and checked against the binary by
//! `crates/cli/tests/abi.rs`.
#![doc = include_str!("../ABI.md")]

use crate::AbiRevision;

/// What kind of ABI item an [`Item`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A `KVM_CAP_*` number answered by `KVM_CHECK_EXTENSION`.
    Capability,
    /// A `KVM_CREATE_VM` machine-type value or mask.
    VmType,
    /// An ioctl request number (`_IO`/`_IOR`/`_IOW`/`_IOWR`).
    Request,
    /// Any other numeric constant (flags, actions, feature bits, register ids, exit codes).
    Constant,
    /// A `#[repr(C)]` struct: size and field offsets.
    Struct,
}

/// One field of a struct item: its C member designator and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// The C member designator (`base`, `mmio.phys_addr`).
    pub name: &'static str,
    /// `offsetof` in bytes.
    pub offset: usize,
}

/// The value of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A number (constants, capabilities, request numbers, VM types).
    Number(u64),
    /// A struct layout.
    Struct {
        /// `sizeof`.
        size: usize,
        /// Every field, in declaration order.
        fields: &'static [Field],
    },
}

/// One ABI item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// The name as the kernel spells it (`KVM_ARM_RMI_POPULATE`, `struct kvm_arm_rmi_populate`), or for derived
    /// values a short expression (`KVM_VM_TYPE_ARM_IPA_SIZE(40)`).
    pub name: &'static str,
    /// The C expression (or, for structs, the C type) the fixture header must agree with.
    pub c: &'static str,
    /// What it is.
    pub kind: Kind,
    /// Its value in Rust.
    pub value: Value,
}

impl Item {
    /// A numeric item whose C expression is its name.
    #[must_use]
    pub const fn number(name: &'static str, kind: Kind, value: u64) -> Self {
        Self {
            name,
            c: name,
            kind,
            value: Value::Number(value),
        }
    }

    /// A numeric item checked through a different C expression.
    #[must_use]
    pub const fn expr(name: &'static str, c: &'static str, kind: Kind, value: u64) -> Self {
        Self {
            name,
            c,
            kind,
            value: Value::Number(value),
        }
    }

    /// A struct item.
    #[must_use]
    pub const fn structure(name: &'static str, size: usize, fields: &'static [Field]) -> Self {
        Self {
            name,
            c: name,
            kind: Kind::Struct,
            value: Value::Struct { size, fields },
        }
    }

    /// The number, if this is a numeric item.
    #[must_use]
    pub const fn number_value(&self) -> Option<u64> {
        match self.value {
            Value::Number(v) => Some(v),
            Value::Struct { .. } => None,
        }
    }
}

/// The items of one ABI revision (or of the generic arm64 KVM ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    /// `v10`, `v12`, `v13`, `v14` or `arm64`.
    pub name: &'static str,
    /// The revision, `None` for the generic arm64 section.
    pub revision: Option<AbiRevision>,
    /// Where the revision was posted (mail, date, base), for humans.
    pub source: &'static str,
    /// How `KVM_CREATE_VM`'s type argument selects a realm in this revision.
    pub vm_type_encoding: &'static str,
    /// Every item the revision defines.
    pub items: &'static [Item],
}

impl Section {
    /// The capability item (`KVM_CAP_ARM_RME` / `KVM_CAP_ARM_RMI`), if this is a revision section.
    #[must_use]
    pub fn capability(&self) -> Option<&'static Item> {
        self.items.iter().find(|i| i.kind == Kind::Capability)
    }

    /// Items of one kind, in table order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'static Item> + use<> {
        let items: &'static [Item] = self.items;
        items.iter().filter(move |i| i.kind == kind)
    }

    /// The item called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'static Item> {
        let items: &'static [Item] = self.items;
        items.iter().find(|i| i.name == name)
    }
}

/// The name of ioctl request `cmd` — a generic KVM request or any revision's realm request — for traces
/// (`None` for a number no section lists). Where two revisions number different requests alike, the
/// oldest revision's name is given.
#[must_use]
pub fn request_name(cmd: u64) -> Option<&'static str> {
    CATALOG
        .iter()
        .flat_map(|s| s.of_kind(Kind::Request))
        .find(|i| i.number_value() == Some(cmd))
        .map(|i| i.name)
}

/// Every section: `arm64` (generic pieces), then `v10`, `v12`, `v13`, `v14`.
#[must_use]
pub fn catalog() -> &'static [Section] {
    CATALOG
}

/// The section of one revision.
#[must_use]
pub fn section(revision: AbiRevision) -> &'static Section {
    match revision {
        AbiRevision::V10 => &CATALOG[1],
        AbiRevision::V12 => &CATALOG[2],
        AbiRevision::V13 => &CATALOG[3],
        AbiRevision::V14 => &CATALOG[4],
    }
}

const BITS_11_8: &str =
    "bits [11:8] = machine type: KVM_VM_TYPE_ARM(1) = 0x100 selects a realm; bits [7:0] = IPA size";

static CATALOG: &[Section] = &[
    Section {
        name: "arm64",
        revision: None,
        source: "Linux include/uapi/linux/kvm.h and arch/arm64/include/uapi/asm/kvm.h (generic, all revisions)",
        vm_type_encoding: "bits [7:0] = IPA size (KVM_VM_TYPE_ARM_IPA_SIZE)",
        items: crate::arm64::CATALOG,
    },
    Section {
        name: "v10",
        revision: Some(AbiRevision::V10),
        source: "v10 06/43 <20250820145606.180644-7-steven.price@arm.com>, 20 Aug 2025",
        vm_type_encoding: BITS_11_8,
        items: crate::v10::CATALOG,
    },
    Section {
        name: "v12",
        revision: Some(AbiRevision::V12),
        source: "v12 06/46 <20251217101125.91098-7-steven.price@arm.com>, 17 Dec 2025, on v6.19-rc1, RMM v1.0",
        vm_type_encoding: BITS_11_8,
        items: crate::v12::CATALOG,
    },
    Section {
        name: "v13",
        revision: Some(AbiRevision::V13),
        source: "v13 11/48 (uAPI), 18 Mar 2026, on v7.0-rc1, RMM v2.0-bet0",
        vm_type_encoding: BITS_11_8,
        items: crate::v13::CATALOG,
    },
    Section {
        name: "v14",
        revision: Some(AbiRevision::V14),
        source: "v14 13/44 (uAPI) and 16/44 (VM type), 13 May 2026, on v7.1-rc1, RMM v2.0-bet1",
        vm_type_encoding: "bit 30 = KVM_VM_TYPE_ARM_REALM, bit 31 = KVM_VM_TYPE_ARM_PROTECTED (pKVM; both set is EINVAL); bits [7:0] = IPA size",
        items: crate::v14::CATALOG,
    },
];

/// Build a struct [`Item`] whose layout is asserted at compile time against the kernel header's numbers.
///
/// `layout!(T, "struct T", size N, { field @ offset, … })` expands to a block holding `const` assertions of
/// `size_of::<T>() == N` and each `offset_of!(T, field) == offset`, evaluating to the catalog item (whose
/// values are the *computed* ones, checked again by the C compiler in `tests/c_layout.rs`).
macro_rules! layout {
    ($t:ty, $cname:literal, size $size:expr, { $($f:ident @ $off:expr),* $(,)? } $(, extra [$($extra:expr),* $(,)?])?) => {{
        const _: () = {
            assert!(::core::mem::size_of::<$t>() == $size, concat!("size of ", $cname));
            $( assert!(::core::mem::offset_of!($t, $f) == $off, concat!("offset of ", $cname, ".", stringify!($f))); )*
        };
        $crate::catalog::Item::structure($cname, ::core::mem::size_of::<$t>(), &[
            $( $crate::catalog::Field { name: stringify!($f), offset: ::core::mem::offset_of!($t, $f) }, )*
            $( $($extra,)* )?
        ])
    }};
}
pub(crate) use layout;

/// Widen a `u32` constant in a `const` context (`u64::from` is not `const`).
#[must_use]
pub(crate) const fn wide(v: u32) -> u64 {
    v as u64
}

/// A numeric item named after a `u32` constant in scope: `num!(Capability, KVM_CAP_ARM_RMI)`.
macro_rules! num {
    ($kind:ident, $name:ident) => {
        $crate::catalog::Item::number(
            stringify!($name),
            $crate::catalog::Kind::$kind,
            $crate::catalog::wide($name),
        )
    };
}
pub(crate) use num;

/// A numeric item named after a `u64` constant in scope: `num64!(Request, KVM_ARM_RMI_POPULATE)`.
macro_rules! num64 {
    ($kind:ident, $name:ident) => {
        $crate::catalog::Item::number(stringify!($name), $crate::catalog::Kind::$kind, $name)
    };
}
pub(crate) use num64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::Ioc;

    #[test]
    fn sections_match_their_revision() {
        for r in AbiRevision::ALL {
            let s = section(r);
            assert_eq!(s.revision, Some(r));
            assert_eq!(s.name, r.name());
            let cap = s.capability().expect("every revision has a capability");
            assert_eq!(cap.name, r.cap_name());
            assert_eq!(cap.number_value(), Some(u64::from(r.cap())));
            let realm = s.get("KVM_VM_TYPE_ARM_REALM").expect("realm VM type");
            assert_eq!(realm.number_value(), Some(r.vm_type_realm()));
        }
        assert_eq!(catalog()[0].revision, None);
        assert_eq!(catalog().len(), 1 + AbiRevision::ALL.len());
    }

    #[test]
    fn every_request_is_a_kvm_request_whose_size_is_its_struct() {
        for s in catalog() {
            for item in s.of_kind(Kind::Request) {
                let d = Ioc::decode(item.number_value().expect("number"));
                assert_eq!(d.ty, crate::arm64::KVMIO, "{}", item.name);
            }
        }
        let v12 = section(AbiRevision::V12);
        let populate = v12
            .get("KVM_ARM_RMI_POPULATE")
            .and_then(Item::number_value)
            .expect("populate");
        let Some(Item {
            value: Value::Struct { size, .. },
            ..
        }) = v12.get("struct kvm_arm_rmi_populate")
        else {
            panic!("struct kvm_arm_rmi_populate missing");
        };
        assert_eq!(Ioc::decode(populate).size, *size);
    }
}
