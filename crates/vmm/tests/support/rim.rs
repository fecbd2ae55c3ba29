//! An independent, descriptor-level RIM calculator for tests only.
//!
//! Written from the reference page (rmm-v1.0.md §3: RmiRealmParams init, DATA/REC/RIPAS descriptors of 0x100
//! bytes embedding the previous RIM in a 64-byte field) with `sha2` directly, and from the kernels' INIT_RIPAS
//! behaviour (kvm-realm-abi.md; v9/v10 `ripas_change` returns -EINVAL on a level error, v12 17/46 skips one page
//! when the level error is at or below the best map level — "FIXME: Ugly hack to skip regions which are already
//! RIPAS_RAM"), modelling TF-RMM's RTT_INIT_RIPAS walk: deepest existing table for `base`, one extension per
//! entry, stop at an entry that is neither unassigned nor within `top`, or at the end of the table.
//!
//! It shares no code with realm-vmm, realm-kvm or realm-rmm.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256, Sha512};

/// The ABI revision's construction order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// CREATE, INIT_RIPAS(all RAM), DATA…, REC.
    V10,
    /// CREATE, DATA…, REC, INIT_RIPAS(RAM, skipping populated pages).
    V12,
}

/// One populate call.
#[derive(Clone, Debug)]
pub struct Populate {
    /// IPA of the first granule.
    pub base: u64,
    /// The bytes, a multiple of 4096.
    pub bytes: Vec<u8>,
    /// MEASURE flag.
    pub measured: bool,
}

/// Everything the RIM depends on.
#[derive(Clone, Debug)]
pub struct RealmDesc {
    /// SHA-512 instead of SHA-256.
    pub sha512: bool,
    /// RmiRealmParams.flags.
    pub flags: u64,
    /// s2sz.
    pub s2sz: u8,
    /// sve_vl (VQ-1).
    pub sve_vl: u8,
    /// num_bps (count-1).
    pub num_bps: u8,
    /// num_wps (count-1).
    pub num_wps: u8,
    /// pmu_num_ctrs.
    pub pmu_num_ctrs: u8,
    /// RAM slots (base, size).
    pub ram: Vec<(u64, u64)>,
    /// Populate calls in order.
    pub populates: Vec<Populate>,
    /// REC0: pc.
    pub pc: u64,
    /// REC0: x0..x7.
    pub gprs: [u64; 8],
    /// Order.
    pub order: Order,
}

/// One extension, for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ext {
    /// Realm create.
    Create,
    /// DATA.
    Data(u64, bool),
    /// REC.
    Rec,
    /// RIPAS.
    Ripas(u64, u64),
}

const GRANULE: u64 = 4096;

struct Rim {
    sha512: bool,
    rim: [u8; 64],
    log: Vec<(Ext, Vec<u8>)>,
}

impl Rim {
    fn hash(&self, data: &[u8]) -> Vec<u8> {
        if self.sha512 {
            Sha512::digest(data).to_vec()
        } else {
            Sha256::digest(data).to_vec()
        }
    }
    fn set(&mut self, ext: Ext, digest: Vec<u8>) {
        self.rim = [0; 64];
        self.rim[..digest.len()].copy_from_slice(&digest);
        self.log.push((ext, digest));
    }
    fn desc(&self, ty: u8) -> [u8; 0x100] {
        let mut d = [0u8; 0x100];
        d[0] = ty;
        d[8..16].copy_from_slice(&0x100u64.to_le_bytes());
        d[0x10..0x50].copy_from_slice(&self.rim);
        d
    }
    fn data(&mut self, ipa: u64, content: &[u8], measured: bool) {
        let mut d = self.desc(0);
        d[0x50..0x58].copy_from_slice(&ipa.to_le_bytes());
        d[0x58..0x60].copy_from_slice(&u64::from(measured).to_le_bytes());
        if measured {
            let h = self.hash(content);
            d[0x60..0x60 + h.len()].copy_from_slice(&h);
        }
        let h = self.hash(&d);
        self.set(Ext::Data(ipa, measured), h);
    }
    fn rec(&mut self, pc: u64, gprs: &[u64; 8]) {
        let mut p = vec![0u8; 0x1000];
        p[0..8].copy_from_slice(&1u64.to_le_bytes()); // RUNNABLE
        p[0x200..0x208].copy_from_slice(&pc.to_le_bytes());
        for (i, g) in gprs.iter().enumerate() {
            p[0x300 + 8 * i..0x308 + 8 * i].copy_from_slice(&g.to_le_bytes());
        }
        let content = self.hash(&p);
        let mut d = self.desc(1);
        d[0x50..0x50 + content.len()].copy_from_slice(&content);
        let h = self.hash(&d);
        self.set(Ext::Rec, h);
    }
    fn ripas(&mut self, base: u64, top: u64) {
        let mut d = self.desc(2);
        d[0x50..0x58].copy_from_slice(&base.to_le_bytes());
        d[0x58..0x60].copy_from_slice(&top.to_le_bytes());
        let h = self.hash(&d);
        self.set(Ext::Ripas(base, top), h);
    }
}

fn map_size(level: u8) -> u64 {
    1u64 << (12 + 9 * u32::from(3 - level))
}

/// The stage-2 tables the host has created and the assigned (DATA) pages: enough state for INIT_RIPAS.
struct Rtt {
    start: u8,
    /// (level, base) of every non-root table.
    tables: BTreeSet<(u8, u64)>,
    assigned: BTreeSet<u64>,
}

impl Rtt {
    fn new(s2sz: u8) -> Self {
        Self {
            start: 4 - (s2sz - 8) / 9,
            tables: BTreeSet::new(),
            assigned: BTreeSet::new(),
        }
    }
    fn has_table(&self, level: u8, ipa: u64) -> bool {
        level == self.start
            || self
                .tables
                .contains(&(level, ipa & !(map_size(level - 1) - 1)))
    }
    /// Deepest level whose table exists for `ipa`.
    fn walk(&self, ipa: u64) -> u8 {
        let mut level = self.start;
        while level < 3 && self.has_table(level + 1, ipa) {
            level += 1;
        }
        level
    }
    fn create_levels(&mut self, ipa: u64, from: u8, to: u8) {
        for level in from + 1..=to {
            self.tables
                .insert((level, ipa & !(map_size(level - 1) - 1)));
        }
    }
    /// Linux `find_map_level`.
    fn find_map_level(&self, start: u64, end: u64) -> u8 {
        let mut level = 3;
        while level > self.start {
            let s = map_size(level - 1);
            if !start.is_multiple_of(s) || start + s > end {
                break;
            }
            level -= 1;
        }
        level
    }
    /// TF-RMM RMI_RTT_INIT_RIPAS: Ok(out_top) or Err(level).
    fn init_ripas(&self, rim: &mut Rim, base: u64, top: u64) -> Result<u64, u8> {
        let level = self.walk(base);
        let size = map_size(level);
        if !base.is_multiple_of(size) {
            return Err(level);
        }
        let table_end = (base | (map_size(level) * 512 - 1)).wrapping_add(1);
        let mut addr = base;
        while addr + size <= top && addr < table_end {
            let is_table = level < 3 && self.has_table(level + 1, addr);
            let is_assigned = level == 3 && self.assigned.contains(&addr);
            if is_table || is_assigned {
                break;
            }
            rim.ripas(addr, addr + size);
            addr += size;
        }
        if addr > base { Ok(addr) } else { Err(level) }
    }
    /// The kernel's `ripas_change(RIPAS_INIT)` loop.
    fn kernel_init_ripas(&mut self, rim: &mut Rim, mut ipa: u64, end: u64, skip_hack: bool) {
        while ipa < end {
            match self.init_ripas(rim, ipa, end) {
                Ok(next) => ipa = next,
                Err(err_level) => {
                    let level = self.find_map_level(ipa, end);
                    if err_level >= level {
                        assert!(
                            skip_hack,
                            "v10 would fail INIT_RIPAS at {ipa:#x} with -EINVAL"
                        );
                        ipa += GRANULE;
                    } else {
                        self.create_levels(ipa, err_level, level);
                    }
                }
            }
        }
    }
}

/// Compute the RIM (`digest-length` bytes) and the list of extensions.
pub fn compute(desc: &RealmDesc) -> (Vec<u8>, Vec<(Ext, Vec<u8>)>) {
    let mut rim = Rim {
        sha512: desc.sha512,
        rim: [0; 64],
        log: Vec::new(),
    };
    let mut params = vec![0u8; 0x1000];
    params[0..8].copy_from_slice(&desc.flags.to_le_bytes());
    params[0x8] = desc.s2sz;
    params[0x10] = desc.sve_vl;
    params[0x18] = desc.num_bps;
    params[0x20] = desc.num_wps;
    params[0x28] = desc.pmu_num_ctrs;
    params[0x30] = u8::from(desc.sha512);
    let h = rim.hash(&params);
    rim.set(Ext::Create, h);

    let mut rtt = Rtt::new(desc.s2sz);
    if desc.order == Order::V10 {
        for &(base, size) in &desc.ram {
            rtt.kernel_init_ripas(&mut rim, base, base + size, false);
        }
    }
    for p in &desc.populates {
        assert_eq!(p.bytes.len() as u64 % GRANULE, 0);
        for (i, chunk) in p.bytes.chunks(4096).enumerate() {
            let ipa = p.base + i as u64 * GRANULE;
            rtt.create_levels(ipa, rtt.start, 3);
            rtt.assigned.insert(ipa);
            rim.data(ipa, chunk, p.measured);
        }
    }
    rim.rec(desc.pc, &desc.gprs);
    if desc.order == Order::V12 {
        for &(base, size) in &desc.ram {
            rtt.kernel_init_ripas(&mut rim, base, base + size, true);
        }
    }
    let len = if desc.sha512 { 64 } else { 32 };
    (rim.rim[..len].to_vec(), rim.log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_create_matches_the_calculators_vector() {
        // cca-realm-measurements src/realm_config.rs::test_rim (reference page §3.1): flags 0, s2sz 48,
        // sve_vl 0, num_bps 1, num_wps 1, pmu 0.
        let mut rim = Rim {
            sha512: false,
            rim: [0; 64],
            log: Vec::new(),
        };
        let mut params = vec![0u8; 0x1000];
        params[8] = 48;
        params[0x18] = 1;
        params[0x20] = 1;
        let h = rim.hash(&params);
        assert_eq!(
            hex::encode(h),
            "6739dfb22b75ee1268d08dfa8369f501bc0b066243553f069f560d1fa1172973"
        );
        rim.sha512 = true;
        params[0x30] = 1;
        let h = rim.hash(&params);
        assert!(
            hex::encode(h)
                .starts_with("799e434048fb57eb9d4f0e2a2b98158720377252deab2bdfcd69b5a8f82237f4")
        );
    }
}
