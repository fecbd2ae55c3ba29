//! The interrupt payloads (timer, ipi, uart-irq) on realm-a64 through the whole simulated stack, for ABI
//! v10 and v12: what each prints, the exits the VMM sees, and the run's outcome.

mod support {
    pub mod payloads;
}

#[cfg(test)]
mod tests {
    use realm_kvm::IrqStats;
    use realm_vmm::config::AbiRevision;
    use realm_vmm::exits::ExitStatus;
    use realm_vmm::launch::{LaunchOutcome, LaunchReport};
    use realm_vmm::payload;

    fn run(abi: AbiRevision, name: &str, cpus: u32) -> (LaunchReport, String) {
        let (report, out, _) = run_stats(abi, name, cpus);
        (report, out)
    }

    /// Launch payload `name`; the report, the console, and the kernel layer's interrupt path of each vCPU.
    fn run_stats(abi: AbiRevision, name: &str, cpus: u32) -> (LaunchReport, String, Vec<IrqStats>) {
        let (report, out, backend) = super::support::payloads::launch(abi, name, cpus);
        let mut history = backend.kernel().debug_irq_history();
        assert_eq!(history.len(), 1, "one VM built and destroyed");
        let stats = history.pop().unwrap_or_default();
        (report, out, stats)
    }

    /// `RMI_EXIT_PSCI`: every payload's last exit is its SYSTEM_OFF (or CPU_OFF).
    const RMI_EXIT_PSCI: u64 = 3;
    /// `ICH_MISR_EL2.EOI`: a level interrupt's deactivation raised the EOI maintenance interrupt.
    const MISR_EOI: u64 = 1;
    /// `gicv3_vmcr` once the realm set ICC_PMR_EL1 = 0xf0 and ICC_IGRPEN1_EL1 = 1: VPMR 0xf0 \[31:24\],
    /// VBPR0 2 / VBPR1 3 (the clamp to 7 − 5 preemption bits), VFIQEn, VENG1.
    const VMCR_LINUX_LIKE: u64 = 0xf04c_000a;

    /// The last exit of a vCPU that set its CPU interface up and stopped with a PSCI call, no interrupt
    /// left in its list registers.
    fn assert_clean_last_exit(what: &str, st: &IrqStats) {
        let e = &st.last_exit;
        assert_eq!(e.exit_reason, RMI_EXIT_PSCI, "{what}: {e:x?}");
        assert_eq!(e.gicv3_lrs, [0; 16], "{what}: no LR left");
        assert_idle_gic(what, st);
    }

    /// The GIC fields of a vCPU's last exit once it set its CPU interface up and handled every interrupt:
    /// the clamped VMCR, HCR and MISR 0, no valid list register (State \[63:62\] 0). For a secondary of
    /// ipi, which vCPU 0's SYSTEM_OFF may kick out of the realm between its SGI write and its CPU_OFF, the
    /// exit reason and the invalid LRs' other bits vary.
    fn assert_idle_gic(what: &str, st: &IrqStats) {
        let e = &st.last_exit;
        assert_eq!(e.gicv3_vmcr, VMCR_LINUX_LIKE, "{what}: gicv3_vmcr");
        assert_eq!((e.gicv3_hcr, e.gicv3_misr), (0, 0), "{what}: hcr, misr");
        assert!(
            e.gicv3_lrs.iter().all(|lr| lr >> 62 == 0),
            "{what}: a valid LR left: {:x?}",
            e.gicv3_lrs
        );
    }

    /// The decimal number after `key` in `line`.
    fn number_after(line: &str, key: &str) -> u64 {
        let rest = &line[line
            .find(key)
            .unwrap_or_else(|| panic!("{key:?} not in {line:?}"))
            + key.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no number after {key:?} in {line:?}"))
    }

    #[test]
    fn timer_takes_five_ppi_27_interrupts_none_early() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (report, out) = run(abi, "timer", 1);
            assert_eq!(
                report.outcome,
                LaunchOutcome::Stopped(ExitStatus::PowerOff),
                "{abi:?}: {out}"
            );
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 4, "{abi:?}: {out}");
            let hz = number_after(lines[0], "CNTFRQ ");
            let period = number_after(lines[0], "period ");
            assert_eq!(period, hz / 100, "{abi:?}: 10 ms in ticks: {}", lines[0]);
            assert!(
                lines[0].ends_with(" ticks, 5 interrupts"),
                "{abi:?}: {}",
                lines[0]
            );
            // The fifth interrupt cannot come before five periods have passed.
            let total = number_after(lines[1], " in ");
            assert!(
                total >= 50_000,
                "{abi:?}: 5 × 10 ms took {total} us: {}",
                lines[1]
            );
            assert!(
                lines[1].starts_with("timer: 5 interrupts on INTID 27 in "),
                "{}",
                lines[1]
            );
            assert!(lines[2].starts_with("timer: fire to EOI "), "{}", lines[2]);
            assert_eq!(lines[3], "timer: early 0, other INTIDs 0", "{abi:?}");
            // The VMM sees the UART and the power-off only: the GIC and the timer stay in the kernel.
            let run = report.run.expect("ran");
            let seq = &run.sequence[0];
            assert_eq!(seq.last(), Some(&"system-event"), "{abi:?}");
            assert!(
                seq[..seq.len() - 1].iter().all(|e| *e == "mmio"),
                "{abi:?}: {seq:?}"
            );
            assert_eq!(
                seq.len() - 1,
                out.len(),
                "{abi:?}: one MMIO exit per byte printed"
            );
        }
    }

    /// The kernel layer's view of the timer payload: PPI 27 the only interrupt in the list registers, its
    /// EOI maintenance seen, the vCPU asleep in trapped WFIs while it waits (the REC enters once per UART
    /// byte and a few times per interrupt, not the thousands of times a vCPU spinning on IRQ exits would
    /// over 50 ms — a count, not a time), and a clean last exit with the timer off.
    #[test]
    fn timer_gic_state_and_wfi_sleep() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (_, out, stats) = run_stats(abi, "timer", 1);
            let st = &stats[0];
            assert_eq!(st.intids_in_lrs, [27].into(), "{abi:?}");
            assert_ne!(
                st.misr_seen & MISR_EOI,
                0,
                "{abi:?}: EOI maintenance of the level PPI"
            );
            assert!(
                (1..=5).contains(&st.wfi_exits),
                "{abi:?}: WFI must exit as EC 0x01 (TRAP_WFI), at most once per interrupt: {st:?}"
            );
            assert!(st.wfi_sleeps >= 1, "{abi:?}: the vCPU thread slept: {st:?}");
            let bound = out.len() as u64 + 5 * 10 + 30;
            assert!(
                st.rec_enters <= bound,
                "{abi:?}: {} REC_ENTERs for {} bytes and 5 interrupts (bound {bound}): the vCPU spun",
                st.rec_enters,
                out.len()
            );
            assert_clean_last_exit(&format!("{abi:?}"), st);
            assert_eq!(st.last_exit.cntv_ctl, 0, "{abi:?}: the timer was disabled");
        }
    }

    #[test]
    fn ipi_every_secondary_answers_sgi_1_with_sgi_2() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            for cpus in [1u32, 4] {
                let (report, out) = run(abi, "ipi", cpus);
                assert_eq!(
                    report.outcome,
                    LaunchOutcome::Stopped(ExitStatus::PowerOff),
                    "{abi:?} {cpus} vCPUs: {out}"
                );
                let mut want = format!("ipi: {cpus} vCPUs, SGI 1 out and SGI 2 back\n");
                if cpus == 1 {
                    want.push_str("ipi: vCPU 0 took its own SGI 1\n");
                }
                for k in 1..cpus {
                    want.push_str(&format!("ipi: vCPU {k} answered\n"));
                }
                want.push_str("ipi: done, other INTIDs 0\n");
                assert_eq!(out, want, "{abi:?} {cpus} vCPUs");
                // Only vCPU 0 prints: its exits are one MMIO per byte and the power-off; the secondaries'
                // SGIs and CPU_OFF never reach the VMM. A secondary that had not reached CPU_OFF when vCPU 0's
                // SYSTEM_OFF stopped the realm leaves KVM_RUN once, with KVM_EXIT_SHUTDOWN (its REC_ENTER
                // fails on the stopped realm) — nothing else.
                let run = report.run.expect("ran");
                assert_eq!(run.sequence[0].len(), out.len() + 1, "{abi:?} {cpus}");
                assert!(
                    run.sequence[1..]
                        .iter()
                        .all(|s| s.is_empty() || s.as_slice() == ["shutdown"]),
                    "{abi:?} {cpus}: {:?}",
                    run.sequence
                );
                // In the kernel layer: SGI 2 reached vCPU 0's list registers and SGI 1 each other's
                // (vCPU 0 its own when alone); edge interrupts, so no EOI maintenance.
                let (_, _, stats) = run_stats(abi, "ipi", cpus);
                assert_eq!(stats.len(), cpus as usize, "{abi:?} {cpus}");
                let own = if cpus == 1 { 1 } else { 2 };
                assert_eq!(
                    stats[0].intids_in_lrs,
                    [own].into(),
                    "{abi:?} {cpus}: vCPU 0"
                );
                for (k, st) in stats.iter().enumerate() {
                    if k > 0 {
                        assert_eq!(st.intids_in_lrs, [1].into(), "{abi:?}: vCPU {k}");
                    }
                    assert_eq!(st.misr_seen, 0, "{abi:?}: vCPU {k}");
                    let what = format!("{abi:?} {cpus}: vCPU {k}");
                    if k == 0 {
                        assert_clean_last_exit(&what, st);
                    } else {
                        assert_idle_gic(&what, st);
                    }
                }
            }
        }
    }

    #[test]
    fn uart_irq_writes_its_line_from_the_thre_handler() {
        let msg = payload::uart_irq::UART_IRQ_MESSAGE;
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let (report, out) = run(abi, "uart-irq", 1);
            assert_eq!(
                report.outcome,
                LaunchOutcome::Stopped(ExitStatus::PowerOff),
                "{abi:?}: {out}"
            );
            let want = format!(
                "uart-irq: the next line is written from the THRE interrupt handler\n{msg}\
                 uart-irq: {} THRE interrupts for {} bytes\n",
                msg.len() + 1,
                msg.len()
            );
            assert_eq!(
                out, want,
                "{abi:?}: one interrupt per byte and the last THRE"
            );
            // The VMM sees only MMIO (every UART access: the bytes, IER twice, IIR once per interrupt) and
            // the power-off.
            let seq = &report.run.expect("ran").sequence[0];
            assert_eq!(
                seq.len(),
                out.len() + 2 + (msg.len() + 1) + 1,
                "{abi:?}: {seq:?}"
            );
            let (_, _, stats) = run_stats(abi, "uart-irq", 1);
            assert_eq!(
                stats[0].intids_in_lrs,
                [32].into(),
                "{abi:?}: the UART's SPI 0"
            );
            assert_ne!(
                stats[0].misr_seen & MISR_EOI,
                0,
                "{abi:?}: the level SPI's EOI maintenance"
            );
            assert_clean_last_exit(&format!("{abi:?}"), &stats[0]);
        }
    }
}
