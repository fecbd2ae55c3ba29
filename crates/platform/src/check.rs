//! Whether a platform can host a realm configuration, refused up front with the limit named — what the
//! kernel layer and the RMM would otherwise answer with a bare errno or RMI status.

use crate::Platform;

/// The parts of a realm configuration that a platform limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmRequest {
    /// IPA width in bits (`None`: the VMM's default).
    pub ipa_bits: Option<u32>,
    /// SVE vector length in bits.
    pub sve_vl: Option<u32>,
    /// Breakpoints.
    pub breakpoints: Option<u8>,
    /// Watchpoints.
    pub watchpoints: Option<u8>,
    /// PMU counters.
    pub pmu_counters: Option<u8>,
    /// SHA-512 measurements (else SHA-256).
    pub sha512: bool,
    /// vCPUs.
    pub vcpus: Option<u32>,
}

/// A realm parameter above what the platform supports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{param} {asked} is more than the {platform} platform supports ({limit}); choose another platform with \
     --platform ({}) or raise the limit with {flag}",
    Platform::NAMES.join(", ")
)]
pub struct Unsupported {
    /// What was asked for, e.g. `--num-wps`.
    pub param: &'static str,
    /// The value asked for.
    pub asked: String,
    /// The platform's limit, in words.
    pub limit: String,
    /// The platform's name.
    pub platform: String,
    /// The flag that changes the platform's limit.
    pub flag: &'static str,
}

impl Platform {
    /// Check `req` against this platform's limits, in the order the kernel and the RMM would refuse them:
    /// IPA size (`KVM_CREATE_VM`), vCPUs, SVE, PMU counters, breakpoints, watchpoints (`RMI_REALM_CREATE`),
    /// hash algorithm.
    pub fn check_realm(&self, req: &RealmRequest) -> Result<(), Box<Unsupported>> {
        let refuse = |param, asked: String, limit: String, flag| {
            Err(Box::new(Unsupported {
                param,
                asked,
                limit,
                platform: self.name.clone(),
                flag,
            }))
        };
        if let Some(bits) = req.ipa_bits
            && bits > self.kvm_ipa_limit()
        {
            let lpa2 = if self.lpa2 { "" } else { " without LPA2" };
            return refuse(
                "--ipa-bits",
                bits.to_string(),
                format!("{}-bit IPAs{lpa2}", self.kvm_ipa_limit()),
                "--platform-pa-bits",
            );
        }
        if let Some(n) = req.vcpus
            && n > self.max_vcpus
        {
            return refuse(
                "--cpus",
                n.to_string(),
                format!("{} vCPUs", self.max_vcpus),
                "--platform-max-vcpus",
            );
        }
        if let Some(vl) = req.sve_vl {
            if self.sve_max_vl == 0 {
                return refuse(
                    "--sve-vl",
                    vl.to_string(),
                    "no SVE".into(),
                    "--platform-sve-vl",
                );
            }
            if vl > u32::from(self.sve_max_vl) {
                return refuse(
                    "--sve-vl",
                    vl.to_string(),
                    format!("SVE up to {} bits", self.sve_max_vl),
                    "--platform-sve-vl",
                );
            }
        }
        if let Some(n) = req.pmu_counters {
            if !self.pmu {
                return refuse(
                    "--pmu-counters",
                    n.to_string(),
                    "no PMU".into(),
                    "--platform-pmu-counters",
                );
            }
            if n > self.pmu_counters {
                return refuse(
                    "--pmu-counters",
                    n.to_string(),
                    format!("{} PMU counters", self.pmu_counters),
                    "--platform-pmu-counters",
                );
            }
        }
        for (param, asked, max, what, flag) in [
            (
                "--num-bps",
                req.breakpoints,
                self.breakpoints,
                "breakpoints",
                "--platform-bps",
            ),
            (
                "--num-wps",
                req.watchpoints,
                self.watchpoints,
                "watchpoints",
                "--platform-wps",
            ),
        ] {
            if let Some(n) = asked
                && n > max
            {
                return refuse(param, n.to_string(), format!("{max} {what}"), flag);
            }
        }
        if req.sha512 && !self.sha512 {
            return refuse(
                "--hash",
                "sha512".into(),
                "SHA-256 only".into(),
                "--platform-sha512",
            );
        }
        Ok(())
    }
}
