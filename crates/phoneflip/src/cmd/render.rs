//! `phoneflip render`: the files phones receive, rendered from the
//! inventory by the same pipeline the TFTP server uses
//! (`phoneflip_provision::Provisioner`), so what is printed or written here
//! is byte for byte what a phone would get.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use phoneflip_config::{FileKind, FileName, XmlDefault};
use phoneflip_device::Mac;
use phoneflip_inventory::{Inventory, PhoneFilter};
use phoneflip_plan::Catalogue;
use phoneflip_provision::{Decision, Provisioner};

use super::phones::DbArg;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["mac", "all"])))]
pub struct Args {
    /// The phone whose file to print (any MAC spelling).
    #[arg(long, requires = "file")]
    pub mac: Option<Mac>,
    /// The file as the phone asks for it: SIP<MAC>.cnf, SEP<MAC>.cnf.xml,
    /// SIPDefault.cnf, XMLDefault.cnf.xml, OS79XX.TXT, syncinfo.xml, ...
    pub file: Option<String>,
    /// Write a complete static TFTP root for every phone to --out.
    #[arg(long, requires = "out", conflicts_with = "file")]
    pub all: bool,
    /// Directory for --all (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The TFTP root holding the firmware: plans use the loads really
    /// there, files phoneflip does not render are read from it, and --all
    /// copies its files into --out.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
}

/// The per-phone and shared names a phone may ask for that phoneflip renders.
fn candidate_names(mac: Mac) -> Vec<String> {
    vec![
        format!("SEP{mac}.cnf.xml"),
        format!("SIP{mac}.cnf"),
        "XMLDefault.cnf.xml".into(),
        "SIPDefault.cnf".into(),
        "OS79XX.TXT".into(),
        "syncinfo.xml".into(),
        "gkdefault.txt".into(),
    ]
}

fn catalogue(root: Option<&Path>) -> Result<Catalogue> {
    match root {
        Some(r) => Provisioner::catalogue_of(r).with_context(|| {
            format!(
                "cannot read the TFTP root {}; pass --root DIR with the firmware files",
                r.display()
            )
        }),
        None => Ok(Catalogue::builtin()),
    }
}

/// A file under the root, refusing names that climb out of it.
fn root_file(root: &Path, name: &str) -> Option<PathBuf> {
    let name = name.trim_start_matches("./");
    let p = Path::new(name);
    if p.components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    let full = root.join(p);
    full.is_file().then_some(full)
}

pub fn run(args: Args) -> Result<()> {
    let store: Arc<dyn Inventory> = args.db.open_existing()?;
    let provisioner = Provisioner::new(store.clone(), catalogue(args.root.as_deref())?, None);
    match (args.mac, args.all) {
        (Some(mac), false) => {
            let file = args
                .file
                .context("give the FILE to render after --mac MAC")?;
            let bytes = one(&provisioner, mac, &file, args.root.as_deref())?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&bytes)?;
            out.flush()?;
            Ok(())
        }
        (None, true) => {
            let out = args.out.context("give --out DIR for --all")?;
            all(&provisioner, &*store, &out, args.root.as_deref())
        }
        _ => bail!("use either --mac MAC FILE or --all --out DIR"),
    }
}

fn one(p: &Provisioner, mac: Mac, file: &str, root: Option<&Path>) -> Result<Vec<u8>> {
    if let Some(other) = FileName::classify(file).kind.mac() {
        if other != mac {
            bail!("{file} is the file of phone {other}, not of {mac}; phones only ask for their own MAC's files");
        }
    }
    let (decision, bytes) = p.decide(file, Some(mac));
    if let Some(b) = bytes {
        return Ok(b.to_vec());
    }
    let mut on_disk = file.to_string();
    let why = match decision {
        Decision::Alias { file: real } => {
            let why = format!("{file} is the 8.3 alias of {real}, served in its place");
            on_disk = real;
            why
        }
        Decision::Rendered { target, .. } => bail!(
            "phone {mac} would get TFTP \"File not found\" for {file}: while it moves to {target} \
             that file is not one its files use (the reference: remove configuration files the \
             target protocol does not use)"
        ),
        Decision::Failed { reason, .. } => bail!(
            "cannot render {file} for phone {mac}: {reason}\n(the TFTP server would serve the root's copy, if any)"
        ),
        Decision::Held { reason, .. } => bail!(
            "phone {mac} would get TFTP \"File not found\" for {file}: {reason}"
        ),
        Decision::UnknownPhone(_) => format!(
            "phone {mac} is not in the inventory (import it with phoneflip phones import FILE.csv)"
        ),
        Decision::NothingWanted(_) => format!(
            "phone {mac} has no desired protocol or load, so phoneflip renders nothing for it"
        ),
        Decision::Root => format!("phoneflip does not render {file}"),
    };
    match root {
        Some(r) => match root_file(r, &on_disk) {
            Some(path) => {
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
            }
            None => bail!(
                "{why}; {on_disk} is not in the root {} either, so the phone would get TFTP \"File not found\"",
                r.display()
            ),
        },
        None => bail!("{why}; pass --root DIR to serve it from a TFTP root"),
    }
}

/// XMLDefault.cnf.xml carries one `loadInformationN` per model, so phones
/// of different models that agree on the CallManagers share one file
/// holding every model's load. `None` when they disagree.
fn merge_xml_default(variants: &[(Vec<u8>, Vec<Mac>)]) -> Option<Vec<u8>> {
    let mut merged: Option<XmlDefault> = None;
    for (bytes, _) in variants {
        let x = XmlDefault::parse("XMLDefault.cnf.xml", bytes).ok()?;
        match &mut merged {
            None => merged = Some(x),
            Some(m) => {
                if m.call_managers != x.call_managers || m.other_loads != x.other_loads {
                    return None;
                }
                for (model, load) in x.loads {
                    match m.loads.get(&model) {
                        Some(l) if l.as_str() != load.as_str() => return None,
                        _ => {
                            m.loads.insert(model, load);
                        }
                    }
                }
            }
        }
    }
    merged.map(|m| m.to_bytes())
}

/// Writes every phone's files. Shared files (OS79XX.TXT, SIPDefault.cnf,
/// XMLDefault.cnf.xml, ...) exist once in a static root: when phones need
/// different contents for one, the most common wins and the others are
/// named, since only `phoneflip serve` can give each phone its own.
fn all(p: &Provisioner, store: &dyn Inventory, out: &Path, root: Option<&Path>) -> Result<()> {
    let phones = store
        .list_phones(&PhoneFilter::default())
        .context("listing phones")?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Shared file name -> content -> phones wanting it.
    let mut shared: BTreeMap<String, BTreeMap<Vec<u8>, Vec<Mac>>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut idle = Vec::new();
    for phone in &phones {
        for name in candidate_names(phone.mac) {
            let (decision, bytes) = p.decide(&name, Some(phone.mac));
            match (decision, bytes) {
                (_, Some(b)) => {
                    if FileName::classify(&name).kind.mac().is_some() {
                        files.insert(name, b.to_vec());
                    } else {
                        shared
                            .entry(name)
                            .or_default()
                            .entry(b.to_vec())
                            .or_default()
                            .push(phone.mac);
                    }
                }
                (Decision::Failed { reason, .. }, None) => {
                    failures.push(format!("{} {name}: {reason}", phone.mac));
                    break;
                }
                (Decision::NothingWanted(_), None) => {
                    idle.push(phone.mac);
                    break;
                }
                _ => {}
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} phone(s) could not be rendered; nothing was written:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    let mut conflicts = Vec::new();
    for (name, variants) in shared {
        let mut variants: Vec<(Vec<u8>, Vec<Mac>)> = variants.into_iter().collect();
        if variants.len() > 1 && name == "XMLDefault.cnf.xml" {
            if let Some(merged) = merge_xml_default(&variants) {
                files.insert(name, merged);
                continue;
            }
        }
        variants.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (_, macs) in &variants[1..] {
            conflicts.push(format!(
                "{name}: {} phone(s) need other contents than the {} written ({})",
                macs.len(),
                variants[0].1.len(),
                macs.iter()
                    .map(Mac::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        files.insert(name, variants.swap_remove(0).0);
    }

    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "cannot create {}; check the path and permissions",
            out.display()
        )
    })?;
    let mut copied = 0;
    if let Some(r) = root {
        for entry in
            std::fs::read_dir(r).with_context(|| format!("reading the root {}", r.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_file() && !files.contains_key(&name) {
                std::fs::copy(entry.path(), out.join(&name)).with_context(|| {
                    format!("copying {} to {}", entry.path().display(), out.display())
                })?;
                copied += 1;
            }
        }
    }
    for (name, bytes) in &files {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let per_phone = files
        .keys()
        .filter(|n| {
            matches!(
                FileName::classify(n).kind,
                FileKind::SipMac(_) | FileKind::SepMac(_)
            )
        })
        .count();
    println!(
        "{}: {} file(s) for {} phone(s) ({} per-phone, {} shared){}",
        out.display(),
        files.len(),
        phones.len() - idle.len(),
        per_phone,
        files.len() - per_phone,
        if copied > 0 {
            format!(", plus {copied} file(s) copied from the root")
        } else {
            String::new()
        }
    );
    if !idle.is_empty() {
        println!(
            "{} phone(s) have no desired protocol or load and got no files: {}",
            idle.len(),
            idle.iter()
                .map(Mac::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for c in &conflicts {
        eprintln!("warning: {c}; a static root holds one copy, use phoneflip serve or convert these phones in a separate wave");
    }
    Ok(())
}
