//! Reading Kamailio's `ul.dump` as a real Kamailio 5.6.3 (Debian) wrote
//! it with baresip registered (`tests/data/kamailio-5.6.3-ul.dump.json`,
//! captured over its JSON-RPC), and the per-line verdicts made from it.

use phoneflip_pbx::registrar::{parse_ul_dump, verdicts, LineVerdict};

fn dump() -> serde_json::Value {
    serde_json::from_str(include_str!("data/kamailio-5.6.3-ul.dump.json")).unwrap()
}

#[test]
fn a_real_ul_dump_reads_as_its_bindings() {
    let b = parse_ul_dump(&dump()).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].aor, "1001");
    assert_eq!(b[0].contact, "sip:1001-0x55589d6610d0@127.0.0.1:15070");
    assert_eq!(b[0].expires, Some(58));
    assert_eq!(
        b[0].user_agent.as_deref(),
        Some("baresip v1.0.0 (x86_64/linux)")
    );
}

#[test]
fn verdicts_name_the_lines_without_a_binding() {
    let b = parse_ul_dump(&dump()).unwrap();
    let lines = vec![(1, "1001".to_string()), (2, "1002".to_string())];
    let v = verdicts(&lines, &b, "kamailio test");
    assert!(matches!(&v[&1], LineVerdict::Registered { contact } if contact.contains("15070")));
    match &v[&2] {
        LineVerdict::NotRegistered { why } => {
            assert!(
                why.contains("kamailio test") && why.contains("1002"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answer_of_another_shape_is_an_error_naming_what_is_missing() {
    let e = parse_ul_dump(&serde_json::json!({"jsonrpc": "2.0", "result": {}})).unwrap_err();
    assert!(e.to_string().contains("Domains"), "{e}");
    let e =
        parse_ul_dump(&serde_json::json!({"result": {"Domains": [{"Domain": {"AoRs": [{}]}}]}}))
            .unwrap_err();
    assert!(e.to_string().contains("Info"), "{e}");
}
