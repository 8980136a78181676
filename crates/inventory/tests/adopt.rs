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

/// Every element of an XML file as (path, attributes, value) with how
/// often it occurs: what a phone reads from it, whitespace aside.
fn xml_elements(name: &str, bytes: &[u8]) -> BTreeMap<(String, String, String), usize> {
    let doc = phoneflip_config::XmlDoc::parse(name, bytes).unwrap();
    let mut out = BTreeMap::new();
    for (i, e) in doc.elements().iter().enumerate() {
        let mut attrs: Vec<String> = e
            .attrs
            .iter()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        attrs.sort();
        let text = if e.has_children {
            String::new()
        } else {
            e.text.trim().to_string()
        };
        *out.entry((doc.path(i).join("/"), attrs.join(" "), text))
            .or_default() += 1;
    }
    out
}

/// Whether `path` is `owned` or inside it, `owned` being whole path
/// segments anywhere in it (`devicePool/callManagerGroup/members`).
fn within(path: &str, owned: &str) -> bool {
    let p = format!("/{path}/");
    p.contains(&format!("/{owned}/"))
}

/// The elements of `original` the rendered file lacks or holds with
/// another value, but for the paths phoneflip owns (`owned`) and the
/// vendor-default SSH login it never renders.
fn lost(original: &[u8], rendered: &[u8], owned: &[&str]) -> Vec<String> {
    let want = xml_elements("original", original);
    let got = xml_elements("rendered", rendered);
    let default_ssh = want
        .keys()
        .any(|(p, _, v)| p.ends_with("/sshUserId") && v == "cisco")
        && want
            .keys()
            .any(|(p, _, v)| p.ends_with("/sshPassword") && v == "cisco");
    want.iter()
        .filter(|((path, _, _), _)| {
            !owned.iter().any(|o| within(path, o))
                && !(default_ssh
                    && (path.ends_with("/sshUserId") || path.ends_with("/sshPassword")))
        })
        .filter(|(k, n)| got.get(*k).copied().unwrap_or(0) < **n)
        .map(|((p, a, v), _)| format!("{p} [{a}] = {v:?}"))
        .collect()
}

/// The SCCP side of adoption: a stand-in 7940 and 7960 following each
/// adopted XMLDefault.cnf.xml get that file back with every element and
/// value it had (the load of their own model set to the one they run),
/// and a real SEP file adopted with its phone comes back whole from a
/// revert to SCCP, directories, services and time zone included.
#[test]
fn every_real_xmldefault_and_sep_file_renders_back_whole() {
    use phoneflip_config::{PhoneSettings, XmlDefault};
    use phoneflip_device::Model;
    use phoneflip_firmware::{LoadName, Protocol};
    let Some(dir) = corpus() else { return };
    // Every folder holding an XMLDefault.cnf.xml is a root of its own
    // (staskobzar keeps a SIP and an SCCP one side by side).
    let mut all = Vec::new();
    files(&dir, &dir, &mut all);
    let mut roots: Vec<PathBuf> = all
        .iter()
        .filter(|(n, _)| n.ends_with("/XMLDefault.cnf.xml"))
        .map(|(n, _)| dir.join(Path::new(n).parent().unwrap()))
        .collect();
    roots.sort();
    let sccp81: LoadName = "P0030801SR02".parse().unwrap();
    let mut checked = BTreeMap::new();
    for root in &roots {
        let name = root
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut fs = Vec::new();
        files(root, root, &mut fs);
        let fs: Vec<_> = fs.into_iter().filter(|(n, _)| !n.contains('/')).collect();
        let (_, original) = fs.iter().find(|(n, _)| n == "XMLDefault.cnf.xml").unwrap();
        let a = adopt(&name, &fs);
        let Some(sccp) = a.templates.iter().find(|t| t.protocol == Protocol::Sccp) else {
            // Not well-formed (pripyat): the notes say so.
            assert!(
                a.notes
                    .iter()
                    .any(|n| n.contains("XMLDefault.cnf.xml") && n.contains("not adopted")),
                "{name}: {:#?}",
                a.notes
            );
            checked.insert(name, 0);
            continue;
        };
        let inv = SqliteInventory::open_in_memory().unwrap();
        for t in &a.templates {
            inv.put_template(t).unwrap();
        }
        let sip = a.templates.iter().find(|t| t.protocol == Protocol::Sip);
        let file_loads = XmlDefault::parse("XMLDefault.cnf.xml", original)
            .unwrap()
            .loads;
        let mut n = 0;
        for (i, model) in [Model::Cp7940, Model::Cp7960].into_iter().enumerate() {
            let phone = PhoneSettings {
                mac: format!("00000000000{i}").parse().unwrap(),
                model,
                description: String::new(),
                label: None,
                lines: Vec::new(),
                overrides: BTreeMap::new(),
            };
            // A conversion root's SIP load is rendered for an SCCP phone on
            // its way to SIP, through the SIP template when there is one.
            let target = file_loads.get(&model).cloned().unwrap_or(sccp81.clone());
            let (template, current) = match target.protocol() {
                Protocol::Sip => (
                    inv.get_template(&sip.unwrap_or(sccp).name)
                        .unwrap()
                        .unwrap(),
                    sccp81.clone(),
                ),
                _ => (
                    inv.get_template(&sccp.name).unwrap().unwrap(),
                    target.clone(),
                ),
            };
            let out = render(
                &phone,
                &template,
                &RenderLoad::new(Some(current), target.clone()),
            )
            .unwrap_or_else(|e| panic!("{name} {model}: {e}"));
            let rendered = &out
                .iter()
                .find(|f| f.name == "XMLDefault.cnf.xml")
                .unwrap_or_else(|| panic!("{name} {model}: no XMLDefault.cnf.xml"))
                .bytes;
            let code = model.device_type_code();
            let owned = format!("Default/loadInformation{code}");
            let missing = lost(original, rendered, &[&owned]);
            assert!(missing.is_empty(), "{name} {model} lost {missing:#?}");
            let again = XmlDefault::parse("XMLDefault.cnf.xml", rendered).unwrap();
            assert_eq!(again.loads.get(&model), Some(&target), "{name} {model}");
            // Nothing the model does not own changed: the same file when
            // the load was already the file's.
            // (The vendor-default SSH login aside, which is removed.)
            let default_ssh = String::from_utf8_lossy(original).contains("<sshPassword>cisco");
            if file_loads.get(&model) == Some(&target) && !default_ssh {
                assert!(rendered == original, "{name} {model}: not byte for byte");
            }
            n += 1;
        }
        checked.insert(name, n);
    }
    let want: BTreeMap<String, usize> = [
        ("chan-sccp", 2),
        ("dbaldree", 2),
        ("dkgroot", 2),
        ("julianhead", 2),
        ("ktt-ol", 2),
        ("lrcamargo", 2),
        ("pripyat", 0),
        ("staskobzar/sccp", 2),
        ("staskobzar/sip", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(checked, want);

    // No 7940/7960 SEP file of the corpus is both well-formed and the one
    // its phone follows (dbaldree's have a stray </line>, the others are
    // 7941/7945/7962 files). pripyat's 7945 file, with its load line set to
    // a 7960 SCCP load, stands in: a full SCCP SEP file with URLs, time
    // zone, vendorConfig and a site SSH login.
    let real = std::fs::read(dir.join("pripyat/SEP6886A7C56885.cnf.xml")).unwrap();
    let mut doc = phoneflip_config::XmlDoc::parse("SEP6886A7C56885.cnf.xml", &real).unwrap();
    phoneflip_config::SepDevice::set_load_in(&mut doc, &sccp81).unwrap();
    let sep = doc.to_bytes();
    let fs = vec![("SEP6886A7C56885.cnf.xml".to_string(), sep.clone())];
    let a = adopt("pripyat", &fs);
    assert_eq!(a.phones.len(), 1, "{:#?}", a.notes);
    assert_eq!(a.phones[0].desired_load.as_ref(), Some(&sccp81));
    let inv = SqliteInventory::open_in_memory().unwrap();
    inv.put_phone(&a.phones[0]).unwrap();
    let inputs = inv.render_inputs(a.phones[0].mac).unwrap();
    let sccp = phoneflip_config::Template {
        name: "pripyat-sccp".into(),
        protocol: Protocol::Sccp,
        settings: [("callmanager1".to_string(), "10.11.0.3".to_string())].into(),
    };
    let sep_of = |t: &phoneflip_config::Template, from: &str| {
        let from: LoadName = from.parse().unwrap();
        let out = render(
            &inputs.settings,
            t,
            &RenderLoad::new(Some(from), sccp81.clone()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        out.into_iter()
            .find(|f| f.name == "SEP6886A7C56885.cnf.xml")
            .unwrap()
            .bytes
    };
    // Served as adopted: the same file, byte for byte.
    assert!(sep_of(&sccp, "P0030801SR02") == sep, "not byte for byte");
    // A revert from SIP 8.12 to SCCP: every element but the load is kept.
    let rendered = sep_of(&sccp, "P0S3-8-12-00");
    let missing = lost(&sep, &rendered, &[]);
    assert!(missing.is_empty(), "the revert lost {missing:#?}");
    // New CallManagers replace the list, and only the list.
    let mut moved = sccp.clone();
    moved
        .settings
        .insert("callmanager1".into(), "10.11.0.9".into());
    moved
        .settings
        .insert("callmanager2".into(), "10.11.0.10".into());
    let rendered = sep_of(&moved, "P0S3-8-12-00");
    let text = String::from_utf8_lossy(&rendered);
    let missing = lost(&sep, &rendered, &["devicePool/callManagerGroup/members"]);
    assert!(missing.is_empty(), "new CallManagers lost {missing:#?}");
    let again = phoneflip_config::SepDevice::parse("SEP6886A7C56885.cnf.xml", &rendered).unwrap();
    let names: Vec<_> = again
        .call_managers
        .iter()
        .map(|c| c.process_node_name.as_str())
        .collect();
    assert_eq!(names, ["10.11.0.9", "10.11.0.10"], "{text}");
    for kept in [
        "<timeZone>UTC</timeZone>",
        "<directoryURL>http://10.11.0.3/cisco/directory.php</directoryURL>",
        "<sshUserId>voice-admin</sshUserId>",
    ] {
        assert!(text.contains(kept), "{kept}: {text}");
    }
}
