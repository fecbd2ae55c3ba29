//! The device tree a realm boots with, generated with vm-fdt: what Linux needs to boot on the layout's platform.
//!
//! Nodes: `/` (`linux,dummy-virt`, 2 address and 2 size cells), `/chosen` (bootargs, initrd, stdout-path),
//! `/memory@…` per RAM slot, `/cpus` with one `cpu@N` per vCPU (`enable-method = "psci"`), `/psci` (PSCI 1.0,
//! `method = "smc"`: a realm's PSCI calls go to the RMM), `/intc` (GICv3 distributor + redistributors),
//! `/timer` (architected timer PPIs 13, 14, 11, 10), and the ns16550a UART `launch` emulates.
#![forbid(unsafe_code)]

use vm_fdt::FdtWriter;

use crate::config::Layout;
use crate::layout::{IpaRange, MemoryMap};

/// The GIC's phandle.
pub const GIC_PHANDLE: u32 = 1;
const IRQ_TYPE_SPI: u32 = 0;
const IRQ_TYPE_PPI: u32 = 1;
const IRQ_LEVEL_HIGH: u32 = 4;
const IRQ_LEVEL_LOW: u32 = 8;

/// What the DTB describes beyond the memory map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdtInputs<'a> {
    /// The kernel command line.
    pub bootargs: &'a str,
    /// vCPUs.
    pub cpus: u32,
    /// Whether to describe a PMU.
    pub pmu: bool,
}

/// A DTB that could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum FdtError {
    /// vm-fdt refused (a string with a NUL, …).
    #[error("writing the device tree")]
    Write(#[source] vm_fdt::Error),
}

impl From<vm_fdt::Error> for FdtError {
    fn from(e: vm_fdt::Error) -> Self {
        Self::Write(e)
    }
}

fn node_name(name: &str, base: u64) -> String {
    format!("{name}@{base:x}")
}

/// Generate the DTB for `map` (not padded; the caller loads it into the layout's DTB slot).
pub fn generate(map: &MemoryMap, inputs: &FdtInputs<'_>) -> Result<Vec<u8>, FdtError> {
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_string("compatible", "linux,dummy-virt")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_u32("interrupt-parent", GIC_PHANDLE)?;

    let uart_path = format!("/{}", node_name("uart", map.uart.range.base));
    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("bootargs", inputs.bootargs)?;
    fdt.property_string("stdout-path", &uart_path)?;
    if let Some(initrd) = map.initrd {
        fdt.property_u64("linux,initrd-start", initrd.base)?;
        fdt.property_u64("linux,initrd-end", initrd.end())?;
    }
    fdt.end_node(chosen)?;

    for ram in map
        .ram
        .iter()
        .filter(|r| r.base != 0 || map.layout != Layout::Qemu)
    {
        memory(&mut fdt, ram)?;
    }

    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    for i in 0..inputs.cpus {
        let cpu = fdt.begin_node(&format!("cpu@{i:x}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_string("compatible", "arm,arm-v8")?;
        fdt.property_string("enable-method", "psci")?;
        fdt.property_u32("reg", i)?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)?;

    let psci = fdt.begin_node("psci")?;
    fdt.property_string_list(
        "compatible",
        vec![
            "arm,psci-1.0".into(),
            "arm,psci-0.2".into(),
            "arm,psci".into(),
        ],
    )?;
    fdt.property_string("method", "smc")?;
    fdt.end_node(psci)?;

    let intc = fdt.begin_node(&node_name("intc", map.gic_dist.base))?;
    fdt.property_string("compatible", "arm,gic-v3")?;
    fdt.property_u32("#interrupt-cells", 3)?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_array_u64(
        "reg",
        &[
            map.gic_dist.base,
            map.gic_dist.size,
            map.gic_redist.base,
            map.gic_redist.size,
        ],
    )?;
    fdt.property_phandle(GIC_PHANDLE)?;
    fdt.end_node(intc)?;

    // kvmtool describes the timer PPIs as level-low, QEMU as level-high.
    let level = match map.layout {
        Layout::Kvmtool => IRQ_LEVEL_LOW,
        Layout::Qemu => IRQ_LEVEL_HIGH,
    };
    let timer = fdt.begin_node("timer")?;
    fdt.property_string("compatible", "arm,armv8-timer")?;
    let mut irqs = Vec::new();
    for ppi in [13, 14, 11, 10] {
        irqs.extend_from_slice(&[IRQ_TYPE_PPI, ppi, level]);
    }
    fdt.property_array_u32("interrupts", &irqs)?;
    fdt.property_null("always-on")?;
    fdt.end_node(timer)?;

    if inputs.pmu {
        let pmu = fdt.begin_node("pmu")?;
        fdt.property_string("compatible", "arm,armv8-pmuv3")?;
        fdt.property_array_u32("interrupts", &[IRQ_TYPE_PPI, 7, IRQ_LEVEL_HIGH])?;
        fdt.end_node(pmu)?;
    }

    let uart = fdt.begin_node(&node_name("uart", map.uart.range.base))?;
    fdt.property_string("compatible", "ns16550a")?;
    fdt.property_array_u64("reg", &[map.uart.range.base, map.uart.range.size])?;
    fdt.property_array_u32("interrupts", &[IRQ_TYPE_SPI, map.uart.spi, IRQ_LEVEL_HIGH])?;
    fdt.property_u32("clock-frequency", 1_843_200)?;
    fdt.end_node(uart)?;

    fdt.end_node(root)?;
    Ok(fdt.finish()?)
}

fn memory(fdt: &mut FdtWriter, ram: &IpaRange) -> Result<(), FdtError> {
    let node = fdt.begin_node(&node_name("memory", ram.base))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &[ram.base, ram.size])?;
    fdt.end_node(node)?;
    Ok(())
}

/// A minimal flattened-device-tree reader (DTSpec v0.4 §5): enough to check what a DTB describes.
pub mod reader {
    use std::collections::BTreeMap;

    /// Properties of every node, by full path (`/`, `/chosen`, `/cpus/cpu@0`).
    pub type Nodes = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

    /// Why bytes are not a DTB.
    #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum ReadError {
        /// Bad magic, truncated or malformed blocks.
        #[error("malformed device tree: {0}")]
        Malformed(&'static str),
    }

    fn be32(b: &[u8], at: usize) -> Result<u32, ReadError> {
        let s = b.get(at..at + 4).ok_or(ReadError::Malformed("truncated"))?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn cstr(b: &[u8], at: usize) -> Result<(&str, usize), ReadError> {
        let rest = b
            .get(at..)
            .ok_or(ReadError::Malformed("string out of bounds"))?;
        let len = rest
            .iter()
            .position(|c| *c == 0)
            .ok_or(ReadError::Malformed("unterminated string"))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| ReadError::Malformed("non-UTF-8 name"))?;
        Ok((s, len + 1))
    }

    /// Parse every node and property.
    pub fn parse(b: &[u8]) -> Result<Nodes, ReadError> {
        if be32(b, 0)? != 0xd00d_feed {
            return Err(ReadError::Malformed("bad magic"));
        }
        let total = be32(b, 4)? as usize;
        let off_struct = be32(b, 8)? as usize;
        let off_strings = be32(b, 12)? as usize;
        if total > b.len() {
            return Err(ReadError::Malformed("totalsize past the end"));
        }
        let b = &b[..total];
        let strings = b
            .get(off_strings..)
            .ok_or(ReadError::Malformed("strings out of bounds"))?;
        let mut nodes = Nodes::new();
        let mut path: Vec<String> = Vec::new();
        let mut at = off_struct;
        loop {
            let token = be32(b, at)?;
            at += 4;
            match token {
                1 => {
                    let (name, len) = cstr(b, at)?;
                    at = (at + len).next_multiple_of(4);
                    path.push(name.to_owned());
                    nodes.entry(full(&path)).or_default();
                }
                2 => {
                    path.pop()
                        .ok_or(ReadError::Malformed("unbalanced END_NODE"))?;
                }
                3 => {
                    let len = be32(b, at)? as usize;
                    let name_off = be32(b, at + 4)? as usize;
                    at += 8;
                    let value = b
                        .get(at..at + len)
                        .ok_or(ReadError::Malformed("property out of bounds"))?;
                    at = (at + len).next_multiple_of(4);
                    let (name, _) = cstr(strings, name_off)?;
                    nodes
                        .entry(full(&path))
                        .or_default()
                        .insert(name.to_owned(), value.to_vec());
                }
                4 => {}
                9 => {
                    return if path.is_empty() {
                        Ok(nodes)
                    } else {
                        Err(ReadError::Malformed("unclosed node"))
                    };
                }
                _ => return Err(ReadError::Malformed("unknown token")),
            }
        }
    }

    fn full(path: &[String]) -> String {
        let tail: Vec<&str> = path.iter().skip(1).map(String::as_str).collect();
        format!("/{}", tail.join("/"))
    }

    /// A property as big-endian u32 cells.
    pub fn cells32(v: &[u8]) -> Vec<u32> {
        v.chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// A property as big-endian u64 cells.
    pub fn cells64(v: &[u8]) -> Vec<u64> {
        v.chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    }

    /// A property as a string list.
    pub fn strings(v: &[u8]) -> Vec<String> {
        v.split(|c| *c == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::reader::{cells32, cells64, parse, strings};
    use super::*;
    use crate::config::ConfigFile;
    use crate::image::synthetic_image;
    use crate::layout::{BootImage, ImageSizes, place};

    fn dtb(layout: &str, cpus: u32, initrd: Option<u64>) -> (MemoryMap, Vec<u8>) {
        let cfg = ConfigFile {
            kernel: Some("Image".into()),
            layout: Some(layout.into()),
            mem: Some("512M".into()),
            cpus: Some(cpus),
            ..ConfigFile::default()
        }
        .validate()
        .unwrap();
        let k = synthetic_image(8192, 1);
        let map = place(
            &cfg,
            &ImageSizes {
                kernel: Some(BootImage::of(&k)),
                initrd,
                ..Default::default()
            },
        )
        .unwrap();
        let bytes = generate(
            &map,
            &FdtInputs {
                bootargs: "console=ttyS0 earlycon",
                cpus,
                pmu: true,
            },
        )
        .unwrap();
        (map, bytes)
    }

    #[test]
    fn has_what_linux_needs() {
        let (map, bytes) = dtb("kvmtool", 3, Some(1234));
        assert!(bytes.len() as u64 <= map.dtb.size);
        let nodes = parse(&bytes).unwrap();
        let root = &nodes["/"];
        assert_eq!(strings(&root["compatible"]), ["linux,dummy-virt"]);
        assert_eq!(cells32(&root["#address-cells"]), [2]);
        assert_eq!(cells32(&root["interrupt-parent"]), [GIC_PHANDLE]);
        let chosen = &nodes["/chosen"];
        assert_eq!(strings(&chosen["bootargs"]), ["console=ttyS0 earlycon"]);
        assert_eq!(strings(&chosen["stdout-path"]), ["/uart@1000000"]);
        let initrd = map.initrd.unwrap();
        assert_eq!(cells64(&chosen["linux,initrd-start"]), [initrd.base]);
        assert_eq!(cells64(&chosen["linux,initrd-end"]), [initrd.base + 1234]);
        let mem = &nodes["/memory@80000000"];
        assert_eq!(strings(&mem["device_type"]), ["memory"]);
        assert_eq!(cells64(&mem["reg"]), [0x8000_0000, 512 << 20]);
        for i in 0..3u32 {
            let cpu = &nodes[&format!("/cpus/cpu@{i}")];
            assert_eq!(strings(&cpu["enable-method"]), ["psci"]);
            assert_eq!(cells32(&cpu["reg"]), [i]);
        }
        assert_eq!(strings(&nodes["/psci"]["method"]), ["smc"]);
        assert!(strings(&nodes["/psci"]["compatible"]).contains(&"arm,psci-0.2".to_owned()));
        let gic = &nodes["/intc@3fff0000"];
        assert_eq!(strings(&gic["compatible"]), ["arm,gic-v3"]);
        assert!(gic.contains_key("interrupt-controller"));
        assert_eq!(
            cells64(&gic["reg"]),
            [
                0x3fff_0000,
                0x1_0000,
                0x3fff_0000 - 3 * 0x2_0000,
                3 * 0x2_0000
            ]
        );
        assert_eq!(cells32(&gic["phandle"]), [GIC_PHANDLE]);
        assert_eq!(cells32(&nodes["/timer"]["interrupts"]).len(), 12);
        let uart = &nodes["/uart@1000000"];
        assert_eq!(strings(&uart["compatible"]), ["ns16550a"]);
        assert_eq!(cells64(&uart["reg"]), [0x0100_0000, 8]);
        assert!(nodes.contains_key("/pmu"));
    }

    #[test]
    fn qemu_dtb_and_no_initrd() {
        let (_, bytes) = dtb("qemu", 1, None);
        let nodes = parse(&bytes).unwrap();
        assert!(!nodes["/chosen"].contains_key("linux,initrd-start"));
        assert!(nodes.contains_key("/memory@40000000"));
        assert!(nodes.contains_key("/uart@9000000"));
        assert!(nodes.contains_key("/intc@8000000"));
    }

    #[test]
    fn reader_rejects_garbage() {
        assert!(parse(&[0; 8]).is_err());
        let (_, mut bytes) = dtb("kvmtool", 1, None);
        let len = bytes.len();
        bytes.truncate(len - 20);
        assert!(parse(&bytes).is_err());
    }
}
