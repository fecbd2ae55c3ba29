//! Regression vectors: a case and QEMU's final state as text, replayed without QEMU by
//! `crates/a64/tests/diff_vectors.rs` (which has its own parser: that test depends on nothing but realm-a64).
//!
//! ```text
//! vector <name>                       one or more per file; the name is the forms that matter, joined by '+'
//! forms <form> …                      the form of each instruction
//! seed 0x…                            the data window's xorshift64 seed
//! mmu identity                        (optional) realm-a64 runs with stage 1 on: see `realm::MMU_TABLE`
//! el0                                 (optional) the case runs at EL0t (SP_EL0) and ends with SVC #0xfffe
//! code <8 hex digits> …               the sequence; the runner appends SMC #0
//! x 0x… (31 values)  sp 0x…  nzcv 0x…  initial state (one line each)
//! expect.x x<n>=0x… …  expect.sp …  expect.nzcv …   final state; expect.x lists only the registers that changed
//! expect.exception <vector> <esr> <elr> <far> <spsr>   only when an exception ended the case (system mode);
//!                                     FAR 0 where UNKNOWN, SPSR masked to NZCV, DAIF, M[3:0]
//! expect.mem <offset>=<word> …        changed 8-byte words of the window (may be empty)
//! end
//! ```

use std::fmt::Write as _;

use crate::case::{Case, Final};

/// The vector's name: the forms of its non-NOP instructions, joined by `+` (deduplicated, in order).
pub fn name(case: &Case) -> String {
    let mut parts: Vec<String> = Vec::new();
    for f in case.forms.iter().filter(|f| f.0 != "nop") {
        let s = f.to_string();
        if !parts.contains(&s) {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        "nop".to_owned()
    } else {
        parts.join("+")
    }
}

fn hex_list(values: &[u64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:#x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of one vector for `case` with QEMU's final state `expect`.
pub fn render(case: &Case, expect: &Final, comment: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {comment}");
    let _ = writeln!(s, "vector {}", name(case));
    let forms: Vec<String> = case.forms.iter().map(ToString::to_string).collect();
    let _ = writeln!(s, "forms {}", forms.join(" "));
    let _ = writeln!(s, "seed {:#x}", case.seed);
    if case.mmu {
        let _ = writeln!(s, "mmu identity");
    }
    if case.el0 {
        let _ = writeln!(s, "el0");
    }
    let code: Vec<String> = case.code.iter().map(|w| format!("{w:08x}")).collect();
    let _ = writeln!(s, "code {}", code.join(" "));
    let _ = writeln!(s, "x {}", hex_list(&case.init.x));
    let _ = writeln!(s, "sp {:#x}", case.init.sp);
    let _ = writeln!(s, "nzcv {:#x}", case.init.nzcv);
    let changed: Vec<String> = (0..31)
        .filter(|&i| expect.state.x[i] != case.init.x[i])
        .map(|i| format!("x{i}={:#x}", expect.state.x[i]))
        .collect();
    let _ = writeln!(s, "expect.x {}", changed.join(" "));
    let _ = writeln!(s, "expect.sp {:#x}", expect.state.sp);
    let _ = writeln!(s, "expect.nzcv {:#x}", expect.state.nzcv);
    if let Some(e) = &expect.exception {
        let _ = writeln!(
            s,
            "expect.exception {:#x} {:#x} {:#x} {:#x} {:#x}",
            e.vector, e.esr, e.elr, e.far, e.spsr
        );
    }
    let mem: Vec<String> = expect
        .changed
        .iter()
        .map(|(o, v)| format!("{o:#x}={v:#x}"))
        .collect();
    let _ = writeln!(s, "expect.mem {}", mem.join(" "));
    let _ = writeln!(s, "end");
    s
}

/// A file name for a vector called `name` (forms joined by `+`), kept short and portable.
pub fn file_name(name: &str) -> String {
    let mut n: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    n.truncate(120);
    format!("{n}.vec")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Form, State};

    #[test]
    fn render_writes_every_field_in_order() {
        let case = Case {
            seed: 0x5,
            init: State {
                x: [1; 31],
                sp: 0x4001_8000,
                nzcv: 0x6000_0000,
            },
            code: vec![0x8b02_0020, 0xd503_201f],
            forms: vec![Form("add_shift", ".x"), Form("nop", "")],
            item_of: vec![0, 1],
            mmu: false,
            el0: false,
        };
        let expect = Final {
            state: State {
                x: [2; 31],
                sp: 0x4001_8000,
                nzcv: 0,
            },
            exception: None,
            changed: vec![(0x8000, 0x33)],
        };
        let text = render(&case, &expect, "test");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "vector add_shift.x", "name skips NOPs");
        assert_eq!(lines[2], "forms add_shift.x nop");
        assert_eq!(lines[4], "code 8b020020 d503201f");
        assert!(
            lines[5].starts_with("x 0x1 0x1 "),
            "initial X list: {}",
            lines[5]
        );
        assert!(
            lines[8].starts_with("expect.x x0=0x2 x1=0x2 "),
            "changed registers only: {}",
            lines[8]
        );
        assert_eq!(lines[11], "expect.mem 0x8000=0x33");
        assert_eq!(lines[12], "end");
        assert_eq!(file_name("ldxr.x+stxr.x"), "ldxr.x-stxr.x.vec");
    }
}
