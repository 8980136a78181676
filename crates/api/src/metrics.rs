//! Prometheus counters for TFTP transfers, fed by the server's event sink
//! (wrapping the inventory recorder), plus fleet gauges computed on scrape,
//! and the image downloads under way (for the dashboard's progress bars).

use std::collections::HashMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use phoneflip_tftp::log::EventOutcome;
use phoneflip_tftp::{EventSink, TransferEvent, TransferProgress};

use crate::fleet::FleetSummary;

#[derive(Default)]
pub struct Metrics {
    transfers_ok: AtomicU64,
    transfers_not_found: AtomicU64,
    transfers_refused: AtomicU64,
    /// Not answered for the image cap (the phone retries).
    transfers_busy: AtomicU64,
    transfers_failed: AtomicU64,
    bytes_sent: AtomicU64,
    virtual_files: AtomicU64,
    /// Image downloads started and not yet recorded, by client and file.
    live: Mutex<HashMap<(SocketAddr, String), TransferProgress>>,
    inner: Option<Arc<dyn EventSink>>,
    /// Whether the recorder's database writes go through.
    store: Option<Arc<phoneflip_inventory::WriteHealth>>,
}

impl Metrics {
    /// Counts every event, then hands it on to `inner` (the recorder).
    pub fn wrapping(inner: Arc<dyn EventSink>) -> Metrics {
        Metrics {
            inner: Some(inner),
            ..Default::default()
        }
    }

    /// Reports `health` (the recorder's database writes) too.
    pub fn with_store_health(mut self, health: Arc<phoneflip_inventory::WriteHealth>) -> Metrics {
        self.store = Some(health);
        self
    }

    /// The database writes' state, when known.
    pub fn store_status(&self) -> Option<phoneflip_inventory::WriteStatus> {
        self.store.as_ref().map(|h| h.status())
    }

    /// The image downloads under way, oldest first.
    pub fn live_downloads(&self) -> Vec<TransferProgress> {
        let mut v: Vec<TransferProgress> = self
            .live
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|p| (p.started, p.client));
        v
    }

    /// Bytes acknowledged by TFTP clients so far (finished transfers).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    pub fn render(&self, fleet: &FleetSummary) -> String {
        let mut o = String::new();
        if let Some(st) = self.store_status() {
            let _ = writeln!(
                o,
                "# HELP phoneflip_db_writes_failing 1 while the database refuses writes (disk full, read-only); TFTP keeps serving.\n# TYPE phoneflip_db_writes_failing gauge\nphoneflip_db_writes_failing {}",
                u8::from(st.failing)
            );
            let _ = writeln!(
                o,
                "# HELP phoneflip_events_held TFTP events kept in memory until the database takes them.\n# TYPE phoneflip_events_held gauge\nphoneflip_events_held {}",
                st.held_events
            );
            let _ = writeln!(
                o,
                "# HELP phoneflip_events_lost_total TFTP events dropped because too many were held.\n# TYPE phoneflip_events_lost_total counter\nphoneflip_events_lost_total {}",
                st.lost_events
            );
        }
        let c = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        o.push_str("# HELP phoneflip_tftp_transfers_total TFTP read requests by outcome.\n# TYPE phoneflip_tftp_transfers_total counter\n");
        for (outcome, v) in [
            ("success", &self.transfers_ok),
            ("not_found", &self.transfers_not_found),
            ("refused", &self.transfers_refused),
            ("busy", &self.transfers_busy),
            ("failed", &self.transfers_failed),
        ] {
            let _ = writeln!(
                o,
                "phoneflip_tftp_transfers_total{{outcome=\"{outcome}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        c(
            &mut o,
            "phoneflip_tftp_bytes_sent_total",
            "Bytes acknowledged by TFTP clients.",
            self.bytes_sent.load(Ordering::Relaxed),
        );
        c(
            &mut o,
            "phoneflip_tftp_rendered_files_total",
            "Files rendered per phone from the inventory.",
            self.virtual_files.load(Ordering::Relaxed),
        );
        o.push_str("# HELP phoneflip_phones Phones in the inventory by conversion state.\n# TYPE phoneflip_phones gauge\n");
        for (state, n) in &fleet.by_state {
            let _ = writeln!(o, "phoneflip_phones{{state=\"{state}\"}} {n}");
        }
        o.push_str("# HELP phoneflip_phones_by_protocol Phones by the protocol they were seen running.\n# TYPE phoneflip_phones_by_protocol gauge\n");
        for (p, n) in &fleet.by_protocol {
            let _ = writeln!(o, "phoneflip_phones_by_protocol{{protocol=\"{p}\"}} {n}");
        }
        o
    }
}

impl EventSink for Metrics {
    fn record(&self, event: TransferEvent) {
        let counter = match &event.outcome {
            o if o.is_success() => &self.transfers_ok,
            EventOutcome::NotFound => &self.transfers_not_found,
            EventOutcome::Refused(_) => &self.transfers_refused,
            EventOutcome::Busy(_) => &self.transfers_busy,
            EventOutcome::Transfer(_) => &self.transfers_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(event.bytes, Ordering::Relaxed);
        if event.virtual_file {
            self.virtual_files.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut live) = self.live.lock() {
            live.remove(&(event.client, event.file.clone()));
        }
        if let Some(inner) = &self.inner {
            inner.record(event);
        }
    }

    fn progress(&self, p: &TransferProgress) {
        if let Ok(mut live) = self.live.lock() {
            live.insert((p.client, p.file.clone()), p.clone());
        }
    }
}
