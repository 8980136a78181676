//! Whether the server's writes to the inventory go through, shared by the
//! writer (the TFTP event recorder) and whoever reports it (metrics, the
//! API's health).
//!
//! A full or read-only disk must not go unnoticed, nor flood the log with
//! one warning per request: the writer flips [`WriteHealth`] once when
//! writes start failing and once when they work again, and keeps what it
//! could not write in memory meanwhile (counted here).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Shared counters of the writer's state. All methods are cheap and never
/// block for long.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: AtomicBool,
    held: AtomicU64,
    lost: AtomicU64,
    failed_writes: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A copy of [`WriteHealth`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WriteStatus {
    /// The last write failed (disk full, read-only database, …).
    pub failing: bool,
    /// Events kept in memory until the database takes them again.
    pub held_events: u64,
    /// Events dropped because memory for held ones ran out.
    pub lost_events: u64,
    /// Writes that failed since the server started.
    pub failed_writes: u64,
    /// The last error, while failing.
    pub error: Option<String>,
}

impl WriteHealth {
    /// Records a failed write; returns true the first time in a row, when
    /// the caller should log it.
    pub fn failed(&self, error: &str) -> bool {
        self.failed_writes.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
        !self.failing.swap(true, Ordering::AcqRel)
    }

    /// Records a write that went through; returns true when it ends a run
    /// of failures, when the caller should log the recovery.
    pub fn succeeded(&self) -> bool {
        let was = self.failing.swap(false, Ordering::AcqRel);
        if was {
            *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        was
    }

    pub fn set_held(&self, n: u64) {
        self.held.store(n, Ordering::Relaxed);
    }

    pub fn add_lost(&self, n: u64) {
        self.lost.fetch_add(n, Ordering::Relaxed);
    }

    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    pub fn status(&self) -> WriteStatus {
        WriteStatus {
            failing: self.is_failing(),
            held_events: self.held.load(Ordering::Relaxed),
            lost_events: self.lost.load(Ordering::Relaxed),
            failed_writes: self.failed_writes.load(Ordering::Relaxed),
            error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_failures_is_reported_once_and_its_end_once() {
        let h = WriteHealth::default();
        assert!(!h.succeeded());
        assert!(h.failed("database or disk is full"));
        assert!(!h.failed("database or disk is full"));
        assert!(h.is_failing());
        assert_eq!(h.status().failed_writes, 2);
        assert_eq!(
            h.status().error.as_deref(),
            Some("database or disk is full")
        );
        assert!(h.succeeded());
        assert!(!h.succeeded());
        assert_eq!(h.status().error, None);
    }
}
