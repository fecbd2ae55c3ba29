//! `--platform`, its overrides and `realm platform`: every layer reads one platform description, and a
//! realm the chosen platform cannot host is refused with exit 2, naming the parameter, the limit and the
//! flag that changes the platform.

mod cli;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Output;

    use super::cli::realm;

    fn tmp(name: &str, data: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("realm-cli-platform-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    /// A firmware image of its own for each caller (tests run in parallel and must not rewrite a file
    /// another test is reading).
    fn firmware() -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tmp(&format!("fw{n}.bin"), &[0x5a; 8192])
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// `measure` with `args` exits 2 and says `message`.
    fn refused(args: &[&str], message: &str) {
        let fw = firmware();
        let o = realm(&[&["measure", "--firmware", &fw, "-m", "64M"], args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }

    #[test]
    fn the_default_platform_measures_every_valid_configuration() {
        let fw = firmware();
        for args in [
            &["--num-bps", "6", "--num-wps", "6"][..],
            &[
                "--sve-vl",
                "512",
                "--pmu-counters",
                "6",
                "--hash",
                "sha512",
                "--abi",
                "v10",
            ],
            &["--ipa-bits", "52"],
        ] {
            let o = realm(&[&["measure", "--firmware", &fw, "-m", "64M"], args].concat());
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        }
    }

    #[test]
    fn what_the_platform_cannot_host_is_refused_naming_the_limit_and_the_flag() {
        refused(
            &["--platform", "qemu-max", "--num-wps", "7"],
            "--num-wps 7 is more than the qemu-max platform supports (4 watchpoints); choose another platform \
             with --platform (max, qemu-max, fvp) or raise the limit with --platform-wps",
        );
        refused(
            &["--platform", "fvp", "--sve-vl", "256"],
            "--sve-vl 256 is more than the fvp platform supports (no SVE)",
        );
        refused(
            &["--platform", "fvp", "--ipa-bits", "49"],
            "--ipa-bits 49 is more than the fvp platform supports (48-bit IPAs without LPA2)",
        );
        refused(
            &["--platform", "qemu-max", "--pmu-counters", "7"],
            "--pmu-counters 7 is more than the qemu-max platform supports (6 PMU counters)",
        );
        refused(
            &[
                "--platform",
                "fvp",
                "--platform-sha512",
                "false",
                "--hash",
                "sha512",
                "--abi",
                "v10",
            ],
            "--hash sha512 is more than the fvp+custom platform supports (SHA-256 only)",
        );
        refused(
            &["--platform", "nope"],
            "unknown platform \"nope\" (known: max, qemu-max, fvp)",
        );
        refused(
            &["--platform-wps", "17"],
            "platform override wps = 17: 2 to 16",
        );
        refused(
            &["--platform-sve-vl", "100"],
            "platform override sve-vl = 100",
        );
    }

    #[test]
    fn an_override_raises_the_limit() {
        let fw = firmware();
        let o = realm(&[
            "measure",
            "--firmware",
            &fw,
            "-m",
            "64M",
            "--platform",
            "qemu-max",
            "--platform-wps",
            "8",
            "--num-wps",
            "7",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }

    #[test]
    fn a_platform_table_in_the_configuration_file() {
        let fw = firmware();
        let cfg = tmp(
            "realm.toml",
            format!(
                "firmware = {fw:?}\nmem = \"64M\"\nnum-wps = 6\n[platform]\nname = \"qemu-max\"\n"
            )
            .as_bytes(),
        );
        let o = realm(&["measure", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("--num-wps 6 is more than the qemu-max platform"),
            "{}",
            stderr(&o)
        );
        // Flags over the file.
        let o = realm(&["measure", cfg.to_str().unwrap(), "--platform-wps", "6"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }

    #[test]
    fn realm_platform_prints_a_profile_and_its_features_register() {
        let o = realm(&["platform", "qemu-max", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["rmi_features0"], "0x28f34317f34");
        assert_eq!(v["watchpoints"], 4);
        let o = realm(&["platform"]);
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.starts_with("platform"), "{text}");
        assert!(text.contains("max"), "{text}");
        assert!(text.contains("0x2bffcf3ff34"), "{text}");
        let o = realm(&["platform", "fvp", "--platform-sve-vl", "512"]);
        assert!(String::from_utf8_lossy(&o.stdout).contains("up to 512 bits"));
        let o = realm(&["platform", "m1"]);
        assert_eq!(o.status.code(), Some(2));
    }
}
