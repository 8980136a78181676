//! The storage contract. SQLite implements it today; a PostgreSQL backend
//! for sites running several servers implements the same trait, so nothing
//! above this file may assume SQLite.

use phoneflip_config::Template;
use phoneflip_device::Mac;
use phoneflip_firmware::LoadName;

use crate::record::{
    Event, ImportScope, ImportSummary, Millis, Phone, PhoneError, PhoneFilter, RenderInputs,
    StoredEvent,
};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Phone(#[from] PhoneError),
    #[error(
        "phone {0} is not in the inventory; import it first (phoneflip phones import FILE.csv)"
    )]
    NoSuchPhone(Mac),
    #[error("template {0:?} does not exist; create it first (phoneflip templates add {0} --protocol sip|sccp KEY=VALUE...)")]
    NoSuchTemplate(String),
    #[error(
        "template {name:?} is still used by {phones} phone(s); move them to another template first"
    )]
    TemplateInUse { name: String, phones: u64 },
    #[error("template name {0:?} is not allowed: use letters, digits, '_', '.' or '-'")]
    BadTemplateName(String),
    #[error("template {name:?}: setting key {key:?} is not a parameter name; use letters, digits, '_', '.' or '-'")]
    BadSettingKey { name: String, key: String },
    #[error("the database holds schema version {found}, newer than this phoneflip knows ({known}); upgrade phoneflip or use another --db")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the database holds a value this phoneflip cannot read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
    /// The database refused the write (disk full, read-only file or
    /// mount); the transaction was rolled back, nothing changed.
    #[error("the database refuses writes ({0}); nothing was changed: free disk space or make the database writable, then try again")]
    Unwritable(String),
    /// A caller's check inside [`Inventory::update_phone`] refused the
    /// change; the message is for the user.
    #[error("{0}")]
    Rejected(String),
}

pub type Result<T, E = InventoryError> = std::result::Result<T, E>;

/// A phone inventory: phones, templates and the TFTP events that show what
/// each phone really did.
///
/// Synchronous on purpose: callers in async code (the TFTP server, the HTTP
/// API) use `spawn_blocking` or a dedicated writer thread, and the methods
/// are coarse enough (batched event appends, whole imports) that this costs
/// nothing measurable.
pub trait Inventory: Send + Sync {
    /// Inserts or replaces a phone. Times are set by the store; the record
    /// is normalised and validated first.
    fn put_phone(&self, phone: &Phone) -> Result<()>;

    /// Inserts a phone only if its MAC is unknown; returns whether it did.
    /// Auto-registration uses this so that it never overwrites a phone an
    /// administrator described.
    fn insert_phone_if_absent(&self, phone: &Phone) -> Result<bool>;

    fn get_phone(&self, mac: Mac) -> Result<Option<Phone>>;

    /// Returns whether the phone existed. Its events stay: the timeline of
    /// a deleted phone is still evidence.
    fn delete_phone(&self, mac: Mac) -> Result<bool>;

    /// Phones matching `filter`, in MAC order.
    fn list_phones(&self, filter: &PhoneFilter) -> Result<Vec<Phone>>;

    /// One page of [`Inventory::list_phones`] (`limit` phones from
    /// `offset`, in MAC order) and how many phones match in all, read
    /// together so that the count fits the page.
    fn list_phones_page(
        &self,
        filter: &PhoneFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Phone>, usize)> {
        let all = self.list_phones(filter)?;
        let total = all.len();
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// Every phone in MAC order with only what its state is derived from
    /// filled in: mac, model, observed and desired load, desired protocol
    /// and template (no description, lines, tags or overrides). For
    /// summaries over the whole fleet, which need not decode ten thousand
    /// records' lines and tags.
    fn list_phone_states(&self) -> Result<Vec<Phone>> {
        self.list_phones(&PhoneFilter::default())
    }

    /// Reads the phone, lets `change` compute its new record from the
    /// current one (`None` if it does not exist) and stores that, all in
    /// one transaction: a concurrent write cannot slip in between, and an
    /// error from `change` (use [`InventoryError::Rejected`]) changes
    /// nothing. The record is normalised and validated like
    /// [`Inventory::put_phone`]'s; returns it as stored.
    fn update_phone(
        &self,
        mac: Mac,
        change: &mut dyn FnMut(Option<Phone>) -> Result<Phone>,
    ) -> Result<Phone>;

    /// Records the load a phone proved it runs (from TFTP evidence).
    /// Does not touch `updated_ms`, which tracks administrative changes.
    fn set_observed_load(&self, mac: Mac, load: &LoadName) -> Result<()>;

    /// Applies a whole import in one transaction: phones are added or have
    /// their administrative fields replaced; observed state is kept. With
    /// `dry_run` the same work is done and rolled back. Nothing is changed
    /// if any phone is refused.
    fn import_phones(&self, phones: &[Phone], dry_run: bool) -> Result<ImportSummary> {
        self.import_phones_scoped(phones, ImportScope::AllAdminFields, dry_run)
    }

    /// [`Inventory::import_phones`] replacing only the fields of `scope`
    /// on phones already stored ([`Phone::imported`]); new phones are
    /// stored as given, with their observed load only for a call manager
    /// file (which knows what it told the phone to load).
    fn import_phones_scoped(
        &self,
        phones: &[Phone],
        scope: ImportScope,
        dry_run: bool,
    ) -> Result<ImportSummary>;

    fn put_template(&self, template: &Template) -> Result<()>;
    fn get_template(&self, name: &str) -> Result<Option<Template>>;
    fn list_templates(&self) -> Result<Vec<Template>>;
    /// Refused while a phone uses the template.
    fn delete_template(&self, name: &str) -> Result<bool>;

    /// Appends events in one transaction. The TFTP server calls this with
    /// whatever it buffered, so one call per batch, not per transfer.
    fn append_events(&self, events: &[Event]) -> Result<()>;

    /// The most recent `limit` events of one phone, oldest first: the
    /// events recorded against its MAC. Which MAC-less request (OS79XX.TXT,
    /// the loads, SIPDefault.cnf) is whose is the request pipeline's
    /// decision, not the store's: it records it with the event, or later
    /// with [`Inventory::attribute_events`].
    fn timeline(&self, mac: Mac, limit: usize) -> Result<Vec<StoredEvent>>;

    /// Gives `mac` the events recorded without a phone from `client_ip`
    /// with `since <= time_ms <= until`; returns how many. The request
    /// pipeline calls it when an address first asks for a MAC-named file,
    /// so that the requests the phone made before (its OS79XX.TXT, the
    /// image it names) join its timeline.
    fn attribute_events(
        &self,
        client_ip: std::net::IpAddr,
        mac: Mac,
        since: Millis,
        until: Millis,
    ) -> Result<u64>;

    /// Events with an id greater than `after_id`, oldest first, at most
    /// `limit`: how a live view follows the log.
    fn events_after(&self, after_id: i64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// Deletes events older than `before`; returns how many went.
    fn prune_events(&self, before: Millis) -> Result<u64>;

    /// Deletes the oldest events until at most `keep` remain; returns how
    /// many went. Age alone does not bound the table: a flood of
    /// requests adds a row each.
    fn prune_events_beyond(&self, keep: u64) -> Result<u64>;

    /// Events stored.
    fn count_events(&self) -> Result<u64>;

    /// What rendering needs for one phone.
    fn render_inputs(&self, mac: Mac) -> Result<RenderInputs> {
        let phone = self
            .get_phone(mac)?
            .ok_or(InventoryError::NoSuchPhone(mac))?;
        let template = match &phone.template {
            Some(name) => Some(
                self.get_template(name)?
                    .ok_or_else(|| InventoryError::NoSuchTemplate(name.clone()))?,
            ),
            None => None,
        };
        Ok(RenderInputs {
            settings: phone.settings(),
            template,
            desired_protocol: phone.target_protocol(),
            desired_load: phone.desired_load,
            observed_load: phone.observed_load,
        })
    }
}

/// Checks a template before any backend stores it.
pub fn validate_template(t: &Template) -> Result<()> {
    if !crate::record::check_key(&t.name) {
        return Err(InventoryError::BadTemplateName(t.name.clone()));
    }
    for k in t.settings.keys() {
        if !crate::record::check_key(k) {
            return Err(InventoryError::BadSettingKey {
                name: t.name.clone(),
                key: k.clone(),
            });
        }
    }
    Ok(())
}

/// Checks a SIP template's settings against the SIP parameter table
/// (through its own lookup, `sip_params::check_param`, so that names added
/// there are accepted here at once): a misspelt parameter
/// (`proxy1_adress`) would otherwise be stored and silently ignored by
/// every phone. SCCP and MGCP templates are not checked: their parameters
/// have no table yet. Every problem is reported, one per line.
pub fn check_template_settings(t: &Template) -> Result<()> {
    check_template_settings_keeping(t, false)
}

/// [`check_template_settings`], but with `keep_unknown` a name no SIP
/// release knows is let through: the user said it is meant (a parameter
/// of a newer or patched load), and `render` leaves it out of the files
/// and reports it rather than failing.
pub fn check_template_settings_keeping(t: &Template, keep_unknown: bool) -> Result<()> {
    use phoneflip_config::sip_params::{check_param, SipProblem};
    if t.protocol != phoneflip_firmware::Protocol::Sip {
        return Ok(());
    }
    let newest = phoneflip_firmware::Version::new(8, 12);
    let problems: Vec<String> = t
        .settings
        .iter()
        // A whole original XMLDefault.cnf.xml, not a SIP parameter.
        .filter(|(k, _)| !phoneflip_config::sccp::is_original_key(k))
        .filter_map(|(k, v)| match check_param(k, v, newest, None) {
            Err(SipProblem::Unknown { .. }) if keep_unknown => None,
            Err(p) => Some(format!("setting {k}: {p}")),
            Ok(()) => None,
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InventoryError::Rejected(format!(
            "template {:?}: {}",
            t.name,
            problems.join("; ")
        )))
    }
}
