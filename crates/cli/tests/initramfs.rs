//! `realm initramfs`: the archive it writes is a newc cpio with /dev/console and /init; bad input exits 2.

#[cfg(test)]
mod tests {
    use std::process::{Command, Output};

    fn realm(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(args)
            .output()
            .unwrap()
    }

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
}
