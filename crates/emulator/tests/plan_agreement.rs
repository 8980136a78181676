//! The emulator against phoneflip-plan: the files each load generation
//! reads agree with the planner's boot table, and every plan the planner
//! makes, applied to a TFTP root of synthetic bundles, takes an emulated
//! phone hop by hop to the planned load.

use std::collections::HashMap;

use phoneflip_device::{Mac, Model};
use phoneflip_emulator::run::{run_in_memory, Report};
use phoneflip_emulator::synth::{self, SizeProfile};
use phoneflip_emulator::{Flash, Generation, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{LoadName, Protocol, Release};
use phoneflip_plan::{boot_entry, plan, Catalogue, Edit, Hop};

const MAC: &str = "002094D245CB";

fn phone(flash: Flash) -> Phone {
    Phone::new(
        PhoneConfig {
            mac: MAC.parse::<Mac>().unwrap(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        flash,
    )
}

fn transcript(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

const RELEASES: &[&str] = &[
    "sccp:3.3",
    "sccp:5.0(1.1)",
    "sccp:6.0(3)",
    "sccp:8.1(2)SR2",
    "sip:2.3",
    "sip:4.4",
    "sip:6.4",
    "sip:7.4",
    "sip:8.12",
    "mgcp:5.0",
    "mgcp:8.0",
];

#[test]
fn generations_and_boot_files_agree_with_the_boot_table() {
    for rel in RELEASES {
        let r: Release = rel.parse().unwrap();
        let entry = boot_entry(&r);
        let ours = Generation::of(r.protocol, r.version);
        let theirs = match phoneflip_plan::generation(r.protocol, r.version) {
            phoneflip_plan::Generation::OriginalBoot => Generation::PreLoader,
            phoneflip_plan::Generation::UniversalLoader => Generation::Universal,
        };
        assert_eq!(ours, theirs, "{rel}");
        // A phone already on its load, with files that name that load.
        let load = LoadName::canonical(r.protocol, r.version).to_string();
        let mut files: HashMap<String, Vec<u8>> =
            synth::synth(r.protocol, r.version, SizeProfile::Small)
                .unwrap()
                .files
                .into_iter()
                .collect();
        // Only SIPDefault.cnf names the load, so the universal loader's
        // hunt goes through every file it knows.
        files.insert(
            "SIPDefault.cnf".into(),
            format!("image_version: {load}\n").into_bytes(),
        );
        files.insert(format!("SIP{MAC}.cnf"), b"line1_name: 100\n".to_vec());
        files.insert(format!("MGC{MAC}.cnf"), b"line1_name: 100\n".to_vec());
        let r2 = run_in_memory(phone(Flash::with_load(r.protocol, r.version)), &files);
        assert!(
            r2.outcome.is_stable(),
            "{rel}: {:?}\n{}",
            r2.outcome,
            transcript(&r2)
        );
        assert_eq!(r2.reboots, 0, "{rel}\n{}", transcript(&r2));
        let asked: Vec<String> = r2
            .requests()
            .iter()
            .map(|f| f.strip_prefix("./").unwrap_or(f).replace(MAC, "<MAC>"))
            .collect();
        let mut it = asked.iter();
        for f in entry.files {
            assert!(
                it.any(|a| a == f.name),
                "{rel}: the boot table says {} is read (in this order: {:?}); the emulator asked for {asked:?}",
                f.name,
                entry.files.iter().map(|f| f.name).collect::<Vec<_>>()
            );
        }
    }
}

/// Puts the hop's firmware into the root (as unzipping the vendor bundle
/// would), then applies its copies, control-file edits and commands.
fn apply(root: &mut HashMap<String, Vec<u8>>, hop: &Hop) {
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

fn rehearse(from: &str, to: &str) {
    let f: Release = from.parse().unwrap();
    let t: Release = to.parse().unwrap();
    // The planner plans with what a root holds: every release the pairs
    // need, plus the latest SCCP 4.x that the old-SIP rule goes through.
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
    let p = plan(f, t, Some(Model::Cp7960), &catalogue)
        .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
    let mut root = HashMap::new();
    let mut flash = Flash::with_load(f.protocol, f.version);
    for hop in &p.hops {
        apply(&mut root, hop);
        let r = run_in_memory(phone(flash.clone()), &root);
        let want = hop.to.load.as_deref().expect("a concrete load");
        match &r.outcome {
            Outcome::Stable(s) => assert_eq!(
                s.load,
                want,
                "{from} -> {to}, hop {}\n{}",
                hop.step,
                transcript(&r)
            ),
            o => panic!(
                "{from} -> {to}, hop {} ({}): {o:?}\n{}",
                hop.step,
                hop.mechanism_name(),
                transcript(&r)
            ),
        }
        flash = r.flash;
    }
}

trait MechanismName {
    fn mechanism_name(&self) -> String;
}

impl MechanismName for Hop {
    fn mechanism_name(&self) -> String {
        serde_json::to_string(&self.mechanism).unwrap_or_default()
    }
}

#[test]
fn every_planned_conversion_reaches_its_load() {
    let pairs = [
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
    for (from, to) in pairs {
        rehearse(from, to);
    }
    let _ = Protocol::Sip;
}
