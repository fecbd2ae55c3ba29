//! The mmu payload through the whole stack, ABI v10 and v12, both layouts: stage 1 on, a BRK and a level-1
//! translation fault taken and handled at EL1 (ESR_EL1 classes 0x3c and 0x25, FAR_EL1), EL0 code that calls
//! back with SVC #7 (class 0x15); nothing of it reaches the host but the UART and SYSTEM_OFF.

mod common;

#[cfg(test)]
mod tests {
    use realm_vmm::config::{AbiRevision, Layout};
    use realm_vmm::exits::ExitStatus;
    use realm_vmm::launch::LaunchOutcome;

    use super::common::{config, launch};

    #[test]
    fn stage_1_exceptions_and_el0_run_inside_the_realm() {
        let want = "\
mmu: stage 1 on, VA = IPA for EL1, EL0 at +256 GiB
mmu: BRK #0x42 at EL1
  EL1 sync exception: EC 0x3c ISS 0x42
mmu: load from the unmapped VA 0x1000000000
  EL1 sync exception: EC 0x25 DFSC 0x5 FAR 0x1000000000
mmu: ERET to EL0
  from EL0: EC 0x15 ISS 0x7 x0 0x2a
mmu: done
";
        for abi in [AbiRevision::V12, AbiRevision::V10] {
            for layout in [Layout::Kvmtool, Layout::Qemu] {
                let (out, report) = launch(&config(abi, layout, "mmu"));
                assert_eq!(
                    report.outcome,
                    LaunchOutcome::Stopped(ExitStatus::PowerOff),
                    "{abi:?} {layout:?}: {out}"
                );
                assert_eq!(out, want, "{abi:?} {layout:?}: the realm's output");
                // Exceptions at EL1 and EL0 stay in the realm: one MMIO exit per UART byte, then SYSTEM_OFF.
                let run = report.run.unwrap();
                let mut expect = vec!["mmio"; out.len()];
                expect.push("system-event");
                assert!(
                    run.sequence[0] == expect,
                    "{abi:?} {layout:?}: exits {:?}",
                    run.exits
                );
            }
        }
    }
}
