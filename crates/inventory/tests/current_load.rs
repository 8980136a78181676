//! The load a phone runs today is inventory data (issue 13): the
//! `current_load` column of phoneflip's CSV and the call manager's LOAD
//! INFORMATION fill it in, exports write it, and what phoneflip saw the
//! phone boot is never overwritten by a file.

use phoneflip_inventory::{export_csv, import_csv, Inventory, SqliteInventory};

const MAC: &str = "0019AA000001";

fn load(s: &SqliteInventory) -> Option<String> {
    s.get_phone(MAC.parse().unwrap())
        .unwrap()
        .unwrap()
        .observed_load
        .map(|l| l.to_string())
}

#[test]
fn the_csv_column_fills_in_the_current_load_and_round_trips() {
    let s = SqliteInventory::open_in_memory().unwrap();
    let csv = format!("mac,model,current_load\n{MAC},7960,sccp:8.1(2)SR2\n");
    import_csv(&s, csv.as_bytes(), false).unwrap();
    assert_eq!(load(&s).as_deref(), Some("P0030801SR02"));

    let mut out = Vec::new();
    export_csv(&s, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("desired_load,current_load,overrides"),
        "{header}"
    );
    let again = import_csv(&s, out.as_slice(), false).unwrap();
    assert_eq!(
        again.count(phoneflip_inventory::Change::Unchanged),
        1,
        "{again:?}"
    );

    // An empty cell keeps it; a file never overrides what was seen.
    import_csv(&s, format!("mac,model\n{MAC},7960\n").as_bytes(), false).unwrap();
    assert_eq!(load(&s).as_deref(), Some("P0030801SR02"));
    s.set_observed_load(MAC.parse().unwrap(), &"P0S3-8-12-00".parse().unwrap())
        .unwrap();
    import_csv(&s, csv.as_bytes(), false).unwrap();
    assert_eq!(load(&s).as_deref(), Some("P0S3-8-12-00"));
}

#[test]
fn a_bad_current_load_is_refused_naming_the_cell() {
    let s = SqliteInventory::open_in_memory().unwrap();
    for (cell, want) in [
        ("P003-8-12-00", "universal application loader"),
        ("POS3.bin", "current_load"),
        ("sip:8.100", "below 100"),
    ] {
        let csv = format!("mac,model,current_load\n{MAC},7960,{cell}\n");
        let e = import_csv(&s, csv.as_bytes(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want) && e.contains("line 2"), "{cell}: {e}");
    }
    assert!(s.get_phone(MAC.parse().unwrap()).unwrap().is_none());
}
