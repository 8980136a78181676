//! `phoneflip cfgfmt` on the corpus pair: Cisco's argument order, the
//! output byte for byte, and errors that name the file and line.

use std::path::PathBuf;
use std::process::{Command, Output};

fn phoneflip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the phoneflip binary runs")
}

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let found = dir
        .ancestors()
        .map(|a| a.join("shared/corpus/cfgfmt"))
        .find(|p| p.join("sip_ptag7912.dat").is_file());
    if found.is_none() {
        eprintln!(
            "SKIPPED: ../shared/corpus/cfgfmt not found above {}",
            dir.display()
        );
    }
    found
}

#[test]
fn reproduces_the_corpus_pair_with_t_glued_or_separate() {
    let Some(dir) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let table = dir.join("sip_ptag7912.dat");
    let input = dir.join("gkdefault7912.txt");
    let want = std::fs::read(dir.join("gkdefault7912.cfg")).unwrap();
    let glued = format!("-t{}", table.display());
    let out1 = tmp.path().join("gkdefault.cfg");
    let out2 = tmp.path().join("gk001122334455");
    for args in [
        vec![
            glued.as_str(),
            input.to_str().unwrap(),
            out1.to_str().unwrap(),
        ],
        vec![
            "-t",
            table.to_str().unwrap(),
            input.to_str().unwrap(),
            out2.to_str().unwrap(),
        ],
    ] {
        let mut full = vec!["cfgfmt"];
        full.extend(args);
        let o = phoneflip(&full);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read(&out1).unwrap(), want);
    assert_eq!(std::fs::read(&out2).unwrap(), want);
}

#[test]
fn an_unknown_parameter_names_the_file_and_line() {
    let Some(dir) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("gkdefault.txt");
    std::fs::write(&input, "#txt\nUIPassword:1234\nUIPasword:1\n").unwrap();
    let out = tmp.path().join("gkdefault.cfg");
    let o = phoneflip(&[
        "cfgfmt",
        &format!("-t{}", dir.join("sip_ptag7912.dat").display()),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gkdefault.txt line 3: UIPasword is not a parameter"),
        "{err}"
    );
    assert!(!out.exists());
}
