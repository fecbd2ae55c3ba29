//! Integration tests of the kernel realm layer, driven through the byte-level ioctl entry point.

#[cfg(test)]
mod common;
#[cfg(test)]
mod construction;
#[cfg(test)]
mod teardown;
