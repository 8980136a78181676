//! The sans-IO scheduler: schedule, canary gating, batches, thresholds.

mod common;
use common::*;

use phoneflip_device::Mac;
use phoneflip_jobs::{
    tick, Action, JobState, JobStatus, ResetMethod, ResetReport, Schedule, Stage,
};

const MIN: i64 = 60_000;

fn started(actions: &[Action]) -> Vec<(u32, bool, Vec<Mac>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartBatch {
                batch,
                canary,
                macs,
            } => Some((*batch, *canary, macs.clone())),
            _ => None,
        })
        .collect()
}

fn converted_boot(n: u32, t0: i64) -> Vec<phoneflip_jobs::TransferEvent> {
    sccp_to_sip_boot(n, t0)
}

#[test]
fn a_job_scheduled_later_waits_for_its_time() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::At(10 * MIN), rollout(2, 0, None)),
        sccp_phones(2),
        0,
    )
    .unwrap();
    assert_eq!(st.status, JobStatus::Pending);
    assert!(tick(0, &mut st, &[]).is_empty());
    assert_eq!(st.status, JobStatus::Scheduled);
    assert!(tick(10 * MIN - 1, &mut st, &[]).is_empty());
    assert_eq!(st.status, JobStatus::Scheduled);
    let a = tick(10 * MIN, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!(st.started_ms, Some(10 * MIN));
    assert_eq!(started(&a), vec![(0, false, vec![mac(1), mac(2)])]);
}

#[test]
fn canary_gates_the_rest_and_batches_have_their_size() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(3, 1, None)),
        sccp_phones(6),
        0,
    )
    .unwrap();
    let a = tick(0, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!(started(&a), vec![(0, true, vec![mac(1)])]);
    // SCCP phones cannot be reset remotely: a power cycle with a report line.
    let resets: Vec<_> = a
        .iter()
        .filter(|x| matches!(x, Action::ResetPhone { .. }))
        .collect();
    assert_eq!(resets.len(), 1);
    assert!(matches!(
        resets[0],
        Action::ResetPhone {
            method: ResetMethod::PowerCycle,
            ..
        }
    ));
    assert!(resets[0].report_line().contains("POWER CYCLE"));

    // The canary is halfway (loader fetched): nobody else starts.
    let boot = converted_boot(1, MIN);
    let a = tick(2 * MIN, &mut st, &boot[..8]);
    assert!(started(&a).is_empty(), "{a:?}");
    // Another phone fetching files on its own changes nothing either.
    let a = tick(3 * MIN, &mut st, &converted_boot(5, 2 * MIN)[..3]);
    assert!(started(&a).is_empty(), "{a:?}");

    let a = tick(4 * MIN, &mut st, &boot[8..]);
    assert!(a.contains(&Action::MarkConverted {
        mac: mac(1),
        file: "SIPDefault.cnf".into()
    }));
    assert_eq!(started(&a), vec![(1, false, vec![mac(2), mac(3), mac(4)])]);

    // Batch 1 converts; batch 2 holds what is left (5, 6).
    let evs: Vec<_> = (2..=4).flat_map(|n| converted_boot(n, 5 * MIN)).collect();
    let a = tick(6 * MIN, &mut st, &evs);
    assert_eq!(started(&a), vec![(2, false, vec![mac(5), mac(6)])]);
    let evs: Vec<_> = (5..=6).flat_map(|n| converted_boot(n, 7 * MIN)).collect();
    let a = tick(8 * MIN, &mut st, &evs);
    assert_eq!(
        a.last(),
        Some(&Action::Complete {
            converted: 6,
            failed: 0
        })
    );
    assert_eq!(st.status, JobStatus::Completed);
    assert!(tick(9 * MIN, &mut st, &[]).is_empty());
}

#[test]
fn a_failed_canary_fails_the_job_and_touches_nobody_else() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(5, 1, None)),
        sccp_phones(4),
        0,
    )
    .unwrap();
    tick(0, &mut st, &[]);
    let mut loop_ = vec![ev(1, MIN - 1, "SEP<MAC>.cnf.xml", Sent)];
    loop_.extend((0..3).map(|i| ev(1, MIN + i, "P0S3-8-12-00.loads", failed("State Error"))));
    let a = tick(2 * MIN, &mut st, &loop_);
    assert_eq!(st.status, JobStatus::Failed);
    assert!(matches!(&a[0], Action::PhoneFailed { mac: m, .. } if *m == mac(1)));
    match a.last().unwrap() {
        Action::Fail { reason } => {
            assert!(reason.contains("canary"), "{reason}");
            assert!(reason.contains("State Error"), "{reason}");
        }
        x => panic!("{x:?}"),
    }
    assert!(st.phones[1..].iter().all(|p| p.started_ms.is_none()));
}

#[test]
fn the_failure_threshold_stops_the_job() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(4, 0, Some(2))),
        sccp_phones(8),
        0,
    )
    .unwrap();
    let a = tick(0, &mut st, &[]);
    assert_eq!(started(&a)[0].2.len(), 4);
    // One failure is under the threshold: the job keeps going.
    let mut f1 = vec![ev(1, MIN - 1, "SEP<MAC>.cnf.xml", Sent)];
    f1.extend((0..3).map(|i| ev(1, MIN + i, "P003-8-12-00.sbn", failed("Timeout"))));
    tick(2 * MIN, &mut st, &f1);
    assert_eq!(st.status, JobStatus::Running);
    let mut f2 = vec![ev(2, MIN - 1, "SEP<MAC>.cnf.xml", Sent)];
    f2.extend((0..3).map(|i| ev(2, MIN + i, "P0S3-8-12-00.sb2", failed("State Error"))));
    let a = tick(3 * MIN, &mut st, &f2);
    assert_eq!(st.status, JobStatus::Failed);
    assert!(matches!(a.last(), Some(Action::Fail { reason }) if reason.contains("threshold of 2")));
    assert_eq!(st.counts().failed, 2);
    assert!(st.phones[4..].iter().all(|p| p.started_ms.is_none()));
}

#[test]
fn a_silent_phone_times_out() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        sip_phones(0).into_iter().chain(sccp_phones(2)).collect(),
        0,
    )
    .unwrap();
    tick(0, &mut st, &[]);
    st.ack_reset(mac(1), ResetReport::power_cycle("power cycle listed"));
    let a = tick(30 * MIN - 1, &mut st, &[]);
    assert!(a.is_empty());
    let a = tick(30 * MIN, &mut st, &[]);
    match &a[0] {
        Action::PhoneFailed { mac: m, cause } => {
            assert_eq!(*m, mac(1));
            assert!(cause.contains("30 min"), "{cause}");
        }
        x => panic!("{x:?}"),
    }
    // No threshold: the next batch starts.
    assert_eq!(started(&a), vec![(1, false, vec![mac(2)])]);
}

#[test]
fn phones_already_on_target_are_not_reset_and_sip_phones_get_check_sync() {
    let mut phones = sip_phones(1);
    phones.push(phoneflip_jobs::Selected {
        mac: mac(2),
        current_load: Some("POS3-07-4-00".parse().unwrap()),
    });
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(5, 0, None)),
        phones,
        0,
    )
    .unwrap();
    assert!(matches!(
        st.phones[0].progress.stage,
        Stage::Converted { .. }
    ));
    let a = tick(0, &mut st, &[]);
    assert_eq!(started(&a), vec![(0, false, vec![mac(2)])]);
    assert!(a.contains(&Action::ResetPhone {
        mac: mac(2),
        method: ResetMethod::CheckSync,
        ip: None
    }));
}

#[test]
fn shared_files_are_attributed_by_client_address() {
    // A phone's image fetches carry no MAC; the address it used for its
    // per-MAC files ties them to it. That memory is the request
    // pipeline's (phoneflip_provision::AddressBook), whose events the
    // scheduler reads.
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        sccp_phones(1),
        0,
    )
    .unwrap();
    tick(0, &mut st, &[]);
    // As the TFTP server sees the boot: a MAC only in per-MAC names.
    let mut boot = sccp_to_sip_boot(1, MIN);
    for e in &mut boot {
        e.mac = e.kind.mac();
    }
    assert!(boot.iter().any(|e| e.mac.is_none()));
    let phones = phoneflip_provision::AddressBook::new();
    for e in &mut boot {
        let name = phoneflip_config::FileName::classify(&e.file);
        e.mac = phones.identify(e.client_ip.unwrap(), &name);
    }
    tick(2 * MIN, &mut st, &boot);
    assert_eq!(st.status, JobStatus::Completed);
    assert_eq!(st.phones[0].ip, Some(ip(1)));
}

#[test]
fn cancel_follows_the_table() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        sccp_phones(1),
        0,
    )
    .unwrap();
    st.cancel(5, "operator").unwrap();
    assert_eq!(st.status, JobStatus::Cancelled);
    assert!(tick(10, &mut st, &[]).is_empty());
    assert!(st.cancel(6, "again").is_err());
}

#[test]
fn bad_jobs_are_refused() {
    let e = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(0, 0, None)),
        vec![],
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--batch"), "{e}");
    let e = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, Some(0))),
        vec![],
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--max-failures"), "{e}");
}

#[test]
fn resets_are_asked_for_until_acknowledged() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(2, 0, None)),
        sccp_phones(2),
        0,
    )
    .unwrap();
    let resets = |a: &[Action]| {
        a.iter()
            .filter_map(|x| match x {
                Action::ResetPhone { mac, .. } => Some(*mac),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let a = tick(0, &mut st, &[]);
    assert_eq!(resets(&a), vec![mac(1), mac(2)]);
    st.ack_reset(mac(1), ResetReport::power_cycle("power cycle listed"));
    let a = tick(1, &mut st, &[]);
    assert_eq!(resets(&a), vec![mac(2)], "an unconfirmed reset is repeated");
    st.ack_reset(mac(2), ResetReport::power_cycle("power cycle listed"));
    assert!(tick(2, &mut st, &[]).is_empty());
    assert_eq!(st.phones[0].note.as_deref(), Some("power cycle listed"));
}

/// The TFTP server's image cap, as the request pipeline records it: the
/// server's own back-pressure (the request got no answer, the phone asks
/// again), from the server's event through the store's outcome.
fn busy(n: u32, t: i64, file: &str) -> phoneflip_jobs::TransferEvent {
    use phoneflip_tftp::log::{Direction, EventOutcome};
    let m = mac(n);
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t as u64);
    let server = phoneflip_tftp::TransferEvent {
        file: file.into(),
        client: std::net::SocketAddr::new(ip(n), 50_000),
        direction: Direction::Send,
        virtual_file: false,
        bytes: 0,
        size: None,
        outcome: EventOutcome::Busy(format!(
            "250 image downloads in progress (the image cap); '{file}' not sent, the phone will retry"
        )),
        started: at,
        ended: at,
    };
    let e = phoneflip_provision::to_event(&server, Some(m));
    assert_eq!(e.outcome, phoneflip_inventory::Outcome::Busy);
    phoneflip_jobs::TransferEvent::from(&e)
}

#[test]
fn image_cap_refusals_are_back_pressure_not_failures() {
    // --max-failures 1: one phone marked failed would stop the job.
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(2, 0, Some(1))),
        sccp_phones(2),
        0,
    )
    .unwrap();
    tick(0, &mut st, &[]);
    // Both phones are held back by the cap many times over, on every
    // image, before they get them.
    let mut evs = Vec::new();
    for n in 1..=2 {
        let boot = sccp_to_sip_boot(n, MIN);
        for e in boot {
            if e.kind.is_image() {
                for k in 0..5 {
                    evs.push(busy(n, e.time_ms - 10 + k, &e.file));
                }
            }
            evs.push(e);
        }
    }
    let a = tick(2 * MIN, &mut st, &evs);
    assert!(
        !a.iter()
            .any(|x| matches!(x, Action::PhoneFailed { .. } | Action::Fail { .. })),
        "{a:?}"
    );
    assert_eq!(st.status, JobStatus::Completed, "{a:?}");
    assert_eq!(st.counts().converted, 2);
    assert_eq!(st.counts().failed, 0);
    assert!(st.phones.iter().all(|p| p.progress.image_failures == 0));
}

#[test]
fn cap_refusals_between_real_failures_neither_hide_nor_add_to_them() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        sccp_phones(1),
        0,
    )
    .unwrap();
    tick(0, &mut st, &[]);
    let mut evs = vec![ev(1, MIN, "SEP<MAC>.cnf.xml", Sent)];
    for i in 0..3 {
        evs.push(ev(
            1,
            MIN + 10 * i,
            "P0S3-8-12-00.sb2",
            failed("State Error"),
        ));
        evs.push(busy(1, MIN + 10 * i + 1, "P0S3-8-12-00.sb2"));
        evs.push(busy(1, MIN + 10 * i + 2, "P0S3-8-12-00.sb2"));
    }
    let a = tick(2 * MIN, &mut st, &evs);
    let Stage::Failed { cause } = &st.phones[0].progress.stage else {
        panic!("{:?}", st.phones[0].progress)
    };
    assert!(
        cause.contains("State Error") && cause.contains("3 attempts"),
        "{cause}"
    );
    assert!(!cause.contains("image cap"), "{cause}");
    assert!(a.iter().any(|x| matches!(x, Action::PhoneFailed { .. })));
}

fn with_prior(
    mut phones: Vec<phoneflip_jobs::Selected>,
    template: &str,
) -> Vec<(phoneflip_jobs::Selected, phoneflip_jobs::PriorRecord)> {
    phones
        .drain(..)
        .map(|s| {
            let prior = phoneflip_jobs::PriorRecord {
                template: Some(template.into()),
                desired_protocol: None,
                desired_load: None,
            };
            (s, prior)
        })
        .collect()
}

fn state_with_prior(batch: u32, phones: Vec<phoneflip_jobs::Selected>) -> JobState {
    let pairs = with_prior(phones, "old-sccp");
    let mut st = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(batch, 0, None)),
        pairs.iter().map(|(s, _)| s.clone()).collect(),
        0,
    )
    .unwrap();
    // As create_job keeps them: the record each phone had before the job.
    for (e, (_, prior)) in st.phones.iter_mut().zip(pairs) {
        e.prior = Some(prior);
    }
    st
}

fn resets(a: &[Action]) -> Vec<(Mac, ResetMethod)> {
    a.iter()
        .filter_map(|x| match x {
            Action::ResetPhone { mac, method, .. } => Some((*mac, *method)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_phone_that_converts_before_its_batch_still_gets_the_jobs_template() {
    let mut st = state_with_prior(1, sccp_phones(2));
    let a = tick(0, &mut st, &[]);
    assert_eq!(started(&a), vec![(0, false, vec![mac(1)])]);
    st.ack_reset(
        mac(1),
        ResetReport::power_cycle("power cycle listed").applied_at(1),
    );
    // Phone 2 boots early (its old record already named the target load)
    // while phone 1 converts.
    let mut evs = sccp_to_sip_boot(1, MIN);
    evs.extend(sccp_to_sip_boot(2, MIN));
    let a = tick(2 * MIN, &mut st, &evs);
    assert!(st.phones[1].is_converted());
    // It is not done: its record is not the job's. Its batch starts, and
    // it is reset the way SIP phones are (it runs SIP now).
    assert_eq!(st.status, JobStatus::Running, "{a:?}");
    assert_eq!(started(&a), vec![(1, false, vec![mac(2)])]);
    assert_eq!(resets(&a), vec![(mac(2), ResetMethod::CheckSync)]);
    assert_eq!(st.counts().converted, 1);
    assert_eq!(st.counts().in_progress, 1);
    let applied = 2 * MIN + 500;
    st.ack_reset(mac(2), ResetReport::done("200 OK").applied_at(applied));
    // Its config fetched before the record changed proves nothing...
    let early = ev(2, applied - 1, "SIP<MAC>.cnf", Sent);
    let a = tick(3 * MIN, &mut st, &[early]);
    assert_eq!(st.status, JobStatus::Running, "{a:?}");
    // ...the one after it does: the job is done, and says so.
    let after = vec![
        ev(2, applied + 10, "SIPDefault.cnf", Sent),
        ev(2, applied + 20, "SIP<MAC>.cnf", Sent),
    ];
    let a = tick(4 * MIN, &mut st, &after);
    assert!(
        a.iter().any(|x| matches!(x, Action::MarkConverted { mac: m, file } if *m == mac(2) && file.contains("template sip-default"))),
        "{a:?}"
    );
    assert_eq!(st.status, JobStatus::Completed, "{a:?}");
    assert_eq!(
        a.last(),
        Some(&Action::Complete {
            converted: 2,
            failed: 0
        })
    );
    let r = st.phones[1].progress.refresh.as_ref().unwrap();
    assert_eq!(r.fetched_ms, Some(applied + 20));
}

#[test]
fn a_phone_already_on_target_with_another_record_is_given_the_jobs() {
    let mut st = state_with_prior(5, sip_phones(2));
    // A record already the job's needs nothing.
    st.phones[1].prior = Some(phoneflip_jobs::PriorRecord::of_job(&st.job));
    let a = tick(0, &mut st, &[]);
    assert_eq!(started(&a), vec![(0, false, vec![mac(1)])]);
    assert_eq!(resets(&a), vec![(mac(1), ResetMethod::CheckSync)]);
    st.ack_reset(mac(1), ResetReport::done("200 OK").applied_at(10));
    // It never fetches its config: it fails with why, after the timeout.
    let a = tick(30 * MIN, &mut st, &[]);
    let cause = a
        .iter()
        .find_map(|x| match x {
            Action::PhoneFailed { mac: m, cause } if *m == mac(1) => Some(cause.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{a:?}"));
    assert!(
        cause.contains("template sip-default") && cause.contains("did not fetch its config"),
        "{cause}"
    );
    assert_eq!(st.status, JobStatus::Completed);
    assert_eq!(st.counts().failed, 1);
    assert_eq!(st.counts().converted, 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, Copy)]
    enum Fate {
        Converts,
        Fails,
        Silent,
    }

    fn fate() -> impl Strategy<Value = Fate> {
        prop_oneof![
            6 => Just(Fate::Converts),
            1 => Just(Fate::Fails),
            1 => Just(Fate::Silent),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the phones do, the rollout keeps its promises.
        #[test]
        fn rollout_invariants(
            fates in proptest::collection::vec(fate(), 1..25),
            batch in 1u32..6,
            canary in 0u32..3,
            max in proptest::option::of(1u32..4),
        ) {
            let n = fates.len() as u32;
            let mut st = JobState::new(
                job("sip:8.12", Schedule::Now, rollout(batch, canary, max)),
                sccp_phones(n),
                0,
            ).unwrap();
            let mut started_at: BTreeMap<Mac, i64> = BTreeMap::new();
            let mut converted = 0;
            let mut batches = 0;
            let mut t = 0;
            while !st.status.is_terminal() && t < 2000 * MIN {
                // Phones started last tick do what their fate says.
                let mut evs = Vec::new();
                for (i, f) in fates.iter().enumerate() {
                    let m = mac(i as u32 + 1);
                    if started_at.get(&m) == Some(&(t - MIN)) {
                        match f {
                            Fate::Converts => evs.extend(sccp_to_sip_boot(i as u32 + 1, t - MIN + 1)),
                            Fate::Fails => {
                                evs.push(ev(i as u32 + 1, t - MIN + 1, "SEP<MAC>.cnf.xml", Sent));
                                for k in 0..3 {
                                    evs.push(ev(i as u32 + 1, t - MIN + 2 + k, "P0S3-8-12-00.sb2", failed("State Error")));
                                }
                            }
                            Fate::Silent => {}
                        }
                    }
                }
                let actions = tick(t, &mut st, &evs);
                for a in &actions {
                    match a {
                        Action::StartBatch { batch: b, canary: c, macs } => {
                            prop_assert_eq!(*b, batches);
                            batches += 1;
                            let limit = if canary > 0 && *b == 0 { canary } else { batch };
                            prop_assert!(macs.len() as u32 <= limit && !macs.is_empty());
                            prop_assert_eq!(*c, canary > 0 && *b == 0);
                            // Never two batches in flight.
                            let others_busy = st.phones.iter().any(|p| {
                                p.started_ms.is_some() && p.batch != Some(*b) && !p.is_terminal()
                            });
                            prop_assert!(!others_busy);
                            if canary > 0 && *b > 0 {
                                prop_assert!(st.phones.iter().filter(|p| p.batch == Some(0)).all(|p| p.is_converted()));
                            }
                            for m in macs {
                                started_at.insert(*m, t);
                            }
                        }
                        Action::ResetPhone { mac: m, .. } => st.ack_reset(*m, ResetReport::power_cycle("power cycle listed")),
                        Action::MarkConverted { .. } => converted += 1,
                        _ => {}
                    }
                }
                t += MIN;
            }
            prop_assert!(st.status.is_terminal(), "stuck in {}", st.status);
            let c = st.counts();
            prop_assert_eq!(c.converted, converted);
            match st.status {
                JobStatus::Completed => {
                    prop_assert!(st.phones.iter().all(|p| p.is_terminal()));
                    let under = match max {
                        Some(m) => (c.failed as u32) < m,
                        None => true,
                    };
                    prop_assert!(under);
                    prop_assert!(canary == 0 || st.phones.iter().filter(|p| p.batch == Some(0)).all(|p| p.is_converted()));
                }
                JobStatus::Failed => {
                    let canary_failed = canary > 0
                        && st.phones.iter().any(|p| p.batch == Some(0) && p.failure().is_some());
                    prop_assert!(max.is_some_and(|m| c.failed as u32 >= m) || canary_failed);
                }
                s => prop_assert!(false, "unexpected {}", s),
            }
            // Only phones whose fate was to convert ever converted.
            for (i, f) in fates.iter().enumerate() {
                if st.phones[i].is_converted() {
                    prop_assert!(matches!(f, Fate::Converts));
                }
            }
        }
    }
}

/// The operator's Pause: phones already reset go on and are followed, no
/// batch starts; Resume starts the next one. Start runs a scheduled job now.
#[test]
fn pause_holds_the_next_batch_and_start_runs_a_scheduled_job_now() {
    let mut st = JobState::new(
        job("sip:8.12", Schedule::At(60 * MIN), rollout(2, 1, None)),
        sccp_phones(3),
        0,
    )
    .unwrap();
    assert!(
        st.pause().is_err(),
        "a job that has not started cannot pause"
    );
    assert!(st.resume().is_err());
    tick(0, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Scheduled);
    st.start_now().unwrap();
    let a = tick(MIN, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!(started(&a), vec![(0, true, vec![mac(1)])]);
    assert!(st.start_now().unwrap_err().to_string().contains("running"));

    st.pause().unwrap();
    assert_eq!(st.status, JobStatus::Paused);
    // The canary converts while paused: followed, but nobody else starts.
    let a = tick(3 * MIN, &mut st, &converted_boot(1, 2 * MIN));
    assert!(
        a.iter().any(|x| matches!(x, Action::MarkConverted { .. })),
        "{a:?}"
    );
    assert!(started(&a).is_empty(), "{a:?}");
    assert_eq!(st.status, JobStatus::Paused);
    assert!(started(&tick(4 * MIN, &mut st, &[])).is_empty());

    st.resume().unwrap();
    let a = tick(5 * MIN, &mut st, &[]);
    assert_eq!(started(&a), vec![(1, false, vec![mac(2), mac(3)])]);
    assert_eq!(st.status, JobStatus::Running);
}
