//! The two process-level system calls the library makes outside a backend: `madvise(MADV_HUGEPAGE)` of guest
//! memory (both backends map it) and `getrusage` for the benchmark's CPU-time figures.
//!
//! UNSAFETY: gives the kernel a paging hint for a mapping this process owns, and lets `getrusage` fill a
//! `struct rusage` on this thread's stack.
#![expect(unsafe_code, reason = "madvise and getrusage; see module doc")]

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
