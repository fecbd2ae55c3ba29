//! The process's file table and the argument accessors of an ioctl (`copy_from_user`/`copy_to_user`).

use std::collections::BTreeMap;
use std::sync::Arc;

use zerocopy::{FromBytes, IntoBytes};

use crate::user_memory::UserMemory;
use crate::{Errno, Fd, IoctlArg};

/// The objects an fd can refer to.
#[derive(Clone, Debug)]
pub(crate) enum File {
    /// `/dev/kvm`.
    Kvm,
    /// A VM (anon inode "kvm-vm").
    Vm(Arc<crate::vm::Vm>),
    /// A vCPU (anon inode "kvm-vcpu:N").
    Vcpu(Arc<crate::vcpu::VcpuFile>),
    /// A guest_memfd (anon inode "[kvm-gmem]"); it has no ioctls.
    Gmem(Arc<crate::gmem::GmemFile>),
    /// A device from `KVM_CREATE_DEVICE` (the vGIC).
    Device(Arc<crate::device::DeviceFile>),
}

/// What a successful ioctl produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The return value.
    Value(i64),
    /// A new file to install; the ioctl returns its fd.
    NewFile(File),
}

/// Lowest-free fd allocation from 3 (0..2 are the standard streams), like `get_unused_fd_flags`.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    files: BTreeMap<i32, File>,
}

/// `RLIMIT_NOFILE` of the simulated process.
const MAX_FDS: usize = 1 << 16;

impl FdTable {
    pub(crate) fn install(&mut self, file: File) -> Result<Fd, Errno> {
        if self.files.len() >= MAX_FDS {
            return Err(Errno::EMFILE);
        }
        let mut n = 3;
        for &k in self.files.keys() {
            if k != n {
                break;
            }
            n += 1;
        }
        self.files.insert(n, file);
        Ok(Fd(n))
    }

    pub(crate) fn get(&self, fd: Fd) -> Result<File, Errno> {
        self.files.get(&fd.0).cloned().ok_or(Errno::EBADF)
    }

    pub(crate) fn remove(&mut self, fd: Fd) -> Result<File, Errno> {
        self.files.remove(&fd.0).ok_or(Errno::EBADF)
    }
}

/// An ioctl argument with the user memory it may point into.
#[derive(Debug)]
pub(crate) struct Arg<'a, 'k> {
    arg: IoctlArg<'a>,
    user: &'k UserMemory,
    files: &'k std::sync::Mutex<FdTable>,
}

impl<'a, 'k> Arg<'a, 'k> {
    pub(crate) fn new(
        arg: IoctlArg<'a>,
        user: &'k UserMemory,
        files: &'k std::sync::Mutex<FdTable>,
    ) -> Self {
        Self { arg, user, files }
    }

    /// `fget(fd)`: the file behind an fd number found inside an argument struct.
    pub(crate) fn fget(&self, fd: i64) -> Result<File, Errno> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        crate::lock(self.files).get(Fd(fd))
    }

    /// The argument as a value (`unsigned long arg`).
    pub(crate) fn value(&self) -> u64 {
        match &self.arg {
            IoctlArg::Val(v) => *v,
            IoctlArg::Buf(b) => {
                let mut w = [0; 8];
                let n = b.len().min(8);
                w[..n].copy_from_slice(&b[..n]);
                u64::from_le_bytes(w)
            }
        }
    }

    /// `copy_from_user(&s, argp, size)`.
    pub(crate) fn read(&self, size: usize) -> Result<Vec<u8>, Errno> {
        match &self.arg {
            IoctlArg::Buf(b) => b.get(..size).map(<[u8]>::to_vec).ok_or(Errno::EFAULT),
            IoctlArg::Val(addr) => {
                let mut v = vec![0; size];
                self.user.read(*addr, &mut v)?;
                Ok(v)
            }
        }
    }

    /// `copy_from_user(&s, argp, sizeof(s))` into a uAPI struct.
    pub(crate) fn read_struct<T: FromBytes + IntoBytes>(&self) -> Result<T, Errno> {
        let mut s = T::new_zeroed();
        let b = self.read(size_of::<T>())?;
        s.as_mut_bytes().copy_from_slice(&b);
        Ok(s)
    }

    /// `copy_to_user(argp, &s, size)`.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), Errno> {
        match &mut self.arg {
            IoctlArg::Buf(b) => {
                b.get_mut(..data.len())
                    .ok_or(Errno::EFAULT)?
                    .copy_from_slice(data);
                Ok(())
            }
            IoctlArg::Val(addr) => self.user.write(*addr, data),
        }
    }

    /// Install a new file while the ioctl is still running (`KVM_CREATE_DEVICE` writes the fd back).
    pub(crate) fn install(&self, file: File) -> Result<Fd, Errno> {
        crate::lock(self.files).install(file)
    }

    /// The user memory of the calling process (for addresses inside structs).
    pub(crate) fn user(&self) -> &'k UserMemory {
        self.user
    }
}
