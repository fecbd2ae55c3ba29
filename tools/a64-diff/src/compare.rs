//! The differential loop: QEMU and realm-a64 on the same cases (QEMU's next batch runs while realm-a64 works
//! through the current one), mismatches shrunk and written as regression vectors, coverage counted by form.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::case::{Case, Final, Form, Outcome};
use crate::generate::{Generator, NOP};
use crate::qemu::Qemu;
use crate::realm::{Realm, differences};
use crate::vector;

/// What one run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Sequences compared (QEMU completed them).
    pub compared: u64,
    /// Compared sequences that match once QEMU's result is corrected for a known QEMU bug
    /// ([`qemu_bug_corrected`]): not mismatches.
    pub qemu_bugs: u64,
    /// Sequences QEMU did not complete (a generator bug if ever non-zero).
    pub qemu_faults: u64,
    /// Compared sequences that ended in an exception (system mode).
    pub exceptions: u64,
    /// Instructions generated, by form.
    pub forms: BTreeMap<Form, u64>,
    /// Mismatching sequences, by the shrunk vector's name, with the first differences seen.
    pub mismatches: BTreeMap<String, (u64, Vec<String>)>,
    /// Mismatches not shrunk (over the shrink budget).
    pub unshrunk: u64,
    /// Vectors written.
    pub written: Vec<String>,
    /// Seconds taken.
    pub seconds: f64,
}

/// Settings of a run.
#[derive(Debug)]
pub struct RunOptions<'a> {
    /// Sequences to compare.
    pub count: u64,
    /// Cases per QEMU process.
    pub batch: usize,
    /// Most mismatches to shrink (each costs a QEMU start per instruction).
    pub shrink_budget: u64,
    /// Where to write vectors of new mismatches (None: write none).
    pub pending_dir: Option<&'a Path>,
}

/// Runs the differential loop.
pub fn run(qemu: &Qemu, generator: &mut Generator, opts: &RunOptions<'_>) -> Result<Report> {
    let mut report = Report::default();
    let mut realm = Realm::new();
    let start = Instant::now();
    let mut remaining = opts.count;
    let next_batch = |g: &mut Generator, remaining: &mut u64| -> Vec<Case> {
        let n = (*remaining).min(opts.batch as u64);
        *remaining -= n;
        (0..n).map(|_| g.case()).collect()
    };
    let first = next_batch(generator, &mut remaining);
    std::thread::scope(|s| -> Result<()> {
        let mut pending = Some(s.spawn(move || qemu.run(&first).map(|o| (first, o))));
        while let Some(handle) = pending.take() {
            let (cases, outcomes) = handle
                .join()
                .map_err(|_| anyhow::anyhow!("qemu thread panicked"))??;
            let upcoming = next_batch(generator, &mut remaining);
            if !upcoming.is_empty() {
                pending = Some(s.spawn(move || qemu.run(&upcoming).map(|o| (upcoming, o))));
            }
            for (case, outcome) in cases.iter().zip(outcomes) {
                compare_one(qemu, &mut realm, case, &outcome, opts, &mut report)?;
            }
            let _ = write!(
                std::io::stderr(),
                "\r{} compared, {} mismatching",
                report.compared,
                mismatch_count(&report)
            );
        }
        Ok(())
    })?;
    let _ = writeln!(std::io::stderr());
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// ESR_ELx.EC for a trapped MSR, MRS or system instruction (Arm ARM D24 ESR_EL1, EC 0b011000).
const EC_SYSREG_TRAP: u64 = 0x18;

/// QEMU's result with the known QEMU bugs corrected to the architecture, or `None` when none applies:
/// QEMU 7.2 reports a trapped MSR (immediate) — op0 0, CRn 4: the PSTATE fields, e.g. MSR DAIFSet at EL0 with
/// SCTLR_EL1.UMA 0 — with Op1 and Op2 swapped in the ISS (ISS\[19:17\] is Op2, ISS\[16:14\] Op1 for EC 0x18;
/// `crates/a64/tests/vectors/msr_daifset_at_el0_traps.vec` keeps one such case with the architectural value).
pub fn qemu_bug_corrected(expect: &Final) -> Option<Final> {
    let e = expect.exception.as_ref()?;
    let (ec, iss) = (e.esr >> 26 & 0x3F, e.esr & 0x1FF_FFFF);
    let (op0, crn) = (iss >> 20 & 3, iss >> 10 & 0xF);
    if ec != EC_SYSREG_TRAP || op0 != 0 || crn != 4 {
        return None;
    }
    let (op2, op1) = (iss >> 17 & 7, iss >> 14 & 7);
    let esr = (e.esr & !(0x3F << 14)) | (op1 << 17) | (op2 << 14);
    let mut fixed = expect.clone();
    if let Some(x) = fixed.exception.as_mut() {
        x.esr = esr;
    }
    Some(fixed)
}

fn mismatch_count(r: &Report) -> u64 {
    r.mismatches.values().map(|(n, _)| n).sum::<u64>() + r.unshrunk
}

fn compare_one(
    qemu: &Qemu,
    realm: &mut Realm,
    case: &Case,
    outcome: &Outcome,
    opts: &RunOptions<'_>,
    report: &mut Report,
) -> Result<()> {
    let Outcome::Completed(expect) = outcome else {
        report.qemu_faults += 1;
        return Ok(());
    };
    report.compared += 1;
    report.exceptions += u64::from(expect.exception.is_some());
    for f in &case.forms {
        *report.forms.entry(*f).or_default() += 1;
    }
    let got = realm.run(case);
    let diffs = differences(expect, &got);
    if diffs.is_empty() {
        return Ok(());
    }
    if qemu_bug_corrected(expect).is_some_and(|fixed| differences(&fixed, &got).is_empty()) {
        report.qemu_bugs += 1;
        return Ok(());
    }
    if mismatch_count(report) >= opts.shrink_budget {
        report.unshrunk += 1;
        return Ok(());
    }
    let (small, small_expect, small_diffs) = shrink(qemu, realm, case, expect, diffs)?;
    let name = vector::name(&small);
    let entry = report
        .mismatches
        .entry(name.clone())
        .or_insert_with(|| (0, small_diffs.clone()));
    entry.0 += 1;
    if entry.0 == 1
        && let Some(dir) = opts.pending_dir
    {
        let path = dir.join(vector::file_name(&name));
        if !path.exists() {
            std::fs::create_dir_all(dir)?;
            let comment = format!("realm-a64 differs from QEMU: {}", small_diffs.join("; "));
            std::fs::write(&path, vector::render(&small, &small_expect, &comment))
                .with_context(|| format!("writing {}", path.display()))?;
            report.written.push(path.display().to_string());
        }
    }
    Ok(())
}

/// Replaces generator items by NOPs, one at a time, keeping each replacement under which the two sides still
/// differ (NOPs keep every PC-relative offset valid; whole items keep blocks whole, so no MRS reads a register
/// its MSR did not write and no BR goes through a register its ADR did not set). Returns the shrunk case, QEMU's
/// state for it and its differences.
fn shrink(
    qemu: &Qemu,
    realm: &mut Realm,
    case: &Case,
    expect: &Final,
    diffs: Vec<String>,
) -> Result<(Case, Final, Vec<String>)> {
    let mut best = (case.clone(), expect.clone(), diffs);
    let items = case.item_of.last().map_or(0, |&k| k + 1);
    for k in 0..items {
        let members: Vec<usize> = (0..case.code.len())
            .filter(|&i| case.item_of[i] == k)
            .collect();
        if members.iter().all(|&i| best.0.code[i] == NOP) {
            continue;
        }
        let mut candidate = best.0.clone();
        for &i in &members {
            candidate.code[i] = NOP;
            candidate.forms[i] = Form("nop", "");
        }
        let Some(Outcome::Completed(q)) = qemu.run(std::slice::from_ref(&candidate))?.pop() else {
            continue;
        };
        let d = differences(&q, &realm.run(&candidate));
        if !d.is_empty() {
            best = (candidate, *q, d);
        }
    }
    Ok(best)
}

/// Picks passing cases until every form (every form whose name contains one of `only`, when given) appears in
/// at least `per_form` of them; returns the vectors' text and how many there are.
pub fn select_passing(
    qemu: &Qemu,
    generator: &mut Generator,
    count: u64,
    per_form: u64,
    only: &[String],
) -> Result<(String, usize)> {
    let mut realm = Realm::new();
    let mut covered = BTreeMap::<Form, u64>::new();
    let mut text = String::new();
    let mut kept = 0usize;
    let cases: Vec<Case> = (0..count).map(|_| generator.case()).collect();
    for (case, outcome) in cases.iter().zip(qemu.run(&cases)?) {
        let Outcome::Completed(expect) = outcome else {
            continue;
        };
        let forms: BTreeSet<Form> = case
            .forms
            .iter()
            .copied()
            .filter(|f| only.is_empty() || only.iter().any(|o| f.to_string().contains(o.as_str())))
            .collect();
        if forms
            .iter()
            .all(|f| covered.get(f).copied().unwrap_or(0) >= per_form)
        {
            continue;
        }
        if !differences(&expect, &realm.run(case)).is_empty() {
            continue;
        }
        for f in forms {
            *covered.entry(f).or_default() += 1;
        }
        text.push_str(&vector::render(
            case,
            &expect,
            "passing on realm-a64 when selected; expected state from QEMU",
        ));
        kept += 1;
    }
    Ok((text, kept))
}

#[cfg(test)]
mod tests {
    use super::qemu_bug_corrected;
    use crate::case::{Exception, Final, State};

    fn ended_by(esr: u64) -> Final {
        Final {
            state: State {
                x: [0; 31],
                sp: 0,
                nzcv: 0,
            },
            exception: Some(Exception {
                vector: 0x400,
                esr,
                elr: 0x4000_0048,
                far: 0,
                spsr: 0x7000_03c0,
            }),
            changed: Vec::new(),
        }
    }

    #[test]
    fn qemu_msr_daifset_iss_is_corrected_to_the_architecture() {
        // QEMU 7.2's ESR for MSR DAIFSet, #1 trapped at EL0 and the Arm ARM's (op1 0b011, op2 0b110).
        let fixed = qemu_bug_corrected(&ended_by(0x6207_93e2)).expect("a known QEMU bug");
        assert_eq!(fixed.exception.map(|e| e.esr), Some(0x620c_d3e2));
        let mut rest = fixed.clone();
        rest.exception = None;
        assert_eq!(rest.state, ended_by(0).state, "nothing but the ESR changes");
    }

    #[test]
    fn other_exceptions_are_left_alone() {
        // A trapped MRS of a system register (op0 3), an SVC, and no exception at all.
        assert!(qemu_bug_corrected(&ended_by(0x6232_0c00)).is_none());
        assert!(qemu_bug_corrected(&ended_by(0x5600_fffe)).is_none());
        let mut done = ended_by(0);
        done.exception = None;
        assert!(qemu_bug_corrected(&done).is_none());
    }
}
