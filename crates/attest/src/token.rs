//! The CCA attestation token (DEN0137 1.0-rel0 A7.2.1): `399({44234: bstr platform COSE_Sign1, 44241: bstr
//! realm COSE_Sign1})`, map entries in that order as TF-RMM `rmm-spec-v1.0-rel0`
//! `attest_cca_token_create` writes them; decoding into checked claims.

use ciborium::Value;
use coset::CoseSign1;

use crate::cbor::{CborError, decode_value, encode_value, int_map, key};
use crate::claims::{PlatformClaims, REALM_PROFILE_1_0, RealmClaims};
use crate::cose::{decode_sign1, payload};

/// CBOR tag of the CCA token collection (v1.0).
pub const CCA_TOKEN_TAG: u64 = 399;
/// Collection label of the platform token.
pub const CCA_PLATFORM_TOKEN: i64 = 44234;
/// Collection label of the realm token.
pub const CCA_REALM_DELEGATED_TOKEN: i64 = 44241;

/// Which encoding of the 1.0 token to produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenFormat {
    /// DEN0137 1.0-rel0 as TF-RMM `rmm-spec-v1.0-rel0` emits it: realm profile claim, RAK as a COSE_Key,
    /// platform profile `tag:arm.com,2023:cca_platform#1.0.0`.
    #[default]
    Rel0,
    /// The earlier draft still read by Veraison's `ccatoken` 0.1.0: no realm profile, RAK as a 97-byte SEC1
    /// point, platform profile `http://arm.com/CCA-SSD/1.0.0`.
    Draft,
}

/// A realm's measurement hash algorithm (`RmiHashAlgorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealmHashAlgorithm {
    /// SHA-256 (0).
    Sha256,
    /// SHA-512 (1).
    Sha512,
}

impl RealmHashAlgorithm {
    /// From `RmiHashAlgorithm`.
    #[must_use]
    pub const fn from_rmi(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Sha256),
            1 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The claim text (IANA hash function textual name).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha512 => "sha-512",
        }
    }

    /// Digest length in bytes.
    #[must_use]
    pub const fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// What the RMM knows about the realm when it creates a realm token (TF-RMM `attest_realm_token_create`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealmTokenInput {
    /// The challenge from X1..X8.
    pub challenge: [u8; 64],
    /// The RPV.
    pub personalization_value: [u8; 64],
    /// The realm's hash algorithm.
    pub hash_algo: RealmHashAlgorithm,
    /// Measurement slots 0 (RIM) and 1..=4 (REMs), 64 bytes each, zero-padded past the digest.
    pub measurements: [[u8; 64]; 5],
}

impl RealmTokenInput {
    /// The realm claims, with `public_key` the RAK claim bytes (digests cut to the hash length).
    #[must_use]
    pub fn claims(&self, public_key: Vec<u8>, format: TokenFormat) -> RealmClaims {
        let n = self.hash_algo.digest_len();
        let m = |i: usize| self.measurements[i][..n].to_vec();
        RealmClaims {
            challenge: self.challenge,
            personalization_value: self.personalization_value,
            hash_algo_id: self.hash_algo.name().to_owned(),
            public_key,
            public_key_hash_algo_id: "sha-256".to_owned(),
            profile: (format == TokenFormat::Rel0).then(|| REALM_PROFILE_1_0.to_owned()),
            rim: m(0),
            rem: [m(1), m(2), m(3), m(4)],
        }
    }
}

/// Why a token could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The outer CBOR.
    #[error("token: {0}")]
    Cbor(#[from] CborError),
    /// The collection's shape.
    #[error("token collection: {0}")]
    Collection(String),
    /// The platform COSE_Sign1 or its claims.
    #[error("platform token: {0}")]
    Platform(String),
    /// The realm COSE_Sign1 or its claims.
    #[error("realm token: {0}")]
    Realm(String),
}

/// A decoded CCA token: both COSE_Sign1 messages and their checked claims (signatures not yet verified).
#[derive(Clone, Debug)]
pub struct CcaToken {
    /// Platform COSE_Sign1.
    pub platform: CoseSign1,
    /// Realm COSE_Sign1.
    pub realm: CoseSign1,
    /// Platform claims.
    pub platform_claims: PlatformClaims,
    /// Realm claims.
    pub realm_claims: RealmClaims,
}

/// Wrap two signed tokens into the tag 399 collection.
#[must_use]
pub fn encode_collection(platform_token: &[u8], realm_token: &[u8]) -> Vec<u8> {
    encode_value(&Value::Tag(
        CCA_TOKEN_TAG,
        Box::new(Value::Map(vec![
            (
                key(CCA_PLATFORM_TOKEN),
                Value::Bytes(platform_token.to_vec()),
            ),
            (
                key(CCA_REALM_DELEGATED_TOKEN),
                Value::Bytes(realm_token.to_vec()),
            ),
        ])),
    ))
}

impl CcaToken {
    /// Decode a CCA token: the collection, both COSE_Sign1 messages and both claim sets.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (p, r) = split_collection(bytes)?;
        let platform = decode_sign1(&p).map_err(DecodeError::Platform)?;
        let realm = decode_sign1(&r).map_err(DecodeError::Realm)?;
        let platform_claims =
            claims_of(&platform, PlatformClaims::from_value).map_err(DecodeError::Platform)?;
        let realm_claims =
            claims_of(&realm, RealmClaims::from_value).map_err(DecodeError::Realm)?;
        Ok(Self {
            platform,
            realm,
            platform_claims,
            realm_claims,
        })
    }
}

fn claims_of<T>(s: &CoseSign1, f: fn(&Value) -> Result<T, String>) -> Result<T, String> {
    let v = decode_value(payload(s)?).map_err(|e| format!("claims: {e}"))?;
    f(&v)
}

/// The platform and realm token bytes of a tag 399 collection.
pub fn split_collection(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DecodeError> {
    let v = decode_value(bytes)?;
    let Value::Tag(tag, inner) = v else {
        return Err(DecodeError::Collection(
            "not a tagged CBOR collection".into(),
        ));
    };
    if tag != CCA_TOKEN_TAG {
        return Err(DecodeError::Collection(format!(
            "CBOR tag {tag}, expected {CCA_TOKEN_TAG}"
        )));
    }
    let (mut p, mut r) = (None, None);
    for (k, val) in int_map(&inner, "collection").map_err(DecodeError::Collection)? {
        let bytes = || {
            val.as_bytes()
                .cloned()
                .ok_or_else(|| DecodeError::Collection(format!("entry {k} is not a byte string")))
        };
        match i64::try_from(k).unwrap_or(i64::MIN) {
            CCA_PLATFORM_TOKEN => p = Some(bytes()?),
            CCA_REALM_DELEGATED_TOKEN => r = Some(bytes()?),
            _ => {
                return Err(DecodeError::Collection(format!("unexpected entry {k}")));
            }
        }
    }
    match (p, r) {
        (Some(p), Some(r)) => Ok((p, r)),
        (None, _) => Err(DecodeError::Collection("no platform token (44234)".into())),
        (_, None) => Err(DecodeError::Collection("no realm token (44241)".into())),
    }
}
