//! The attestation `/init`: a static AArch64 executable (raw Linux syscalls, no libc) that asks the kernel's
//! configfs-tsm interface (Documentation/ABI/testing/configfs-tsm-report) for an Arm CCA attestation token
//! over a 64-byte challenge and prints it on the console as hex between two marker lines, then powers off.
//!
//! Steps (the step number is what a failure prints):
//! 1–3. `finit_module` the Debian kernel's `configfs`, `tsm_report` and `arm-cca-guest` modules (that order:
//!    each `depends=` the one before) from `/lib/modules/NAME.ko`;
//! 4. `mount("none", "/cfg", "configfs")`; 5. `mkdir /cfg/tsm/report/realmkit`;
//! 6–7. write the challenge to its `inblob`; 8–9. read `outblob` (arm-cca-guest runs
//!    RSI_ATTESTATION_TOKEN_INIT/CONTINUE, DEN0137 1.0-rel0 B5.3.2–3, and returns the CCA token);
//! then print `realmkit-attest: token begin`, the token as lines of lowercase hex, `realmkit-attest: token
//! end`, and `reboot(POWER_OFF)`. A failed step prints `realmkit-attest: FAILED` and 16 bytes of hex: the step
//! and the syscall's result (`-errno`), both little-endian 64-bit.

use realm_a64::asm;

use super::program::{self as p, Program, cond};

/// The modules the attestation `/init` loads, in load order: (name in the Debian package, file name in the
/// initramfs under `lib/modules/`).
pub const MODULES: [&str; 3] = ["configfs", "tsm_report", "arm-cca-guest"];
/// The line before the token's hex.
pub const TOKEN_BEGIN: &str = "realmkit-attest: token begin";
/// The line after it.
pub const TOKEN_END: &str = "realmkit-attest: token end";
/// The line a failed step prints.
pub const FAILED: &str = "realmkit-attest: FAILED (step, result)";
/// The largest token the `/init` reads (the CCA token of DEN0137 A7 is about 2 KiB).
pub const MAX_TOKEN: u32 = 0x8000;
/// The report directory the `/init` creates.
pub const REPORT: &str = "/cfg/tsm/report/realmkit";

const SYS_MKDIRAT: u32 = 34;
const SYS_MOUNT: u32 = 40;
const SYS_OPENAT: u32 = 56;
const SYS_CLOSE: u32 = 57;
const SYS_READ: u32 = 63;
const SYS_WRITE: u32 = 64;
const SYS_REBOOT: u32 = 142;
const SYS_FINIT_MODULE: u32 = 273;
const O_WRONLY: u32 = 1;

/// The initramfs path of module `name`.
pub fn module_path(name: &str) -> String {
    format!("lib/modules/{name}.ko")
}

/// `X0 = 1; X1 = s; X2 = len; write` (X8 clobbered).
fn print(a: &mut Program, s: p::Sym, len: usize) {
    a.emit(&[asm::movz_x(0, 1, 0)]);
    a.adr(1, s);
    a.emit(&[asm::movz_x(2, u32::try_from(len).unwrap_or(0), 0)]);
    a.syscall(SYS_WRITE);
}

/// X21 = X0, and on to `fail` if it is negative.
fn check(a: &mut Program, fail: p::Sym) {
    a.emit(&[p::mov_x(21, 0)]);
    a.tbnz_sign(0, fail);
}

/// The `/init` executable for `challenge`.
///
/// # Panics
/// Never for any challenge: the program's layout is fixed (a link error would be a bug caught by the tests).
pub fn attest_init(challenge: &[u8; 64]) -> Vec<u8> {
    let mut a = Program::default();
    let fail = a.label();
    let power_off = a.label();
    let hex = a.label();
    let read_loop = a.label();
    let read_done = a.label();

    let empty = a.cstr("");
    let paths: Vec<_> = MODULES
        .iter()
        .map(|m| a.cstr(&format!("/{}", module_path(m))))
        .collect();
    let none = a.cstr("none");
    let cfg = a.cstr("/cfg");
    let configfs = a.cstr("configfs");
    let report = a.cstr(REPORT);
    let inblob = a.cstr(&format!("{REPORT}/inblob"));
    let outblob = a.cstr(&format!("{REPORT}/outblob"));
    let chal = a.bytes(challenge);
    let table = a.bytes(b"0123456789abcdef");
    let begin_text = format!("\n{TOKEN_BEGIN}\n");
    let end_text = format!("{TOKEN_END}\n");
    let fail_text = format!("\n{FAILED}\n");
    let begin = a.bytes(begin_text.as_bytes());
    let end = a.bytes(end_text.as_bytes());
    let failed = a.bytes(fail_text.as_bytes());
    let token = a.bss(MAX_TOKEN as usize);
    // Two characters a byte and a newline every 32 bytes, plus the last newline.
    let hexbuf = a.bss(2 * MAX_TOKEN as usize + MAX_TOKEN as usize / 32 + 16);
    let scratch = a.bss(16);

    let mut step = 0u32;
    for path in paths {
        step += 1;
        a.emit(&[asm::movz_x(20, step, 0), asm::movz_x(0, 0, 0)]);
        a.adr(1, path);
        a.emit(&[asm::movz_x(2, 0, 0), asm::movz_x(3, 0, 0)]);
        a.syscall(SYS_OPENAT);
        check(&mut a, fail);
        a.emit(&[p::mov_x(19, 0)]);
        a.adr(1, empty);
        a.emit(&[asm::movz_x(2, 0, 0)]);
        a.syscall(SYS_FINIT_MODULE);
        check(&mut a, fail);
        a.emit(&[p::mov_x(0, 19)]);
        a.syscall(SYS_CLOSE);
    }
    // 4: mount("none", "/cfg", "configfs", 0, NULL).
    a.emit(&[asm::movz_x(20, 4, 0)]);
    a.adr(0, none);
    a.adr(1, cfg);
    a.adr(2, configfs);
    a.emit(&[asm::movz_x(3, 0, 0), asm::movz_x(4, 0, 0)]);
    a.syscall(SYS_MOUNT);
    check(&mut a, fail);
    // 5: mkdirat(_, REPORT, 0700) — an absolute path, so the directory fd is ignored.
    a.emit(&[asm::movz_x(20, 5, 0), asm::movz_x(0, 0, 0)]);
    a.adr(1, report);
    a.emit(&[asm::movz_x(2, 0o700, 0)]);
    a.syscall(SYS_MKDIRAT);
    check(&mut a, fail);
    // 6, 7: open inblob for writing, write the 64-byte challenge.
    a.emit(&[asm::movz_x(20, 6, 0), asm::movz_x(0, 0, 0)]);
    a.adr(1, inblob);
    a.emit(&[asm::movz_x(2, O_WRONLY, 0), asm::movz_x(3, 0, 0)]);
    a.syscall(SYS_OPENAT);
    check(&mut a, fail);
    a.emit(&[p::mov_x(19, 0), asm::movz_x(20, 7, 0)]);
    a.adr(1, chal);
    a.emit(&[asm::movz_x(2, 64, 0)]);
    a.syscall(SYS_WRITE);
    check(&mut a, fail);
    a.emit(&[p::mov_x(0, 19)]);
    a.syscall(SYS_CLOSE);
    // 8, 9: open outblob, read it whole into `token` (X22 base, X23 length, X24 capacity).
    a.emit(&[asm::movz_x(20, 8, 0), asm::movz_x(0, 0, 0)]);
    a.adr(1, outblob);
    a.emit(&[asm::movz_x(2, 0, 0), asm::movz_x(3, 0, 0)]);
    a.syscall(SYS_OPENAT);
    check(&mut a, fail);
    a.emit(&[
        p::mov_x(19, 0),
        asm::movz_x(20, 9, 0),
        asm::movz_x(23, 0, 0),
        asm::movz_x(24, MAX_TOKEN, 0),
    ]);
    a.adr(22, token);
    a.here(read_loop);
    a.emit(&[asm::movz_x(21, 0, 0), p::sub_x_reg(2, 24, 23)]);
    a.cbz(2, fail); // the token fills the buffer: too large
    a.emit(&[p::mov_x(0, 19), asm::add_x_reg(1, 22, 23)]);
    a.syscall(SYS_READ);
    check(&mut a, fail);
    a.cbz(0, read_done);
    a.emit(&[asm::add_x_reg(23, 23, 0)]);
    a.b(read_loop);
    a.here(read_done);
    a.emit(&[p::mov_x(0, 19)]);
    a.syscall(SYS_CLOSE);
    a.emit(&[asm::movz_x(20, 10, 0), asm::movz_x(21, 0, 0)]);
    a.cbz(23, fail); // an empty token
    print(&mut a, begin, begin_text.len());
    a.emit(&[p::mov_x(0, 22), p::mov_x(1, 23)]);
    a.bl(hex);
    print(&mut a, end, end_text.len());
    a.b(power_off);

    a.here(fail);
    print(&mut a, failed, fail_text.len());
    a.adr(9, scratch);
    a.emit(&[
        p::str_x(20, 9, 0),
        p::str_x(21, 9, 8),
        p::mov_x(0, 9),
        asm::movz_x(1, 16, 0),
    ]);
    a.bl(hex);

    a.here(power_off);
    a.emit(&[
        asm::movz_x(0, 0xdead, 0), // LINUX_REBOOT_MAGIC1 0xfee1dead
        asm::movk_x(0, 0xfee1, 16),
        asm::movz_x(1, 0x1969, 0), // LINUX_REBOOT_MAGIC2 0x28121969
        asm::movk_x(1, 0x2812, 16),
        asm::movz_x(2, 0xfedc, 0), // LINUX_REBOOT_CMD_POWER_OFF 0x4321fedc
        asm::movk_x(2, 0x4321, 16),
        asm::movz_x(3, 0, 0),
    ]);
    a.syscall(SYS_REBOOT);
    a.emit(&[asm::B_SELF]);

    // hex(X0 = bytes, X1 = length): write them to stdout as lowercase hex, a newline after every byte that
    // leaves a multiple of 32 to go, and one at the end. Clobbers X0–X5, X8–X10.
    let hex_loop = a.label();
    let hex_done = a.label();
    a.here(hex);
    a.adr(2, hexbuf);
    a.emit(&[p::mov_x(10, 2)]);
    a.adr(3, table);
    a.here(hex_loop);
    a.cbz(1, hex_done);
    a.emit(&[
        p::ldrb_post(4, 0, 1),
        p::lsr_w(5, 4, 4),
        p::and_w_0xf(4, 4),
        p::ldrb_reg(5, 3, 5),
        p::ldrb_reg(4, 3, 4),
        p::strb_post(5, 2, 1),
        p::strb_post(4, 2, 1),
        asm::sub_x(1, 1, 1),
        p::tst_x_0x1f(1),
    ]);
    a.b_cond(cond::NE, hex_loop);
    a.emit(&[asm::movz_x(4, 10, 0), p::strb_post(4, 2, 1)]);
    a.b(hex_loop);
    a.here(hex_done);
    a.emit(&[
        asm::movz_x(4, 10, 0),
        p::strb_post(4, 2, 1),
        p::sub_x_reg(2, 2, 10),
        p::mov_x(1, 10),
        asm::movz_x(0, 1, 0),
    ]);
    a.syscall(SYS_WRITE);
    a.emit(&[p::RET]);

    let header = usize::try_from(super::INIT_CODE).unwrap_or(0x80);
    let (mut image, _) = a
        .link(header)
        .unwrap_or_else(|e| panic!("the attestation /init does not link: {e}"));
    let memsz = a.memsz(header) as u64;
    asm::static_elf(super::INIT_BASE, super::INIT_CODE, &mut image, memsz);
    image
}

/// Why a console log holds no token.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenLogError {
    /// No begin marker.
    #[error("no '{TOKEN_BEGIN}' line in the console log{}", if *.0 { format!(" (the /init printed '{FAILED}')") } else { String::new() })]
    NoBegin(bool),
    /// Begin without end.
    #[error("'{TOKEN_BEGIN}' without '{TOKEN_END}' after it")]
    NoEnd,
    /// A line between the markers that is not hex.
    #[error("line {line} between the token markers is not hexadecimal: {text:?}")]
    NotHex {
        /// 1-based line number in the log.
        line: usize,
        /// The line (at most 80 characters of it).
        text: String,
    },
    /// An odd number of hex digits.
    #[error("the token's hex has an odd number of digits ({0})")]
    OddDigits(usize),
    /// Nothing between the markers.
    #[error("the token between the markers is empty")]
    Empty,
}

/// The token bytes the attestation `/init` printed in `log` (a console log: carriage returns, blank lines and
/// anything outside the markers ignored; the first begin marker counts).
///
/// # Errors
/// [`TokenLogError`] when the markers are missing or what lies between them is not an even run of hex.
pub fn token_from_console(log: &str) -> Result<Vec<u8>, TokenLogError> {
    let mut lines = log.lines().enumerate();
    if !lines.any(|(_, l)| l.trim_end_matches('\r').trim() == TOKEN_BEGIN) {
        return Err(TokenLogError::NoBegin(log.contains(FAILED)));
    }
    let mut digits = Vec::new();
    let mut ended = false;
    for (i, raw) in lines {
        let l = raw.trim_end_matches('\r').trim();
        if l == TOKEN_END {
            ended = true;
            break;
        }
        if !l.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(TokenLogError::NotHex {
                line: i + 1,
                text: l.chars().take(80).collect(),
            });
        }
        digits.extend(l.bytes());
    }
    if !ended {
        return Err(TokenLogError::NoEnd);
    }
    if digits.is_empty() {
        return Err(TokenLogError::Empty);
    }
    if digits.len() % 2 != 0 {
        return Err(TokenLogError::OddDigits(digits.len()));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    };
    Ok(digits
        .chunks(2)
        .map(|d| (nibble(d[0]) << 4) | nibble(d[1]))
        .collect())
}

#[cfg(test)]
mod tests;
