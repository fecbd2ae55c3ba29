//! Integration tests of the kernel realm layer, driven through the byte-level ioctl entry point.

#[cfg(test)]
mod common;
#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod construction;
#[cfg(test)]
mod errno_v10;
#[cfg(test)]
mod errno_v12;
#[cfg(test)]
mod exits;
#[cfg(test)]
mod pmu;
#[cfg(test)]
mod random_ioctls;
#[cfg(test)]
mod realm_run;
#[cfg(test)]
mod rim;
#[cfg(test)]
mod shared_fault;
#[cfg(test)]
mod skip_runs;
#[cfg(test)]
mod sve;
#[cfg(test)]
mod teardown;
#[cfg(test)]
mod vgic;
