//! Realm reference values as an unsigned CoRIM (draft-ietf-rats-corim) in the form Veraison's CCA realm
//! scheme consumes, written with `ciborium`.
//!
//! The shape follows the CCA realm endorsement profile's example (`draft-ydb-rats-cca-endorsements`,
//! `examples/realm-refval.diag`, profile `http://arm.com/cca/realm/1`): one CoMID with one reference triple
//! whose environment names the realm by its RIM (`instance` = tagged-bytes 560) and whose measurement holds
//! the RPV as `raw-value` and the RIM and REMs as `integrity-registers` `"rim"`, `"rem0"`…`"rem3"`, each a
//! digest `[hash-alg-id, value]` (named-information ids: sha-256 = 1, sha-512 = 8). The `corim-rs` crate was
//! not used: realmkit needs only this one fixed shape, and writing it as `ciborium` values keeps every byte
//! visible and tested.

use ciborium::Value;

use crate::cbor::{encode_value, key};
use crate::refvalues::RealmReferenceValues;

/// CBOR tag of an unsigned CoRIM.
pub const TAGGED_UNSIGNED_CORIM: u64 = 501;
/// CBOR tag of a CoMID inside a CoRIM.
pub const TAGGED_COMID: u64 = 506;
/// CBOR tag of `tagged-bytes`.
pub const TAGGED_BYTES: u64 = 560;
/// CBOR tag of a URI.
pub const TAGGED_URI: u64 = 32;
/// CoRIM profile of Veraison's CCA realm scheme.
pub const CCA_REALM_PROFILE: &str = "http://arm.com/cca/realm/1";
/// Vendor the realm class names.
const VENDOR: &str = "realmkit";

fn tagged_bytes(b: &[u8]) -> Value {
    Value::Tag(TAGGED_BYTES, Box::new(Value::Bytes(b.to_vec())))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn digest(alg: i64, v: &[u8]) -> Value {
    Value::Array(vec![Value::Array(vec![
        Value::Integer(alg.into()),
        Value::Bytes(v.to_vec()),
    ])])
}

/// The CoMID (`concise-mid-tag`) carrying `rv`; `tag_id` is its 16-byte tag identity.
#[must_use]
pub fn comid(rv: &RealmReferenceValues, tag_id: [u8; 16]) -> Value {
    let alg = if rv.hash_algo == "sha-512" { 8 } else { 1 };
    let mut registers = vec![(text("rim"), digest(alg, &rv.rim))];
    if let Some(rem) = &rv.rem {
        for (i, r) in rem.iter().enumerate() {
            registers.push((text(&format!("rem{i}")), digest(alg, &r.0)));
        }
    }
    let environment = Value::Map(vec![
        (key(0), Value::Map(vec![(key(1), text(VENDOR))])),
        (key(1), tagged_bytes(&rv.rim)),
    ]);
    let mval = Value::Map(vec![
        (key(4), tagged_bytes(&rv.personalization_value)),
        (key(14), Value::Map(registers)),
    ]);
    let measurement = Value::Map(vec![(key(1), mval)]);
    let triple = Value::Array(vec![environment, Value::Array(vec![measurement])]);
    Value::Map(vec![
        (
            key(1),
            Value::Map(vec![(key(0), Value::Bytes(tag_id.to_vec()))]),
        ),
        (
            key(4),
            Value::Map(vec![(key(0), Value::Array(vec![triple]))]),
        ),
    ])
}

/// The unsigned CoRIM (tag 501) holding the CoMID of `rv`; ids derive from the RIM so the output is
/// reproducible.
#[must_use]
pub fn realm_corim(rv: &RealmReferenceValues) -> Vec<u8> {
    let mut tag_id = [0u8; 16];
    for (d, s) in tag_id.iter_mut().zip(rv.rim.iter()) {
        *d = *s;
    }
    let comid_bytes = encode_value(&comid(rv, tag_id));
    let corim = Value::Map(vec![
        (
            key(0),
            text(&format!(
                "realmkit-realm-{}",
                hex::encode(&rv.rim[..8.min(rv.rim.len())])
            )),
        ),
        (
            key(1),
            Value::Array(vec![Value::Tag(
                TAGGED_COMID,
                Box::new(Value::Bytes(comid_bytes)),
            )]),
        ),
        (
            key(3),
            Value::Array(vec![Value::Tag(
                TAGGED_URI,
                Box::new(text(CCA_REALM_PROFILE)),
            )]),
        ),
    ]);
    encode_value(&Value::Tag(TAGGED_UNSIGNED_CORIM, Box::new(corim)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::decode_value;

    #[test]
    fn corim_has_the_profile_shape() {
        let rv = RealmReferenceValues {
            hash_algo: "sha-256".into(),
            rim: vec![0x44; 32],
            personalization_value: vec![0xab; 64],
            rem: None,
        };
        let bytes = realm_corim(&rv);
        // D9 01F5 = tag 501; A3 = map of 3.
        assert_eq!(bytes[..4], [0xd9, 0x01, 0xf5, 0xa3]);
        let Value::Tag(501, corim) = decode_value(&bytes).unwrap() else {
            panic!("not tag 501")
        };
        let Value::Map(m) = *corim else {
            panic!("not a map")
        };
        let Value::Array(tags) = &m[1].1 else {
            panic!("no tags")
        };
        let Value::Tag(506, comid_bytes) = &tags[0] else {
            panic!("no CoMID")
        };
        let comid_value = decode_value(comid_bytes.as_bytes().unwrap()).unwrap();
        assert_eq!(comid_value, comid(&rv, [0x44; 16]));
        // The RIM digest sits in integrity register "rim" as [1, RIM].
        let diag = format!("{comid_value:?}");
        assert!(diag.contains("Text(\"rim\")"), "{diag}");
    }
}
