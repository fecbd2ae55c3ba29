//! A small RMM v1.0 test double: enough of DEN0137 1.0-rel0 (granule states, RD, RTT tree, DATA, RECs,
//! INIT_RIPAS) to check the kernel layer's call sequences and teardown, plus a scripted REC_ENTER. The real
//! model is `realm_rmm::Rmm`; this double exists so the kernel layer can be tested on its own.
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "test double decoding raw registers"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Range;
use std::sync::Mutex;

use realm_rmm::host::{HostAccessFault, HostMemory, Rmi, SmcRegs};

pub const FID_BASE: u32 = 0xC400_0000;

/// Scripted REC_ENTER results: (x0, bytes written into `rec_run` at offsets).
pub type EnterScript = VecDeque<(u64, Vec<(usize, Vec<u8>)>)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum G {
    Delegated,
    Rd,
    Rtt,
    Rec,
    Aux,
    Data,
}

#[derive(Debug, Default)]
pub struct Realm {
    pub active: bool,
    pub s2sz: u32,
    pub start: i64,
    pub roots: Vec<u64>,
    /// (level, base ipa) → table PA.
    pub tables: BTreeMap<(i64, u64), u64>,
    /// ipa → data PA.
    pub data: BTreeMap<u64, u64>,
    /// page ipas with RIPAS RAM (unassigned entries).
    pub ram: BTreeSet<u64>,
    pub recs: BTreeSet<u64>,
    /// Measured events, a stand-in for the RIM.
    pub log: Vec<String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub granules: HashMap<u64, G>,
    pub realms: HashMap<u64, Realm>,
    pub rec_owner: HashMap<u64, (u64, Vec<u64>)>,
    pub mem: HashMap<u64, Vec<u8>>,
    pub calls: Vec<SmcRegs>,
    /// Scripted REC_ENTER results: (x0, rec_exit bytes written at run+0x800).
    pub enter_script: EnterScript,
    /// `(rec_enter.flags, rec_enter.gprs[0])` seen at each REC_ENTER.
    pub entries: Vec<(u64, u64)>,
    /// `(rec_enter.gicv3_hcr, rec_enter.gicv3_lrs[0])` seen at each REC_ENTER.
    pub entry_gic: Vec<(u64, u64)>,
}

pub struct MiniRmm {
    pub dram: Range<u64>,
    pub feat0: u64,
    pub aux_count: u64,
    pub st: Mutex<State>,
}

const ERR_INPUT: u64 = 1;
const ERR_REALM: u64 = 2;
const ERR_REC: u64 = 3;
fn err_rtt(level: i64) -> u64 {
    4 | ((level as u64) << 8)
}

fn mapsize(level: i64) -> u64 {
    1u64 << (9 * (4 - level) + 3)
}

impl MiniRmm {
    pub fn new(s2sz: u64) -> Self {
        // S2SZ, NUM_BPS=5 (<<14), NUM_WPS=3 (<<20), SHA-256 and SHA-512.
        let feat0 = s2sz | (5 << 14) | (3 << 20) | (1 << 32) | (1 << 33);
        Self {
            dram: 0x8000_0000..0x1_0000_0000,
            feat0,
            aux_count: 2,
            st: Mutex::default(),
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap()
    }

    /// Granules in the Realm PAS.
    pub fn realm_granule_count(&self) -> usize {
        self.state().granules.len()
    }

    pub fn log(&self, rd: u64) -> Vec<String> {
        self.state()
            .realms
            .get(&rd)
            .map(|r| r.log.clone())
            .unwrap_or_default()
    }

    fn page(&self, st: &State, pa: u64) -> Vec<u8> {
        st.mem
            .get(&(pa & !0xfff))
            .cloned()
            .unwrap_or_else(|| vec![0; 4096])
    }

    fn exec(&self, st: &mut State, r: SmcRegs) -> SmcRegs {
        let x = r.x;
        let mut o = SmcRegs::default();
        let ok = |o: &mut SmcRegs| o.x[0] = 0;
        let f = u32::try_from(x[0]).unwrap_or(0);
        let in_dram = |pa: u64| pa.is_multiple_of(4096) && self.dram.contains(&pa);
        match f.wrapping_sub(FID_BASE) {
            0x150 => {
                o.x[1] = 0x10000;
                o.x[2] = 0x10000;
            }
            0x165 => o.x[1] = if x[1] == 0 { self.feat0 } else { 0 },
            0x151 => {
                if !in_dram(x[1]) || st.granules.contains_key(&x[1]) {
                    o.x[0] = ERR_INPUT;
                } else {
                    st.granules.insert(x[1], G::Delegated);
                }
            }
            0x152 => {
                if st.granules.get(&x[1]) != Some(&G::Delegated) {
                    o.x[0] = ERR_INPUT;
                } else {
                    st.granules.remove(&x[1]);
                }
            }
            0x158 => {
                let (rd, params) = (x[1], x[2]);
                let p = self.page(st, params);
                let g = |off: usize| u64::from_le_bytes(p[off..off + 8].try_into().unwrap());
                let (s2sz, base, start, num) = (g(8), g(0x808), g(0x810) as i64, g(0x818));
                let roots: Vec<u64> = (0..num).map(|i| base + 4096 * i).collect();
                if st.granules.get(&rd) != Some(&G::Delegated)
                    || roots
                        .iter()
                        .any(|r| st.granules.get(r) != Some(&G::Delegated))
                    || s2sz > (self.feat0 & 0xff)
                {
                    o.x[0] = ERR_INPUT;
                } else {
                    st.granules.insert(rd, G::Rd);
                    for r in &roots {
                        st.granules.insert(*r, G::Rtt);
                    }
                    let log = vec![format!(
                        "create s2sz={s2sz} flags={} bps={} wps={} hash={}",
                        g(0),
                        g(0x18),
                        g(0x20),
                        g(0x30)
                    )];
                    st.realms.insert(
                        rd,
                        Realm {
                            s2sz: s2sz as u32,
                            start,
                            roots,
                            log,
                            ..Realm::default()
                        },
                    );
                }
            }
            0x167 => {
                if st.realms.contains_key(&x[1]) {
                    o.x[1] = self.aux_count;
                } else {
                    o.x[0] = ERR_INPUT;
                }
            }
            0x157 => match st.realms.get_mut(&x[1]) {
                Some(r) if !r.active => r.active = true,
                Some(_) => o.x[0] = ERR_REALM,
                None => o.x[0] = ERR_INPUT,
            },
            0x159 => {
                let rd = x[1];
                match st.realms.get(&rd) {
                    Some(r) if r.tables.is_empty() && r.data.is_empty() && r.recs.is_empty() => {
                        let roots = r.roots.clone();
                        st.realms.remove(&rd);
                        st.granules.insert(rd, G::Delegated);
                        for root in roots {
                            st.granules.insert(root, G::Delegated);
                        }
                    }
                    Some(_) => o.x[0] = ERR_REALM,
                    None => o.x[0] = ERR_INPUT,
                }
            }
            0x15d => {
                let (rd, rtt, ipa, level) = (x[1], x[2], x[3], x[4] as i64);
                if st.granules.get(&rtt) != Some(&G::Delegated) {
                    o.x[0] = ERR_INPUT;
                } else if let Some(r) = st.realms.get_mut(&rd) {
                    if level <= r.start || level > 3 || ipa % mapsize(level - 1) != 0 {
                        o.x[0] = ERR_INPUT;
                    } else {
                        let walk = walk(r, ipa, level - 1);
                        if walk < level - 1 {
                            o.x[0] = err_rtt(walk);
                        } else if let std::collections::btree_map::Entry::Vacant(e) =
                            r.tables.entry((level, ipa))
                        {
                            e.insert(rtt);
                            st.granules.insert(rtt, G::Rtt);
                        } else {
                            o.x[0] = err_rtt(level - 1);
                        }
                    }
                } else {
                    o.x[0] = ERR_INPUT;
                }
            }
            0x15e => {
                let (rd, ipa, level) = (x[1], x[2], x[3] as i64);
                let Some(r) = st.realms.get_mut(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                let w = walk(r, ipa, level);
                let base = ipa & !(mapsize(level - 1) - 1);
                if w < level {
                    o.x[0] = err_rtt(w);
                    o.x[2] = (ipa & !(mapsize(w) - 1)) + mapsize(w);
                } else {
                    let end = base + mapsize(level - 1);
                    let live = r
                        .tables
                        .range((level + 1, base)..(level + 1, end))
                        .next()
                        .is_some()
                        || r.data.range(base..end).next().is_some();
                    if live {
                        o.x[0] = err_rtt(level);
                        o.x[2] = ipa;
                    } else {
                        let pa = r.tables.remove(&(level, base)).unwrap();
                        st.granules.insert(pa, G::Delegated);
                        o.x[1] = pa;
                        o.x[2] = end;
                    }
                }
            }
            0x166 => {
                let (rd, ipa, level) = (x[1], x[2], x[3] as i64);
                let Some(r) = st.realms.get(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                let w = walk(r, ipa, level);
                o.x[0] = if w < level {
                    err_rtt(w)
                } else {
                    err_rtt(level - 1)
                };
            }
            0x162 => {
                let (rd, ipa, level) = (x[1], x[2], x[3] as i64);
                let Some(r) = st.realms.get(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                let w = walk(r, ipa, level).min(level);
                o.x[0] = err_rtt(w);
                o.x[1] = (ipa & !(mapsize(w) - 1)) + mapsize(w);
            }
            0x153 => {
                let (rd, data, ipa, src, flags) = (x[1], x[2], x[3], x[4], x[5]);
                if st.granules.get(&data) != Some(&G::Delegated) || !in_dram(src) {
                    o.x[0] = ERR_INPUT;
                    return o;
                }
                let content = self.page(st, src);
                let Some(r) = st.realms.get_mut(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                if r.active || ipa >= 1 << (r.s2sz - 1) {
                    o.x[0] = if r.active { ERR_REALM } else { ERR_INPUT };
                    return o;
                }
                let w = walk(r, ipa, 3);
                if w < 3 {
                    o.x[0] = err_rtt(w);
                } else if let std::collections::btree_map::Entry::Vacant(e) = r.data.entry(ipa) {
                    e.insert(data);
                    r.ram.remove(&ipa);
                    let sum: u64 = content.iter().map(|&b| u64::from(b)).sum();
                    r.log.push(if flags & 1 != 0 {
                        format!("data {ipa:#x} sum={sum}")
                    } else {
                        format!("data {ipa:#x}")
                    });
                    st.granules.insert(data, G::Data);
                } else {
                    o.x[0] = err_rtt(3);
                }
            }
            0x155 => {
                let (rd, ipa) = (x[1], x[2]);
                let Some(r) = st.realms.get_mut(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                let w = walk(r, ipa, 3);
                if w < 3 {
                    o.x[0] = err_rtt(w);
                    o.x[2] = (ipa & !(mapsize(w) - 1)) + mapsize(w);
                } else if let Some(pa) = r.data.remove(&ipa) {
                    st.granules.insert(pa, G::Delegated);
                    o.x[1] = pa;
                    o.x[2] = r
                        .data
                        .range(ipa..)
                        .next()
                        .map_or((ipa & !0x1f_ffff) + 0x20_0000, |(&k, _)| {
                            k.min((ipa & !0x1f_ffff) + 0x20_0000)
                        });
                } else {
                    o.x[0] = err_rtt(3);
                    o.x[2] = r
                        .data
                        .range(ipa..)
                        .next()
                        .map_or((ipa & !0x1f_ffff) + 0x20_0000, |(&k, _)| {
                            k.min((ipa & !0x1f_ffff) + 0x20_0000)
                        });
                }
            }
            0x168 => {
                let (rd, base, top) = (x[1], x[2], x[3]);
                let Some(r) = st.realms.get_mut(&rd) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                if r.active || top <= base || base % 4096 != 0 || top > 1 << (r.s2sz - 1) {
                    o.x[0] = if r.active { ERR_REALM } else { ERR_INPUT };
                    return o;
                }
                let w = walk(r, base, 3);
                if base % mapsize(w) != 0 {
                    o.x[0] = err_rtt(w);
                    return o;
                }
                // Process entries of the table at level w up to its end or top.
                let table_end = (base & !(mapsize(w - 1) - 1)) + mapsize(w - 1);
                let mut ipa = base;
                while ipa < top.min(table_end) && ipa + mapsize(w) <= top {
                    if r.data.range(ipa..ipa + mapsize(w)).next().is_some() {
                        break;
                    }
                    let mut p = ipa;
                    while p < ipa + mapsize(w) {
                        r.ram.insert(p);
                        p += 4096;
                    }
                    ipa += mapsize(w);
                }
                if ipa == base {
                    o.x[0] = err_rtt(w);
                } else {
                    r.log.push(format!("ripas {base:#x}..{ipa:#x}"));
                    o.x[1] = ipa;
                }
            }
            0x15a => {
                let (rd, rec, params) = (x[1], x[2], x[3]);
                let p = self.page(st, params);
                let g = |off: usize| u64::from_le_bytes(p[off..off + 8].try_into().unwrap());
                let naux = g(0x800);
                let aux: Vec<u64> = (0..naux.min(16))
                    .map(|i| g(0x808 + 8 * i as usize))
                    .collect();
                let ok_aux = naux == self.aux_count
                    && aux
                        .iter()
                        .all(|a| st.granules.get(a) == Some(&G::Delegated));
                match st.realms.get_mut(&rd) {
                    Some(r)
                        if !r.active && ok_aux && st.granules.get(&rec) == Some(&G::Delegated) =>
                    {
                        r.recs.insert(rec);
                        r.log.push(format!(
                            "rec flags={} mpidr={:#x} pc={:#x} x0={:#x}",
                            g(0),
                            g(0x100),
                            g(0x200),
                            g(0x300)
                        ));
                        st.granules.insert(rec, G::Rec);
                        for a in &aux {
                            st.granules.insert(*a, G::Aux);
                        }
                        st.rec_owner.insert(rec, (rd, aux));
                    }
                    Some(r) if r.active => o.x[0] = ERR_REALM,
                    _ => o.x[0] = ERR_INPUT,
                }
            }
            0x15b => {
                let rec = x[1];
                match st.rec_owner.remove(&rec) {
                    Some((rd, aux)) => {
                        if let Some(r) = st.realms.get_mut(&rd) {
                            r.recs.remove(&rec);
                        }
                        st.granules.insert(rec, G::Delegated);
                        for a in aux {
                            st.granules.insert(a, G::Delegated);
                        }
                    }
                    None => o.x[0] = ERR_INPUT,
                }
            }
            0x15c => {
                let (rec, run) = (x[1], x[2]);
                let Some(&(rd, _)) = st.rec_owner.get(&rec) else {
                    o.x[0] = ERR_INPUT;
                    return o;
                };
                if !st.realms.get(&rd).is_some_and(|r| r.active) {
                    o.x[0] = ERR_REALM;
                    return o;
                }
                let seen = self.page(st, run);
                let g = |off: usize| u64::from_le_bytes(seen[off..off + 8].try_into().unwrap());
                let entry = (g(0), g(0x200));
                st.entries.push(entry);
                st.entry_gic.push((g(0x300), g(0x308)));
                match st.enter_script.pop_front() {
                    Some((x0, writes)) => {
                        let mut page = self.page(st, run);
                        for (off, bytes) in writes {
                            page[off..off + bytes.len()].copy_from_slice(&bytes);
                        }
                        st.mem.insert(run, page);
                        o.x[0] = x0;
                    }
                    None => o.x[0] = ERR_REC,
                }
            }
            0x164 => {
                if st.rec_owner.contains_key(&x[1]) && st.rec_owner.contains_key(&x[2]) {
                    ok(&mut o);
                } else {
                    o.x[0] = ERR_INPUT;
                }
            }
            _ => o.x[0] = u64::MAX,
        }
        o
    }
}

/// Deepest level reached walking to `ipa`, at most `max`.
fn walk(r: &Realm, ipa: u64, max: i64) -> i64 {
    let mut level = r.start;
    while level < max {
        let base = ipa & !(mapsize(level) - 1);
        if !r.tables.contains_key(&(level + 1, base)) {
            break;
        }
        level += 1;
    }
    level
}

impl Rmi for MiniRmm {
    fn call(&self, regs: SmcRegs) -> SmcRegs {
        let mut st = self.state();
        st.calls.push(regs);
        self.exec(&mut st, regs)
    }
}

impl HostMemory for MiniRmm {
    fn dram(&self) -> Vec<Range<u64>> {
        vec![self.dram.clone()]
    }
    fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), HostAccessFault> {
        let st = self.state();
        for (i, b) in buf.iter_mut().enumerate() {
            let a = pa + i as u64;
            if st.granules.contains_key(&(a & !0xfff)) {
                return Err(HostAccessFault::GranuleProtection { pa: a & !0xfff });
            }
            *b = st
                .mem
                .get(&(a & !0xfff))
                .map_or(0, |p| p[(a & 0xfff) as usize]);
        }
        Ok(())
    }
    fn write(&self, pa: u64, data: &[u8]) -> Result<(), HostAccessFault> {
        let mut st = self.state();
        let mut done = 0;
        while done < data.len() {
            let a = pa + done as u64;
            let off = (a & 0xfff) as usize;
            let n = (4096 - off).min(data.len() - done);
            let page = st.mem.entry(a & !0xfff).or_insert_with(|| vec![0; 4096]);
            page[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }
}
