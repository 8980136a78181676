//! Hand-edited control files: the first bytes pick which file the rest
//! becomes, and the whole root is scanned.
#![no_main]
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "OS79XX.TXT",
    "SIPDefault.cnf",
    "SIP002094D245CB.cnf",
    "SEP002094D245CB.cnf.xml",
    "XMLDefault.cnf.xml",
    "gkdefault.cfg",
];

fuzz_target!(|data: &[u8]| {
    let mut files = vec![("POS30203.bin".to_string(), b"x".to_vec())];
    for chunk in data.split(|&b| b == 0xff) {
        if let Some((&pick, body)) = chunk.split_first() {
            files.push((NAMES[pick as usize % NAMES.len()].to_string(), body.to_vec()));
        }
    }
    let root = phoneflip_doctor::Root::from_contents(files);
    let opts = phoneflip_doctor::Options {
        from: vec!["sip:2.1".parse().unwrap(), "sip:6.0".parse().unwrap()],
        ..Default::default()
    };
    let _ = phoneflip_doctor::scan(&root, &opts);
});
