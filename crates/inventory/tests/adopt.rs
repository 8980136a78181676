//! `adopt` on every real root of `shared/corpus/real-world`: the records
//! store, and the files phoneflip then renders for each phone hold every
//! parameter of the hand-made files with the same value (comments aside),
//! except the values the notes say were not adopted, and why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use phoneflip_config::{render, RenderLoad, SipCnf};
use phoneflip_inventory::adopt::adopt;
use phoneflip_inventory::{Inventory, SqliteInventory};

fn corpus() -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/real-world"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("!!! SKIPPED: shared/corpus/real-world not found above the crate; the adopt tests did not run");
    }
    found
}

fn files(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(base, &p, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
}

/// What a phone ends up with from SIPDefault.cnf then SIP<MAC>.cnf.
fn effective(default: Option<&[u8]>, own: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for bytes in default.into_iter().chain([own]) {
        let (cnf, _) = SipCnf::parse_lossy("f", bytes);
        for e in cnf.entries() {
            out.insert(e.key.to_string(), e.value.to_string());
        }
    }
    out
}

#[test]
fn every_real_root_renders_back_what_its_files_set() {
    let Some(dir) = corpus() else { return };
    let mut roots: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    roots.sort();
    assert_eq!(roots.len(), 12, "the corpus's roots (meow twice)");
    let mut phones_per_root = BTreeMap::new();
    let mut compared = 0;
    for root in &roots {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let mut fs = Vec::new();
        files(root, root, &mut fs);
        let a = adopt(&name, &fs);
        let inv = SqliteInventory::open_in_memory().unwrap();
        for t in &a.templates {
            inv.put_template(t)
                .unwrap_or_else(|e| panic!("{name}: template {}: {e}", t.name));
        }
        for p in &a.phones {
            inv.put_phone(p)
                .unwrap_or_else(|e| panic!("{name}: phone {}: {e}", p.mac));
        }
        phones_per_root.insert(name.clone(), a.phones.len());
        let get = |base: &str| {
            fs.iter()
                .find(|(n, _)| Path::new(n).file_name().unwrap() == base)
                .map(|(_, b)| b.as_slice())
        };
        for p in &a.phones {
            let inputs = inv.render_inputs(p.mac).unwrap();
            let template = inputs.template.clone().unwrap();
            let load = inputs.desired_load.clone().unwrap();
            let out = render(
                &inputs.settings,
                &template,
                &RenderLoad::new(Some(load.clone()), load.clone()),
            )
            .unwrap_or_else(|e| panic!("{name} {}: {e}", p.mac));
            let rendered = |n: &str| {
                out.iter()
                    .find(|f| f.name == n)
                    .map(|f| f.bytes.clone())
                    .unwrap_or_else(|| panic!("{name}: {n} not rendered"))
            };
            let own_name = format!("SIP{}.cnf", p.mac);
            let want = effective(get("SIPDefault.cnf"), get(&own_name).unwrap());
            let got = effective(Some(&rendered("SIPDefault.cnf")), &rendered(&own_name));
            for (k, v) in &want {
                if k == "image_version" {
                    assert_eq!(got.get(k), Some(&load.to_string()), "{name} {k}");
                    continue;
                }
                let not_adopted = a.notes.iter().any(|n| n.contains(&format!(" {k} = ")));
                let empty_line = k.starts_with("line")
                    && a.notes.iter().any(|n| n.contains("has no lineN_name"));
                if not_adopted || (empty_line && v.is_empty()) {
                    continue;
                }
                // `key: ""` means the default, which is also what a phone
                // gets when the key is absent (the store keeps no empty
                // label, for one).
                if v.is_empty() && !got.contains_key(k) {
                    continue;
                }
                assert_eq!(got.get(k), Some(v), "{name} {}: {k}", p.mac);
                compared += 1;
            }
        }
    }
    let want: BTreeMap<String, usize> = [
        ("chan-sccp", 0),
        ("dbaldree", 2),
        ("dkgroot", 0),
        ("julianhead", 1),
        ("klobes5", 1),
        ("ktt-ol", 0),
        ("lrcamargo", 0),
        ("meow-sccp", 0),
        ("meow-sip", 0),
        ("nikscave", 2),
        ("pripyat", 0),
        ("staskobzar", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(phones_per_root, want);
    assert!(compared > 150, "only {compared} parameters compared");
}

#[test]
fn refused_values_are_reported_not_lost_silently() {
    let Some(dir) = corpus() else { return };
    let root = dir.join("klobes5");
    let mut fs = Vec::new();
    files(&root, &root, &mut fs);
    let a = adopt("klobes5", &fs);
    let t = &a.templates[0];
    assert_eq!(t.name, "klobes5-sip");
    assert_eq!(
        t.settings.get("tftp_cfg_dir").map(String::as_str),
        Some("./")
    );
    assert!(!t.settings.contains_key("rdda_ptft_nyd"));
    assert!(!t.settings.contains_key("start_media_port"));
    for needle in ["rdda_ptft_nyd", "start_media_port = \"16348\""] {
        assert!(
            a.notes.iter().any(|n| n.contains(needle)),
            "{needle}: {:#?}",
            a.notes
        );
    }
    let p = &a.phones[0];
    assert_eq!(p.desired_load.as_ref().unwrap().as_str(), "P0S3-07-5-00");
    assert!(!p.lines.is_empty());
}
