//! The built-in demo realms: [`config`], a synthetic arm64 Image with a valid header, an initrd-like blob and a
//! generated DTB, on the kvmtool layout with 256 MiB and 2 vCPUs — small enough to build in well under a
//! second; and [`rsi_tour_config`], the `rsi-tour` payload as firmware, which `realm demo` runs on the realm
//! CPU so the realm prints its own RIM ([`RIM_EXPLANATION`] says what it is).
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

/// The `rsi-tour` demo: the payload as firmware (no kernel), kvmtool layout, 256 MiB, 1 vCPU, `platform`.
pub fn rsi_tour_config(abi: AbiRevision, platform: realm_platform::Platform) -> RealmConfig {
    let mut cfg = RealmConfig {
        kernel: None,
        initrd: None,
        cmdline: String::new(),
        cpus: 1,
        platform,
        ..config(abi)
    };
    let code = crate::payload::rsi_tour(&crate::payload::Target::of(&cfg));
    cfg.firmware = Some(ImageSource::Bytes {
        name: "<rsi-tour payload>".into(),
        data: Arc::from(code),
    });
    cfg
}

/// What the RIM the realm printed is, for `realm demo`.
pub const RIM_EXPLANATION: &str = "\
The realm read its RIM with RSI_MEASUREMENT_READ (slot 0, the `RIM` line above). The RMM accumulated it while
the host built the realm, one extension per step (below): REALM_CREATE's parameters, each DATA_CREATE's
contents (the rsi-tour code, the DTB), each REC with its entry state, and RTT_INIT_RIPAS of the rest of RAM.
The host computed the same value without
the realm (`RIM` at the end; `realm measure` does only that part): a verifier compares the RIM in a realm's
attestation token with this reference. REM0 changed because the realm extended it (RSI_MEASUREMENT_EXTEND);
the RIM cannot change once the realm is active.";
