//! The driver around the sans-IO scheduler: reads transfers, ticks every
//! unfinished job, saves it, carries out its resets and saves again.
//!
//! Ordering is what makes restarts safe: the state is saved before any
//! effect, and a reset is only marked done after it was carried out, so a
//! crash at any point repeats at most a reset (harmless: a phone that gets
//! two check-syncs reboots once) and never loses one.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use phoneflip_device::Mac;
use phoneflip_inventory::Inventory;

use crate::job::{Job, JobId, Millis};
use crate::notify::send_check_sync;
use crate::progress::TransferEvent;
use crate::registration::{registration_problems, LineCheck, RegistrationReport};
use crate::scheduler::{tick, Action, JobState, ResetMethod, ResetReport};
use crate::sip::{NotifyOutcome, Timers};
use crate::store::{not_ours, JobStore, StoreError};

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

    /// Whether the converted phone's lines registered: asked of the
    /// registrar, or of the phone at `ip` without one. Never fails: what
    /// went wrong is the report's problem.
    fn check_registration(
        &self,
        job: &Job,
        mac: Mac,
        ip: Option<IpAddr>,
    ) -> impl std::future::Future<Output = RegistrationReport> + Send;
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

/// Resets carried out at once, across every job of a step: NOTIFYs to
/// unreachable phones each wait out Timer F (32 s), so sending them one
/// by one let ten dead phones hold every job for five minutes. 64 UDP
/// sockets at a time is nothing for the host and far more than a
/// rollout's batch of phones rebooting against one TFTP server needs.
pub const MAX_RESETS_IN_FLIGHT: usize = 64;

/// How long a finished reset may wait before its job is saved: the
/// reachable phones' acknowledgements reach the store while NOTIFYs to
/// unreachable ones are still retransmitting, without a save per phone.
const ACK_SAVE_EVERY: Duration = Duration::from_millis(250);

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
    step_until(now, store, events, effects, std::future::pending()).await
}

/// [`step`], giving up on the resets still in flight when `shutdown`
/// resolves: their NOTIFY transactions are cancelled (sockets closed, no
/// more retransmissions), the resets that finished are saved, and the
/// cancelled ones stay pending, so the next run repeats them (the state
/// was saved before any effect; see the module doc).
///
/// Dropping the returned future is also safe, at the cost of repeating
/// resets that finished in the last quarter second.
pub async fn step_until<S, E, F>(
    now: Millis,
    store: &S,
    events: &E,
    effects: &F,
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<(JobId, Action)>, EngineError>
where
    S: JobStore + ?Sized,
    E: EventSource + ?Sized,
    F: Effects + ?Sized,
{
    let mut out = Vec::new();
    let mut states = Vec::new();
    let mut resets = Vec::new();
    for id in store.claim()? {
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
            match store.save_claimed(&st) {
                Ok(()) => {}
                Err(e) if not_ours(&e) => {
                    // Its actions are the new holder's (or nobody's) now.
                    tracing::info!(job = id, "{e}");
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        for a in &actions {
            match a {
                Action::ResetPhone { mac, method, ip } => {
                    resets.push((states.len(), *mac, Work::Reset(*method, *ip)))
                }
                Action::CheckRegistration { mac, ip } => {
                    resets.push((states.len(), *mac, Work::Check(*ip)))
                }
                _ => tracing::info!(job = id, "{}", a.report_line()),
            }
        }
        out.extend(actions.into_iter().map(|a| (id, a)));
        states.push(st);
    }
    if resets.is_empty() {
        return Ok(out);
    }

    // Every job's resets at once, at most MAX_RESETS_IN_FLIGHT of them;
    // each job is saved shortly after its resets finish, not after the
    // slowest one.
    let jobs: Vec<Job> = states.iter().map(|s| s.job.clone()).collect();
    let total = resets.len();
    let mut in_flight = stream::iter(resets.into_iter().map(|(i, mac, work)| {
        let job = &jobs[i];
        async move {
            let done = match work {
                Work::Reset(method, ip) => Done::Reset(effects.reset(job, mac, method, ip).await),
                Work::Check(ip) => Done::Check(effects.check_registration(job, mac, ip).await),
            };
            (i, mac, done)
        }
    }))
    .buffer_unordered(MAX_RESETS_IN_FLIGHT);
    let mut dirty = vec![false; states.len()];
    let mut save_at: Option<Instant> = None;
    let mut done = 0;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            next = in_flight.next() => {
                let Some((i, mac, outcome)) = next else { break };
                match outcome {
                    Done::Reset(report) => {
                        tracing::info!(job = states[i].job.id, %mac, "{}", report.line);
                        states[i].ack_reset(mac, report);
                    }
                    Done::Check(report) => {
                        if report.all_registered() {
                            tracing::info!(job = states[i].job.id, %mac, "registered ({})", report.checked_by);
                        } else {
                            tracing::debug!(job = states[i].job.id, %mac, "not registered yet: {}", report.why_not());
                        }
                        states[i].ack_registration(mac, now, report);
                    }
                }
                dirty[i] = true;
                done += 1;
                save_at.get_or_insert_with(|| Instant::now() + ACK_SAVE_EVERY);
            }
            _ = sleep_until(save_at.unwrap_or_else(Instant::now)), if save_at.is_some() => {
                save_dirty(store, &states, &mut dirty)?;
                save_at = None;
            }
            _ = &mut shutdown => {
                tracing::info!(
                    "shutting down: {} of {total} resets and registration checks cancelled; they are repeated on the next run",
                    total - done
                );
                break;
            }
        }
    }
    drop(in_flight);
    save_dirty(store, &states, &mut dirty)?;
    Ok(out)
}

/// What the driver carries out for a tick's action.
enum Work {
    Reset(ResetMethod, Option<IpAddr>),
    Check(Option<IpAddr>),
}

enum Done {
    Reset(ResetReport),
    Check(RegistrationReport),
}

fn save_dirty<S: JobStore + ?Sized>(
    store: &S,
    states: &[JobState],
    dirty: &mut [bool],
) -> Result<(), EngineError> {
    for (st, d) in states.iter().zip(dirty.iter_mut()) {
        if std::mem::take(d) {
            match store.save_claimed(st) {
                Ok(()) => {}
                Err(e) if not_ours(&e) => tracing::info!(job = st.job.id, "{e}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Runs [`step`] every `every` on the wall clock, forever; for a caller
/// that aborts the task to stop it (dropping a step is safe, see
/// [`step_until`]). Errors are logged and retried on the next round: a
/// locked database or a busy inventory is not fatal.
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
    let (_keep, never) = watch::channel(false);
    run_until(store, events, effects, every, never).await
}

/// [`run`] until `shutdown` holds `true` (or its sender is dropped):
/// returns at once then, cancelling the NOTIFYs in flight instead of
/// waiting up to Timer F for phones that do not answer.
pub async fn run_until<S, E, F>(
    store: Arc<S>,
    events: Arc<E>,
    effects: Arc<F>,
    every: std::time::Duration,
    shutdown: watch::Receiver<bool>,
) where
    S: JobStore + ?Sized,
    E: EventSource + ?Sized,
    F: Effects + ?Sized,
{
    let stopped = || {
        let mut rx = shutdown.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped() => return,
        }
        if let Err(e) = step_until(
            phoneflip_inventory::now_millis(),
            store.as_ref(),
            events.as_ref(),
            effects.as_ref(),
            stopped(),
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

/// [`cancel`], then puts back what the job changed in the inventory: every
/// phone the job pointed at its target and that has not converted gets
/// its template, desired protocol and desired load from before the job
/// (`PhoneEntry::prior`). A phone that converted keeps the new record (it
/// runs the target; restoring would start a conversion back), and a record
/// someone changed since the job set it is left alone. Returns the job and
/// the phones restored; each restored phone's note says so.
pub fn cancel_and_restore<S: JobStore + ?Sized>(
    store: &S,
    inventory: &dyn Inventory,
    id: JobId,
    now: Millis,
    why: &str,
) -> Result<(JobState, Vec<Mac>), CancelError> {
    let mut st = cancel(store, id, now, why)?;
    let set = crate::scheduler::PriorRecord::of_job(&st.job);
    let mut restored = Vec::new();
    for entry in &mut st.phones {
        let Some(prior) = &entry.prior else { continue };
        if entry.is_converted() || prior.same(&set) {
            continue;
        }
        let Some(mut phone) = inventory.get_phone(entry.mac)? else {
            continue;
        };
        if !crate::scheduler::PriorRecord::of(&phone).same(&set) {
            continue;
        }
        prior.apply_to(&mut phone);
        inventory.put_phone(&phone)?;
        entry.note = Some(format!(
            "job cancelled: record put back to desired load {}, template {}",
            prior
                .desired_load
                .as_ref()
                .map_or("none".to_string(), |l| l.to_string()),
            prior.template.as_deref().unwrap_or("none")
        ));
        restored.push(entry.mac);
    }
    if !restored.is_empty() {
        store.save(&st)?;
    }
    Ok((st, restored))
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Job(#[from] crate::job::JobError),
    #[error("the job was cancelled, but putting its phones' records back failed: {0}; check them with `phoneflip phones show MAC`")]
    Restore(#[from] phoneflip_inventory::InventoryError),
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
    /// Who says whether a converted phone's lines registered.
    pub registrar: RegistrarCheck,
    /// The registrar's last answer, shared by the checks of one round:
    /// `ul.dump` lists every binding, so a fleet's checks need one call,
    /// not one per phone.
    bindings: tokio::sync::Mutex<Option<(Instant, Arc<Vec<phoneflip_pbx::registrar::Binding>>)>>,
    seed: AtomicU64,
}

/// How long one `ul.dump` answers the registration checks: less than a
/// job tick, so every round sees fresh bindings.
const BINDINGS_FRESH: Duration = Duration::from_millis(900);

/// How a job learns that a converted phone registered (`serve
/// --registrar`): the registrar's own word, or, without an adapter, an
/// OPTIONS probe to each line at the phone's address.
#[derive(Debug, Clone)]
pub enum RegistrarCheck {
    Kamailio(phoneflip_pbx::registrar::KamailioJsonRpc),
    Options(phoneflip_pbx::registrar::OptionsProbe),
}

impl Default for RegistrarCheck {
    fn default() -> Self {
        RegistrarCheck::Options(phoneflip_pbx::registrar::OptionsProbe {
            local: SocketAddr::from(([0, 0, 0, 0], 0)),
            timeout: Duration::from_secs(2),
        })
    }
}

impl RegistrarCheck {
    pub fn describe(&self) -> String {
        use phoneflip_pbx::registrar::Registrar;
        match self {
            RegistrarCheck::Kamailio(k) => k.describe(),
            RegistrarCheck::Options(_) => {
                "an OPTIONS probe to the phone (no registrar asked)".into()
            }
        }
    }
}

impl<B: SyncBumper> InventoryEffects<B> {
    pub fn new(inventory: Arc<dyn Inventory>, bumper: B) -> Self {
        InventoryEffects {
            inventory,
            bumper,
            timers: Timers::default(),
            sip_port: 5060,
            bind: None,
            registrar: RegistrarCheck::default(),
            bindings: tokio::sync::Mutex::new(None),
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
        let want = crate::scheduler::PriorRecord::of_job(job);
        if !crate::scheduler::PriorRecord::of(&phone).same(&want) {
            want.apply_to(&mut phone);
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
        let applied = phoneflip_inventory::now_millis();
        self.reset_applied(mac, method, ip, line)
            .await
            .applied_at(applied)
    }

    async fn check_registration(
        &self,
        job: &Job,
        mac: Mac,
        ip: Option<IpAddr>,
    ) -> RegistrationReport {
        self.registration_of(job, mac, ip).await
    }
}

impl<B: SyncBumper> InventoryEffects<B> {
    /// The reset proper, once the phone's record is the job's.
    async fn reset_applied(
        &self,
        mac: Mac,
        method: ResetMethod,
        ip: Option<IpAddr>,
        line: Option<String>,
    ) -> ResetReport {
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

    /// Asks the registrar about each served line of `mac`, and explains a
    /// line it does not hold: the phone's record cannot register
    /// ([`registration_problems`]), or the phone does not answer on SIP
    /// at all, or it answers but the registrar refused its REGISTER.
    async fn registration_of(&self, job: &Job, mac: Mac, ip: Option<IpAddr>) -> RegistrationReport {
        use phoneflip_pbx::registrar::{verdicts, LineVerdict, OptionsProbe, Registrar};
        let by = self.registrar.describe();
        let phone = match self.inventory.get_phone(mac) {
            Ok(Some(p)) => p,
            Ok(None) => {
                return RegistrationReport::problem(
                    by,
                    format!("{mac} is no longer in the inventory"),
                )
            }
            Err(e) => {
                return RegistrationReport::problem(
                    by,
                    format!("reading {mac} from the inventory: {e}"),
                )
            }
        };
        let settings = match self.inventory.get_template(&job.template) {
            Ok(t) => t.map(|t| t.settings).unwrap_or_default(),
            Err(e) => {
                return RegistrationReport::problem(
                    by,
                    format!("reading template {:?}: {e}", job.template),
                )
            }
        };
        let problems = registration_problems(&settings, &phone);
        let lines: Vec<(u8, String)> = phone
            .lines
            .iter()
            .filter(|l| l.number <= phone.model.lines() && !l.name.trim().is_empty())
            .map(|l| (l.number, l.name.clone()))
            .collect();
        let target = ip.map(|ip| SocketAddr::new(ip, self.sip_port));
        let quick = OptionsProbe {
            local: SocketAddr::from(([0, 0, 0, 0], 0)),
            timeout: Duration::from_millis(1500),
        };
        let mut checks = Vec::new();
        match &self.registrar {
            RegistrarCheck::Kamailio(k) => {
                let bindings = {
                    // Held across the call: the checks of a round wait
                    // for the one dump instead of each asking.
                    let mut cache = self.bindings.lock().await;
                    match cache.as_ref() {
                        Some((at, b)) if at.elapsed() < BINDINGS_FRESH => b.clone(),
                        _ => match k.bindings().await {
                            Ok(b) => {
                                let b = Arc::new(b);
                                *cache = Some((Instant::now(), b.clone()));
                                b
                            }
                            Err(e) => return RegistrationReport::problem(by, e.to_string()),
                        },
                    }
                };
                let v = verdicts(&lines, &bindings, &by);
                for (n, name) in &lines {
                    let (registered, detail) = match &v[n] {
                        LineVerdict::Registered { contact } => (true, contact.clone()),
                        LineVerdict::NotRegistered { why } => {
                            // Why: the phone's own answer tells a phone
                            // that is down from a REGISTER refused.
                            let seen = match target {
                                None => "no address seen for the phone, so it was not probed".to_string(),
                                Some(t) => match quick.probe(name, t).await {
                                    Ok(status) => format!("the phone answers OPTIONS at {t} ({status}), so its REGISTER was refused: most often a wrong password or authname; compare the line with the PBX's account (phoneflip pbx export)"),
                                    Err(e) => format!("no answer from the phone: {e}"),
                                },
                            };
                            (false, format!("{why}; {seen}"))
                        }
                    };
                    checks.push(LineCheck {
                        line: *n,
                        name: name.clone(),
                        registered,
                        detail,
                    });
                }
            }
            RegistrarCheck::Options(p) => {
                let Some(t) = target else {
                    return RegistrationReport::problem(
                        by,
                        "no address seen for the phone in the TFTP log, so no OPTIONS can reach it",
                    );
                };
                for (n, name) in &lines {
                    let (registered, detail) = match p.probe(name, t).await {
                        Ok(status) if (200..300).contains(&status) => (
                            problems.is_empty(),
                            format!("OPTIONS to {t} answered {status} (the phone is up; no registrar was asked)"),
                        ),
                        Ok(status) => (false, format!("OPTIONS to {t} answered {status}")),
                        Err(e) => (false, format!("no answer: {e}")),
                    };
                    checks.push(LineCheck {
                        line: *n,
                        name: name.clone(),
                        registered,
                        detail,
                    });
                }
            }
        }
        let mut report = RegistrationReport {
            checked_by: by,
            lines: checks,
            problem: None,
        };
        if !report.all_registered() && !problems.is_empty() {
            report.problem = Some(problems.join("; "));
        }
        report
    }
}
