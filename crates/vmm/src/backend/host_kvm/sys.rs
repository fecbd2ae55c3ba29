//! The raw system calls of the host backend: `ioctl`, `mmap`/`munmap` of `struct kvm_run`, `close`, and
//! `madvise(MADV_HUGEPAGE)` of guest memory (used by both backends).
//!
//! UNSAFETY: issues KVM ioctls on fds this process owns and passes pointers to argument buffers that are live
//! and at least `_IOC_SIZE(request)` bytes long for the whole call; maps and unmaps the vCPU's `kvm_run` area;
//! gives the kernel a paging hint for a mapping this process owns.
#![expect(
    unsafe_code,
    reason = "raw KVM ioctls, the kvm_run mapping and madvise; see module doc"
)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::IntoRawFd;
use std::os::unix::fs::OpenOptionsExt;

use realm_kvm::Errno;

fn last_errno() -> Errno {
    Errno(
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// `open("/dev/kvm", O_RDWR | O_CLOEXEC)`.
pub(super) fn open_dev_kvm(path: &str) -> io::Result<i32> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    Ok(f.into_raw_fd())
}

/// `ioctl(fd, request, value)` for requests whose argument is a plain value (`KVM_CREATE_VM`,
/// `KVM_CHECK_EXTENSION`, `KVM_CREATE_VCPU`, `KVM_RUN`).
pub(super) fn ioctl_val(fd: i32, request: u64, value: u64) -> Result<i64, Errno> {
    let req: libc::c_ulong = request;
    // SAFETY: the kernel reads no memory for these requests: the third argument is passed as an integer
    // (`unsigned long arg`), never dereferenced. An fd that is not a KVM fd fails with ENOTTY/EBADF.
    let ret = unsafe { libc::ioctl(fd, req, value) };
    if ret < 0 {
        Err(last_errno())
    } else {
        Ok(i64::from(ret))
    }
}

/// `ioctl(fd, request, buf.as_mut_ptr())` for requests with an argument struct.
pub(super) fn ioctl_buf(fd: i32, request: u64, buf: &mut [u8]) -> Result<i64, Errno> {
    let req: libc::c_ulong = request;
    if buf.len() < realm_uapi::ioctl::size(request) {
        return Err(Errno::EFAULT);
    }
    // SAFETY: `buf` is a live, exclusively borrowed buffer of at least `_IOC_SIZE(request)` bytes (checked
    // above) for the whole call; the kernel reads (`_IOW`) and/or writes (`_IOR`) at most that many bytes at
    // the pointer. Addresses *inside* the struct (userspace_addr, source_uaddr, one_reg addr) point into
    // mappings this process owns (`UserMemory`), which outlive the call.
    let ret = unsafe { libc::ioctl(fd, req, buf.as_mut_ptr()) };
    if ret < 0 {
        Err(last_errno())
    } else {
        Ok(i64::from(ret))
    }
}

/// `close(fd)`.
pub(super) fn close(fd: i32) {
    // SAFETY: `fd` was returned by open/ioctl of this backend and is closed once (the backend forgets it).
    let _ = unsafe { libc::close(fd) };
}

/// `madvise(addr, len, MADV_HUGEPAGE)` over `region`: let the kernel back it with transparent huge pages
/// where it touches whole 2 MiB extents (one fault and one clear per 2 MiB instead of 512 faults when an image
/// is loaded). Pages never touched stay unallocated, so sparse guest RAM stays cheap. A hint only: contents
/// and semantics are unchanged, and a kernel without THP (EINVAL) leaves the mapping as it was.
pub(crate) fn advise_hugepages(region: &vm_memory::MmapRegion) -> io::Result<()> {
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
pub(crate) fn cpu_time(thread: bool) -> Option<std::time::Duration> {
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

/// A vCPU's `struct kvm_run`, mapped from its fd (`KVM_GET_VCPU_MMAP_SIZE` bytes).
#[derive(Debug)]
pub(super) struct MappedRun {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; access goes through `&mut self`/`with`
// under the backend's single-threaded use of each vCPU.
unsafe impl Send for MappedRun {}

impl MappedRun {
    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0)`.
    pub(super) fn map(vcpu_fd: i32, len: usize) -> io::Result<Self> {
        // SAFETY: a fresh shared mapping of the vCPU fd at an address the kernel chooses; nothing aliases it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                vcpu_fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The mapped bytes.
    pub(super) fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live mapping of `len` bytes owned by `self` until drop; `&mut self` gives
        // exclusive access on this side (the kernel writes it only while this thread is inside KVM_RUN).
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for MappedRun {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping created in `map`, once.
        let _ = unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buffers_are_refused_before_the_syscall() {
        let req = realm_uapi::v12::KVM_ARM_RMI_POPULATE;
        let mut buf = [0u8; 8];
        assert_eq!(ioctl_buf(-1, req, &mut buf), Err(Errno::EFAULT));
    }

    #[test]
    fn bad_fds_give_ebadf() {
        let mut buf = [0u8; 32];
        assert_eq!(
            ioctl_buf(-1, realm_uapi::v12::KVM_ARM_RMI_POPULATE, &mut buf),
            Err(Errno::EBADF)
        );
        assert_eq!(
            ioctl_val(-1, realm_uapi::arm64::KVM_CHECK_EXTENSION, 0),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn missing_device_is_an_io_error() {
        assert!(open_dev_kvm("/nonexistent/kvm").is_err());
    }
}
