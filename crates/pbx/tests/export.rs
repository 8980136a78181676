//! What each PBX file holds for a small fleet: every line with a password
//! once (a shared line once, with both phones), lines without one
//! reported, values escaped for the format, and the Kamailio HA1 equal to
//! an independently computed MD5.

use phoneflip_config::Line;
use phoneflip_pbx::{accounts, render, ExportError, ExportOptions, Pbx, PhoneLines};

fn line(n: u8, name: &str, auth: Option<&str>, pw: Option<&str>, display: Option<&str>) -> Line {
    Line {
        number: n,
        name: name.into(),
        authname: auth.map(Into::into),
        password: pw.map(Into::into),
        displayname: display.map(Into::into),
        shortname: None,
    }
}

fn fleet() -> Vec<PhoneLines> {
    vec![
        PhoneLines {
            mac: "0017953A1000".parse().unwrap(),
            domain: Some("10.0.0.5".into()),
            lines: vec![
                line(
                    1,
                    "1001",
                    None,
                    Some("Circle Of Life"),
                    Some("Front \"desk\" & co"),
                ),
                line(2, "2000", Some("shared"), Some("pw:2"), None),
                line(3, "1009", None, None, None),
            ],
        },
        PhoneLines {
            mac: "0017953A1001".parse().unwrap(),
            domain: Some("10.0.0.5".into()),
            lines: vec![line(1, "2000", Some("shared"), Some("pw:2"), None)],
        },
    ]
}

#[test]
fn accounts_are_one_per_username_and_lines_without_password_are_reported() {
    let (acc, skipped) = accounts(&fleet()).unwrap();
    assert_eq!(acc.len(), 2);
    assert_eq!(acc[0].username, "1001");
    assert_eq!(acc[1].username, "shared");
    assert_eq!(acc[1].used_by.len(), 2);
    assert_eq!(skipped.len(), 1);
    let s = skipped[0].to_string();
    assert!(
        s.contains("0017953A1000 line 3") && s.contains("line3_password"),
        "{s}"
    );
}

#[test]
fn a_shared_line_with_two_passwords_stops_the_export() {
    let mut f = fleet();
    f[1].lines[0].password = Some("other".into());
    let e = accounts(&f).unwrap_err();
    assert!(matches!(e, ExportError::Conflict { .. }), "{e}");
    assert!(e.to_string().contains("0017953A1001 line 1"), "{e}");
    f[1].domain = None;
    f[1].lines[0].password = Some("pw:2".into());
    let e = accounts(&f).unwrap_err();
    assert!(e.to_string().contains("--domain"), "{e}");
}

#[test]
fn kamailio_dbtext_rows_with_escapes_and_ha1() {
    let (acc, _) = accounts(&fleet()).unwrap();
    let t = render(Pbx::Kamailio, &acc, &ExportOptions::default()).unwrap();
    let rows: Vec<&str> = t.lines().collect();
    assert_eq!(rows[0], phoneflip_pbx::export::KAMAILIO_SUBSCRIBER_HEADER);
    // printf '1001:10.0.0.5:Circle Of Life' | md5sum
    assert_eq!(
        rows[1],
        "1:1001:10.0.0.5:Circle Of Life:f365d6e9cd6906f2535ddde9c937e7c3:".to_string()
            + &phoneflip_sip::auth::ha1("1001@10.0.0.5", "10.0.0.5", "Circle Of Life")
    );
    assert!(
        rows[2].starts_with("2:shared:10.0.0.5:pw\\:2:"),
        "{}",
        rows[2]
    );
    assert_eq!(rows.len(), 3);
    let sql = render(Pbx::KamailioSql, &acc, &ExportOptions::default()).unwrap();
    assert!(
        sql.contains(
            "VALUES ('1001', '10.0.0.5', 'Circle Of Life', 'f365d6e9cd6906f2535ddde9c937e7c3'"
        ),
        "{sql}"
    );
}

#[test]
fn asterisk_sections() {
    let (acc, _) = accounts(&fleet()).unwrap();
    let t = render(
        Pbx::Asterisk,
        &acc,
        &ExportOptions {
            context: "office".into(),
        },
    )
    .unwrap();
    for want in [
        "[1001]\ntype=endpoint\ncontext=office",
        "auth=1001-auth\naors=1001\ncallerid=\"Front desk & co\" <1001>",
        "[1001-auth]\ntype=auth\nauth_type=userpass\nusername=1001\npassword=Circle Of Life\nrealm=10.0.0.5",
        "[shared]\ntype=aor\nmax_contacts=2",
    ] {
        assert!(t.contains(want), "{want:?} not in\n{t}");
    }
    let mut f = fleet();
    f[0].lines[0].name = "10]01".into();
    f[0].lines[0].authname = Some("10]01".into());
    let (acc, _) = accounts(&f).unwrap();
    let e = render(Pbx::Asterisk, &acc, &ExportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("Asterisk"), "{e}");
}

#[test]
fn freeswitch_directory() {
    let (acc, _) = accounts(&fleet()).unwrap();
    let t = render(Pbx::Freeswitch, &acc, &ExportOptions::default()).unwrap();
    assert!(t.contains("<user id=\"1001\">"), "{t}");
    assert!(
        t.contains("<param name=\"password\" value=\"Circle Of Life\"/>"),
        "{t}"
    );
    assert!(
        t.contains("value=\"Front &quot;desk&quot; &amp; co\""),
        "{t}"
    );
    assert!(
        t.contains("<user id=\"shared\" number-alias=\"2000\">"),
        "{t}"
    );
    assert!(t.trim_end().ends_with("</include>"));
}

#[test]
fn control_characters_are_refused_everywhere() {
    let mut f = fleet();
    f[0].lines[0].password = Some("a\nb".into());
    let (acc, _) = accounts(&f).unwrap();
    for pbx in [
        Pbx::Kamailio,
        Pbx::KamailioSql,
        Pbx::Asterisk,
        Pbx::Freeswitch,
    ] {
        let e = render(pbx, &acc, &ExportOptions::default()).unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
    }
}
