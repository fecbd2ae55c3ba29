//! Integration tests of the kernel realm layer, driven through the byte-level ioctl entry point.

mod common;
mod construction;
