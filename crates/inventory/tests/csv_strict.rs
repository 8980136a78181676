//! Strict, all-or-nothing CSV import (issue 15): malformed rows stop the
//! import with the line (LF or CRLF), column and fix; encodings are
//! converted or refused, never guessed; exports are guarded against
//! spreadsheet formulas; and random damage to a valid file either imports
//! exactly what the file says or changes nothing at all.

use std::collections::BTreeMap;

use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{
    export_csv, import_bytes, parse_bytes, write_csv, Encoding, ImportError, Inventory,
    ParseOptions, Phone, RowError, RowErrorKind, SqliteInventory,
};
use proptest::prelude::*;

fn store() -> SqliteInventory {
    let s = SqliteInventory::open_in_memory().unwrap();
    s.put_template(&Template {
        name: "hq-sip".into(),
        protocol: Protocol::Sip,
        settings: BTreeMap::new(),
    })
    .unwrap();
    s
}

fn export(s: &SqliteInventory) -> Vec<u8> {
    let mut out = Vec::new();
    export_csv(s, &mut out).unwrap();
    out
}

const BASE: &str = "mac,model,description,site,desired_load,line1_name\n\
001122334401,7960,Reception,hq,P0S3-8-12-00,1001\n\
001122334402,7960,Lobby,hq,P0S3-8-12-00,1002\n";

fn seeded() -> (SqliteInventory, Vec<u8>) {
    let s = store();
    import_bytes(&s, BASE.as_bytes(), false, &ParseOptions::default()).unwrap();
    let e = export(&s);
    (s, e)
}

/// Imports `bytes`, expects a refusal, checks that the store is
/// byte-for-byte unchanged, and returns the errors.
fn refused(bytes: &[u8], opts: ParseOptions) -> Vec<RowError> {
    let (s, before) = seeded();
    let err = import_bytes(&s, bytes, false, &opts).unwrap_err();
    assert_eq!(export(&s), before, "a refused import changed the inventory");
    match err {
        ImportError::Rows(r) => r.0,
        other => panic!("expected row errors, got {other}"),
    }
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

#[test]
fn an_unbalanced_quote_is_refused_with_its_line_and_column() {
    let text = "mac,model,description,site,desired_load,line1_name\n\
001122334401,7960,\"Reception, moved,hq,P0S3-8-12-00,1001\n\
001122334402,7960,Lobby,branch,P0S3-8-12-00,1002\n";
    for t in [text.to_string(), crlf(text)] {
        let e = refused(t.as_bytes(), ParseOptions::default());
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!((e[0].line, e[0].column.as_str()), (2, "description"));
        assert_eq!(e[0].kind, RowErrorKind::Syntax);
        assert!(e[0].reason.contains("never closed"), "{}", e[0].reason);
    }
}

#[test]
fn stray_quotes_and_short_rows_are_refused() {
    let text = "mac,model,description\n001122334401,7960,12\" screen\n001122334402,7960\n001122334403,7960,\"a\"b\n";
    for t in [text.to_string(), crlf(text)] {
        let e = refused(t.as_bytes(), ParseOptions::default());
        let got: Vec<(u64, &str)> = e.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![(2, "description"), (3, "description"), (4, "description")],
            "{e:#?}"
        );
        assert!(e[1].reason.contains("2 fields but the header has 3"));
    }
}

#[test]
fn crlf_errors_name_the_same_lines_as_lf() {
    let text = "mac,model,description,template\nzz,7960,\"two\nlines\",\n001122334401,7970,,nope\n";
    let lf: Vec<(u64, String)> = refused(text.as_bytes(), ParseOptions::default())
        .into_iter()
        .map(|e| (e.line, e.column))
        .collect();
    let cr: Vec<(u64, String)> = refused(crlf(text).as_bytes(), ParseOptions::default())
        .into_iter()
        .map(|e| (e.line, e.column))
        .collect();
    assert_eq!(lf, cr);
    assert_eq!(lf[0], (2, "mac".to_string()));
    assert_eq!(lf[1], (4, "model".to_string()));
}

#[test]
fn duplicate_and_invalid_macs_and_oversized_cells() {
    let long = "x".repeat(2000);
    let text = format!(
        "mac,model,description\n001122334401,7960,a\n00:11:22:33:44:01,7960,b\n0011223344,7960,c\n001122334403,7960,{long}\n"
    );
    let e = refused(text.as_bytes(), ParseOptions::default());
    let got: Vec<(u64, &str, RowErrorKind)> = e
        .iter()
        .map(|e| (e.line, e.column.as_str(), e.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "mac", RowErrorKind::DuplicateMac),
            (4, "mac", RowErrorKind::BadMac),
            (5, "description", RowErrorKind::TooLong),
        ]
    );
}

#[test]
fn latin1_is_refused_unless_asked_and_then_converted() {
    let mut bytes = b"mac,model,description\n001122334401,7960,Caf".to_vec();
    bytes.extend([0xE9, b'\n']);
    let e = refused(&bytes, ParseOptions::default());
    assert_eq!((e[0].line, e[0].kind), (2, RowErrorKind::Encoding));
    assert!(e[0].reason.contains("--encoding latin1"), "{}", e[0].reason);
    let p = parse_bytes(
        &bytes,
        &BTreeMap::new(),
        &ParseOptions {
            encoding: Encoding::Latin1,
        },
    )
    .unwrap();
    assert_eq!(p.phones[0].description, "Café");
    assert_eq!(p.encoding, "Latin-1");
}

#[test]
fn utf16_with_a_bom_is_converted_and_without_one_refused() {
    let text = "mac,model,description\r\n001122334401,7960,Caf\u{e9} \u{2013} desk\r\n";
    for (bom, enc) in [([0xFF, 0xFE], "UTF-16LE"), ([0xFE, 0xFF], "UTF-16BE")] {
        let mut bytes = bom.to_vec();
        for u in text.encode_utf16() {
            bytes.extend(if enc == "UTF-16LE" {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        let p = parse_bytes(&bytes, &BTreeMap::new(), &ParseOptions::default()).unwrap();
        assert_eq!(p.encoding, enc);
        assert_eq!(p.phones[0].description, "Café – desk");
        // Without the BOM: refused, not read as garbage.
        let e = refused(&bytes[2..], ParseOptions::default());
        assert_eq!(e[0].kind, RowErrorKind::Encoding);
        assert!(e[0].reason.contains("UTF-16"), "{}", e[0].reason);
    }
}

#[test]
fn exports_neutralise_formulas_and_imports_restore_them() {
    let s = store();
    let mut p = Phone::new("001122334401".parse().unwrap(), Model::Cp7960);
    p.description = "=HYPERLINK(\"http://x\",\"y\")".into();
    p.site = Some("@hq".into());
    p.label = Some("'quoted".into());
    p.lines = vec![Line {
        number: 1,
        name: "+4930123".into(),
        authname: None,
        password: None,
        displayname: Some("-5".into()),
        shortname: None,
    }];
    s.put_phone(&p).unwrap();
    let out = export(&s);
    let text = String::from_utf8(out.clone()).unwrap();
    for guarded in [
        "'=HYPERLINK",
        ",'@hq,",
        ",''quoted,",
        ",'+4930123,",
        ",'-5,",
    ] {
        assert!(text.contains(guarded), "{guarded} not in {text}");
    }
    for line in text.lines().skip(1) {
        for field in line.split(',') {
            let f = field.trim_start_matches('"');
            assert!(!f.starts_with(['=', '+', '-', '@']), "{field} in {line}");
        }
    }
    let back = parse_bytes(&out, &BTreeMap::new(), &ParseOptions::default()).unwrap();
    assert!(back.phones[0].same_admin_fields(&p), "{:?}", back.phones[0]);
}

#[test]
fn desired_load_accepts_protocol_version_like_plan_and_jobs() {
    let p = parse_bytes(
        b"mac,model,desired_load\n001122334401,7960,sip:8.12\n001122334402,7940,sccp:8.1(2)SR2\n",
        &BTreeMap::new(),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(
        p.phones[0].desired_load.as_ref().unwrap().as_str(),
        "P0S3-8-12-00"
    );
    assert_eq!(
        p.phones[1].desired_load.as_ref().unwrap().as_str(),
        "P0030801SR02"
    );
    let e = refused(
        b"mac,model,desired_load\n001122334401,7960,sip:banana\n",
        ParseOptions::default(),
    );
    assert_eq!(
        (e[0].column.as_str(), e[0].kind),
        ("desired_load", RowErrorKind::BadLoad)
    );
    assert!(e[0].reason.contains("sip:8.12"), "{}", e[0].reason);
}

// ---- random damage -------------------------------------------------------

fn cell() -> impl Strategy<Value = String> {
    // No line breaks, so that a file's rows are its lines and the test can
    // count them without a CSV parser.
    "[a-zA-Z0-9 ,;\"=+@'-]{0,10}"
}

fn phones() -> impl Strategy<Value = Vec<Phone>> {
    prop::collection::btree_map(
        any::<[u8; 6]>(),
        (
            prop::bool::ANY,
            cell(),
            prop::option::of("[a-z]{1,6}"),
            prop::option::of("[0-9]{1,5}"),
            cell(),
        ),
        1..6,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(mac, (is60, description, site, line, display))| {
                let model = if is60 { Model::Cp7960 } else { Model::Cp7940 };
                let mut p = Phone::new(Mac::new(mac), model);
                p.description = description;
                p.site = site;
                if let Some(name) = line {
                    p.lines.push(Line {
                        number: 1,
                        name,
                        authname: None,
                        password: Some("secret".into()),
                        displayname: Some(display).filter(|d| !d.is_empty()),
                        shortname: None,
                    });
                }
                p
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Damage {
    Insert(usize, u8),
    Delete(usize),
    DuplicateLine(usize),
    DropLine(usize),
    Truncate(usize),
    /// One cell of one row (quoting ignored: the naive split) replaced by
    /// a hostile value: empty, not a value, oversized, a stray quote.
    ReplaceCell(usize, usize, &'static str),
}

/// Over the 1024-character cell limit.
const LONG: &str = concat!(
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "0123456789012345678901234567890123456789"
);

fn damage() -> impl Strategy<Value = Damage> {
    let byte = prop::sample::select(vec![
        b'"', b',', b'\n', b'\r', b'x', b'9', b';', b'\'', b'=',
    ]);
    prop_oneof![
        (any::<usize>(), byte).prop_map(|(i, b)| Damage::Insert(i, b)),
        any::<usize>().prop_map(Damage::Delete),
        any::<usize>().prop_map(Damage::DuplicateLine),
        any::<usize>().prop_map(Damage::DropLine),
        any::<usize>().prop_map(Damage::Truncate),
        (
            any::<usize>(),
            any::<usize>(),
            prop::sample::select(vec![
                "",
                "zz",
                "7970",
                "00:11:22:33:44",
                "a\"b",
                "=1+1",
                "x;y",
                LONG
            ]),
        )
            .prop_map(|(r, c, v)| Damage::ReplaceCell(r, c, v)),
    ]
}

fn apply(text: &[u8], d: &Damage) -> Vec<u8> {
    let mut v = text.to_vec();
    if v.is_empty() {
        return v;
    }
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    match *d {
        Damage::Insert(i, b) => v.insert(i % (v.len() + 1), b),
        Damage::Delete(i) => {
            v.remove(i % v.len());
        }
        Damage::DuplicateLine(i) => {
            let l = lines[i % lines.len()];
            v.extend_from_slice(l);
        }
        Damage::DropLine(i) => {
            let k = i % lines.len();
            v = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .flat_map(|(_, l)| l.to_vec())
                .collect();
        }
        Damage::Truncate(i) => v.truncate(i % v.len()),
        Damage::ReplaceCell(r, c, value) => {
            let k = r % lines.len();
            v = lines
                .iter()
                .enumerate()
                .flat_map(|(j, l)| {
                    if j != k {
                        return l.to_vec();
                    }
                    let text = String::from_utf8_lossy(l);
                    let (body, end) = match text.strip_suffix('\n') {
                        Some(b) => (b.to_string(), "\n"),
                        None => (text.to_string(), ""),
                    };
                    let mut cells: Vec<String> = body.split(',').map(String::from).collect();
                    let n = c % cells.len();
                    cells[n] = value.to_string();
                    (cells.join(",") + end).into_bytes()
                })
                .collect();
        }
    }
    v
}

/// Data rows that are not blank, split the simplest way RFC 4180 allows:
/// a line break ends a row unless an odd number of quotes precede it in
/// the row. Independent of the importer's reader on purpose.
fn count_rows(text: &str) -> usize {
    let mut rows = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '\r' | '\n' if !quoted => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                rows.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    rows.push(cur);
    rows.iter()
        .skip(1)
        .filter(|r| !r.split(',').all(|c| c.trim().is_empty()))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A damaged file either imports exactly what it says, one phone per
    /// row and nothing swallowed, or is refused whole with the inventory
    /// byte-for-byte as it was.
    #[test]
    fn damaged_files_import_exactly_or_not_at_all(
        old in phones(),
        edits in phones(),
        damages in prop::collection::vec(damage(), 1..3),
    ) {
        let s = store();
        s.import_phones(&old, false).unwrap();
        let before = export(&s);
        let mut file = Vec::new();
        write_csv(&edits, &mut file).unwrap();
        for d in &damages {
            file = apply(&file, d);
        }
        match import_bytes(&s, &file, false, &ParseOptions::default()) {
            Err(ImportError::Rows(errors)) => {
                prop_assert_eq!(export(&s), before);
                // Refused with the place named: the line (within the
                // file, the header is 1) and the column.
                let lines = file.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                prop_assert!(!errors.0.is_empty());
                for e in &errors.0 {
                    prop_assert!(e.line >= 1 && e.line <= lines, "{} of {} lines", e, lines);
                    prop_assert!(!e.column.is_empty(), "{}", e);
                    let shown = e.to_string();
                    prop_assert!(shown.starts_with(&format!("line {}, column ", e.line)), "{}", shown);
                }
            }
            Err(other) => {
                prop_assert_eq!(export(&s), before);
                prop_assert!(false, "refused without naming a row: {}", other);
            }
            Ok(done) => {
                let text = String::from_utf8(file.clone()).unwrap();
                let rows = count_rows(&text);
                prop_assert_eq!(done.summary.changes.len(), rows, "{}", text);
                let parsed = parse_bytes(&file, &BTreeMap::new(), &ParseOptions::default()).unwrap();
                for p in &parsed.phones {
                    let stored = s.get_phone(p.mac).unwrap().unwrap();
                    prop_assert!(stored.same_admin_fields(p), "{:?} != {:?}", stored, p);
                }
                for o in &old {
                    if !parsed.phones.iter().any(|p| p.mac == o.mac) {
                        let stored = s.get_phone(o.mac).unwrap().unwrap();
                        prop_assert!(stored.same_admin_fields(o));
                    }
                }
            }
        }
    }
}
