//! RTT management and the unmap/teardown walks (v12 10/46 and 17/46 `arch/arm64/kvm/rmi.c`; v10 rme.c has
//! the same walks): `realm_create_rtt_levels`, `ripas_change`, `realm_tear_down_rtt_level`,
//! `realm_fold_rtt_level`, `realm_unmap_shared_range`, `realm_unmap_private_range`.
//!
//! The walks follow the RMM's `top`/`next` outputs exactly as Linux does. Linux would loop forever if an
//! RMM reported no progress; here every walk has a step budget and gives up (with a warning) instead, so a
//! misbehaving RMM cannot hang the kernel.

use std::cell::Cell;

use realm_rmi::{RMI_ERROR_RTT, RMI_RTT_INIT_RIPAS, RMI_SUCCESS, RmiStatus, pack_return_code};

use crate::rmi_cmds::{self, RMM_RTT_MAX_LEVEL, Ret, rtt_level_mapsize};
use crate::{Errno, PAGE_SIZE, Shared};

/// RMI calls one walk may issue before it is abandoned.
const STEP_BUDGET: u64 = 1 << 26;

/// v12 skip calls issued at once, at most (see [`Ctx::ripas_change`]).
const SKIP_RUN: u64 = 4096;

/// `run(ipa, end, n, replies)`: issue the loop's next `n` calls at `ipa`, `ipa + 4K`, … while each is
/// skipped ([`Ctx::ripas_change`]).
type SkipRun<'a> = &'a dyn Fn(u64, u64, u64, &mut Vec<Ret>);

/// The realm context of a walk: RD, IPA width and the kernel's shared state.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) rd: u64,
    pub(crate) ia_bits: u32,
    steps: Cell<u64>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("rd", &self.rd)
            .field("ia_bits", &self.ia_bits)
            .finish()
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a).saturating_mul(a)
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(shared: &'a Shared, rd: u64, ia_bits: u32) -> Self {
        Self {
            shared,
            rd,
            ia_bits,
            steps: Cell::new(0),
        }
    }

    /// Count one step; `false` once the budget is spent.
    fn step(&self) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n == STEP_BUDGET {
            tracing::warn!(target: "realm_kvm", "RMM reported no progress: walk abandoned");
        }
        n < STEP_BUDGET
    }

    fn start_level(&self) -> i64 {
        rmi_cmds::start_level(self.ia_bits)
    }

    /// `free_rtt()`.
    pub(crate) fn free_rtt(&self, pa: u64) {
        self.shared.free_delegated(pa);
    }

    /// `realm_rtt_create()`: the address aligned down to the parent entry's block.
    fn rtt_create(&self, addr: u64, level: i64, rtt: u64) -> Ret {
        let addr = addr & !(rtt_level_mapsize(level - 1) - 1);
        self.shared.cmds().rtt_create(self.rd, rtt, addr, level)
    }

    /// `realm_create_rtt_levels(realm, ipa, level, max_level)`: create the RTTs at `level + 1 ..= max_level`
    /// covering `ipa`; an RTT that already exists (`RMI_ERROR_RTT` at `level - 1`) is skipped; allocation
    /// failure → -ENOMEM; any other failure → -ENXIO.
    pub(crate) fn create_rtt_levels(
        &self,
        ipa: u64,
        mut level: i64,
        max_level: i64,
    ) -> Result<(), Errno> {
        while level < max_level {
            level += 1;
            let rtt = self.shared.alloc_delegated().ok_or(Errno::ENOMEM)?;
            let ret = self.rtt_create(ipa, level, rtt);
            if ret.status() == RMI_ERROR_RTT && i64::from(ret.index()) == level - 1 {
                self.free_rtt(rtt);
                continue;
            }
            if !ret.ok() {
                tracing::warn!(target: "realm_kvm", level, x0 = ret.out(0), "Failed to create RTT");
                self.free_rtt(rtt);
                return Err(Errno::ENXIO);
            }
        }
        Ok(())
    }

    /// `ripas_change(kvm, NULL, ipa, end, RIPAS_INIT)`: `RMI_RTT_INIT_RIPAS` until `end` (see
    /// [`Self::ripas_change`]); v10 passes `skip_hack = false`.
    pub(crate) fn ripas_init(&self, ipa: u64, end: u64, skip_hack: bool) -> Result<(), Errno> {
        let run = |ipa: u64, end: u64, n: u64, out: &mut Vec<Ret>| {
            let args: Vec<[u64; 3]> = (0..n)
                .map(|k| [self.rd, ipa + k * PAGE_SIZE, end])
                .collect();
            let skip = pack_return_code(
                RmiStatus::ErrorRtt,
                u8::try_from(RMM_RTT_MAX_LEVEL).unwrap_or(u8::MAX),
            );
            self.shared
                .cmds()
                .call_while(RMI_RTT_INIT_RIPAS, &args, skip, out);
        };
        self.ripas_change(
            ipa,
            end,
            skip_hack,
            |ipa, end| self.shared.cmds().rtt_init_ripas(self.rd, ipa, end),
            Some(&run),
        )
        .map(|_| ())
    }

    /// `ripas_change(kvm, vcpu, ..., RIPAS_SET)`: `RMI_RTT_SET_RIPAS` from `ipa` to `end` for the REC
    /// `rec` (see [`Self::ripas_change`]); returns the top reached.
    pub(crate) fn ripas_set(
        &self,
        rec: u64,
        ipa: u64,
        end: u64,
        skip_hack: bool,
    ) -> Result<u64, Errno> {
        self.ripas_change(
            ipa,
            end,
            skip_hack,
            |ipa, end| self.shared.cmds().rtt_set_ripas(self.rd, rec, ipa, end),
            None,
        )
    }

    /// `ripas_change()` (v12 17/46; v10 the same loop): issue `call(ipa, end)` (RTT_INIT_RIPAS or
    /// RTT_SET_RIPAS) until `end`, following the RMM's `top`; on `RMI_ERROR_RTT` create the missing RTTs
    /// down to `find_map_level()` and retry. When the error level is already at or below the map level: v12
    /// skips one page ("FIXME: Ugly hack to skip regions which are already RIPAS_RAM", `skip_hack`); v10
    /// returns -EINVAL. Other failures → -ENXIO. Returns the top reached.
    ///
    /// After a skip at level 3 the loop's next calls are known as long as each fails the same way: one a
    /// page, same `end`. `run(ipa, end, n, out)`, when given, issues up to `n` of them at once
    /// ([`Cmds::call_while`](crate::rmi_cmds::Cmds::call_while): it stops after the first other reply),
    /// and the loop takes their replies in order as if it had made each call itself — the same calls, in
    /// the same order, never one the loop would not have made (`n` stays within the step budget).
    fn ripas_change(
        &self,
        mut ipa: u64,
        end: u64,
        skip_hack: bool,
        call: impl Fn(u64, u64) -> Ret,
        run: Option<SkipRun<'_>>,
    ) -> Result<u64, Errno> {
        // Replies of calls made ahead at ipa, ipa + 4K, …; `taken` of them used.
        let mut ahead: Vec<Ret> = Vec::new();
        let mut taken = 0;
        while ipa < end {
            if !self.step() {
                return Err(Errno::ENXIO);
            }
            let ret = match ahead.get(taken) {
                Some(&ret) => {
                    taken += 1;
                    ret
                }
                None => call(ipa, end),
            };
            match ret.status() {
                RMI_SUCCESS => ipa = ret.out(1),
                RMI_ERROR_RTT => {
                    let err_level = i64::from(ret.index());
                    let level = rmi_cmds::find_map_level(self.ia_bits, ipa, end);
                    if err_level >= level {
                        if skip_hack {
                            ipa += PAGE_SIZE;
                            if let Some(run) = run
                                .filter(|_| taken == ahead.len() && err_level == RMM_RTT_MAX_LEVEL)
                            {
                                let budget = STEP_BUDGET - 1 - self.steps.get();
                                let n = ((end - ipa) / PAGE_SIZE).min(SKIP_RUN).min(budget);
                                ahead.clear();
                                taken = 0;
                                if n > 1 {
                                    run(ipa, end, n, &mut ahead);
                                }
                            }
                            continue;
                        }
                        return Err(Errno::EINVAL);
                    }
                    self.create_rtt_levels(ipa, err_level, level)?;
                }
                _ => return Err(Errno::ENXIO),
            }
        }
        Ok(ipa)
    }

    /// `realm_tear_down_rtt_level(realm, level, start, end)` (10/46).
    fn tear_down_rtt_level(&self, level: i64, start: u64, end: u64) -> Result<(), Errno> {
        if level > RMM_RTT_MAX_LEVEL {
            return Err(Errno::EINVAL);
        }
        let map_size = rtt_level_mapsize(level - 1);
        let mut addr = start;
        while addr < end {
            if !self.step() {
                return Err(Errno::ENXIO);
            }
            let align_addr = align_up(addr, map_size);
            let mut next_addr = align_up(addr + 1, map_size);
            if next_addr > end || align_addr != addr {
                self.tear_down_rtt_level(level + 1, addr, next_addr.min(end))?;
                addr = next_addr;
                continue;
            }
            let ret = self.shared.cmds().rtt_destroy(self.rd, addr, level);
            match ret.status() {
                RMI_SUCCESS => {
                    next_addr = ret.out(2);
                    self.free_rtt(ret.out(1));
                }
                RMI_ERROR_RTT => {
                    next_addr = ret.out(2);
                    if next_addr > addr {
                        // Missing RTT, skip.
                    } else {
                        if i64::from(ret.index()) != level || level == RMM_RTT_MAX_LEVEL {
                            return Err(Errno::EBUSY);
                        }
                        next_addr = align_up(addr + 1, map_size);
                        self.tear_down_rtt_level(level + 1, addr, next_addr)?;
                        next_addr = addr; // retry at this level
                    }
                }
                _ => return Err(Errno::ENXIO),
            }
            addr = next_addr;
        }
        Ok(())
    }

    /// `kvm_realm_destroy_rtts()`: tear down everything below the root level over the whole IPA space.
    pub(crate) fn destroy_rtts(&self) {
        let r = self.tear_down_rtt_level(self.start_level() + 1, 0, 1 << self.ia_bits);
        if let Err(e) = r {
            tracing::warn!(target: "realm_kvm", %e, "RTT teardown failed");
        }
    }

    /// `realm_fold_rtt_level(realm, level, start, end)` (17/46): 0 when everything folded, the number of
    /// tables left otherwise.
    fn fold_rtt_level(&self, level: i64, start: u64, end: u64) -> Result<u32, Errno> {
        if level > RMM_RTT_MAX_LEVEL {
            return Err(Errno::EINVAL);
        }
        let map_size = rtt_level_mapsize(level - 1);
        let mut not_folded = 0;
        let mut addr = start;
        while addr < end {
            if !self.step() {
                return Err(Errno::ENXIO);
            }
            let align_addr = align_up(addr, map_size);
            let mut next_addr = align_up(addr + 1, map_size);
            let aligned = align_addr & !(map_size - 1);
            let ret = self.shared.cmds().rtt_fold(self.rd, aligned, level);
            match ret.status() {
                RMI_SUCCESS => self.free_rtt(ret.out(1)),
                RMI_ERROR_RTT => {
                    if level == RMM_RTT_MAX_LEVEL || i64::from(ret.index()) < level {
                        not_folded += 1;
                    } else {
                        let r = self.fold_rtt_level(level + 1, addr, next_addr)?;
                        if r == 0 {
                            next_addr = addr; // try again at this level
                        }
                    }
                }
                _ => return Err(Errno::ENXIO),
            }
            addr = next_addr;
        }
        Ok(not_folded)
    }

    fn fold_after_unmap(&self, start: u64, end: u64) {
        let _ = self.fold_rtt_level(self.start_level() + 1, start, end);
    }

    /// `realm_unmap_shared_range(kvm, level, start, end)` (17/46): `RMI_RTT_UNMAP_UNPROTECTED` over the
    /// shared alias, recursing into tables; then fold.
    pub(crate) fn unmap_shared_range(&self, level: i64, start: u64, end: u64) {
        let shared_bit = 1u64 << (self.ia_bits - 1);
        let (start, end) = (start | shared_bit, end | shared_bit);
        self.unmap_shared_level(level, start, end);
        self.fold_after_unmap(start, end);
    }

    fn unmap_shared_level(&self, level: i64, start: u64, end: u64) {
        if level > RMM_RTT_MAX_LEVEL {
            return;
        }
        let map_size = rtt_level_mapsize(level);
        let mut addr = start;
        while addr < end {
            if !self.step() {
                return;
            }
            let align_addr = align_up(addr, map_size);
            let mut next_addr = align_up(addr + 1, map_size);
            if align_addr != addr || next_addr > end {
                if addr < align_addr {
                    next_addr = align_addr;
                }
                self.unmap_shared_level(level + 1, addr, next_addr.min(end));
                addr = next_addr;
                continue;
            }
            let ret = self
                .shared
                .cmds()
                .rtt_unmap_unprotected(self.rd, addr, level);
            match ret.status() {
                RMI_SUCCESS => next_addr = ret.out(1),
                RMI_ERROR_RTT => {
                    next_addr = ret.out(1);
                    if next_addr == addr {
                        next_addr = align_up(addr + 1, map_size);
                        self.unmap_shared_level(level + 1, addr, next_addr);
                    }
                }
                _ => return,
            }
            if next_addr <= addr {
                return; // no progress reported
            }
            addr = next_addr;
        }
    }

    /// `realm_destroy_private_granule()`: `RMI_DATA_DESTROY`; an unassigned entry (`top > ipa`) is skipped;
    /// a block mapping gets a level-3 RTT and a retry; success → undelegate the data granule. Returns the
    /// next address.
    fn destroy_private_granule(&self, ipa: u64) -> Result<u64, Errno> {
        loop {
            if !self.step() {
                return Err(Errno::ENXIO);
            }
            let ret = self.shared.cmds().data_destroy(self.rd, ipa);
            match ret.status() {
                RMI_SUCCESS => {
                    if !self.shared.undelegate(ret.out(1)) {
                        return Err(Errno::ENXIO);
                    }
                    return Ok(ret.out(2));
                }
                RMI_ERROR_RTT => {
                    let next = ret.out(2);
                    if next > ipa {
                        return Ok(next);
                    }
                    let rtt = self.shared.alloc_delegated().ok_or(Errno::ENOMEM)?;
                    if !self.rtt_create(ipa, 3, rtt).ok() {
                        self.free_rtt(rtt);
                        return Err(Errno::ENXIO);
                    }
                }
                _ => return Err(Errno::ENXIO),
            }
        }
    }

    /// `realm_unmap_private_range()` (17/46): page by page (`realm_unmap_private_page`), following the
    /// RMM's `top`; then fold.
    pub(crate) fn unmap_private_range(&self, start: u64, end: u64) {
        let mut addr = start;
        while addr < end {
            let page_end = align_up(addr + 1, PAGE_SIZE);
            let mut a = addr;
            let mut next = addr;
            let mut failed = false;
            while a < page_end {
                match self.destroy_private_granule(a) {
                    Ok(n) => {
                        next = n;
                        if n <= a {
                            failed = true; // no progress reported
                            break;
                        }
                        a = n;
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
            addr = next;
        }
        self.fold_after_unmap(start, end);
    }
}
