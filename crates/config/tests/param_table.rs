//! A template holding every parameter of the SIP table, rendered for each
//! SIP release: a release gets exactly the parameters it reads (SIP 2.x
//! only `image_version`, the W210 rule), and one more parameter than it
//! reads is refused naming that parameter and the release it needs.

use std::collections::BTreeMap;

use phoneflip_config::sip_params::{known_by, ParamType, PARAMS};
use phoneflip_config::{
    render, PhoneSettings, RenderError, RenderLoad, SipCnf, SipProblem, Template,
};
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
    let releases: Vec<Version> = PARAMS.iter().map(|p| p.since).collect();
    for l in loads {
        let load: LoadName = l.parse().unwrap();
        let rel = load.version();
        let settings = every_param(rel);
        let t = Template {
            name: "all".into(),
            protocol: Protocol::Sip,
            settings: settings.clone(),
        };
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
        } else {
            for (k, v) in &settings {
                assert_eq!(got.get(k), Some(v), "{l}: {k}");
            }
            assert_eq!(
                got.len(),
                settings.len() + 1,
                "{l}: nothing else but image_version"
            );
        }
        // One parameter of a later release is refused, naming it.
        let Some(newer) = PARAMS.iter().find(|p| p.since > rel && !p.per_line) else {
            continue;
        };
        assert!(releases.contains(&newer.since));
        let mut t = t.clone();
        t.settings
            .insert(newer.name.into(), sample(newer.ty, newer.default));
        match render(
            &phone(),
            &t,
            &RenderLoad::new(Some(load.clone()), load.clone()),
        ) {
            Err(RenderError::SipSetting {
                key,
                problem: SipProblem::NewerThanLoad { since, .. },
                ..
            }) if rel.major != 2 => {
                assert_eq!((key.as_str(), since), (newer.name, newer.since), "{l}");
            }
            Ok(_) if rel.major == 2 => {}
            other => panic!("{l} + {}: {other:?}", newer.name),
        }
    }
}
