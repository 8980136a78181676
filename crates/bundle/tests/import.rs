//! Importing vendor-like bundles (real names and sizes, random bytes, not
//! the synthetic format) and phoneflip's synthetic ones.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use phoneflip_bundle::synth::{self, Bundle, SizeProfile};
use phoneflip_bundle::{import, import_with, Action, ImportError, Options, Problem, SourceError};
use phoneflip_firmware::Protocol;

/// Deterministic noise: vendor images are opaque to phoneflip.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The SIP 8.12 zip's five files at the real sizes.
fn sip_8_12() -> Vec<(String, Vec<u8>)> {
    vec![
        ("P0S3-8-12-00.loads".into(), noise(1, 458)),
        ("P0S3-8-12-00.sb2".into(), noise(2, 705_536)),
        ("P003-8-12-00.bin".into(), noise(3, 129_824)),
        ("P003-8-12-00.sbn".into(), noise(4, 130_228)),
        ("OS79XX.TXT".into(), b"P003-8-12-00\n".to_vec()),
    ]
}

fn zip(dir: &Path, name: &str, files: &[(String, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    let mut z = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (n, b) in files {
        z.start_file(n.as_str(), opts).unwrap();
        z.write_all(b).unwrap();
    }
    z.finish().unwrap();
    path
}

fn opts() -> Options {
    Options {
        now: UNIX_EPOCH + Duration::from_secs(1_764_083_178),
        ..Options::default()
    }
}

#[test]
fn a_vendor_like_sip_zip_imports_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let files = sip_8_12();
    let z = zip(dir.path(), "cmterm-7940-7960-sip.8-12-00.zip", &files);
    let root = dir.path().join("root");
    let r = import_with(&z, &root, &opts()).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.written.len(), 5);
    assert!(r.replaced.is_empty());
    assert_eq!(r.bundle.as_ref().unwrap().protocol, Protocol::Sip);
    for (n, b) in &files {
        assert_eq!(&fs::read(root.join(n)).unwrap(), b, "{n}");
    }
    // Again: nothing to do.
    let again = import_with(&z, &root, &opts()).unwrap();
    assert!(again.written.is_empty());
    assert!(again.files.iter().all(|(_, _, a)| *a == Action::Unchanged));
}

#[test]
fn a_folder_of_extracted_sccp_files_imports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("P0030801SR02");
    fs::create_dir(&src).unwrap();
    for (ext, len, seed) in [
        ("loads", 458, 5),
        ("sb2", 705_536, 6),
        ("bin", 129_824, 7),
        ("sbn", 130_228, 8),
    ] {
        fs::write(src.join(format!("P0030801SR02.{ext}")), noise(seed, len)).unwrap();
    }
    fs::write(src.join(".DS_Store"), b"x").unwrap();
    let root = dir.path().join("root");
    let r = import(&src, &root).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.written.len(), 4);
    assert!(!root.join(".DS_Store").exists());
}

#[test]
fn a_missing_sb2_refuses_the_import_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = sip_8_12();
    files.retain(|(n, _)| n != "P0S3-8-12-00.sb2");
    let z = zip(dir.path(), "P0S3-8-12-00.zip", &files);
    let root = dir.path().join("root");
    let r = import(&z, &root).unwrap();
    assert!(r.refused());
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let msg = r.problems[0].to_string();
    assert!(
        msg.contains("P0S3-8-12-00.sb2") && msg.contains("Protocol Application Invalid"),
        "{msg}"
    );
    assert!(r.written.is_empty());
    assert!(
        !root.join("OS79XX.TXT").exists(),
        "nothing is written when refused"
    );
}

#[test]
fn truncated_and_empty_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = sip_8_12();
    files[1].1.truncate(4_000);
    files[3].1.clear();
    let z = zip(dir.path(), "P0S3-8-12-00.zip", &files);
    let r = import(&z, &dir.path().join("root")).unwrap();
    assert!(
        matches!(&r.problems[0], Problem::ImplausibleSize { file, bytes: 4_000, .. } if file == "P0S3-8-12-00.sb2"),
        "{:?}",
        r.problems
    );
    assert!(
        matches!(&r.problems[1], Problem::Empty { file } if file == "P003-8-12-00.sbn"),
        "{:?}",
        r.problems
    );
}

#[test]
fn an_existing_different_os79xx_is_backed_up_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("OS79XX.TXT"), "POS30203").unwrap();
    fs::write(root.join("POS30203.bin"), noise(9, 800_000)).unwrap();
    let z = zip(dir.path(), "P0S3-8-12-00.zip", &sip_8_12());
    let r = import_with(&z, &root, &opts()).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.replaced.len(), 1, "{:?}", r.replaced);
    let (name, backup) = &r.replaced[0];
    assert_eq!(name, "OS79XX.TXT");
    assert!(
        backup.starts_with(root.join(".phoneflip-backup")),
        "{}",
        backup.display()
    );
    assert_eq!(fs::read(backup).unwrap(), b"POS30203");
    assert_eq!(
        fs::read(root.join("OS79XX.TXT")).unwrap(),
        b"P003-8-12-00\n"
    );
    assert!(r.written.contains(&"OS79XX.TXT".to_string()));
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("OS79XX.TXT"), "POS30203").unwrap();
    let z = zip(dir.path(), "P0S3-8-12-00.zip", &sip_8_12());
    let r = import_with(
        &z,
        &root,
        &Options {
            dry_run: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(r.written.len(), 5);
    assert_eq!(r.replaced.len(), 1);
    assert_eq!(fs::read(root.join("OS79XX.TXT")).unwrap(), b"POS30203");
    assert!(!root.join(".phoneflip-backup").exists());
    assert!(!root.join("P0S3-8-12-00.sb2").exists());
}

#[test]
fn path_traversal_is_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = sip_8_12();
    files.push(("../evil".into(), b"x".to_vec()));
    let z = zip(dir.path(), "P0S3-8-12-00.zip", &files);
    let root = dir.path().join("root");
    let e = import(&z, &root).unwrap_err();
    assert!(
        matches!(&e, ImportError::Source(SourceError::UnsafeEntry { entry, .. }) if entry == "../evil"),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"../evil\""), "{e}");
    assert!(!root.exists() && !dir.path().join("evil").exists());
    for bad in ["/etc/passwd", "C:\\x.bin", "sub/P0S3-8-12-00.sb2"] {
        let z = zip(dir.path(), "bad.zip", &[(bad.to_string(), vec![1])]);
        let e = import(&z, &root).unwrap_err();
        assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
    }
}

#[test]
fn links_and_oversized_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    z.add_symlink(
        "OS79XX.TXT",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.finish().unwrap();
    let e = import(&path, &dir.path().join("root")).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");

    let z = zip(
        dir.path(),
        "big.zip",
        &[("P0S3-8-12-00.sb2".into(), vec![0; 4096])],
    );
    let small = Options {
        limits: phoneflip_bundle::Limits {
            max_file_bytes: 1024,
            ..Default::default()
        },
        ..opts()
    };
    let e = import_with(&z, &dir.path().join("root"), &small).unwrap_err();
    assert!(
        matches!(e, ImportError::Source(SourceError::TooLarge { .. })),
        "{e}"
    );
}

#[test]
fn a_misnamed_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let z = zip(
        dir.path(),
        "x.zip",
        &[("firmware.bin".into(), noise(1, 200_000))],
    );
    let r = import(&z, &dir.path().join("root")).unwrap();
    assert!(
        matches!(&r.problems[0], Problem::NotAnImageName { file, .. } if file == "firmware.bin"),
        "{:?}",
        r.problems
    );
}

// Synthetic bundles: checked as the synthetic format, since phoneflip made them.

#[test]
fn import_checks_every_piece() {
    let dir = tempfile::tempdir().unwrap();
    let b = synth::synth(Protocol::Sip, "8.12".parse().unwrap(), SizeProfile::Small).unwrap();
    let zip = synth::write_zip(&b, dir.path()).unwrap();
    let root = dir.path().join("root");
    let r = import(&zip, &root).unwrap();
    assert_eq!(r.written.len(), 5);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        fs::read(root.join("P0S3-8-12-00.sb2")).unwrap(),
        b.file("P0S3-8-12-00.sb2").unwrap()
    );

    // A bundle without its application: the loader would fail.
    let mut partial = b.clone();
    partial.files.retain(|(n, _)| n != "P0S3-8-12-00.sb2");
    partial.name = "P0S3-8-12-00-partial.zip".into();
    let zip = synth::write_zip(&partial, dir.path()).unwrap();
    let root2 = dir.path().join("root2");
    let r = import(&zip, &root2).unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let msg = r.problems[0].to_string();
    assert!(
        msg.contains("P0S3-8-12-00.sb2") && msg.contains("Protocol Application Invalid"),
        "{msg}"
    );

    // A corrupted image is named.
    let mut bad = b.clone();
    bad.files[1].1[100] ^= 1;
    bad.name = "bad.zip".into();
    let zip = synth::write_zip(&bad, dir.path()).unwrap();
    let r = import(&zip, &dir.path().join("root3")).unwrap();
    assert!(matches!(&r.problems[0], Problem::Corrupt { file, .. } if file == "P0S3-8-12-00.sb2"));
}

#[test]
fn import_refuses_paths() {
    let dir = tempfile::tempdir().unwrap();
    let b = Bundle {
        name: "evil.zip".into(),
        files: vec![("../x.bin".into(), vec![1])],
    };
    let zip = synth::write_zip(&b, dir.path()).unwrap();
    let e = import(&zip, &dir.path().join("root")).unwrap_err();
    assert!(e.to_string().contains("../x.bin"), "{e}");
}

#[test]
fn every_synthetic_release_imports_cleanly() {
    for r in [
        "sip:2.3",
        "sip:6.4",
        "sip:7.4",
        "sip:8.12",
        "sccp:3.3",
        "sccp:5.0(1.1)",
        "sccp:8.0(4)",
        "sccp:8.1(2)SR2",
        "mgcp:8.0",
    ] {
        let r: phoneflip_firmware::Release = r.parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let b = synth::synth(r.protocol, r.version, SizeProfile::Small).unwrap();
        let zip = synth::write_zip(&b, dir.path()).unwrap();
        let rep = import(&zip, &dir.path().join("root")).unwrap();
        assert!(rep.problems.is_empty(), "{r}: {:?}", rep.problems);
    }
}
