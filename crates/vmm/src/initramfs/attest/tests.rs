use super::*;

fn log_with(hex_lines: &[&str]) -> String {
    let mut s = String::from("[   14.1] Run /init as init process\r\n\r\n");
    s.push_str(TOKEN_BEGIN);
    s.push_str("\r\n");
    for l in hex_lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str(TOKEN_END);
    s.push_str("\r\n[   15.0] reboot: Power down\n");
    s
}

#[test]
fn the_token_is_read_back_from_the_console_lines() {
    let log = log_with(&["d9018f", "", "A2 ".trim(), "ff"]);
    assert_eq!(
        token_from_console(&log).unwrap(),
        [0xd9, 0x01, 0x8f, 0xa2, 0xff],
        "hex lines concatenated, blank lines and CRs ignored, either case"
    );
}

#[test]
fn a_log_without_a_whole_token_is_an_error_naming_why() {
    assert_eq!(
        token_from_console("no markers").unwrap_err(),
        TokenLogError::NoBegin(false)
    );
    let failed = format!("\n{FAILED}\n0500000000000000feffffffffffffff\n");
    let e = token_from_console(&failed).unwrap_err();
    assert_eq!(e, TokenLogError::NoBegin(true));
    assert!(e.to_string().contains("FAILED"), "{e}");
    let cut = format!("{TOKEN_BEGIN}\nabcd\n");
    assert_eq!(token_from_console(&cut).unwrap_err(), TokenLogError::NoEnd);
    assert_eq!(
        token_from_console(&log_with(&["abc"])).unwrap_err(),
        TokenLogError::OddDigits(3)
    );
    assert_eq!(
        token_from_console(&log_with(&[])).unwrap_err(),
        TokenLogError::Empty
    );
    match token_from_console(&log_with(&["ab", "[ 1.0] tsm: hello"])).unwrap_err() {
        TokenLogError::NotHex { line, text } => {
            assert_eq!(
                line, 5,
                "the kernel message's line (Run /init, blank, begin, ab, it)"
            );
            assert_eq!(text, "[ 1.0] tsm: hello");
        }
        e => panic!("{e:?}"),
    }
}

/// The 32-bit word at byte `at` of `elf`.
fn word(elf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(elf[at..at + 4].try_into().unwrap())
}

#[test]
fn the_attestation_init_is_a_static_executable_with_its_paths_and_challenge() {
    let challenge: [u8; 64] = std::array::from_fn(|i| u8::try_from(i).unwrap() ^ 0xa5);
    let elf = attest_init(&challenge);
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
    let filesz = u64::from_le_bytes(elf[96..104].try_into().unwrap());
    let memsz = u64::from_le_bytes(elf[104..112].try_into().unwrap());
    assert_eq!(filesz, elf.len() as u64);
    assert!(
        memsz >= filesz + 3 * u64::from(MAX_TOKEN),
        "the token and hex buffers are in the segment: {memsz:#x}"
    );
    let has = |needle: &[u8]| elf.windows(needle.len()).any(|w| w == needle);
    assert!(has(&challenge), "the challenge is in the data");
    for m in MODULES {
        assert!(has(format!("/lib/modules/{m}.ko\0").as_bytes()), "{m}");
    }
    for s in [
        "/cfg/tsm/report/realmkit/inblob\0",
        "/cfg/tsm/report/realmkit/outblob\0",
        "configfs\0",
    ] {
        assert!(has(s.as_bytes()), "{s}");
    }
    let code = usize::try_from(crate::initramfs::INIT_CODE).unwrap();
    // The first module's openat: step 1 in X20, X0 = 0, ADR X1, X2 = X3 = 0, X8 = 56, SVC.
    assert_eq!(word(&elf, code), 0xD280_0034, "mov x20, #1");
    assert_eq!(word(&elf, code + 20), 0xD280_0708, "mov x8, #56 (openat)");
    assert_eq!(word(&elf, code + 24), asm::SVC0);
    let adr = word(&elf, code + 8);
    let imm = ((adr >> 29) & 3) | (((adr >> 5) & 0x7_ffff) << 2);
    let target = code + 8 + imm as usize;
    assert_eq!(
        &elf[target..target + 25],
        b"/lib/modules/configfs.ko\0",
        "ADR x1 → the first module"
    );
    // Each syscall the /init makes, in order: 3 × (openat, finit_module, close), mount, mkdirat, openat,
    // write, close, openat, read, close, then write (begin), write (end) or write (failed); reboot; the hex
    // routine's write.
    let svc_numbers: Vec<u32> = (code..elf.len() - 4)
        .step_by(4)
        .filter(|&at| word(&elf, at) == asm::SVC0)
        .map(|at| (word(&elf, at - 4) >> 5) & 0xffff)
        .collect();
    assert_eq!(
        svc_numbers,
        [
            56, 273, 57, 56, 273, 57, 56, 273, 57, 40, 34, 56, 64, 57, 56, 63, 57, 64, 64, 64, 142,
            64
        ],
    );
}

#[test]
fn the_archive_holds_init_console_mount_point_and_modules() {
    let modules: Vec<(String, Vec<u8>)> = MODULES
        .iter()
        .map(|m| ((*m).to_string(), m.as_bytes().to_vec()))
        .collect();
    let a = crate::initramfs::attest(&[7; 64], &modules).unwrap();
    for name in [
        "dev/console\0",
        "cfg\0",
        "lib/modules/tsm_report.ko\0",
        "init\0",
    ] {
        assert!(
            a.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name}"
        );
    }
    let missing = crate::initramfs::attest(&[7; 64], &modules[..2]).unwrap_err();
    assert!(missing.contains("arm-cca-guest"), "{missing}");
}
