//! Platform endorsements: what a verifier needs to trust a CCA platform — the CPAK public key (the
//! attestation verification key) with the platform's implementation and instance ids, and the platform
//! reference values (configuration and software component measurements). realmkit's JSON form, plus the
//! trust-anchor and reference-value entries Veraison's `ccatoken` stores read (`ta.json`, `rv.json`).

use serde::{Deserialize, Serialize};

use crate::claims::{PlatformClaims, SwComponent};
use crate::keys::{KeyError, PublicKey};
use crate::platform::SimulatedPlatform;

/// The endorsements of one platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Endorsements {
    /// Implementation id (32 bytes).
    #[serde(with = "hex::serde")]
    pub implementation_id: Vec<u8>,
    /// Instance id (33-byte UEID).
    #[serde(with = "hex::serde")]
    pub instance_id: Vec<u8>,
    /// The CPAK as SubjectPublicKeyInfo PEM.
    pub cpak: String,
    /// Expected platform configuration.
    #[serde(with = "hex::serde")]
    pub platform_configuration: Vec<u8>,
    /// Expected software components.
    pub sw_components: Vec<SwComponent>,
}

impl Endorsements {
    /// The endorsements of a booted simulated platform.
    #[must_use]
    pub fn of(platform: &SimulatedPlatform) -> Self {
        let c = platform.platform_claims();
        Self {
            implementation_id: c.implementation_id.to_vec(),
            instance_id: c.instance_id.to_vec(),
            cpak: platform.cpak_public().to_pem(),
            platform_configuration: c.config.clone(),
            sw_components: c.sw_components.clone(),
        }
    }

    /// Parse realmkit's JSON form.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// realmkit's JSON form.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The CPAK.
    pub fn cpak_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_pem(&self.cpak)
    }

    /// Whether `claims` name this platform (implementation and instance id).
    #[must_use]
    pub fn identifies(&self, claims: &PlatformClaims) -> bool {
        claims.implementation_id[..] == self.implementation_id[..]
            && claims.instance_id[..] == self.instance_id[..]
    }

    /// The differences between `claims` and the platform reference values, one line each (empty: match).
    #[must_use]
    pub fn mismatches(&self, claims: &PlatformClaims) -> Vec<String> {
        let mut out = Vec::new();
        if claims.config != self.platform_configuration {
            out.push("platform configuration differs".to_owned());
        }
        if claims.sw_components.len() != self.sw_components.len() {
            out.push(format!(
                "{} software components, expected {}",
                claims.sw_components.len(),
                self.sw_components.len()
            ));
        }
        for (got, want) in claims.sw_components.iter().zip(&self.sw_components) {
            if got.measurement_value != want.measurement_value || got.signer_id != want.signer_id {
                out.push(format!(
                    "software component {} measurement or signer differs",
                    want.component_type.as_deref().unwrap_or("?")
                ));
            }
        }
        out
    }

    /// A Veraison `ccatoken` trust-anchor store entry (`ta.json`).
    pub fn to_veraison_trust_anchor(&self) -> Result<serde_json::Value, KeyError> {
        Ok(serde_json::json!({
            "implementation-id": hex::encode_upper(&self.implementation_id),
            "instance-id": hex::encode_upper(&self.instance_id),
            "pkey": self.cpak_key()?.to_jwk(),
        }))
    }

    /// A Veraison `ccatoken` platform reference-value entry (`rv.json`).
    #[must_use]
    pub fn to_veraison_platform_refvalue(&self) -> serde_json::Value {
        let comps: Vec<_> = self
            .sw_components
            .iter()
            .map(|c| {
                serde_json::json!({
                    "component-type": c.component_type.clone().unwrap_or_default(),
                    "measurement-value": hex::encode_upper(&c.measurement_value),
                    "signer-id": hex::encode_upper(&c.signer_id),
                    "version": c.version.clone().unwrap_or_default(),
                })
            })
            .collect();
        serde_json::json!({
            "implementation-id": hex::encode_upper(&self.implementation_id),
            "platform-configuration": hex::encode_upper(&self.platform_configuration),
            "sw-components": comps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenFormat;

    #[test]
    fn endorsements_round_trip_and_match_their_platform() {
        let p = SimulatedPlatform::boot(b"seed", TokenFormat::Rel0);
        let e = Endorsements::of(&p);
        assert_eq!(Endorsements::from_json(&e.to_json()).unwrap(), e);
        assert_eq!(e.cpak_key().unwrap(), p.cpak_public());
        assert!(e.identifies(p.platform_claims()));
        assert!(e.mismatches(p.platform_claims()).is_empty());
        let mut other = p.platform_claims().clone();
        other.sw_components[3].measurement_value[0] ^= 1;
        assert_eq!(
            e.mismatches(&other),
            ["software component RMM measurement or signer differs"]
        );
    }
}
