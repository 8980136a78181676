//! The phone inventory: what phoneflip knows about each phone (identity,
//! lines, template, desired and observed load), the per-protocol templates,
//! and the log of TFTP transfers that shows what each phone really did.
//!
//! Owns the storage trait [`Inventory`], its embedded SQLite backend
//! ([`SqliteInventory`]: one file, WAL, versioned migrations), the shared
//! PostgreSQL backend (`PgInventory`, feature `postgres`) and the Bulk
//! Administration style CSV import/export ([`bulk`]). Hands rendering its
//! inputs ([`RenderInputs`]) but must not render, must not do network I/O,
//! and must not decide conversions (that is `phoneflip-plan`).

pub mod adopt;
pub mod bat;
pub mod bulk;
pub mod csvread;
pub mod health;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod sqlite;
mod store;

pub use bulk::{
    export_as, export_csv, import_bytes, import_csv, parse_bytes, parse_csv, parse_desired_load,
    write_csv, CsvErrors, Encoding, Format, ImportError, Imported, ParseOptions, Parsed, RowError,
    RowErrorKind,
};
pub use health::{WriteHealth, WriteStatus};
#[cfg(feature = "postgres")]
pub use postgres::{
    connect_pool, off_runtime, pg_latest_version, redact_url, PgInventory, PG_MIGRATIONS,
};
pub use record::{
    check_key, check_tag, now_millis, Change, Event, ImportScope, ImportSummary, Millis, Outcome,
    OutcomeError, Phone, PhoneError, PhoneFilter, RenderInputs, StoredEvent,
};
pub use sqlite::{latest_version, Migration, SqliteInventory, MIGRATIONS};
pub use store::{
    check_template_settings, check_template_settings_keeping, validate_template, Inventory,
    InventoryError, Result,
};
