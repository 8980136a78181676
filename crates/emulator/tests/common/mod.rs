//! Shared by the plan-driven tests: the pairs of loads the reference
//! documents, plans for them made from a root of synthetic bundles, and
//! applying a hop to a TFTP root held in memory.
#![allow(dead_code)]

use std::collections::HashMap;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_firmware::Release;
use phoneflip_plan::{plan, Catalogue, Edit, Hop, Plan};

pub const MAC: &str = "002094D245CB";

/// One conversion per procedure of the reference, plus its caveats (State
/// Error through SIP 2.3, the 8.3 alias of SIP 2.1, the 6.3 stop).
pub const PAIRS: &[(&str, &str)] = &[
    ("sccp:3.3", "sip:2.3"),
    ("sccp:3.3", "sip:8.12"),
    ("sccp:5.0(1.1)", "sip:6.4"),
    ("sccp:5.0(1.1)", "sip:8.12"),
    ("sccp:8.1(2)SR2", "sip:8.12"),
    ("sip:8.12", "sccp:8.1(2)SR2"),
    ("sip:7.4", "sccp:5.0(1.1)"),
    ("sip:4.4", "sccp:5.0(1.1)"),
    ("sip:4.4", "sccp:8.1(2)SR2"),
    ("sip:6.4", "sccp:8.1(2)SR2"),
    ("sip:2.1", "sccp:5.0(1.1)"),
    ("sccp:3.3", "sip:3.0"),
];

/// The planner's plan, made with what a root of synthetic bundles holds:
/// the two ends plus the releases the rules go through.
pub fn plan_for(from: &str, to: &str) -> Plan {
    let stock = [from, to, "sccp:4.1(3)", "sip:2.3", "sccp:6.0(3)"];
    let releases: Vec<Release> = stock.iter().map(|r| r.parse().unwrap()).collect();
    let names: Vec<String> = releases
        .iter()
        .flat_map(|r| {
            synth::synth(r.protocol, r.version, SizeProfile::Small)
                .unwrap()
                .files
        })
        .map(|(n, _)| n)
        .collect();
    let mut catalogue = Catalogue::from_file_names(&names);
    for rel in &releases {
        catalogue = catalogue.with_gk_code(rel, synth::gk_code(rel.version));
    }
    let f: Release = from.parse().unwrap();
    let t: Release = to.parse().unwrap();
    plan(f, t, Some(phoneflip_device::Model::Cp7960), &catalogue)
        .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

/// Puts the hop's firmware into the root (as unzipping the vendor bundle
/// would), then applies its copies, control-file edits and commands.
pub fn apply(root: &mut HashMap<String, Vec<u8>>, hop: &Hop) {
    let rel: Release = hop
        .to
        .release
        .parse()
        .unwrap_or_else(|e| panic!("hop {} to {}: {e}", hop.step, hop.to.release));
    for (n, b) in synth::synth(rel.protocol, rel.version, SizeProfile::Small)
        .unwrap()
        .files
    {
        root.insert(n, b);
    }
    for c in &hop.copies {
        let b = root
            .get(&c.from)
            .unwrap_or_else(|| panic!("copy from {} missing", c.from))
            .clone();
        root.insert(c.to.clone(), b);
    }
    for c in &hop.control_files {
        let name = c.file.replace("<MAC>", MAC);
        match c.edit {
            Edit::Remove => {
                root.remove(&name);
            }
            Edit::WholeFile => {
                root.insert(name, c.content.clone().into_bytes());
            }
            Edit::SetLine => {
                // The parameter: the element of an XML line, the key of a
                // `key: value` line.
                let key = if c.content.starts_with('<') {
                    c.content.split([' ', '>']).next().unwrap().to_string()
                } else {
                    c.content.split(':').next().unwrap().trim().to_string()
                };
                let sets_key = |l: &str| {
                    if key.starts_with('<') {
                        l.trim_start().split([' ', '>']).next() == Some(key.as_str())
                    } else {
                        l.split(':').next().map(str::trim) == Some(key.as_str())
                    }
                };
                let old = root
                    .get(&name)
                    .map(|b| String::from_utf8_lossy(b).to_string())
                    .unwrap_or_default();
                let mut lines: Vec<String> = old
                    .lines()
                    .filter(|l| !sets_key(l))
                    .map(String::from)
                    .collect();
                lines.push(c.content.clone());
                root.insert(name, (lines.join("\n") + "\n").into_bytes());
            }
        }
    }
    for cmd in &hop.commands {
        if cmd.starts_with("cfgfmt") {
            // The emulator reads gkdefault's text form (see the crate doc).
            let txt = root
                .get("gkdefault.txt")
                .expect("gkdefault.txt for cfgfmt")
                .clone();
            root.insert("gkdefault.cfg".into(), txt);
        }
    }
    for f in &hop.files {
        let f = f.replace("<MAC>", MAC);
        assert!(
            root.contains_key(&f),
            "hop {}: the plan needs {f}, which the synthetic bundle of {} lacks",
            hop.step,
            hop.to.release
        );
    }
}
