//! Recording transfers against phones without slowing transfers down.
//!
//! The TFTP server calls [`Recorder::record`] on its transfer tasks; the
//! events go through a channel to one thread that appends them to the
//! inventory in batches and updates the load each phone is observed to run.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use phoneflip_inventory::{Event, Inventory, Outcome};
use phoneflip_tftp::{EventSink, TransferEvent};
use tracing::warn;

use crate::observe::{Observation, Observer};

const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The TFTP server's `EventSink`, writing into the inventory.
pub struct Recorder {
    tx: Sender<TransferEvent>,
    worker: Option<JoinHandle<()>>,
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
        E::Transfer(T::ReadError(m)) => (Outcome::Aborted, Some(m.clone())),
        E::Transfer(T::Protocol(m)) => (Outcome::Aborted, Some(m.clone())),
        E::NotFound => (Outcome::NotFound, None),
        E::Refused(m) => (Outcome::Refused, Some(m.clone())),
    }
}

/// The inventory's form of a transfer event.
pub fn to_event(t: &TransferEvent) -> Event {
    let (outcome, detail) = outcome(&t.outcome);
    Event {
        time_ms: t
            .ended
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        mac: t.mac,
        client_ip: t.client.ip(),
        client_port: t.client.port(),
        file: t.file.clone(),
        bytes: t.bytes,
        outcome,
        detail,
    }
}

fn run(inventory: Arc<dyn Inventory>, rx: Receiver<TransferEvent>) {
    let observer = Observer::default();
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut open = true;
    while open {
        match rx.recv_timeout(FLUSH_EVERY) {
            Ok(t) => {
                if let (Some(mac), true) = (t.mac, t.outcome.is_success()) {
                    if let Observation::Runs(load) = observer.served(mac, &t.file) {
                        if let Err(e) = inventory.set_observed_load(mac, &load) {
                            warn!(%mac, %load, error = %e, "could not record the phone's load");
                        }
                    }
                }
                batch.push(to_event(&t));
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
    pub fn new(inventory: Arc<dyn Inventory>) -> Recorder {
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("phoneflip-recorder".into())
            .spawn(move || run(inventory, rx))
            .expect("spawn the event recorder thread");
        Recorder {
            tx,
            worker: Some(worker),
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
        let _ = self.tx.send(event);
    }
}
