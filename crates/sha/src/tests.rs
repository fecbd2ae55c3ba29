//! `sha256_pair` against `sha2`, the reference: FIPS 180-4 test vectors, every padding boundary, 4 KiB
//! granules, and random equal- and unequal-length messages.

use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use super::{final_blocks, sha256, sha256_pair};

fn reference(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fips_180_examples() {
    // FIPS 180-4 / NIST CSRC example values for "abc" and the 448-bit two-block message.
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let two = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    let [x, y] = sha256_pair(b"abc", b"abc");
    assert_eq!((hex(&x), hex(&y)), (abc.to_owned(), abc.to_owned()));
    let [x, y] = sha256_pair(long, long);
    assert_eq!((hex(&x), hex(&y)), (two.to_owned(), two.to_owned()));
    let [x, y] = sha256_pair(b"abc", long);
    assert_eq!((hex(&x), hex(&y)), (abc.to_owned(), two.to_owned()));
}

#[test]
fn every_padding_boundary() {
    let a: Vec<u8> = (0..300u32).map(|i| (i * 7 + 1).to_le_bytes()[0]).collect();
    let b: Vec<u8> = (0..300u32).map(|i| (i * 13 + 5).to_le_bytes()[0]).collect();
    for len in 0..=260 {
        let got = sha256_pair(&a[..len], &b[..len]);
        assert_eq!(
            got,
            [reference(&a[..len]), reference(&b[..len])],
            "length {len}"
        );
    }
}

#[test]
fn granules_differing_in_one_byte() {
    let a = vec![0x5Au8; 4096];
    for at in [0, 63, 64, 2047, 4095] {
        let mut b = a.clone();
        b[at] ^= 1;
        assert_eq!(
            sha256_pair(&a, &b),
            [reference(&a), reference(&b)],
            "byte {at}"
        );
        assert_ne!(sha256_pair(&a, &b)[0], sha256_pair(&a, &b)[1], "byte {at}");
    }
}

#[test]
fn padding_blocks() {
    let (blocks, n) = final_blocks(&[1, 2, 3], 64 + 3);
    assert_eq!(n, 1);
    assert_eq!(blocks[0][..4], [1, 2, 3, 0x80]);
    assert_eq!(blocks[0][56..], (67u64 * 8).to_be_bytes());
    let (blocks, n) = final_blocks(&[9; 56], 56);
    assert_eq!(n, 2);
    assert_eq!(blocks[0][56], 0x80);
    assert_eq!(blocks[1][56..], (56u64 * 8).to_be_bytes());
}

/// The interleaved path itself, where this host has it (elsewhere `sha256_pair` is `sha2` twice).
#[cfg(target_arch = "x86_64")]
#[test]
fn interleaved_path_when_present() {
    let a: Vec<u8> = (0..4096u32)
        .map(|i| (i ^ (i >> 8)).to_le_bytes()[0])
        .collect();
    let b: Vec<u8> = a.iter().rev().copied().collect();
    match super::x86::sha256_pair(&a, &b) {
        Some(pair) => assert_eq!(pair, [reference(&a), reference(&b)]),
        None => assert!(
            !super::interleaved(),
            "no SHA-NI, yet interleaved() claims it"
        ),
    }
    assert_eq!(
        super::x86::sha256_pair(&a, &b[1..]),
        None,
        "unequal lengths"
    );
}

proptest! {
    #[test]
    fn pairs_match_sha2(a in proptest::collection::vec(any::<u8>(), 0..700), seed in any::<u8>()) {
        let b: Vec<u8> = a.iter().map(|x| x.wrapping_mul(31).wrapping_add(seed)).collect();
        prop_assert_eq!(sha256_pair(&a, &b), [reference(&a), reference(&b)]);
    }

    #[test]
    fn unequal_lengths_match_sha2(
        a in proptest::collection::vec(any::<u8>(), 0..300),
        b in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        prop_assert_eq!(sha256_pair(&a, &b), [sha256(&a), sha256(&b)]);
        prop_assert_eq!(sha256(&a), reference(&a));
    }
}
