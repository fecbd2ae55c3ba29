//! Launching a built-in payload on realm-a64 through the whole simulated stack, for the payload tests.

use realm_vmm::backend::simulated::SimulatedBackend;
use realm_vmm::build::Quiet;
use realm_vmm::config::AbiRevision;
use realm_vmm::launch::{self, LaunchReport};
use realm_vmm::payload;
use realm_vmm::prepare::prepare;

/// Launch payload `name` as the firmware of the demo configuration (no kernel) with `cpus` vCPUs, stopped
/// after 60 s at the latest; the report, the console, and the backend (for what its kernel recorded).
pub fn launch(abi: AbiRevision, name: &str, cpus: u32) -> (LaunchReport, String, SimulatedBackend) {
    let mut cfg = realm_vmm::demo::config(abi);
    cfg.kernel = None;
    cfg.initrd = None;
    cfg.cpus = cpus;
    payload::install(&mut cfg, name).unwrap();
    let p = prepare(&cfg).unwrap();
    let backend = SimulatedBackend::with_a64(abi, &cfg.platform);
    let mut console = Vec::new();
    let report = launch::launch_until(
        &backend,
        &p,
        &mut console,
        &mut Quiet,
        false,
        Some(std::time::Duration::from_secs(60)),
    )
    .unwrap();
    (report, String::from_utf8(console).unwrap(), backend)
}
