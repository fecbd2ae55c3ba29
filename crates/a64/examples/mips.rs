//! Print the SHA-256 workload's MIPS (scratch; not committed).
#![allow(clippy::print_stdout, missing_docs)]
fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20000);
    let r = realm_a64::bench::sha256_workload(n);
    println!("{r:?} mips {:.1}", r.mips());
}
