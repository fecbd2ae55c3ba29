//! Realm reference values: what a verifier compares a realm token with (RIM, RPV, hash algorithm, and
//! optionally the REMs), as realmkit's JSON and as the JSON entry Veraison's `ccatoken` reference-value store
//! reads (`realm` entries of its `rv.json`).

use serde::{Deserialize, Serialize};

/// The reference values of one realm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RealmReferenceValues {
    /// Hash algorithm of the measurements (`"sha-256"` or `"sha-512"`).
    pub hash_algo: String,
    /// Expected RIM.
    #[serde(with = "hex::serde")]
    pub rim: Vec<u8>,
    /// Expected personalization value (64 bytes).
    #[serde(with = "hex::serde")]
    pub personalization_value: Vec<u8>,
    /// Expected REM\[0..4\], if the realm's runtime extensions are known in advance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rem: Option<[HexBytes; 4]>,
}

/// Bytes written as a hex string in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HexBytes(#[serde(with = "hex::serde")] pub Vec<u8>);

/// Why reference values could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceValuesError {
    /// Not JSON of this shape.
    #[error("reference values: {0}")]
    Json(#[from] serde_json::Error),
    /// Inconsistent content.
    #[error("reference values: {0}")]
    Invalid(String),
}

impl RealmReferenceValues {
    /// Parse and check realmkit's JSON form.
    pub fn from_json(s: &str) -> Result<Self, ReferenceValuesError> {
        let rv: Self = serde_json::from_str(s)?;
        let n = match rv.hash_algo.as_str() {
            "sha-256" => 32,
            "sha-512" => 64,
            h => return Err(ReferenceValuesError::Invalid(format!("unknown hash {h:?}"))),
        };
        if rv.rim.len() != n {
            return Err(ReferenceValuesError::Invalid(format!(
                "RIM of {} bytes for {}",
                rv.rim.len(),
                rv.hash_algo
            )));
        }
        if rv.personalization_value.len() != 64 {
            return Err(ReferenceValuesError::Invalid(
                "personalization value is not 64 bytes".into(),
            ));
        }
        if let Some(rem) = &rv.rem
            && rem.iter().any(|r| r.0.len() != n)
        {
            return Err(ReferenceValuesError::Invalid(format!(
                "a REM is not {n} bytes"
            )));
        }
        Ok(rv)
    }

    /// realmkit's JSON form.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The `realm` entry of a Veraison `ccatoken` reference-value store (upper-case hex, RAK hashed with
    /// SHA-256 as TF-RMM does). `ccatoken` 0.1.0 requires exactly four REMs and always compares them, so
    /// without expected REMs the entry expects the values of a realm that never extended them (zeros).
    #[must_use]
    pub fn to_veraison_json(&self) -> serde_json::Value {
        let up = |b: &[u8]| hex::encode_upper(b);
        let rems: Vec<String> = match &self.rem {
            Some(r) => r.iter().map(|x| up(&x.0)).collect(),
            None => vec![up(&vec![0; self.rim.len()]); 4],
        };
        serde_json::json!({
            "personalization-value": up(&self.personalization_value),
            "initial-measurement": up(&self.rim),
            "extensible-measurements": rems,
            "rak-hash-algorithm": "sha-256",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rv() -> RealmReferenceValues {
        RealmReferenceValues {
            hash_algo: "sha-256".into(),
            rim: vec![0xab; 32],
            personalization_value: vec![0; 64],
            rem: None,
        }
    }

    #[test]
    fn json_round_trips_and_is_checked() {
        let r = rv();
        assert_eq!(RealmReferenceValues::from_json(&r.to_json()).unwrap(), r);
        let bad = r.to_json().replace("sha-256", "sha-512");
        assert_eq!(
            RealmReferenceValues::from_json(&bad)
                .unwrap_err()
                .to_string(),
            "reference values: RIM of 32 bytes for sha-512"
        );
        assert!(RealmReferenceValues::from_json("{}").is_err());
    }
}
