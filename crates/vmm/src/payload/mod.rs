//! Small bare-metal realm programs, generated as A64 machine code with [`realm_a64::asm`] (issue 12's payload
//! set): one file per payload, each documenting what it does, and one registry ([`PAYLOADS`]) that
//! `realm launch --payload NAME` and `realm launch --list-payloads` read. docs/payloads.md describes them for
//! users.
//!
//! Every payload is loaded as the realm's firmware: PC at its first byte, EL1, MMU off (the REC's initial state,
//! DEN0137 1.0-rel0 A2.3.x), and is built for the [`Target`] it runs on (where the UART is, how many vCPUs).
#![forbid(unsafe_code)]

mod asm;
pub mod attest;
mod gic;
pub mod hello;
pub mod ipi;
pub mod mmu;
pub mod rsi_tour;
mod runtime;
pub mod shared_memory;
pub mod smp;
pub mod timer;
pub mod uart_irq;

pub use attest::attest;
pub use hello::{HELLO_MESSAGE, HELLO_SIZE, hello};
pub use mmu::mmu;
pub use rsi_tour::rsi_tour;
pub use shared_memory::shared_memory;
pub use smp::smp;

/// What a payload is built for: the platform facts a realm program cannot discover by itself without a device
/// tree parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The IPA of the UART's transmit register (protected-space address; payloads reach it through the
    /// unprotected alias).
    pub uart_base: u64,
    /// The realm's vCPU count.
    pub vcpus: u32,
    /// The GICv3 distributor's IPA (protected-space address, reached through the unprotected alias).
    pub gic_dist: u64,
    /// The IPA of the first redistributor (RD_base; vCPU n's is 128 KiB × n above, its SGI_base 64 KiB above
    /// that).
    pub gic_redist: u64,
    /// The UART's SPI number as the DT gives it (INTID 32 + it).
    pub uart_spi: u32,
}

impl Target {
    /// The target of a realm configuration.
    pub fn of(cfg: &crate::config::RealmConfig) -> Self {
        let uart = crate::layout::uart(cfg.layout);
        let (dist, redist) = crate::layout::gic(cfg.layout, cfg.cpus);
        Self {
            uart_base: uart.range.base,
            vcpus: cfg.cpus,
            gic_dist: dist.base,
            gic_redist: redist.base,
            uart_spi: uart.spi,
        }
    }

    /// The kvmtool layout's target for `vcpus` vCPUs (the layout `realm launch` uses by default).
    pub fn kvmtool(vcpus: u32) -> Self {
        let uart = crate::layout::uart(crate::config::Layout::Kvmtool);
        let (dist, redist) = crate::layout::gic(crate::config::Layout::Kvmtool, vcpus);
        Self {
            uart_base: uart.range.base,
            vcpus,
            gic_dist: dist.base,
            gic_redist: redist.base,
            uart_spi: uart.spi,
        }
    }
}

/// One built-in realm program.
#[derive(Debug, Clone, Copy)]
pub struct Payload {
    /// The name `--payload` takes.
    pub name: &'static str,
    /// One line: what the payload exercises.
    pub description: &'static str,
    /// Build its machine code (a whole number of 4 KiB granules) for a target.
    pub build: fn(&Target) -> Vec<u8>,
}

/// Every built-in payload, in the order `--list-payloads` shows them.
pub const PAYLOADS: &[Payload] = &[
    Payload {
        name: "hello",
        description: "RSI_REALM_CONFIG, a line on the UART through the unprotected alias, PSCI SYSTEM_OFF",
        build: hello::build,
    },
    Payload {
        name: "rsi-tour",
        description: "every RSI call about the realm itself, each result printed (the RIM from inside)",
        build: rsi_tour,
    },
    Payload {
        name: "smp",
        description: "vCPU 0 powers the others on (PSCI CPU_ON); each prints its MPIDR, CPU_OFF; the last SYSTEM_OFF",
        build: smp,
    },
    Payload {
        name: "shared-memory",
        description: "a granule made RIPAS EMPTY, reached through the unprotected alias, a message to the VMM and its answer",
        build: shared_memory,
    },
    Payload {
        name: "mmu",
        description: "stage 1 on, a BRK and a translation fault handled at EL1, EL0 code that calls back with SVC",
        build: mmu,
    },
    Payload {
        name: "timer",
        description: "the virtual timer's PPI 27 through the GIC CPU interface (IAR/EOIR), period and round trip measured",
        build: timer::build,
    },
    Payload {
        name: "ipi",
        description: "vCPU 0 sends SGI 1 to each other vCPU (ICC_SGI1R_EL1, trapped), each answers with SGI 2",
        build: ipi::ipi,
    },
    Payload {
        name: "uart-irq",
        description: "an interrupt-driven console: every byte of a line written from the UART's THRE interrupt",
        build: uart_irq::uart_irq,
    },
    Payload {
        name: "attest",
        description: "a challenge from the VMM, a CCA token from RSI_ATTESTATION_TOKEN_INIT/CONTINUE, handed back through shared memory",
        build: attest,
    },
];

/// The payload called `name`.
pub fn find(name: &str) -> Option<&'static Payload> {
    PAYLOADS.iter().find(|p| p.name == name)
}

/// The payload names, comma separated (for error messages and help text).
pub fn names() -> String {
    PAYLOADS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Build payload `name` for `target`; `Err` names the payloads that exist.
pub fn build(name: &str, target: &Target) -> Result<Vec<u8>, UnknownPayload> {
    let p = find(name).ok_or_else(|| UnknownPayload(name.to_owned()))?;
    Ok((p.build)(target))
}

/// Make payload `name`, built for `cfg`'s layout and vCPUs, `cfg`'s firmware (named `<NAME payload>` in
/// summaries); `Err` names the payloads that exist.
pub fn install(cfg: &mut crate::config::RealmConfig, name: &str) -> Result<(), UnknownPayload> {
    let code = build(name, &Target::of(cfg))?;
    cfg.firmware = Some(crate::image::ImageSource::Bytes {
        name: format!("<{name} payload>"),
        data: std::sync::Arc::from(code),
    });
    Ok(())
}

/// A `--payload` name that is not in [`PAYLOADS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPayload(pub String);

impl std::fmt::Display for UnknownPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown payload {:?} (expected one of: {})",
            self.0,
            names()
        )
    }
}

impl std::error::Error for UnknownPayload {}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Target = Target {
        uart_base: 0x0100_0000,
        vcpus: 1,
        gic_dist: 0x3fff_0000,
        gic_redist: 0x3ffd_0000,
        uart_spi: 0,
    };

    #[test]
    fn the_kvmtool_target_has_kvmtool_s_devices() {
        assert_eq!(Target::kvmtool(1), TARGET);
        // Four vCPUs: four 128 KiB redistributors below the distributor.
        assert_eq!(Target::kvmtool(4).gic_redist, 0x3fff_0000 - 4 * 0x2_0000);
    }

    #[test]
    fn names_are_unique_and_every_payload_builds_whole_granules() {
        for (i, p) in PAYLOADS.iter().enumerate() {
            assert!(
                PAYLOADS[..i].iter().all(|q| q.name != p.name),
                "payload name {} appears twice",
                p.name
            );
            let code = (p.build)(&TARGET);
            assert!(
                !code.is_empty() && code.len() % 0x1000 == 0,
                "{}: {} bytes is not a whole number of granules",
                p.name,
                code.len()
            );
            assert!(!p.description.is_empty(), "{} has no description", p.name);
        }
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(find("hello").map(|p| p.name), Some("hello"));
        assert_eq!(build("hello", &TARGET).ok(), Some(hello(0x0100_0000)));
        let e = build("nope", &TARGET).unwrap_err();
        assert_eq!(e, UnknownPayload("nope".into()));
        assert!(
            e.to_string()
                .starts_with("unknown payload \"nope\" (expected one of: hello"),
            "{e}"
        );
    }
}
