//! The process-level system calls the library makes outside a backend: `madvise(MADV_HUGEPAGE)` of guest
//! memory (both backends map it), `mmap` of image files, and `getrusage` for the benchmark's CPU-time and
//! peak-RSS figures.
//!
//! UNSAFETY: gives the kernel a paging hint for a mapping this process owns, maps a file read-only, and lets
//! `getrusage`/`wait4` fill a `struct rusage` on this thread's stack.
#![expect(unsafe_code, reason = "madvise, mmap and getrusage; see module doc")]

use std::io;

/// `madvise(addr, len, MADV_HUGEPAGE)` over `region`: let the kernel back it with transparent huge pages
/// where it touches whole 2 MiB extents (one fault and one clear per 2 MiB instead of 512 faults when an image
/// is loaded). Pages never touched stay unallocated, so sparse guest RAM stays cheap. A hint only: contents
/// and semantics are unchanged, and a kernel without THP (EINVAL) leaves the mapping as it was.
pub fn advise_hugepages(region: &vm_memory::MmapRegion) -> io::Result<()> {
    if region.size() == 0 {
        return Ok(());
    }
    // SAFETY: `region` is a live private anonymous mapping of `size()` bytes owned by this process (borrowed
    // for the call, so it cannot be unmapped meanwhile). MADV_HUGEPAGE only changes the kernel's page-size
    // policy for that range; it neither reads nor writes nor discards its contents.
    let ret = unsafe { libc::madvise(region.as_ptr().cast(), region.size(), libc::MADV_HUGEPAGE) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A read-only private mapping of all of `file` (`mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0)`).
pub fn map_file(file: &std::fs::File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and private, so nothing in this process writes through it, and
    // memmap2 unmaps it on drop. What Rust cannot see is another process changing the file: a change shows
    // through (Linux), a truncation makes reads past the new end fault. realmkit documents that image files
    // must not change while a realm is prepared from them, as any mapped reader would.
    unsafe { memmap2::MmapOptions::new().map_copy_read_only(file) }
}

/// CPU time (user + system) of this process (every thread, live or exited) or, with `thread`, of the
/// calling thread: `getrusage(RUSAGE_SELF / RUSAGE_THREAD)`. For benchmark figures on a shared machine.
pub fn cpu_time(thread: bool) -> Option<std::time::Duration> {
    let who = if thread {
        libc::RUSAGE_THREAD
    } else {
        libc::RUSAGE_SELF
    };
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a writable `struct rusage` that lives for the call; getrusage writes only into it.
    let ret = unsafe { libc::getrusage(who, ru.as_mut_ptr()) };
    if ret != 0 {
        return None;
    }
    // SAFETY: getrusage succeeded and filled the struct (it was zeroed before in any case).
    let ru = unsafe { ru.assume_init() };
    let us = |t: libc::timeval| -> Option<u64> {
        Some(u64::try_from(t.tv_sec).ok()? * 1_000_000 + u64::try_from(t.tv_usec).ok()?)
    };
    Some(std::time::Duration::from_micros(
        us(ru.ru_utime)? + us(ru.ru_stime)?,
    ))
}

/// What a child process used, from `wait4`'s `struct rusage`.
#[derive(Clone, Copy, Debug)]
pub struct ChildUsage {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Wall time from spawn to exit.
    pub wall: std::time::Duration,
    /// User + system CPU time of the child and its threads.
    pub cpu: std::time::Duration,
    /// Its peak resident set size (`ru_maxrss`), bytes.
    pub peak_rss: u64,
}

/// Run `cmd` (stdin, stdout and stderr discarded) and wait for it with `wait4`, whose `struct rusage` is
/// that child's alone: its own peak RSS and CPU time, not this process's.
pub fn run_child(cmd: &mut std::process::Command) -> io::Result<ChildUsage> {
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status = 0;
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    let ret = loop {
        // SAFETY: `status` and `ru` are writable locals that live for the call; wait4 writes only into
        // them. `pid` is our child, not yet reaped (the `Child` is never waited on: dropping it neither
        // waits nor kills).
        let ret = unsafe { libc::wait4(pid, &raw mut status, 0, ru.as_mut_ptr()) };
        if ret >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break ret;
        }
    };
    let wall = start.elapsed();
    drop(child);
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: wait4 succeeded and filled the struct (zeroed before in any case).
    let ru = unsafe { ru.assume_init() };
    let us = |t: libc::timeval| -> u64 {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
    };
    Ok(ChildUsage {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        wall,
        cpu: std::time::Duration::from_micros(us(ru.ru_utime) + us(ru.ru_stime)),
        peak_rss: u64::try_from(ru.ru_maxrss).unwrap_or(0) * 1024,
    })
}

/// The 1-minute load average (`/proc/loadavg`), to say how busy the machine was during a benchmark.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Ask the kernel to wake the calling thread's timed sleeps on time: a timer slack of 1 ns instead of the
/// default 50 µs (`prctl(PR_SET_TIMERSLACK)`), for vCPU threads, whose sleep in WFI until the guest's timer
/// fires is the guest's interrupt latency. Best effort: a refusal leaves the default.
pub fn precise_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and changes only the calling thread's timer
    // slack; no memory is passed.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}
