//! Bulk CSV import and export: every error kind with its line and column,
//! all-or-nothing imports, dry runs, and the export/import round trip.

use std::collections::{BTreeMap, BTreeSet};

use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol, Version};
use phoneflip_inventory::bulk::{columns, parse_overrides, write_overrides};
use phoneflip_inventory::{
    export_csv, import_csv, parse_csv, write_csv, Change, ImportError, Inventory, Phone,
    PhoneFilter, RowErrorKind, SqliteInventory,
};
use proptest::prelude::*;

fn templates() -> BTreeMap<String, Protocol> {
    BTreeMap::from([
        ("hq-sip".to_string(), Protocol::Sip),
        ("hq-sccp".to_string(), Protocol::Sccp),
    ])
}

fn store_with_templates() -> SqliteInventory {
    let s = SqliteInventory::open_in_memory().unwrap();
    for (name, protocol) in templates() {
        s.put_template(&Template {
            name,
            protocol,
            settings: BTreeMap::new(),
        })
        .unwrap();
    }
    s
}

const GOOD: &str = "\
mac,model,description,site,tags,template,desired_protocol,desired_load,overrides,line1_name,line1_authname,line1_password,line2_name
00:20:94:d2:45:cb,7960,\"Reception, desk 2\",hq,lobby;floor1,hq-sip,sip,P0S3-8-12-00,proxy1_port=5070,1001,u1001,pw1,1002
0019.aabb.0001,CP-7940G,,branch,,,sccp,P0030801SR02,,2001,,,
";

/// Parses `text` and returns each error as (line, column, kind, message).
fn errors(text: &str) -> Vec<(u64, String, RowErrorKind, String)> {
    let e = parse_csv(text.as_bytes(), &templates()).unwrap_err();
    e.0.into_iter()
        .map(|r| (r.line, r.column.clone(), r.kind, r.to_string()))
        .collect()
}

fn one_error(text: &str) -> (u64, String, RowErrorKind, String) {
    let mut v = errors(text);
    assert_eq!(v.len(), 1, "{v:#?}");
    v.remove(0)
}

#[test]
fn parses_a_good_file() {
    let phones = parse_csv(GOOD.as_bytes(), &templates()).unwrap();
    assert_eq!(phones.len(), 2);
    let p = &phones[0];
    assert_eq!(p.mac.to_string(), "002094D245CB");
    assert_eq!(p.model, Model::Cp7960);
    assert_eq!(p.description, "Reception, desk 2");
    assert_eq!(
        p.tags,
        BTreeSet::from(["floor1".to_string(), "lobby".to_string()])
    );
    assert_eq!(p.template.as_deref(), Some("hq-sip"));
    assert_eq!(p.desired_load.as_ref().unwrap().as_str(), "P0S3-8-12-00");
    assert_eq!(p.overrides["proxy1_port"], "5070");
    assert_eq!(
        p.lines,
        vec![
            Line {
                number: 1,
                name: "1001".into(),
                authname: Some("u1001".into()),
                password: Some("pw1".into()),
                displayname: None,
                shortname: None
            },
            Line {
                number: 2,
                name: "1002".into(),
                authname: None,
                password: None,
                displayname: None,
                shortname: None
            }
        ]
    );
    let q = &phones[1];
    assert_eq!(q.mac.to_string(), "0019AABB0001");
    assert_eq!(q.model, Model::Cp7940);
    assert_eq!(q.site.as_deref(), Some("branch"));
    assert_eq!(q.template, None);
    assert_eq!(q.desired_protocol, Some(Protocol::Sccp));
}

#[test]
fn header_is_case_insensitive_and_may_carry_a_bom() {
    let text = "\u{feff}MAC, Model \n001122334455,7960\n\n";
    let phones = parse_csv(text.as_bytes(), &templates()).unwrap();
    assert_eq!(phones.len(), 1);
}

#[test]
fn bad_mac() {
    let (line, col, kind, msg) = one_error("mac,model\n0020.94d2.45,7960\n");
    assert_eq!((line, col.as_str(), kind), (2, "mac", RowErrorKind::BadMac));
    assert!(msg.starts_with("line 2, column mac: "), "{msg}");
    assert!(msg.contains("10 hex digits"), "{msg}");
}

#[test]
fn unknown_model() {
    let (line, col, kind, msg) = one_error("mac,model\n001122334455,7970\n");
    assert_eq!(
        (line, col.as_str(), kind),
        (2, "model", RowErrorKind::UnknownModel)
    );
    assert!(msg.contains("\"7970\"") && msg.contains("7940"), "{msg}");
}

#[test]
fn bad_load_name_carries_the_load_error() {
    let (line, col, kind, msg) =
        one_error("mac,model,desired_load\n001122334455,7960,p0s3-8-12-00\n");
    assert_eq!(
        (line, col.as_str(), kind),
        (2, "desired_load", RowErrorKind::BadLoad)
    );
    assert!(msg.contains("did you mean \"P0S3-8-12-00\""), "{msg}");

    let (_, _, kind, msg) =
        one_error("mac,model,desired_load\n001122334455,7960,P0S3-8-12-00.sb2\n");
    assert_eq!(kind, RowErrorKind::BadLoad);
    assert!(msg.contains("without an extension"), "{msg}");
}

#[test]
fn the_loader_is_not_a_desired_load() {
    let (_, col, kind, msg) = one_error("mac,model,desired_load\n001122334455,7960,P003-8-12-00\n");
    assert_eq!(
        (col.as_str(), kind),
        ("desired_load", RowErrorKind::LoaderAsLoad)
    );
    assert!(msg.contains("P0S3-8-12-00"), "{msg}");
}

#[test]
fn duplicate_mac_names_the_first_line() {
    let text = "mac,model\n001122334455,7960\nAABBCCDDEEFF,7960\n00:11:22:33:44:55,7940\n";
    let (line, col, kind, msg) = one_error(text);
    assert_eq!(
        (line, col.as_str(), kind),
        (4, "mac", RowErrorKind::DuplicateMac)
    );
    assert!(msg.contains("already on line 2"), "{msg}");
}

#[test]
fn line_beyond_the_models_line_count() {
    let text = "mac,model,line1_name,line3_name,line3_password\n001122334455,7940,1,3,x\n";
    let (line, col, kind, msg) = one_error(text);
    assert_eq!(
        (line, col.as_str(), kind),
        (2, "line3_name", RowErrorKind::LineBeyondModel)
    );
    assert!(msg.contains("lines 1 to 2"), "{msg}");
    // The same line is fine on a 7960.
    let ok = "mac,model,line1_name,line3_name,line3_password\n001122334455,7960,1,3,x\n";
    assert_eq!(
        parse_csv(ok.as_bytes(), &templates()).unwrap()[0]
            .lines
            .len(),
        2
    );
}

#[test]
fn a_line_needs_a_name() {
    let text = "mac,model,line2_name,line2_password\n001122334455,7960,,pw\n";
    let (_, col, kind, msg) = one_error(text);
    assert_eq!(
        (col.as_str(), kind),
        ("line2_name", RowErrorKind::LineWithoutName)
    );
    assert!(msg.contains("line 2 has password"), "{msg}");
}

#[test]
fn unknown_template_lists_the_known_ones() {
    let (line, col, kind, msg) = one_error("mac,model,template\n001122334455,7960,hq-sipp\n");
    assert_eq!(
        (line, col.as_str(), kind),
        (2, "template", RowErrorKind::UnknownTemplate)
    );
    assert!(msg.contains("hq-sccp, hq-sip"), "{msg}");
    assert!(msg.contains("phoneflip templates add hq-sipp"), "{msg}");
}

#[test]
fn template_and_load_must_agree_with_the_protocol() {
    let (_, col, kind, _) =
        one_error("mac,model,template,desired_protocol\n001122334455,7960,hq-sccp,sip\n");
    assert_eq!(
        (col.as_str(), kind),
        ("template", RowErrorKind::TemplateProtocol)
    );
    let (_, col, kind, msg) =
        one_error("mac,model,desired_protocol,desired_load\n001122334455,7960,sccp,P0S3-8-12-00\n");
    assert_eq!(
        (col.as_str(), kind),
        ("desired_load", RowErrorKind::ProtocolMismatch)
    );
    assert!(msg.contains("is a sip load"), "{msg}");
    // The load alone implies the protocol the template must have.
    let (_, col, kind, _) =
        one_error("mac,model,template,desired_load\n001122334455,7960,hq-sip,P0030801SR02\n");
    assert_eq!(
        (col.as_str(), kind),
        ("template", RowErrorKind::TemplateProtocol)
    );
    let (_, col, kind, _) = one_error("mac,model,desired_protocol\n001122334455,7960,h323\n");
    assert_eq!(
        (col.as_str(), kind),
        ("desired_protocol", RowErrorKind::BadProtocol)
    );
}

#[test]
fn bad_overrides_and_tags() {
    let (_, col, kind, msg) = one_error("mac,model,overrides\n001122334455,7960,proxy1_address\n");
    assert_eq!(
        (col.as_str(), kind),
        ("overrides", RowErrorKind::BadOverride)
    );
    assert!(msg.contains("no '='"), "{msg}");
    let (_, _, kind, msg) = one_error("mac,model,overrides\n001122334455,7960,a=1;a=2\n");
    assert_eq!(kind, RowErrorKind::BadOverride);
    assert!(msg.contains("set twice"), "{msg}");
    let (_, col, kind, _) = one_error("mac,model,tags\n001122334455,7960,ok;bad\u{7}\n");
    assert_eq!((col.as_str(), kind), ("tags", RowErrorKind::BadTag));
}

#[test]
fn header_problems_are_reported_on_line_one() {
    let v = errors("mac,modle,line7_name\n001122334455,7960,x\n");
    let kinds: Vec<_> = v.iter().map(|e| (e.0, e.1.as_str(), e.2)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, "modle", RowErrorKind::UnknownColumn),
            (1, "line7_name", RowErrorKind::UnknownColumn),
            (1, "model", RowErrorKind::MissingColumn),
        ]
    );
    assert!(v[1].3.contains("line1_ to line6_"), "{}", v[1].3);
    let (_, col, kind, _) = one_error("mac,model,MAC\n");
    assert_eq!((col.as_str(), kind), ("mac", RowErrorKind::DuplicateColumn));
    let (line, _, kind, msg) = one_error("");
    assert_eq!((line, kind), (1, RowErrorKind::MissingColumn));
    assert!(msg.contains("empty"), "{msg}");
}

#[test]
fn too_many_fields_and_bad_utf8() {
    let (line, _, kind, msg) = one_error("mac,model\n001122334455,7960,extra\n");
    assert_eq!((line, kind), (2, RowErrorKind::Syntax));
    assert!(msg.contains("quote fields"), "{msg}");
    let mut bytes = b"mac,model,description\n001122334455,7960,caf".to_vec();
    bytes.extend([0xe9, b'\n']);
    let e = parse_csv(&bytes[..], &templates()).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!((e.0[0].line, e.0[0].kind), (2, RowErrorKind::Encoding));
    assert!(e.0[0].reason.contains("UTF-8"), "{}", e.0[0].reason);
}

#[test]
fn all_errors_are_reported_at_once_with_line_and_column() {
    // A multi-line quoted description: line numbers follow the file, not
    // the record count.
    let text = "\
mac,model,description,template,desired_load,line3_name
zz,7960,ok,,,
001122334455,7940,\"two
lines\",nope,POS3-XX,x
001122334455,7960,,,,
";
    let v = errors(text);
    let got: Vec<(u64, &str, RowErrorKind)> = v.iter().map(|e| (e.0, e.1.as_str(), e.2)).collect();
    assert_eq!(
        got,
        vec![
            (2, "mac", RowErrorKind::BadMac),
            (3, "desired_load", RowErrorKind::BadLoad),
            (3, "template", RowErrorKind::UnknownTemplate),
            (3, "line3_name", RowErrorKind::LineBeyondModel),
            (5, "mac", RowErrorKind::DuplicateMac),
        ]
    );
    let report = parse_csv(text.as_bytes(), &templates())
        .unwrap_err()
        .to_string();
    assert!(
        report.starts_with("5 error(s) on 3 line(s); nothing was imported"),
        "{report}"
    );
    assert!(
        report.contains("\n  line 5, column mac: MAC 001122334455 is already on line 3"),
        "{report}"
    );
}

fn snapshot(s: &SqliteInventory) -> Vec<Phone> {
    s.list_phones(&PhoneFilter::default()).unwrap()
}

#[test]
fn a_failed_import_changes_nothing() {
    let s = store_with_templates();
    import_csv(&s, GOOD.as_bytes(), false).unwrap();
    let before = snapshot(&s);
    // One good new phone, one changed phone, one bad row.
    let text = "mac,model,site\nAABBCCDDEEFF,7960,x\n002094D245CB,7960,moved\n0011,7960,\n";
    let e = import_csv(&s, text.as_bytes(), false).unwrap_err();
    match e {
        ImportError::Rows(r) => assert_eq!(r.0.len(), 1),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(snapshot(&s), before);
}

#[test]
fn dry_run_reports_and_changes_nothing() {
    let s = store_with_templates();
    let dry = import_csv(&s, GOOD.as_bytes(), true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.count(Change::Added), 2);
    assert!(snapshot(&s).is_empty());

    import_csv(&s, GOOD.as_bytes(), false).unwrap();
    let before = snapshot(&s);
    let text =
        "mac,model,site\n002094D245CB,7960,moved\n0019AABB0001,7940,branch\nAABBCCDDEEFF,7960,\n";
    let dry = import_csv(&s, text.as_bytes(), true).unwrap();
    let changes: Vec<(String, Change)> = dry
        .changes
        .iter()
        .map(|(m, c)| (m.to_string(), *c))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("002094D245CB".to_string(), Change::Updated),
            // Its only other cells (line1_name, desired fields) were empty in
            // the new file but set before, so it changes too.
            ("0019AABB0001".to_string(), Change::Updated),
            ("AABBCCDDEEFF".to_string(), Change::Added),
        ]
    );
    assert_eq!(snapshot(&s), before);
}

#[test]
fn exporting_and_reimporting_changes_nothing() {
    let s = store_with_templates();
    import_csv(&s, GOOD.as_bytes(), false).unwrap();
    let mut out = Vec::new();
    export_csv(&s, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with(&columns().join(",")), "{text}");
    let before = snapshot(&s);
    let again = import_csv(&s, &out[..], false).unwrap();
    assert_eq!(again.count(Change::Unchanged), 2);
    assert_eq!(snapshot(&s), before);
}

fn text() -> impl Strategy<Value = String> {
    // Commas, quotes, newlines, semicolons, backslashes and non-ASCII: the
    // things that break naive CSV writers.
    "[a-zA-Z0-9 ,;\"\\\\\n\r=é]{0,12}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[a-zA-Z0-9 ,;\"=é]{1,10}")
}

fn load() -> impl Strategy<Value = Option<LoadName>> {
    prop::option::of(prop_oneof![
        (5u8..=8, 0u8..=12, 0u8..=3).prop_map(|(a, b, c)| LoadName::canonical(
            Protocol::Sip,
            format!("{a}.{b}({c})").parse::<Version>().unwrap()
        )),
        Just("P0030801SR02".parse().unwrap()),
        Just("P00307020300".parse().unwrap()),
        Just("POS30203".parse().unwrap()),
    ])
}

fn phone() -> impl Strategy<Value = Phone> {
    (
        any::<[u8; 6]>(),
        prop::bool::ANY,
        text(),
        opt_text(),
        prop::collection::btree_set("[a-z][a-z0-9 _-]{0,6}[a-z]", 0..3),
        opt_text(),
        load(),
        prop::bool::ANY,
        prop::collection::btree_map("[a-z][a-z0-9_]{0,10}", text(), 0..3),
        prop::collection::btree_map(
            1u8..=6,
            (
                "[0-9a-z]{1,6}",
                opt_text(),
                opt_text(),
                opt_text(),
                opt_text(),
            ),
            0..4,
        ),
    )
        .prop_map(
            |(
                mac,
                is60,
                description,
                site,
                tags,
                label,
                load,
                state_protocol,
                overrides,
                lines,
            )| {
                let model = if is60 { Model::Cp7960 } else { Model::Cp7940 };
                let desired_protocol = match (&load, state_protocol) {
                    (Some(l), true) => Some(l.protocol()),
                    (None, true) => Some(Protocol::Sip),
                    _ => None,
                };
                let template = match (
                    desired_protocol.or(load.as_ref().map(|l| l.protocol())),
                    state_protocol,
                ) {
                    (Some(Protocol::Sip), true) => Some("hq-sip".to_string()),
                    (Some(Protocol::Sccp), true) => Some("hq-sccp".to_string()),
                    _ => None,
                };
                Phone {
                    description,
                    site,
                    tags,
                    label,
                    lines: lines
                        .into_iter()
                        .filter(|(n, _)| *n <= model.lines())
                        .map(
                            |(number, (name, authname, password, displayname, shortname))| Line {
                                number,
                                name,
                                authname,
                                password,
                                displayname,
                                shortname,
                            },
                        )
                        .collect(),
                    desired_protocol,
                    desired_load: load,
                    template,
                    overrides,
                    ..Phone::new(Mac::new(mac), model)
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn write_then_parse_gives_the_same_phones(phones in prop::collection::vec(phone(), 0..8)) {
        let mut uniq: BTreeMap<Mac, Phone> = BTreeMap::new();
        for p in phones { uniq.insert(p.mac, p); }
        let phones: Vec<Phone> = uniq.into_values().collect();
        let mut out = Vec::new();
        write_csv(&phones, &mut out).unwrap();
        let back = parse_csv(&out[..], &templates()).unwrap();
        prop_assert_eq!(back.len(), phones.len());
        for (a, b) in phones.iter().zip(&back) {
            prop_assert!(a.same_admin_fields(b), "{:?}\n!=\n{:?}", a, b);
        }
    }

    #[test]
    fn import_of_export_changes_nothing(phones in prop::collection::vec(phone(), 1..8)) {
        let s = store_with_templates();
        let mut uniq: BTreeMap<Mac, Phone> = BTreeMap::new();
        for p in phones { uniq.insert(p.mac, p); }
        let phones: Vec<Phone> = uniq.into_values().collect();
        s.import_phones(&phones, false).unwrap();
        let before = snapshot(&s);
        let mut out = Vec::new();
        export_csv(&s, &mut out).unwrap();
        let sum = import_csv(&s, &out[..], false).unwrap();
        prop_assert_eq!(sum.count(Change::Unchanged), phones.len());
        prop_assert_eq!(snapshot(&s), before);
        let mut out2 = Vec::new();
        export_csv(&s, &mut out2).unwrap();
        prop_assert_eq!(out, out2);
    }

    #[test]
    fn overrides_round_trip(o in prop::collection::btree_map("[a-z][a-z0-9_.-]{0,10}", "[ -~é]{0,12}", 0..5)) {
        prop_assert_eq!(parse_overrides(&write_overrides(&o)).unwrap(), o);
    }

    #[test]
    fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_csv(&bytes[..], &templates());
        let mut with_header = b"mac,model,tags,overrides,desired_load,line1_name,line3_name\n".to_vec();
        with_header.extend(&bytes);
        let _ = parse_csv(&with_header[..], &templates());
    }
}
