//! The calculator `realm-measurements` (crate `cca-realm-measurements` 0.1.0, MIT/Apache-2.0), timed by
//! `realm bench` on the same firmware as `measure` (issue 14: `measure` at least 3× faster).
//!
//! Found on PATH, else where `tools/calculator/install.sh` installs it (`~/.cache/realmkit/calculator/bin`).
//! Its command line for a one-vCPU kvmtool realm booting a firmware: the payload is the calculator's own
//! `-f FILE` (what it measures), the words after `kvmtool` are the VMM's command line (which it parses for
//! the realm's layout: `-c 1 -m MiB -f FILE`). Host capabilities come from `REALM_MEASUREMENTS_ARGS`
//! (e.g. `-c host.conf -c rmm.conf`, the calculator's config files) or, when that is unset, the flags of
//! [`DEFAULT_HOST_ARGS`]. `--irqchip gicv3`: 0.1.0's default `gicv3-its` device tree gives the GIC and
//! the ITS the same phandle, which its FDT writer refuses ("FDT: Duplicate phandle value").
//!
//! Its RIM is not ours for the same files: it measures RMM 1.0-eac5's RIPAS descriptor (one for the whole
//! RAM range, before the data) where TF-RMM 1.0-rel0 and realmkit extend once per RTT entry, and it
//! generates and places the DTB itself. Only its time is compared.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The calculator's executable name.
pub(super) const NAME: &str = "realm-measurements";

/// Where `tools/calculator/install.sh` puts it, under `$HOME`.
pub(super) const INSTALL_DIR: &str = ".cache/realmkit/calculator/bin";

/// Host capabilities when `REALM_MEASUREMENTS_ARGS` is unset: the simulated `max` platform's as KVM
/// reports them (QEMU `max`: 6 breakpoints, 4 watchpoints, SVE up to 2048 bits, 6 PMU counters; 48-bit
/// IPA, no LPA2). The realm's own parameters (IPA size from its RAM) the calculator derives from the
/// kvmtool command line as `measure` does.
pub(super) const DEFAULT_HOST_ARGS: [&str; 14] = [
    "--ipa-bits",
    "48",
    "--num-bps",
    "6",
    "--num-wps",
    "4",
    "--sve-vl",
    "2048",
    "--pmu-num-ctrs",
    "6",
    "--pmu",
    "true",
    "--lpa2",
    "false",
];

/// The calculator: `path_var`'s first directory holding an executable [`NAME`], else `home`'s
/// [`INSTALL_DIR`] if it holds one.
pub(super) fn find(path_var: Option<&std::ffi::OsStr>, home: Option<&Path>) -> Option<PathBuf> {
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(NAME));
    let installed = home.map(|h| h.join(INSTALL_DIR).join(NAME));
    on_path.chain(installed).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The calculator's arguments for `firmware` in a one-vCPU kvmtool realm of `mem_mib` MiB; `host` is
/// `REALM_MEASUREMENTS_ARGS` (split on whitespace), `None` for [`DEFAULT_HOST_ARGS`].
pub(super) fn args(host: Option<&str>, firmware: &Path, mem_mib: u64) -> Vec<OsString> {
    let mut v: Vec<OsString> = match host {
        Some(h) => h.split_whitespace().map(OsString::from).collect(),
        None => DEFAULT_HOST_ARGS.iter().map(OsString::from).collect(),
    };
    v.extend([OsString::from("-f"), firmware.into()]);
    v.extend(
        [
            "kvmtool",
            "-c",
            "1",
            "-m",
            &mem_mib.to_string(),
            "--irqchip",
            "gicv3",
            "-f",
        ]
        .map(OsString::from),
    );
    v.push(firmware.into());
    v
}

/// Seconds the calculator takes for `firmware` in a kvmtool realm of `mem_mib` MiB, best of two; `None`
/// when it is not found, `Some(Err)` when it failed.
pub(super) fn seconds(firmware: &Path, mem_mib: u64) -> Option<Result<f64, String>> {
    let exe = find(
        std::env::var_os("PATH").as_deref(),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
    )?;
    let host = std::env::var("REALM_MEASUREMENTS_ARGS").ok();
    let mut best = f64::INFINITY;
    for _ in 0..2 {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(args(host.as_deref(), firmware, mem_mib));
        match crate::os::run_child(&mut cmd) {
            Err(e) => return Some(Err(format!("{} failed to start: {e}", exe.display()))),
            Ok(u) if !u.success => {
                return Some(Err(format!(
                    "{} exited with a failure status (REALM_MEASUREMENTS_ARGS gives its host \
                     capabilities, e.g. its -c files)",
                    exe.display()
                )));
            }
            Ok(u) => best = best.min(u.wall.as_secs_f64()),
        }
    }
    Some(Ok(best))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[OsString]) -> Vec<&str> {
        v.iter().map(|s| s.to_str().unwrap()).collect()
    }

    #[test]
    fn the_command_line_names_the_payload_twice_and_the_host_once() {
        let fw = Path::new("/tmp/fw.bin");
        let default = args(None, fw, 2048);
        let mut want: Vec<&str> = DEFAULT_HOST_ARGS.to_vec();
        want.extend(["-f", "/tmp/fw.bin", "kvmtool", "-c", "1", "-m", "2048"]);
        want.extend(["--irqchip", "gicv3", "-f", "/tmp/fw.bin"]);
        assert_eq!(strings(&default), want);
        let given = args(Some("  -c host.conf\t-c rmm.conf "), fw, 512);
        assert_eq!(
            strings(&given),
            [
                "-c",
                "host.conf",
                "-c",
                "rmm.conf",
                "-f",
                "/tmp/fw.bin",
                "kvmtool",
                "-c",
                "1",
                "-m",
                "512",
                "--irqchip",
                "gicv3",
                "-f",
                "/tmp/fw.bin"
            ]
        );
    }

    #[test]
    fn found_on_path_first_then_where_install_sh_puts_it() {
        use std::os::unix::fs::PermissionsExt as _;
        let root =
            std::env::temp_dir().join(format!("realm-calculator-test-{}", std::process::id()));
        let (bin, home) = (root.join("bin"), root.join("home"));
        let installed = home.join(INSTALL_DIR);
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&installed).unwrap();
        let make = |dir: &Path, mode: u32| {
            let p = dir.join(NAME);
            std::fs::write(&p, b"#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let path_var = std::env::join_paths([root.join("none"), bin.clone()]).unwrap();
        assert_eq!(
            find(Some(&path_var), Some(&home)),
            None,
            "nothing installed"
        );
        let in_home = make(&installed, 0o755);
        assert_eq!(find(Some(&path_var), Some(&home)), Some(in_home.clone()));
        assert_eq!(find(None, Some(&home)), Some(in_home.clone()), "no PATH");
        let not_executable = make(&bin, 0o644);
        assert_eq!(
            find(Some(&path_var), Some(&home)),
            Some(in_home),
            "{} is not executable",
            not_executable.display()
        );
        let on_path = make(&bin, 0o755);
        assert_eq!(
            find(Some(&path_var), Some(&home)),
            Some(on_path),
            "PATH comes first"
        );
        assert_eq!(find(Some(&path_var), None), Some(bin.join(NAME)), "no HOME");
        let _ = std::fs::remove_dir_all(&root);
    }
}
