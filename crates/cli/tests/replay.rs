//! `realm rmi replay` end to end: a trace that creates a realm, populates it and prints measurements; the
//! RIM is checked against a computation of the RMM 1.0 descriptors written here with sha2 directly.
#![cfg(test)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};

const BASE: u64 = 0x8000_0000;

fn hexs(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_slot(data: &[u8]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(&Sha256::digest(data));
    out
}

fn run(trace: &str, extra: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_realm"))
        .args(["rmi", "replay", "--dram", "0x80000000:1G"])
        .args(extra)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn realm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(trace.as_bytes())
        .expect("write trace");
    child.wait_with_output().expect("wait")
}

fn call(fid: u32, args: &[u64]) -> String {
    let a: Vec<String> = args.iter().map(|v| format!("\"{v:#x}\"")).collect();
    format!("{{\"fid\": \"{fid:#x}\", \"args\": [{}]}}\n", a.join(", "))
}

#[test]
fn replay_builds_a_realm_and_reports_the_independent_rim() {
    let (root, rd, params, rtt2, rtt3, data, src) = (
        BASE,
        BASE + 0x1000,
        BASE + 0x2000,
        BASE + 0x3000,
        BASE + 0x4000,
        BASE + 0x5000,
        BASE + 0x6000,
    );
    // RmiRealmParams: s2sz 39 at level 1 (one root), 2 bps, 2 wps, SHA-256, VMID 3.
    let mut p = [0u8; 0x1000];
    p[0x08] = 39;
    p[0x18] = 1;
    p[0x20] = 1;
    p[0x800] = 3;
    p[0x808..0x810].copy_from_slice(&root.to_le_bytes());
    p[0x810..0x818].copy_from_slice(&1i64.to_le_bytes());
    p[0x818] = 1;
    let content: Vec<u8> = (0..0x1000u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();

    let mut trace = String::new();
    for g in [root, rd, rtt2, rtt3, data] {
        trace += &call(0xc400_0151, &[g]);
    }
    trace += &format!(
        "{{\"write\": {{\"addr\": \"{params:#x}\", \"hex\": \"{}\"}}}}\n",
        hexs(&p)
    );
    trace += &format!(
        "{{\"write\": {{\"addr\": \"{src:#x}\", \"hex\": \"{}\"}}}}\n",
        hexs(&content)
    );
    trace += &call(0xc400_0158, &[rd, params]);
    trace += &call(0xc400_015d, &[rd, rtt2, 0, 2]);
    trace += &call(0xc400_015d, &[rd, rtt3, 0, 3]);
    trace += &call(0xc400_0168, &[rd, 0, 0x2000]);
    trace += &call(0xc400_0153, &[rd, data, 0x1000, src, 1]);
    trace += &format!("{{\"measurements\": \"{rd:#x}\"}}\n");
    let out = run(&trace, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 11);
    for l in &lines[..10] {
        assert!(l.contains("\"x0\": \"0x0\""), "{l}");
    }
    assert_eq!(
        lines[8],
        "{\"fid\": \"0xc4000168\", \"x0\": \"0x0\", \"x1\": \"0x2000\", \"x2\": \"0x0\", \"x3\": \"0x0\", \"x4\": \"0x0\"}"
    );

    // Independent RIM: params (only flags, s2sz, sve_vl, num_bps, num_wps, pmu_num_ctrs, hash_algo kept),
    // then one RIPAS descriptor per page, then the DATA descriptor.
    let mut measured = [0u8; 0x1000];
    measured[..0x31].copy_from_slice(&p[..0x31]);
    let mut rim = sha256_slot(&measured);
    let desc = |ty: u8, rim: &[u8; 64], fill: &dyn Fn(&mut [u8; 0x100])| {
        let mut d = [0u8; 0x100];
        d[0] = ty;
        d[8] = 0;
        d[9] = 1;
        d[0x10..0x50].copy_from_slice(rim);
        fill(&mut d);
        sha256_slot(&d)
    };
    for (b, t) in [(0u64, 0x1000u64), (0x1000, 0x2000)] {
        rim = desc(2, &rim, &|d| {
            d[0x50..0x58].copy_from_slice(&b.to_le_bytes());
            d[0x58..0x60].copy_from_slice(&t.to_le_bytes());
        });
    }
    let content_hash = sha256_slot(&content);
    rim = desc(0, &rim, &|d| {
        d[0x50..0x58].copy_from_slice(&0x1000u64.to_le_bytes());
        d[0x58] = 1;
        d[0x60..0xa0].copy_from_slice(&content_hash);
    });
    let zero = "0".repeat(64);
    assert_eq!(
        lines[10],
        format!(
            "{{\"rim\": \"{}\", \"rem\": [\"{zero}\", \"{zero}\", \"{zero}\", \"{zero}\"]}}",
            hexs(&rim[..32])
        )
    );
}

#[test]
fn malformed_line_exits_2_naming_the_line() {
    let out = run(
        "{\"fid\": \"0xc4000150\", \"args\": [\"0x10000\"]}\n{\"fid\": \n",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn features_profile_selects_the_register() {
    let out = run(
        &call(0xc400_0165, &[0]),
        &["--features-profile", "qemu-max"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"x1\": \"0x28f34317f34\""));
    let out = run("", &["--features-profile", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

/// x1 of the single reply to `RMI_FEATURES(0)` on `platform`.
fn features0(platform: &str) -> String {
    let o = run(&call(0xC400_0165, &[0]), &["--platform", platform]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    v["x1"].as_str().unwrap().to_owned()
}

#[test]
fn features_register_follows_the_platform() {
    // TF-RMM rmm-spec-v1.0-rel0 on QEMU 10.0 -cpu max,x-rme=on (observed).
    assert_eq!(features0("qemu-max"), "0x28f34317f34");
    // The FVP profile: S2SZ 48, no LPA2/SVE, 16 bps, 16 wps, PMU with 31 counters, SHA-256/512, 16 LRs,
    // MAX_RECS_ORDER 10 (docs/platforms.md).
    assert_eq!(features0("fvp"), "0x2bffcf3c030");
    // The default (max): every field at its largest.
    assert_eq!(
        String::from_utf8(run(&call(0xC400_0165, &[0]), &[]).stdout).unwrap(),
        String::from_utf8(run(&call(0xC400_0165, &[0]), &["--platform", "max"]).stdout).unwrap()
    );
    assert_eq!(features0("max"), "0x2bffcf3ff34");
    // The old flag name still works.
    let o = run(
        &call(0xC400_0165, &[0]),
        &["--features-profile", "qemu-max"],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("0x28f34317f34"));
}

/// REALM_CREATE of a 52-bit LPA2 realm (start level 0, 16 concatenated root RTTs, as Linux lays it out):
/// accepted where the platform has LPA2, refused (RMI_ERROR_INPUT) where it does not.
fn lpa2_realm_status(platform: &str) -> String {
    let (rd, params, root) = (BASE, BASE + 0x1000, BASE + 0x10_0000);
    let mut p = [0u8; 0x1000];
    p[0x00] = 1; // RMI_REALM_FLAGS_LPA2
    p[0x08] = 52;
    p[0x18] = 1;
    p[0x20] = 1;
    p[0x800..0x802].copy_from_slice(&1u16.to_le_bytes()); // vmid
    p[0x808..0x810].copy_from_slice(&root.to_le_bytes()); // rtt_base
    p[0x810..0x818].copy_from_slice(&0u64.to_le_bytes()); // rtt_level_start 0
    p[0x818..0x81c].copy_from_slice(&16u32.to_le_bytes()); // rtt_num_start
    let mut trace = call(0xC400_0151, &[rd]);
    for i in 0..16 {
        trace += &call(0xC400_0151, &[root + i * 0x1000]);
    }
    trace += &format!(
        "{{\"write\": {{\"addr\": \"{params:#x}\", \"hex\": \"{}\"}}}}\n",
        hexs(&p)
    );
    trace += &call(0xC400_0158, &[rd, params]);
    let o = run(&trace, &["--platform", platform]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    last["x0"].as_str().unwrap().to_owned()
}

#[test]
fn an_lpa2_realm_is_accepted_only_where_the_platform_has_lpa2() {
    assert_eq!(lpa2_realm_status("qemu-max"), "0x0");
    assert_eq!(lpa2_realm_status("max"), "0x0");
    assert_eq!(lpa2_realm_status("fvp"), "0x1");
}

#[test]
fn an_unknown_platform_is_bad_input() {
    let o = run("", &["--platform", "m1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("unknown platform \"m1\" (known: max, qemu-max, fvp)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
