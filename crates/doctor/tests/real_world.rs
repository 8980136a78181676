//! The doctor on the real roots of `shared/corpus/real-world` (see its
//! README): the false alarms of issue 12 fixed so far stay fixed, and the
//! problems the README lists stay found. The corpus holds no firmware, so
//! missing-image findings are expected and not checked here.

use std::path::PathBuf;

use phoneflip_doctor::{read_root, scan, Check, Finding, Fix, Options, Severity};

fn corpus() -> Option<PathBuf> {
    let found = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/real-world"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("!!! SKIPPED: shared/corpus/real-world not found above the crate; the real-root tests did not run");
    }
    found
}

fn doctor(root: &str, from: &[&str]) -> Option<Vec<Finding>> {
    let dir = corpus()?.join(root);
    let opts = Options {
        from: from.iter().map(|r| r.parse().unwrap()).collect(),
        ..Options::default()
    };
    Some(scan(&read_root(&dir).unwrap(), &opts))
}

fn has(fs: &[Finding], check: Check, file: &str) -> Vec<Finding> {
    fs.iter()
        .filter(|f| f.check == check && f.file.as_deref() == Some(file))
        .cloned()
        .collect()
}

#[test]
fn sip_6_3_fleet_on_a_sip_8_12_root_is_not_told_it_targets_sccp() {
    // XMLDefault.cnf.xml carries P0S3-8-12-00, as conversion roots do.
    let Some(fs) = doctor("dbaldree", &["sip:6.3"]) else {
        return;
    };
    assert!(
        fs.iter().all(|f| f.check != Check::GkdefaultMissing),
        "{fs:#?}"
    );
    // The README's problems are still found: the stray </line>.
    assert_eq!(
        has(&fs, Check::ConfigUnreadable, "SEP0014638ADF5E.cnf.xml").len(),
        1
    );
}

#[test]
fn os79xx_faults_are_no_errors_for_a_fleet_that_never_reads_it() {
    let Some(fs) = doctor("meow-sccp", &["sccp:8.1(2)SR2"]) else {
        return;
    };
    let os79: Vec<_> = fs
        .iter()
        .filter(|f| f.file.as_deref() == Some("OS79XX.TXT"))
        .collect();
    assert!(!os79.is_empty());
    assert!(
        os79.iter().all(|f| f.severity != Severity::Error),
        "{os79:#?}"
    );
    // A fleet that does read it still gets errors (CR + space, README).
    let Some(fs) = doctor("dbaldree", &["sccp:5.0(1.1)"]) else {
        return;
    };
    let ws = has(&fs, Check::Os79xxWhitespace, "OS79XX.TXT");
    assert!(!ws.is_empty() && ws.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn os79xx_naming_the_application_is_fixed_to_the_loader() {
    // README: "P0S3-8-12-00\r\n", the application instead of the loader.
    let Some(fs) = doctor("julianhead", &[]) else {
        return;
    };
    let ws = has(&fs, Check::Os79xxWhitespace, "OS79XX.TXT");
    assert_eq!(
        ws[0].auto_fix,
        Some(Fix::Rewrite {
            file: "OS79XX.TXT".into(),
            contents: "P003-8-12-00\n".into()
        })
    );
    let missing = has(&fs, Check::LoadMissing, "OS79XX.TXT");
    assert!(
        missing[0].fix.contains("write P003-8-12-00"),
        "{:#?}",
        missing[0]
    );
}

#[test]
fn loads_of_other_models_are_not_protocol_application_invalid() {
    let Some(fs) = doctor("pripyat", &[]) else {
        return;
    };
    assert!(
        has(&fs, Check::ConfigUnreadable, "SEP6886A7C56885.cnf.xml").is_empty(),
        "{fs:#?}"
    );
    // README: XMLDefault.cnf.xml's mismatched end tags are real.
    assert_eq!(
        has(&fs, Check::ConfigUnreadable, "XMLDefault.cnf.xml").len(),
        1
    );
    let Some(fs) = doctor("ktt-ol", &[]) else {
        return;
    };
    let f = &has(&fs, Check::Os79xxNotALoad, "OS79XX.txt")[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.problem.contains("7906/7911"), "{}", f.problem);
}

#[test]
fn no_8_3_alias_for_the_universal_loader() {
    // OS79XX.TXT holds P003-8-12-00 (with a trailing space and CRLF).
    let Some(fs) = doctor("staskobzar/sip", &["sip:2.1"]) else {
        return;
    };
    assert!(fs.iter().all(|f| f.check != Check::SccpName83), "{fs:#?}");
}
