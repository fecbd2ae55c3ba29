//! `realm demo`: the new user's first command works and shows its RIM and explanation.

#[cfg(test)]
mod tests {
    use std::process::Command;

    #[test]
    fn demo_runs_and_explains_its_rim() {
        for abi in ["v12", "v10"] {
            let o = Command::new(env!("CARGO_BIN_EXE_realm"))
                .args(["demo", "--abi", abi])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let out = String::from_utf8(o.stdout).unwrap();
            assert!(out.contains(&format!("realm construction plan (ABI {abi}):")));
            assert!(out.contains("realm_create"));
            assert!(out.contains("rec "));
            assert!(
                out.starts_with("rsi-tour: RSI 1.0 from inside the realm\n"),
                "{out}"
            );
            assert!(out.contains("realm stopped: PowerOff"), "{out}");
            let rim = out.lines().last().unwrap();
            assert_eq!(rim.len(), 64);
            assert!(out.contains(&format!("RIM        {rim}")));
            assert!(
                out.contains(&format!("  RIM {rim}\n")),
                "the RIM the realm read equals the host's: {out}"
            );
        }
        let o = Command::new(env!("CARGO_BIN_EXE_realm"))
            .args(["demo", "--abi", "v9"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
    }
}
