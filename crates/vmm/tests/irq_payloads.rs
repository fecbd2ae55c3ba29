//! The interrupt payloads (timer, ipi, uart-irq) on realm-a64 through the whole simulated stack, for ABI
//! v10 and v12: what each prints, the exits the VMM sees, and the run's outcome.

#[cfg(test)]
mod tests {
    use realm_vmm::backend::{BackendKind, CpuChoice};
    use realm_vmm::build::Quiet;
    use realm_vmm::config::{AbiRevision, RealmConfig};
    use realm_vmm::exits::ExitStatus;
    use realm_vmm::image::ImageSource;
    use realm_vmm::launch::{self, LaunchOutcome, LaunchReport};
    use realm_vmm::payload::{self, Target};
    use realm_vmm::prepare::prepare;

    /// The demo configuration with payload `name` as its firmware (no kernel) and `cpus` vCPUs.
    fn config(abi: AbiRevision, name: &str, cpus: u32) -> RealmConfig {
        let mut cfg = realm_vmm::demo::config(abi);
        cfg.kernel = None;
        cfg.initrd = None;
        cfg.cpus = cpus;
        let code = payload::build(name, &Target::of(&cfg)).unwrap();
        cfg.firmware = Some(ImageSource::Bytes {
            name: format!("<{name}>"),
            data: std::sync::Arc::from(code),
        });
        cfg
    }

    pub(crate) fn run(abi: AbiRevision, name: &str, cpus: u32) -> (LaunchReport, String) {
        let cfg = config(abi, name, cpus);
        let p = prepare(&cfg).unwrap();
        let backend =
            realm_vmm::backend::open(BackendKind::Simulated, abi, &cfg.platform, CpuChoice::A64)
                .unwrap();
        let mut console = Vec::new();
        let report = launch::launch_until(
            backend.as_ref(),
            &p,
            &mut console,
            &mut Quiet,
            false,
            Some(std::time::Duration::from_secs(60)),
        )
        .unwrap();
        (report, String::from_utf8(console).unwrap())
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
                // SGIs and CPU_OFF never reach the VMM.
                let run = report.run.expect("ran");
                assert_eq!(run.sequence[0].len(), out.len() + 1, "{abi:?} {cpus}");
                assert!(
                    run.sequence[1..].iter().all(Vec::is_empty),
                    "{abi:?} {cpus}: {:?}",
                    run.sequence
                );
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
        }
    }
}
