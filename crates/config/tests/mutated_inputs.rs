//! The fuzz target's checks, run by proptest on mutations of realistic
//! files (cargo-fuzz needs nightly; this runs in every `cargo test`).

use phoneflip_config::{
    DialPlan, GkDefault, Os79xx, RingList, SepDevice, SipCnf, SyncInfo, XmlDefault,
};
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    "P0S3-8-12-00\n",
    "image_version: \"P0S3-8-12-00\"\r\n# c\nproxy1_address: 10.0.0.1 ; x\nmessages_uri : \"\"\n",
    "#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin\n",
    "<device><deviceProtocol>SIP</deviceProtocol><devicePool><callManagerGroup><members><member priority=\"0\"><callManager><ports><ethernetPhonePort>2000</ethernetPhonePort></ports><processNodeName>cm &amp; 1</processNodeName></callManager></member></members></callManagerGroup></devicePool><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>",
    "<Default><loadInformation8 model=\"IP Phone 7940\">P0030801SR02</loadInformation8><loadInformation30008 model=\"x\">y</loadInformation30008></Default>",
    "Analog1\tAnalog1.raw\r\nOld Style ringer1.pcm\n",
    "<DIALTEMPLATE><TEMPLATE MATCH=\"[2-9]XXX\" Timeout=\"4\" User=\"Phone\" Route=\"r\"/></DIALTEMPLATE>",
    "<SYNCINFO><IMAGE VERSION=\"*\" SYNC=\"2\"/></SYNCINFO>",
];

fn check(data: &[u8]) {
    phoneflip_config::roundtrip::check_all(data);
}

#[test]
fn the_seeds_parse_as_what_they_are() {
    assert!(Os79xx::parse(SEEDS[0].as_bytes()).is_ok());
    assert!(SipCnf::parse("f", SEEDS[1].as_bytes()).is_ok());
    assert!(GkDefault::parse("f", SEEDS[2].as_bytes())
        .unwrap()
        .upgrade()
        .is_some());
    assert_eq!(
        SepDevice::parse("f", SEEDS[3].as_bytes())
            .unwrap()
            .call_managers[0]
            .process_node_name,
        "cm & 1"
    );
    assert_eq!(
        XmlDefault::parse("f", SEEDS[4].as_bytes())
            .unwrap()
            .other_loads
            .len(),
        1
    );
    assert_eq!(
        RingList::parse("f", SEEDS[5].as_bytes())
            .unwrap()
            .rings
            .len(),
        2
    );
    assert_eq!(
        DialPlan::parse("f", SEEDS[6].as_bytes()).unwrap().rules[0]
            .other
            .len(),
        1
    );
    assert_eq!(
        SyncInfo::parse("f", SEEDS[7].as_bytes())
            .unwrap()
            .images
            .len(),
        1
    );
    for s in SEEDS {
        check(s.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn mutated_files_never_panic_and_round_trip(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..6),
    ) {
        let mut data = SEEDS[seed].as_bytes().to_vec();
        for (at, op, byte) in edits {
            let i = if data.is_empty() { 0 } else { at.index(data.len()) };
            match op {
                0 if !data.is_empty() => { data[i] = byte; }
                1 => data.insert(i, byte),
                _ if !data.is_empty() => { data.remove(i); }
                _ => {}
            }
        }
        check(&data);
    }
}
