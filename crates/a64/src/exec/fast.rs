//! Handlers specialised on an instruction's constant fields, for the forms that dominate real code.

use super::op::Handler;
use crate::decode::Insn;

/// The specialised handler of `insn`, if it has one.
pub(super) fn select(insn: Insn) -> Option<Handler> {
    let _ = insn;
    None
}
