//! `realm launch`: agrees with `measure`, says plainly that the simulated realm has no code to run (unless the
//! realm CPU runs it), runs the hello payload end to end on realm-a64, and reports the absence of a
//! realm-capable KVM with exit code 2.

#[cfg(test)]
mod tests {
    use std::process::{Command, Output};

    fn realm(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(args)
            .output()
            .unwrap()
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn launch_and_measure_agree() {
        let dir = std::env::temp_dir().join(format!("realm-cli-launch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = dir.join("Image");
        std::fs::write(&k, realm_vmm::image::synthetic_image(300_000, 5)).unwrap();
        let k = k.to_str().unwrap();
        for abi in ["v10", "v12"] {
            for layout in ["kvmtool", "qemu"] {
                let args = [
                    "-k", k, "-m", "128M", "-c", "2", "--abi", abi, "--layout", layout,
                ];
                let m = realm(&[&["measure"], &args[..]].concat());
                assert!(m.status.success(), "{}", text(&m.stderr));
                let l = realm(&[&["launch"], &args[..]].concat());
                assert!(l.status.success(), "{}", text(&l.stderr));
                let out = text(&l.stdout);
                assert!(out.contains("run no code with the idle CPU model"), "{out}");
                let rim = text(&m.stdout).lines().last().unwrap().to_owned();
                assert!(
                    out.contains(&format!("RIM        {rim}")),
                    "{abi} {layout}: {out}"
                );
            }
        }
    }

    #[test]
    fn no_realm_capable_kvm_here_is_exit_2() {
        let dir = std::env::temp_dir().join(format!("realm-cli-launch-kvm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = dir.join("Image");
        std::fs::write(&k, realm_vmm::image::synthetic_image(4096, 5)).unwrap();
        let o = realm(&["launch", "--backend", "kvm", "-k", k.to_str().unwrap()]);
        if o.status.success() {
            #[expect(clippy::print_stderr, reason = "a skipped test says why")]
            {
                eprintln!("skipped: this machine has a realm-capable KVM");
            }
            return;
        }
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o.stderr).starts_with("realm: no realm-capable KVM on this machine"),
            "{}",
            text(&o.stderr)
        );
        let o = realm(&["launch", "--backend", "xen", "-k", k.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            text(&o.stderr).trim_end(),
            "realm: unknown backend \"xen\" (expected simulated or kvm)"
        );
    }

    /// The hello payload on realm-a64 through the whole stack, both ABI revisions and layouts: an RSI call
    /// (RSI_REALM_CONFIG) answered by the RMM, UART writes through the unprotected alias as KVM_EXIT_MMIO, and
    /// PSCI SYSTEM_OFF as KVM_EXIT_SYSTEM_EVENT.
    #[test]
    fn the_hello_payload_runs_on_the_realm_cpu() {
        for abi in ["v10", "v12"] {
            for layout in ["kvmtool", "qemu"] {
                let o = realm(&[
                    "launch",
                    "--payload",
                    "hello",
                    "--abi",
                    abi,
                    "--layout",
                    layout,
                ]);
                assert!(o.status.success(), "{abi} {layout}: {}", text(&o.stderr));
                let out = text(&o.stdout);
                assert!(
                    out.starts_with("Hello from a realm!\n"),
                    "{abi} {layout}: {out}"
                );
                assert!(
                    out.contains("realm stopped: PowerOff"),
                    "{abi} {layout}: {out}"
                );
            }
        }
        let o = realm(&["launch", "--payload", "hello", "--cpu", "idle"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            !text(&o.stdout).contains("Hello"),
            "the idle CPU runs no code"
        );
    }

    /// `--list-payloads` prints the payload registry (name and description); an unknown name is bad input
    /// naming the payloads that exist.
    #[test]
    fn the_payloads_are_listed_and_unknown_names_refused() {
        let o = realm(&["launch", "--list-payloads"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.lines()
                .any(|l| l.starts_with("hello  RSI_REALM_CONFIG")),
            "the hello line is missing: {out}"
        );
        let o = realm(&["launch", "--payload", "nope"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("hello"), "{}", text(&o.stderr));
    }

    /// A realm that never stops by itself (an Image of zeros: UDF, then an exception loop) is stopped cleanly
    /// by --timeout; control keeps returning to the host meanwhile (the RMM's handled-exit bound).
    #[test]
    fn a_runaway_realm_is_stopped_by_the_timeout() {
        let dir = std::env::temp_dir().join(format!("realm-cli-runaway-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = dir.join("Image");
        std::fs::write(&k, realm_vmm::image::synthetic_image(65_536, 0)).unwrap();
        let o = realm(&[
            "launch",
            "-k",
            k.to_str().unwrap(),
            "-m",
            "64M",
            "--cpu",
            "a64",
            "--timeout",
            "0.3",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("realm stopped: TimedOut"),
            "{}",
            text(&o.stdout)
        );
        let o = realm(&["launch", "--payload", "hello", "--timeout", "-1"]);
        assert_eq!(o.status.code(), Some(2));
    }
}
