//! The built-in demo realm: a synthetic arm64 Image with a valid header, an initrd-like blob and a generated
//! DTB, on the kvmtool layout with 256 MiB and 2 vCPUs — small enough to build in well under a second.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::{AbiRevision, Layout, RealmConfig, RealmParams};
use crate::image::{ImageSource, filler, synthetic_image};
use crate::size::MIB;

/// Size of the demo kernel image.
pub const DEMO_KERNEL_SIZE: usize = 1536 * 1024;
/// Size of the demo initrd.
pub const DEMO_INITRD_SIZE: usize = 300_000;

/// The demo configuration for `abi`.
pub fn config(abi: AbiRevision) -> RealmConfig {
    RealmConfig {
        kernel: Some(ImageSource::Bytes {
            name: "<demo Image>".into(),
            data: Arc::from(synthetic_image(DEMO_KERNEL_SIZE, 1)),
        }),
        initrd: Some(ImageSource::Bytes {
            name: "<demo initrd>".into(),
            data: Arc::from(filler(DEMO_INITRD_SIZE, 2)),
        }),
        dtb: None,
        firmware: None,
        cmdline: "console=ttyS0 earlycon rdinit=/init".into(),
        mem: 256 * MIB,
        cpus: 2,
        layout: Layout::Kvmtool,
        ipa_bits: None,
        params: RealmParams::default(),
        abi,
        unmeasured: BTreeSet::new(),
        platform: realm_platform::Platform::default(),
    }
}
