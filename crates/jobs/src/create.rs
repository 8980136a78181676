//! Submitting a job (Bulk Administration's Find, template, Submit): checks
//! everything a person can get wrong before anything is stored, so a bad
//! request changes nothing: the target parsed (see [`crate::Target`]), its
//! firmware and that of every intermediate hop in the TFTP root, no phone
//! owned by another active job, and each phone's route planned by the
//! planner (the only definition of the reference's rules) so the job names
//! the phones that go through an intermediate load, and, for a SIP
//! target, every phone able to register (proxy, `proxy_register: 1`,
//! credentials on each line; [`crate::registration::registration_problems`])
//! unless the caller allows phones that cannot.

use std::collections::{BTreeMap, BTreeSet};

use phoneflip_device::Mac;
use phoneflip_firmware::{LoadName, Protocol};
use phoneflip_inventory::Inventory;
use phoneflip_plan::{plan, release_files, Catalogue, Endpoint};

use crate::job::{Job, JobError, JobId, Millis};
use crate::registration::registration_problems;
use crate::scheduler::{JobState, PriorRecord};
use crate::store::{JobStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("template {0:?} does not exist; create it first (phoneflip templates) or name another with --template")]
    NoTemplate(String),
    #[error("template {name:?} is for {template}, but the job moves phones to {target}; pick a {target} template")]
    TemplateProtocol {
        name: String,
        template: phoneflip_firmware::Protocol,
        target: phoneflip_firmware::Protocol,
    },
    #[error("{} MAC(s) given with --macs are not in the inventory: {}; import them first (phoneflip phones import)", .0.len(), .0.iter().map(Mac::to_string).collect::<Vec<_>>().join(", "))]
    UnknownMacs(Vec<Mac>),
    #[error("the query finds no phones ({0}); loosen it, or check `phoneflip phones list`")]
    NothingSelected(String),
    #[error("the TFTP root does not hold {load} ({release}): {} missing; import the release's bundle first (`phoneflip firmware import BUNDLE.zip --root TFTP_ROOT`), then create the job again", files.join(", "))]
    FirmwareMissing {
        release: String,
        load: String,
        files: Vec<String>,
    },
    #[error("{} phone(s) need an intermediate load whose firmware is not in the TFTP root: {}; import those bundles first (`phoneflip firmware import BUNDLE.zip --root TFTP_ROOT`)", .0.len(), .0.iter().map(|(m, hop, files)| format!("{m} via {hop} (missing {})", files.join(", "))).collect::<Vec<_>>().join("; "))]
    HopFirmwareMissing(Vec<(Mac, String, Vec<String>)>),
    #[error("{} phone(s) cannot reach the target: {}; leave them out of the job (--macs, or a narrower query)", .0.len(), .0.iter().map(|(m, why)| format!("{m}: {why}")).collect::<Vec<_>>().join("; "))]
    Unreachable(Vec<(Mac, String)>),
    #[error("{} phone(s) already belong to an active job: {}; cancel that job (phoneflip jobs cancel ID) or leave them out (--macs, or a narrower query)", .0.len(), .0.iter().map(|(m, id)| format!("{m} (job {id})")).collect::<Vec<_>>().join(", "))]
    Owned(Vec<(Mac, JobId)>),
    #[error("{} phone(s) of this SIP job could not register after converting: {}; fix the template or the lines (phoneflip templates, phoneflip phones edit), or pass --allow-unregistered to convert them anyway (the job then reports them as not registered)", .0.len(), list_problems(.0))]
    CannotRegister(Vec<(Mac, Vec<String>)>),
    #[error("reading the inventory: {0}")]
    Inventory(#[from] phoneflip_inventory::InventoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates `job`, selects its phones (its query, narrowed to `macs` when
/// given) and stores it as pending. `root` is the catalogue of the TFTP
/// root the phones boot from (`Catalogue::from_file_names`): the target's
/// files and those of every intermediate hop must be in it.
pub fn create_job(
    inventory: &dyn Inventory,
    store: &dyn JobStore,
    job: Job,
    macs: Option<&[Mac]>,
    root: &Catalogue,
    now: Millis,
) -> Result<JobState, CreateError> {
    create_job_with(
        inventory,
        store,
        job,
        macs,
        root,
        now,
        CreateOptions::default(),
    )
}

/// What a person may waive when creating a job.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateOptions {
    /// Create a SIP job even though some of its phones could not register
    /// (`--allow-unregistered`).
    pub allow_unregistered: bool,
}

/// [`create_job`] with the checks `options` waives.
pub fn create_job_with(
    inventory: &dyn Inventory,
    store: &dyn JobStore,
    job: Job,
    macs: Option<&[Mac]>,
    root: &Catalogue,
    now: Millis,
    options: CreateOptions,
) -> Result<JobState, CreateError> {
    job.validate()?;
    let missing = missing_files(root, &job.target.load);
    if !missing.is_empty() {
        return Err(CreateError::FirmwareMissing {
            release: job.target.release.to_string(),
            load: job.target.load.to_string(),
            files: missing,
        });
    }
    let template = inventory
        .get_template(&job.template)?
        .ok_or_else(|| CreateError::NoTemplate(job.template.clone()))?;
    if template.protocol != job.target.protocol() {
        return Err(CreateError::TemplateProtocol {
            name: template.name,
            template: template.protocol,
            target: job.target.protocol(),
        });
    }
    let mut selected = job.query.select(inventory)?;
    if let Some(macs) = macs {
        let wanted: BTreeSet<Mac> = macs.iter().copied().collect();
        let mut missing = Vec::new();
        for m in &wanted {
            if inventory.get_phone(*m)?.is_none() {
                missing.push(*m);
            }
        }
        if !missing.is_empty() {
            return Err(CreateError::UnknownMacs(missing));
        }
        selected.retain(|s| wanted.contains(&s.mac));
    }
    if selected.is_empty() {
        return Err(CreateError::NothingSelected(describe(&job, macs)));
    }
    let owned = owners(store)?;
    let taken: Vec<(Mac, JobId)> = selected
        .iter()
        .filter_map(|s| owned.get(&s.mac).map(|id| (s.mac, *id)))
        .collect();
    if !taken.is_empty() {
        return Err(CreateError::Owned(taken));
    }
    let mut state = JobState::new(job, selected, now)?;
    let target = state.job.target.load.clone();
    let mut unreachable = Vec::new();
    let mut hop_missing = Vec::new();
    let mut cannot_register = Vec::new();
    let check_registration =
        state.job.target.protocol() == Protocol::Sip && !options.allow_unregistered;
    for entry in &mut state.phones {
        let Some(phone) = inventory.get_phone(entry.mac)? else {
            continue;
        };
        entry.prior = Some(PriorRecord::of(&phone));
        if check_registration {
            let problems = registration_problems(&template.settings, &phone);
            if !problems.is_empty() {
                cannot_register.push((entry.mac, problems));
            }
        }
        let Some(current) = phone.observed_load.clone() else {
            // Unknown: serve learns the generation from the phone's first
            // requests (or its fleet default) and plans then.
            continue;
        };
        if current.as_str() == target.as_str() {
            continue;
        }
        match plan(
            Endpoint::Load(current),
            Endpoint::Load(target.clone()),
            Some(phone.model),
            root,
        ) {
            Err(e) => unreachable.push((entry.mac, e.to_string())),
            Ok(p) => {
                let through = p.hops.split_last().map_or(&[][..], |(_, t)| t);
                for hop in through {
                    let name = hop
                        .to
                        .load
                        .as_deref()
                        .and_then(|l| l.parse::<LoadName>().ok());
                    let missing = match &name {
                        Some(l) => missing_files(root, l),
                        None => hop.files.clone(),
                    };
                    if !missing.is_empty() {
                        hop_missing.push((entry.mac, hop.to.release.clone(), missing));
                    }
                    if let Some(l) = name {
                        entry.via.push(l);
                    }
                }
            }
        }
    }
    if !unreachable.is_empty() {
        return Err(CreateError::Unreachable(unreachable));
    }
    if !hop_missing.is_empty() {
        return Err(CreateError::HopFirmwareMissing(hop_missing));
    }
    if !cannot_register.is_empty() {
        return Err(CreateError::CannotRegister(cannot_register));
    }
    // The store checks ownership again with the insert: another creation
    // may have taken a phone since `owners` above.
    store.create(state).map_err(|e| match e {
        StoreError::Owned(taken) => CreateError::Owned(taken),
        e => e.into(),
    })
}

/// The first phones' reasons, so a fleet-wide mistake in a template reads
/// as one line per phone for a few phones, not a page.
fn list_problems(v: &[(Mac, Vec<String>)]) -> String {
    const SHOWN: usize = 5;
    let mut s = v
        .iter()
        .take(SHOWN)
        .map(|(m, p)| format!("{m}: {}", p.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    if v.len() > SHOWN {
        s.push_str(&format!("; and {} more", v.len() - SHOWN));
    }
    s
}

/// The files of `load`'s release (the planner's [`release_files`]) that
/// the root does not hold; all of them for a catalogue tied to no root.
fn missing_files(root: &Catalogue, load: &LoadName) -> Vec<String> {
    release_files(load)
        .into_iter()
        .filter(|f| root.has_file(f) != Some(true))
        .collect()
}

/// Which active job owns each phone ([`crate::store::owners`]).
fn owners(store: &dyn JobStore) -> Result<BTreeMap<Mac, JobId>, StoreError> {
    let mut active = Vec::new();
    for id in store.active()? {
        if let Some(st) = store.load(id)? {
            active.push(st);
        }
    }
    Ok(crate::store::owners(&active))
}

/// Phones whose plan goes through an intermediate load, with that route.
pub fn intermediate_hops(st: &JobState) -> Vec<(Mac, &[LoadName])> {
    st.phones
        .iter()
        .filter(|p| !p.via.is_empty())
        .map(|p| (p.mac, p.via.as_slice()))
        .collect()
}

fn describe(job: &Job, macs: Option<&[Mac]>) -> String {
    let q = &job.query;
    let mut parts = Vec::new();
    if let Some(m) = q.model {
        parts.push(format!("model {m}"));
    }
    if let Some(s) = &q.site {
        parts.push(format!("site {s:?}"));
    }
    if let Some(t) = &q.tag {
        parts.push(format!("tag {t:?}"));
    }
    if let Some(p) = &q.mac_pattern {
        parts.push(format!("MAC {}", p.as_str()));
    }
    match &q.current {
        Some(crate::job::CurrentCriterion::Protocol(p)) => parts.push(format!("running {p}")),
        Some(crate::job::CurrentCriterion::Load(l)) => parts.push(format!("running {l}")),
        None => {}
    }
    if let Some(m) = macs {
        parts.push(format!("{} listed MAC(s)", m.len()));
    }
    if parts.is_empty() {
        "every phone; the inventory is empty".into()
    } else {
        parts.join(", ")
    }
}
