//! The attestation loop end to end (issue 13), ABI v10 and v12: `realm attest` launches the attest payload,
//! which asks the VMM for the challenge and hands back a CCA token through shared memory; the token verifies
//! (`realm attest` itself, and `realm verify` against `realm measure`'s reference values for the same
//! firmware and `realm platform endorsements`), and is rejected for a realm with a different image or
//! another challenge.

mod cli;
mod common;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use realm_vmm::config::{AbiRevision, Layout};
    use realm_vmm::exits::{ExitStatus, MESSAGE_CHALLENGE, MESSAGE_TOKEN};
    use realm_vmm::launch::LaunchOutcome;

    use super::cli::realm;
    use super::common::{config, launch};

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn path(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    /// 64 bytes 0x00..0x3f.
    fn challenge() -> String {
        hex::encode((0u8..64).collect::<Vec<_>>())
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("realm-attest-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `realm measure -f <payload bytes> --reference-values` → the reference values file.
    fn reference_values(dir: &Path, abi: &str, name: &str, firmware: &[u8]) -> PathBuf {
        let fw = dir.join(format!("{name}.bin"));
        std::fs::write(&fw, firmware).unwrap();
        let rv = dir.join(format!("{name}-{abi}.json"));
        let m = realm(&[
            "measure",
            "-f",
            path(&fw),
            "--abi",
            abi,
            "--reference-values",
            path(&rv),
        ]);
        assert!(m.status.success(), "{}", text(&m.stderr));
        rv
    }

    #[test]
    fn realm_attest_gets_a_token_realm_verify_trusts_for_this_realm_only() {
        let dir = scratch("cli");
        let target = realm_vmm::payload::Target::kvmtool(1);
        let endorsements = dir.join("endorsements.json");
        let e = realm(&["platform", "endorsements", "--json"]);
        assert!(e.status.success(), "{}", text(&e.stderr));
        std::fs::write(&endorsements, &e.stdout).unwrap();
        let c = challenge();
        for abi in ["v12", "v10"] {
            let token = dir.join(format!("token-{abi}.cbor"));
            let o = realm(&[
                "attest",
                "--abi",
                abi,
                "--challenge",
                &c,
                "-o",
                path(&token),
            ]);
            let out = text(&o.stdout);
            assert_eq!(o.status.code(), Some(0), "{abi}: {out}{}", text(&o.stderr));
            assert!(
                out.starts_with(realm_vmm::payload::attest::ATTEST_BANNER),
                "{abi}: {out}"
            );
            for line in [
                format!("challenge from the VMM: 0x{c}"),
                "RSI_ATTESTATION_TOKEN_INIT status 0x0".into(),
                "attest: token handed to the VMM".into(),
                "  ok   RIM".into(),
                "  ok   challenge".into(),
                "verdict: TRUSTED".into(),
            ] {
                assert!(
                    out.lines().any(|l| l == line),
                    "{abi}: no {line:?} in\n{out}"
                );
            }
            // The signature was interrupted once (a host IRQ exit), then the token came in one piece.
            let n = std::fs::metadata(&token).unwrap().len();
            assert!(
                out.contains(&format!(
                    "RSI_ATTESTATION_TOKEN_CONTINUE status 0x0: {n:#x} bytes, 0x1 INCOMPLETE\n"
                )),
                "{abi}: {out}"
            );

            // `realm verify` against `realm measure` of the same firmware: trusted.
            let rv = reference_values(&dir, abi, "attest", &realm_vmm::payload::attest(&target));
            let args = |rv: &Path, c: &str| {
                realm(&[
                    "verify",
                    path(&token),
                    "--challenge",
                    c,
                    "--endorsements",
                    path(&endorsements),
                    "--reference-values",
                    path(rv),
                ])
            };
            let v = args(&rv, &c);
            assert_eq!(v.status.code(), Some(0), "{abi}: {}", text(&v.stdout));
            // A realm with another image (the hello payload): its RIM is not this token's.
            let other = reference_values(
                &dir,
                abi,
                "hello",
                &realm_vmm::payload::hello(target.uart_base),
            );
            let v = args(&other, &c);
            assert_eq!(v.status.code(), Some(1), "{abi}: {}", text(&v.stdout));
            assert!(
                text(&v.stdout).contains("  FAIL RIM"),
                "{abi}: {}",
                text(&v.stdout)
            );
            let o = realm(&[
                "attest",
                "--abi",
                abi,
                "--challenge",
                &c,
                "-o",
                path(&token),
                "--reference-values",
                path(&other),
            ]);
            assert_eq!(o.status.code(), Some(1), "{abi}: {}", text(&o.stdout));
            assert!(text(&o.stdout).contains("verdict: NOT TRUSTED"));
            // Another challenge.
            let v = args(&rv, "ff");
            assert_eq!(v.status.code(), Some(1), "{abi}: {}", text(&v.stdout));
            assert!(
                text(&v.stdout).contains("  FAIL challenge"),
                "{abi}: {}",
                text(&v.stdout)
            );
        }
        let o = realm(&["attest", "--challenge", "zz", "-o", path(&dir.join("t"))]);
        assert_eq!(o.status.code(), Some(2), "a bad challenge is bad input");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Through the library: the VMM saw the challenge request, then the token; the realm's exits are its UART
    /// writes, the RIPAS change of the shared granules, the two doorbells, and SYSTEM_OFF (the interrupted
    /// signature's IRQ exit stays in the kernel).
    #[test]
    fn the_vmm_receives_the_challenge_request_then_the_token() {
        for abi in [AbiRevision::V12, AbiRevision::V10] {
            let (out, report) = launch(&config(abi, Layout::Kvmtool, "attest"));
            assert_eq!(
                report.outcome,
                LaunchOutcome::Stopped(ExitStatus::PowerOff),
                "{abi:?}: {out}"
            );
            let kinds: Vec<u32> = report.messages.iter().map(|m| m.kind).collect();
            assert_eq!(kinds, [MESSAGE_CHALLENGE, MESSAGE_TOKEN], "{abi:?}");
            assert!(report.messages[0].data.is_empty());
            let token = &report.messages[1].data;
            assert!(
                out.contains(&format!("status 0x0: {:#x} bytes", token.len())),
                "{abi:?}: {out}"
            );
            // A CCA token: CBOR tag 399 (0xd9 0x01 0x8f).
            assert_eq!(token[..3], [0xd9, 0x01, 0x8f], "{abi:?}");
            let run = report.run.unwrap();
            let seq = &run.sequence[0];
            let others: Vec<&str> = seq.iter().copied().filter(|e| *e != "mmio").collect();
            assert_eq!(others, ["memory-fault", "system-event"], "{abi:?}");
            assert_eq!(
                seq.len() as u64,
                out.len() as u64 + 2 + 2,
                "{abi:?}: one MMIO exit per UART byte, two doorbells, the RIPAS change, SYSTEM_OFF"
            );
        }
    }
}
