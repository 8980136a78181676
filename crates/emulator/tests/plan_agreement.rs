//! The emulator against phoneflip-plan: the files each load generation
//! reads agree with the planner's boot table, and every plan the planner
//! makes, applied to a TFTP root of synthetic bundles, takes an emulated
//! phone hop by hop to the planned load.

use std::collections::HashMap;

mod common;
use common::MAC;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::run::{run_in_memory, Report};
use phoneflip_emulator::{Flash, Generation, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{LoadName, Release};
use phoneflip_plan::boot_entry;

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

fn rehearse(from: &str, to: &str) {
    let f: Release = from.parse().unwrap();
    let p = common::plan_for(from, to);
    let mut root = HashMap::new();
    let mut flash = Flash::with_load(f.protocol, f.version);
    for hop in &p.hops {
        common::apply(&mut root, hop);
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
                "{from} -> {to}, hop {}: {o:?}\n{}",
                hop.step,
                transcript(&r)
            ),
        }
        flash = r.flash;
    }
}

#[test]
fn every_planned_conversion_reaches_its_load() {
    for (from, to) in common::PAIRS {
        rehearse(from, to);
    }
}
