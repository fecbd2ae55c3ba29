//! Fuzz target: the CLI's realm input — a TOML configuration, an arm64 Image header, image sizes — through
//! parsing, validation and placement. Nothing may panic (the fuzz build keeps overflow checks); a placement
//! that succeeds must put every image inside RAM without two of them overlapping.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realm_vmm::config::ConfigFile;
use realm_vmm::image::{ARM64_IMAGE_HEADER_SIZE, Arm64ImageHeader};
use realm_vmm::layout::{BootImage, ImageSizes, place};

#[derive(Debug, Arbitrary)]
struct Input {
    /// The configuration file's text.
    toml: String,
    /// The first bytes of the kernel or firmware file (a header, or not).
    header: Vec<u8>,
    /// Or a header with these fields (text_offset, image_size), magic set.
    fields: Option<(u64, u64)>,
    /// File lengths.
    len: u64,
    initrd: Option<u64>,
    dtb: Option<u64>,
    firmware: bool,
}

fuzz_target!(|input: Input| {
    let Ok(mut file) = toml::from_str::<ConfigFile>(&input.toml) else {
        return;
    };
    // The images are sized here, not read: give the configuration what it needs to validate.
    if input.firmware {
        file.kernel = None;
        file.initrd = None;
        file.firmware = Some("fw".into());
    } else {
        file.firmware = None;
        file.kernel = Some("Image".into());
    }
    let Ok(cfg) = file.validate() else {
        return;
    };
    let mut header = input.header;
    if let Some((text_offset, image_size)) = input.fields {
        header = Arm64ImageHeader {
            text_offset,
            image_size,
            flags: 0,
        }
        .encode()
        .to_vec();
    }
    header.truncate(ARM64_IMAGE_HEADER_SIZE);
    let image = BootImage {
        len: input.len,
        ..BootImage::of(&header)
    };
    let sizes = ImageSizes {
        kernel: (!input.firmware).then_some(image),
        initrd: cfg.initrd.as_ref().and(input.initrd),
        firmware: input.firmware.then_some(image),
        dtb: input.dtb,
    };
    let Ok(map) = place(&cfg, &sizes) else {
        return;
    };
    for img in &map.images {
        assert!(
            map.ram
                .iter()
                .any(|r| img.populate.base >= r.base && img.populate.end() <= r.end()),
            "{img:?} outside RAM {:?}",
            map.ram
        );
    }
    for (i, a) in map.images.iter().enumerate() {
        for b in &map.images[i + 1..] {
            assert!(!a.populate.overlaps(&b.populate), "{a:?} overlaps {b:?}");
        }
    }
});
