//! `realm launch`: agrees with `measure`, says plainly that the simulated realm has no code to run (unless the
//! realm CPU runs it), runs the hello payload end to end on realm-a64, and reports the absence of a
//! realm-capable KVM with exit code 2.

mod cli;

#[cfg(test)]
mod tests {

    use super::cli::realm;

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
                let l = realm(&[&["launch", "--cpu", "idle"], &args[..]].concat());
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

    /// The line after `prefix` in `out`, trimmed.
    fn line_after<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    }

    /// rsi-tour on both ABI revisions: every RSI call succeeds, the RIM the realm reads from inside equals
    /// the one the host computed (the launch summary's, and `realm measure`'s of the same firmware), the
    /// RIPAS change to EMPTY is accepted and visible, and the host call comes back NOT_SUPPORTED.
    #[test]
    fn rsi_tour_reads_the_rim_realm_measure_computes() {
        let dir = std::env::temp_dir().join(format!("realm-cli-rsi-tour-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (abi, hash, ipa) in [("v12", "sha256", "0x21"), ("v10", "sha512", "0x21")] {
            let o = realm(&[
                "launch",
                "--payload",
                "rsi-tour",
                "--abi",
                abi,
                "--hash",
                hash,
            ]);
            assert!(o.status.success(), "{abi}: {}", text(&o.stderr));
            let out = text(&o.stdout);
            assert!(
                out.starts_with(realm_vmm::payload::rsi_tour::RSI_TOUR_BANNER),
                "{abi}: {out}"
            );
            let inside = line_after(&out, "  RIM ").expect("the RIM line");
            let host = line_after(&out, "RIM        ").expect("the summary's RIM");
            assert_eq!(
                inside.len(),
                if hash == "sha256" { 64 } else { 128 },
                "{abi}: {inside}"
            );
            assert_eq!(
                inside, host,
                "{abi}: RIM read inside the realm vs the host's"
            );
            let expect = [
                format!(
                    "RSI_REALM_CONFIG       status 0x0 ipa_width {ipa} hash_algo {}",
                    if hash == "sha256" { "0x0" } else { "0x1" }
                ),
                "RSI_VERSION            status 0x0 lower 0x10000 higher 0x10000".into(),
                "RSI_MEASUREMENT_EXTEND slot 1 += \"rsi-tour\" status 0x0".into(),
                "RSI_IPA_STATE_GET      0x80002000 status 0x0 top 0x80003000 ripas 0x1".into(),
                "RSI_IPA_STATE_SET      EMPTY status 0x0 next 0x80003000 response 0x0".into(),
                "RSI_IPA_STATE_GET      0x80002000 status 0x0 top 0x80003000 ripas 0x0".into(),
                "RSI_HOST_CALL          imm 0x1234 status 0x0 gprs[0] 0xffffffffffffffff".into(),
                "rsi-tour: done".into(),
            ];
            for line in &expect {
                assert!(
                    out.lines().any(|l| l == line),
                    "{abi}: missing {line:?} in\n{out}"
                );
            }
            assert!(out.contains("realm stopped: PowerOff"), "{abi}: {out}");

            // `realm measure` of the same bytes as a firmware file.
            let fw = dir.join(format!("rsi-tour-{abi}.bin"));
            let cfg_target = realm_vmm::payload::Target::kvmtool(1);
            std::fs::write(&fw, realm_vmm::payload::rsi_tour(&cfg_target)).unwrap();
            let m = realm(&[
                "measure",
                "-f",
                fw.to_str().unwrap(),
                "--abi",
                abi,
                "--hash",
                hash,
            ]);
            assert!(m.status.success(), "{abi}: {}", text(&m.stderr));
            assert!(
                text(&m.stdout).contains(inside),
                "{abi}: realm measure printed\n{}",
                text(&m.stdout)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// smp on both ABI revisions: vCPU 0 powers the others on, each reports its MPIDR exactly once, the last
    /// powers the realm off (a lost exclusive increment would leave it running until the timeout).
    #[test]
    fn smp_brings_up_every_vcpu_once() {
        for (abi, cpus) in [("v12", 20u32), ("v10", 7)] {
            let n = cpus.to_string();
            let o = realm(&[
                "launch",
                "--payload",
                "smp",
                "--abi",
                abi,
                "-c",
                &n,
                "--timeout",
                "60",
            ]);
            assert!(o.status.success(), "{abi}: {}", text(&o.stderr));
            let out = text(&o.stdout);
            assert!(
                out.starts_with(&format!("smp: vCPU 0 powers on {} more\n", cpus - 1)),
                "{abi}: {out}"
            );
            let mut seen: Vec<u64> = out
                .lines()
                .filter_map(|l| l.strip_prefix("MPIDR 0x"))
                .map(|h| u64::from_str_radix(h, 16).unwrap())
                .collect();
            seen.sort_unstable();
            let want: Vec<u64> = (0..cpus)
                .map(|i| (1 << 31) | realm_vmm::payload::smp::mpidr_of(i))
                .collect();
            assert_eq!(seen, want, "{abi}: every vCPU's MPIDR once\n{out}");
            assert!(
                out.contains(&format!("smp: all {cpus} vCPUs reported\n")),
                "{abi}: {out}"
            );
            assert!(out.contains("realm stopped: PowerOff"), "{abi}: {out}");
        }
    }

    /// Ctrl-C (SIGINT) stops a realm that never stops by itself: the vCPUs are kicked out and the launch
    /// reports `Interrupted` with its summary, instead of the process dying, and exits 130.
    #[test]
    fn ctrl_c_stops_a_running_realm_cleanly() {
        let dir = std::env::temp_dir().join(format!("realm-cli-ctrlc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = dir.join("Image");
        std::fs::write(&k, realm_vmm::image::synthetic_image(65_536, 0)).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_realm"))
            .args([
                "launch",
                "-k",
                k.to_str().unwrap(),
                "-m",
                "64M",
                "--cpu",
                "a64",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(130),
            "Ctrl-C exits 128 + SIGINT: {:?}: {}",
            o.status,
            text(&o.stderr)
        );
        assert_eq!(
            text(&o.stderr),
            "realm: the realm stopped: Interrupted (exit code 130)\n"
        );
        let out = text(&o.stdout);
        assert!(out.contains("realm stopped: Interrupted"), "{out}");
        assert!(out.contains("\nrun        "), "the run summary: {out}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `--list-payloads` prints the payload registry (name and description); an unknown name is bad input
    /// naming the payloads that exist.
    #[test]
    fn the_payloads_are_listed_and_unknown_names_refused() {
        let o = realm(&["launch", "--list-payloads"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        let names: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            names,
            [
                "hello",
                "rsi-tour",
                "smp",
                "shared-memory",
                "mmu",
                "timer",
                "ipi",
                "uart-irq",
                "attest"
            ],
            "{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("hello") && l.ends_with("PSCI SYSTEM_OFF")),
            "the hello line lacks its description: {out}"
        );
        let o = realm(&["launch", "--payload", "nope"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("hello"), "{}", text(&o.stderr));
    }

    /// A realm that never stops by itself (an Image of zeros: UDF, then an exception loop) is stopped cleanly
    /// by --timeout, with exit code 124; control keeps returning to the host meanwhile (the RMM's
    /// handled-exit bound). The realm CPU is the default: no --cpu flag.
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
            "--timeout",
            "0.3",
        ]);
        assert_eq!(
            o.status.code(),
            Some(124),
            "a timeout exits as timeout(1) does: {}",
            text(&o.stderr)
        );
        assert_eq!(
            text(&o.stderr),
            "realm: the realm stopped: TimedOut (exit code 124)\n"
        );
        assert!(
            text(&o.stdout).contains("realm stopped: TimedOut"),
            "{}",
            text(&o.stdout)
        );
        let o = realm(&["launch", "--payload", "hello", "--timeout", "-1"]);
        assert_eq!(o.status.code(), Some(2));
    }
}
