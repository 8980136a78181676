//! Auto-registration and revert against a real inventory.

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{Inventory, PhoneFilter, SqliteInventory};
use phoneflip_jobs::{decide, plan_revert, AutoRegistration, Decision, ResetMethod, RevertError};

fn sccp_default() -> AutoRegistration {
    AutoRegistration {
        protocol: Protocol::Sccp,
        load: Some("P0030801SR02".parse().unwrap()),
        template: None,
        assumed_model: Model::Cp7960,
    }
}

/// What a server does with a request: look up, decide, store.
fn serve(inv: &SqliteInventory, file: &str, defaults: &AutoRegistration) -> Decision {
    let known = phoneflip_config::filename::mac_in(file).and_then(|m| inv.get_phone(m).unwrap());
    let d = decide(file, known.as_ref(), None, defaults, 1000);
    if let Decision::Register(p) = &d {
        assert!(inv.insert_phone_if_absent(p).unwrap());
    }
    d
}

#[test]
fn an_unknown_phone_is_auto_registered_with_the_default_protocol() {
    let inv = SqliteInventory::open_in_memory().unwrap();
    let mac: Mac = "002094D245CB".parse().unwrap();
    assert_eq!(
        serve(&inv, "SIPDefault.cnf", &sccp_default()),
        Decision::NotPerPhone
    );
    match serve(&inv, "SEP002094D245CB.cnf.xml", &sccp_default()) {
        Decision::Register(p) => {
            assert_eq!(p.mac, mac);
            assert!(p.auto_registered);
            assert_eq!(p.desired_protocol, Some(Protocol::Sccp));
            assert_eq!(p.desired_load.unwrap().as_str(), "P0030801SR02");
            assert!(p.description.contains("SEP002094D245CB.cnf.xml"));
        }
        d => panic!("{d:?}"),
    }
    // Its next request finds it.
    assert_eq!(
        serve(&inv, "SIP002094D245CB.cnf", &sccp_default()),
        Decision::Known(mac)
    );
    let auto = inv
        .list_phones(&PhoneFilter {
            auto_registered: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(auto.len(), 1);
    // A lower-case name is not a phone's request (the reference's case rule).
    assert_eq!(
        serve(&inv, "sep002094d245cb.cnf.xml", &sccp_default()),
        Decision::NotPerPhone
    );
}

#[test]
fn a_default_load_of_another_protocol_is_not_given() {
    let mut d = sccp_default();
    d.protocol = Protocol::Sip;
    match decide("SEP002094D245CB.cnf.xml", None, Some(Model::Cp7940), &d, 0) {
        Decision::Register(p) => {
            assert_eq!(p.model, Model::Cp7940);
            assert_eq!(p.desired_protocol, Some(Protocol::Sip));
            assert_eq!(p.desired_load, None);
        }
        x => panic!("{x:?}"),
    }
}

#[test]
fn reverting_deletes_the_phone_and_it_comes_back_as_sccp() {
    let inv = SqliteInventory::open_in_memory().unwrap();
    let mac: Mac = "002094D245CB".parse().unwrap();
    let mut sip = sccp_default();
    sip.protocol = Protocol::Sip;
    sip.load = Some("P0S3-8-12-00".parse().unwrap());
    // Converted under a SIP default.
    serve(&inv, "SEP002094D245CB.cnf.xml", &sip);
    let mut p = inv.get_phone(mac).unwrap().unwrap();
    p.observed_load = Some("P0S3-8-12-00".parse().unwrap());
    inv.put_phone(&p).unwrap();

    // Reverting while the default is still SIP would bring it back as SIP.
    assert_eq!(
        plan_revert(&p, &sip),
        Err(RevertError::SameProtocol {
            mac,
            protocol: Protocol::Sip
        })
    );
    // With the default set to SCCP: delete, reset, and it re-registers.
    let plan = plan_revert(&p, &sccp_default()).unwrap();
    assert_eq!(plan.delete, mac);
    assert_eq!(plan.comes_back_as, Protocol::Sccp);
    assert_eq!(plan.reset, ResetMethod::CheckSync);
    assert!(inv.delete_phone(plan.delete).unwrap());
    match serve(&inv, "SIP002094D245CB.cnf", &sccp_default()) {
        Decision::Register(p) => assert_eq!(p.desired_protocol, Some(Protocol::Sccp)),
        d => panic!("{d:?}"),
    }
    let back = inv.get_phone(mac).unwrap().unwrap();
    assert!(back.auto_registered);
    assert_eq!(back.target_protocol(), Some(Protocol::Sccp));
}

#[test]
fn bumping_sync_raises_the_phones_override() {
    use phoneflip_jobs::{next_sync, InventorySyncBumper, SyncBumper};
    use std::sync::Arc;
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_template(&phoneflip_config::Template {
        name: "sip".into(),
        protocol: Protocol::Sip,
        settings: [("sync".to_string(), "7".to_string())].into(),
    })
    .unwrap();
    let mac: Mac = "002094D245CB".parse().unwrap();
    let mut p = phoneflip_inventory::Phone::new(mac, Model::Cp7960);
    p.template = Some("sip".into());
    inv.put_phone(&p).unwrap();
    let b = InventorySyncBumper(inv.clone());
    assert_eq!(b.bump_sync(mac).unwrap(), "8");
    assert_eq!(b.bump_sync(mac).unwrap(), "9");
    let p = inv.get_phone(mac).unwrap().unwrap();
    assert_eq!(p.overrides.get("sync").map(String::as_str), Some("9"));
    assert!(b.bump_sync("002094D245CC".parse().unwrap()).is_err());
    assert_eq!(next_sync("release-a", 5), "5");
    assert_eq!(next_sync("5", 5), "6");
    assert_eq!(
        next_sync(&"x".repeat(40), 1_795_631_400_000),
        "1795631400000"
    );
}
