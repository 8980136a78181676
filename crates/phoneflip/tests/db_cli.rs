//! The real binary with `--db postgres://...` on a real PostgreSQL
//! (started by `phoneflip-pgtest`; skipped loudly without it): phones and
//! templates through the CLI, and `db migrate` of a SQLite inventory with
//! its TFTP events into it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use phoneflip_inventory::{Event, Inventory, Outcome, SqliteInventory};

fn phoneflip(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .current_dir(dir)
        .env_remove("PHONEFLIP_DB")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run phoneflip")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = phoneflip(dir, args);
    assert!(
        o.status.success(),
        "phoneflip {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

const FLEET: &str = "\
mac,model,description,site,tags,template,desired_load,line1_name,line1_authname,line1_password,line2_name
00:20:94:d2:45:cb,7960,\"Reception, desk 2\",hq,lobby,hq-sip,P0S3-8-12-00,1001,u1001,secret1,1002
0019.aabb.0001,7940,Store room,branch,,,P0030801SR02,2001,,,
";

fn list(dir: &Path, db: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["phones", "list", "--json", "--show-secrets", "--db", db],
    ))
    .unwrap();
    // Times are the copy's own (documented); the rest must be equal.
    for p in v.as_array_mut().unwrap() {
        let o = p.as_object_mut().unwrap();
        o.remove("created_ms");
        o.remove("updated_ms");
    }
    v
}

#[test]
fn phones_in_postgres_and_a_sqlite_site_migrated_into_it() {
    let Some(pg) = phoneflip_pgtest::database("phoneflip db migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("fleet.csv"), FLEET).unwrap();

    // The site on SQLite: a template, two phones, three TFTP events.
    ok(
        d,
        &[
            "templates",
            "add",
            "hq-sip",
            "--protocol",
            "sip",
            "proxy1_address=10.0.0.5",
            "--db",
            "site.db",
        ],
    );
    let out = ok(d, &["phones", "import", "fleet.csv", "--db", "site.db"]);
    assert!(out.contains("2 added"), "{out}");
    let from: SocketAddr = "10.1.1.7:50000".parse().unwrap();
    {
        let inv = SqliteInventory::open(d.join("site.db")).unwrap();
        let mac = "002094d245cb".parse().unwrap();
        inv.append_events(&[
            Event::new(1_000, None, from, "OS79XX.TXT", 10, Outcome::Sent, None),
            Event::new(
                2_000,
                Some(mac),
                from,
                "SIP002094D245CB.cnf",
                300,
                Outcome::Sent,
                None,
            ),
            Event::new(
                3_000,
                Some(mac),
                from,
                "P0S3-8-12-00.loads",
                500,
                Outcome::Sent,
                None,
            ),
        ])
        .unwrap();
    }

    let url = pg.url.as_str();
    let out = ok(
        d,
        &[
            "db",
            "migrate",
            "--from",
            "sqlite:site.db",
            "--to",
            url,
            "--json",
        ],
    );
    let copied: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(copied["templates"], 1, "{out}");
    assert_eq!(copied["phones"], 2, "{out}");
    assert_eq!(copied["events"], 3, "{out}");
    assert_eq!(list(d, url), list(d, "site.db"));
    let t = ok(d, &["templates", "list", "--db", url]);
    assert!(t.contains("hq-sip"), "{t}");
    let shown = ok(d, &["phones", "show", "00:20:94:d2:45:cb", "--db", url]);
    assert!(
        shown.contains("desired:        P0S3-8-12-00") && shown.contains("template:       hq-sip"),
        "{shown}"
    );

    // Into a database that is no longer empty: refused, nothing doubled.
    let o = phoneflip(d, &["db", "migrate", "--from", "site.db", "--to", url]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(list(d, url).as_array().unwrap().len(), 2);

    // The CLI writes PostgreSQL directly: an import there updates the row.
    let changed = FLEET.replace("Store room", "Back office");
    std::fs::write(d.join("fleet2.csv"), changed).unwrap();
    let out = ok(d, &["phones", "import", "fleet2.csv", "--db", url]);
    assert!(
        out.contains("1 updated") && out.contains("1 unchanged"),
        "{out}"
    );
    let v = list(d, url);
    assert!(v.to_string().contains("Back office"));
    assert!(!list(d, "site.db").to_string().contains("Back office"));
}

#[test]
fn a_postgres_url_that_does_not_answer_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let o = phoneflip(
        dir.path(),
        &[
            "phones",
            "list",
            "--db",
            "postgres://pf:hunter2@127.0.0.1:1/inv",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
