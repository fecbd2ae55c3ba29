//! The simulated CCA platform's attestation side: its identity and boot measurements, the keys derived from
//! its seed ([`crate::keys`]), the platform token it issues for the RAK at boot, and the CCA token it
//! assembles for the RMM (TF-RMM `rmm-spec-v1.0-rel0` `attest_cca_token_create`).

use sha2::{Digest, Sha256};

use crate::claims::{PLATFORM_PROFILE_1_0, PLATFORM_PROFILE_LEGACY, PlatformClaims, SwComponent};
use crate::cose::sign_es384;
use crate::keys::{PublicKey, derive_cpak, derive_rak};
use crate::token::{RealmTokenInput, TokenFormat, encode_collection};

/// The platform seed when none is configured: SHA-256 of `"realmkit simulated CCA platform seed v1"`
/// spelled out so that endorsements of the default platform never change.
pub const DEFAULT_PLATFORM_SEED: [u8; 32] = [
    0x9c, 0x21, 0xa1, 0x6d, 0x91, 0xc6, 0x8f, 0x91, 0x63, 0xe6, 0xdf, 0x89, 0xcd, 0xcf, 0x88, 0x87,
    0x0e, 0xde, 0x26, 0x50, 0x31, 0x6a, 0x00, 0xac, 0xde, 0x83, 0x76, 0x11, 0x79, 0xd9, 0x31, 0x77,
];

/// PSA lifecycle "secured" (0x3000): the state a deployed platform attests.
pub const LIFECYCLE_SECURED: u16 = 0x3000;

/// Firmware components of the simulated platform in boot order: type, version, what is measured. The
/// measurement is SHA-256 of `"realmkit simulated <type> <version>"`; the signer id is SHA-256 of
/// `"realmkit simulated firmware signer"`.
const FIRMWARE: &[(&str, &str)] = &[
    ("BL1", "1.0.0"),
    ("BL2", "2.12.0"),
    ("BL31", "2.12.0"),
    ("RMM", "rmm-spec-v1.0-rel0"),
];

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The simulated platform after one boot: CPAK, RAK, and the platform token bound to the RAK.
#[derive(Clone, Debug)]
pub struct SimulatedPlatform {
    cpak: p384::ecdsa::SigningKey,
    rak: p384::ecdsa::SigningKey,
    format: TokenFormat,
    claims: PlatformClaims,
    platform_token: Vec<u8>,
}

impl SimulatedPlatform {
    /// Boot the platform with `seed`: derive its keys and sign its platform token for the RAK.
    #[must_use]
    pub fn boot(seed: &[u8], format: TokenFormat) -> Self {
        let cpak = derive_cpak(seed);
        let sw_components = software_components();
        let mut boot = Sha256::new();
        for c in &sw_components {
            boot.update(&c.measurement_value);
        }
        let rak = derive_rak(seed, &boot.finalize());
        let cpak_pub = PublicKey::P384(*cpak.verifying_key());
        let rak_claim = rak_claim(&PublicKey::P384(*rak.verifying_key()), format);
        let mut instance_id = [0u8; 33];
        instance_id[0] = 0x01;
        instance_id[1..].copy_from_slice(&sha256(&cpak_pub.sec1()));
        let claims = PlatformClaims {
            profile: match format {
                TokenFormat::Rel0 => PLATFORM_PROFILE_1_0,
                TokenFormat::Draft => PLATFORM_PROFILE_LEGACY,
            }
            .to_owned(),
            challenge: sha256(&rak_claim).to_vec(),
            implementation_id: implementation_id(),
            instance_id,
            config: platform_config().to_vec(),
            lifecycle: LIFECYCLE_SECURED,
            sw_components,
            verification_service: Some("https://veraison.example/.well-known/veraison".into()),
            hash_algo_id: "sha-256".into(),
        };
        let platform_token = sign_es384(&cpak, crate::cbor::encode_value(&claims.to_value()));
        Self {
            cpak,
            rak,
            format,
            claims,
            platform_token,
        }
    }

    /// The CPAK's public key (what endorsements carry).
    #[must_use]
    pub fn cpak_public(&self) -> PublicKey {
        PublicKey::P384(*self.cpak.verifying_key())
    }

    /// The RAK's public key.
    #[must_use]
    pub fn rak_public(&self) -> PublicKey {
        PublicKey::P384(*self.rak.verifying_key())
    }

    /// The platform claims of this boot.
    #[must_use]
    pub const fn platform_claims(&self) -> &PlatformClaims {
        &self.claims
    }

    /// The signed platform token of this boot.
    #[must_use]
    pub fn platform_token(&self) -> &[u8] {
        &self.platform_token
    }

    /// Sign a realm token for `input` with the RAK and wrap it with the platform token.
    #[must_use]
    pub fn cca_token(&self, input: &RealmTokenInput) -> Vec<u8> {
        let claims = input.claims(rak_claim(&self.rak_public(), self.format), self.format);
        let realm = sign_es384(&self.rak, crate::cbor::encode_value(&claims.to_value()));
        encode_collection(&self.platform_token, &realm)
    }

    /// Sign arbitrary realm claims with the RAK (tests of verifiers: claims a correct RMM never makes).
    #[must_use]
    pub fn cca_token_with_claims(&self, claims: &crate::RealmClaims) -> Vec<u8> {
        let realm = sign_es384(&self.rak, crate::cbor::encode_value(&claims.to_value()));
        encode_collection(&self.platform_token, &realm)
    }

    /// The RAK claim bytes this platform's realm tokens carry.
    #[must_use]
    pub fn rak_claim(&self) -> Vec<u8> {
        rak_claim(&self.rak_public(), self.format)
    }
}

/// The realm public key claim of `rak` in `format`.
fn rak_claim(rak: &PublicKey, format: TokenFormat) -> Vec<u8> {
    match format {
        TokenFormat::Rel0 => rak.cose_key_bytes(),
        TokenFormat::Draft => rak.sec1(),
    }
}

/// The implementation id of the simulated platform: SHA-256 of `"realmkit simulated CCA platform"`.
#[must_use]
pub fn implementation_id() -> [u8; 32] {
    sha256(b"realmkit simulated CCA platform")
}

/// The platform configuration claim: SHA-256 of `"realmkit simulated platform configuration v1"`.
#[must_use]
pub fn platform_config() -> [u8; 32] {
    sha256(b"realmkit simulated platform configuration v1")
}

/// The firmware components the simulated platform measures at boot.
#[must_use]
pub fn software_components() -> Vec<SwComponent> {
    let signer = sha256(b"realmkit simulated firmware signer").to_vec();
    FIRMWARE
        .iter()
        .map(|(ty, ver)| SwComponent {
            component_type: Some((*ty).to_owned()),
            measurement_value: sha256(format!("realmkit simulated {ty} {ver}").as_bytes()).to_vec(),
            version: Some((*ver).to_owned()),
            signer_id: signer.clone(),
            hash_algo: Some("sha-256".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_seed_is_the_documented_hash() {
        assert_eq!(
            DEFAULT_PLATFORM_SEED,
            sha256(b"realmkit simulated CCA platform seed v1")
        );
    }

    #[test]
    fn platform_token_binds_the_rak() {
        for format in [TokenFormat::Rel0, TokenFormat::Draft] {
            let p = SimulatedPlatform::boot(&DEFAULT_PLATFORM_SEED, format);
            assert_eq!(p.claims.challenge, sha256(&p.rak_claim()).to_vec());
            assert_eq!(p.claims.instance_id[0], 1);
        }
    }
}
