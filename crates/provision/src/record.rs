//! Route and record: each transfer's outcome as a typed event against the
//! phone, without slowing transfers down.
//!
//! The TFTP server calls [`Recorder::record`] on its transfer tasks; the
//! file name is classified and the phone identified right there (the same
//! [`AddressBook`] the [`Provisioner`](crate::Provisioner) fills), then the
//! events go through a channel to one thread that appends them to the
//! inventory in batches and updates the load each phone is observed to
//! run ([`LoadEvidence`]).

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use phoneflip_config::FileName;
use phoneflip_device::Mac;
use phoneflip_inventory::{Event, Inventory, Outcome};
use phoneflip_tftp::{EventSink, TransferEvent};
use tracing::warn;

use crate::identify::AddressBook;
use crate::infer::LoadEvidence;

const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The TFTP server's `EventSink`, writing into the inventory.
pub struct Recorder {
    tx: Sender<Event>,
    worker: Option<JoinHandle<()>>,
    phones: Arc<AddressBook>,
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

fn run(inventory: Arc<dyn Inventory>, rx: Receiver<Event>) {
    let mut evidence: HashMap<Mac, LoadEvidence> = HashMap::new();
    // A phone's first boot from an address not yet tied to a MAC (its
    // OS79XX.TXT, the image it names, SIPDefault.cnf): what that evidence
    // proves is the phone's once the address asks for a MAC-named file,
    // or a phone moved by the root's own OS79XX.TXT would stay planned
    // from its old load forever.
    let mut by_address: HashMap<
        std::net::IpAddr,
        (LoadEvidence, Option<phoneflip_firmware::LoadName>),
    > = HashMap::new();
    let record = |mac: Mac, load: &phoneflip_firmware::LoadName| {
        if let Err(e) = inventory.set_observed_load(mac, load) {
            warn!(%mac, %load, error = %e, "could not record the phone's load");
        }
    };
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut open = true;
    while open {
        match rx.recv_timeout(FLUSH_EVERY) {
            Ok(ev) => {
                match ev.mac {
                    Some(mac) => {
                        if let Some((_, Some(load))) = by_address.remove(&ev.client_ip) {
                            record(mac, &load);
                        }
                        if let Some(load) =
                            evidence.entry(mac).or_default().see(&ev.kind, ev.outcome)
                        {
                            record(mac, &load);
                        }
                    }
                    None => {
                        if by_address.len() >= MAX_ADDRESSES
                            && !by_address.contains_key(&ev.client_ip)
                        {
                            by_address.clear();
                        }
                        let (e, runs) = by_address.entry(ev.client_ip).or_default();
                        if let Some(load) = e.see(&ev.kind, ev.outcome) {
                            *runs = Some(load);
                        }
                    }
                }
                batch.push(ev);
                if batch.len() < BATCH {
                    continue;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        if !batch.is_empty() {
            if let Err(e) = inventory.append_events(&batch) {
                warn!(error = %e, lost = batch.len(), "could not record TFTP events");
            }
            batch.clear();
        }
    }
}

impl Recorder {
    /// Records into `inventory`, identifying phones with `phones` (share
    /// the provisioner's: [`Provisioner::recorder`](crate::Provisioner::recorder)).
    pub fn new(inventory: Arc<dyn Inventory>, phones: Arc<AddressBook>) -> Recorder {
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("phoneflip-recorder".into())
            .spawn(move || run(inventory, rx))
            .expect("spawn the event recorder thread");
        Recorder {
            tx,
            worker: Some(worker),
            phones,
        }
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
