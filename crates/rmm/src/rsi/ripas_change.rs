//! The per-entry rule of a RIPAS change the host applies with RMI_RTT_SET_RIPAS (TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rmi/rtt.c` `update_ripas`).

use crate::abi::rsi::{RSI_CHANGE_DESTROYED, RSI_RIPAS_EMPTY, RSI_RIPAS_RAM};

/// An RTT entry as far as RIPAS is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RipasEntry {
    /// unassigned_empty.
    UnassignedEmpty,
    /// unassigned_ram.
    UnassignedRam,
    /// unassigned_destroyed.
    UnassignedDestroyed,
    /// assigned_empty.
    AssignedEmpty,
    /// assigned_ram.
    AssignedRam,
    /// assigned_destroyed.
    AssignedDestroyed,
    /// An entry without RIPAS (unprotected, table).
    NoRipas,
}

/// The entry after changing it to `ripas`: `Err(())` stops the change at this entry (no RIPAS, or leaving
/// DESTROYED without `change_destroyed == RSI_CHANGE_DESTROYED`); `Ok(None)` means nothing to do.
pub(crate) fn update_ripas(
    entry: RipasEntry,
    ripas: u64,
    change_destroyed: u64,
) -> Result<Option<RipasEntry>, ()> {
    use RipasEntry::*;
    let may_leave_destroyed = change_destroyed == RSI_CHANGE_DESTROYED;
    let new = match (entry, ripas) {
        (NoRipas, _) => return Err(()),
        (UnassignedDestroyed | AssignedDestroyed, _)
            if !may_leave_destroyed && is_change(ripas) =>
        {
            return Err(());
        }
        (UnassignedEmpty | UnassignedDestroyed, RSI_RIPAS_RAM) => UnassignedRam,
        (AssignedEmpty | AssignedDestroyed, RSI_RIPAS_RAM) => AssignedRam,
        (UnassignedRam | UnassignedDestroyed, RSI_RIPAS_EMPTY) => UnassignedEmpty,
        (AssignedRam | AssignedDestroyed, RSI_RIPAS_EMPTY) => AssignedEmpty,
        _ => return Ok(None),
    };
    Ok(Some(new))
}

/// A request the RMM acts on (EMPTY or RAM; RSI_IPA_STATE_SET refuses anything else).
const fn is_change(ripas: u64) -> bool {
    ripas == RSI_RIPAS_EMPTY || ripas == RSI_RIPAS_RAM
}

#[cfg(test)]
mod tests {
    use super::RipasEntry::*;
    use super::*;

    #[test]
    fn truth_table() {
        let ram = RSI_RIPAS_RAM;
        let empty = RSI_RIPAS_EMPTY;
        assert_eq!(
            update_ripas(UnassignedEmpty, ram, 0),
            Ok(Some(UnassignedRam))
        );
        assert_eq!(update_ripas(AssignedEmpty, ram, 0), Ok(Some(AssignedRam)));
        assert_eq!(update_ripas(UnassignedRam, ram, 0), Ok(None));
        assert_eq!(update_ripas(AssignedRam, ram, 0), Ok(None));
        assert_eq!(
            update_ripas(UnassignedRam, empty, 0),
            Ok(Some(UnassignedEmpty))
        );
        assert_eq!(update_ripas(AssignedRam, empty, 0), Ok(Some(AssignedEmpty)));
        assert_eq!(update_ripas(UnassignedEmpty, empty, 0), Ok(None));
        for destroyed in [UnassignedDestroyed, AssignedDestroyed] {
            assert_eq!(update_ripas(destroyed, ram, 0), Err(()));
            assert_eq!(
                update_ripas(destroyed, empty, 2),
                Err(()),
                "only the value 1 allows it"
            );
        }
        assert_eq!(
            update_ripas(UnassignedDestroyed, ram, 1),
            Ok(Some(UnassignedRam))
        );
        assert_eq!(
            update_ripas(AssignedDestroyed, empty, 1),
            Ok(Some(AssignedEmpty))
        );
        assert_eq!(update_ripas(NoRipas, ram, 1), Err(()));
    }
}
