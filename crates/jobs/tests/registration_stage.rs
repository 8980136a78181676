//! The registration stage: a converted phone of a SIP job is done only
//! when its lines registered; one that does not within the grace time
//! fails with the registrar's reason. The scheduler alone (sans-IO), then
//! the driver with a fake registrar behind `Effects` and the SQLite store.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use phoneflip_device::Mac;
use phoneflip_jobs::registration::RECHECK_MS;
use phoneflip_jobs::{
    step, tick, Action, Effects, EventSource, Job, JobState, JobStatus, JobStore, LineCheck,
    RegistrationReport, ResetMethod, ResetReport, Rollout, Schedule, SqliteJobStore, Stage,
    TransferEvent,
};

const S: i64 = 1000;
const GRACE: i64 = 60 * S;

fn with_grace(batch: u32, canary: u32, max_failures: Option<u32>) -> Rollout {
    Rollout {
        register_grace_ms: Some(GRACE),
        ..rollout(batch, canary, max_failures)
    }
}

fn line(n: u8, registered: bool, detail: &str) -> LineCheck {
    LineCheck {
        line: n,
        name: format!("10{n:02}"),
        registered,
        detail: detail.into(),
    }
}

fn report(lines: Vec<LineCheck>) -> RegistrationReport {
    RegistrationReport {
        checked_by: "fake registrar".into(),
        lines,
        problem: None,
    }
}

fn checks(actions: &[Action]) -> Vec<Mac> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::CheckRegistration { mac, .. } => Some(*mac),
            _ => None,
        })
        .collect()
}

fn started_and_reset(st: &mut JobState, now: i64) {
    let a = tick(now, st, &[]);
    for a in &a {
        if let Action::ResetPhone { mac, .. } = a {
            st.ack_reset(*mac, ResetReport::power_cycle("power cycle"));
        }
    }
}

#[test]
fn a_job_completes_only_after_its_phones_registered() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, with_grace(2, 0, None)),
        sccp_phones(2),
        0,
    )
    .unwrap();
    started_and_reset(&mut st, 0);
    let mut boot = sccp_to_sip_boot(1, S);
    boot.extend(sccp_to_sip_boot(2, S));
    boot.sort_by_key(|e| e.time_ms);
    let t = 20 * S;
    let a = tick(t, &mut st, &boot);
    assert_eq!(
        a.iter()
            .filter(|a| matches!(a, Action::MarkConverted { .. }))
            .count(),
        2
    );
    assert_eq!(checks(&a), vec![mac(1), mac(2)], "{a:?}");
    assert_eq!(st.status, JobStatus::Running);
    let c = st.counts();
    assert_eq!((c.converted, c.registering), (0, 2), "{c:?}");
    // No NOTIFY or power cycle is asked again for a converted phone.
    assert!(!a.iter().any(|a| matches!(a, Action::ResetPhone { .. })));

    // Line 1 of phone 1 registers, phone 2 is refused.
    st.ack_registration(
        mac(1),
        t + 100,
        report(vec![line(1, true, "sip:1001@10.1.0.1")]),
    );
    st.ack_registration(
        mac(2),
        t + 100,
        report(vec![line(
            1,
            false,
            "wrong password (401 after the answer)",
        )]),
    );
    // Not asked again before the re-check interval, then only phone 2.
    assert!(checks(&tick(t + RECHECK_MS - 1, &mut st, &[])).is_empty());
    let a = tick(t + RECHECK_MS, &mut st, &[]);
    assert_eq!(checks(&a), vec![mac(2)]);
    assert_eq!(st.status, JobStatus::Running, "phone 2 still has time");
    let c = st.counts();
    assert_eq!((c.converted, c.registering), (1, 1), "{c:?}");

    // The grace time runs out: phone 2 fails with the registrar's reason.
    let a = tick(t + GRACE, &mut st, &[]);
    let cause = a
        .iter()
        .find_map(|a| match a {
            Action::PhoneFailed { mac: m, cause } if *m == mac(2) => Some(cause.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{a:?}"));
    assert!(cause.contains("not registered within 60 s"), "{cause}");
    assert!(cause.contains("line 1 (1001): wrong password"), "{cause}");
    assert!(cause.contains("fake registrar"), "{cause}");
    assert_eq!(st.status, JobStatus::Completed, "{a:?}");
    assert!(a.contains(&Action::Complete {
        converted: 1,
        failed: 1
    }));
    let p1 = &st.phones[0];
    assert!(p1.registration.as_ref().unwrap().is_registered());
    assert_eq!(p1.registration.as_ref().unwrap().checks, 1);
    assert!(matches!(st.phones[1].progress.stage, Stage::Failed { .. }));
}

#[test]
fn a_phone_registers_on_a_later_check_within_the_grace_time() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, with_grace(1, 0, Some(1))),
        sccp_phones(1),
        0,
    )
    .unwrap();
    started_and_reset(&mut st, 0);
    tick(20 * S, &mut st, &sccp_to_sip_boot(1, S));
    st.ack_registration(
        mac(1),
        20 * S,
        report(vec![line(1, false, "no binding yet")]),
    );
    st.ack_registration(
        mac(1),
        23 * S,
        report(vec![line(1, true, "c1"), line(2, false, "no binding")]),
    );
    assert!(!st.phones[0].registration.as_ref().unwrap().is_registered());
    st.ack_registration(
        mac(1),
        26 * S,
        report(vec![line(1, true, "c1"), line(2, true, "c2")]),
    );
    let a = tick(27 * S, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Completed, "{a:?}");
    assert_eq!(st.counts().converted, 1);
    assert_eq!(
        st.phones[0].registration.as_ref().unwrap().registered_ms,
        Some(26 * S)
    );
}

#[test]
fn a_check_that_cannot_look_at_lines_is_not_a_registration() {
    let r = RegistrationReport::problem("kamailio", "cannot reach Kamailio");
    assert!(!r.all_registered());
    assert!(r.why_not().contains("cannot reach Kamailio"));
    assert!(
        !report(vec![]).all_registered(),
        "no line is not registered"
    );
    let with_problem = RegistrationReport {
        problem: Some("proxy_register is 0".into()),
        ..report(vec![line(1, true, "c")])
    };
    assert!(!with_problem.all_registered());
}

#[test]
fn a_canary_that_does_not_register_stops_the_fleet() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, with_grace(5, 1, None)),
        sccp_phones(3),
        0,
    )
    .unwrap();
    started_and_reset(&mut st, 0);
    let a = tick(20 * S, &mut st, &sccp_to_sip_boot(1, S));
    // The canary converted but the batch waits for its registration.
    assert!(
        !a.iter().any(|a| matches!(a, Action::StartBatch { .. })),
        "{a:?}"
    );
    st.ack_registration(
        mac(1),
        20 * S,
        report(vec![line(1, false, "403 Forbidden")]),
    );
    let a = tick(20 * S + GRACE, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Failed, "{a:?}");
    let why = st.reason.clone().unwrap();
    assert!(why.contains("canary"), "{why}");
    assert!(why.contains("403 Forbidden"), "{why}");
    assert!(st.phones[1..].iter().all(|p| p.started_ms.is_none()));
}

#[test]
fn phones_already_on_the_target_are_checked_not_reset() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, with_grace(5, 0, None)),
        sip_phones(2),
        0,
    )
    .unwrap();
    let a = tick(0, &mut st, &[]);
    assert!(
        !a.iter().any(|a| matches!(a, Action::ResetPhone { .. })),
        "{a:?}"
    );
    assert_eq!(checks(&a), vec![mac(1), mac(2)]);
    assert_eq!(st.status, JobStatus::Running);
    for n in [1, 2] {
        st.ack_registration(mac(n), S, report(vec![line(1, true, "c")]));
    }
    let a = tick(2 * S, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Completed, "{a:?}");
}

#[test]
fn an_sccp_target_or_no_grace_time_ends_at_conversion() {
    for j in [
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        job("sccp:8.1(2)SR2", Schedule::Now, with_grace(1, 0, None)),
    ] {
        assert!(!j.waits_for_registration(), "{j:?}");
        let st = JobState::new(j.clone(), sip_phones(1), 0).unwrap();
        assert!(st.phones[0].registration.is_none(), "{j:?}");
    }
}

#[test]
fn a_zero_grace_time_is_refused_with_the_flag_to_use() {
    let j = job(
        "sip:8.12",
        Schedule::Now,
        Rollout {
            register_grace_ms: Some(0),
            ..rollout(1, 0, None)
        },
    );
    let e = j.validate().unwrap_err().to_string();
    assert!(e.contains("--register-grace"), "{e}");
}

/// The driver with a fake registrar: answers come from a table the test
/// fills, as Kamailio's `ul.dump` would change while phones register.
struct FakeRegistrar {
    answers: Mutex<BTreeMap<Mac, RegistrationReport>>,
    asked: Mutex<Vec<Mac>>,
}

impl Effects for FakeRegistrar {
    async fn reset(
        &self,
        _: &Job,
        mac: Mac,
        method: ResetMethod,
        _: Option<std::net::IpAddr>,
    ) -> ResetReport {
        assert_eq!(method, ResetMethod::PowerCycle);
        ResetReport::power_cycle(format!("{mac}: power cycle"))
    }

    async fn check_registration(
        &self,
        _: &Job,
        mac: Mac,
        _: Option<std::net::IpAddr>,
    ) -> RegistrationReport {
        self.asked.lock().unwrap().push(mac);
        self.answers
            .lock()
            .unwrap()
            .get(&mac)
            .cloned()
            .unwrap_or_else(|| report(vec![line(1, false, "no binding")]))
    }
}

struct Events(Mutex<Vec<TransferEvent>>);

impl EventSource for Events {
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, TransferEvent)>, String> {
        let v = self.0.lock().unwrap();
        Ok(v.iter()
            .enumerate()
            .map(|(i, e)| (i as i64 + 1, e.clone()))
            .filter(|(i, _)| *i > after)
            .take(limit)
            .collect())
    }
}

#[tokio::test]
async fn the_driver_asks_the_registrar_and_stores_the_verdicts() {
    let store = Arc::new(SqliteJobStore::open_in_memory().unwrap());
    let id = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::At(0), with_grace(3, 0, None)),
                sccp_phones(3),
                0,
            )
            .unwrap(),
        )
        .unwrap()
        .job
        .id;
    let events = Events(Mutex::new(Vec::new()));
    let fake = FakeRegistrar {
        answers: Mutex::new(BTreeMap::new()),
        asked: Mutex::new(Vec::new()),
    };
    step(0, store.as_ref(), &events, &fake).await.unwrap();
    {
        let mut v = events.0.lock().unwrap();
        for n in 1..=3 {
            v.extend(sccp_to_sip_boot(n, S));
        }
        v.sort_by_key(|e| e.time_ms);
    }
    step(20 * S, store.as_ref(), &events, &fake).await.unwrap();
    assert_eq!(*fake.asked.lock().unwrap(), vec![mac(1), mac(2), mac(3)]);
    let st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!(st.counts().registering, 3);
    let stored = st.phones[0].registration.as_ref().unwrap();
    assert_eq!(stored.checks, 1);
    assert!(stored
        .last
        .as_ref()
        .unwrap()
        .why_not()
        .contains("no binding"));

    {
        let mut a = fake.answers.lock().unwrap();
        a.insert(
            mac(1),
            report(vec![line(1, true, "sip:1001@10.1.0.1:5060")]),
        );
        a.insert(
            mac(2),
            report(vec![line(1, true, "sip:1001@10.1.0.2:5060")]),
        );
        a.insert(
            mac(3),
            RegistrationReport {
                problem: Some("proxy_register is 0, so the phone never sends REGISTER".into()),
                ..report(vec![line(1, false, "no binding")])
            },
        );
    }
    step(20 * S + RECHECK_MS, store.as_ref(), &events, &fake)
        .await
        .unwrap();
    let st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!((st.counts().converted, st.counts().registering), (2, 1));
    // Registered phones are not asked again.
    step(20 * S + 2 * RECHECK_MS, store.as_ref(), &events, &fake)
        .await
        .unwrap();
    assert_eq!(
        fake.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|m| **m == mac(1))
            .count(),
        2
    );

    step(20 * S + GRACE, store.as_ref(), &events, &fake)
        .await
        .unwrap();
    let st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Completed);
    match &st.phones[2].progress.stage {
        Stage::Failed { cause } => assert!(cause.contains("proxy_register is 0"), "{cause}"),
        s => panic!("{s:?}"),
    }
    let contact = &st.phones[0]
        .registration
        .as_ref()
        .unwrap()
        .last
        .as_ref()
        .unwrap()
        .lines[0];
    assert_eq!(contact.detail, "sip:1001@10.1.0.1:5060");
}
