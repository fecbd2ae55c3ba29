//! Realm memory as a CPU model reaches it: through the realm's stage-2 translation.

use crate::RealmPage;

/// A stage-2 fault on a realm access: the walk found no valid mapping at `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage2Fault {
    /// The RTT level at which the walk stopped (-1..=3).
    pub level: i8,
}

/// Realm memory as the CPU sees it through stage 2.
///
/// An access must not cross a 4 KiB granule; a CPU model splits accesses that would. An access that
/// faults has no effect (nothing of it is stored), so a CPU model may make two accesses to one granule as
/// one and, when that one faults, make them again one by one to raise the architectural fault.
///
/// A CPU model may cache what it derived from memory (decoded instructions, translations) as long as
/// [`RealmMemory::generation`] is unchanged; the implementor bumps it whenever stage-2 mappings change or
/// memory contents change other than through this CPU's own [`RealmMemory::write`] (host writes,
/// `RMI_DATA_CREATE`, RIPAS changes, and [`RealmMemory::invalidate_code`] from any CPU of the realm). A CPU
/// that advertises coherent instruction fetch (`CTR_EL0.DIC = 1`, as `realm-a64` does by default) also
/// needs a bump when any CPU writes a page something was fetched from (memory shared between RECs on
/// several threads must track those pages, as `testing::FlatMemory` does); a single CPU notices its own
/// writes itself.
pub trait RealmMemory {
    /// Load `buf.len()` bytes from `ipa`.
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault>;
    /// Store `data` at `ipa`.
    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault>;
    /// Fetch instructions at `ipa`: like [`RealmMemory::read`], but unprotected memory is never executable
    /// (the RMM maps it execute-never), so a fetch there always faults.
    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault>;

    /// Load the little-endian value of `len` bytes (1, 2, 4 or 8) at `ipa`, within one granule: what a
    /// single-register load reads. The default goes through [`RealmMemory::read`]; implementors may
    /// provide a faster path.
    fn read_value(&mut self, ipa: u64, len: usize) -> Result<u64, Stage2Fault> {
        let mut buf = [0u8; 8];
        self.read(ipa, &mut buf[..len.min(8)])?;
        Ok(u64::from_le_bytes(buf))
    }

    /// Store the low `len` bytes (1, 2, 4 or 8) of `value` at `ipa`, little-endian, within one granule.
    /// The default goes through [`RealmMemory::write`].
    fn write_value(&mut self, ipa: u64, len: usize, value: u64) -> Result<(), Stage2Fault> {
        self.write(ipa, &value.to_le_bytes()[..len.min(8)])
    }

    /// Atomically compare the `len` bytes at `ipa` (1, 2, 4, 8 or 16, naturally aligned), as a little-endian
    /// value, with `expected` and, if equal, store `new` there. Returns `Ok(Ok(()))` when stored and
    /// `Ok(Err(current))` with the value found otherwise.
    ///
    /// This is what exclusive store-pairs (`STXR`, `STXP`) and atomics commit with, so that RECs of one realm
    /// on different host threads see single-copy atomic updates (Arm ARM B2.2.1, B2.9). The default reads
    /// then writes, which is atomic only when nothing else accesses the memory meanwhile; implementors shared
    /// between threads override it.
    fn compare_exchange(
        &mut self,
        ipa: u64,
        len: usize,
        expected: u128,
        new: u128,
    ) -> Result<Result<(), u128>, Stage2Fault> {
        let len = len.min(16);
        let mut buf = [0u8; 16];
        self.read(ipa, &mut buf[..len])?;
        let current = u128::from_le_bytes(buf);
        if current != expected {
            return Ok(Err(current));
        }
        self.write(ipa, &new.to_le_bytes()[..len])?;
        Ok(Ok(()))
    }

    /// The protected page holding `ipa`, for a CPU model to make plain loads and stores to it directly
    /// (not exclusives or atomics: [`RealmMemory::compare_exchange`]) while [`RealmMemory::generation`]
    /// is unchanged. A store that reports the page holds code ([`RealmPage::store_value`]) must be
    /// followed by [`RealmMemory::invalidate_code`]. `None` (the default): make every access through this
    /// trait.
    fn page(&mut self, ipa: u64) -> Option<std::sync::Arc<RealmPage>> {
        let _ = ipa;
        None
    }

    /// A counter that changes whenever something a CPU may have cached from this memory may be stale (see the
    /// trait documentation). The default, constant 0, suits memory that only this CPU changes.
    fn generation(&self) -> u64 {
        0
    }

    /// The realm executed an instruction-cache invalidation (`IC IALLUIS`, `IC IVAU`, …, broadcast in the
    /// Inner Shareable domain): other CPUs of the realm must drop decoded code, so a shared implementor bumps
    /// [`RealmMemory::generation`] and returns the generation after its bump, read atomically with it, so
    /// that the invalidating CPU can tell its own bump (the returned value is one more than the generation it
    /// last saw) from another CPU's. The default bumps nothing and returns [`RealmMemory::generation`].
    fn invalidate_code(&mut self) -> u64 {
        self.generation()
    }
}
