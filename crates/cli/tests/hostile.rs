//! Hostile and careless input (issue 17): every reproduction exits 2 with a message naming the problem, and
//! the oversize ones stay under 64 MiB of peak RSS (measured with `getrusage(RUSAGE_CHILDREN)`: the largest
//! child this test binary waited for, so every child run here must be small).
#![cfg(test)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const RSS_LIMIT_KIB: i64 = 64 * 1024;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("realm-cli-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file(name: &str, data: &[u8]) -> String {
    let p = dir().join(name);
    std::fs::write(&p, data).unwrap();
    p.to_str().unwrap().to_owned()
}

/// A sparse file of `len` bytes (nothing is written: `File::set_len`).
fn sparse(name: &str, len: u64) -> String {
    let p = dir().join(name);
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p.to_str().unwrap().to_owned()
}

fn realm(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_realm"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The child may stop reading early (that is the point of some cases): a broken pipe is expected.
        let _ = pipe.write_all(data);
    }
    child.wait_with_output().unwrap()
}

/// The peak RSS, KiB, of the largest child waited for so far.
#[expect(
    unsafe_code,
    reason = "getrusage(RUSAGE_CHILDREN) fills a struct rusage on this stack"
)]
fn children_peak_rss_kib() -> i64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a writable, zeroed `struct rusage` that lives for the call; getrusage writes only into it.
    let ret = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr()) };
    assert_eq!(ret, 0, "getrusage");
    // SAFETY: getrusage succeeded and filled the struct (zeroed before in any case).
    unsafe { ru.assume_init() }.ru_maxrss
}

/// `args` exit 2 with exactly `message` on stderr, nothing on stdout, and every child so far stayed small.
fn refused(args: &[&str], stdin: Option<&[u8]>, message: &str) {
    let o = realm(args, stdin);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end(), message, "{args:?}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout");
    let rss = children_peak_rss_kib();
    assert!(rss < RSS_LIMIT_KIB, "{args:?}: peak RSS {rss} KiB");
}

/// An arm64 Image header (`code0` = `b #64`, magic at 0x38) with these fields, in a 64 KiB file.
fn image_with(text_offset: u64, image_size: u64) -> Vec<u8> {
    let mut h = vec![0u8; 65536];
    h[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes());
    h[8..16].copy_from_slice(&text_offset.to_le_bytes());
    h[16..24].copy_from_slice(&image_size.to_le_bytes());
    h[0x38..0x3c].copy_from_slice(&0x644d_5241u32.to_le_bytes());
    h
}

#[test]
fn a_image_headers_that_overflow_are_refused() {
    let tomax = file("tomax.img", &image_with(u64::MAX, 0x10000));
    let sizemax = file("sizemax.img", &image_with(0x80000, u64::MAX));
    for (layout, end) in [("kvmtool", "0x90000000"), ("qemu", "0x50000000")] {
        refused(
            &[
                "measure", "--kernel", &tomax, "--mem", "256M", "--layout", layout,
            ],
            None,
            &format!(
                "realm: placing the images in the {layout} layout: the kernel's header places it beyond RAM: \
                 text_offset 0xffffffffffffffff, image_size 0x10000, RAM ends at {end}"
            ),
        );
        refused(
            &[
                "measure", "--kernel", &sizemax, "--mem", "256M", "--layout", layout,
            ],
            None,
            &format!(
                "realm: placing the images in the {layout} layout: the kernel's header places it beyond RAM: \
                 text_offset 0x80000, image_size 0xffffffffffffffff, RAM ends at {end}"
            ),
        );
    }
    refused(
        &["measure", "--firmware", &sizemax, "--mem", "256M"],
        None,
        "realm: placing the images in the kvmtool layout: no room for the 64 KiB DTB at 0xffffffffffffffff: \
         RAM ends at 0x90000000",
    );
}

#[test]
fn b_oversize_files_are_refused_from_their_size() {
    let huge = sparse("h.bin", 100 << 30);
    refused(
        &["measure", "--kernel", &huge],
        None,
        "realm: placing the images in the kvmtool layout: kernel image of 100 GiB does not fit in RAM below \
         0x90000000",
    );
    let good = file("good.img", &image_with(0, 0x10000));
    let initrd = sparse("g.bin", 10 << 30);
    refused(
        &[
            "measure", "--kernel", &good, "--initrd", &initrd, "--mem", "256M",
        ],
        None,
        "realm: placing the images in the kvmtool layout: the initrd at 0x0 overlaps the kernel image (which \
         ends at 0x80010000); give more memory",
    );
}

#[test]
fn c_unbounded_streams_are_bounded() {
    refused(
        &["measure", "/dev/zero"],
        None,
        "realm: configuration file /dev/zero is larger than 16 MiB (the most a configuration file may be)",
    );
    let zeros = vec![0u8; (1 << 20) + 100];
    refused(
        &["rmi", "replay", "-"],
        Some(&zeros),
        "realm: replaying -: line 1 is longer than 1 MiB (the most a trace line may be)",
    );
    refused(
        &["measure", "--kernel", "/dev/zero"],
        None,
        "realm: the kernel image /dev/zero is a character device; give a regular file or a pipe",
    );
    // A pipe with data is read as a stream: `--kernel /dev/stdin` fed an Image.
    let mut image = image_with(0, 0x10000);
    image.truncate(4096);
    let o = realm(
        &["measure", "--kernel", "/dev/stdin", "--mem", "64M"],
        Some(&image),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let f = file("pipe-same.img", &image);
    let p = realm(&["measure", "--kernel", &f, "--mem", "64M"], None);
    let last = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .map(str::to_owned)
    };
    assert_eq!(last(&o), last(&p), "the pipe measures as the file does");
}

#[test]
fn d_exit_codes_of_input_problems() {
    let random = file("random.bin", &[b'{', 0xff, 0xfe, b'}', b'\n']);
    refused(
        &["rmi", "replay", &random],
        None,
        &format!("realm: replaying {random}: line 1 is not UTF-8 text"),
    );
    let second = file(
        "second.jsonl",
        b"\n{\"fid\": \"0xc4000150\", \"args\": [\"0x10000\"]}\n\xc3\x28\n",
    );
    let o = realm(&["rmi", "replay", &second], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        format!("realm: replaying {second}: line 3 is not UTF-8 text"),
        "the line number counts blank lines, and lines before it were replayed"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    let d = dir();
    let d = d.to_str().unwrap();
    refused(
        &["rmi", "replay", d],
        None,
        &format!("realm: reading the trace {d}: Is a directory (os error 21)"),
    );
    let k = file("k.img", &image_with(0, 0x10000));
    refused(
        &[
            "measure",
            "--kernel",
            &k,
            "--platform",
            "qemu-max",
            "--num-bps",
            "16",
        ],
        None,
        "realm: building the realm on the simulated backend: --num-bps 16 is more than the qemu-max platform \
         supports (6 breakpoints); choose another platform with --platform (max, qemu-max, fvp) or raise the \
         limit with --platform-bps",
    );
}

#[test]
fn e_platform_limits_are_named_up_front() {
    let k = file("k-e.img", &image_with(0, 0x10000));
    let sim = "realm: building the realm on the simulated backend: ";
    let choose =
        "choose another platform with --platform (max, qemu-max, fvp) or raise the limit with";
    for bits in ["49", "52"] {
        refused(
            &[
                "measure",
                "--kernel",
                &k,
                "--platform",
                "fvp",
                "--ipa-bits",
                bits,
            ],
            None,
            &format!(
                "{sim}--ipa-bits {bits} is more than the fvp platform supports (48-bit IPAs without LPA2); \
                 {choose} --platform-pa-bits"
            ),
        );
    }
    refused(
        &[
            "measure",
            "--kernel",
            &k,
            "--platform",
            "fvp",
            "--mem",
            "128T",
        ],
        None,
        &format!(
            "{sim}--mem 128 TiB: the kvmtool memory map then needs a 49-bit IPA space; the fvp platform's realms \
             have at most 48 bits (choose another platform with --platform or raise the limit with \
             --platform-pa-bits)"
        ),
    );
    for cmd in ["measure", "launch"] {
        refused(
            &[cmd, "--kernel", &k, "--platform", "fvp", "--sve-vl", "128"],
            None,
            &format!(
                "{sim}--sve-vl 128 is more than the fvp platform supports (no SVE); {choose} --platform-sve-vl"
            ),
        );
    }
    // The default platform (max) hosts all of these (issue 9).
    for args in [
        &["--ipa-bits", "52"][..],
        &["--sve-vl", "128"],
        &["--num-bps", "16"],
    ] {
        let o = realm(&[&["measure", "--kernel", &k][..], args].concat(), None);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
