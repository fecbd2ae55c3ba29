//! The RMI: one dispatch table, one handler per command (DEN0137 1.0-rel0 B4.3).
//!
//! Handlers take the raw argument registers and check failure conditions in TF-RMM `rmm-spec-v1.0-rel0`
//! order (`runtime/rmi/*.c`), changing state only after the last check. Each takes the RMM state lock
//! itself, so a handler that runs a realm (RMI_REC_ENTER) can release it while the realm runs.

pub(crate) mod data;
pub(crate) mod features;
pub(crate) mod granule;
pub(crate) mod psci_complete;
pub(crate) mod realm;
pub(crate) mod rec;
pub(crate) mod rtt;
pub(crate) mod run;
pub(crate) mod version;

use crate::Rmm;
use crate::abi::{self, RmiStatus, SMC_SVE_HINT, SMC_UNKNOWN};
use crate::host::SmcRegs;

/// The argument registers of one call, x0..x6 (x0 = FID).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawArgs {
    pub(crate) x: [u64; 7],
}

impl RawArgs {
    /// Argument `n` (1-based, x1..x6).
    pub(crate) fn arg(&self, n: usize) -> u64 {
        self.x.get(n).copied().unwrap_or(0)
    }
}

/// A failed command: a spec status and its index (`RMI_ERROR_RTT`: the level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RmiError {
    pub(crate) status: RmiStatus,
    pub(crate) index: u8,
}

impl RmiError {
    /// `RMI_ERROR_INPUT`.
    pub(crate) const INPUT: Self = Self::new(RmiStatus::ErrorInput, 0);
    /// `RMI_ERROR_REALM` (index 0).
    pub(crate) const REALM: Self = Self::new(RmiStatus::ErrorRealm, 0);
    /// `RMI_ERROR_REC`.
    pub(crate) const REC: Self = Self::new(RmiStatus::ErrorRec, 0);

    pub(crate) const fn new(status: RmiStatus, index: u8) -> Self {
        Self { status, index }
    }

    /// `RMI_ERROR_RTT` at `level`; TF-RMM packs the level as `(unsigned char)level`, so -1 is 0xff.
    pub(crate) fn rtt(level: i64) -> Self {
        Self::new(RmiStatus::ErrorRtt, level.to_le_bytes()[0])
    }
}

/// What a handler returns: status, index and the output registers x1..x4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: RmiStatus,
    pub(crate) index: u8,
    pub(crate) out: [u64; 4],
}

impl Reply {
    /// `RMI_SUCCESS` without outputs.
    pub(crate) const OK: Self = Self::outputs([0; 4]);

    /// `RMI_SUCCESS` with outputs x1..x4.
    pub(crate) const fn outputs(out: [u64; 4]) -> Self {
        Self {
            status: RmiStatus::Success,
            index: 0,
            out,
        }
    }

    /// A failure that still sets outputs (TF-RMM writes some outputs on error, e.g. RTT_INIT_RIPAS's top).
    pub(crate) const fn error_with(err: RmiError, out: [u64; 4]) -> Self {
        Self {
            status: err.status,
            index: err.index,
            out,
        }
    }
}

impl From<RmiError> for Reply {
    fn from(err: RmiError) -> Self {
        Self::error_with(err, [0; 4])
    }
}

/// A handler's result; `Err` is a failure without outputs.
pub(crate) type RmiResult = Result<Reply, RmiError>;

/// A command handler.
pub(crate) type Handler = fn(&Rmm, &RawArgs) -> RmiResult;

/// One row of the dispatch table.
#[derive(Debug)]
pub(crate) struct Command {
    /// Function id.
    pub(crate) fid: u32,
    /// Spec name.
    pub(crate) name: &'static str,
    /// Number of argument registers (x1..).
    pub(crate) n_in: u8,
    /// Number of output registers (x1..).
    pub(crate) n_out: u8,
    /// The handler.
    pub(crate) handler: Handler,
}

impl Command {
    const fn new(fid: u32, name: &'static str, n_in: u8, n_out: u8, handler: Handler) -> Self {
        Self {
            fid,
            name,
            n_in,
            n_out,
            handler,
        }
    }
}

/// Every RMI 1.0 command (TF-RMM `runtime/core/handler.c`'s table: argument and output counts).
pub(crate) const RMI_COMMANDS: &[Command] = &[
    Command::new(abi::RMI_VERSION, "RMI_VERSION", 1, 2, version::version),
    Command::new(abi::RMI_FEATURES, "RMI_FEATURES", 1, 1, features::features),
    Command::new(
        abi::RMI_GRANULE_DELEGATE,
        "RMI_GRANULE_DELEGATE",
        1,
        0,
        granule::granule_delegate,
    ),
    Command::new(
        abi::RMI_GRANULE_UNDELEGATE,
        "RMI_GRANULE_UNDELEGATE",
        1,
        0,
        granule::granule_undelegate,
    ),
    Command::new(
        abi::RMI_REALM_CREATE,
        "RMI_REALM_CREATE",
        2,
        0,
        realm::realm_create,
    ),
    Command::new(
        abi::RMI_REALM_DESTROY,
        "RMI_REALM_DESTROY",
        1,
        0,
        realm::realm_destroy,
    ),
    Command::new(
        abi::RMI_REALM_ACTIVATE,
        "RMI_REALM_ACTIVATE",
        1,
        0,
        realm::realm_activate,
    ),
    Command::new(abi::RMI_REC_CREATE, "RMI_REC_CREATE", 3, 0, rec::rec_create),
    Command::new(
        abi::RMI_REC_DESTROY,
        "RMI_REC_DESTROY",
        1,
        0,
        rec::rec_destroy,
    ),
    Command::new(abi::RMI_REC_ENTER, "RMI_REC_ENTER", 2, 0, run::rec_enter),
    Command::new(
        abi::RMI_REC_AUX_COUNT,
        "RMI_REC_AUX_COUNT",
        1,
        1,
        rec::rec_aux_count,
    ),
    Command::new(
        abi::RMI_DATA_CREATE,
        "RMI_DATA_CREATE",
        5,
        0,
        data::data_create,
    ),
    Command::new(
        abi::RMI_DATA_CREATE_UNKNOWN,
        "RMI_DATA_CREATE_UNKNOWN",
        3,
        0,
        data::data_create_unknown,
    ),
    Command::new(
        abi::RMI_DATA_DESTROY,
        "RMI_DATA_DESTROY",
        2,
        2,
        data::data_destroy,
    ),
    Command::new(abi::RMI_RTT_CREATE, "RMI_RTT_CREATE", 4, 0, rtt::rtt_create),
    Command::new(
        abi::RMI_RTT_DESTROY,
        "RMI_RTT_DESTROY",
        3,
        2,
        rtt::rtt_destroy,
    ),
    Command::new(abi::RMI_RTT_FOLD, "RMI_RTT_FOLD", 3, 1, rtt::rtt_fold),
    Command::new(
        abi::RMI_RTT_MAP_UNPROTECTED,
        "RMI_RTT_MAP_UNPROTECTED",
        4,
        0,
        rtt::rtt_map_unprotected,
    ),
    Command::new(
        abi::RMI_RTT_UNMAP_UNPROTECTED,
        "RMI_RTT_UNMAP_UNPROTECTED",
        3,
        1,
        rtt::rtt_unmap_unprotected,
    ),
    Command::new(
        abi::RMI_RTT_READ_ENTRY,
        "RMI_RTT_READ_ENTRY",
        3,
        4,
        rtt::rtt_read_entry,
    ),
    Command::new(
        abi::RMI_RTT_INIT_RIPAS,
        "RMI_RTT_INIT_RIPAS",
        3,
        1,
        rtt::rtt_init_ripas,
    ),
    Command::new(
        abi::RMI_RTT_SET_RIPAS,
        "RMI_RTT_SET_RIPAS",
        4,
        1,
        rtt::set_ripas::rtt_set_ripas,
    ),
    Command::new(
        abi::RMI_PSCI_COMPLETE,
        "RMI_PSCI_COMPLETE",
        3,
        0,
        psci_complete::psci_complete,
    ),
];

const _: () = assert!(RMI_COMMANDS.len() == 23); // RMI 1.0 command count

/// The table row for an x0, after stripping the SVE hint bit as TF-RMM does.
pub(crate) fn command(x0: u64) -> Option<&'static Command> {
    let fid = x0 & !SMC_SVE_HINT;
    let slot = usize::try_from(fid.wrapping_sub(u64::from(RMI_FID_BASE))).ok()?;
    let i = *COMMAND_INDEX.get(slot)?;
    RMI_COMMANDS.get(usize::from(i))
}

/// The first RMI FID; every RMI 1.0 FID lies in the 32 from it (DEN0137 1.0-rel0 B4.3: SMCCC fast calls
/// 0xC400_0150..=0xC400_016F).
const RMI_FID_BASE: u32 = abi::RMI_FID_FIRST;

/// The index in [`RMI_COMMANDS`] of each FID from [`RMI_FID_BASE`] (`u8::MAX`: none), so a call finds its
/// command without a search (it is looked up several times a DATA_CREATE in a batch).
#[expect(
    clippy::cast_possible_truncation,
    reason = "const context (no try_from): i < 23 and slot < 32, both asserted"
)]
const COMMAND_INDEX: [u8; 32] = {
    let mut index = [u8::MAX; 32];
    let mut i = 0;
    while i < RMI_COMMANDS.len() {
        let slot = RMI_COMMANDS[i].fid - RMI_FID_BASE;
        assert!(
            slot < 32 && index[slot as usize] == u8::MAX,
            "FIDs unique, in range"
        );
        assert!(i < u8::MAX as usize);
        index[slot as usize] = i as u8;
        i += 1;
    }
    index
};

/// Assemble the returned registers: x0 = status | index << 8, x1..x3 the outputs (zero when not outputs),
/// x4 the caller's x4 unless the command wrote it (only RMI_RTT_READ_ENTRY, and only on success: TF-RMM
/// leaves unwritten result registers as they were, and x4 is observed to come back unchanged), x5..x6
/// preserved.
fn reply_regs(cmd: &Command, regs: &SmcRegs, reply: &Reply) -> SmcRegs {
    let mut x = regs.x;
    x[0] = abi::pack_return_code(reply.status, reply.index);
    x[1..4].copy_from_slice(&reply.out[..3]);
    if cmd.n_out >= 4 && reply.status == RmiStatus::Success {
        x[4] = reply.out[3];
    }
    SmcRegs { x }
}

/// [`crate::host::Rmi::call_many`]: runs of RMI_DATA_CREATE and RMI_GRANULE_DELEGATE go through the batch
/// path (contents hashed on all cores), anything else one by one; stops after the first failure.
pub(crate) fn dispatch_many(rmm: &Rmm, calls: &[SmcRegs], out: &mut Vec<SmcRegs>) {
    let batchable = |r: &SmcRegs| {
        command(r.x[0])
            .is_some_and(|c| c.fid == abi::RMI_DATA_CREATE || c.fid == abi::RMI_GRANULE_DELEGATE)
    };
    let mut i = 0;
    while i < calls.len() {
        let run = calls[i..].iter().take_while(|r| batchable(r)).count();
        if run < 2 {
            let ret = dispatch(rmm, calls[i]);
            out.push(ret);
            if ret.x[0] != 0 {
                return;
            }
            i += 1;
            continue;
        }
        let replies = data::data_create_batch(rmm, &calls[i..i + run]);
        rmm.mem_generation.bump();
        for (regs, reply) in calls[i..].iter().zip(&replies) {
            let Some(cmd) = command(regs.x[0]) else {
                return;
            };
            let ret = reply_regs(cmd, regs, reply);
            trace_call(cmd, regs, &ret);
            out.push(ret);
            if ret.x[0] != 0 {
                return;
            }
        }
        i += run;
    }
}

/// [`crate::host::Rmi::call_while`]: a run of RMI_RTT_INIT_RIPAS calls is served under one hold of the state
/// lock (the calls are the same, in the same order, as one by one; nothing else runs between them, as if
/// they had come back to back), anything else one by one; stops after the first reply whose x0 is not
/// `status`.
pub(crate) fn dispatch_while(rmm: &Rmm, calls: &[SmcRegs], status: u64, out: &mut Vec<SmcRegs>) {
    let init_ripas = command(u64::from(abi::RMI_RTT_INIT_RIPAS));
    if let Some(cmd) = init_ripas.filter(|c| calls.iter().all(|r| r.x[0] == u64::from(c.fid))) {
        let mut st = rmm.lock();
        for regs in calls {
            let args = RawArgs { x: regs.x };
            let reply = rtt::init_ripas_locked(rmm, &mut st, &args).unwrap_or_else(Reply::from);
            let ret = reply_regs(cmd, regs, &reply);
            trace_call(cmd, regs, &ret);
            out.push(ret);
            if ret.x[0] != status {
                return;
            }
        }
        return;
    }
    for regs in calls {
        let ret = dispatch(rmm, *regs);
        out.push(ret);
        if ret.x[0] != status {
            return;
        }
    }
}

/// Handle one SMC.
pub(crate) fn dispatch(rmm: &Rmm, regs: SmcRegs) -> SmcRegs {
    let Some(cmd) = command(regs.x[0]) else {
        tracing::debug!(target: "realm_rmm::rmi", fid = regs.x[0], "SMC_UNKNOWN");
        let mut x = regs.x;
        x[0] = SMC_UNKNOWN;
        x[1..4].fill(0);
        return SmcRegs { x };
    };
    let args = RawArgs { x: regs.x };
    let reply = (cmd.handler)(rmm, &args).unwrap_or_else(Reply::from);
    if crate::rec::view::changes_realm_memory(cmd.fid) {
        rmm.mem_generation.bump();
    }
    let out = reply_regs(cmd, &regs, &reply);
    trace_call(cmd, &regs, &out);
    out
}

fn trace_call(cmd: &Command, regs: &SmcRegs, out: &SmcRegs) {
    let n_in = usize::from(cmd.n_in);
    let n_out = usize::from(cmd.n_out);
    tracing::debug!(
        target: "realm_rmm::rmi",
        fid = cmd.fid,
        name = cmd.name,
        args = ?&regs.x[1..=n_in],
        status = RmiStatus::try_from(out.x[0]).map_or("?", RmiStatus::name),
        index = abi::return_index(out.x[0]),
        outputs = ?&out.x[1..=n_out],
        "{}", cmd.name
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fids_are_unique_and_in_range() {
        for (i, a) in RMI_COMMANDS.iter().enumerate() {
            assert!(
                (abi::RMI_FID_FIRST..=abi::RMI_FID_LAST).contains(&a.fid),
                "{}",
                a.name
            );
            for b in &RMI_COMMANDS[i + 1..] {
                assert_ne!(a.fid, b.fid, "{} / {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn every_command_is_found_by_its_fid_and_nothing_else() {
        for c in RMI_COMMANDS {
            let fid = u64::from(c.fid);
            assert_eq!(command(fid).map(|f| f.name), Some(c.name));
            assert_eq!(
                command(fid | SMC_SVE_HINT).map(|f| f.name),
                Some(c.name),
                "with the SVE hint"
            );
        }
        let unused = (0xC400_0140..0xC400_0180)
            .filter(|f| !RMI_COMMANDS.iter().any(|c| u64::from(c.fid) == *f));
        for fid in unused.chain([
            0,
            0x8400_0000,
            u64::from(u32::MAX),
            u64::MAX,
            1 << 32 | 0xC400_0150,
        ]) {
            assert!(command(fid).is_none(), "{fid:#x} is no RMI command");
        }
    }

    #[test]
    fn rtt_error_index_is_the_level_byte() {
        assert_eq!(RmiError::rtt(2).index, 2);
        assert_eq!(RmiError::rtt(-1).index, 0xff);
    }
}
