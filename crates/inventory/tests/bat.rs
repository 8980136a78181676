//! The call manager's Bulk Administration phone export, as the call
//! manager writes it (CRLF, every header cell quoted, dozens of columns
//! phoneflip does not use, most of them empty), imports as it is and
//! exports back.

use std::collections::BTreeMap;

use phoneflip_config::{Line, Template};
use phoneflip_device::Model;
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{
    export_as, export_csv, import_bytes, Format, ImportError, Inventory, ParseOptions, PhoneFilter,
    RowErrorKind, SqliteInventory,
};

const HEADER: [&str; 24] = [
    "DEVICE NAME",
    "DESCRIPTION",
    "DEVICE TYPE",
    "DEVICE POOL",
    "CSS",
    "LOCATION",
    "LOAD INFORMATION",
    "OWNER USER ID",
    "PHONE BUTTON TEMPLATE",
    "DIRECTORY NUMBER 1",
    "ROUTE PARTITION 1",
    "DISPLAY 1",
    "ASCII DISPLAY 1",
    "LINE TEXT LABEL 1",
    "EXTERNAL PHONE NUMBER MASK 1",
    "VOICE MAIL PROFILE 1",
    "DIRECTORY NUMBER 2",
    "ROUTE PARTITION 2",
    "DISPLAY 2",
    "ASCII DISPLAY 2",
    "LINE TEXT LABEL 2",
    "EXTERNAL PHONE NUMBER MASK 2",
    "VOICE MAIL PROFILE 2",
    "MEDIA RESOURCE GROUP LIST",
];

/// Twenty phones with two lines each, written the way the call manager
/// writes its export.
fn bat_export() -> String {
    let mut s = HEADER
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str("\r\n");
    for i in 0..20u32 {
        let model = if i % 4 == 0 {
            "Cisco 7940"
        } else {
            "Cisco 7960"
        };
        let pool = if i < 10 { "DP_HQ" } else { "DP_Branch" };
        let load = if i % 2 == 0 { "P0030801SR02" } else { "" };
        let dn1 = 4000 + 2 * i;
        let dn2 = dn1 + 1;
        let row = [
            format!("SEP0017953A10{i:02X}"),
            format!("Desk {i}, floor {}", i / 5),
            model.to_string(),
            pool.to_string(),
            "CSS_Internal".to_string(),
            "Hub_None".to_string(),
            load.to_string(),
            String::new(),
            format!("Standard {} SCCP", &model[6..]),
            dn1.to_string(),
            "PT_Internal".to_string(),
            format!("User {i}"),
            format!("User {i}"),
            format!("Line {dn1}"),
            String::new(),
            String::new(),
            dn2.to_string(),
            "PT_Internal".to_string(),
            String::new(),
            String::new(),
            "Shared".to_string(),
            String::new(),
            String::new(),
            String::new(),
        ];
        s.push_str(
            &row.iter()
                .map(|c| {
                    if c.contains(',') {
                        format!("\"{c}\"")
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push_str("\r\n");
    }
    s
}

fn export(s: &SqliteInventory) -> Vec<u8> {
    let mut out = Vec::new();
    export_csv(s, &mut out).unwrap();
    out
}

#[test]
fn a_call_manager_export_of_twenty_phones_imports_as_it_is() {
    let s = SqliteInventory::open_in_memory().unwrap();
    let done = import_bytes(&s, bat_export().as_bytes(), false, &ParseOptions::default()).unwrap();
    assert_eq!(done.format, Format::CallManager);
    assert_eq!(done.summary.changes.len(), 20);
    // One warning naming the skipped columns; not an error.
    assert_eq!(done.warnings.len(), 1, "{:?}", done.warnings);
    let w = &done.warnings[0];
    assert_eq!((w.line, w.kind), (1, RowErrorKind::UnknownColumn));
    for skipped in ["CSS", "LOCATION", "ROUTE PARTITION 1", "ASCII DISPLAY 2"] {
        assert!(w.reason.contains(skipped), "{}", w.reason);
    }

    let phones = s.list_phones(&PhoneFilter::default()).unwrap();
    assert_eq!(phones.len(), 20);
    let p = s
        .get_phone("0017953A1000".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.model, Model::Cp7940);
    assert_eq!(p.description, "Desk 0, floor 0");
    assert_eq!(p.site.as_deref(), Some("DP_HQ"));
    assert_eq!(p.observed_load.as_ref().unwrap().as_str(), "P0030801SR02");
    assert_eq!(
        p.lines,
        vec![
            Line {
                number: 1,
                name: "4000".into(),
                authname: None,
                password: None,
                displayname: Some("User 0".into()),
                shortname: Some("Line 4000".into()),
            },
            Line {
                number: 2,
                name: "4001".into(),
                authname: None,
                password: None,
                displayname: None,
                shortname: Some("Shared".into()),
            },
        ]
    );
    let q = s
        .get_phone("0017953A1013".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.model, q.site.as_deref()),
        (Model::Cp7960, Some("DP_Branch"))
    );
    assert_eq!(q.observed_load, None);
    assert!(phones.iter().all(|p| p.lines.len() == 2));
}

#[test]
fn reimporting_keeps_what_the_call_manager_does_not_know() {
    let s = SqliteInventory::open_in_memory().unwrap();
    s.put_template(&Template {
        name: "hq-sip".into(),
        protocol: Protocol::Sip,
        settings: BTreeMap::new(),
    })
    .unwrap();
    import_bytes(&s, bat_export().as_bytes(), false, &ParseOptions::default()).unwrap();
    let mac = "0017953A1001".parse().unwrap();
    let mut p = s.get_phone(mac).unwrap().unwrap();
    p.template = Some("hq-sip".into());
    p.desired_load = Some("P0S3-8-12-00".parse().unwrap());
    p.lines[0].password = Some("s3cret".into());
    p.lines[0].authname = Some("u4002".into());
    s.put_phone(&p).unwrap();

    let again = import_bytes(&s, bat_export().as_bytes(), false, &ParseOptions::default()).unwrap();
    assert!(again
        .summary
        .changes
        .iter()
        .all(|(_, c)| *c == phoneflip_inventory::Change::Unchanged));
    let q = s.get_phone(mac).unwrap().unwrap();
    assert_eq!(q.template.as_deref(), Some("hq-sip"));
    assert_eq!(q.lines[0].password.as_deref(), Some("s3cret"));
    assert_eq!(q.lines[0].authname.as_deref(), Some("u4002"));
}

#[test]
fn the_same_format_exports_back_and_round_trips() {
    let s = SqliteInventory::open_in_memory().unwrap();
    import_bytes(&s, bat_export().as_bytes(), false, &ParseOptions::default()).unwrap();
    let mut out = Vec::new();
    export_as(&s, &mut out, Format::CallManager).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with("DEVICE NAME,DESCRIPTION,DEVICE TYPE,DEVICE POOL,LOAD INFORMATION,DIRECTORY NUMBER 1,DISPLAY 1,LINE TEXT LABEL 1,DIRECTORY NUMBER 2,"),
        "{text}"
    );
    assert!(text.contains("\r\nSEP0017953A1000,\"Desk 0, floor 0\",Cisco 7940,DP_HQ,P0030801SR02,4000,User 0,Line 4000,4001,,Shared\r\n"), "{text}");
    let before = export(&s);
    let again = import_bytes(&s, &out, false, &ParseOptions::default()).unwrap();
    assert_eq!(again.format, Format::CallManager);
    assert!(again.warnings.is_empty());
    assert_eq!(export(&s), before);
}

#[test]
fn bad_call_manager_rows_are_refused_whole() {
    let s = SqliteInventory::open_in_memory().unwrap();
    import_bytes(&s, bat_export().as_bytes(), false, &ParseOptions::default()).unwrap();
    let before = export(&s);
    let text = "\"DEVICE NAME\",\"DEVICE TYPE\",\"DIRECTORY NUMBER 3\",\"DISPLAY 1\"\r\n\
SEP0017953A1000,Cisco 7960,,\r\n\
0017953A1001,Cisco 7960,,\r\n\
SEP0017953A1002,Cisco 7970,,\r\n\
SEP0017953A1003,Cisco 7940,5000,\r\n\
SEP0017953A1004,Cisco 7960,,Nobody\r\n\
SEP0017953A1000,Cisco 7960,,\r\n";
    let e = match import_bytes(&s, text.as_bytes(), false, &ParseOptions::default()) {
        Err(ImportError::Rows(e)) => e.0,
        other => panic!("{other:?}"),
    };
    let got: Vec<(u64, &str, RowErrorKind)> = e
        .iter()
        .map(|e| (e.line, e.column.as_str(), e.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "DEVICE NAME", RowErrorKind::BadMac),
            (4, "DEVICE TYPE", RowErrorKind::UnknownModel),
            (5, "DIRECTORY NUMBER 3", RowErrorKind::LineBeyondModel),
            (6, "DIRECTORY NUMBER 1", RowErrorKind::LineWithoutName),
            (7, "DEVICE NAME", RowErrorKind::DuplicateMac),
        ]
    );
    assert!(e[0].reason.contains("SEP"), "{}", e[0].reason);
    assert_eq!(export(&s), before);
}
