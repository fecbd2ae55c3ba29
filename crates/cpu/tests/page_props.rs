//! `RealmPage` against a plain byte array: any sequence of stores of any size at any offset (guest values at
//! guest offsets, including ones past the page) leaves the page reading back exactly what the array holds.

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use realm_cpu::RealmPage;

    const PAGE: usize = 4096;

    #[derive(Clone, Debug)]
    enum Store {
        Value { off: usize, len: usize, value: u64 },
        Pair { off: usize, lo: u64, hi: u64 },
        Bytes { off: usize, data: Vec<u8> },
        Exchange { off: usize, len: usize, new: u64 },
    }

    fn store() -> impl Strategy<Value = Store> {
        // Offsets reach past the page so that out-of-page accesses are exercised too.
        let off = 0usize..PAGE + 16;
        prop_oneof![
            (
                off.clone(),
                prop::sample::select(vec![1usize, 2, 4, 8]),
                any::<u64>()
            )
                .prop_map(|(off, len, value)| Store::Value { off, len, value }),
            (off.clone(), any::<u64>(), any::<u64>()).prop_map(|(off, lo, hi)| Store::Pair {
                off,
                lo,
                hi
            }),
            (off.clone(), prop::collection::vec(any::<u8>(), 0..80))
                .prop_map(|(off, data)| Store::Bytes { off, data }),
            (
                off,
                prop::sample::select(vec![1usize, 2, 4, 8, 16]),
                any::<u64>()
            )
                .prop_map(|(off, len, new)| Store::Exchange { off, len, new }),
        ]
    }

    /// Write `data` at `off` of `model` the way the page is specified to: only bytes inside the page land.
    fn put(model: &mut [u8; PAGE], off: usize, data: &[u8]) {
        if off + data.len() <= PAGE {
            model[off..off + data.len()].copy_from_slice(data);
        }
    }

    proptest! {
        #[test]
        fn stores_read_back_as_a_byte_array(init in prop::collection::vec(any::<u8>(), PAGE), stores in prop::collection::vec(store(), 0..64)) {
            let mut model = [0u8; PAGE];
            model.copy_from_slice(&init);
            let page = RealmPage::new(&model);
            for s in &stores {
                match *s {
                    Store::Value { off, len, value } => {
                        page.store_value(off, len, value);
                        put(&mut model, off, &value.to_le_bytes()[..len]);
                    }
                    Store::Pair { off, lo, hi } => {
                        page.store_pair(off, lo, hi);
                        let mut b = [0u8; 16];
                        b[..8].copy_from_slice(&lo.to_le_bytes());
                        b[8..].copy_from_slice(&hi.to_le_bytes());
                        put(&mut model, off, &b);
                    }
                    Store::Bytes { off, ref data } => {
                        page.write(off, data);
                        put(&mut model, off, data);
                    }
                    Store::Exchange { off, len, new } => {
                        if off + len > PAGE {
                            continue;
                        }
                        let mut cur = [0u8; 16];
                        cur[..len].copy_from_slice(&model[off..off + len]);
                        let expected = u128::from_le_bytes(cur);
                        let wide = u128::from(new) | (u128::from(new) << 64);
                        let r = page.update(off, len, |b| realm_cpu::exchange_bytes(b, expected, wide));
                        prop_assert_eq!(r, Ok(()), "an exchange expecting the current value succeeds");
                        put(&mut model, off, &wide.to_le_bytes()[..len]);
                        let r = page.update(off, len, |b| realm_cpu::exchange_bytes(b, !expected, 0));
                        prop_assert!(r.is_err() || len == 0, "and one expecting another fails");
                    }
                }
            }
            prop_assert_eq!(page.snapshot(), model);
            for off in [0usize, 1, 7, 8, 4089, 4095] {
                for len in [1usize, 2, 4, 8] {
                    if off + len <= PAGE {
                        let mut b = [0u8; 8];
                        b[..len].copy_from_slice(&model[off..off + len]);
                        prop_assert_eq!(page.load(off, len), u64::from_le_bytes(b), "load {} at {}", len, off);
                    }
                }
            }
        }
    }
}
