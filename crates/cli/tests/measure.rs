//! `realm measure`: output shape, agreement with a TOML file, and the messages and exit codes of bad input.

mod cli;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::{Command, Output};

    use super::cli::realm;

    fn tmp(name: &str, data: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("realm-cli-measure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    fn stdout(o: &Output) -> String {
        String::from_utf8(o.stdout.clone()).unwrap()
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8(o.stderr.clone()).unwrap()
    }

    fn last_line(o: &Output) -> String {
        stdout(o).lines().last().unwrap_or_default().to_owned()
    }

    #[test]
    fn prints_the_rim_last_and_json_and_explain() {
        let k = tmp("Image", &realm_vmm::image::synthetic_image(200_000, 1));
        let k = k.to_str().unwrap();
        let o = realm(&["measure", "-k", k, "-m", "128M"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rim = last_line(&o);
        assert_eq!(rim.len(), 64);
        assert!(
            rim.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );

        let o = realm(&["measure", "-k", k, "-m", "128M", "--json"]);
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["rim"], rim.as_str());
        assert_eq!(v["hash_algo"], "sha256");
        assert_eq!(v["rems"].as_array().unwrap().len(), 4);
        assert_eq!(v["steps"][0]["step"], "create_vm");

        let o = realm(&["measure", "-k", k, "-m", "128M", "--json", "--explain"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let ext = v["extensions"].as_array().unwrap();
        assert_eq!(ext[0]["kind"], "realm_create");
        assert_eq!(ext.last().unwrap()["rim_after"], rim.as_str());

        let o = realm(&["measure", "-k", k, "-m", "128M", "--explain", "--plan"]);
        let text = stdout(&o);
        assert!(text.contains("realm_create"));
        assert!(text.contains("realm construction plan (ABI v12):"));
        assert_eq!(last_line(&o), rim);

        // sha512 under v10: 128 hex digits; a different RIM.
        let o = realm(&[
            "measure", "-k", k, "-m", "128M", "--abi", "v10", "--hash", "sha512",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(last_line(&o).len(), 128);
    }

    #[test]
    fn toml_file_gives_the_same_rim_as_flags() {
        let k = tmp("Image2", &realm_vmm::image::synthetic_image(100_000, 2));
        let i = tmp("initrd2", &realm_vmm::image::filler(12345, 3));
        let cfg = tmp(
            "realm.toml",
            b"kernel = \"Image2\"\ninitrd = \"initrd2\"\nmem = \"256M\"\ncpus = 2\nlayout = \"qemu\"\nabi = \"v10\"\n",
        );
        let a = realm(&["measure", cfg.to_str().unwrap()]);
        assert!(a.status.success(), "{}", stderr(&a));
        let b = realm(&[
            "measure",
            "-k",
            k.to_str().unwrap(),
            "-i",
            i.to_str().unwrap(),
            "-m",
            "256M",
            "-c",
            "2",
            "--layout",
            "qemu",
            "--abi",
            "v10",
        ]);
        assert_eq!(last_line(&a), last_line(&b));
        // Flags override the file.
        let c = realm(&["measure", cfg.to_str().unwrap(), "--cpus", "1"]);
        assert!(c.status.success());
    }

    #[test]
    fn verbose_shows_the_ioctl_and_rmi_trace_on_stderr() {
        let k = tmp("Image-v", &realm_vmm::image::synthetic_image(4096, 1));
        let o = realm(&["-v", "measure", "-k", k.to_str().unwrap(), "-m", "64M"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("ioctl"), "an ioctl span: {err:.400}");
        assert!(err.contains("RMI_REALM_CREATE"), "the RMI call: {err:.400}");
        // The kernel layer names each ioctl and each RMI call it issues, with its result.
        assert!(err.contains("ioctl req=\"KVM_CREATE_VM\""), "{err:.400}");
        assert!(
            err.contains("rmi cmd=\"RMI_REALM_CREATE\" args=[0x"),
            "{err:.400}"
        );
        assert!(err.contains("DEBUG"), "at debug level");
        // Without -v (and RUST_LOG unset) stderr stays quiet.
        let o = Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(["measure", "-k", k.to_str().unwrap(), "-m", "64M"])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(o.status.success());
        assert_eq!(stderr(&o), "");
    }

    fn fails(args: &[&str], message: &str) {
        let o = realm(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim_end(), message, "{args:?}");
        assert!(o.stdout.is_empty());
    }

    #[test]
    fn bad_input_exits_2_with_a_message() {
        let k = tmp("Image3", &realm_vmm::image::synthetic_image(100_000, 4));
        let k = k.to_str().unwrap();
        fails(
            &["measure", "-k", "/nonexistent/Image"],
            "realm: reading the kernel image /nonexistent/Image: No such file or directory (os error 2)",
        );
        fails(
            &["measure"],
            "realm: nothing to boot: give --kernel or --firmware",
        );
        fails(
            &["measure", "-k", k, "-m", "3M"],
            "realm: memory size 0x300000 must be a non-zero multiple of 2 MiB",
        );
        fails(
            &["measure", "-k", k, "--abi", "v11"],
            "realm: unknown ABI revision \"v11\" (expected v10 or v12)",
        );
        fails(
            &["measure", "-k", k, "--hash", "sha512"],
            "realm: ABI v12 cannot configure the measurement algorithm: its realms always use SHA-256 \
             (kvm-realm-abi §1.1); use --abi v10 or drop --hash",
        );
        fails(
            &["measure", "-k", k, "--rpv", "01"],
            "realm: ABI v12 cannot configure a personalization value: its realms always have a zero RPV \
             (kvm-realm-abi §1.1); use --abi v10 or drop --rpv",
        );
        fails(
            &[
                "measure",
                "-k",
                k,
                "--abi",
                "v10",
                "--rpv",
                &"ab".repeat(65),
            ],
            "realm: personalization value is 65 bytes; at most 64",
        );
        fails(
            &["measure", "-k", k, "-m", "2M"],
            "realm: placing the images in the kvmtool layout: 2 MiB of RAM is too little for the kvmtool layout \
             (needs at least 4 MiB)",
        );
        let big = tmp("big", &vec![0u8; 70 << 20]);
        fails(
            &["measure", "-k", big.to_str().unwrap(), "-m", "64M"],
            "realm: placing the images in the kvmtool layout: kernel image of 70 MiB does not fit in RAM below 0x84000000",
        );
        let initrd = tmp("initrd-big", &vec![1u8; 63 << 20]);
        fails(
            &[
                "measure",
                "-k",
                k,
                "-i",
                initrd.to_str().unwrap(),
                "-m",
                "64M",
            ],
            "realm: placing the images in the kvmtool layout: the initrd at 0x7feffffc overlaps the kernel image \
             (which ends at 0x80020000); give more memory",
        );
        let empty = tmp("empty", b"");
        fails(
            &["measure", "-f", empty.to_str().unwrap()],
            &format!("realm: the firmware image {} is empty", empty.display()),
        );
        fails(
            &["measure", "-k", k, "-f", k],
            "realm: --kernel and --firmware cannot be combined (the firmware would load the kernel itself)",
        );
        fails(
            &["measure", "-k", k, "--sve-vl", "100"],
            "realm: SVE vector length 100 bits: must be a multiple of 128 from 128 to 2048",
        );
        fails(
            &["measure", "-k", k, "--unmeasured", "bios"],
            "realm: unknown image \"bios\" (expected firmware, kernel, initrd or dtb)",
        );
        fails(
            &["measure", "/nonexistent.toml"],
            "realm: reading configuration file /nonexistent.toml: No such file or directory (os error 2)",
        );
    }
}
