//! `realm verify TOKEN`: decode a CCA attestation token, print both claim sets, and check it — both
//! signatures, the platform–realm binding, the challenge, the platform's endorsements and the realm's
//! reference values — one line per check, then a verdict. Exit 0 trusted, 1 not trusted, 2 unreadable input.
//!
//! Example: `realm verify token.cbor --challenge 00…3f --endorsements endorsements.json --reference-values
//! realm.json`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use realm_attest::keys::PublicKey;
use realm_attest::{Endorsements, Outcome, RealmReferenceValues, Report, VerifyInputs};

use crate::error::{CliError, CliResult, input, runtime};

/// Arguments of `realm verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The CCA token (CBOR, as `realm attest -o` writes it).
    token: PathBuf,
    /// The expected challenge, hex (up to 64 bytes, zero-padded on the right as the RSI registers carry it).
    #[arg(long, value_name = "HEX")]
    challenge: Option<String>,
    /// The platform's CPAK as a SubjectPublicKeyInfo PEM file.
    #[arg(long, value_name = "PEM", conflicts_with = "endorsements")]
    platform_key: Option<PathBuf>,
    /// Platform endorsements (`realm platform endorsements --json`).
    #[arg(long, value_name = "FILE")]
    endorsements: Option<PathBuf>,
    /// Realm reference values (`realm measure --reference-values FILE`).
    #[arg(long, value_name = "FILE")]
    reference_values: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Parse a hex challenge of at most 64 bytes, zero-padded to 64.
pub fn parse_challenge(text: &str) -> Result<[u8; 64], CliError> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(text)
        .with_context(|| format!("--challenge {text:?} is not hex"))
        .map_err(input)?;
    if bytes.len() > 64 {
        return Err(input(anyhow::anyhow!(
            "--challenge is {} bytes, at most 64",
            bytes.len()
        )));
    }
    let mut c = [0u8; 64];
    c[..bytes.len()].copy_from_slice(&bytes);
    Ok(c)
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .with_context(|| format!("reading {what} {}", path.display()))
        .map_err(input)
}

fn read_text(path: &PathBuf, what: &str) -> Result<String, CliError> {
    String::from_utf8(read(path, what)?)
        .with_context(|| format!("{what} {} is not UTF-8", path.display()))
        .map_err(input)
}

/// `--endorsements FILE` (JSON, as `realm platform endorsements --json` writes it), if given.
pub(crate) fn load_endorsements(path: Option<&PathBuf>) -> Result<Option<Endorsements>, CliError> {
    path.map(|p| {
        Endorsements::from_json(&read_text(p, "endorsements")?)
            .with_context(|| format!("endorsements {}", p.display()))
            .map_err(input)
    })
    .transpose()
}

/// `--reference-values FILE` (JSON, as `realm measure --reference-values` writes it), if given.
pub(crate) fn load_reference_values(
    path: Option<&PathBuf>,
) -> Result<Option<RealmReferenceValues>, CliError> {
    path.map(|p| {
        RealmReferenceValues::from_json(&read_text(p, "reference values")?)
            .with_context(|| format!("reference values {}", p.display()))
            .map_err(input)
    })
    .transpose()
}

/// Run `realm verify`.
pub fn run(args: &VerifyArgs) -> CliResult {
    let token = read(&args.token, "token")?;
    let challenge = args.challenge.as_deref().map(parse_challenge).transpose()?;
    let platform_key = match &args.platform_key {
        Some(p) => Some(PublicKey::from_pem(&read_text(p, "platform key")?).map_err(input)?),
        None => None,
    };
    let endorsements = load_endorsements(args.endorsements.as_ref())?;
    let reference_values = load_reference_values(args.reference_values.as_ref())?;
    let inputs = VerifyInputs {
        challenge,
        platform_key,
        endorsements: endorsements.as_ref(),
        reference_values: reference_values.as_ref(),
    };
    let report = realm_attest::verify(&token, &inputs)
        .with_context(|| format!("decoding {}", args.token.display()))
        .map_err(input)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", report_json(&report)).map_err(runtime)?;
    } else {
        print_report(&mut out, &report).map_err(runtime)?;
    }
    if report.trusted() {
        Ok(())
    } else {
        Err(runtime(anyhow::anyhow!("token not trusted")))
    }
}

fn outcome_text(o: &Outcome) -> (&'static str, &str) {
    match o {
        Outcome::Pass => ("ok", ""),
        Outcome::Fail(why) => ("FAIL", why),
        Outcome::Skipped(why) => ("skip", why),
    }
}

/// The claims and checks as text.
pub fn print_report(out: &mut impl std::io::Write, report: &Report) -> std::io::Result<()> {
    let p = &report.token.platform_claims;
    let r = &report.token.realm_claims;
    writeln!(out, "platform token")?;
    writeln!(out, "  profile                {}", p.profile)?;
    writeln!(
        out,
        "  challenge              {}",
        hex::encode(&p.challenge)
    )?;
    writeln!(
        out,
        "  implementation id      {}",
        hex::encode(p.implementation_id)
    )?;
    writeln!(
        out,
        "  instance id            {}",
        hex::encode(p.instance_id)
    )?;
    writeln!(out, "  config                 {}", hex::encode(&p.config))?;
    writeln!(out, "  lifecycle              {:#06x}", p.lifecycle)?;
    for c in &p.sw_components {
        let ty = c.component_type.as_deref().unwrap_or("?");
        writeln!(
            out,
            "  sw component {ty:<9} {}",
            hex::encode(&c.measurement_value)
        )?;
    }
    writeln!(out, "  hash algorithm         {}", p.hash_algo_id)?;
    writeln!(out, "realm token")?;
    writeln!(
        out,
        "  profile                {}",
        r.profile.as_deref().unwrap_or("(none: draft token)")
    )?;
    writeln!(out, "  challenge              {}", hex::encode(r.challenge))?;
    writeln!(
        out,
        "  personalization value  {}",
        hex::encode(r.personalization_value)
    )?;
    writeln!(out, "  hash algorithm         {}", r.hash_algo_id)?;
    writeln!(out, "  RIM                    {}", hex::encode(&r.rim))?;
    for (i, rem) in r.rem.iter().enumerate() {
        writeln!(out, "  REM{i}                   {}", hex::encode(rem))?;
    }
    writeln!(
        out,
        "  public key             {} bytes, hashed with {}",
        r.public_key.len(),
        r.public_key_hash_algo_id
    )?;
    writeln!(out, "checks")?;
    for c in &report.checks {
        let (word, why) = outcome_text(&c.outcome);
        let sep = if why.is_empty() { "" } else { ": " };
        writeln!(out, "  {word:<4} {}{sep}{why}", c.name)?;
    }
    let verdict = if report.trusted() {
        "TRUSTED"
    } else {
        "NOT TRUSTED"
    };
    writeln!(out, "verdict: {verdict}")
}

fn report_json(report: &Report) -> String {
    let checks: Vec<_> = report
        .checks
        .iter()
        .map(|c| {
            let (word, why) = outcome_text(&c.outcome);
            serde_json::json!({"check": c.name, "result": word, "reason": why})
        })
        .collect();
    let r = &report.token.realm_claims;
    let v = serde_json::json!({
        "trusted": report.trusted(),
        "checks": checks,
        "realm": {
            "challenge": hex::encode(r.challenge),
            "personalization_value": hex::encode(r.personalization_value),
            "hash_algo": r.hash_algo_id,
            "rim": hex::encode(&r.rim),
            "rems": r.rem.iter().map(hex::encode).collect::<Vec<_>>(),
        },
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
