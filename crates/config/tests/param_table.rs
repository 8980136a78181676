//! A template holding every parameter of the SIP table, rendered for each
//! SIP release: a release gets exactly the parameters it reads (SIP 2.x
//! only `image_version`, the W210 rule); the parameters of later releases
//! are left out of its files and named in the file's note with the
//! release they need. The releases come from the table
//! (`sip_params::PARAMS`, each row's `since`), the one place that says
//! what each release reads.

use std::collections::BTreeMap;

use phoneflip_config::sip_params::{known_by, ParamType, PARAMS};
use phoneflip_config::{render, PhoneSettings, RenderLoad, SipCnf, Template};
use phoneflip_device::Model;
use phoneflip_firmware::{LoadName, Protocol, Version};

/// A value the type accepts, from the table itself: its default when it
/// has one.
fn sample(ty: ParamType, default: Option<&str>) -> String {
    if let Some(d) = default {
        return d.to_string();
    }
    match ty {
        ParamType::Int { min, .. } => min.to_string(),
        ParamType::Uint => "0".into(),
        ParamType::Bool => "1".into(),
        ParamType::Choice(c) => c[0].into(),
        ParamType::Month | ParamType::DayOfWeek => "1".into(),
        ParamType::Port => "5060".into(),
        ParamType::Text | ParamType::Chars { .. } | ParamType::Load => "x".into(),
    }
}

/// Every row readable by `release`, as template settings: per-line rows
/// for line 2 (so that proxyN_… is a per-line proxy, not proxy1_…).
fn every_param(release: Version) -> BTreeMap<String, String> {
    known_by(release)
        .filter(|p| p.name != "image_version")
        .map(|p| {
            let name = if p.per_line {
                p.name.replacen('N', "2", 1)
            } else {
                p.name.to_string()
            };
            (name, sample(p.ty, p.default))
        })
        .collect()
}

fn phone() -> PhoneSettings {
    PhoneSettings {
        mac: "002094D245CB".parse().unwrap(),
        model: Model::Cp7960,
        description: String::new(),
        label: None,
        lines: vec![],
        overrides: BTreeMap::new(),
    }
}

#[test]
fn each_release_gets_what_it_reads() {
    let loads = [
        "POS30203",
        "POS3-03-0-00",
        "POS3-03-1-00",
        "POS3-04-0-00",
        "POS3-04-4-00",
        "POS3-05-0-00",
        "POS3-06-0-00",
        "POS3-07-5-00",
        "P0S3-8-12-00",
    ];
    // One template with every parameter of the table (the last release
    // reads them all), rendered for each release.
    let all = every_param(Version::new(8, 12));
    assert_eq!(all.len() + 1, PARAMS.len(), "the table's every row");
    let t = Template {
        name: "all".into(),
        protocol: Protocol::Sip,
        settings: all.clone(),
    };
    for l in loads {
        let load: LoadName = l.parse().unwrap();
        let rel = load.version();
        let files = render(
            &phone(),
            &t,
            &RenderLoad::new(Some(load.clone()), load.clone()),
        )
        .unwrap_or_else(|e| panic!("{l}: {e}"));
        let default = files.iter().find(|f| f.name == "SIPDefault.cnf").unwrap();
        let cnf = SipCnf::parse("SIPDefault.cnf", &default.bytes).unwrap();
        let got: BTreeMap<String, String> = cnf
            .entries()
            .map(|e| (e.key.to_string(), e.value.to_string()))
            .collect();
        if rel.major == 2 {
            assert_eq!(got.len(), 1, "{l}: W210, only image_version");
            continue;
        }
        // Exactly the rows the table says this release reads.
        let reads = every_param(rel);
        for (k, v) in &reads {
            assert_eq!(got.get(k), Some(v), "{l}: {k}");
        }
        assert_eq!(
            got.len(),
            reads.len() + 1,
            "{l}: nothing else but image_version"
        );
        // Each row left out is one of a later release, named in the note
        // with the release it needs.
        let note = default.note.clone().unwrap_or_default();
        for p in PARAMS.iter().filter(|p| p.since > rel) {
            let name = if p.per_line {
                p.name.replacen('N', "2", 1)
            } else {
                p.name.to_string()
            };
            assert!(!got.contains_key(&name), "{l}: {name}");
            assert!(
                note.contains(&format!("sets {name}, not written for SIP {rel}")),
                "{l}: {name} not reported: {note}"
            );
        }
    }
}
