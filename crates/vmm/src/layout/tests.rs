use super::*;
use crate::config::ConfigFile;
use crate::image::synthetic_image;
use crate::size::GIB;

const MIBU: usize = 1 << 20;

fn cfg(layout: &str, mem: &str) -> RealmConfig {
    ConfigFile {
        kernel: Some("Image".into()),
        layout: Some(layout.into()),
        mem: Some(mem.into()),
        ..ConfigFile::default()
    }
    .validate()
    .unwrap()
}

#[test]
fn ipa_bits_as_the_vmms_compute_them() {
    assert_eq!(default_ipa_bits(Layout::Kvmtool, 512 * MIB), 33);
    assert_eq!(default_ipa_bits(Layout::Kvmtool, 2 * GIB), 33);
    assert_eq!(default_ipa_bits(Layout::Kvmtool, 4 * GIB), 34);
    assert_eq!(default_ipa_bits(Layout::Kvmtool, 256 * GIB), 40);
    assert_eq!(default_ipa_bits(Layout::Qemu, 512 * MIB), 41);
}

#[test]
fn kvmtool_kernel_initrd_dtb() {
    let k = synthetic_image(3 * MIBU, 1);
    let map = place(
        &cfg("kvmtool", "512M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            initrd: Some(1_000_001),
            ..ImageSizes::default()
        },
    )
    .unwrap();
    assert_eq!(
        map.dtb,
        IpaRange {
            base: 0x8fe0_0000,
            size: 0x1_0000
        }
    );
    assert_eq!(
        (map.pc, map.x0, map.ipa_bits),
        (0x8000_0000, 0x8fe0_0000, 33)
    );
    // initrd: ALIGN(dtb - (size + 4), 4)
    let initrd = (0x8fe0_0000u64 - 1_000_005).next_multiple_of(4);
    assert_eq!(
        map.initrd,
        Some(IpaRange {
            base: initrd,
            size: 1_000_001
        })
    );
    let kinds: Vec<_> = map.images.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [ImageKind::Kernel, ImageKind::Initrd, ImageKind::Dtb]
    );
    assert_eq!(map.images[1].populate.base, initrd & !0xffff);
    assert_eq!(map.images[1].populate.end(), 0x8fe0_0000);
    assert_eq!(
        map.images[0].populate,
        IpaRange {
            base: 0x8000_0000,
            size: 0x30_0000
        }
    );
}

#[test]
fn kvmtool_small_ram_dtb() {
    // 64 MiB: limit 0x83ff_ffff - 0x21_0000 → aligned up to 0x83e0_0000.
    let k = synthetic_image(4096, 1);
    let map = place(
        &cfg("kvmtool", "64M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(map.dtb.base, 0x83e0_0000);
    // 4 GiB: still under the 256 MiB lowmem limit.
    let map = place(
        &cfg("kvmtool", "4G"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((map.dtb.base, map.ipa_bits), (0x8fe0_0000, 34));
}

#[test]
fn kvmtool_errors() {
    let big = synthetic_image(300 * MIBU, 1);
    let e = place(
        &cfg("kvmtool", "512M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&big)),
            ..Default::default()
        },
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "kernel image of 300 MiB does not fit in RAM below 0x90000000"
    );
    let k = synthetic_image(255 * MIBU, 1);
    let e = place(
        &cfg("kvmtool", "512M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    );
    assert!(matches!(
        e,
        Err(LayoutError::DtbOverlapsKernel {
            dtb: 0x8fe0_0000,
            ..
        })
    ));
    let k = synthetic_image(200 * MIBU, 1);
    let e = place(
        &cfg("kvmtool", "512M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            initrd: Some(60 * MIB),
            ..Default::default()
        },
    );
    assert!(matches!(e, Err(LayoutError::InitrdOverlapsKernel { .. })));
    let e = place(
        &cfg("kvmtool", "2M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "2 MiB of RAM is too little for the kvmtool layout (needs at least 4 MiB)"
    );
    let mut c = cfg("kvmtool", "512M");
    c.ipa_bits = Some(32);
    let k = synthetic_image(4096, 1);
    let e = place(
        &c,
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "--ipa-bits 32 is too small: the kvmtool memory map needs 33"
    );
    let e = place(
        &cfg("kvmtool", "512M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            dtb: Some(70_000),
            ..Default::default()
        },
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "the DTB is 70000 bytes; the kvmtool layout has a 64 KiB slot"
    );
}

#[test]
fn kvmtool_firmware() {
    let mut c = cfg("kvmtool", "2G");
    c.kernel = None;
    let fw = vec![0u8; 5 * MIBU + 1];
    let map = place(
        &c,
        &ImageSizes {
            firmware: Some(BootImage::of(&fw)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (map.pc, map.x0, map.dtb.base),
        (0x8000_0000, 0x8060_0000, 0x8060_0000)
    );
    assert_eq!(
        map.images[0].populate,
        IpaRange {
            base: 0x8000_0000,
            size: 0x51_0000
        }
    );
}

#[test]
fn qemu_kernel_initrd_dtb() {
    let k = synthetic_image(20 * MIBU, 1);
    let map = place(
        &cfg("qemu", "1G"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            initrd: Some(3 * MIB + 5),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(map.ipa_bits, 41);
    assert_eq!(map.pc, 0x4000_0000);
    assert_eq!(
        map.initrd,
        Some(IpaRange {
            base: 0x4800_0000,
            size: 3 * MIB + 5
        })
    );
    assert_eq!(
        map.dtb,
        IpaRange {
            base: 0x4840_0000,
            size: MIB
        }
    );
    assert_eq!(map.x0, 0x4840_0000);
    assert_eq!(
        map.images[1].populate,
        IpaRange {
            base: 0x4800_0000,
            size: 3 * MIB + 4096
        }
    );
    // Small RAM: RAM/2; a kernel bigger than that pushes the initrd up.
    let map = place(
        &cfg("qemu", "64M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            initrd: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(map.initrd.unwrap().base, 0x4200_0000);
    let big = synthetic_image(40 * MIBU, 1);
    let map = place(
        &cfg("qemu", "64M"),
        &ImageSizes {
            kernel: Some(BootImage::of(&big)),
            initrd: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(map.initrd.unwrap().base, 0x4280_0000);
    // No initrd: DTB after the would-be initrd start.
    let map = place(
        &cfg("qemu", "1G"),
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(map.dtb.base, 0x4800_0000);
}

#[test]
fn qemu_firmware_and_limits() {
    let mut c = cfg("qemu", "512M");
    c.kernel = None;
    let fw = vec![1u8; 2 * MIBU];
    let map = place(
        &c,
        &ImageSizes {
            firmware: Some(BootImage::of(&fw)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        map.ram,
        vec![
            QEMU_FIRMWARE_RAM,
            IpaRange {
                base: 0x4000_0000,
                size: 512 * MIB
            }
        ]
    );
    assert_eq!((map.pc, map.x0, map.dtb.base), (0, 0, 0x4000_0000));
    assert_eq!(map.images[0].kind, ImageKind::Firmware);
    let e = place(&cfg("qemu", "256G"), &ImageSizes::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the qemu layout supports at most 255 GiB of RAM (got 256 GiB)"
    );
}

#[test]
fn overlap_after_rounding_is_reported() {
    // A kernel ending within 64 KiB of the initrd start: kvmtool's 64 KiB rounding makes them collide.
    let mut k = synthetic_image(4096, 1);
    k[16..24].copy_from_slice(&4096u64.to_le_bytes());
    let c = cfg("kvmtool", "64M");
    // initrd that starts just above the kernel's 64 KiB chunk is fine; one inside the same chunk is not.
    let dtb = 0x83e0_0000u64;
    let initrd_size = dtb - 0x8000_2000 - 4;
    let e = place(
        &c,
        &ImageSizes {
            kernel: Some(BootImage::of(&k)),
            initrd: Some(initrd_size),
            ..Default::default()
        },
    );
    assert!(matches!(
        e,
        Err(LayoutError::ImagesOverlap {
            a: ImageKind::Kernel,
            b: ImageKind::Initrd,
            ..
        })
    ));
}

/// An arm64 Image header with these fields (or none), as `BootImage` for a file of `len` bytes.
fn boot(len: u64, header: Option<(u64, u64)>) -> BootImage {
    BootImage {
        len,
        header: header.map(|(text_offset, image_size)| crate::image::Arm64ImageHeader {
            text_offset,
            image_size,
            flags: 0,
        }),
    }
}

#[test]
fn hostile_headers_are_refused_not_wrapped() {
    // issue 17 A: text_offset 2^64-1 (tomax.img) and image_size 2^64-1 (sizemax.img), in both layouts.
    let tomax = boot(65536, Some((u64::MAX, 0x10000)));
    let sizemax = boot(65536, Some((0x80000, u64::MAX)));
    for layout in ["kvmtool", "qemu"] {
        let c = cfg(layout, "256M");
        let ram_end: u64 = if layout == "qemu" {
            0x5000_0000
        } else {
            0x9000_0000
        };
        let e = place(
            &c,
            &ImageSizes {
                kernel: Some(tomax),
                ..ImageSizes::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the kernel's header places it beyond RAM: text_offset 0xffffffffffffffff, image_size 0x10000, \
                 RAM ends at {ram_end:#x}"
            ),
            "{layout}"
        );
        let e = place(
            &c,
            &ImageSizes {
                kernel: Some(sizemax),
                ..ImageSizes::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the kernel's header places it beyond RAM: text_offset 0x80000, image_size 0xffffffffffffffff, \
                 RAM ends at {ram_end:#x}"
            ),
            "{layout}"
        );
    }
    // As firmware on kvmtool: the DTB goes after image_size, which wraps.
    let mut c = cfg("kvmtool", "256M");
    c.kernel = None;
    let e = place(
        &c,
        &ImageSizes {
            firmware: Some(sizemax),
            ..ImageSizes::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no room for the 64 KiB DTB at 0xffffffffffffffff: RAM ends at 0x90000000"
    );
}

#[test]
fn ram_beyond_any_ipa_space_is_refused() {
    let mut c = cfg("kvmtool", "64M");
    c.mem = !(2 * MIB - 1);
    let k = boot(4096, None);
    let e = place(
        &c,
        &ImageSizes {
            kernel: Some(k),
            ..ImageSizes::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "17592186044414 MiB of RAM at 0x80000000 does not fit in the largest IPA space (52 bits)"
    );
    assert_eq!(default_ipa_bits(Layout::Kvmtool, c.mem), 65);
}

#[test]
fn empty_images_are_refused() {
    let e = place(
        &cfg("kvmtool", "64M"),
        &ImageSizes {
            kernel: Some(boot(4096, None)),
            initrd: Some(0),
            ..ImageSizes::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "the initrd image is empty");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// Arbitrary Image headers, image sizes, RAM sizes and layouts: never a panic (tests build with overflow
    /// checks), and either an error or a placement whose images lie inside RAM without overlapping.
    #[test]
    fn placement_fits_or_is_an_error(
        qemu in proptest::bool::ANY,
        firmware in proptest::bool::ANY,
        mem_mib in proptest::prop_oneof![1u64..1024, 1u64..(1 << 20), proptest::num::u64::ANY],
        len in proptest::prop_oneof![1u64..(1 << 24), proptest::num::u64::ANY],
        header in proptest::option::of((
            proptest::prop_oneof![0u64..(1 << 22), proptest::num::u64::ANY],
            proptest::prop_oneof![0u64..(1 << 26), proptest::num::u64::ANY],
        )),
        initrd in proptest::option::of(proptest::prop_oneof![1u64..(1 << 26), proptest::num::u64::ANY]),
        dtb in proptest::option::of(1u64..(2 << 20)),
        cpus in 1u32..=512,
        ipa_bits in proptest::option::of(32u8..=52),
    ) {
        let mut c = cfg(if qemu { "qemu" } else { "kvmtool" }, "64M");
        c.mem = mem_mib.wrapping_mul(2 * MIB).max(2 * MIB);
        c.cpus = cpus;
        c.ipa_bits = ipa_bits;
        let image = boot(len, header);
        let sizes = ImageSizes {
            kernel: (!firmware).then_some(image),
            initrd: if firmware { None } else { initrd },
            firmware: firmware.then_some(image),
            dtb,
        };
        if let Ok(map) = place(&c, &sizes) {
            for img in &map.images {
                proptest::prop_assert!(
                    map.ram.iter().any(|r| img.populate.base >= r.base && img.populate.end() <= r.end()),
                    "{:?} {} outside RAM {:?}", img.kind, img.populate, map.ram
                );
                proptest::prop_assert!(img.load.size > 0 && img.populate.end() > img.populate.base);
            }
            for (i, a) in map.images.iter().enumerate() {
                for b in &map.images[i + 1..] {
                    proptest::prop_assert!(!a.populate.overlaps(&b.populate), "{:?} overlaps {:?}", a, b);
                }
            }
            proptest::prop_assert!(map.ipa_bits <= MAX_IPA_BITS + 1);
            proptest::prop_assert!(map.ram.iter().all(|r| r.end() <= 1 << MAX_IPA_BITS));
        }
    }
}

#[test]
fn the_uart_known_before_placement_is_the_placed_one() {
    for (layout, cpus, base) in [
        ("kvmtool", 1, 0x0100_0000),
        ("kvmtool", 8, 0x0100_0000),
        ("qemu", 3, 0x0900_0000),
    ] {
        let mut c = cfg(layout, "256M");
        c.cpus = cpus;
        let image = synthetic_image(4096, 1);
        let map = place(
            &c,
            &ImageSizes {
                kernel: Some(BootImage::of(&image)),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(uart(c.layout), map.uart, "{layout} with {cpus} vCPUs");
        assert_eq!(map.uart.range.base, base);
    }
}
