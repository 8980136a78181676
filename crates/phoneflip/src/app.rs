//! The running `phoneflip serve` process: the TFTP server with per-phone
//! files from the inventory, the recorder, the HTTP API with the dashboard,
//! and the bulk-migration job runner, all sharing one inventory.
//!
//! Owns start-up order and shutdown (Ctrl-C drains TFTP transfers in
//! flight, then flushes the recorder) and the demo fleet. The pieces
//! themselves live in their crates.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use phoneflip_api::{router, AppState, Metrics};
use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{Protocol, Version};
use phoneflip_inventory::{Inventory, Phone, PhoneFilter};
use phoneflip_jobs::{InventoryEffects, InventoryEvents, InventorySyncBumper};
use phoneflip_provision::{AutoRegister, AutoRegisterLimits, Provisioner};
use phoneflip_tftp::{Server, ServerConfig, TransferLog};
use tracing::info;

pub struct AppConfig {
    pub tftp: ServerConfig,
    pub log: TransferLog,
    pub db: crate::db::Db,
    /// This run created `db` (a SQLite file that did not exist before
    /// `serve` started): a start-up that fails removes it again, with its
    /// lock file, so a mistyped flag leaves no empty database behind.
    pub created_db: bool,
    /// How long a PostgreSQL node holds a job without renewing it.
    pub job_lease: Duration,
    /// HTTP API and dashboard; `None` = TFTP only.
    pub http: Option<SocketAddr>,
    pub api_token: Option<String>,
    pub auto_register: Option<AutoRegister>,
    /// How many phones `auto_register` may add, per source and in all.
    pub auto_register_limits: AutoRegisterLimits,
    /// How often bulk-migration jobs are ticked.
    pub jobs_every: Duration,
    /// The phones' SIP port, where check-sync NOTIFYs go (`voip_control_port`).
    pub phone_sip_port: u16,
    /// The load phones whose load is unknown are taken to run while their
    /// requests fit it (`--assume-current`).
    pub assume_current: Option<phoneflip_firmware::LoadName>,
    /// TFTP events older than this are deleted (checked every
    /// `prune_every`); `None` keeps them for ever. Every read request adds
    /// one, so without it the database only grows.
    pub events_max_age: Option<Duration>,
    /// At most this many TFTP events are kept (the oldest go first,
    /// checked every `prune_every`): age alone does not bound a flood of
    /// requests. `None`: no limit.
    pub events_max_count: Option<u64>,
    pub prune_every: Duration,
    /// Where jobs ask whether converted phones registered: Kamailio's
    /// JSON-RPC over HTTP; `None`: an OPTIONS probe to each line.
    pub registrar: Option<SocketAddr>,
}

/// Holds `<db>.lock` locked (flock) for the life of the process: two
/// `serve` on one SQLite file would both run the job engine and both send
/// each phone its NOTIFYs.
pub struct DbLock {
    _file: std::fs::File,
}

/// Start-up checks on the database: one serve per file, and writable (a
/// read-only database would otherwise start fine and then lose every TFTP
/// event and fail API writes with 500).
pub fn lock_database(db: &Path) -> Result<DbLock> {
    use std::os::fd::AsRawFd;
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| {
            format!(
                "creating the lock file {}: the database folder must be writable (SQLite writes its journal there too)",
                lock_path.display()
            )
        })?;
    // SAFETY: flock only takes the descriptor of the file we hold.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            anyhow::bail!(
                "another phoneflip serve is using the database {} (it holds {}): stop it first, or give this one its own --db; two servers on one SQLite file would both run the bulk jobs",
                db.display(),
                lock_path.display()
            );
        }
        return Err(e).with_context(|| format!("locking {}", lock_path.display()));
    }
    if db.exists() {
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(db) {
            anyhow::bail!(
                "the database {} is not writable ({e}): serve records every TFTP transfer and API change there; make it writable (chmod u+w, or a read-write mount) or pass another --db",
                db.display()
            );
        }
    }
    Ok(DbLock { _file: file })
}

/// Removes the database this run created when start-up fails before
/// serving (dropped on the error path, after every handle on it).
struct CreatedDb<'a> {
    /// `None` for PostgreSQL: nothing of a database server is removed.
    db: Option<&'a Path>,
    armed: bool,
    /// The lock file is this run's (it holds the lock): removed too.
    locked: bool,
}

impl Drop for CreatedDb<'_> {
    fn drop(&mut self) {
        let Some(db) = self.db else { return };
        if self.armed && self.locked {
            crate::cmd::phones::remove_created_db(db);
            let mut lock = db.as_os_str().to_owned();
            lock.push(".lock");
            let _ = std::fs::remove_file(PathBuf::from(lock));
        }
    }
}

/// Deletes events beyond `max_age` or `max_count` now and then every
/// `every`, until stop.
async fn prune_events_until(
    inventory: Arc<dyn Inventory>,
    max_age: Option<Duration>,
    max_count: Option<u64>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Some(max_age) = max_age {
            let cutoff = std::time::SystemTime::now()
                .checked_sub(max_age)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let inv = inventory.clone();
            match tokio::task::spawn_blocking(move || inv.prune_events(cutoff)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => info!("pruned {n} TFTP events older than {max_age:?}"),
                Ok(Err(e)) => tracing::warn!("pruning old TFTP events: {e}"),
                Err(e) => tracing::warn!("pruning old TFTP events: {e}"),
            }
        }
        if let Some(keep) = max_count {
            let inv = inventory.clone();
            match tokio::task::spawn_blocking(move || inv.prune_events_beyond(keep)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => info!("pruned the {n} oldest TFTP events (at most {keep} are kept)"),
                Ok(Err(e)) => tracing::warn!("pruning TFTP events beyond {keep}: {e}"),
                Err(e) => tracing::warn!("pruning TFTP events beyond {keep}: {e}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Runs until Ctrl-C (or `shutdown` resolves).
pub async fn run(
    cfg: AppConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Several nodes may share a PostgreSQL database (its jobs are
    // leased); a SQLite file has one serve, and a SQLite file this run
    // created goes again if the start-up fails.
    let db_path = cfg.db.sqlite_path().map(Path::to_path_buf);
    let mut created = CreatedDb {
        db: db_path.as_deref(),
        armed: cfg.created_db,
        locked: false,
    };
    let _lock = cfg.db.sqlite_path().map(lock_database).transpose()?;
    created.locked = true;
    let inventory: Arc<dyn Inventory> = cfg
        .db
        .inventory()
        .with_context(|| format!("opening the inventory {}", cfg.db))?;
    let catalogue = Provisioner::catalogue_of(&cfg.tftp.root)
        .with_context(|| format!("reading the TFTP root {}", cfg.tftp.root.display()))?;
    let tag_table = Provisioner::tag_table_of(&cfg.tftp.root)
        .with_context(|| format!("reading the tag table in {}", cfg.tftp.root.display()))?;
    if tag_table.is_none() {
        info!("no sip_ptag*.dat in the TFTP root: gkdefault.cfg is served from the root, not compiled");
    }
    let provisioner = Provisioner::new(
        inventory.clone(),
        catalogue.clone(),
        cfg.auto_register.clone(),
    )
    .with_assumed_current(cfg.assume_current.clone())
    .with_auto_register_limits(cfg.auto_register_limits);
    provisioner.set_tag_table(tag_table);
    let provisioner = Arc::new(provisioner);
    let recorder = Arc::new(provisioner.recorder());
    let metrics =
        Arc::new(Metrics::wrapping(recorder.clone()).with_store_health(recorder.health()));
    let tftp_addr = cfg.tftp.bind;
    let server = Server::bind(cfg.tftp, provisioner, metrics.clone(), cfg.log)
        .await
        .with_context(|| {
            if tftp_addr.port() < 1024 {
                format!("binding TFTP to {tftp_addr}: ports below 1024 need root or CAP_NET_BIND_SERVICE; try --tftp 127.0.0.1:6969")
            } else {
                format!("binding TFTP to {tftp_addr}")
            }
        })?;
    let tftp_local = server.local_addr()?;
    info!("TFTP on {tftp_local}");
    println!("phoneflip: TFTP on {tftp_local}");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let jobs = cfg
        .db
        .jobs_with_lease(cfg.job_lease)
        .with_context(|| format!("opening the job store {}", cfg.db))?;
    let mut http_task = None;
    if let Some(addr) = cfg.http {
        let state = AppState {
            inventory: inventory.clone(),
            token: cfg.api_token.clone(),
            metrics: metrics.clone(),
            catalogue: Arc::new(catalogue),
            jobs: Some(jobs.clone()),
        };
        if !addr.ip().is_loopback() {
            eprintln!(
                "phoneflip: warning: the HTTP API listens on {addr}, beyond this host, without TLS: the API token and the phones' SIP passwords cross the network in clear; bind it to 127.0.0.1 and put a TLS reverse proxy in front"
            );
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the HTTP API to {addr}"))?;
        let local = listener.local_addr()?;
        println!("phoneflip: dashboard on http://{local}/  (API under /api, metrics /metrics, OpenAPI /openapi.json)");
        if cfg.api_token.is_none() {
            println!("phoneflip: no API token (--api-token-file or PHONEFLIP_API_TOKEN): the API is read-only");
        }
        let mut rx = stop_rx.clone();
        http_task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, router(state))
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        }));
    }

    let mut effects =
        InventoryEffects::new(inventory.clone(), InventorySyncBumper(inventory.clone()));
    effects.sip_port = cfg.phone_sip_port;
    if let Some(addr) = cfg.registrar {
        effects.registrar = phoneflip_jobs::RegistrarCheck::Kamailio(
            phoneflip_pbx::registrar::KamailioJsonRpc::new(addr),
        );
    }
    println!(
        "phoneflip: jobs check registration with {}",
        effects.registrar.describe()
    );
    let jobs_task = tokio::spawn(phoneflip_jobs::run_until(
        jobs,
        Arc::new(InventoryEvents(inventory.clone())),
        Arc::new(effects),
        cfg.jobs_every,
        stop_rx.clone(),
    ));

    let prune_task = (cfg.events_max_age.is_some() || cfg.events_max_count.is_some()).then(|| {
        tokio::spawn(prune_events_until(
            inventory.clone(),
            cfg.events_max_age,
            cfg.events_max_count,
            cfg.prune_every,
            stop_rx.clone(),
        ))
    });

    // Started: from here on the database is the server's, kept whatever
    // happens.
    created.armed = false;
    let mut rx = stop_rx.clone();
    server
        .run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await?;
    let _ = jobs_task.await;
    if let Some(t) = prune_task {
        let _ = t.await;
    }
    if let Some(t) = http_task {
        let _ = t.await;
    }
    drop(metrics);
    if let Ok(r) = Arc::try_unwrap(recorder) {
        r.close();
    }
    println!("phoneflip: stopped");
    Ok(())
}

/// The demo: synthetic firmware bundles imported into an empty root, and a
/// small fleet with a SIP template in an empty inventory, so a new user
/// sees a conversion happen (`phoneflip rehearse --inventory`).
pub fn create_demo(root: &Path, db: &crate::db::Db) -> Result<()> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating the demo root {}", root.display()))?;
    let empty = std::fs::read_dir(root)?.next().is_none();
    if empty {
        let tmp = root.join(".phoneflip-demo-bundles");
        std::fs::create_dir_all(&tmp)?;
        // SIP last: its bundle's OS79XX.TXT (the universal loader's name)
        // is what phones on pre-loader loads read before they have said
        // who they are; per-phone files take over once they have.
        for (p, v) in [
            (Protocol::Sccp, "8.1(2)SR2".parse::<Version>()?),
            (Protocol::Sccp, "5.0(1.1)".parse::<Version>()?),
            (Protocol::Sip, Version::new(8, 12)),
        ] {
            let bundle =
                phoneflip_bundle::synth::synth(p, v, phoneflip_bundle::synth::SizeProfile::Real)
                    .with_context(|| format!("synthesising a demo {p} {v} bundle"))?;
            let zip = phoneflip_bundle::synth::write_zip(&bundle, &tmp)?;
            let report = phoneflip_bundle::import(&zip, root)
                .with_context(|| format!("importing {} into {}", zip.display(), root.display()))?;
            if let Some(p) = report.problems.first() {
                anyhow::bail!("the demo bundle {} was refused: {p}", zip.display());
            }
        }
        std::fs::remove_dir_all(&tmp)?;
        println!(
            "phoneflip: demo TFTP root created in {} (synthetic firmware, NOT for real phones)",
            root.display()
        );
    }
    let inv = db.inventory().with_context(|| format!("opening {db}"))?;
    if inv.list_phones(&PhoneFilter::default())?.is_empty() {
        let mut settings = std::collections::BTreeMap::new();
        settings.insert("proxy1_address".to_string(), "127.0.0.1".to_string());
        settings.insert("proxy_register".to_string(), "1".to_string());
        inv.put_template(&Template {
            name: "demo-sip".into(),
            protocol: Protocol::Sip,
            settings,
        })?;
        for i in 0..20u32 {
            let b = i.to_be_bytes();
            let mac = Mac::new([0x00, 0x19, 0xAA, b[1], b[2], b[3]]);
            let model = if i % 3 == 0 {
                Model::Cp7940
            } else {
                Model::Cp7960
            };
            let mut p = Phone::new(mac, model);
            p.description = format!("demo phone {}", i + 1);
            p.site = Some(if i < 10 { "hq".into() } else { "branch".into() });
            p.observed_load = Some(
                if i % 2 == 0 {
                    "P0030801SR02"
                } else {
                    "P00305000101"
                }
                .parse()?,
            );
            p.desired_load = Some("P0S3-8-12-00".parse()?);
            p.template = Some("demo-sip".into());
            p.lines = vec![Line {
                number: 1,
                name: format!("{}", 2001 + i),
                authname: Some(format!("{}", 2001 + i)),
                password: Some(format!("demo{}", 2001 + i)),
                displayname: Some(format!("Demo {}", i + 1)),
                shortname: None,
            }];
            inv.put_phone(&p)?;
        }
        println!(
            "phoneflip: demo fleet of 20 phones (SCCP 8.1(2)SR2 and 5.0(1.1), to SIP 8.12) in {}",
            db
        );
        let job = demo_job(root, db, inv.as_ref())?;
        println!(
            "phoneflip: demo job {} ({} phones of site hq, canary then batches of 3) is scheduled for tomorrow: press Start in the dashboard to run it now",
            job.job.id,
            job.phones.len()
        );
    }
    Ok(())
}

/// The demo's ready job: site hq to SIP 8.12, a canary of one then
/// batches of three, scheduled a day ahead so that nothing moves until an
/// operator presses Start (the rest of the fleet is left for a job of
/// their own, from a query). Checked like any job (firmware in the root,
/// lines able to register).
fn demo_job(
    root: &Path,
    db: &crate::db::Db,
    inv: &dyn Inventory,
) -> Result<phoneflip_jobs::JobState> {
    let store = db
        .jobs()
        .with_context(|| format!("opening the job store {db}"))?;
    let catalogue = Provisioner::catalogue_of(root)
        .with_context(|| format!("reading the demo root {}", root.display()))?;
    let now = phoneflip_inventory::now_millis();
    let job = phoneflip_jobs::Job {
        id: 0,
        description: "demo: hq to SIP 8.12".into(),
        query: phoneflip_jobs::Query {
            site: Some("hq".into()),
            ..Default::default()
        },
        template: "demo-sip".into(),
        target: "sip:8.12".parse()?,
        schedule: phoneflip_jobs::Schedule::At(now + 24 * 3600 * 1000),
        rollout: phoneflip_jobs::Rollout {
            canary_size: 1,
            batch_size: 3,
            ..Default::default()
        },
        created_ms: now,
    };
    phoneflip_jobs::create_job(inv, store.as_ref(), job, None, &catalogue, now)
        .context("creating the demo job")
}
