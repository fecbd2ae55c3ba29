//! `realm abi`: exact values, JSON-only output, exit code 2 on a bad revision.

mod cli;

use cli::realm;

/// `_IOC` by hand, independent of realm-uapi: dir << 30 | size << 16 | type << 8 | nr.
fn ioc(dir: u64, nr: u64, size: u64) -> u64 {
    (dir << 30) | (size << 16) | (0xae << 8) | nr
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = realm(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document")
}

fn request(rev: &serde_json::Value, name: &str) -> u64 {
    rev["requests"]
        .as_array()
        .and_then(|r| r.iter().find(|q| q["name"] == name))
        .and_then(|q| q["value"].as_u64())
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn vm_type(rev: &serde_json::Value, name: &str) -> u64 {
    rev["vm_type"]["values"]
        .as_array()
        .and_then(|r| r.iter().find(|q| q["name"] == name))
        .and_then(|q| q["value"].as_u64())
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v12_values() {
        let doc = json(&["abi", "--revision", "v12", "--json"]);
        let revs = doc["revisions"].as_array().expect("array");
        assert_eq!(revs.len(), 1);
        let v12 = &revs[0];
        assert_eq!(v12["revision"], "v12");
        assert_eq!(v12["capability"]["name"], "KVM_CAP_ARM_RMI");
        assert_eq!(v12["capability"]["value"], 247);
        assert_eq!(request(v12, "KVM_ARM_RMI_POPULATE"), ioc(1, 0xd7, 32));
        assert_eq!(request(v12, "KVM_ARM_RMI_POPULATE"), 0x4020_aed7);
        assert_eq!(
            request(v12, "KVM_ARM_VCPU_RMI_PSCI_COMPLETE"),
            ioc(1, 0xd6, 24)
        );
        assert_eq!(vm_type(v12, "KVM_VM_TYPE_ARM_REALM"), 0x100);
        let populate = v12["requests"]
            .as_array()
            .and_then(|r| r.iter().find(|q| q["name"] == "KVM_ARM_RMI_POPULATE"));
        let populate = populate.expect("populate");
        assert_eq!(populate["hex"], "0x4020aed7");
        assert_eq!(populate["macro"], "_IOW");
        let structs = v12["structs"].as_array().expect("structs");
        let p = structs
            .iter()
            .find(|s| s["name"] == "struct kvm_arm_rmi_populate")
            .expect("populate struct");
        assert_eq!(p["size"], 32);
    }

    #[test]
    fn every_revision_values() {
        let doc = json(&["abi", "--json"]);
        let revs = doc["revisions"].as_array().expect("array");
        let names: Vec<_> = revs
            .iter()
            .map(|r| r["revision"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["v10", "v12", "v13", "v14"]);
        let (v10, v13, v14) = (&revs[0], &revs[2], &revs[3]);
        assert_eq!(v10["capability"]["name"], "KVM_CAP_ARM_RME");
        assert_eq!(v10["capability"]["value"], 244);
        assert_eq!(
            request(v10, "KVM_ARM_VCPU_RMM_PSCI_COMPLETE"),
            ioc(1, 0xd6, 24)
        );
        assert_eq!(v13["capability"]["value"], 248);
        assert_eq!(request(v13, "KVM_ARM_RMI_POPULATE"), ioc(3, 0xd7, 32));
        assert_eq!(
            request(v13, "KVM_ARM_VCPU_RMI_PSCI_COMPLETE"),
            ioc(1, 0xd6, 24)
        );
        assert_eq!(v14["capability"]["value"], 249);
        assert_eq!(request(v14, "KVM_ARM_RMI_POPULATE"), 0xc020_aed7);
        assert_eq!(vm_type(v14, "KVM_VM_TYPE_ARM_REALM"), 1 << 30);
        assert_eq!(vm_type(v14, "KVM_VM_TYPE_ARM_PROTECTED"), 1 << 31);
        assert_eq!(vm_type(v14, "KVM_VM_TYPE_ARM_MASK"), 0xc000_00ff);
        assert!(
            v14["requests"]
                .as_array()
                .expect("array")
                .iter()
                .all(|q| q["name"] != "KVM_ARM_VCPU_RMI_PSCI_COMPLETE")
        );
        let v10_structs = v10["structs"].as_array().expect("structs");
        let cfg = v10_structs
            .iter()
            .find(|s| s["name"] == "struct arm_rme_config")
            .expect("arm_rme_config");
        assert_eq!(cfg["size"], 260);
    }

    #[test]
    fn table_shows_request_numbers_in_hex() {
        let out = realm(&["abi"]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            text.contains("KVM_ARM_RMI_POPULATE               0x4020aed7  _IOW(0xae, 0xd7, 32)"),
            "{text}"
        );
        assert!(
            text.contains("KVM_ARM_RMI_POPULATE               0xc020aed7  _IOWR(0xae, 0xd7, 32)"),
            "{text}"
        );
        assert!(text.contains("capability  KVM_CAP_ARM_RME = 244"), "{text}");
    }

    #[test]
    fn the_abi_doc_is_the_current_output() {
        let doc = include_str!("../../uapi/ABI.md");
        let out = realm(&["abi"]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let block = format!("```text\n{text}```\n");
        assert!(
            doc.ends_with(&block),
            "crates/uapi/ABI.md is stale: regenerate its block with `cargo run -q -p realm -- abi`"
        );
    }

    #[test]
    fn unknown_revision_is_exit_2() {
        for bad in ["v11", "v15", "12", ""] {
            let out = realm(&["abi", "--revision", bad]);
            assert_eq!(out.status.code(), Some(2), "revision {bad:?}");
            assert!(out.stdout.is_empty());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                err.trim_end(),
                format!(
                    "realm: unknown KVM realm ABI revision `{bad}` (known: v10, v12, v13, v14)"
                )
            );
        }
    }
}
