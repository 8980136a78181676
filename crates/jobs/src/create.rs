//! Submitting a job (Bulk Administration's Find, template, Submit): checks
//! everything a person can get wrong before anything is stored, so a bad
//! request changes nothing.

use std::collections::BTreeSet;

use phoneflip_device::Mac;
use phoneflip_inventory::Inventory;

use crate::job::{Job, JobError, Millis};
use crate::scheduler::JobState;
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
    #[error("reading the inventory: {0}")]
    Inventory(#[from] phoneflip_inventory::InventoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates `job`, selects its phones (its query, narrowed to `macs` when
/// given) and stores it as pending.
pub fn create_job(
    inventory: &dyn Inventory,
    store: &dyn JobStore,
    job: Job,
    macs: Option<&[Mac]>,
    now: Millis,
) -> Result<JobState, CreateError> {
    job.validate()?;
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
    let state = JobState::new(job, selected, now)?;
    Ok(store.create(state)?)
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
