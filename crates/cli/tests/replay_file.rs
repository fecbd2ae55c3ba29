//! `realm rmi replay` of the committed trace `tests/data/hello.replay.jsonl` (issue 12): a host session
//! written out by hand, granule by granule — delegate, REALM_CREATE (33-bit IPA, one level-1 root, SHA-256),
//! two RTT_CREATEs, the hello payload as two measured DATA granules at IPA 0, sixteen aux granules and a
//! runnable REC, REALM_ACTIVATE, the measurements — then 21 RMI_REC_ENTERs on the REC's code, each followed
//! by `read`s of the run page's exit reason and `gprs[0]`, and the EMUL_MMIO entry flag written back before
//! the next. The exits read back are the realm's UART writes, "Hello from a realm!\n" byte by byte, then the
//! PSCI exit for SYSTEM_OFF.

#[cfg(test)]
mod tests {
    use std::process::Command;

    const TRACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hello.replay.jsonl");
    /// The run page: its exit half's `exit_reason` and `gprs[0]`.
    const EXIT_REASON: &str = "0x8000a800";
    const EXIT_GPRS0: &str = "0x8000aa00";

    fn u64_of(hex: &str) -> u64 {
        u64::from_le_bytes(hex::decode(hex).unwrap().try_into().unwrap())
    }

    #[test]
    fn the_committed_trace_runs_hello_until_system_off() {
        let o = Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(["rmi", "replay", "--dram", "0x80000000:256M", TRACE])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out: Vec<serde_json::Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();

        // Every RMI call succeeds.
        let calls: Vec<&serde_json::Value> =
            out.iter().filter(|v| v.get("fid").is_some()).collect();
        for c in &calls {
            assert_eq!(c["x0"], "0x0", "{c}");
        }
        let enters = calls.iter().filter(|c| c["fid"] == "0xc400015c").count();
        assert_eq!(enters, 21, "REC_ENTERs");
        let rec_aux = calls.iter().find(|c| c["fid"] == "0xc4000167").unwrap();
        assert_eq!(rec_aux["x1"], "0x10", "the trace delegates 16 aux granules");
        let rim = out.iter().find_map(|v| v.get("rim")).unwrap();
        assert_eq!(rim.as_str().unwrap().len(), 64, "a SHA-256 RIM: {rim}");

        // The exits, read back in pairs: reason, gprs[0].
        let reads: Vec<(&str, u64)> = out
            .iter()
            .filter_map(|v| Some((v.get("read")?.as_str()?, u64_of(v["hex"].as_str()?))))
            .collect();
        assert_eq!(reads.len(), 42);
        let mut uart = Vec::new();
        for (i, pair) in reads.chunks(2).enumerate() {
            assert_eq!((pair[0].0, pair[1].0), (EXIT_REASON, EXIT_GPRS0));
            if i < 20 {
                assert_eq!(pair[0].1, 0, "exit {i}: RMI_EXIT_SYNC (an MMIO write)");
                uart.push(u8::try_from(pair[1].1).unwrap());
            } else {
                assert_eq!(pair[0].1, 3, "the last exit: RMI_EXIT_PSCI");
                assert_eq!(pair[1].1, 0x8400_0008, "PSCI SYSTEM_OFF");
            }
        }
        assert_eq!(uart, realm_vmm::payload::HELLO_MESSAGE.as_bytes());
    }

    /// The code the trace writes is the hello payload the VMM builds for the kvmtool UART (so the trace
    /// follows the payload when it changes).
    #[test]
    fn the_trace_carries_the_hello_payload() {
        let trace = std::fs::read_to_string(TRACE).unwrap();
        let code = trace
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["write"]["addr"] == "0x80005000")
            .map(|v| hex::decode(v["write"]["hex"].as_str().unwrap()).unwrap())
            .unwrap();
        let hello = realm_vmm::payload::hello(0x0100_0000);
        assert_eq!(code[..], hello[..code.len()], "the payload's code");
        assert!(
            hello[code.len()..].iter().all(|b| *b == 0),
            "the rest is zero"
        );
    }
}
