//! A full disk under the event recorder, made with SQLite's own
//! `max_page_count` on a real database file (no mount needed): writes fail
//! with SQLITE_FULL, the recorder reports it (health: failing, events
//! held), keeps every event in memory, and writes them all, in order, once
//! the database takes writes again. Nothing is lost and nothing panics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use phoneflip_inventory::{Inventory, SqliteInventory, WriteStatus};
use phoneflip_provision::{AddressBook, Recorder};
use phoneflip_tftp::log::{Direction, EventOutcome};
use phoneflip_tftp::{EventSink, TransferEvent};

fn event(i: u32) -> TransferEvent {
    let b = i.to_be_bytes();
    let client: SocketAddr = format!("10.{}.{}.{}:50000", b[1], b[2], b[3])
        .parse()
        .unwrap();
    TransferEvent {
        // Long names so a few hundred events need pages the cap refuses.
        file: format!("SEP0019AA{:06X}.cnf.xml{}", i, ".".repeat(120)),
        client,
        direction: Direction::Send,
        virtual_file: false,
        bytes: 0,
        size: None,
        outcome: EventOutcome::NotFound,
        started: SystemTime::now(),
        ended: SystemTime::now(),
    }
}

fn wait_for(what: &str, recorder: &Recorder, ok: impl Fn(&WriteStatus) -> bool) -> WriteStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = recorder.health().status();
        if ok(&st) {
            return st;
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what}: {st:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_full_database_is_reported_and_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.sqlite");
    let inv = Arc::new(SqliteInventory::open(&db).unwrap());
    let before = inv.count_events().unwrap();
    let pages = inv.page_count().unwrap();
    assert_eq!(inv.limit_pages(pages).unwrap(), pages);

    let recorder = Recorder::new(inv.clone(), Arc::new(AddressBook::new()));
    assert!(!recorder.health().status().failing);
    const N: u32 = 2_000;
    for i in 0..N {
        recorder.record(event(i));
    }
    // Whatever fitted in the file's free pages went in; the rest is held.
    let st = wait_for("the full database to be reported", &recorder, |s| {
        s.failing && s.held_events + inv.count_events().unwrap() - before == u64::from(N)
    });
    assert!(st.held_events > 0, "{st:?}");
    assert!(
        st.error.as_deref().unwrap_or("").contains("full"),
        "the error names the cause: {st:?}"
    );
    assert_eq!(st.lost_events, 0);

    // Space again: the held events go in, then the next ones.
    inv.limit_pages(1 << 30).unwrap();
    let st = wait_for("the held events to be written", &recorder, |s| {
        !s.failing && s.held_events == 0
    });
    assert_eq!(st.error, None);
    assert!(st.failed_writes >= 1);
    recorder.record(event(N));
    recorder.close();

    let stored = inv.events_after(0, 10 * N as usize).unwrap();
    assert_eq!(stored.len() as u64, before + u64::from(N) + 1);
    let names: Vec<&str> = stored.iter().map(|e| e.event.file.as_str()).collect();
    let expected: Vec<String> = (0..=N).map(|i| event(i).file).collect();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "every event, in the order it happened"
    );
    assert!(stored
        .iter()
        .all(|e| e.event.outcome == phoneflip_inventory::Outcome::NotFound));
}
