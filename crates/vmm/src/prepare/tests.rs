use super::*;
use crate::config::ConfigFile;

#[test]
fn missing_file_names_the_image() {
    let cfg = ConfigFile {
        kernel: Some("/nonexistent/Image".into()),
        ..ConfigFile::default()
    }
    .validate()
    .unwrap();
    let e = prepare(&cfg).unwrap_err();
    assert_eq!(e.to_string(), "reading the kernel image /nonexistent/Image");
}

fn kernel_config(kernel: &std::path::Path, extra: impl FnOnce(&mut ConfigFile)) -> RealmConfig {
    let mut f = ConfigFile {
        kernel: Some(kernel.to_owned()),
        mem: Some("64M".into()),
        ..ConfigFile::default()
    };
    extra(&mut f);
    f.validate().unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("realm-vmm-prepare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_sparse_100_gib_kernel_is_refused_from_its_size() {
    // Only the length and the header are looked at: this returns at once, reading 64 bytes.
    let path = scratch("sparse-kernel");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 << 30).unwrap();
    let e = prepare(&kernel_config(&path, |_| {})).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        anyhow_chain(&e),
        "placing the images in the kvmtool layout: kernel image of 100 GiB does not fit in RAM below 0x84000000"
    );
}

#[test]
fn devices_and_directories_are_refused() {
    let e = prepare(&kernel_config(std::path::Path::new("/dev/zero"), |_| {})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the kernel image /dev/zero is a character device; give a regular file or a pipe"
    );
    let dir = std::env::temp_dir();
    let e = prepare(&kernel_config(&dir, |_| {})).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the kernel image {} is a directory; give a regular file or a pipe",
            dir.display()
        )
    );
}

#[test]
fn a_pipe_is_read_as_a_stream_bounded_by_ram() {
    let image = crate::image::synthetic_image(100_000, 7);
    for (name, len, ok) in [
        ("fifo-small", 100_000usize, true),
        ("fifo-big", (64 << 20) + 1, false),
    ] {
        let path = scratch(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        let data = if ok { image.clone() } else { vec![7u8; len] };
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                use std::io::Write as _;
                // The reader may stop early (the oversize case): a broken pipe is expected then.
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .write_all(&data);
            })
        };
        let result = prepare(&kernel_config(&path, |_| {}));
        std::fs::remove_file(&path).unwrap();
        // Checked before joining: a writer the reader never drained would block the join.
        if ok {
            let p = result.unwrap();
            assert_eq!(
                &p.images[0].1[..],
                &image[..],
                "the pipe's bytes are the kernel"
            );
            assert_eq!(p.images[0].0, ImageKind::Kernel);
        } else {
            assert!(result.is_err(), "a pipe of RAM + 1 byte is refused");
            assert_eq!(
                result.unwrap_err().to_string(),
                format!(
                    "the kernel image {} is a pipe holding more than the realm's 64 MiB of RAM",
                    path.display()
                )
            );
        }
        writer.join().unwrap();
    }
}

/// The error with its sources, as the CLI prints it.
fn anyhow_chain(e: &PrepareError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// The `/chosen` `bootargs` of the DTB `prepare` generated for `p`.
fn bootargs(p: &Prepared) -> String {
    let (_, dtb) = p
        .images
        .iter()
        .find(|(k, _)| *k == ImageKind::Dtb)
        .expect("a generated DTB");
    let nodes = crate::fdt::reader::parse(dtb).unwrap();
    let raw = &nodes["/chosen"]["bootargs"];
    crate::fdt::reader::strings(raw).concat()
}

#[test]
fn a_kernel_without_a_command_line_gets_the_realm_default() {
    let path = scratch("default-cmdline-kernel");
    std::fs::write(&path, crate::image::synthetic_image(100_000, 3)).unwrap();
    // kvmtool, 64 MiB and 512 MiB: RAM ends below 4 GiB, a 33-bit IPA, the UART at 0x100_0000 is reached at
    // 0x1_0100_0000. QEMU virt: 41 bits, the PL011-slot UART at 0x900_0000 at 0x100_0900_0000.
    let cases = [
        ("kvmtool", "64M", None, "0x101000000"),
        ("kvmtool", "512M", None, "0x101000000"),
        ("kvmtool", "512M", Some(40), "0x8001000000"),
        ("qemu", "512M", None, "0x10009000000"),
    ];
    for (layout, mem, ipa_bits, alias) in cases {
        let p = prepare(&kernel_config(&path, |f| {
            f.layout = Some(layout.into());
            f.mem = Some(mem.into());
            f.ipa_bits = ipa_bits;
        }))
        .unwrap();
        let want = format!("console=ttyS0 earlycon=uart,mmio,{alias} cryptomgr.notests=1");
        assert_eq!(
            bootargs(&p),
            want,
            "{layout} {mem} {ipa_bits:?}: DT bootargs"
        );
        assert_eq!(
            p.cfg.cmdline, want,
            "{layout} {mem}: the prepared config says the same"
        );
    }
    // A command line given is the command line used.
    let p = prepare(&kernel_config(&path, |f| f.cmdline = Some("quiet".into()))).unwrap();
    assert_eq!(bootargs(&p), "quiet");
    std::fs::remove_file(&path).unwrap();
}
