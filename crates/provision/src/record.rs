//! Route and record: each transfer's outcome as a typed event against the
//! phone, without slowing transfers down.
//!
//! The TFTP server calls [`Recorder::record`] on its transfer tasks; the
//! file name is classified and the phone identified right there (the same
//! [`AddressBook`] the [`Provisioner`](crate::Provisioner) fills), then the
//! events go through a channel to one thread that appends them to the
//! inventory in batches and updates the load each phone is observed to
//! run ([`LoadEvidence`]).

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, UNIX_EPOCH};

use phoneflip_config::FileName;
use phoneflip_device::Mac;
use phoneflip_inventory::{Event, Inventory, Outcome, WriteHealth};
use phoneflip_tftp::{EventSink, TransferEvent};
use tracing::{error, info};

use crate::identify::AddressBook;
use crate::infer::LoadEvidence;

const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The TFTP server's `EventSink`, writing into the inventory.
pub struct Recorder {
    tx: Sender<Event>,
    worker: Option<JoinHandle<()>>,
    phones: Arc<AddressBook>,
    health: Arc<WriteHealth>,
}

fn outcome(e: &phoneflip_tftp::log::EventOutcome) -> (Outcome, Option<String>) {
    use phoneflip_tftp::log::EventOutcome as E;
    use phoneflip_tftp::Outcome as T;
    match e {
        E::Transfer(T::Success) => (Outcome::Sent, None),
        E::Transfer(T::Timeout) => (Outcome::TimedOut, None),
        E::Transfer(T::PeerError { code, message }) => (
            Outcome::Aborted,
            Some(format!("client error {code}: {message}")),
        ),
        // As the transfer log words them ("State Error: …").
        E::Transfer(o @ (T::ReadError(_) | T::Protocol(_))) => {
            (Outcome::Aborted, Some(o.to_string()))
        }
        E::NotFound => (Outcome::NotFound, None),
        E::Refused(m) => (Outcome::Refused, Some(m.clone())),
        E::Busy(m) => (Outcome::Busy, Some(m.clone())),
    }
}

/// The typed event of a transfer by `mac` (None: a phone not identified
/// yet): the file's kind from the one classifier, the outcome, the time.
pub fn to_event(t: &TransferEvent, mac: Option<Mac>) -> Event {
    let (outcome, detail) = outcome(&t.outcome);
    Event {
        time_ms: t
            .ended
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        mac,
        client_ip: t.client.ip(),
        client_port: t.client.port(),
        kind: phoneflip_config::FileKind::of(&t.file),
        file: t.file.clone(),
        bytes: t.bytes,
        outcome,
        detail,
    }
}

/// Beyond this many unidentified addresses their evidence starts over.
const MAX_ADDRESSES: usize = 100_000;

/// How far back a phone's first MAC-named request claims the MAC-less
/// requests of its address: one boot, OS79XX.TXT to `SIP<MAC>.cnf`, takes
/// a few minutes even through a two-stage upgrade; an older request from
/// that address is another visit, perhaps of another phone on the lease.
pub const BOOT_WINDOW_MS: i64 = 10 * 60 * 1000;

/// What an address did before it named its phone.
#[derive(Default)]
struct Unidentified {
    evidence: LoadEvidence,
    runs: Option<phoneflip_firmware::LoadName>,
    /// Its first MAC-less request, in event time.
    first_ms: Option<i64>,
}

/// MAC-less stored requests of an address that are a phone's (see
/// [`BOOT_WINDOW_MS`]), to tie to it in the store.
struct Attribution {
    client_ip: std::net::IpAddr,
    mac: Mac,
    since: i64,
    until: i64,
}

/// Events kept in memory while the database refuses writes (a full or
/// read-only disk), about 200 bytes each; beyond, the oldest go.
pub const MAX_HELD_EVENTS: usize = 200_000;

/// How often a failing database is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The worker's state: the evidence it folds, and what it could not write
/// yet.
struct Worker {
    inventory: Arc<dyn Inventory>,
    health: Arc<WriteHealth>,
    evidence: HashMap<Mac, LoadEvidence>,
    // A phone's first boot from an address not yet tied to a MAC (its
    // OS79XX.TXT, the image it names, SIPDefault.cnf): what that evidence
    // proves is the phone's once the address asks for a MAC-named file,
    // or a phone moved by the root's own OS79XX.TXT would stay planned
    // from its old load forever.
    by_address: HashMap<std::net::IpAddr, Unidentified>,
    /// Events not yet written, oldest first: this round's, after those a
    /// failing database refused.
    pending: VecDeque<Event>,
    /// Observed loads a failing database refused, written with the events.
    loads: HashMap<Mac, phoneflip_firmware::LoadName>,
    /// Store attributions not yet made, written after the events.
    attributions: Vec<Attribution>,
    retry_at: Option<Instant>,
}

impl Worker {
    fn see(&mut self, ev: Event) {
        match ev.mac {
            Some(mac) => {
                if let Some(u) = self.by_address.remove(&ev.client_ip) {
                    if let Some(load) = u.runs {
                        self.loads.insert(mac, load);
                    }
                    if let Some(first) = u.first_ms {
                        self.attribute(&ev, mac, first);
                    }
                }
                if let Some(load) = self
                    .evidence
                    .entry(mac)
                    .or_default()
                    .see(&ev.kind, ev.outcome)
                {
                    self.loads.insert(mac, load);
                }
            }
            None => {
                if self.by_address.len() >= MAX_ADDRESSES
                    && !self.by_address.contains_key(&ev.client_ip)
                {
                    self.by_address.clear();
                }
                let u = self.by_address.entry(ev.client_ip).or_default();
                u.first_ms.get_or_insert(ev.time_ms);
                if let Some(load) = u.evidence.see(&ev.kind, ev.outcome) {
                    u.runs = Some(load);
                }
            }
        }
        self.pending.push_back(ev);
        if self.pending.len() > MAX_HELD_EVENTS {
            let over = self.pending.len() - MAX_HELD_EVENTS;
            self.pending.drain(..over);
            self.health.add_lost(over as u64);
        }
    }

    /// The MAC-less requests `ev`'s address made within [`BOOT_WINDOW_MS`]
    /// before it named `mac` are that phone's: those not yet written here,
    /// those already written in the store (with the next write).
    fn attribute(&mut self, ev: &Event, mac: Mac, first: i64) {
        let since = first.max(ev.time_ms - BOOT_WINDOW_MS);
        for e in self.pending.iter_mut() {
            if e.mac.is_none()
                && e.client_ip == ev.client_ip
                && (since..=ev.time_ms).contains(&e.time_ms)
            {
                e.mac = Some(mac);
            }
        }
        self.attributions.push(Attribution {
            client_ip: ev.client_ip,
            mac,
            since,
            until: ev.time_ms,
        });
    }

    /// Writes what is pending. While the database fails, tries again only
    /// every [`RETRY_EVERY`] and logs the failure once, not per batch.
    fn flush(&mut self) {
        if self.pending.is_empty() && self.loads.is_empty() && self.attributions.is_empty() {
            return;
        }
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            self.health.set_held(self.pending.len() as u64);
            return;
        }
        let result = self.write();
        match result {
            Ok(()) => {
                self.retry_at = None;
                if self.health.succeeded() {
                    info!("the database takes writes again: TFTP events and observed loads are recorded again");
                }
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + RETRY_EVERY);
                if self.health.failed(&e.to_string()) {
                    error!(
                        "cannot write TFTP events to the database: {e}; TFTP keeps serving, events are kept in memory (up to {MAX_HELD_EVENTS}) and written when it takes writes again; free disk space or make the database writable (this is logged once; see /api/health and phoneflip_db_writes_failing)"
                    );
                }
            }
        }
        self.health.set_held(self.pending.len() as u64);
    }

    fn write(&mut self) -> phoneflip_inventory::Result<()> {
        while !self.pending.is_empty() {
            let n = self.pending.len().min(4 * BATCH);
            let chunk: Vec<Event> = self.pending.range(..n).cloned().collect();
            self.inventory.append_events(&chunk)?;
            self.pending.drain(..n);
        }
        while let Some(a) = self.attributions.first() {
            self.inventory
                .attribute_events(a.client_ip, a.mac, a.since, a.until)?;
            self.attributions.remove(0);
        }
        let loads = std::mem::take(&mut self.loads);
        let mut failed = None;
        for (mac, load) in loads {
            if failed.is_some() {
                self.loads.insert(mac, load);
                continue;
            }
            match self.inventory.set_observed_load(mac, &load) {
                Ok(()) => {}
                // A phone deleted meanwhile has no record to update.
                Err(phoneflip_inventory::InventoryError::NoSuchPhone(_)) => {}
                Err(e) => {
                    // Reported once with the events' failure, by flush.
                    self.loads.insert(mac, load);
                    failed = Some(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn run(inventory: Arc<dyn Inventory>, health: Arc<WriteHealth>, rx: Receiver<Event>) {
    let mut w = Worker {
        inventory,
        health,
        evidence: HashMap::new(),
        by_address: HashMap::new(),
        pending: VecDeque::new(),
        loads: HashMap::new(),
        attributions: Vec::new(),
        retry_at: None,
    };
    let mut open = true;
    while open {
        match rx.recv_timeout(FLUSH_EVERY) {
            Ok(ev) => {
                w.see(ev);
                // Group commit: what queued meanwhile goes into the same
                // transaction, but nothing waits for more to come, so a
                // crash (kill -9) loses at most what was in flight, not
                // a busy server's last seconds of events.
                let mut n = 1;
                while n < BATCH {
                    match rx.try_recv() {
                        Ok(ev) => {
                            w.see(ev);
                            n += 1;
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        w.flush();
    }
    if !w.pending.is_empty() || !w.loads.is_empty() || !w.attributions.is_empty() {
        // The last try at shutdown, whatever the retry timer says.
        w.retry_at = None;
        w.flush();
        if !w.pending.is_empty() {
            error!(
                "stopping with {} TFTP events the database did not take; they are lost",
                w.pending.len()
            );
        }
    }
}

impl Recorder {
    /// Records into `inventory`, identifying phones with `phones` (share
    /// the provisioner's: [`Provisioner::recorder`](crate::Provisioner::recorder)).
    pub fn new(inventory: Arc<dyn Inventory>, phones: Arc<AddressBook>) -> Recorder {
        let (tx, rx) = mpsc::channel();
        let health = Arc::new(WriteHealth::default());
        let h = health.clone();
        let worker = std::thread::Builder::new()
            .name("phoneflip-recorder".into())
            .spawn(move || run(inventory, h, rx))
            .expect("spawn the event recorder thread");
        Recorder {
            tx,
            worker: Some(worker),
            phones,
            health,
        }
    }

    /// Whether its writes go through (for metrics and the API).
    pub fn health(&self) -> Arc<WriteHealth> {
        self.health.clone()
    }

    /// Flushes what is queued and stops the worker.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let (dead_tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, dead_tx));
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl EventSink for Recorder {
    fn record(&self, event: TransferEvent) {
        let name = FileName::classify(&event.file);
        let mac = self.phones.identify(event.client.ip(), &name);
        let _ = self.tx.send(to_event(&event, mac));
    }
}
