//! `realm abi`: the KVM realm ABI of every revision, from `realm_uapi`'s catalog.
//!
//! Example: `realm abi --revision v12` prints v12's capability (`KVM_CAP_ARM_RMI` = 247), its VM-type encoding,
//! its request numbers (`KVM_ARM_RMI_POPULATE` = 0x4020aed7, `_IOW(0xae, 0xd7, 32)`) and struct sizes;
//! `--json` prints the same as JSON and nothing else.

use std::io::{self, Write as _};

use realm_uapi::AbiRevision;
use realm_uapi::catalog::{Item, Kind, Section, Value, section};
use realm_uapi::ioctl::Ioc;
use serde_json::{Value as Json, json};

use crate::error::{CliResult, input, runtime};

/// Arguments of `realm abi`.
#[derive(Debug, clap::Args)]
pub struct AbiArgs {
    /// Only this revision (v10, v12, v13, v14).
    #[arg(long)]
    pub revision: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Run `realm abi`.
pub fn run(args: &AbiArgs) -> CliResult {
    let revisions = match &args.revision {
        Some(r) => vec![r.parse::<AbiRevision>().map_err(input)?],
        None => AbiRevision::ALL.to_vec(),
    };
    let sections: Vec<&Section> = revisions.into_iter().map(section).collect();
    let text = if args.json {
        let doc =
            json!({ "revisions": sections.iter().map(|s| section_json(s)).collect::<Vec<_>>() });
        let mut s = serde_json::to_string_pretty(&doc).map_err(runtime)?;
        s.push('\n');
        s
    } else {
        sections
            .iter()
            .map(|s| section_text(s))
            .collect::<Vec<_>>()
            .join("\n")
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(runtime)
}

fn number(item: &Item) -> u64 {
    item.number_value().unwrap_or_default()
}

fn request_shape(value: u64) -> String {
    let d = Ioc::decode(value);
    format!(
        "{}(0x{:x}, 0x{:02x}, {})",
        d.macro_name(),
        d.ty,
        d.nr,
        d.size
    )
}

/// The human-readable table of one revision.
fn section_text(s: &Section) -> String {
    let mut out = format!("{}  ({})\n", s.name, s.source);
    if let Some(cap) = s.capability() {
        out += &format!("  capability  {} = {}\n", cap.name, number(cap));
    }
    out += &format!("  VM type     {}\n", s.vm_type_encoding);
    for item in s.of_kind(Kind::VmType) {
        out += &format!("              {:<34} 0x{:x}\n", item.name, number(item));
    }
    out += "  requests\n";
    for item in s.of_kind(Kind::Request) {
        let v = number(item);
        out += &format!("    {:<34} 0x{:08x}  {}\n", item.name, v, request_shape(v));
    }
    out += "  structs\n";
    for item in s.of_kind(Kind::Struct) {
        if let Value::Struct { size, fields } = item.value {
            let layout: Vec<String> = fields
                .iter()
                .map(|f| format!("{}@{}", f.name, f.offset))
                .collect();
            out += &format!(
                "    {:<34} {:>4} bytes  {}\n",
                item.name,
                size,
                layout.join(" ")
            );
        }
    }
    out += "  constants\n";
    for item in s.of_kind(Kind::Constant) {
        out += &format!("    {:<34} {}\n", item.name, number(item));
    }
    out
}

/// The JSON object of one revision.
fn section_json(s: &Section) -> Json {
    let numbers = |kind| -> Vec<Json> {
        s.of_kind(kind)
            .map(|i| json!({ "name": i.name, "value": number(i), "hex": format!("0x{:x}", number(i)) }))
            .collect()
    };
    let requests: Vec<Json> = s
        .of_kind(Kind::Request)
        .map(|i| {
            let v = number(i);
            let d = Ioc::decode(v);
            json!({
                "name": i.name, "value": v, "hex": format!("0x{v:08x}"),
                "macro": d.macro_name(), "type": d.ty, "nr": d.nr, "size": d.size,
            })
        })
        .collect();
    let structs: Vec<Json> = s
        .of_kind(Kind::Struct)
        .filter_map(|i| match i.value {
            Value::Struct { size, fields } => {
                Some(json!({ "name": i.name, "size": size, "fields": fields }))
            }
            Value::Number(_) => None,
        })
        .collect();
    json!({
        "revision": s.name,
        "source": s.source,
        "capability": s.capability().map(|c| json!({ "name": c.name, "value": number(c) })),
        "vm_type": { "encoding": s.vm_type_encoding, "values": numbers(Kind::VmType) },
        "requests": requests,
        "structs": structs,
        "constants": numbers(Kind::Constant),
    })
}
