//! Builders shared by the integration tests.
#![allow(dead_code)]

use std::net::IpAddr;

use phoneflip_device::Mac;
use phoneflip_jobs::{
    Job, Millis, Query, Rollout, Schedule, Selected, Target, TransferEvent, TransferOutcome,
};

pub fn mac(n: u32) -> Mac {
    format!("0019AA{n:06X}").parse().unwrap()
}

pub fn ip(n: u32) -> IpAddr {
    IpAddr::from([10, 1, (n >> 8) as u8, n as u8])
}

pub fn job(target: &str, schedule: Schedule, rollout: Rollout) -> Job {
    Job {
        id: 0,
        description: "2nd floor to SIP".into(),
        query: Query::default(),
        template: "sip-default".into(),
        target: target.parse::<Target>().unwrap(),
        schedule,
        rollout,
        created_ms: 0,
    }
}

pub fn rollout(batch: u32, canary: u32, max_failures: Option<u32>) -> Rollout {
    Rollout {
        batch_size: batch,
        canary_size: canary,
        max_failures,
        phone_timeout_ms: 30 * 60_000,
        // Conversion is the last stage here; registration has its own tests.
        register_grace_ms: None,
    }
}

pub fn sccp_phones(n: u32) -> Vec<Selected> {
    (1..=n)
        .map(|i| Selected {
            mac: mac(i),
            current_load: Some("P0030801SR02".parse().unwrap()),
        })
        .collect()
}

pub fn sip_phones(n: u32) -> Vec<Selected> {
    (1..=n)
        .map(|i| Selected {
            mac: mac(i),
            current_load: Some("P0S3-8-12-00".parse().unwrap()),
        })
        .collect()
}

/// One transfer by phone `n`, as the request pipeline records it: the
/// phone identified by its per-MAC files, and shared files tied to it by
/// the address that asked for them.
pub fn ev(n: u32, t: Millis, file: &str, outcome: TransferOutcome) -> TransferEvent {
    let m = mac(n);
    let file = file.replace("<MAC>", &m.to_string());
    TransferEvent::new(t, Some(m), Some(ip(n)), &file, 0, outcome)
}

pub use TransferOutcome::{NotFound, Sent};

pub fn failed(why: &str) -> TransferOutcome {
    TransferOutcome::Failed(why.into())
}

/// The SCCP 8.1(2) -> SIP 8.12 two-stage boot from domain-facts.md, with
/// SEP<MAC>.cnf.xml missing so the loader hunts, starting at `t0`.
pub fn sccp_to_sip_boot(n: u32, t0: Millis) -> Vec<TransferEvent> {
    let hunt = [
        ("CTLSEP<MAC>.tlv", NotFound),
        ("SEP<MAC>.cnf.xml", NotFound),
        ("SIP<MAC>.cnf", NotFound),
        ("MGC<MAC>.cnf", NotFound),
        ("XMLDefault.cnf.xml", Sent),
    ];
    let mut seq: Vec<(&str, TransferOutcome)> = Vec::new();
    seq.extend(hunt.iter().cloned());
    seq.push(("P0S3-8-12-00.loads", Sent));
    seq.push(("P003-8-12-00.sbn", Sent));
    seq.extend(hunt.iter().cloned());
    seq.push(("P0S3-8-12-00.loads", Sent));
    seq.push(("P0S3-8-12-00.sb2", Sent));
    seq.push(("SIPDefault.cnf", Sent));
    seq.push(("SIP<MAC>.cnf", Sent));
    seq.into_iter()
        .enumerate()
        .map(|(i, (f, o))| ev(n, t0 + i as Millis * 1000, f, o))
        .collect()
}
