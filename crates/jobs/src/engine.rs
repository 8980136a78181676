//! The driver around the sans-IO scheduler: reads transfers, ticks every
//! unfinished job, saves it, carries out its resets and saves again.
//!
//! Ordering is what makes restarts safe: the state is saved before any
//! effect, and a reset is only marked done after it was carried out, so a
//! crash at any point repeats at most a reset (harmless: a phone that gets
//! two check-syncs reboots once) and never loses one.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use phoneflip_device::Mac;
use phoneflip_inventory::Inventory;

use crate::job::{Job, JobId, Millis};
use crate::notify::send_check_sync;
use crate::progress::TransferEvent;
use crate::scheduler::{tick, Action, JobState, ResetMethod, ResetReport};
use crate::sip::{NotifyOutcome, Timers};
use crate::store::{JobStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading TFTP transfer events: {0}")]
    Events(String),
}

/// Where transfers come from, in the order they happened. Ids only grow.
pub trait EventSource: Send + Sync {
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, TransferEvent)>, String>;
}

/// The inventory's event log as an [`EventSource`].
pub struct InventoryEvents(pub Arc<dyn Inventory>);

impl EventSource for InventoryEvents {
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, TransferEvent)>, String> {
        self.0
            .events_after(after, limit)
            .map(|v| {
                v.iter()
                    .map(|e| (e.id, TransferEvent::from(&e.event)))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }
}

impl<T: EventSource + ?Sized> EventSource for Arc<T> {
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, TransferEvent)>, String> {
        (**self).events_after(after, limit)
    }
}

/// The outside world a reset needs.
pub trait Effects: Send + Sync {
    /// Points the phone's record at the job's template and target, then
    /// resets it (or says a person must). Must be idempotent.
    fn reset(
        &self,
        job: &Job,
        mac: Mac,
        method: ResetMethod,
        ip: Option<IpAddr>,
    ) -> impl std::future::Future<Output = ResetReport> + Send;
}

/// The hook the config side implements: give the phone a new `sync` value
/// in its SIP config and in `syncinfo.xml`, so the check-sync that follows
/// finds them different and the phone reboots (domain-facts.md, "Remote
/// reset of SIP phones"). Returns the new value.
pub trait SyncBumper: Send + Sync {
    fn bump_sync(&self, mac: Mac) -> Result<String, String>;
}

/// A [`SyncBumper`] over the inventory: raises the phone's `sync`
/// override, which rendering writes both into `SIP<MAC>.cnf` and into the
/// `syncinfo.xml` served to that phone. The phone still runs with its old
/// value, so after the NOTIFY it sees a different SYNC, reboots, and comes
/// back with the new value in its config (no reboot loop).
pub struct InventorySyncBumper(pub Arc<dyn Inventory>);

/// The longest SYNC the phones take (SIP 8.x admin guide).
const MAX_SYNC_LEN: usize = 32;

impl SyncBumper for InventorySyncBumper {
    fn bump_sync(&self, mac: Mac) -> Result<String, String> {
        let mut phone = self
            .0
            .get_phone(mac)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{mac} is not in the inventory"))?;
        let template_sync = match &phone.template {
            Some(t) => self
                .0
                .get_template(t)
                .map_err(|e| e.to_string())?
                .and_then(|t| t.settings.get("sync").cloned()),
            None => None,
        };
        // The SIP loads' default sync is 1.
        let current = phone
            .overrides
            .get("sync")
            .cloned()
            .or(template_sync)
            .unwrap_or_else(|| "1".into());
        let next = next_sync(&current, phoneflip_inventory::now_millis());
        phone.overrides.insert("sync".into(), next.clone());
        self.0.put_phone(&phone).map_err(|e| e.to_string())?;
        Ok(next)
    }
}

/// A value different from `current`: the number after it when it is one,
/// else the time (sync is a free string of up to 32 characters).
pub fn next_sync(current: &str, now: Millis) -> String {
    match current.trim().parse::<u64>() {
        Ok(n) if n < u64::MAX => (n + 1).to_string(),
        _ => {
            let t = now.to_string();
            if t == current {
                format!("{t}1")
            } else {
                t
            }
        }
    }
    .chars()
    .take(MAX_SYNC_LEN)
    .collect()
}

const PAGE: usize = 1000;

/// Ticks every unfinished job once at `now`; returns what each did.
pub async fn step<S, E, F>(
    now: Millis,
    store: &S,
    events: &E,
    effects: &F,
) -> Result<Vec<(JobId, Action)>, EngineError>
where
    S: JobStore + ?Sized,
    E: EventSource + ?Sized,
    F: Effects + ?Sized,
{
    let mut out = Vec::new();
    for id in store.active()? {
        let Some(mut st) = store.load(id)? else {
            continue;
        };
        let mut evs = Vec::new();
        loop {
            let page = events
                .events_after(st.cursor, PAGE)
                .map_err(EngineError::Events)?;
            let n = page.len();
            for (eid, e) in page {
                st.cursor = st.cursor.max(eid);
                evs.push(e);
            }
            if n < PAGE {
                break;
            }
        }
        let before = st.clone();
        let actions = tick(now, &mut st, &evs);
        // Most ticks change nothing; a fleet-sized job is not rewritten
        // every second for nothing.
        if st != before {
            store.save(&st)?;
        }
        let mut reset_any = false;
        for a in &actions {
            if let Action::ResetPhone { mac, method, ip } = a {
                let report = effects.reset(&st.job, *mac, *method, *ip).await;
                tracing::info!(job = id, %mac, "{}", report.line);
                st.ack_reset(*mac, report);
                reset_any = true;
            } else {
                tracing::info!(job = id, "{}", a.report_line());
            }
        }
        if reset_any {
            store.save(&st)?;
        }
        out.extend(actions.into_iter().map(|a| (id, a)));
    }
    Ok(out)
}

/// Runs [`step`] every `every` on the wall clock, forever. Errors are
/// logged and retried on the next round: a locked database or a busy
/// inventory is not fatal.
pub async fn run<S, E, F>(
    store: Arc<S>,
    events: Arc<E>,
    effects: Arc<F>,
    every: std::time::Duration,
) where
    S: JobStore + ?Sized,
    E: EventSource + ?Sized,
    F: Effects + ?Sized,
{
    run_until(store, events, effects, every, std::future::pending()).await
}

/// [`run`] until `shutdown` resolves: what `serve` spawns. A round in
/// progress is finished first, so no reset is left half-recorded.
pub async fn run_until<S, E, F>(
    store: Arc<S>,
    events: Arc<E>,
    effects: Arc<F>,
    every: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) where
    S: JobStore + ?Sized,
    E: EventSource + ?Sized,
    F: Effects + ?Sized,
{
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut shutdown => break,
        }
        if let Err(e) = step(
            phoneflip_inventory::now_millis(),
            store.as_ref(),
            events.as_ref(),
            effects.as_ref(),
        )
        .await
        {
            tracing::warn!("job engine: {e}; retrying");
        }
    }
}

/// Cancels a job through its store.
pub fn cancel<S: JobStore + ?Sized>(
    store: &S,
    id: JobId,
    now: Millis,
    why: &str,
) -> Result<JobState, CancelError> {
    let mut st = store.load(id)?.ok_or(StoreError::NotFound(id))?;
    st.cancel(now, why)?;
    store.save(&st)?;
    Ok(st)
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Job(#[from] crate::job::JobError),
}

/// The real effects: records in the inventory, `sync` through the config
/// side's [`SyncBumper`], NOTIFY over UDP, and a report line for phones
/// that need a person.
pub struct InventoryEffects<B> {
    pub inventory: Arc<dyn Inventory>,
    pub bumper: B,
    pub timers: Timers,
    /// The phones' SIP port (`voip_control_port`, 5060 by default).
    pub sip_port: u16,
    pub bind: Option<SocketAddr>,
    seed: AtomicU64,
}

impl<B: SyncBumper> InventoryEffects<B> {
    pub fn new(inventory: Arc<dyn Inventory>, bumper: B) -> Self {
        InventoryEffects {
            inventory,
            bumper,
            timers: Timers::default(),
            sip_port: 5060,
            bind: None,
            seed: AtomicU64::new(phoneflip_inventory::now_millis() as u64),
        }
    }

    fn apply(&self, job: &Job, mac: Mac) -> Result<Option<String>, String> {
        let mut phone = self
            .inventory
            .get_phone(mac)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{mac} is no longer in the inventory"))?;
        let line = phone.lines.first().map(|l| l.name.clone());
        let want_template = Some(job.template.clone());
        let want_protocol = Some(job.target.protocol());
        let want_load = Some(job.target.load.clone());
        if phone.template != want_template
            || phone.desired_protocol != want_protocol
            || phone.desired_load.as_ref().map(|l| l.as_str())
                != want_load.as_ref().map(|l| l.as_str())
        {
            phone.template = want_template;
            phone.desired_protocol = want_protocol;
            phone.desired_load = want_load;
            self.inventory
                .put_phone(&phone)
                .map_err(|e| e.to_string())?;
        }
        Ok(line)
    }
}

impl<B: SyncBumper> Effects for InventoryEffects<B> {
    async fn reset(
        &self,
        job: &Job,
        mac: Mac,
        method: ResetMethod,
        ip: Option<IpAddr>,
    ) -> ResetReport {
        let line = match self.apply(job, mac) {
            Ok(l) => l,
            Err(e) => {
                return ResetReport::power_cycle(format!(
                "could not point {mac} at the job's template: {e}; fix that, then power cycle it"
            ))
            }
        };
        if method == ResetMethod::PowerCycle {
            return ResetReport::power_cycle(format!(
                "POWER CYCLE NEEDED for {mac}: an SCCP phone cannot be reset from outside its call manager; unplug its power (or PoE Ethernet) cord"
            ));
        }
        let Some(ip) = ip else {
            return ResetReport::power_cycle(format!(
                "POWER CYCLE NEEDED for {mac}: no address seen for it in the TFTP log yet, so no NOTIFY can reach it"
            ));
        };
        let Some(user) = line else {
            return ResetReport::power_cycle(format!(
                "POWER CYCLE NEEDED for {mac}: it has no line 1 name, which the NOTIFY's request URI needs"
            ));
        };
        let sync = match self.bumper.bump_sync(mac) {
            Ok(s) => s,
            Err(e) => {
                return ResetReport::power_cycle(format!(
                    "could not bump sync for {mac}: {e}; no NOTIFY sent, power cycle it"
                ))
            }
        };
        let seed = self.seed.fetch_add(1, Ordering::Relaxed);
        let phone = SocketAddr::new(ip, self.sip_port);
        match send_check_sync(&user, phone, self.bind, self.timers, seed).await {
            Ok(NotifyOutcome::Accepted { status, reason }) => ResetReport::done(format!(
                "sync {sync}; check-sync NOTIFY to {user}@{phone}: {status} {reason}"
            )),
            Ok(NotifyOutcome::Rejected { status, reason }) => ResetReport::power_cycle(format!(
                "sync {sync}; check-sync NOTIFY to {user}@{phone} refused: {status} {reason}; power cycle it"
            )),
            Ok(NotifyOutcome::TimedOut { sends }) => ResetReport::power_cycle(format!(
                "sync {sync}; check-sync NOTIFY to {user}@{phone}: no answer after {sends} sends; power cycle it"
            )),
            Err(e) => ResetReport::power_cycle(format!("{e}; power cycle {mac}")),
        }
    }
}
