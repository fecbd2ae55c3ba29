//! What the payload tests share: a payload as a realm's firmware, launched on the simulated platform's realm
//! CPU through the library (so a test sees the exit sequence and the messages the VMM received).

use realm_vmm::backend::{BackendKind, CpuChoice};
use realm_vmm::config::{AbiRevision, Layout, RealmConfig};
use realm_vmm::launch::LaunchReport;

/// `payload` as the firmware of a 1-vCPU, 256 MiB realm on `layout` speaking `abi`.
pub fn config(abi: AbiRevision, layout: Layout, payload: &str) -> RealmConfig {
    let mut cfg = realm_vmm::demo::config(abi);
    cfg.layout = layout;
    cfg.kernel = None;
    cfg.initrd = None;
    cfg.cmdline = String::new();
    cfg.cpus = 1;
    realm_vmm::payload::install(&mut cfg, payload).unwrap();
    cfg
}

/// Launch `cfg` on the simulated platform's realm CPU: what the realm printed and the report.
pub fn launch(cfg: &RealmConfig) -> (String, LaunchReport) {
    let prepared = realm_vmm::prepare::prepare(cfg).unwrap();
    let backend = realm_vmm::backend::open(
        BackendKind::Simulated,
        cfg.abi,
        &cfg.platform,
        CpuChoice::A64,
    )
    .unwrap();
    let mut console = Vec::new();
    let report = realm_vmm::launch::launch_until(
        backend.as_ref(),
        &prepared,
        &mut console,
        &mut realm_vmm::build::Quiet,
        false,
        Some(std::time::Duration::from_secs(60)),
    )
    .unwrap();
    (String::from_utf8(console).unwrap(), report)
}
