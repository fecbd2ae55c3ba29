//! The shared-memory payload through the whole stack, ABI v10 and v12: RSI_IPA_STATE_SET to EMPTY reaches the
//! VMM as KVM_EXIT_MEMORY_FAULT (converted with KVM_SET_MEMORY_ATTRIBUTES), the realm's stores to the
//! unprotected alias of that granule are mapped by the kernel (RMI_RTT_MAP_UNPROTECTED) without an exit to
//! the VMM, the doorbell is one KVM_EXIT_MMIO write, and each side reads what the other wrote.

mod common;

#[cfg(test)]
mod tests {
    use realm_vmm::config::{AbiRevision, Layout};
    use realm_vmm::exits::{ExitStatus, MESSAGE_ECHO, Message};
    use realm_vmm::launch::LaunchOutcome;

    use super::common::{config, launch};

    #[test]
    fn the_realm_and_the_vmm_exchange_messages_through_a_shared_granule() {
        for abi in [AbiRevision::V12, AbiRevision::V10] {
            let (out, report) = launch(&config(abi, Layout::Kvmtool, "shared-memory"));
            assert_eq!(
                report.outcome,
                LaunchOutcome::Stopped(ExitStatus::PowerOff),
                "{abi:?}: {out}"
            );
            let want = "\
shared-memory: a granule shared with the VMM through the unprotected alias
RSI_IPA_STATE_SET      0x80002000 EMPTY status 0x0 next 0x80003000 response 0x0
RSI_IPA_STATE_GET      0x80002000 status 0x0 top 0x80003000 ripas 0x0
realm -> VMM: ping from the realm
VMM -> realm: pong: ping from the realm
RSI_IPA_STATE_GET      0x80002000 status 0x0 top 0x80003000 ripas 0x0
shared-memory: done
";
            assert_eq!(out, want, "{abi:?}: the realm's output");
            assert_eq!(
                report.messages,
                [Message {
                    vcpu: 0,
                    kind: MESSAGE_ECHO,
                    data: b"ping from the realm".to_vec()
                }],
                "{abi:?}: what the VMM read from the shared granule"
            );
            // The exits: one MMIO write per UART byte, the RIPAS change right after the banner, the doorbell
            // right after the "realm -> VMM" line, SYSTEM_OFF last; the stage-2 faults on the alias never
            // reach the VMM.
            let run = report.run.unwrap();
            let seq = &run.sequence[0];
            let banner = out.lines().next().unwrap().len() + 1;
            let mut expect = vec!["mmio"; banner];
            expect.push("memory-fault");
            let before_bell = out.find("VMM -> realm").unwrap() - banner;
            expect.extend(vec!["mmio"; before_bell + 1]); // + the doorbell
            expect.extend(vec!["mmio"; out.len() - banner - before_bell]);
            expect.push("system-event");
            assert_eq!(seq.len(), expect.len(), "{abi:?}: {:?}", run.exits);
            assert!(*seq == expect, "{abi:?}: exit sequence {seq:?}");
        }
    }
}
