//! Tests of the scripted CPU.

use super::*;

/// One RAM page at 0x1000; everything else faults at level 3.
struct OnePage([u8; 4096]);

impl RealmMemory for OnePage {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let off = usize::try_from(ipa.wrapping_sub(0x1000)).unwrap_or(usize::MAX);
        let src = self
            .0
            .get(off..off.saturating_add(buf.len()))
            .ok_or(Stage2Fault { level: 3 })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let off = usize::try_from(ipa.wrapping_sub(0x1000)).unwrap_or(usize::MAX);
        let dst = self
            .0
            .get_mut(off..off.saturating_add(data.len()))
            .ok_or(Stage2Fault { level: 3 })?;
        dst.copy_from_slice(data);
        Ok(())
    }
    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.read(ipa, buf)
    }
}

fn cpu(steps: Vec<Step>) -> (ScriptedCpu, Script) {
    let script = Script::default();
    script.extend(steps);
    (ScriptedCpu::new(script.clone()), script)
}

#[test]
fn ram_accesses_retire_without_exits_and_smc_waits_for_the_pc_to_move() {
    let (mut cpu, script) = cpu(vec![
        Step::store(0x1008, 4, 3, 0xFFFF_FFFF_8765_4321),
        Step::Load {
            ipa: 0x1008,
            len: 2,
            rt: 4,
            sign_extend: true,
            sixty_four: false,
            syndrome_valid: true,
        },
        Step::smc(0xC400_0190, &[0x1_0000]),
    ]);
    let mut mem = OnePage([0; 4096]);
    let mut ctx = RecContext::reset(0x100, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Smc);
    assert_eq!(ctx.pc, 0x108);
    assert_eq!(ctx.gprs[0], 0xC400_0190);
    assert_eq!(script.record(1).map(|r| r.ctx.gprs[4]), Some(0x4321));
    // The RMM answers and advances the PC: the SMC retires with its results visible.
    ctx.gprs[0] = 0;
    ctx.pc += 4;
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq);
    assert_eq!(
        script.record(2).map(|r| (r.ctx.gprs[0], r.ctx.pc)),
        Some((0, 0x10C))
    );
    assert_eq!(script.remaining(), 0);
}

#[test]
fn faulting_access_restarts_until_the_pc_moves() {
    let (mut cpu, script) = cpu(vec![Step::load(0x9000, 8, 2)]);
    let mut mem = OnePage([0; 4096]);
    let mut ctx = RecContext::reset(0x100, &[], 0);
    let RealmExit::DataAbort(abort) = cpu.run(&mut ctx, &mut mem) else {
        panic!("expected a data abort")
    };
    assert_eq!((abort.ipa, abort.rt, abort.fault.level), (0x9000, 2, 3));
    // Not emulated: the load runs again and faults again.
    assert!(matches!(
        cpu.run(&mut ctx, &mut mem),
        RealmExit::DataAbort(_)
    ));
    // Emulated: the RMM wrote X2 and moved the PC.
    ctx.gprs[2] = 77;
    ctx.pc += 4;
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq);
    assert_eq!(script.record(0).map(|r| r.ctx.gprs[2]), Some(77));
    assert_eq!(script.exits().len(), 3);
}

#[test]
fn wfx_exits_only_when_trapped_and_irq_is_consumed() {
    let (mut cpu, script) = cpu(vec![Step::Wfi, Step::Wfe, Step::Irq]);
    let mut mem = OnePage([0; 4096]);
    let mut ctx = RecContext::reset(0, &[], 0);
    ctx.trap_wfe = true;
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Wfx { wfe: true });
    assert_eq!(ctx.pc, 4);
    ctx.pc += 4;
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq);
    assert_eq!(script.remaining(), 0);
    assert_eq!(script.records().len(), 3);
}

#[test]
fn factory_hands_each_index_its_script() {
    let cpus = ScriptedCpus::new();
    cpus.script(1).push(Step::Hvc);
    let model = cpus.model();
    let mut mem = OnePage([0; 4096]);
    let mut ctx = RecContext::reset(0, &[], 0);
    let mut rec1 = model.create(RecIdentity {
        rd: 0,
        rec: 0x1000,
        index: 1,
        mpidr: 1,
    });
    let mut rec0 = model.create(RecIdentity {
        rd: 0,
        rec: 0x2000,
        index: 0,
        mpidr: 0,
    });
    assert_eq!(rec1.run(&mut ctx, &mut mem), RealmExit::Hvc);
    assert_eq!(rec0.run(&mut ctx, &mut mem), RealmExit::Irq);
}

#[test]
fn a_scripted_model_executes_code() {
    assert!(ScriptedCpus::new().model().executes_code());
}
