//! `realm initramfs`: the archive it writes is a newc cpio with /dev/console and /init; the attestation one holds
//! the modules and the challenge; `--token-from` reads the token back from a console log; bad input exits 2.

mod cli;

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::cli::realm;

    #[test]
    fn writes_a_newc_archive_with_console_and_init() {
        let dir = std::env::temp_dir().join(format!("realm-cli-initramfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("init.cpio");
        let o = realm(&[
            "initramfs",
            "-o",
            out.to_str().unwrap(),
            "--message",
            "hello realm",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let a = std::fs::read(&out).unwrap();
        assert_eq!(&a[..6], b"070701", "newc magic");
        for name in [
            &b"dev/console\0"[..],
            b"init\0",
            b"TRAILER!!!\0",
            b"hello realm\n",
        ] {
            assert!(
                a.windows(name.len()).any(|w| w == name),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_unwritable_output_is_bad_input() {
        let o = realm(&["initramfs", "-o", "/nonexistent-dir/x.cpio"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir/x.cpio"));
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("realm-cli-initramfs-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_attestation_archive_holds_the_modules_and_the_challenge() {
        let dir = scratch("attest");
        for m in ["configfs", "tsm_report", "arm-cca-guest"] {
            std::fs::write(dir.join(format!("{m}.ko")), format!("\x7fELF{m}")).unwrap();
        }
        let out = dir.join("attest.cpio");
        let o = realm(&[
            "initramfs",
            "--attest",
            "--challenge",
            "c0ffee",
            "--modules",
            dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let a = std::fs::read(&out).unwrap();
        let has = |n: &[u8]| a.windows(n.len()).any(|w| w == n);
        assert!(has(b"lib/modules/arm-cca-guest.ko\0"));
        assert!(has(b"\x7fELFtsm_report"), "the module's bytes");
        let mut challenge = vec![0xc0, 0xff, 0xee];
        challenge.resize(64, 0);
        assert!(has(&challenge), "the challenge, zero-padded to 64 bytes");

        // A compressed (non-ELF) module and a missing one are bad input naming the file.
        std::fs::write(dir.join("tsm_report.ko"), b"\xfd7zXZ").unwrap();
        let args = |d: &std::path::Path| {
            vec![
                "initramfs".to_string(),
                "--attest".into(),
                "--challenge".into(),
                "00".into(),
                "--modules".into(),
                d.to_str().unwrap().into(),
                "-o".into(),
                out.to_str().unwrap().into(),
            ]
        };
        let run = |a: Vec<String>| {
            Command::new(env!("CARGO_BIN_EXE_realm"))
                .args(a)
                .output()
                .unwrap()
        };
        let o = run(args(&dir));
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("tsm_report.ko: not an ELF module"));
        let o = run(args(&dir.join("nowhere")));
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("configfs.ko"));
        // --attest without --modules is refused by the argument parser.
        let o = realm(&["initramfs", "--attest", "--challenge", "00", "-o", "x"]);
        assert_eq!(o.status.code(), Some(2));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_token_is_read_back_from_a_console_log() {
        let dir = scratch("token");
        let log = dir.join("console.log");
        std::fs::write(
            &log,
            "[ 25.6] Run /init as init process\r\n\r\nrealmkit-attest: token begin\r\nd9018f\r\na1\r\n\r\nrealmkit-attest: token end\r\n",
        )
        .unwrap();
        let out = dir.join("token.cbor");
        let o = realm(&[
            "initramfs",
            "--token-from",
            log.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), [0xd9, 0x01, 0x8f, 0xa1]);
        std::fs::write(&log, "[ 1.0] no token here\n").unwrap();
        let o = realm(&[
            "initramfs",
            "--token-from",
            log.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("realmkit-attest: token begin"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
