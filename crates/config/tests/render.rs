//! Rendering rules, and agreement with the planner: every control file a
//! planned hop demands is present, byte for byte, in what `render` gives.

use std::collections::BTreeMap;

use phoneflip_config::{
    render, render_one, GkDefault, Line, PhoneSettings, RenderError, RenderLoad, RenderedFile,
    SepDevice, SipCnf, Template, XmlDefault,
};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{GkImage, LoadName, Protocol};
use phoneflip_plan::{plan, Catalogue, Edit, Mechanism};

const MAC: &str = "002094D245CB";

fn load(s: &str) -> LoadName {
    s.parse().unwrap()
}

fn mac() -> Mac {
    MAC.parse().unwrap()
}

fn line(n: u8, name: &str) -> Line {
    Line {
        number: n,
        name: name.into(),
        authname: Some(format!("auth{name}")),
        password: Some("s3cret pw".into()),
        displayname: Some(format!("Desk {name}")),
        shortname: None,
    }
}

fn phone(model: Model) -> PhoneSettings {
    PhoneSettings {
        mac: mac(),
        model,
        description: "lobby".into(),
        label: Some("Front desk".into()),
        lines: vec![line(1, "2001"), line(2, "2002"), line(3, "2003")],
        overrides: BTreeMap::new(),
    }
}

fn sip_template(settings: &[(&str, &str)]) -> Template {
    Template {
        name: "office".into(),
        protocol: Protocol::Sip,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn sccp_template() -> Template {
    Template {
        name: "cucm".into(),
        protocol: Protocol::Sccp,
        settings: [("callmanager1", "10.0.0.5"), ("callmanager2", "10.0.0.6")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn get<'a>(files: &'a [RenderedFile], name: &str) -> Option<&'a RenderedFile> {
    files.iter().find(|f| f.name == name)
}

fn text(files: &[RenderedFile], name: &str) -> String {
    String::from_utf8(
        get(files, name)
            .unwrap_or_else(|| panic!("{name} not rendered: {:?}", names(files)))
            .bytes
            .clone(),
    )
    .unwrap()
}

fn names(files: &[RenderedFile]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn sip_2_3_phone_targeting_8_12_gets_the_w210_minimal_sipdefault() {
    let t = sip_template(&[
        ("proxy1_address", "10.0.0.1"),
        ("services_url", "http://x/"),
    ]);
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("POS30203")), load("P0S3-8-12-00")),
    )
    .unwrap();
    assert_eq!(
        get(&files, "SIPDefault.cnf").unwrap().bytes,
        b"image_version: P0S3-8-12-00\n"
    );
    // The 2.3 phone boots through OS79XX.TXT, which names the loader.
    assert_eq!(get(&files, "OS79XX.TXT").unwrap().bytes, b"P003-8-12-00");
    let own = text(&files, "SIP002094D245CB.cnf");
    assert!(own.contains("\nimage_version: P0S3-8-12-00\n"), "{own}");
    assert!(own.contains("\nline3_name: 2003\n"), "{own}");
    assert!(own.contains("\nline1_password: \"s3cret pw\"\n"), "{own}");
    assert!(own.contains("\nphone_label: \"Front desk\"\n"), "{own}");
}

#[test]
fn an_intermediate_sip_2_3_hop_is_not_blocked_by_the_final_template() {
    // SCCP 3.x goes to SIP 8.12 through SIP 2.3; the template is for 8.12.
    let t = sip_template(&[("services_url", "http://x/"), ("call_stats", "1")]);
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("P00303020214")), load("POS30203")),
    )
    .unwrap();
    assert_eq!(text(&files, "SIPDefault.cnf"), "image_version: POS30203\n");
    assert_eq!(text(&files, "OS79XX.TXT"), "POS30203");
    // Once on 2.3 and moving on, the same template is still not written.
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("POS30203")), load("P0S3-8-12-00")),
    )
    .unwrap();
    assert_eq!(
        text(&files, "SIPDefault.cnf"),
        "image_version: P0S3-8-12-00\n"
    );
}

#[test]
fn after_conversion_the_full_sipdefault_is_rendered() {
    let t = sip_template(&[
        ("proxy1_address", "10.0.0.1"),
        ("services_url", "http://x/"),
        ("preferred_codec", "g711ulaw"),
        ("sync", "3"),
    ]);
    let mut p = phone(Model::Cp7940);
    p.overrides.insert("preferred_codec".into(), "g729a".into());
    p.overrides
        .insert("line1_displayname".into(), "Reception".into());
    let target = load("P0S3-8-12-00");
    let files = render(&p, &t, &RenderLoad::new(Some(target.clone()), target)).unwrap();
    let d = SipCnf::parse(
        "SIPDefault.cnf",
        &get(&files, "SIPDefault.cnf").unwrap().bytes,
    )
    .unwrap();
    assert_eq!(d.get("image_version"), Some("P0S3-8-12-00"));
    assert_eq!(d.get("proxy1_address"), Some("10.0.0.1"));
    assert_eq!(d.get("services_url"), Some("http://x/"));
    assert_eq!(d.get("preferred_codec"), Some("g711ulaw"));
    let own = SipCnf::parse(
        "SIP.cnf",
        &get(&files, "SIP002094D245CB.cnf").unwrap().bytes,
    )
    .unwrap();
    // The phone's override wins: it is in the file read last.
    assert_eq!(own.get("preferred_codec"), Some("g729a"));
    assert_eq!(own.get("line1_displayname"), Some("Reception"));
    // A 7940 has two lines: line 3 is not written.
    assert_eq!(own.get("line2_name"), Some("2002"));
    assert_eq!(own.get("line3_name"), None);
    assert_eq!(
        text(&files, "syncinfo.xml"),
        "<IMAGE VERSION=\"P0S3-8-12-00\" SYNC=\"3\"/>\n"
    );
    // No SCCP files for a SIP phone staying on SIP.
    assert!(get(&files, "SEP002094D245CB.cnf.xml").is_none());
}

#[test]
fn syncinfo_also_names_the_sip_load_the_phone_still_runs() {
    // A check-sync reaches a phone still on its old load: it looks for the
    // IMAGE line of that load, so the line must be there or it never
    // reboots into the new one (domain-facts, remote reset).
    let t = sip_template(&[("sync", "2")]);
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("POS3-07-4-00")), load("P0S3-8-12-00")),
    )
    .unwrap();
    assert_eq!(
        text(&files, "syncinfo.xml"),
        "<IMAGE VERSION=\"POS3-07-4-00\" SYNC=\"2\"/>\n<IMAGE VERSION=\"P0S3-8-12-00\" SYNC=\"2\"/>\n"
    );
    // An SCCP phone has no SIP image to match: only the target's line.
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("P0030801SR02")), load("P0S3-8-12-00")),
    )
    .unwrap();
    assert_eq!(
        text(&files, "syncinfo.xml"),
        "<IMAGE VERSION=\"P0S3-8-12-00\" SYNC=\"2\"/>\n"
    );
}

#[test]
fn a_parameter_the_target_load_does_not_know_is_left_out_naming_it() {
    let t = sip_template(&[("services_url", "http://x/"), ("proxy_register", "1")]);
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(None, load("POS3-03-1-00")),
    )
    .unwrap();
    let default = files.iter().find(|f| f.name == "SIPDefault.cnf").unwrap();
    let body = String::from_utf8_lossy(&default.bytes);
    assert!(body.contains("proxy_register: 1"), "{body}");
    assert!(
        !body.lines().any(|l| l.starts_with("services_url")),
        "{body}"
    );
    let note = default.note.clone().unwrap();
    assert!(
        note.contains("template \"office\"")
            && note.contains("services_url")
            && note.contains("needs SIP 4.0"),
        "{note}"
    );
    // The same template for SIP 8.12 writes it.
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(None, load("P0S3-8-12-00")),
    )
    .unwrap();
    let body = text(&files, "SIPDefault.cnf");
    assert!(
        body.lines()
            .any(|l| l.starts_with("services_url") && l.contains("http://x/")),
        "{body}"
    );

    // A name no release knows is not fatal: everything else is written,
    // the name is reported with the closest known one.
    let t = sip_template(&[("proxy1_adress", "10.0.0.1"), ("proxy_register", "1")]);
    let files = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(Some(load("P0030801SR02")), load("P0S3-8-12-00")),
    )
    .unwrap();
    let default = files.iter().find(|f| f.name == "SIPDefault.cnf").unwrap();
    let cnf = SipCnf::parse("SIPDefault.cnf", &default.bytes).unwrap();
    assert_eq!(cnf.get("proxy1_adress"), None);
    assert_eq!(cnf.get("proxy_register"), Some("1"));
    let note = default.note.as_deref().unwrap();
    assert!(
        note.contains("proxy1_adress") && note.contains("did you mean proxy1_address"),
        "{note}"
    );
    assert!(
        String::from_utf8_lossy(&default.bytes)
            .contains("# template \"office\" sets proxy1_adress, not written"),
        "{}",
        String::from_utf8_lossy(&default.bytes)
    );
    assert!(files
        .iter()
        .any(|f| f.name == "SEP002094D245CB.cnf.xml" || f.name == "XMLDefault.cnf.xml"));

    let t = sip_template(&[("tos_media", "9")]);
    let e = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(None, load("P0S3-8-12-00")),
    )
    .unwrap_err();
    assert!(e.to_string().contains("from 0 to 5"), "{e}");

    let mut p = phone(Model::Cp7960);
    p.overrides
        .insert("image_version".into(), "P0S3-8-11-00".into());
    let e = render(
        &p,
        &sip_template(&[]),
        &RenderLoad::new(None, load("P0S3-8-12-00")),
    )
    .unwrap_err();
    assert!(matches!(e, RenderError::Reserved { .. }), "{e}");

    let mut p = phone(Model::Cp7960);
    p.lines.push(line(7, "2007"));
    let e = render(
        &p,
        &sip_template(&[]),
        &RenderLoad::new(None, load("P0S3-8-12-00")),
    )
    .unwrap_err();
    assert!(
        matches!(e, RenderError::LineNumber { number: 7, .. }),
        "{e}"
    );

    let mut t = sccp_template();
    t.settings.insert("proxy1_address".into(), "x".into());
    let e = render(
        &phone(Model::Cp7960),
        &t,
        &RenderLoad::new(None, load("P0030801SR02")),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not an SCCP setting"), "{e}");

    let e = render(
        &phone(Model::Cp7960),
        &sip_template(&[]),
        &RenderLoad::new(None, load("P003-8-12-00")),
    )
    .unwrap_err();
    assert!(e.to_string().contains("P0S3-8-12-00"), "{e}");
}

#[test]
fn sccp_files_carry_load_information_and_call_managers() {
    let files = render(
        &phone(Model::Cp7960),
        &sccp_template(),
        &RenderLoad::new(Some(load("P0S3-8-12-00")), load("P0030801SR02")),
    )
    .unwrap();
    let sep = SepDevice::parse(
        "SEP",
        &get(&files, "SEP002094D245CB.cnf.xml").unwrap().bytes,
    )
    .unwrap();
    assert_eq!(sep.device_protocol, Some(Protocol::Sccp));
    assert_eq!(sep.load_information.unwrap().load.as_str(), "P0030801SR02");
    assert_eq!(sep.call_managers.len(), 2);
    assert_eq!(sep.call_managers[1].priority, 1);
    let xd = XmlDefault::parse(
        "XMLDefault",
        &get(&files, "XMLDefault.cnf.xml").unwrap().bytes,
    )
    .unwrap();
    assert_eq!(xd.loads[&Model::Cp7960].as_str(), "P0030801SR02");
    assert!(text(&files, "XMLDefault.cnf.xml")
        .contains("\n<loadInformation7 model=\"IP Phone 7960\">P0030801SR02</loadInformation7>\n"));
    // The SIP 8.12 phone leaves through image_version in its SIP files.
    let own = SipCnf::parse("x", &get(&files, "SIP002094D245CB.cnf").unwrap().bytes).unwrap();
    assert_eq!(own.get("image_version"), Some("P0030801SR02"));
    assert!(text(&files, "SEP002094D245CB.cnf.xml").lines().count() > 1);
    assert!(!text(&files, "SEP002094D245CB.cnf.xml").contains("ssh"));
}

#[test]
fn an_sccp_phone_leaving_for_sip_gets_the_minimal_sep_file() {
    let files = render(
        &phone(Model::Cp7960),
        &sip_template(&[("proxy1_address", "10.0.0.1")]),
        &RenderLoad::new(Some(load("P0030801SR02")), load("P0S3-8-12-00")),
    )
    .unwrap();
    assert_eq!(
        text(&files, "SEP002094D245CB.cnf.xml"),
        "<device><deviceProtocol>SIP</deviceProtocol><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>"
    );
}

#[test]
fn sip_2_1_gets_an_8_3_alias_for_a_long_sccp_name() {
    let r = RenderLoad::new(Some(load("POS30201")), load("P00304020300"));
    let files = render(&phone(Model::Cp7960), &sccp_template(), &r).unwrap();
    let os = text(&files, "OS79XX.TXT");
    assert_eq!(os.len(), 8, "{os}");
    assert!(phoneflip_config::image_ref::alias_of(
        &os,
        &load("P00304020300")
    ));
    assert_eq!(
        text(&files, "SIPDefault.cnf"),
        format!("image_version: {os}\n")
    );
}

#[test]
fn sip_6_to_sccp_goes_through_gkdefault() {
    let r = RenderLoad::new(Some(load("POS3-06-0-00")), load("P00308000400"));
    let e = render(&phone(Model::Cp7940), &sccp_template(), &r).unwrap_err();
    assert!(matches!(e, RenderError::NeedsGkImage { .. }), "{e}");
    let mut r = r;
    r.gk_image = Some("CP7940080001SCCP051117A.sbin".parse::<GkImage>().unwrap());
    let files = render(&phone(Model::Cp7940), &sccp_template(), &r).unwrap();
    let gk = get(&files, "gkdefault.txt").unwrap();
    assert!(gk
        .note
        .as_deref()
        .unwrap()
        .contains("cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg"));
    let g = GkDefault::parse("gkdefault.txt", &gk.bytes).unwrap();
    assert_eq!(
        g.upgrade().unwrap().image.as_str(),
        "CP7940080001SCCP051117A.sbin"
    );
    assert!(get(&files, "OS79XX.TXT").is_none());
    // Waiting for the SCCP loader's hunt once gkdefault.cfg has installed
    // the SCCP image, so that SIP<MAC>.cnf cannot send it back to SIP.
    let sep = text(&files, "SEP002094D245CB.cnf.xml");
    assert!(sep.contains("P00308000400"), "{sep}");
    // The SIP phone keeps its own image until gkdefault.cfg moves it.
    assert_eq!(
        text(&files, "SIPDefault.cnf").lines().nth(1),
        Some("image_version: POS3-06-0-00")
    );
    let mut r2 = r.clone();
    r2.gk_image = Some("CP7940080001SIP060412A.sbin".parse().unwrap());
    assert!(matches!(
        render(&phone(Model::Cp7940), &sccp_template(), &r2),
        Err(RenderError::GkMismatch { .. })
    ));
}

#[test]
fn a_refused_hop_is_an_error() {
    let e = render(
        &phone(Model::Cp7960),
        &sip_template(&[]),
        &RenderLoad::new(Some(load("P0S3-8-12-00")), load("POS3-04-4-00")),
    )
    .unwrap_err();
    assert!(matches!(e, RenderError::HopRefused { .. }), "{e}");
    assert!(e.to_string().contains("phoneflip plan"), "{e}");
}

#[test]
fn render_one_serves_only_this_phones_rendered_files() {
    let p = phone(Model::Cp7960);
    let t = sip_template(&[("proxy1_address", "10.0.0.1")]);
    let r = RenderLoad::new(Some(load("P0S3-8-12-00")), load("P0S3-8-12-00"));
    let all = render(&p, &t, &r).unwrap();
    for f in &all {
        assert_eq!(render_one(&p, &t, &r, &f.name).unwrap().as_ref(), Some(f));
    }
    let own = render_one(&p, &t, &r, "./SIP002094D245CB.cnf")
        .unwrap()
        .unwrap();
    assert_eq!(own.name, "SIP002094D245CB.cnf");
    for other in [
        "SIP002094D245CC.cnf",
        "sip002094d245cb.cnf",
        "P0S3-8-12-00.sb2",
        "gkdefault.cfg",
        "RINGLIST.DAT",
        "dialplan.xml",
        "CTLSEP002094D245CB.tlv",
        "SEP002094D245CB.cnf.xml",
    ] {
        assert_eq!(render_one(&p, &t, &r, other).unwrap(), None, "{other}");
    }
}

/// Renders each hop of a real plan and checks every control file it
/// demands.
fn agrees_with_plan(from: &str, to: &str, model: Model) {
    let cat = Catalogue::builtin();
    let pl = plan(load(from), load(to), Some(model), &cat)
        .unwrap_or_else(|e| panic!("{from}->{to}: {e}"));
    let p = phone(model);
    let template = match load(to).protocol() {
        Protocol::Sip => sip_template(&[("proxy1_address", "10.0.0.1"), ("proxy1_port", "5060")]),
        _ => sccp_template(),
    };
    assert!(!pl.hops.is_empty());
    for hop in &pl.hops {
        let (Some(f), Some(t)) = (&hop.from.load, &hop.to.load) else {
            continue;
        };
        let mut r = RenderLoad::new(Some(load(f)), load(t));
        if hop.mechanism == Mechanism::Gkdefault {
            let c = hop
                .control_files
                .iter()
                .find(|c| c.file == "gkdefault.txt")
                .unwrap();
            let g = GkDefault::parse("plan", c.content.as_bytes()).unwrap();
            r.gk_image = Some(g.upgrade().unwrap().image.clone());
        }
        let files = render(&p, &template, &r).unwrap_or_else(|e| panic!("hop {f}->{t}: {e}"));
        for c in &hop.control_files {
            let name = c.file.replace("<MAC>", MAC);
            let got = get(&files, &name);
            match c.edit {
                Edit::WholeFile => assert_eq!(
                    got.map(|g| g.bytes.as_slice()),
                    Some(c.content.as_bytes()),
                    "hop {f}->{t}: {name} must be exactly {:?}",
                    c.content
                ),
                Edit::SetLine => {
                    let body = String::from_utf8(
                        got.unwrap_or_else(|| panic!("hop {f}->{t}: {name} missing"))
                            .bytes
                            .clone(),
                    )
                    .unwrap();
                    assert!(
                        body.lines().any(|l| l == c.content),
                        "hop {f}->{t}: {name} lacks the line {:?}:\n{body}",
                        c.content
                    );
                }
                Edit::Remove => assert!(got.is_none(), "hop {f}->{t}: {name} must not be served"),
            }
        }
    }
}

#[test]
fn rendering_each_planned_hop_gives_what_the_planner_demands() {
    for (from, to) in [
        ("POS30203", "P0S3-8-12-00"),
        ("P00303020214", "P0S3-8-12-00"),
        ("P00308000500", "P0S3-8-12-00"),
        ("P0030801SR02", "P0S3-8-12-00"),
        ("P0S3-8-12-00", "P0030801SR02"),
        ("POS30201", "P00305000101"),
        ("POS30201", "P00304020300"),
        ("POS3-06-0-00", "P00308000400"),
        ("POS3-04-4-00", "P0030801SR02"),
    ] {
        for model in [Model::Cp7940, Model::Cp7960] {
            agrees_with_plan(from, to, model);
        }
    }
}
