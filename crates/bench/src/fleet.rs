//! The benchmark's TFTP root and phone fleet: one root served by every
//! server, and an inventory whose phones get their files rendered by
//! phoneflip's provisioning pipeline.
//!
//! The peers cannot render, so the root also holds each phone's file as
//! phoneflip renders it: every server sends the same bytes for the same
//! name, and only how they are produced differs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use phoneflip_config::Line;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
use phoneflip_provision::{Decision, Provisioner};

use crate::BenchError;

/// The firmware image every image scenario fetches (1 MiB, synthetic).
pub const IMAGE: &str = "P0S3-8-12-00.sb2";
pub const IMAGE_LEN: usize = 1 << 20;
/// Size of each static per-phone configuration file.
pub const STATIC_LEN: usize = 2048;

/// Placeholders that make the releases the fleet moves to exist in the
/// root, so the planner finds them (their bytes are never checked).
const FIRMWARE: &[&str] = &[
    "P0S3-8-12-00.loads",
    "P003-8-12-00.bin",
    "P003-8-12-00.sbn",
    "P0030801SR02.loads",
    "P0030801SR02.sb2",
    "P0030801SR02.bin",
    "P0030801SR02.sbn",
];

/// Phone `i` of the inventory (rendered files).
pub fn phone_mac(i: usize) -> Mac {
    format!("0019AA{:06X}", 0x10_0000 + i)
        .parse()
        .expect("valid MAC")
}

/// Owner of static per-phone file `i`: not in the inventory, so phoneflip
/// serves it from the root like the peers do.
pub fn static_mac(i: usize) -> Mac {
    format!("0019BB{:06X}", 0x20_0000 + i)
        .parse()
        .expect("valid MAC")
}

/// The file phone `i` asks for: even phones are moving to SIP 8.12
/// (SIP<MAC>.cnf), odd ones stay on SCCP 8.1(2)SR2 (SEP<MAC>.cnf.xml).
pub fn rendered_name(i: usize) -> String {
    if is_sccp(i) {
        format!("SEP{}.cnf.xml", phone_mac(i))
    } else {
        format!("SIP{}.cnf", phone_mac(i))
    }
}

fn is_sccp(i: usize) -> bool {
    i % 2 == 1
}

pub fn static_name(i: usize) -> String {
    format!("SIP{}.cnf", static_mac(i))
}

/// The synthetic image: not compressible, not periodic at block size, so
/// a block sent twice or out of order is caught by the byte comparison.
pub fn image_bytes() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..IMAGE_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn static_bytes(i: usize) -> Vec<u8> {
    let mut s = format!(
        "# static configuration of {}\nimage_version: P0S3-8-12-00\nproxy1_address: 192.0.2.10\n",
        static_mac(i)
    );
    while s.len() < STATIC_LEN {
        s.push_str("# padding to the size of a typical SIP<MAC>.cnf with comments\n");
    }
    s.truncate(STATIC_LEN);
    s.into_bytes()
}

/// An in-memory inventory of `phones` phones, built the same way in the
/// harness and in the phoneflip server process (so both agree on it).
pub fn inventory(phones: usize) -> Result<Arc<dyn Inventory>, BenchError> {
    let inv = SqliteInventory::open_in_memory().map_err(|e| BenchError::Setup {
        what: "in-memory inventory".into(),
        reason: e.to_string(),
    })?;
    for i in 0..phones {
        let model = if i % 3 == 1 {
            Model::Cp7940
        } else {
            Model::Cp7960
        };
        let mut p = Phone::new(phone_mac(i), model);
        let load = if is_sccp(i) {
            "P0030801SR02"
        } else {
            "P0S3-8-12-00"
        };
        p.observed_load = Some(load.parse().expect("valid load"));
        p.desired_load = Some(load.parse().expect("valid load"));
        p.description = format!("bench phone {i}");
        p.label = Some(format!("Desk {i}"));
        // Every line the model has, fully set, as a real fleet's are.
        let lines = if model == Model::Cp7940 { 2 } else { 6 };
        p.lines = (1..=lines)
            .map(|n| Line {
                number: n,
                name: format!("{}", 20000 + i * 10 + n as usize),
                authname: Some(format!("auth{}", 20000 + i * 10 + n as usize)),
                password: Some(format!("secret-{i}-{n}")),
                displayname: Some(format!("Bench Phone {i} line {n}")),
                shortname: Some(format!("{}", 20000 + i * 10 + n as usize)),
            })
            .collect();
        inv.put_phone(&p).map_err(|e| BenchError::Setup {
            what: format!("phone {} in the inventory", phone_mac(i)),
            reason: e.to_string(),
        })?;
    }
    Ok(Arc::new(inv))
}

/// The provisioning pipeline over `root` and [`inventory`], as
/// `phoneflip serve` builds it.
pub fn provisioner(root: &Path, phones: usize) -> Result<Provisioner, BenchError> {
    let catalogue = Provisioner::catalogue_of(root).map_err(|e| BenchError::Setup {
        what: format!("catalogue of {}", root.display()),
        reason: e.to_string(),
    })?;
    Ok(Provisioner::new(inventory(phones)?, catalogue, None))
}

fn write(path: &Path, data: &[u8]) -> Result<(), BenchError> {
    std::fs::write(path, data)
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)))
        .map_err(|e| BenchError::Setup {
            what: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// What the clients check fetched files against.
pub struct RootContents {
    pub image: Arc<Vec<u8>>,
    pub static_files: Arc<Vec<Vec<u8>>>,
    pub rendered_files: Arc<Vec<Vec<u8>>>,
}

/// Fills `root` (world-readable: tftpd-hpa and dnsmasq drop to `nobody`)
/// with the image, firmware placeholders, `files` static per-phone files
/// and the rendered file of each of `files` inventory phones.
pub fn populate(root: &Path, files: usize) -> Result<RootContents, BenchError> {
    std::fs::create_dir_all(root)
        .and_then(|_| std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| BenchError::Setup {
            what: root.display().to_string(),
            reason: e.to_string(),
        })?;
    let image = image_bytes();
    write(&root.join(IMAGE), &image)?;
    for f in FIRMWARE {
        write(
            &root.join(f),
            b"phoneflip benchmark placeholder, not firmware\n",
        )?;
    }
    let mut static_files = Vec::with_capacity(files);
    for i in 0..files {
        let b = static_bytes(i);
        write(&root.join(static_name(i)), &b)?;
        static_files.push(b);
    }
    let prov = provisioner(root, files)?;
    let mut rendered_files = Vec::with_capacity(files);
    for i in 0..files {
        let name = rendered_name(i);
        match prov.decide(&name, Some(phone_mac(i))) {
            (Decision::Rendered { .. }, Some(bytes)) => {
                write(&root.join(&name), &bytes)?;
                rendered_files.push(bytes.to_vec());
            }
            (other, _) => {
                return Err(BenchError::Setup {
                    what: format!("rendering {name}"),
                    reason: format!(
                        "the provisioning pipeline decided {other:?}, not a rendered file"
                    ),
                })
            }
        }
    }
    Ok(RootContents {
        image: Arc::new(image),
        static_files: Arc::new(static_files),
        rendered_files: Arc::new(rendered_files),
    })
}
