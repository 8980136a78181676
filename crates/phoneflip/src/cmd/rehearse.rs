//! `phoneflip rehearse`: boot a fleet of emulated phones at once against
//! the real TFTP server, before a real phone is touched.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{self, DriveOptions, LiveStatus, SipOptions, TftpFetcher};
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, Report, TftpSetting};
use phoneflip_firmware::{LoadName, Release};
use phoneflip_inventory::PhoneFilter;

#[derive(clap::Args)]
pub struct Args {
    /// The TFTP server, HOST:PORT.
    #[arg(long)]
    pub tftp: String,
    /// How many phones boot at once, each from its own 127.x.y.z
    /// (default 10, or every phone of the inventory with --inventory).
    #[arg(long)]
    pub phones: Option<u32>,
    /// The load every phone runs before it boots, e.g. sccp:5.0; with
    /// --inventory, for phones whose load has not been observed yet.
    #[arg(long, required_unless_present = "inventory")]
    pub from: Option<Release>,
    /// Emulate the inventory's phones: their MACs, models, observed loads,
    /// and check that each reaches its desired load.
    #[arg(long)]
    pub inventory: bool,
    #[command(flatten)]
    pub db: super::phones::DbArg,
    /// Model of the phones without --inventory.
    #[arg(long, default_value = "7960")]
    pub model: Model,
    /// MAC of the first phone; the others count up from it.
    #[arg(long, default_value = "00AA00000000")]
    pub first_mac: Mac,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// After the rehearsal, keep the phones up until Ctrl-C: those on a
    /// SIP load listen for SIP on their own 127.100.x.y address, so a
    /// job's check-sync NOTIFY (from `serve`) resets them as it would
    /// real phones.
    #[arg(long)]
    pub stay: bool,
    /// The UDP port the phones' SIP stacks listen on with --stay or
    /// --register-wait (the port `serve` sends its NOTIFYs to).
    #[arg(long, default_value_t = 5060)]
    pub sip_port: u16,
    /// After booting, give the SIP phones this many seconds to register
    /// their lines with the proxy their files name, and report each line
    /// (a line not registered fails the rehearsal). 0: do not check.
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub register_wait: u64,
    /// Spread the fleet's boots over this many seconds and let each phone
    /// really wait a twentieth of its own waits (application start, config
    /// retries), so that a person can watch the dashboard convert it; by
    /// default every phone boots at once and waits on an emulated clock.
    #[arg(long, value_name = "SECONDS")]
    pub pace: Option<f64>,
}

/// One line's registration as the rehearsal saw it.
#[derive(serde::Serialize)]
struct LineReport {
    mac: String,
    line: u8,
    name: String,
    registration: phoneflip_emulator::ua::Registration,
}

/// The share of a phone's own waits slept with `--pace`: the 20 s
/// application start becomes one second.
const PACED_TIME_SCALE: f64 = 0.05;

#[derive(Default, serde::Serialize)]
struct Group {
    phones: u32,
    reboots: u64,
    retries: u64,
    bytes: u64,
    max_emulated_ms: u64,
    max_wall_ms: u64,
    example_mac: String,
    example: String,
}

/// One phone to emulate: who it is, what it runs, what it should end on.
struct Spec {
    mac: Mac,
    model: Model,
    from: Release,
    desired: Option<LoadName>,
}

fn specs(args: &Args) -> Result<Vec<Spec>> {
    if !args.inventory {
        let from = args
            .from
            .context("--from is required without --inventory")?;
        let n = args.phones.unwrap_or(10);
        return Ok((0..n)
            .map(|i| Spec {
                mac: nth_mac(args.first_mac, i),
                model: args.model,
                from,
                desired: None,
            })
            .collect());
    }
    let inv = args.db.open_existing()?;
    let phones = inv
        .list_phones(&PhoneFilter::default())
        .with_context(|| format!("listing the phones of {}", args.db.db))?;
    let mut out = Vec::new();
    for p in phones
        .into_iter()
        .take(args.phones.unwrap_or(u32::MAX) as usize)
    {
        let from = match (&p.observed_load, args.from) {
            (Some(l), _) => Release::new(l.protocol(), l.version()),
            (None, Some(f)) => f,
            (None, None) => bail!(
                "phone {} has no observed load yet; pass --from (e.g. --from sccp:5.0) for the load such phones run",
                p.mac
            ),
        };
        out.push(Spec {
            mac: p.mac,
            model: p.model,
            from,
            desired: p.desired_load.clone(),
        });
    }
    Ok(out)
}

fn nth_mac(first: Mac, i: u32) -> Mac {
    let b = first.bytes();
    let n = u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]).wrapping_add(i as u64);
    let x = n.to_be_bytes();
    Mac::new([x[2], x[3], x[4], x[5], x[6], x[7]])
}

pub fn run(args: Args) -> Result<()> {
    if let Some(p) = args.pace {
        if !(p.is_finite() && (0.0..=86_400.0).contains(&p)) {
            bail!("--pace {p}: give the seconds to spread the boots over, 0 to 86400 (e.g. --pace 60)");
        }
    }
    let specs = specs(&args)?;
    if specs.is_empty() {
        bail!(
            "no phones to rehearse: --phones must be at least 1, and an inventory must hold phones"
        );
    }
    let count = specs.len() as u32;
    let server = super::emulate::resolve(&args.tftp)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} phones settled ({elapsed}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (reg_tx, mut reg_rx) = tokio::sync::mpsc::unbounded_channel::<(
        Mac,
        Vec<phoneflip_emulator::ua::LineStatus>,
        Option<String>,
    )>();
    let (results, mut alive): (Vec<(Spec, Report, Duration)>, _) = rt.block_on(async {
        let fetcher = Arc::new(TftpFetcher::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut set = tokio::task::JoinSet::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let i = i as u32;
            let phone = Phone::new(
                PhoneConfig {
                    mac: spec.mac,
                    model: spec.model,
                    tftp: TftpSetting::Manual(server),
                },
                Flash::with_load(spec.from.protocol, spec.from.version),
            );
            let opts = DriveOptions {
                local: driver::loopback_addr(i),
                time_scale: if args.pace.is_some() {
                    PACED_TIME_SCALE
                } else {
                    0.0
                },
                ..DriveOptions::default()
            };
            let delay = Duration::from_secs_f64(
                args.pace.unwrap_or(0.0).max(0.0) * f64::from(i) / f64::from(count),
            );
            let fetcher = fetcher.clone();
            let tx = tx.clone();
            let mut stop_rx = stop_rx.clone();
            let (stay, sip) = (
                args.stay,
                SipOptions {
                    port: args.sip_port,
                },
            );
            let register_wait = Duration::from_secs(args.register_wait);
            let reg_tx = reg_tx.clone();
            set.spawn(async move {
                tokio::time::sleep(delay).await;
                let t = Instant::now();
                let mac = spec.mac;
                let run = driver::booted(phone, fetcher.as_ref(), &opts).await;
                let report = run.report();
                let on_sip = matches!(&report.outcome, Outcome::Stable(s) if s.protocol == phoneflip_firmware::Protocol::Sip);
                let _ = tx.send((spec, report, t.elapsed()));
                drop(tx);
                let check = on_sip && !register_wait.is_zero();
                if !stay && !check {
                    return None;
                }
                let (status, mut seen) = tokio::sync::watch::channel(LiveStatus::default());
                let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
                // The phone stays up until Ctrl-C with --stay, else until
                // its lines have a verdict (or the wait is over).
                let stop = async move {
                    if stay {
                        let _ = stop_rx.wait_for(|s| *s).await;
                    } else {
                        let _ = done_rx.await;
                    }
                };
                let verdict = async move {
                    if !check {
                        return;
                    }
                    let _ = tokio::time::timeout(
                        register_wait,
                        seen.wait_for(|s| s.listening.is_some() && s.registration_settled()),
                    )
                    .await;
                    let s = seen.borrow().clone();
                    let _ = reg_tx.send((mac, s.lines, s.ua_error));
                    let _ = done_tx.send(());
                };
                let (r, ()) = tokio::join!(
                    driver::stay(run, fetcher.as_ref(), &opts, &sip, stop, &status),
                    verdict
                );
                Some(r)
            });
        }
        drop(tx);
        let mut out = Vec::new();
        let mut failed = 0;
        while let Some(r) = rx.recv().await {
            if !r.1.outcome.is_stable() {
                failed += 1;
                bar.set_message(format!("{failed} failed"));
            }
            out.push(r);
            bar.inc(1);
        }
        (out, set)
    });
    bar.finish_and_clear();
    // Registration verdicts: one from every phone that ended on SIP.
    let on_sip = results
        .iter()
        .filter(|(_, r, _)| matches!(&r.outcome, Outcome::Stable(s) if s.protocol == phoneflip_firmware::Protocol::Sip))
        .count();
    drop(reg_tx);
    let mut reg_lines: Vec<LineReport> = Vec::new();
    let mut reg_errors: Vec<(Mac, String)> = Vec::new();
    if args.register_wait > 0 {
        rt.block_on(async {
            for _ in 0..on_sip {
                let Some((mac, lines, err)) = reg_rx.recv().await else {
                    break;
                };
                if let Some(e) = err {
                    reg_errors.push((mac, e));
                }
                for l in lines {
                    reg_lines.push(LineReport {
                        mac: mac.to_string(),
                        line: l.line,
                        name: l.name,
                        registration: l.registration,
                    });
                }
            }
        });
        reg_lines.sort_by(|a, b| (&a.mac, a.line).cmp(&(&b.mac, b.line)));
        reg_errors.sort();
    }
    let wall = started.elapsed();

    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut causes: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for (spec, r, took) in &results {
        let mac = spec.mac;
        // A phone that settled on another load than the inventory wants
        // is a failure of the rehearsal even though the phone is fine.
        let off_target = match (&r.outcome, &spec.desired) {
            (Outcome::Stable(s), Some(d)) if s.load != d.as_str() => Some(d.as_str()),
            _ => None,
        };
        let key = match off_target {
            Some(d) => format!("{} (desired {d})", r.outcome.key()),
            None => r.outcome.key(),
        };
        if let Some(d) = off_target {
            let c = causes.entry("not_on_desired_load".to_string()).or_insert((
                0,
                format!("phone {mac} settled on {} instead of {d}", r.outcome.key()),
            ));
            c.0 += 1;
        }
        let g = groups.entry(key).or_default();
        g.phones += 1;
        g.reboots += r.reboots as u64;
        g.retries += r.retries as u64;
        g.bytes += r.bytes;
        g.max_emulated_ms = g.max_emulated_ms.max(r.emulated_ms);
        g.max_wall_ms = g.max_wall_ms.max(took.as_millis() as u64);
        if g.example_mac.is_empty() {
            g.example_mac = mac.to_string();
            g.example = match &r.outcome {
                Outcome::Failed(f) => f.to_string(),
                o => o.key(),
            };
        }
        if let Outcome::Failed(f) = &r.outcome {
            let c = causes
                .entry(f.cause().to_string())
                .or_insert((0, f.to_string()));
            c.0 += 1;
        }
    }
    use phoneflip_emulator::ua::Registration;
    for l in &reg_lines {
        let why = match &l.registration {
            Registration::Registered { .. } => continue,
            // A converted phone that does not register cannot take calls.
            Registration::Disabled => format!(
                "phone {} line {} ({}) does not register: proxy_register is not 1 in its files; set proxy_register: 1 in its template",
                l.mac, l.line, l.name
            ),
            Registration::Trying => format!(
                "phone {} line {} ({}) still registering after {} s",
                l.mac, l.line, l.name, args.register_wait
            ),
            Registration::Failed(f) => format!("phone {} line {} ({}): {f}", l.mac, l.line, l.name),
        };
        let c = causes
            .entry("not_registered".to_string())
            .or_insert((0, why));
        c.0 += 1;
    }
    for (mac, e) in &reg_errors {
        let c = causes
            .entry("cannot_register".to_string())
            .or_insert((0, format!("phone {mac}: {e}")));
        c.0 += 1;
    }
    let registered = reg_lines
        .iter()
        .filter(|l| matches!(l.registration, Registration::Registered { .. }))
        .count();
    let failed: u32 = causes.values().map(|c| c.0).sum();
    let from = match (args.inventory, args.from) {
        (true, Some(f)) => format!("the inventory's loads (unobserved: {f})"),
        (true, None) => "the inventory's loads".to_string(),
        (false, f) => f.map(|f| f.to_string()).unwrap_or_default(),
    };
    if args.json {
        let v = serde_json::json!({
            "phones": count,
            "from": from,
            "wall_ms": wall.as_millis() as u64,
            "groups": groups,
            "registration": (args.register_wait > 0).then(|| serde_json::json!({
                "lines": reg_lines.len(),
                "registered": registered,
                "per_line": &reg_lines,
            })),
            "failures": causes.iter().map(|(k, (n, ex))| serde_json::json!({"cause": k, "phones": n, "example": ex})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} phone(s) from {} against {} in {:.2} s wall",
            count,
            from,
            server,
            wall.as_secs_f64()
        );
        for (key, g) in &groups {
            println!(
                "  {key}: {} phone(s), {:.1} reboots each, {} unanswered requests, {} bytes, up to {:.1} s emulated / {:.2} s wall",
                g.phones,
                g.reboots as f64 / g.phones as f64,
                g.retries,
                g.bytes,
                g.max_emulated_ms as f64 / 1000.0,
                g.max_wall_ms as f64 / 1000.0
            );
        }
        if args.register_wait > 0 {
            println!(
                "registration: {registered} of {} line(s) registered",
                reg_lines.len()
            );
        }
        if !causes.is_empty() {
            println!("failures by cause:");
            for (cause, (n, example)) in &causes {
                println!("  {cause}: {n} phone(s), e.g. {example}");
            }
        }
    }
    if args.stay {
        stay(&rt, &mut alive, &stop_tx, args.sip_port);
    }
    if failed > 0 {
        bail!("{failed} phone(s) or line(s) of {count} phone(s) ended in an error state, off their desired load or not registered");
    }
    Ok(())
}

/// Waits for Ctrl-C while the phones stay up, then says what the SIP ones
/// went through.
fn stay(
    rt: &tokio::runtime::Runtime,
    alive: &mut tokio::task::JoinSet<Option<Result<driver::LiveReport, driver::LiveError>>>,
    stop: &tokio::sync::watch::Sender<bool>,
    port: u16,
) {
    println!(
        "phones stay up; those on SIP listen on their 127.100.x.y:{port} for check-sync NOTIFYs; Ctrl-C to stop"
    );
    let lives = rt.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
        stop.send_replace(true);
        let mut v = Vec::new();
        while let Some(r) = alive.join_next().await {
            if let Ok(Some(r)) = r {
                v.push(r);
            }
        }
        v
    });
    let mut now: BTreeMap<String, u32> = BTreeMap::new();
    let mut notifies = 0;
    for l in lives {
        match l {
            Ok(l) => {
                notifies += l
                    .sip
                    .iter()
                    .filter(|e| matches!(e.heard, phoneflip_emulator::sip::Heard::CheckSync { .. }))
                    .count();
                *now.entry(l.boot.outcome.key()).or_default() += 1;
            }
            Err(e) => println!("  {e}"),
        }
    }
    println!("while staying: {notifies} check-sync NOTIFY(s) taken; the phones now:");
    for (k, n) in now {
        println!("  {k}: {n} phone(s)");
    }
}
