//! RMI_REC_ENTER: failure conditions in TF-RMM order, and each exit path driven by scripted realm CPUs.

use realm_rmm::abi::{
    self, REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_INJECT_SEA, REC_ENTRY_FLAG_TRAP_WFE,
    REC_ENTRY_FLAG_TRAP_WFI, RMI_ERROR_INPUT, RMI_ERROR_REALM, RMI_ERROR_REC, RMI_EXIT_IRQ,
    RMI_EXIT_SYNC, RmiRecEnter,
};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::world::*;
use realm_rmm::Rmm;
use realm_rmm::cpu::scripted::Step;
use realm_rmm::cpu::{
    CpuModel, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory, RecContext, RecIdentity, esr,
};
use realm_rmm::host::{HostMemory, Rmi, SmcRegs};
use sha2::{Digest, Sha256};
use zerocopy::FromZeros;

const ERROR_INPUT: u64 = RMI_ERROR_INPUT as u64;
const ERROR_REC: u64 = RMI_ERROR_REC as u64;

#[test]
fn rec_enter_run_granule_not_ns_is_error_input() {
    let mut w = World::realm(1, true);
    let delegated = w.delegate();
    assert_eq!(
        w.call(abi::RMI_REC_ENTER, &[w.recs[0], delegated]).x[0],
        ERROR_INPUT
    );
    assert_eq!(
        w.call(abi::RMI_REC_ENTER, &[w.recs[0], w.run + 8]).x[0],
        ERROR_INPUT
    );
    assert_eq!(
        w.call(abi::RMI_REC_ENTER, &[w.recs[0], 0x10]).x[0],
        ERROR_INPUT
    );
}

#[test]
fn rec_enter_rec_not_a_rec_granule_is_error_input() {
    let w = World::realm(1, true);
    for bad in [w.rd, w.run, w.recs[0] + 0x10, 0] {
        assert_eq!(
            w.call(abi::RMI_REC_ENTER, &[bad, w.run]).x[0],
            ERROR_INPUT,
            "{bad:#x}"
        );
    }
}

#[test]
fn rec_enter_realm_new_is_error_realm_index_0() {
    let w = World::realm(1, false);
    assert_eq!(w.enter_with(0, 0, &[]).0, u64::from(RMI_ERROR_REALM));
}

#[test]
fn rec_enter_not_runnable_is_error_rec() {
    let w = World::realm(2, true);
    assert_eq!(w.enter_with(1, 0, &[]).0, ERROR_REC);
}

#[test]
fn rec_enter_invalid_gic_state_is_error_rec() {
    let w = World::realm(1, true);
    let mut enter = RmiRecEnter::new_zeroed();
    enter.gicv3_hcr = 1;
    w.set_enter(&enter);
    assert_eq!(w.enter_raw(0).0, ERROR_REC);
    enter.gicv3_hcr = 0;
    enter.gicv3_lrs[0] = (1 << 62) | (1 << 61) | 27;
    w.set_enter(&enter);
    assert_eq!(w.enter_raw(0).0, ERROR_REC);
}

#[test]
fn rec_enter_emul_mmio_or_inject_sea_without_a_data_abort_is_error_rec() {
    let w = World::realm(1, true);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_EMUL_MMIO, &[]).0, ERROR_REC);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_INJECT_SEA, &[]).0, ERROR_REC);
    // An IRQ exit leaves no syndrome either.
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_EMUL_MMIO, &[]).0, ERROR_REC);
}

#[test]
fn rec_with_no_script_exits_with_irq_and_the_exit_is_zeroed() {
    let w = World::realm(1, true);
    w.rmm.write(w.run + 0x800, &[0xFF; 0x800]).expect("NS");
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
    assert_eq!(
        (exit.esr, exit.far, exit.hpfar, exit.gprs),
        (0, 0, 0, [0; 31])
    );
    assert_eq!((exit.ripas_base, exit.imm, exit.cntv_ctl), (0, 0, 0));
}

#[test]
fn mmio_read_round_trip_with_sign_extension() {
    let w = World::realm(1, true);
    w.script(0).push(Step::Load {
        ipa: MMIO_IPA + 0x10,
        len: 2,
        rt: 7,
        sign_extend: true,
        sixty_four: false,
        syndrome_valid: true,
    });
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(esr::ec(exit.esr), esr::EC_DATA_ABORT);
    assert_ne!(exit.esr & esr::ABORT_ISV_BIT, 0);
    assert_eq!(esr::access_len(exit.esr), 2);
    assert!(!esr::is_write(exit.esr));
    assert_eq!(
        exit.esr & (esr::ABORT_SRT_MASK | esr::ABORT_SSE_BIT),
        0,
        "SRT and SSE stay in the RMM"
    );
    assert_eq!((exit.far, exit.hpfar), (0x10, MMIO_IPA >> 8));
    let (x0, _) = w.enter_with(0, REC_ENTRY_FLAG_EMUL_MMIO, &[0x1234_8001]);
    assert_eq!(x0, 0);
    let rec = w.script(0).record(0).expect("load retired");
    assert_eq!(rec.ctx.gprs[7], 0xFFFF_8001);
    assert_eq!(rec.ctx.pc, CODE_IPA + 4);
}

#[test]
fn mmio_write_exposes_the_stored_value() {
    let w = World::realm(1, true);
    w.script(0)
        .push(Step::store(MMIO_IPA + 0x8, 4, 2, 0xAABB_CCDD_1122_3344));
    let exit = w.enter(0);
    assert!(esr::is_write(exit.esr));
    assert_eq!(exit.gprs[0], 0x1122_3344);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_EMUL_MMIO, &[]).0, 0);
    assert_eq!(w.script(0).record(0).map(|r| r.ctx.pc), Some(CODE_IPA + 4));
}

#[test]
fn inject_sea_after_an_unprotected_abort_enters_the_realm_vector() {
    let w = World::realm(1, true);
    w.script(0)
        .extend([Step::SetVbar(0x8_0000), Step::load(MMIO_IPA, 8, 1)]);
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(
        w.enter_with(
            0,
            REC_ENTRY_FLAG_INJECT_SEA | REC_ENTRY_FLAG_EMUL_MMIO,
            &[5]
        )
        .0,
        0
    );
    let rec = w
        .script(0)
        .record(1)
        .expect("load abandoned to the exception");
    assert_eq!(rec.ctx.pc, 0x8_0200);
    assert_eq!(rec.ctx.sysregs.elr_el1, CODE_IPA + 4);
    assert_eq!(rec.ctx.sysregs.esr_el1 & esr::ABORT_FSC_MASK, esr::FSC_SEA);
    assert_eq!(rec.ctx.gprs[1], 0, "no MMIO emulation with INJECT_SEA");
}

#[test]
fn protected_ram_access_reaches_data_and_unassigned_ram_exits_non_emulatable() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::store(BUF_IPA + 0x18, 8, 3, 0x0102_0304_0506_0708),
        Step::load(BUF_IPA + 0x18, 4, 4),
        Step::load(0x10_0000, 8, 5),
    ]);
    let exit = w.enter(0);
    assert_eq!(
        w.script(0).record(1).map(|r| r.ctx.gprs[4]),
        Some(0x0506_0708)
    );
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(exit.esr & esr::ABORT_ISV_BIT, 0, "not emulatable in PAR");
    assert_eq!(
        (exit.far, exit.hpfar, exit.esr & esr::ABORT_FSC_MASK),
        (0, 0x10_0000 >> 8, 0x07)
    );
}

#[test]
fn empty_protected_access_injects_sea_without_an_exit() {
    let w = World::realm(1, true);
    w.script(0)
        .extend([Step::SetVbar(0x4_0000), Step::load(RAM_TOP + 0x1000, 8, 2)]);
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ, "script ran to its end");
    let rec = w.script(0).record(1).expect("retired by the SEA");
    assert_eq!(rec.ctx.pc, 0x4_0200);
}

#[test]
fn trapped_wfi_and_wfe_exit_sync_untrapped_do_not() {
    let w = World::realm(1, true);
    w.script(0).extend([Step::Wfi, Step::Wfe, Step::Wfi]);
    let (x0, exit) = w.enter_with(0, REC_ENTRY_FLAG_TRAP_WFE, &[]);
    assert_eq!(x0, 0);
    assert_eq!(
        (exit.exit_reason, exit.esr),
        (RMI_EXIT_SYNC, esr::EC_WFX | esr::WFX_TI_BIT)
    );
    let (_, exit) = w.enter_with(0, REC_ENTRY_FLAG_TRAP_WFI, &[]);
    assert_eq!((exit.exit_reason, exit.esr), (RMI_EXIT_SYNC, esr::EC_WFX));
    assert_eq!(
        w.script(0).records().len(),
        2,
        "the trapped WFI is still in flight"
    );
}

#[test]
fn hvc_injects_an_undefined_instruction() {
    let w = World::realm(1, true);
    w.script(0).extend([Step::SetVbar(0x2_0000), Step::Hvc]);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    let rec = w.script(0).record(1).expect("HVC retired");
    assert_eq!(
        (rec.ctx.pc, rec.ctx.sysregs.esr_el1),
        (0x2_0200, esr::IL_BIT)
    );
}

#[test]
fn entry_flags_and_gprs_are_read_at_their_offsets() {
    let w = World::realm(1, true);
    // gprs[0] at 0x200 of the entry carries the MMIO value.
    w.script(0).push(Step::load(MMIO_IPA, 8, 9));
    w.enter(0);
    let mut page = vec![0u8; 0x800];
    page[0..8].copy_from_slice(&REC_ENTRY_FLAG_EMUL_MMIO.to_le_bytes());
    page[0x200..0x208].copy_from_slice(&0x77u64.to_le_bytes());
    w.rmm.write(w.run, &page).expect("NS");
    assert_eq!(w.enter_raw(0).0, 0);
    assert_eq!(w.script(0).record(0).map(|r| r.ctx.gprs[9]), Some(0x77));
}

#[test]
fn unprotected_ns_mapping_reaches_ns_memory() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::store(NS_IPA + 0x40, 8, 1, 0x1122_3344_5566_7788),
        Step::load(NS_IPA + 0x44, 4, 2),
    ]);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    let mut buf = [0u8; 8];
    w.rmm.read(w.ns_page + 0x40, &mut buf).expect("NS");
    assert_eq!(u64::from_le_bytes(buf), 0x1122_3344_5566_7788);
    assert_eq!(
        w.script(0).record(1).map(|r| r.ctx.gprs[2]),
        Some(0x1122_3344)
    );
}

/// What a [`Reentrant`] CPU needs to call the RMM: the RMM, the run page, and the other REC.
type Host = Arc<OnceLock<(Arc<Rmm>, u64, u64)>>;

/// A CPU that, while its REC runs, issues RMI calls on that REC as another host thread would.
#[derive(Debug)]
struct Reentrant {
    host: Host,
    seen: Arc<Mutex<Vec<u64>>>,
    rec: u64,
    rd: u64,
}

impl RealmCpu for Reentrant {
    fn run(&mut self, _ctx: &mut RecContext, _mem: &mut dyn RealmMemory) -> RealmExit {
        if let Some((rmm, run, other)) = self.host.get() {
            let call = |fid: u32, args: &[u64]| rmm.call(SmcRegs::call(fid, args)).x[0];
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push(call(abi::RMI_REC_ENTER, &[self.rec, *run]));
            seen.push(call(abi::RMI_PSCI_COMPLETE, &[self.rec, *other, 0]));
            seen.push(call(
                abi::RMI_RTT_SET_RIPAS,
                &[self.rd, self.rec, 0x1000, 0x2000],
            ));
            seen.push(call(abi::RMI_REC_DESTROY, &[self.rec]));
            // Another REC of the realm is not blocked by this one running.
            seen.push(call(abi::RMI_REC_ENTER, &[*other, *run]));
        }
        RealmExit::Irq
    }
}

#[derive(Debug)]
struct ReentrantFactory(Host, Arc<Mutex<Vec<u64>>>);

impl RealmCpuFactory for ReentrantFactory {
    fn create(&self, rec: RecIdentity) -> Box<dyn RealmCpu> {
        Box::new(Reentrant {
            host: self.0.clone(),
            seen: self.1.clone(),
            rec: rec.rec,
            rd: rec.rd,
        })
    }
}

#[test]
fn a_running_rec_is_busy_and_the_rmm_is_not_locked_while_it_runs() {
    let host: Host = Arc::new(OnceLock::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let factory = ReentrantFactory(host.clone(), seen.clone());
    let w = World::realm_with(Some(CpuModel::new(Arc::new(factory))), 2, true);
    let _ = host.set((w.rmm.clone(), w.run, w.recs[1]));
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    // REC_ENTER: running → ERROR_REC; PSCI_COMPLETE: calling REC running → ERROR_INPUT; RTT_SET_RIPAS: REC
    // running → ERROR_REC; REC_DESTROY: running → ERROR_REC; REC 1 is not runnable → ERROR_REC (not a hang).
    assert_eq!(
        seen,
        [ERROR_REC, ERROR_INPUT, ERROR_REC, ERROR_REC, ERROR_REC]
    );
    // Idle again afterwards.
    assert_eq!(w.enter_with(0, 0, &[]).0, 0);
}

#[test]
fn two_recs_run_concurrently_on_host_threads() {
    let mut w = World::realm(1, false);
    w.create_rec(true, CODE_IPA, &[]);
    ok(w.call(abi::RMI_REALM_ACTIVATE, &[w.rd]));
    let mut runs = Vec::new();
    for i in 0..2u64 {
        let run = w.alloc();
        runs.push(run);
        for n in 0..40 {
            w.script(i).extend([
                Step::smc(
                    realm_rmm::abi::rsi::RSI_MEASUREMENT_EXTEND,
                    &[1 + i, 8, n + 1000 * i],
                ),
                Step::store(BUF_IPA + 8 * i, 8, 1, n),
                Step::Irq,
            ]);
        }
    }
    std::thread::scope(|s| {
        for (i, run) in runs.iter().enumerate() {
            let (rmm, rec) = (&w.rmm, w.recs[i]);
            s.spawn(move || {
                for _ in 0..40 {
                    let ret = rmm.call(SmcRegs::call(abi::RMI_REC_ENTER, &[rec, *run]));
                    assert_eq!(ret.x[0], 0);
                }
            });
        }
    });
    for i in 0..2u64 {
        assert_eq!(w.script(i).remaining(), 0, "REC {i} ran its whole script");
    }
    let rems = w.rmm.measurements(w.rd).expect("realm").rems;
    for i in 0..2u64 {
        let mut expected = vec![0u8; 32];
        for n in 0..40u64 {
            let value = (n + 1000 * i).to_le_bytes();
            expected = Sha256::new()
                .chain_update(&expected)
                .chain_update(value)
                .finalize()
                .to_vec();
        }
        assert_eq!(
            rems[usize::try_from(i).unwrap_or(0)],
            expected,
            "REM {}",
            i + 1
        );
    }
}

#[test]
fn emul_mmio_after_a_protected_abort_is_accepted_as_tf_rmm_does() {
    // The host is shown ISV = 0, but the check uses the syndrome the abort raised (TF-RMM last_run_info).
    let w = World::realm(1, true);
    w.script(0).push(Step::load(0x10_0000, 8, 6));
    let exit = w.enter(0);
    assert_eq!(exit.esr & esr::ABORT_ISV_BIT, 0);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_EMUL_MMIO, &[0x66]).0, 0);
    assert_eq!(
        w.script(0).record(0).map(|r| (r.ctx.gprs[6], r.ctx.pc)),
        Some((0x66, CODE_IPA + 4))
    );
}

#[test]
fn instruction_fetch_from_unprotected_memory_takes_an_sea_and_from_unassigned_ram_exits() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::SetVbar(0x6_0000),
        Step::Fetch { ipa: NS_IPA },
        Step::Fetch { ipa: 0x10_0000 },
    ]);
    let exit = w.enter(0);
    let sea = w
        .script(0)
        .record(1)
        .expect("unprotected fetch retired by the SEA");
    assert_eq!(sea.ctx.pc, 0x6_0200);
    assert_eq!(
        sea.ctx.sysregs.esr_el1,
        esr::EC_INST_ABORT_SAME_EL | esr::IL_BIT | esr::FSC_SEA
    );
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(
        (esr::ec(exit.esr), exit.esr & esr::ABORT_FSC_MASK),
        (esr::EC_INST_ABORT, 0x07)
    );
    assert_eq!((exit.hpfar, exit.far), (0x10_0000 >> 8, 0));
    // Nothing mapped it: the fetch restarts and exits again.
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_SYNC);
    assert_eq!(w.script(0).records().len(), 2);
}
