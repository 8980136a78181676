//! `phoneflip jobs create|list|show|cancel`: bulk migration jobs, as the
//! reference's Bulk Administration > Migrate Phones and Job Scheduler.
//! Jobs live in the inventory's database file, in their own tables; the
//! `serve` process runs them.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use phoneflip_inventory::now_millis;
use std::sync::Arc;

use crate::db::Db;
use phoneflip_jobs::{
    cancel_and_restore, format_rfc3339, parse_rfc3339, CurrentCriterion, Job, JobState, JobStore,
    MacPattern, Query, Rollout, Schedule, Stage, Target,
};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: JobsCommand,
}

/// Where jobs (and the inventory they select from) live.
#[derive(clap::Args, Debug, Clone)]
pub struct JobsDb {
    /// The phoneflip database: the inventory's SQLite file or
    /// postgres://USER@HOST[:PORT]/DB.
    #[arg(
        long,
        env = "PHONEFLIP_DB",
        default_value = "phoneflip.db",
        value_name = "PATH|URL"
    )]
    pub db: Db,
}

impl JobsDb {
    fn require(&self) -> Result<()> {
        if !self.db.exists() {
            bail!(
                "there is no database at {}; import phones first (phoneflip phones import FILE.csv --db {}) \
                 or point --db (or PHONEFLIP_DB) at an existing one",
                self.db, self.db
            );
        }
        Ok(())
    }

    fn jobs(&self) -> Result<Arc<dyn JobStore>> {
        self.require()?;
        self.db.jobs()
    }

    fn inventory(&self) -> Result<Arc<dyn phoneflip_inventory::Inventory>> {
        self.require()?;
        self.db.inventory()
    }
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// What the job is for, shown in listings.
    #[arg(long)]
    pub description: String,
    /// The template for the target protocol (see `phoneflip templates`).
    #[arg(long)]
    pub template: String,
    /// Target protocol and version, e.g. sip:8.12 or sccp:8.1(2)SR2, or a
    /// load name such as P0S3-8-12-00.
    #[arg(long, value_name = "PROTOCOL:VERSION")]
    pub to: Target,
    /// The TFTP root the phones boot from: the target's firmware (and that
    /// of any intermediate hop) must be in it.
    #[arg(long, value_name = "DIR", env = "PHONEFLIP_ROOT")]
    pub root: PathBuf,
    /// Only phones of this model (7940 or 7960).
    #[arg(long)]
    pub model: Option<Model>,
    /// Only phones at this site.
    #[arg(long)]
    pub site: Option<String>,
    /// Only phones with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only phones seen running this protocol (sccp, sip) or this exact load name.
    #[arg(long, value_name = "PROTOCOL|LOAD")]
    pub current: Option<String>,
    /// Only phones whose MAC matches, with * wildcards (e.g. 0019AA*).
    #[arg(long, value_name = "PATTERN")]
    pub mac_pattern: Option<MacPattern>,
    /// Only these phones (comma-separated MACs, which must be in the inventory).
    #[arg(long, value_delimiter = ',', value_name = "MAC,...")]
    pub macs: Option<Vec<Mac>>,
    /// Start at this time (RFC 3339, e.g. 2026-11-25T22:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Phones per batch after the canary.
    #[arg(long, default_value_t = Rollout::default().batch_size)]
    pub batch: u32,
    /// Phones that must convert before any other is touched (0: no canary).
    #[arg(long, default_value_t = Rollout::default().canary_size)]
    pub canary: u32,
    /// Stop the job when this many phones have failed (default 1; 0 is refused).
    #[arg(long)]
    pub max_failures: Option<u32>,
    /// Never stop for failures.
    #[arg(long, conflicts_with = "max_failures")]
    pub no_failure_limit: bool,
    /// Minutes a phone may take from its reset to converted.
    #[arg(long, default_value_t = 30)]
    pub phone_timeout_min: i64,
    /// SIP targets: seconds a converted phone has to register every line
    /// (checked through `serve --registrar`, else an OPTIONS probe)
    /// before it counts as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = Rollout::default().register_grace_ms.unwrap_or(0) / 1000)]
    pub register_grace: i64,
    /// SIP targets: the job ends at conversion, without waiting for the
    /// phones to register.
    #[arg(long, conflicts_with = "register_grace")]
    pub no_register_wait: bool,
    /// Create a SIP job even though some phones could not register (no
    /// proxy1_address, proxy_register not 1, a line without a password).
    #[arg(long)]
    pub allow_unregistered: bool,
    /// Print the job as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: JobsDb,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Create a migration job: find phones, pick the target's template, run now or later.
    Create(Box<CreateArgs>),
    /// List jobs with their progress.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: JobsDb,
    },
    /// One job's phones and what each did.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: JobsDb,
    },
    /// Cancel a pending, scheduled or running job; phones it pointed at the
    /// target that have not converted get their previous record back.
    Cancel {
        id: i64,
        #[command(flatten)]
        db: JobsDb,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        JobsCommand::Create(args) => {
            let CreateArgs {
                description,
                template,
                to,
                root,
                model,
                site,
                tag,
                current,
                mac_pattern,
                macs,
                at,
                batch,
                canary,
                max_failures,
                no_failure_limit,
                phone_timeout_min,
                register_grace,
                no_register_wait,
                allow_unregistered,
                json,
                db,
            } = *args;
            let now = now_millis();
            let schedule = match at {
                None => Schedule::Now,
                Some(s) => Schedule::At(parse_rfc3339(&s).context("--at")?),
            };
            let current = current.map(|c| match c.parse::<Protocol>() {
                Ok(p) => CurrentCriterion::Protocol(p),
                Err(_) => CurrentCriterion::Load(c),
            });
            let job = Job {
                id: 0,
                description,
                query: Query {
                    model,
                    site,
                    current,
                    mac_pattern,
                    tag,
                },
                template,
                target: to,
                schedule,
                rollout: Rollout {
                    batch_size: batch,
                    canary_size: canary,
                    max_failures: if no_failure_limit {
                        None
                    } else {
                        Some(max_failures.unwrap_or(1))
                    },
                    phone_timeout_ms: phone_timeout_min.saturating_mul(60_000),
                    register_grace_ms: (!no_register_wait)
                        .then(|| register_grace.saturating_mul(1000)),
                },
                created_ms: now,
            };
            if !root.is_dir() {
                bail!(
                    "TFTP root {} is not a directory; pass the root `phoneflip serve` uses (--root DIR or PHONEFLIP_ROOT)",
                    root.display()
                );
            }
            let catalogue = phoneflip_provision::Provisioner::catalogue_of(&root)
                .with_context(|| format!("reading the TFTP root {}", root.display()))?;
            let inv = db.inventory()?;
            let store = db.jobs()?;
            let options = phoneflip_jobs::CreateOptions { allow_unregistered };
            let st = phoneflip_jobs::create_job_with(
                &*inv,
                &*store,
                job,
                macs.as_deref(),
                &catalogue,
                now,
                options,
            )
            .with_context(|| format!("TFTP root {}", root.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                let power = st
                    .phones
                    .iter()
                    .filter(|p| p.reset == phoneflip_jobs::ResetMethod::PowerCycle)
                    .count();
                println!(
                    "job {} created: {} phone(s) to {} ({}), {}",
                    st.job.id,
                    st.phones.len(),
                    st.job.target.release,
                    st.job.target.load,
                    when(&st)
                );
                for (mac, via) in phoneflip_jobs::intermediate_hops(&st) {
                    println!(
                        "{mac} goes through an intermediate load first: {} -> {}",
                        via.iter()
                            .map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join(" -> "),
                        st.job.target.load
                    );
                }
                if power > 0 {
                    println!(
                        "{power} of them run SCCP (or an unknown load): they cannot be reset from outside their call manager and will be listed for a power cycle when their batch starts"
                    );
                }
                println!(
                    "`phoneflip serve` runs it; `phoneflip jobs show {}` follows it",
                    st.job.id
                );
            }
        }
        JobsCommand::List { json, db } => {
            let store = db.jobs()?;
            let jobs = store.list()?;
            if json {
                let rows: Vec<_> = jobs.iter().map(summary).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if jobs.is_empty() {
                println!("no jobs; create one with `phoneflip jobs create`");
            } else {
                println!(
                    "{:>4}  {:<9}  {:<16}  {:>9}  {:>6}  {:>7}  {:<24}  DESCRIPTION",
                    "ID", "STATUS", "TARGET", "CONVERTED", "FAILED", "WAITING", "WHEN"
                );
                for st in &jobs {
                    let c = st.counts();
                    println!(
                        "{:>4}  {:<9}  {:<16}  {:>5}/{:<3}  {:>6}  {:>7}  {:<24}  {}",
                        st.job.id,
                        st.status.as_str(),
                        st.job.target.release.to_string(),
                        c.converted,
                        st.phones.len(),
                        c.failed,
                        c.waiting + c.in_progress + c.registering,
                        when(st),
                        st.job.description
                    );
                }
            }
        }
        JobsCommand::Show { id, json, db } => {
            let store = db.jobs()?;
            let st = store.load(id)?.with_context(|| {
                format!("job {id} does not exist; `phoneflip jobs list` shows the jobs there are")
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
                return Ok(());
            }
            println!(
                "job {}: {} ({}), {} to {} ({}), template {}",
                st.job.id,
                st.job.description,
                st.status,
                st.phones.len(),
                st.job.target.release,
                st.job.target.load,
                st.job.template
            );
            if let Some(r) = &st.reason {
                println!("reason: {r}");
            }
            let power = st.power_cycle_list();
            if !power.is_empty() {
                println!(
                    "POWER CYCLE these phones now (unplug power or PoE Ethernet): {}",
                    power
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            for p in &st.phones {
                let stage = match &p.progress.stage {
                    Stage::Converted { file, at_ms } => {
                        let reg = match &p.registration {
                            None => String::new(),
                            Some(r) if r.is_registered() => format!(
                                ", registered at {}",
                                format_rfc3339(r.registered_ms.unwrap_or_default())
                            ),
                            Some(_) => ", waiting for its lines to register".to_string(),
                        };
                        format!("converted at {} ({file}){reg}", format_rfc3339(*at_ms))
                    }
                    Stage::Failed { cause } => format!("failed: {cause}"),
                    s => s.name().replace('_', " "),
                };
                let batch = p.batch.map_or("-".to_string(), |b| b.to_string());
                println!(
                    "  {}  batch {batch:>2}  {stage}{}",
                    p.mac,
                    p.note
                        .as_ref()
                        .map(|n| format!("\n                       {n}"))
                        .unwrap_or_default()
                );
                // Per line: what the latest registration check found.
                if let Some(last) = p.registration.as_ref().and_then(|r| r.last.as_ref()) {
                    if let Some(problem) = &last.problem {
                        println!("                       registration: {problem}");
                    }
                    for l in &last.lines {
                        println!(
                            "                       line {} ({}): {}: {}",
                            l.line,
                            l.name,
                            if l.registered {
                                "registered"
                            } else {
                                "NOT registered"
                            },
                            l.detail
                        );
                    }
                }
            }
        }
        JobsCommand::Cancel { id, db } => {
            let store = db.jobs()?;
            let inv = db.inventory()?;
            let (st, restored) = cancel_and_restore(
                &*store,
                &*inv,
                id,
                now_millis(),
                "cancelled from the command line",
            )
            .with_context(|| format!("cannot cancel job {id}"))?;
            let c = st.counts();
            println!(
                "job {id} cancelled: {} converted, {} failed, {} phone(s) not finished",
                c.converted,
                c.failed,
                c.waiting + c.in_progress
            );
            if !restored.is_empty() {
                println!(
                    "records put back as they were before the job (desired load, template): {}",
                    restored
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    Ok(())
}

fn when(st: &JobState) -> String {
    match st.job.schedule {
        Schedule::Now => "runs now".into(),
        Schedule::At(t) => format!("at {}", format_rfc3339(t)),
    }
}

fn summary(st: &JobState) -> serde_json::Value {
    let c = st.counts();
    serde_json::json!({
        "id": st.job.id,
        "description": st.job.description,
        "status": st.status,
        "target": st.job.target.release.to_string(),
        "load": st.job.target.load.as_str(),
        "template": st.job.template,
        "schedule": st.job.schedule,
        "phones": st.phones.len(),
        "converted": c.converted,
        "registering": c.registering,
        "failed": c.failed,
        "in_progress": c.in_progress,
        "waiting": c.waiting,
        "reason": st.reason,
        "power_cycle": st.power_cycle_list(),
        "created": format_rfc3339(st.job.created_ms),
        "started": st.started_ms.map(format_rfc3339),
        "finished": st.finished_ms.map(format_rfc3339),
    })
}
