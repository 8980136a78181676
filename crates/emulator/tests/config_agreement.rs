//! The emulator against phoneflip-config: every OS79XX.TXT the phone
//! refuses, phoneflip's own parser refuses too (so the doctor catches it
//! first), and the files phoneflip renders for each hop of a plan take an
//! emulated phone to the planned load.

use std::collections::{BTreeMap, HashMap};

mod common;
use common::MAC;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_config::{render, Line, Os79xx, PhoneSettings, RenderLoad, Template};
use phoneflip_device::Model;
use phoneflip_emulator::cfgread;
use phoneflip_emulator::run::run_in_memory;
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{LoadName, Protocol, Release};
use proptest::prelude::*;

proptest! {
    #[test]
    fn what_the_phone_refuses_phoneflip_refuses(s in "[P0OS3\\-0-9a-z. \\r\\n:_]{0,16}") {
        if cfgread::os79xx(s.as_bytes()).is_err() {
            prop_assert!(Os79xx::parse(s.as_bytes()).is_err(), "{s:?}");
        }
    }
}

#[test]
fn rendered_os79xx_is_read_by_the_phone() {
    for name in [
        "POS30203",
        "POS3-07-4-00",
        "P003-8-12-00",
        "P00305000101",
        "P0030801SR02",
    ] {
        let load: LoadName = name.parse().unwrap();
        let bytes = Os79xx::for_load(load).to_bytes();
        assert_eq!(cfgread::os79xx(&bytes).unwrap(), name);
    }
}

fn settings() -> PhoneSettings {
    PhoneSettings {
        mac: MAC.parse().unwrap(),
        model: Model::Cp7960,
        description: String::new(),
        label: None,
        lines: vec![Line {
            number: 1,
            name: "100".into(),
            authname: None,
            password: None,
            displayname: None,
            shortname: None,
        }],
        overrides: BTreeMap::new(),
    }
}

fn template(protocol: Protocol) -> Template {
    let mut settings = BTreeMap::new();
    match protocol {
        Protocol::Sip => {
            settings.insert("proxy1_address".to_string(), "192.0.2.10".to_string());
        }
        _ => {
            settings.insert("callmanager1".to_string(), "192.0.2.20".to_string());
        }
    }
    Template {
        name: protocol.to_string(),
        protocol,
        settings,
    }
}

#[test]
fn rendered_files_take_the_phone_through_every_planned_hop() {
    for (from, to) in common::PAIRS {
        let f: Release = from.parse().unwrap();
        let p = common::plan_for(from, to);
        let mut root: HashMap<String, Vec<u8>> = HashMap::new();
        let mut flash = Flash::with_load(f.protocol, f.version);
        for hop in &p.hops {
            let rel: Release = hop.to.release.parse().unwrap();
            for (n, b) in synth::synth(rel.protocol, rel.version, SizeProfile::Small)
                .unwrap()
                .files
            {
                root.insert(n, b);
            }
            for c in &hop.copies {
                let b = root[&c.from].clone();
                root.insert(c.to.clone(), b);
            }
            let target: LoadName = hop.to.load.as_deref().unwrap().parse().unwrap();
            let current: Option<LoadName> =
                flash.app.as_ref().and_then(|a| a.image_load.parse().ok());
            let mut load = RenderLoad::new(current, target.clone());
            let gk_hop =
                flash.app.as_ref().is_some_and(|a| {
                    a.protocol == Protocol::Sip && (5..=6).contains(&a.version.major)
                }) && target.protocol() != Protocol::Sip;
            if gk_hop {
                load.gk_image = Some(synth::gk_image(rel.protocol, rel.version));
            }
            let files = render(&settings(), &template(target.protocol()), &load)
                .unwrap_or_else(|e| panic!("{from} -> {to}, hop {}: {e}", hop.step));
            if std::env::var("SHOW_RENDER").is_ok() {
                for file in &files {
                    eprintln!(
                        "{from}->{to} hop {}: {}:\n{}",
                        hop.step,
                        file.name,
                        String::from_utf8_lossy(&file.bytes)
                    );
                }
            }
            for file in files {
                root.insert(file.name.clone(), file.bytes.clone());
                if file.name == "gkdefault.txt" {
                    // cfgfmt's step: the emulator reads the text form.
                    root.insert("gkdefault.cfg".into(), file.bytes);
                }
            }
            let phone = Phone::new(
                PhoneConfig {
                    mac: MAC.parse().unwrap(),
                    model: Model::Cp7960,
                    tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
                },
                flash.clone(),
            );
            let r = run_in_memory(phone, &root);
            let transcript: String = r.transcript.iter().map(|e| format!("{e}\n")).collect();
            match &r.outcome {
                Outcome::Stable(s) => assert_eq!(
                    s.load,
                    target.as_str(),
                    "{from} -> {to}, hop {}\n{transcript}",
                    hop.step
                ),
                o => panic!("{from} -> {to}, hop {}: {o:?}\n{transcript}", hop.step),
            }
            flash = r.flash;
        }
    }
}
