//! Stage-2 faults on the unprotected alias of a memslot (v12 `user_mem_abort` → `realm_map_non_secure`):
//! a gfn still PRIVATE exits to the VMM as KVM_EXIT_MEMORY_FAULT (shared); once shared, the kernel maps the
//! slot's user page with RMI_RTT_MAP_UNPROTECTED (creating the RTTs) and the access completes without an exit,
//! the realm and the VMM seeing one page; munmap of the user memory gives the physical page back. (v12 only:
//! the harness builds v12 realms; v10 runs the same path under `realm launch`, crates/cli/tests.)

use std::sync::Arc;

use crate::common::uapi::run::*;
use realm_kvm::{AbiRevision, Errno};
use realm_rmm::cpu::scripted::{ScriptedCpus, Step};
use realm_rmm::{PlatformConfig, Rmm};

use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 16 << 20;
/// The shared bit of the harness's 40-bit realm.
const SHARED: u64 = 1 << 39;

#[test]
fn the_unprotected_alias_maps_the_slots_user_page() {
    {
        let abi = AbiRevision::V12;
        let page = RAM_GPA + 0x10_0000;
        let cpus = ScriptedCpus::new();
        cpus.script(0).extend([
            Step::store(SHARED | (page + 8), 8, 4, 0x1122_3344_5566_7788),
            Step::load(SHARED | (page + 16), 8, 5),
            Step::smc(0x8400_0008, &[]),
        ]);
        let platform = PlatformConfig {
            cpu: cpus.model(),
            ..PlatformConfig::default()
        };
        let mut h = H::with_rmm(abi, Arc::new(Rmm::new(platform)), None);
        let (vm, gic, g, hva) = h.realm_with_ram(RAM, true);
        let v0 = h.vcpu(vm, 0).unwrap();
        h.vcpu_init(v0, psci_0_2()).unwrap();
        let run = h.k.kvm_run(v0).unwrap();
        let user = hva + (page - RAM_GPA);

        // The gfn is PRIVATE: the VMM must make it shared first.
        assert_eq!(h.run(v0), Err(Errno::EFAULT), "{abi:?}");
        assert_eq!(run.exit_reason(), KVM_EXIT_MEMORY_FAULT, "{abi:?}");
        assert_eq!(run.memory_fault(), (0, page, 0x1000), "{abi:?}: to shared");
        assert!(
            cpus.script(0).records().is_empty(),
            "{abi:?}: the store waits"
        );
        h.private(vm, page, 0x1000, false).unwrap();
        // What the VMM wrote before the realm mapped the page is what the realm reads.
        h.k.user_memory()
            .write(user + 16, &0xabcd_u64.to_le_bytes())
            .unwrap();

        let before = h.k.page_allocator().in_use();
        assert_eq!(h.run(v0), Ok(0), "{abi:?}");
        assert_eq!(
            run.exit_reason(),
            KVM_EXIT_SYSTEM_EVENT,
            "{abi:?}: no exit for the mapping"
        );
        let records = cpus.script(0).records();
        assert_eq!(records.len(), 2, "{abi:?}: store and load retired");
        assert_eq!(records[1].ctx.gprs[5], 0xabcd, "{abi:?}: the VMM's data");
        let mut got = [0u8; 8];
        h.k.user_memory().read(user + 8, &mut got).unwrap();
        assert_eq!(
            u64::from_le_bytes(got),
            0x1122_3344_5566_7788,
            "{abi:?}: the realm's store, in the VMM's memory"
        );
        // One user page and the level-2/3 RTTs of the alias came from the allocator.
        assert!(
            h.k.page_allocator().in_use() > before,
            "{abi:?}: the faulted-in page"
        );
        h.rmm.check_invariants().unwrap();
        for fd in [v0, g, gic, vm] {
            h.k.close(fd).unwrap();
        }
        h.k.user_memory().unregister(hva).unwrap();
        assert_eq!(
            h.k.page_allocator().in_use(),
            0,
            "{abi:?}: munmap freed the page"
        );
        h.rmm.check_invariants().unwrap();
    }
}
