//! The claims of the CCA realm token (DEN0137 1.0-rel0 A7.2.3.1) and platform token (the CCA platform token
//! profile, as Veraison `ccatoken` and TF-A/TF-M emit it), with their CBOR labels, encoders and strict
//! decoders (types, sizes, duplicates and mandatory claims checked; unknown integer labels ignored).

use ciborium::Value;

use crate::cbor::{as_array, as_bytes, as_text, int_map, key};

/// `challenge` (EAT nonce) — realm and platform.
pub const CHALLENGE: i64 = 10;
/// Realm personalization value.
pub const REALM_PERSONALIZATION_VALUE: i64 = 44235;
/// Realm hash algorithm id.
pub const REALM_HASH_ALGO_ID: i64 = 44236;
/// Realm public key (RAK).
pub const REALM_PUBLIC_KEY: i64 = 44237;
/// Realm initial measurement.
pub const REALM_INITIAL_MEASUREMENT: i64 = 44238;
/// Realm extensible measurements.
pub const REALM_EXTENSIBLE_MEASUREMENTS: i64 = 44239;
/// Realm public key hash algorithm id.
pub const REALM_PUBLIC_KEY_HASH_ALGO_ID: i64 = 44240;
/// EAT profile.
pub const PROFILE: i64 = 265;
/// Platform instance id (EAT UEID).
pub const PLATFORM_INSTANCE_ID: i64 = 256;
/// Platform lifecycle.
pub const PLATFORM_LIFECYCLE: i64 = 2395;
/// Platform implementation id.
pub const PLATFORM_IMPLEMENTATION_ID: i64 = 2396;
/// Platform software components.
pub const PLATFORM_SW_COMPONENTS: i64 = 2399;
/// Platform verification service indicator.
pub const PLATFORM_VERIFICATION_SERVICE: i64 = 2400;
/// Platform configuration.
pub const PLATFORM_CONFIG: i64 = 2401;
/// Platform hash algorithm id.
pub const PLATFORM_HASH_ALGO_ID: i64 = 2402;

/// Realm token profile of DEN0137 1.0-rel0 (TF-RMM `rmm-spec-v1.0-rel0`).
pub const REALM_PROFILE_1_0: &str = "tag:arm.com,2023:realm#1.0.0";
/// Platform token profile of the CCA platform 1.0 token.
pub const PLATFORM_PROFILE_1_0: &str = "tag:arm.com,2023:cca_platform#1.0.0";
/// Platform token profile of the earlier draft (CCA-SSD), the one `ccatoken` 0.1.0 accepts.
pub const PLATFORM_PROFILE_LEGACY: &str = "http://arm.com/CCA-SSD/1.0.0";

/// Software component map keys (PSA/CCA platform profile).
const SW_MTYP: i128 = 1;
const SW_MVAL: i128 = 2;
const SW_VERSION: i128 = 4;
const SW_SIGNER_ID: i128 = 5;
const SW_HASH_ALGO: i128 = 6;

/// The claims of a realm token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealmClaims {
    /// The realm's 64-byte challenge (RSI_ATTESTATION_TOKEN_INIT X1..X8).
    pub challenge: [u8; 64],
    /// Realm personalization value.
    pub personalization_value: [u8; 64],
    /// Hash algorithm of the realm's measurements (`"sha-256"` or `"sha-512"`).
    pub hash_algo_id: String,
    /// RAK public key claim as carried: a CBOR COSE_Key (1.0-rel0) or a 97-byte SEC1 point (draft).
    pub public_key: Vec<u8>,
    /// Hash algorithm the platform challenge is computed with over [`Self::public_key`].
    pub public_key_hash_algo_id: String,
    /// EAT profile, absent in draft tokens.
    pub profile: Option<String>,
    /// RIM.
    pub rim: Vec<u8>,
    /// REM\[0..4\].
    pub rem: [Vec<u8>; 4],
}

/// One platform software component.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SwComponent {
    /// Measurement type (`"BL"`, `"RMM"` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// Measurement value.
    #[serde(with = "hex::serde")]
    pub measurement_value: Vec<u8>,
    /// Version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Signer id (hash of the signing key).
    #[serde(with = "hex::serde")]
    pub signer_id: Vec<u8>,
    /// Hash algorithm of the measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
}

/// The claims of a platform token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformClaims {
    /// EAT profile.
    pub profile: String,
    /// Challenge: the hash of the realm token's RAK claim.
    pub challenge: Vec<u8>,
    /// Implementation id (32 bytes).
    pub implementation_id: [u8; 32],
    /// Instance id (33-byte UEID, first byte 0x01).
    pub instance_id: [u8; 33],
    /// Platform configuration.
    pub config: Vec<u8>,
    /// Lifecycle state.
    pub lifecycle: u16,
    /// Software components.
    pub sw_components: Vec<SwComponent>,
    /// Verification service indicator.
    pub verification_service: Option<String>,
    /// Hash algorithm id.
    pub hash_algo_id: String,
}

fn bstr(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

fn tstr(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn hash_algo(v: &Value, what: &str) -> Result<String, String> {
    let s = as_text(v, what)?;
    if matches!(s, "sha-256" | "sha-512") {
        Ok(s.to_owned())
    } else {
        Err(format!("{what}: unknown hash algorithm {s:?}"))
    }
}

fn measurement(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    let b = as_bytes(v, what)?;
    if matches!(b.len(), 32 | 48 | 64) {
        Ok(b.to_vec())
    } else {
        Err(format!(
            "{what}: expected 32, 48 or 64 bytes, got {}",
            b.len()
        ))
    }
}

/// Take claim `label` from `slot` or fail naming it.
fn need<T>(slot: Option<T>, name: &str) -> Result<T, String> {
    slot.ok_or_else(|| format!("missing claim {name}"))
}

impl RealmClaims {
    /// The claims map, in TF-RMM's order (challenge, RPV, RAK, hash algo, RAK hash algo, profile, RIM, REMs).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            (key(CHALLENGE), bstr(&self.challenge)),
            (
                key(REALM_PERSONALIZATION_VALUE),
                bstr(&self.personalization_value),
            ),
            (key(REALM_PUBLIC_KEY), bstr(&self.public_key)),
            (key(REALM_HASH_ALGO_ID), tstr(&self.hash_algo_id)),
            (
                key(REALM_PUBLIC_KEY_HASH_ALGO_ID),
                tstr(&self.public_key_hash_algo_id),
            ),
        ];
        if let Some(p) = &self.profile {
            m.push((key(PROFILE), tstr(p)));
        }
        m.push((key(REALM_INITIAL_MEASUREMENT), bstr(&self.rim)));
        m.push((
            key(REALM_EXTENSIBLE_MEASUREMENTS),
            Value::Array(self.rem.iter().map(|r| bstr(r)).collect()),
        ));
        Value::Map(m)
    }

    /// Decode and check a realm claims map.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let (mut ch, mut rpv, mut ha, mut pk, mut pkha, mut prof, mut rim, mut rem) =
            (None, None, None, None, None, None, None, None);
        for (k, val) in int_map(v, "realm claims")? {
            match i64::try_from(k).unwrap_or(i64::MIN) {
                CHALLENGE => ch = Some(as_array::<64>(val, "realm challenge")?),
                REALM_PERSONALIZATION_VALUE => {
                    rpv = Some(as_array::<64>(val, "personalization value")?);
                }
                REALM_HASH_ALGO_ID => ha = Some(hash_algo(val, "realm hash algorithm")?),
                REALM_PUBLIC_KEY => pk = Some(as_bytes(val, "realm public key")?.to_vec()),
                REALM_PUBLIC_KEY_HASH_ALGO_ID => {
                    pkha = Some(hash_algo(val, "realm public key hash algorithm")?);
                }
                PROFILE => prof = Some(as_text(val, "realm profile")?.to_owned()),
                REALM_INITIAL_MEASUREMENT => rim = Some(measurement(val, "RIM")?),
                REALM_EXTENSIBLE_MEASUREMENTS => rem = Some(rems(val)?),
                _ => {}
            }
        }
        if let Some(p) = &prof
            && p != REALM_PROFILE_1_0
        {
            return Err(format!("unknown realm profile {p:?}"));
        }
        Ok(Self {
            challenge: need(ch, "challenge")?,
            personalization_value: need(rpv, "personalization-value")?,
            hash_algo_id: need(ha, "hash-algo-id")?,
            public_key: need(pk, "public-key")?,
            public_key_hash_algo_id: need(pkha, "public-key-hash-algo-id")?,
            profile: prof,
            rim: need(rim, "initial-measurement")?,
            rem: need(rem, "extensible-measurements")?,
        })
    }
}

fn rems(v: &Value) -> Result<[Vec<u8>; 4], String> {
    let Value::Array(items) = v else {
        return Err("REMs: expected an array".into());
    };
    if items.len() != 4 {
        return Err(format!("REMs: expected 4, got {}", items.len()));
    }
    let mut out: [Vec<u8>; 4] = Default::default();
    for (slot, item) in out.iter_mut().zip(items) {
        *slot = measurement(item, "REM")?;
    }
    Ok(out)
}

impl SwComponent {
    fn to_value(&self) -> Value {
        let mut m = Vec::new();
        if let Some(t) = &self.component_type {
            m.push((key(1), tstr(t)));
        }
        m.push((key(2), bstr(&self.measurement_value)));
        if let Some(v) = &self.version {
            m.push((key(4), tstr(v)));
        }
        m.push((key(5), bstr(&self.signer_id)));
        if let Some(h) = &self.hash_algo {
            m.push((key(6), tstr(h)));
        }
        Value::Map(m)
    }

    fn from_value(v: &Value) -> Result<Self, String> {
        let (mut t, mut mv, mut ver, mut sid, mut ha) = (None, None, None, None, None);
        for (k, val) in int_map(v, "software component")? {
            match k {
                SW_MTYP => t = Some(as_text(val, "component type")?.to_owned()),
                SW_MVAL => mv = Some(measurement(val, "component measurement")?),
                SW_VERSION => ver = Some(as_text(val, "component version")?.to_owned()),
                SW_SIGNER_ID => sid = Some(measurement(val, "component signer id")?),
                SW_HASH_ALGO => ha = Some(as_text(val, "component hash algorithm")?.to_owned()),
                _ => {}
            }
        }
        Ok(Self {
            component_type: t,
            measurement_value: need(mv, "measurement-value")?,
            version: ver,
            signer_id: need(sid, "signer-id")?,
            hash_algo: ha,
        })
    }
}

/// Whether `lc` is a lifecycle value the CCA platform profile defines (PSA security lifecycle ranges).
#[must_use]
pub const fn lifecycle_known(lc: u16) -> bool {
    matches!(
        lc,
        0x0000..=0x00ff
            | 0x1000..=0x10ff
            | 0x2000..=0x20ff
            | 0x3000..=0x30ff
            | 0x4000..=0x40ff
            | 0x5000..=0x50ff
            | 0x6000..=0x60ff
    )
}

impl PlatformClaims {
    /// The claims map (profile, challenge, implementation id, instance id, config, lifecycle, sw
    /// components, verification service, hash algorithm).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            (key(PROFILE), tstr(&self.profile)),
            (key(CHALLENGE), bstr(&self.challenge)),
            (
                key(PLATFORM_IMPLEMENTATION_ID),
                bstr(&self.implementation_id),
            ),
            (key(PLATFORM_INSTANCE_ID), bstr(&self.instance_id)),
            (key(PLATFORM_CONFIG), bstr(&self.config)),
            (
                key(PLATFORM_LIFECYCLE),
                Value::Integer(self.lifecycle.into()),
            ),
            (
                key(PLATFORM_SW_COMPONENTS),
                Value::Array(
                    self.sw_components
                        .iter()
                        .map(SwComponent::to_value)
                        .collect(),
                ),
            ),
        ];
        if let Some(vs) = &self.verification_service {
            m.push((key(PLATFORM_VERIFICATION_SERVICE), tstr(vs)));
        }
        m.push((key(PLATFORM_HASH_ALGO_ID), tstr(&self.hash_algo_id)));
        Value::Map(m)
    }

    /// Decode and check a platform claims map.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let mut c = PlatformSlots::default();
        for (k, val) in int_map(v, "platform claims")? {
            c.take(k, val)?;
        }
        let profile = need(c.profile, "profile")?;
        if profile != PLATFORM_PROFILE_1_0 && profile != PLATFORM_PROFILE_LEGACY {
            return Err(format!("unknown platform profile {profile:?}"));
        }
        let instance_id = need(c.instance_id, "instance-id")?;
        if instance_id[0] != 0x01 {
            return Err("platform instance id: not a RAND UEID (first byte 0x01)".into());
        }
        Ok(Self {
            profile,
            challenge: need(c.challenge, "challenge")?,
            implementation_id: need(c.implementation_id, "implementation-id")?,
            instance_id,
            config: need(c.config, "config")?,
            lifecycle: need(c.lifecycle, "lifecycle")?,
            sw_components: need(c.sw_components, "sw-components")?,
            verification_service: c.verification_service,
            hash_algo_id: need(c.hash_algo_id, "hash-algo-id")?,
        })
    }
}

#[derive(Default)]
struct PlatformSlots {
    profile: Option<String>,
    challenge: Option<Vec<u8>>,
    implementation_id: Option<[u8; 32]>,
    instance_id: Option<[u8; 33]>,
    config: Option<Vec<u8>>,
    lifecycle: Option<u16>,
    sw_components: Option<Vec<SwComponent>>,
    verification_service: Option<String>,
    hash_algo_id: Option<String>,
}

impl PlatformSlots {
    fn take(&mut self, k: i128, val: &Value) -> Result<(), String> {
        match i64::try_from(k).unwrap_or(i64::MIN) {
            PROFILE => self.profile = Some(as_text(val, "platform profile")?.to_owned()),
            CHALLENGE => self.challenge = Some(measurement(val, "platform challenge")?),
            PLATFORM_IMPLEMENTATION_ID => {
                self.implementation_id = Some(as_array(val, "implementation id")?);
            }
            PLATFORM_INSTANCE_ID => self.instance_id = Some(as_array(val, "instance id")?),
            PLATFORM_CONFIG => self.config = Some(as_bytes(val, "platform config")?.to_vec()),
            PLATFORM_LIFECYCLE => {
                let lc = crate::cbor::int_of(val)
                    .and_then(|i| u16::try_from(i).ok())
                    .filter(|lc| lifecycle_known(*lc))
                    .ok_or("platform lifecycle: not a known lifecycle value")?;
                self.lifecycle = Some(lc);
            }
            PLATFORM_SW_COMPONENTS => {
                let Value::Array(items) = val else {
                    return Err("sw components: expected an array".into());
                };
                if items.is_empty() {
                    return Err("sw components: empty".into());
                }
                let comps = items.iter().map(SwComponent::from_value);
                self.sw_components = Some(comps.collect::<Result<_, _>>()?);
            }
            PLATFORM_VERIFICATION_SERVICE => {
                self.verification_service = Some(as_text(val, "verification service")?.to_owned());
            }
            PLATFORM_HASH_ALGO_ID => {
                self.hash_algo_id = Some(hash_algo(val, "platform hash algorithm")?);
            }
            _ => {}
        }
        Ok(())
    }
}
