//! `phoneflip name NAME`: decode any firmware-related name into its fields.

use anyhow::{bail, Result};
use phoneflip_firmware::{BundleName, GkImage, GkVersionCode, ImageFile, LoadName};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// A load name (P0S3-8-12-00), image file (P0S3-8-12-00.sb2), gkdefault
    /// image (CP7940080001SIP060412A.sbin) or code (0x060412a), or a bundle
    /// (cmterm-7940-7960-sccp.8-0-4.zip).
    pub name: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let v = decode(&args.name)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if let Some(obj) = v.as_object() {
        for (k, val) in obj {
            let val = val
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| val.to_string());
            println!("{k:>12}: {val}");
        }
    }
    Ok(())
}

fn decode(name: &str) -> Result<serde_json::Value> {
    if let Ok(l) = name.parse::<LoadName>() {
        return Ok(json!({
            "kind": if l.is_universal_loader() { "universal application loader" } else { "load" },
            "name": l.as_str(),
            "protocol": match l.application_protocol() {
                Some(p) => json!(p),
                None => json!("any (a universal application loader is protocol-neutral)"),
            },
            "version": l.version().to_string(),
            "form": l.form(),
            "phone": "P (phone)",
            "image": "0 (combined application and DSP image)",
            "processor": format!("{:?}", l.processor()),
            "spelling": if l.letter_o() { "letter O (reference)" } else { "digit 0" },
            "fits_8_3": l.fits_8_3(),
        }));
    }
    if let Ok(f) = name.parse::<ImageFile>() {
        return Ok(json!({
            "kind": format!("image file (.{})", f.kind.ext()),
            "name": f.to_string(),
            "load": f.load.as_str(),
            "protocol": f.load.protocol(),
            "version": f.load.version().to_string(),
            "fits_8_3": f.fits_8_3(),
        }));
    }
    if let Ok(g) = name.parse::<GkImage>() {
        return Ok(json!({
            "kind": "gkdefault upgradecode image",
            "name": g.as_str(),
            "model": g.model,
            "hardware": g.hardware,
            "protocol": g.protocol,
            "version_code": g.code.to_string(),
        }));
    }
    if let Ok(c) = name.parse::<GkVersionCode>() {
        return Ok(
            json!({"kind": "gkdefault version code", "code": c.to_string(), "in_image_name": c.in_name()}),
        );
    }
    if let Ok(b) = name.parse::<BundleName>() {
        return Ok(json!({
            "kind": "firmware bundle",
            "name": b.as_str(),
            "models": b.models,
            "protocol": b.protocol,
            "version": b.version.to_string(),
        }));
    }
    match name.parse::<LoadName>() {
        Err(e) if name.ends_with(".zip") => bail!(
            "{}",
            name.parse::<BundleName>()
                .err()
                .map(|b| b.to_string())
                .unwrap_or(e.to_string())
        ),
        Err(e) if name.ends_with(".sbin") || name.starts_with("0x") => {
            bail!(
                "{}",
                name.parse::<GkImage>()
                    .err()
                    .map(|g| g.to_string())
                    .unwrap_or(e.to_string())
            )
        }
        Err(e) => match name.parse::<ImageFile>() {
            Err(fe)
                if name.contains('.')
                    && !matches!(e, phoneflip_firmware::LoadNameError::HasExtension { .. }) =>
            {
                bail!("{fe}")
            }
            _ => bail!("{e}"),
        },
        Ok(_) => unreachable!("handled above"),
    }
}
