use std::path::Path;

use super::*;

fn base() -> ConfigFile {
    ConfigFile {
        kernel: Some("Image".into()),
        ..ConfigFile::default()
    }
}

#[test]
fn defaults() {
    let c = base().validate().unwrap();
    assert_eq!(c.abi, AbiRevision::V12);
    assert_eq!(c.layout, Layout::Kvmtool);
    assert_eq!(c.mem, DEFAULT_MEM);
    assert_eq!(c.cpus, 1);
    assert_eq!(c.params.hash_algo(), HashAlgorithm::Sha256);
}

#[test]
fn encodings_are_the_rmms() {
    let p = RealmParams {
        sve_vl: Some(512),
        num_bps: Some(6),
        num_wps: Some(4),
        ..RealmParams::default()
    };
    assert_eq!(p.rmi_sve_vl(), Some(3));
    assert_eq!(p.rmi_num_bps(), Some(5));
    assert_eq!(p.rmi_num_wps(), Some(3));
    assert_eq!(HashAlgorithm::from_rmi(1), Some(HashAlgorithm::Sha512));
}

#[test]
fn rpv_is_zero_padded_on_the_right() {
    let r = Rpv::from_hex("0x0102").unwrap();
    assert_eq!(&r.0[..3], &[1, 2, 0]);
    assert!(!r.is_zero());
    assert!(Rpv::from_hex("").unwrap().is_zero());
    assert!(matches!(Rpv::from_hex("abc"), Err(ConfigError::RpvHex(_))));
    let long = "00".repeat(65);
    assert_eq!(
        Rpv::from_hex(&long).unwrap_err().to_string(),
        "personalization value is 65 bytes; at most 64"
    );
}

#[test]
fn v12_rejects_hash_and_rpv() {
    let mut f = base();
    f.hash = Some("sha512".into());
    let e = f.clone().validate().unwrap_err();
    assert!(matches!(
        e,
        ConfigError::HashNotConfigurable {
            abi: AbiRevision::V12
        }
    ));
    assert!(
        e.to_string()
            .starts_with("ABI v12 cannot configure the measurement algorithm")
    );
    f.abi = Some("v10".into());
    assert_eq!(
        f.validate().unwrap().params.hash,
        Some(HashAlgorithm::Sha512)
    );

    let mut f = base();
    f.hash = Some("sha256".into());
    f.rpv = Some("00".into());
    assert!(
        f.clone().validate().is_ok(),
        "consistent with what v12 does"
    );
    f.rpv = Some("01".into());
    assert!(matches!(
        f.validate(),
        Err(ConfigError::RpvNotConfigurable { .. })
    ));
}

#[test]
fn ranges() {
    let check = |edit: fn(&mut ConfigFile), msg: &str| {
        let mut f = base();
        edit(&mut f);
        assert_eq!(f.validate().unwrap_err().to_string(), msg);
    };
    check(
        |f| f.sve_vl = Some(100),
        "SVE vector length 100 bits: must be a multiple of 128 from 128 to 2048",
    );
    check(|f| f.pmu_counters = Some(32), "32 PMU counters: at most 31");
    check(|f| f.num_bps = Some(1), "1 breakpoints: must be 2 to 16");
    check(|f| f.num_wps = Some(17), "17 watchpoints: must be 2 to 16");
    check(|f| f.cpus = Some(0), "0 vCPUs: must be 1 to 512");
    check(
        |f| f.ipa_bits = Some(60),
        "IPA size 60 bits: must be 32 to 52",
    );
    check(
        |f| f.mem = Some("3M".into()),
        "memory size 0x300000 must be a non-zero multiple of 2 MiB",
    );
    check(
        |f| f.mem = Some("lots".into()),
        "invalid memory size \"lots\"",
    );
    check(
        |f| f.abi = Some("v11".into()),
        "unknown ABI revision \"v11\" (expected v10 or v12)",
    );
    check(
        |f| f.layout = Some("xen".into()),
        "unknown layout \"xen\" (expected kvmtool or qemu)",
    );
    check(
        |f| f.kernel = None,
        "nothing to boot: give --kernel or --firmware",
    );
    check(
        |f| f.firmware = Some("fw".into()),
        "--kernel and --firmware cannot be combined (the firmware would load the kernel itself)",
    );
    check(
        |f| f.unmeasured = vec!["initrd".into()],
        "--unmeasured initrd: no initrd image is loaded",
    );
    check(
        |f| f.unmeasured = vec!["bios".into()],
        "unknown image \"bios\" (expected firmware, kernel, initrd or dtb)",
    );
}

#[test]
fn measured_overrides_unmeasured() {
    let mut f = base();
    f.unmeasured = vec!["dtb".into()];
    let file = f.clone();
    assert!(f.validate().unwrap().unmeasured.contains(&ImageKind::Dtb));
    let flags = ConfigFile {
        measured: vec!["dtb".into()],
        ..ConfigFile::default()
    };
    assert!(file.merge(flags).validate().unwrap().unmeasured.is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary TOML-ish text and flag values never panic: they parse and validate or give an error.
    #[test]
    fn parsing_never_panics(
        text in "[a-z_= \"0-9\n\\[\\]-]{0,80}",
        mem in "[0-9]{0,12}[KMGTkmgtXb]{0,3}",
        rpv in "(0x)?[0-9a-fA-FxZ]{0,140}",
        cpus in proptest::option::of(proptest::prelude::any::<u32>()),
        sve in proptest::option::of(proptest::prelude::any::<u16>()),
        bps in proptest::option::of(proptest::prelude::any::<u8>()),
        abi in "(v10|v12|v9|)",
    ) {
        let _ = toml::from_str::<ConfigFile>(&text);
        let f = ConfigFile {
            kernel: Some("k".into()),
            mem: Some(mem),
            rpv: Some(rpv),
            cpus,
            sve_vl: sve,
            num_bps: bps,
            abi: Some(abi),
            ..ConfigFile::default()
        };
        let _ = f.validate();
    }
}

#[test]
fn toml_file_and_merge() {
    let dir = std::env::temp_dir().join(format!("realm-vmm-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("realm.toml");
    std::fs::write(
        &path,
        "kernel = \"Image\"\nmem = \"1G\"\ncpus = 2\nlayout = \"qemu\"\nabi = \"v10\"\nhash = \"sha512\"\nsve-vl = 256\n",
    )
    .unwrap();
    let file = ConfigFile::load(&path).unwrap();
    assert_eq!(file.kernel, Some(dir.join("Image")));
    let flags = ConfigFile {
        cpus: Some(4),
        ..ConfigFile::default()
    };
    let c = file.merge(flags).validate().unwrap();
    assert_eq!(
        (c.mem, c.cpus, c.layout, c.abi),
        (1024 * MIB, 4, Layout::Qemu, AbiRevision::V10)
    );
    assert_eq!(c.params.sve_vl, Some(256));

    std::fs::write(&path, "kernal = \"Image\"\n").unwrap();
    let e = ConfigFile::load(&path).unwrap_err();
    assert!(e.to_string().starts_with("parsing configuration file"));
    let e = ConfigFile::load(&dir.join("missing.toml")).unwrap_err();
    assert!(e.to_string().starts_with("reading configuration file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn oversize_and_binary_configuration_files_are_refused() {
    let dir = std::env::temp_dir().join(format!("realm-vmm-config-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A sparse file one byte over the bound: refused from its length, nothing read.
    let big = dir.join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_CONFIG_FILE + 1)
        .unwrap();
    let e = ConfigFile::load(&big).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "configuration file {} is larger than 16 MiB (the most a configuration file may be)",
            big.display()
        )
    );
    // /dev/zero never ends: read up to the bound, then refused the same way.
    let e = ConfigFile::load(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "configuration file /dev/zero is larger than 16 MiB (the most a configuration file may be)"
    );
    let bin = dir.join("bin.toml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    let e = ConfigFile::load(&bin).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("configuration file {} is not UTF-8 text", bin.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn builtin_hello_names_the_hello_initramfs_in_flags_and_files() {
    let want = crate::initramfs::hello(&format!("{}\n", crate::initramfs::HELLO_LINE));
    let check = |c: RealmConfig, what: &str| match c.initrd {
        Some(ImageSource::Bytes { name, data }) => {
            assert_eq!(name, "builtin:hello", "{what}");
            assert_eq!(
                &data[..],
                &want[..],
                "{what}: what `realm initramfs` writes"
            );
        }
        other => panic!("{what}: {other:?}"),
    };
    let flags = ConfigFile {
        initrd: Some("builtin:hello".into()),
        ..base()
    };
    check(flags.validate().unwrap(), "flag");
    let dir = std::env::temp_dir().join(format!("realm-vmm-builtin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("realm.toml");
    std::fs::write(&path, "kernel = \"Image\"\ninitrd = \"builtin:hello\"\n").unwrap();
    check(ConfigFile::load(&path).unwrap().validate().unwrap(), "file");
    std::fs::write(&path, "kernel = \"Image\"\ninitrd = \"hello.cpio\"\n").unwrap();
    let file = ConfigFile::load(&path).unwrap().validate().unwrap();
    assert!(
        matches!(file.initrd, Some(ImageSource::File(p)) if p == dir.join("hello.cpio")),
        "any other name is a file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
