//! The job status transition table.

use phoneflip_jobs::{JobError, JobStatus};

#[test]
fn the_table_allows_exactly_these_transitions() {
    use JobStatus::*;
    let allowed = [
        (Pending, Scheduled),
        (Pending, Running),
        (Pending, Cancelled),
        (Scheduled, Running),
        (Scheduled, Cancelled),
        (Running, Completed),
        (Running, Failed),
        (Running, Cancelled),
        (Running, Paused),
        (Paused, Running),
        (Paused, Failed),
        (Paused, Cancelled),
    ];
    for from in JobStatus::ALL {
        for to in JobStatus::ALL {
            let want = allowed.contains(&(from, to));
            assert_eq!(from.can_go_to(to), want, "{from} -> {to}");
            match from.transition(to) {
                Ok(s) => {
                    assert!(want, "{from} -> {to} accepted");
                    assert_eq!(s, to);
                }
                Err(JobError::IllegalTransition { from: f, to: t, .. }) => {
                    assert!(!want, "{from} -> {to} refused");
                    assert_eq!((f, t), (from, to));
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
}

#[test]
fn terminal_states_say_they_are_finished() {
    for s in [
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ] {
        assert!(s.is_terminal());
        let e = s.transition(JobStatus::Running).unwrap_err().to_string();
        assert!(e.contains("finished"), "{e}");
    }
    let e = JobStatus::Scheduled
        .transition(JobStatus::Completed)
        .unwrap_err()
        .to_string();
    assert!(e.contains("running, cancelled"), "{e}");
}

#[test]
fn statuses_parse_back() {
    for s in JobStatus::ALL {
        assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), s);
    }
    assert!("done".parse::<JobStatus>().is_err());
}
