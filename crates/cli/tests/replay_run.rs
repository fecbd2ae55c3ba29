//! `realm rmi replay` with real realm code: a host written as a trace session (each line sent to the replay's
//! stdin, each answer read back before the next) creates a realm whose only memory is the rsi-tour payload,
//! enters its REC until it asks for PSCI SYSTEM_OFF, answering every exit as a host would (MMIO writes
//! completed with EMUL_MMIO, the RIPAS change with RMI_RTT_SET_RIPAS, the host call), and reads each exit
//! back from the run page with `read` entries. The UART bytes the exits carry are rsi-tour's text, with the
//! RIM the `measurements` entry reports.

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{ChildStdin, ChildStdout, Command, Stdio};

    use realm_rmm::abi::{self, RmiRealmParams, RmiRecParams};
    use zerocopy::{FromZeros, IntoBytes};

    const DRAM: u64 = 0x8000_0000;
    /// The run page's exit half (`RmiRecRun.exit`), and the offsets in it (DEN0137 1.0-rel0 B4.4.x).
    const EXIT: u64 = 0x800;
    const UART: u64 = 0x0100_0000;
    const IPA_BITS: u32 = 33;

    struct Session {
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
        next: u64,
    }

    impl Session {
        fn send(&mut self, line: &str) -> Option<serde_json::Value> {
            writeln!(self.stdin, "{line}").unwrap();
            self.stdin.flush().unwrap();
            if line.contains("\"write\"") {
                return None;
            }
            let mut answer = String::new();
            self.stdout.read_line(&mut answer).unwrap();
            Some(serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{answer:?}: {e}")))
        }

        fn call(&mut self, fid: u32, args: &[u64]) -> [u64; 5] {
            let args: Vec<String> = args.iter().map(|a| format!("\"{a:#x}\"")).collect();
            let r = self
                .send(&format!(
                    "{{\"fid\": \"{fid:#x}\", \"args\": [{}]}}",
                    args.join(", ")
                ))
                .unwrap();
            ["x0", "x1", "x2", "x3", "x4"].map(|k| {
                let s = r[k].as_str().unwrap();
                u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
            })
        }

        fn ok(&mut self, fid: u32, args: &[u64]) -> [u64; 5] {
            let r = self.call(fid, args);
            assert_eq!(r[0], 0, "fid {fid:#x} {args:x?}: {r:x?}");
            r
        }

        fn write(&mut self, addr: u64, bytes: &[u8]) {
            self.send(&format!(
                "{{\"write\": {{\"addr\": \"{addr:#x}\", \"hex\": \"{}\"}}}}",
                hex::encode(bytes)
            ));
        }

        fn read(&mut self, addr: u64, len: usize) -> Vec<u8> {
            let r = self
                .send(&format!(
                    "{{\"read\": {{\"addr\": \"{addr:#x}\", \"len\": {len}}}}}"
                ))
                .unwrap();
            hex::decode(r["hex"].as_str().expect("a read answer")).unwrap()
        }

        fn u64_at(&mut self, addr: u64) -> u64 {
            u64::from_le_bytes(self.read(addr, 8).try_into().unwrap())
        }

        fn granule(&mut self) -> u64 {
            let g = self.next;
            self.next += 0x1000;
            g
        }

        fn delegated(&mut self) -> u64 {
            let g = self.granule();
            self.ok(abi::RMI_GRANULE_DELEGATE, &[g]);
            g
        }
    }

    #[test]
    fn replay_runs_rsi_tour_until_system_off() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(["rmi", "replay", "--dram", "0x80000000:256M", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut s = Session {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            next: DRAM,
        };

        // REALM_CREATE: 33-bit IPA, one level-1 root, SHA-256.
        let root = s.delegated();
        let rd = s.delegated();
        let mut p = RmiRealmParams::new_zeroed();
        p.s2sz = IPA_BITS;
        p.num_bps = 1;
        p.num_wps = 1;
        p.vmid = 1;
        p.rtt_base = root;
        p.rtt_level_start = 1;
        p.rtt_num_start = 1;
        let params = s.granule();
        s.write(params, p.as_bytes());
        s.ok(abi::RMI_REALM_CREATE, &[rd, params]);
        for level in [2u64, 3] {
            let rtt = s.delegated();
            s.ok(abi::RMI_RTT_CREATE, &[rd, rtt, 0, level]);
        }
        // The payload's four granules at IPA 0, measured.
        let target = realm_vmm::payload::Target {
            uart_base: UART,
            ..realm_vmm::payload::Target::kvmtool(1)
        };
        let code = realm_vmm::payload::rsi_tour(&target);
        for (i, chunk) in code.chunks(0x1000).enumerate() {
            let src = s.granule();
            s.write(src, chunk);
            let data = s.delegated();
            s.ok(abi::RMI_DATA_CREATE, &[rd, data, 0x1000 * i as u64, src, 1]);
        }
        let aux_count = s.ok(abi::RMI_REC_AUX_COUNT, &[rd])[1];
        let mut rp = RmiRecParams::new_zeroed();
        rp.flags = abi::RMI_REC_CREATE_FLAGS_RUNNABLE;
        rp.num_aux = aux_count;
        for a in rp.aux.iter_mut().take(usize::try_from(aux_count).unwrap()) {
            *a = s.delegated();
        }
        let rec = s.delegated();
        let params = s.granule();
        s.write(params, rp.as_bytes());
        s.ok(abi::RMI_REC_CREATE, &[rd, rec, params]);
        s.ok(abi::RMI_REALM_ACTIVATE, &[rd]);
        let rim = s
            .send(&format!("{{\"measurements\": \"{rd:#x}\"}}"))
            .unwrap()["rim"]
            .as_str()
            .unwrap()
            .to_owned();

        // Enter until SYSTEM_OFF.
        let run = s.granule();
        let mut flags = 0u64;
        let mut uart = Vec::new();
        let mut kinds = Vec::new();
        let shared = 1u64 << (IPA_BITS - 1);
        for _ in 0..5000 {
            s.write(run, &flags.to_le_bytes());
            s.ok(abi::RMI_REC_ENTER, &[rec, run]);
            flags = 0;
            let reason = s.u64_at(run + EXIT);
            match reason {
                abi::RMI_EXIT_SYNC => {
                    let esr = s.u64_at(run + EXIT + 0x100);
                    let hpfar = s.u64_at(run + EXIT + 0x110);
                    let far = s.u64_at(run + EXIT + 0x108);
                    assert_eq!(esr >> 26, 0x24, "only data aborts: esr {esr:#x}");
                    assert_eq!(
                        (hpfar << 8) | far,
                        UART | shared,
                        "the UART through the alias"
                    );
                    uart.push(s.u64_at(run + EXIT + 0x200).to_le_bytes()[0]);
                    flags = abi::REC_ENTRY_FLAG_EMUL_MMIO;
                    kinds.push("mmio");
                }
                abi::RMI_EXIT_RIPAS_CHANGE => {
                    let base = s.u64_at(run + EXIT + 0x500);
                    let top = s.u64_at(run + EXIT + 0x508);
                    assert_eq!((base, top), (0x2000, 0x3000));
                    s.ok(abi::RMI_RTT_SET_RIPAS, &[rd, rec, base, top]);
                    kinds.push("ripas-change");
                }
                abi::RMI_EXIT_HOST_CALL => {
                    assert_eq!(
                        s.u64_at(run + EXIT + 0x600) & 0xFFFF,
                        0x1234,
                        "the immediate"
                    );
                    // gprs[0] = NOT_SUPPORTED, as the kernel answers an unknown function.
                    s.write(run + 0x200, &u64::MAX.to_le_bytes());
                    kinds.push("host-call");
                }
                abi::RMI_EXIT_PSCI => {
                    assert_eq!(s.u64_at(run + EXIT + 0x200), 0x8400_0008, "PSCI SYSTEM_OFF");
                    kinds.push("psci");
                    break;
                }
                other => panic!("unexpected exit {other} after {kinds:?}"),
            }
        }
        drop(s.stdin);
        assert!(child.wait().unwrap().success());
        assert_eq!(kinds.last(), Some(&"psci"), "entered until SYSTEM_OFF");
        let text = String::from_utf8(uart).unwrap();
        assert!(
            text.starts_with("rsi-tour: RSI 1.0 from inside the realm\n"),
            "{text}"
        );
        assert!(text.ends_with("rsi-tour: done\n"), "{text}");
        assert!(
            text.contains(&format!("  RIM {rim}\n")),
            "RIM {rim} in\n{text}"
        );
        assert!(
            text.contains("ripas 0x0\n"),
            "the granule became EMPTY:\n{text}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "ripas-change").count(), 1);
        assert_eq!(kinds.iter().filter(|k| **k == "host-call").count(), 1);
    }
}
