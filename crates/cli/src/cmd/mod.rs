//! One module per subcommand, each with its `*Args` and a `run`.

pub mod abi;
pub mod bench;
pub mod demo;
pub mod launch;
pub mod measure;
pub mod realm_args;
pub mod rmi;

/// Map a measure/launch failure to an exit code: the host or kernel refusing what was asked (no realm-capable
/// KVM, another ABI, an invalid argument) is bad input (2); anything else is a runtime failure (1).
pub fn ops_error(e: realm_vmm::ops::OpsError) -> crate::error::CliError {
    use realm_vmm::backend::{BackendError as B, Errno};
    use realm_vmm::ops::OpsError as O;
    let input = match &e {
        O::Build { source, .. } => match source {
            B::OpenKvm { .. }
            | B::NoRealmSupport(_)
            | B::AbiMismatch { .. }
            | B::UnsupportedAbi(_) => true,
            B::Ioctl { source, .. } => {
                matches!(*source, Errno::EINVAL | Errno::ENOENT | Errno::EOPNOTSUPP)
            }
            _ => false,
        },
        _ => false,
    };
    if input {
        crate::error::input(e)
    } else {
        crate::error::runtime(e)
    }
}
