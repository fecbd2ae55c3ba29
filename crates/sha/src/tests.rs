//! `sha256_pair` and `sha256_each` against `sha2`, the reference: FIPS 180-4 test vectors, every padding
//! boundary, 4 KiB granules, and random equal- and unequal-length messages.

use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use super::{LANES, final_blocks, sha256, sha256_each, sha256_pair};

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

/// Each of `msgs` through `sha256_each`, into a fresh output.
fn each(msgs: &[&[u8]]) -> Vec<[u8; 32]> {
    let mut out = vec![[0; 32]; msgs.len()];
    sha256_each(msgs, &mut out);
    out
}

#[test]
fn eight_granules_each_in_its_own_lane() {
    // Sixteen granules differing in one byte each (two groups of eight): a lane that hashed another lane's
    // message, or a schedule word shared between lanes, gives a wrong or repeated digest.
    let base: Vec<u8> = (0..4096u32).map(|i| (i * 5 + 3).to_le_bytes()[0]).collect();
    let pages: Vec<Vec<u8>> = (0..2 * LANES)
        .map(|k| {
            let mut p = base.clone();
            p[k * 255] ^= 0x80;
            p
        })
        .collect();
    let msgs: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();
    let want: Vec<[u8; 32]> = msgs.iter().map(|m| reference(m)).collect();
    assert_eq!(each(&msgs), want);
    for (k, m) in msgs.iter().enumerate() {
        for len in [0, 55, 56, 64, 100, 4095] {
            let mut group = msgs[..LANES].iter().map(|m| &m[..len]).collect::<Vec<_>>();
            group[k % LANES] = &m[..len];
            let got = each(&group);
            assert_eq!(
                got[k % LANES],
                reference(&m[..len]),
                "lane {k}, length {len}"
            );
        }
    }
}

#[test]
fn each_hashes_as_many_as_both_slices_hold() {
    let msgs: [&[u8]; 3] = [b"a", b"bc", b"def"];
    let mut out = [[7u8; 32]; 5];
    sha256_each(&msgs, &mut out);
    assert_eq!(
        out[..3],
        [reference(b"a"), reference(b"bc"), reference(b"def")]
    );
    assert_eq!(
        out[3..],
        [[7; 32]; 2],
        "digests past the messages are left alone"
    );
    let mut short = [[0u8; 32]; 2];
    sha256_each(&msgs, &mut short);
    assert_eq!(short, [reference(b"a"), reference(b"bc")]);
}

/// The eight-lane path itself, where this host has it.
#[cfg(target_arch = "x86_64")]
#[test]
fn eight_lane_path_when_present() {
    let pages: Vec<Vec<u8>> = (0..8u8).map(|k| vec![k; 4096]).collect();
    let group: [&[u8]; 8] = std::array::from_fn(|k| pages[k].as_slice());
    match super::x86::sha256_x8(group) {
        Some(d) => assert_eq!(d.to_vec(), group.map(reference).to_vec()),
        None => assert!(
            !super::interleaved(),
            "no SHA-NI, yet interleaved() claims it"
        ),
    }
    let mut uneven = group;
    uneven[5] = &pages[5][1..];
    assert_eq!(super::x86::sha256_x8(uneven), None, "unequal lengths");
}

proptest! {
    #[test]
    fn each_matches_sha2(
        lens in proptest::collection::vec(prop_oneof![Just(4096usize), Just(64), 0..300usize], 0..24),
        uniform in any::<bool>(),
        seed in any::<u8>(),
    ) {
        // Half the cases give every message the first one's length, so whole groups of eight are common.
        let lens: Vec<usize> = lens.iter().map(|&l| if uniform { lens[0] } else { l }).collect();
        let msgs: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(k, &len)| {
                (0..len)
                    .map(|i| (i.to_le_bytes()[0]).wrapping_mul(seed | 1).wrapping_add(k.to_le_bytes()[0]))
                    .collect()
            })
            .collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(each(&refs), refs.iter().map(|m| reference(m)).collect::<Vec<_>>());
    }


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
