//! The raw system calls of the host backend: `ioctl` and `mmap`/`munmap` of `struct kvm_run`.
//!
//! UNSAFETY: issues KVM ioctls on fds this process owns and passes pointers to argument buffers that are live
//! and at least `_IOC_SIZE(request)` bytes long for the whole call; maps and unmaps the vCPU's `kvm_run` area.
#![expect(
    unsafe_code,
    reason = "raw KVM ioctls and the kvm_run mapping; see module doc"
)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::OwnedFd;
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
pub(super) fn open_dev_kvm(path: &str) -> io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    Ok(OwnedFd::from(f))
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

/// `close(fd)` of an fd a KVM ioctl returned (VM, vCPU, guest_memfd, device), which the plan's owner holds as
/// a raw number across the backend trait.
pub(super) fn close(fd: i32) {
    // SAFETY: `fd` was returned by an ioctl of this backend and is closed once (the caller forgets it).
    let _ = unsafe { libc::close(fd) };
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
