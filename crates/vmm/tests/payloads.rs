//! The built-in payloads on realm-a64 through the whole simulated stack, for ABI v10 and v12: what each
//! prints and the exits the VMM sees, in order, per vCPU.

mod support {
    pub mod payloads;
}

#[cfg(test)]
mod tests {
    use realm_vmm::config::AbiRevision;
    use realm_vmm::exits::ExitStatus;
    use realm_vmm::launch::{LaunchOutcome, LaunchReport};
    use realm_vmm::payload;

    fn run(abi: AbiRevision, name: &str, cpus: u32) -> (LaunchReport, String) {
        let (report, out, _) = super::support::payloads::launch(abi, name, cpus);
        (report, out)
    }

    fn mmio_then_off(n: usize) -> Vec<&'static str> {
        let mut v = vec!["mmio"; n];
        v.push("system-event");
        v
    }

    #[test]
    fn hello_exits_once_per_character_then_powers_off() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (report, out) = run(abi, "hello", 1);
            assert_eq!(out, payload::HELLO_MESSAGE, "{abi:?}");
            assert_eq!(report.outcome, LaunchOutcome::Stopped(ExitStatus::PowerOff));
            let run = report.run.expect("the realm ran");
            assert_eq!(
                run.sequence,
                [mmio_then_off(payload::HELLO_MESSAGE.len())],
                "{abi:?}: one MMIO exit per byte, then SYSTEM_OFF"
            );
            assert!(run.instructions.is_some_and(|n| n > 20), "{abi:?}: {run:?}");
        }
    }

    /// rsi-tour: every character is an MMIO exit; the RIPAS change to EMPTY reaches the VMM as one
    /// KVM_EXIT_MEMORY_FAULT (a shared conversion) between the IPA_STATE_SET line's prefix and its result;
    /// the other RSI calls (and the host call, answered in the kernel) never reach the VMM.
    #[test]
    fn rsi_tour_exits_are_mmio_one_memory_fault_and_the_power_off() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (report, out) = run(abi, "rsi-tour", 1);
            assert_eq!(report.outcome, LaunchOutcome::Stopped(ExitStatus::PowerOff));
            let seq = &report.run.expect("ran").sequence[0];
            let fault = seq.iter().position(|e| *e == "memory-fault");
            assert_eq!(
                seq.iter().filter(|e| **e == "memory-fault").count(),
                1,
                "{abi:?}"
            );
            // The characters printed before the IPA_STATE_SET result line: everything up to its start.
            let before = out.find("RSI_IPA_STATE_SET").unwrap();
            assert_eq!(
                fault,
                Some(before),
                "{abi:?}: the conversion after {before} characters"
            );
            let mut expect = mmio_then_off(out.len());
            expect.insert(before, "memory-fault");
            assert_eq!(seq, &expect, "{abi:?}");
        }
    }

    /// smp with 5 vCPUs: vCPU 0 is first to print (its banner), each vCPU's exits are MMIO only, and exactly
    /// one vCPU's sequence ends with the SYSTEM_OFF event.
    #[test]
    fn smp_vcpus_print_and_one_powers_off() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (report, out) = run(abi, "smp", 5);
            assert_eq!(report.outcome, LaunchOutcome::Stopped(ExitStatus::PowerOff));
            assert_eq!(
                out.lines()
                    .filter(|l| l.starts_with("MPIDR 0x8000000"))
                    .count(),
                5
            );
            let run = report.run.expect("ran");
            assert_eq!(run.sequence.len(), 5, "{abi:?}");
            let ends = run
                .sequence
                .iter()
                .filter(|s| s.last() == Some(&"system-event"))
                .count();
            assert_eq!(ends, 1, "{abi:?}: {:?}", run.sequence);
            for (i, s) in run.sequence.iter().enumerate() {
                let body = s.strip_suffix(&["system-event"]).unwrap_or(s);
                assert!(
                    body.iter().all(|e| *e == "mmio"),
                    "{abi:?}: vCPU {i} saw {s:?}"
                );
                // "MPIDR 0x8000000N\n" is 17 characters.
                assert!(body.len() >= 17, "{abi:?}: vCPU {i} printed {}", body.len());
            }
            assert_eq!(
                run.exits.get("mmio").copied(),
                Some(out.len() as u64),
                "{abi:?}"
            );
        }
    }
}
