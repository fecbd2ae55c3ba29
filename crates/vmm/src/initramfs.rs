//! Initial RAM filesystems realmkit builds itself, so that booting a Linux kernel as a realm needs no
//! downloaded userland: a `newc` cpio archive (the format the kernel unpacks, Documentation/
//! driver-api/early-userspace/buffer-format.rst) with `/dev/console` and an `/init` written here in A64.
//!
//! The "hello" `/init` is a static AArch64 executable of a dozen instructions: `write(1, message)`, then
//! `reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF)`, which Linux turns into
//! PSCI SYSTEM_OFF — so a realm that reaches userspace prints the line and powers off.
//!
//! The "attest" `/init` ([`attest`]) loads the attestation modules of the kernel's own package, asks
//! configfs-tsm for a CCA token over a challenge and prints it as hex ([`attest::token_from_console`] reads it
//! back from the console log).

use realm_a64::asm;

pub mod attest;
mod program;

/// `S_IFDIR | 0755`.
const MODE_DIR: u32 = 0o040_755;
/// `S_IFCHR | 0600`.
const MODE_CHR: u32 = 0o020_600;
/// `S_IFREG | 0755`.
const MODE_EXEC: u32 = 0o100_755;
/// Where the `/init` executable is linked.
const INIT_BASE: u64 = 0x40_0000;
/// Code starts after the ELF and program headers.
const INIT_CODE: u64 = 0x80;

/// One member of a `newc` archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path without a leading `/`.
    pub name: String,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// Device number (major, minor) of a device node.
    pub rdev: (u32, u32),
    /// File contents.
    pub data: Vec<u8>,
}

impl Entry {
    /// A directory.
    pub fn dir(name: &str) -> Self {
        Self {
            name: name.into(),
            mode: MODE_DIR,
            rdev: (0, 0),
            data: Vec::new(),
        }
    }

    /// A character device node.
    pub fn char_device(name: &str, major: u32, minor: u32) -> Self {
        Self {
            name: name.into(),
            mode: MODE_CHR,
            rdev: (major, minor),
            data: Vec::new(),
        }
    }

    /// An executable file.
    pub fn executable(name: &str, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            mode: MODE_EXEC,
            rdev: (0, 0),
            data,
        }
    }
}

/// Pad `out` with zeros to a multiple of four bytes.
fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn member(out: &mut Vec<u8>, ino: u32, e: &Entry) {
    let name_len = u32::try_from(e.name.len() + 1).unwrap_or(u32::MAX);
    let size = u32::try_from(e.data.len()).unwrap_or(u32::MAX);
    let nlink = if e.mode & 0o170_000 == 0o040_000 {
        2
    } else {
        1
    };
    // c_magic, then ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
    // namesize, check — each 8 hexadecimal digits.
    let fields = [
        ino, e.mode, 0, 0, nlink, 0, size, 0, 0, e.rdev.0, e.rdev.1, name_len, 0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(e.name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(&e.data);
    pad4(out);
}

/// A `newc` cpio archive of `entries`, closed by the `TRAILER!!!` member.
pub fn newc(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ino, e) in (1u32..).zip(entries) {
        member(&mut out, ino, e);
    }
    member(
        &mut out,
        0,
        &Entry {
            name: "TRAILER!!!".into(),
            mode: 0,
            rdev: (0, 0),
            data: Vec::new(),
        },
    );
    out
}

/// The `/init` that prints `message` on its standard output (the console) and powers the machine off.
pub fn hello_init(message: &str) -> Vec<u8> {
    let msg = message.as_bytes();
    let len = u32::try_from(msg.len()).unwrap_or(0).min(0xffff);
    let code = [
        asm::movz_x(0, 1, 0), // x0 = 1 (stdout)
        asm::adr(1, 0),       // x1 = message (patched below)
        asm::movz_x(2, len, 0),
        asm::movz_x(8, 64, 0), // __NR_write
        asm::SVC0,
        asm::movz_x(0, 0xdead, 0), // LINUX_REBOOT_MAGIC1 0xfee1dead
        asm::movk_x(0, 0xfee1, 16),
        asm::movz_x(1, 0x1969, 0), // LINUX_REBOOT_MAGIC2 672274793 = 0x28121969
        asm::movk_x(1, 0x2812, 16),
        asm::movz_x(2, 0xfedc, 0), // LINUX_REBOOT_CMD_POWER_OFF 0x4321fedc
        asm::movk_x(2, 0x4321, 16),
        asm::movz_x(3, 0, 0),
        asm::movz_x(8, 142, 0), // __NR_reboot
        asm::SVC0,
        asm::B_SELF,
    ];
    let code_len = 4 * code.len();
    let msg_at = u32::try_from(code_len - 4).unwrap_or(0); // from the ADR at word 1
    let mut words = code;
    words[1] = asm::adr(1, msg_at);
    let start = usize::try_from(INIT_CODE).unwrap_or(0x80);
    let mut image = vec![0u8; start];
    image.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    image.extend_from_slice(&msg[..len as usize]);
    asm::static_elf(INIT_BASE, INIT_CODE, &mut image, 0);
    image
}

/// The line the built-in `/init` prints by default (`realm initramfs`, [`BUILTIN_HELLO`]).
pub const HELLO_LINE: &str = "realmkit: /init reached, powering off";

/// The name that stands, in place of an initrd file (`--initrd builtin:hello`, `initrd = "builtin:hello"`),
/// for [`hello`] with [`HELLO_LINE`]: what `realm initramfs` writes by default, so that a kernel boots to
/// userspace without a file made first (as kvmtool boots a kernel with its own guest init).
pub const BUILTIN_HELLO: &str = "builtin:hello";

/// The image an initrd path names: [`BUILTIN_HELLO`] is the built-in hello initramfs, anything else a file.
pub fn initrd_source(path: std::path::PathBuf) -> crate::image::ImageSource {
    if path.as_os_str() == BUILTIN_HELLO {
        crate::image::ImageSource::Bytes {
            name: BUILTIN_HELLO.into(),
            data: hello(&format!("{HELLO_LINE}\n")).into(),
        }
    } else {
        crate::image::ImageSource::File(path)
    }
}

/// The smallest initramfs that proves a kernel reached userspace: `/dev`, `/dev/console` (5, 1) and the
/// [`hello_init`] `/init`.
pub fn hello(message: &str) -> Vec<u8> {
    newc(&[
        Entry::dir("dev"),
        Entry::char_device("dev/console", 5, 1),
        Entry::executable("init", hello_init(message)),
    ])
}

/// The attestation initramfs: `/dev/console`, the `/cfg` mount point, the modules [`attest::MODULES`] names
/// under `lib/modules/` (`modules` gives each one's uncompressed `.ko` bytes by name; extra ones are ignored)
/// and the [`attest::attest_init`] `/init` for `challenge`.
///
/// # Errors
/// A module of [`attest::MODULES`] missing from `modules`.
pub fn attest(challenge: &[u8; 64], modules: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut entries = vec![
        Entry::dir("dev"),
        Entry::char_device("dev/console", 5, 1),
        Entry::dir("cfg"),
        Entry::dir("lib"),
        Entry::dir("lib/modules"),
    ];
    for name in attest::MODULES {
        let (_, bytes) = modules
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("the attestation initramfs needs the module {name}.ko"))?;
        entries.push(Entry {
            name: attest::module_path(name),
            mode: 0o100_644,
            rdev: (0, 0),
            data: bytes.clone(),
        });
    }
    entries.push(Entry::executable("init", attest::attest_init(challenge)));
    Ok(newc(&entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_members_are_laid_out_as_the_kernel_reads_them() {
        let a = newc(&[Entry::executable("init", b"abc".to_vec())]);
        assert_eq!(&a[..6], b"070701", "magic");
        // mode field (second) and filesize (seventh), namesize (twelfth).
        let field = |i: usize| {
            std::str::from_utf8(&a[6 + 8 * i..14 + 8 * i])
                .unwrap()
                .to_string()
        };
        assert_eq!(field(1), "000081ED", "S_IFREG | 0755");
        assert_eq!(field(6), "00000003", "three bytes");
        assert_eq!(field(11), "00000005", "\"init\" and its NUL");
        assert_eq!(&a[110..115], b"init\0");
        assert_eq!(
            &a[116..119],
            b"abc",
            "data after the name, 4-byte aligned (110 + 5 → 116)"
        );
        assert_eq!(a.len() % 4, 0);
        let trailer = a.windows(10).position(|w| w == b"TRAILER!!!");
        assert!(trailer.is_some(), "closed by the trailer");
    }

    #[test]
    fn hello_init_is_a_static_aarch64_executable_that_writes_then_reboots() {
        let elf = hello_init("hi\n");
        assert_eq!(&elf[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
        let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
        assert_eq!(entry, INIT_BASE + INIT_CODE);
        let word = |i: usize| {
            let at = usize::try_from(INIT_CODE).unwrap() + 4 * i;
            u32::from_le_bytes(elf[at..at + 4].try_into().unwrap())
        };
        assert_eq!(word(3), 0xD280_0808, "mov x8, #64 (write)");
        assert_eq!(word(12), 0xD280_11C8, "mov x8, #142 (reboot)");
        // ADR x1 at word 1 reaches the message right after the code.
        let adr = word(1);
        let imm = ((adr >> 29) & 3) | (((adr >> 5) & 0x7_ffff) << 2);
        let msg_at = usize::try_from(INIT_CODE).unwrap() + 4 + imm as usize;
        assert_eq!(&elf[msg_at..msg_at + 3], b"hi\n");
    }

    #[test]
    fn hello_archive_has_the_console_and_init() {
        let a = hello("x");
        for name in [&b"dev\0"[..], b"dev/console\0", b"init\0"] {
            assert!(a.windows(name.len()).any(|w| w == name), "{:?}", name);
        }
    }
}
