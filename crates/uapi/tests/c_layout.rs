//! The C compiler is the authority on the ABI: every item of every catalog section is evaluated by the system C
//! compiler (`cc`) against that section's header text (`tests/c/<section>.h`, the kernel declarations of that
//! revision) and must equal the Rust value — struct sizes, every field offset, every constant and request
//! number. Each fixture's `#define`s and `struct`s must also all be in the catalog, so nothing the header
//! declares goes unchecked.
//!
//! A missing C compiler is a failure, not a skip.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use realm_uapi::catalog::{Item, Section, Value, catalog};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("c")
}

/// The checks of one item: `(key, C expression, Rust value)`.
fn checks(item: &Item) -> Vec<(String, String, u64)> {
    match item.value {
        Value::Number(v) => vec![(item.name.to_owned(), item.c.to_owned(), v)],
        Value::Struct { size, fields } => {
            let mut out = vec![(
                format!("sizeof({})", item.name),
                format!("sizeof({})", item.c),
                widen(size),
            )];
            for f in fields {
                out.push((
                    format!("offsetof({}, {})", item.name, f.name),
                    format!("offsetof({}, {})", item.c, f.name),
                    widen(f.offset),
                ));
            }
            out
        }
    }
}

fn widen(v: usize) -> u64 {
    u64::try_from(v).expect("usize fits u64")
}

/// Compile and run a program printing every check of `section`; returns key → C value.
///
/// `defines` are extra `-D` flags: `REALMKIT_NO_LINUX_HEADERS` makes the fixture use its own `__u*` typedefs and
/// `_IOC` macros instead of `<linux/types.h>`/`<linux/ioctl.h>`, so both paths are exercised on every machine.
fn c_values(
    section: &Section,
    header: &str,
    checks: &[(String, String, u64)],
    defines: &[&str],
) -> BTreeMap<String, u64> {
    let mut src = format!(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"{header}\"\nint main(void) {{\n"
    );
    for (key, expr, _) in checks {
        writeln!(
            src,
            "  printf(\"%s\\t%llu\\n\", \"{key}\", (unsigned long long)({expr}));"
        )
        .expect("write");
    }
    src.push_str("  return 0;\n}\n");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "c_layout_{}_{}_{}",
        section.name,
        defines.len(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let c = dir.join("check.c");
    let exe = dir.join("check");
    std::fs::write(&c, &src).expect("write C source");
    let out = Command::new("cc")
        .args(["-std=gnu11", "-Wall", "-Werror"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-o")
        .arg(&exe)
        .arg("-I")
        .arg(fixture_dir())
        .arg(&c)
        .output()
        .unwrap_or_else(|e| {
            panic!("the C compiler `cc` is required for this test and could not be run: {e}")
        });
    assert!(
        out.status.success(),
        "cc failed for section {}:\n{}\n--- source ---\n{src}",
        section.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the compiled check");
    assert!(
        run.status.success(),
        "check program failed for {}",
        section.name
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(run.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("key\\tvalue");
            (k.to_owned(), v.parse().expect("number"))
        })
        .collect()
}

/// Names the fixture itself declares (not the headers it includes): `#define NAME`, `#define NAME(`,
/// `struct NAME {` — excluding lines marked `fixture-helper` and the `_IOC` scaffolding.
fn declared(header_text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_ioc_fallback = false;
    for line in header_text.lines() {
        let t = line.trim_start();
        if t.starts_with("#if __has_include(<linux/ioctl.h>)") {
            in_ioc_fallback = true;
        }
        if in_ioc_fallback {
            if t.starts_with("#endif") {
                in_ioc_fallback = false;
            }
            continue;
        }
        if line.contains("fixture-helper") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("#define") {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let function_like = rest.trim_start()[name.len()..].starts_with('(');
            names.push(if function_like {
                format!("{name}(")
            } else {
                name
            });
        } else if let Some(rest) = t.strip_prefix("struct ")
            && rest.trim_end().ends_with('{')
            && !line.starts_with(char::is_whitespace)
        {
            {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.push(format!("struct {name}"));
            }
        }
    }
    names
}

fn header_of(section: &Section) -> String {
    format!("{}.h", section.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_item_matches_the_c_compiler() {
        let mut failures = Vec::new();
        let mut total = 0;
        for (section, defines) in catalog()
            .iter()
            .flat_map(|s| [(s, &[][..]), (s, &["REALMKIT_NO_LINUX_HEADERS"][..])])
        {
            let checks: Vec<_> = section.items.iter().flat_map(checks).collect();
            let c = c_values(section, &header_of(section), &checks, defines);
            for (key, _, rust) in &checks {
                total += 1;
                match c.get(key) {
                    Some(cv) if cv == rust => {}
                    Some(cv) => failures.push(format!(
                        "{} {defines:?}: {key}: Rust {rust:#x}, C {cv:#x}",
                        section.name
                    )),
                    None => failures.push(format!(
                        "{}: {key}: not printed by the C program",
                        section.name
                    )),
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {total} checks differ from the C compiler:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(total > 600, "suspiciously few checks: {total}");
    }

    #[test]
    fn every_fixture_declaration_is_in_the_catalog() {
        let mut missing = Vec::new();
        for section in catalog() {
            let text = std::fs::read_to_string(fixture_dir().join(header_of(section)))
                .expect("read fixture");
            for name in declared(&text) {
                let covered = section.items.iter().any(|i| {
                    if name.ends_with('(') {
                        i.c.contains(name.as_str())
                    } else {
                        i.c == name || i.name == name
                    }
                });
                if !covered {
                    missing.push(format!("{}: {name}", section.name));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "declared in the C fixture but not in the catalog:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn catalog_names_are_unique_per_section() {
        for section in catalog() {
            let mut seen = std::collections::BTreeSet::new();
            for item in section.items {
                assert!(
                    seen.insert(item.name),
                    "{}: duplicate {}",
                    section.name,
                    item.name
                );
            }
        }
    }

    /// A second, independent authority for the generic items: the build machine's own `<linux/kvm.h>`, where it
    /// defines them (older kernel headers lack guest_memfd & co.; arch-specific structs are not in an x86 header).
    /// Only macros are compared (`#ifdef`), requests naming arm64-only structs are left out.
    #[test]
    #[expect(
        clippy::print_stderr,
        reason = "say whether and how far the secondary check ran"
    )]
    fn generic_items_match_the_system_linux_kvm_h() {
        let section = &catalog()[0];
        let mut src = String::from(
            "#if __has_include(<linux/kvm.h>)\n#include <linux/kvm.h>\n#define HAVE_KVM_H 1\n#endif\n#include <stdio.h>\nint main(void) {\n#ifndef HAVE_KVM_H\n  puts(\"NO_KVM_H\");\n#endif\n",
        );
        let mut expected = BTreeMap::new();
        for item in section.items {
            if let Value::Number(v) = item.value {
                let arm_only = item.name.contains("_ARM_")
                    && !item.name.starts_with("KVM_CAP_")
                    && !item.name.starts_with("KVM_EXIT_");
                if item.c == item.name && !arm_only && item.name.starts_with("KVM") {
                    writeln!(src, "#if defined(HAVE_KVM_H) && defined({0})\n  printf(\"%s\\t%llu\\n\", \"{0}\", (unsigned long long)({0}));\n#endif", item.name).expect("write");
                    expected.insert(item.name.to_owned(), v);
                }
            }
        }
        src.push_str("  return 0;\n}\n");
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c_sys_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("sys.c"), &src).expect("write");
        let out = Command::new("cc")
            .args(["-std=gnu11", "-w", "-o"])
            .arg(dir.join("sys"))
            .arg(dir.join("sys.c"))
            .output()
            .expect("the C compiler `cc` is required");
        assert!(
            out.status.success(),
            "cc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(dir.join("sys")).output().expect("run");
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8(run.stdout).expect("utf-8");
        if stdout.contains("NO_KVM_H") {
            // Secondary check only; the primary authority above never skips.
            eprintln!("note: no <linux/kvm.h> on this machine; system-header cross-check not run");
            return;
        }
        let mut compared = 0;
        for line in stdout.lines() {
            let (k, v) = line.split_once('\t').expect("key\\tvalue");
            let v: u64 = v.parse().expect("number");
            assert_eq!(
                Some(&v),
                expected.get(k),
                "{k}: system <linux/kvm.h> says {v:#x}"
            );
            compared += 1;
        }
        eprintln!("compared {compared} generic items with the system <linux/kvm.h>");
        assert!(
            compared >= 20,
            "only {compared} items compared against <linux/kvm.h>"
        );
    }
}
