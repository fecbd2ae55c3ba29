//! Profiles encode to the FEATURES values TF-RMM reports; overrides and realm checks name their limits.

use super::*;

#[test]
fn qemu_max_reports_the_observed_features_register() {
    // TF-RMM rmm-spec-v1.0-rel0 on QEMU 10.0 -cpu max,x-rme=on (shared reference rmm-v1.0.md §12).
    assert_eq!(profiles::qemu_max().features_register0(), 0x28f_3431_7f34);
}

#[test]
fn max_reports_every_field_at_its_largest() {
    let r = profiles::max().features_register0();
    assert_eq!(f0::S2SZ.get(r), 52);
    assert_eq!(f0::LPA2.get(r), 1);
    assert_eq!(f0::SVE_EN.get(r), 1);
    assert_eq!(f0::SVE_VL.get(r), 15);
    assert_eq!(f0::NUM_BPS.get(r), 15);
    assert_eq!(f0::NUM_WPS.get(r), 15);
    assert_eq!(f0::PMU_EN.get(r), 1);
    assert_eq!(f0::PMU_NUM_CTRS.get(r), 31);
    assert_eq!(f0::HASH_SHA_256.get(r), 1);
    assert_eq!(f0::HASH_SHA_512.get(r), 1);
    assert_eq!(f0::GICV3_NUM_LRS.get(r), 15);
    assert_eq!(f0::MAX_RECS_ORDER.get(r), 10);
}

#[test]
fn names_resolve_and_the_default_is_max() {
    for name in Platform::NAMES {
        assert_eq!(
            Platform::by_name(name).map(|p| p.name),
            Some((*name).to_string())
        );
    }
    assert!(Platform::by_name("nope").is_none());
    assert_eq!(Platform::default().name, "max");
}

#[test]
fn without_lpa2_the_ipa_limit_is_48_bits() {
    let mut p = profiles::max();
    p.lpa2 = false;
    assert_eq!(p.s2sz(), 48);
    assert_eq!(p.kvm_ipa_limit(), 48);
    assert_eq!(profiles::fvp().kvm_ipa_limit(), 48);
}

#[test]
fn overrides_change_fields_and_refuse_what_no_register_encodes() {
    let mut p = profiles::qemu_max();
    let o = PlatformOverrides {
        wps: Some(8),
        sve_vl: Some(512),
        ..PlatformOverrides::default()
    };
    o.apply(&mut p).unwrap();
    assert_eq!(
        (p.watchpoints, p.sve_max_vl, p.name.as_str()),
        (8, 512, "qemu-max+custom")
    );
    assert_eq!(f0::NUM_WPS.get(p.features_register0()), 7);
    for (o, field) in [
        (
            PlatformOverrides {
                wps: Some(17),
                ..Default::default()
            },
            "wps",
        ),
        (
            PlatformOverrides {
                bps: Some(1),
                ..Default::default()
            },
            "bps",
        ),
        (
            PlatformOverrides {
                sve_vl: Some(200),
                ..Default::default()
            },
            "sve-vl",
        ),
        (
            PlatformOverrides {
                pa_bits: Some(50),
                ..Default::default()
            },
            "pa-bits",
        ),
        (
            PlatformOverrides {
                pmu_counters: Some(32),
                ..Default::default()
            },
            "pmu-counters",
        ),
        (
            PlatformOverrides {
                gic_lrs: Some(0),
                ..Default::default()
            },
            "gic-lrs",
        ),
    ] {
        let err = o.apply(&mut profiles::max()).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
}

#[test]
fn overrides_parse_from_a_toml_table() {
    let o: PlatformOverrides = toml::from_str("wps = 4\nsve-vl = 0\npa-bits = 48\n").unwrap();
    assert_eq!((o.wps, o.sve_vl, o.pa_bits), (Some(4), Some(0), Some(48)));
    assert!(toml::from_str::<PlatformOverrides>("bogus = 1").is_err());
}

#[test]
fn realm_checks_name_the_parameter_the_limit_and_the_flag() {
    let fvp = profiles::fvp();
    let err = fvp
        .check_realm(&RealmRequest {
            sve_vl: Some(256),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.param, "--sve-vl");
    assert_eq!(
        err.to_string(),
        "--sve-vl 256 is more than the fvp platform supports (no SVE); choose another platform with \
         --platform (max, qemu-max, fvp) or raise the limit with --platform-sve-vl"
    );
    let q = profiles::qemu_max();
    let err = q
        .check_realm(&RealmRequest {
            watchpoints: Some(7),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(
        (err.param, err.limit.as_str(), err.flag),
        ("--num-wps", "4 watchpoints", "--platform-wps")
    );
    let err = fvp
        .check_realm(&RealmRequest {
            ipa_bits: Some(49),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.limit, "48-bit IPAs without LPA2");
    let ok = RealmRequest {
        ipa_bits: Some(52),
        sve_vl: Some(2048),
        breakpoints: Some(16),
        watchpoints: Some(16),
        pmu_counters: Some(31),
        sha512: true,
        vcpus: Some(512),
    };
    assert_eq!(profiles::max().check_realm(&ok), Ok(()));
}

#[test]
fn a_platform_round_trips_through_json() {
    let p = profiles::fvp();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), p);
}

#[test]
fn profile_table_values() {
    assert_eq!(profiles::max().features_register0(), 0x2bf_fcf3_ff34);
}

#[test]
fn a_choice_resolves_to_a_profile_with_overrides_flags_over_a_file() {
    let file = PlatformOverrides {
        name: Some("fvp".into()),
        wps: Some(4),
        ..Default::default()
    };
    let flags = PlatformOverrides {
        wps: Some(6),
        ..Default::default()
    };
    let p = file.clone().merge(flags).resolve().unwrap();
    assert_eq!(
        (p.name.as_str(), p.watchpoints, p.pa_bits),
        ("fvp+custom", 6, 48)
    );
    assert_eq!(
        PlatformOverrides::default().resolve().unwrap(),
        profiles::max()
    );
    let err = PlatformOverrides {
        name: Some("m1".into()),
        ..Default::default()
    }
    .resolve()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown platform \"m1\" (known: max, qemu-max, fvp)"
    );
}
