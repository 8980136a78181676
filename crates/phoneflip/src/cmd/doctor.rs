//! `phoneflip doctor`: the reference's common issues, found in a TFTP root,
//! its log and the DHCP setup before a phone runs into them.
//!
//! Exits with status 2 when errors remain (after `--fix`), so a script can
//! refuse to reset phones against a root that would fail them.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use phoneflip_device::Mac;
use phoneflip_doctor::{
    apply_fixes, check_dhcp, diagnose, parse_log, read_root, render, render_applied,
    render_summary, render_timeline, scan, sort_findings, timelines, DhcpView, Finding, Options,
    Severity, Timeline,
};
use phoneflip_firmware::Release;

#[derive(clap::Args)]
pub struct Args {
    /// The TFTP root to examine (the folder the phones' TFTP server serves).
    pub root: Option<PathBuf>,
    /// Apply the fixes that are safe to automate (strip .bin, whitespace and
    /// CR from OS79XX.TXT, rename files to the case the phones ask for,
    /// write a W210-safe SIPDefault.cnf), after copying the originals to
    /// ROOT/.phoneflip-backup/<timestamp>/.
    #[arg(long, requires = "root", conflicts_with = "map_file")]
    pub fix: bool,
    /// tftpd-hpa's --map-file for a ROOT kept in sub-folders: the checks
    /// judge each file under the name the phones ask for it by. (--fix
    /// does not write through a map file.)
    #[arg(long, value_name = "FILE", requires = "root")]
    pub map_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// A TFTP server log to read (the reference's format, phoneflip's own,
    /// tftpd-hpa's syslog lines, dnsmasq's TFTP lines, or the
    /// "[date] 'FILE' of type 'octet' is requested from IP:PORT" format);
    /// repeatable. Prints one line per phone naming its patterns.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// Print each phone's timeline from the logs.
    #[arg(long)]
    pub timeline: bool,
    /// The DHCP server's configuration (dnsmasq, ISC dhcpd, IOS or Kea),
    /// to check options 66 and 150.
    #[arg(long, value_name = "FILE")]
    pub dhcp_config: Option<PathBuf>,
    /// The JSON of `phoneflip dhcp probe --json`.
    #[arg(long, value_name = "FILE", conflicts_with = "dhcp_config")]
    pub dhcp_probe: Option<PathBuf>,
    /// The load the phones run now, e.g. sccp:3.0 or sip:2.1 (repeatable);
    /// without it, checks that depend on it warn instead of failing.
    #[arg(long = "from", value_name = "RELEASE")]
    pub from: Vec<Release>,
    /// The phones this conversion is for (repeatable).
    #[arg(long = "only", value_name = "MAC")]
    pub only: Vec<Mac>,
    /// The address of the TFTP server serving ROOT, to compare with DHCP's.
    #[arg(long, value_name = "ADDR")]
    pub tftp_address: Option<Ipv4Addr>,
}

#[derive(serde::Deserialize)]
struct Probe {
    option_66: Option<String>,
    option_150: Option<Vec<Ipv4Addr>>,
}

fn dhcp_view(args: &Args) -> Result<Option<DhcpView>> {
    if let Some(p) = &args.dhcp_config {
        let text = std::fs::read(p)
            .with_context(|| format!("reading the DHCP configuration {}", p.display()))?;
        return Ok(Some(DhcpView::parse_config(
            &p.display().to_string(),
            &String::from_utf8_lossy(&text),
        )));
    }
    if let Some(p) = &args.dhcp_probe {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading the DHCP probe result {}", p.display()))?;
        let probe: Probe = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not the JSON of `phoneflip dhcp probe --json`",
                p.display()
            )
        })?;
        return Ok(Some(DhcpView::from_options(
            &p.display().to_string(),
            probe.option_66.as_deref(),
            probe.option_150.as_deref(),
        )));
    }
    Ok(None)
}

pub fn run(args: Args) -> Result<()> {
    if args.root.is_none()
        && args.logs.is_empty()
        && args.dhcp_config.is_none()
        && args.dhcp_probe.is_none()
    {
        bail!("nothing to examine: give a TFTP root (phoneflip doctor /srv/tftp), --log FILE or --dhcp-config FILE");
    }
    let opts = Options {
        from: args.from.clone(),
        only: (!args.only.is_empty()).then(|| args.only.clone()),
        dhcp: dhcp_view(&args)?,
        tftp_address: args.tftp_address,
    };
    let map = args
        .map_file
        .as_deref()
        .map(super::read_map_file)
        .transpose()?;
    let root = match (&args.root, &map) {
        (Some(dir), Some(map)) => Some(phoneflip_doctor::read_root_mapped(dir, map)?),
        (Some(dir), None) => Some(read_root(dir)?),
        (None, _) => None,
    };
    let mut findings: Vec<Finding> = match &root {
        Some(r) => scan(r, &opts),
        None => check_dhcp(&opts),
    };
    let mut applied = None;
    if args.fix {
        let dir = args.root.as_ref().expect("clap requires ROOT with --fix");
        let a = apply_fixes(dir, &findings, SystemTime::now())?;
        if !a.changes.is_empty() {
            findings = scan(&read_root(dir)?, &opts);
        }
        applied = Some(a);
    }
    let mut lines: Vec<Timeline> = Vec::new();
    for path in &args.logs {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the TFTP log {}", path.display()))?;
        let log = parse_log(&String::from_utf8_lossy(&bytes));
        if log.transfers.is_empty() {
            eprintln!(
                "warning: {} holds no line phoneflip recognises ({} lines skipped): expected the reference's \"Sending 'FILE' file to ADDR\" lines, tftpd-hpa's \"RRQ from ADDR filename FILE\" (run in.tftpd with --verbose), dnsmasq's \"sent PATH to ADDR\" or \"'FILE' of type 'octet' is requested from ADDR:PORT\"",
                path.display(),
                log.skipped
            );
        }
        let tl = timelines(&log);
        findings.extend(diagnose(&path.display().to_string(), &tl, root.as_ref()));
        lines.extend(tl);
    }
    sort_findings(&mut findings);
    if args.json {
        let out = serde_json::json!({
            "root": args.root,
            "findings": findings,
            "fix": applied,
            "timelines": if args.timeline || !args.logs.is_empty() { Some(&lines) } else { None },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if let Some(a) = &applied {
            print!("{}", render_applied(a));
        }
        if args.timeline {
            for t in &lines {
                print!("{}", render_timeline(t));
            }
        } else if !lines.is_empty() {
            print!("{}", render_summary(&lines));
        }
        print!("{}", render(&findings));
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        // Scripts and CI can gate a conversion on a clean root.
        std::process::exit(2);
    }
    Ok(())
}
