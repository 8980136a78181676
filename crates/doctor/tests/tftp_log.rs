//! phoneflip's own TFTP server writes the log; the doctor reads it. The
//! server and client are the real ones, on 127.0.0.1.

use std::sync::Arc;

use phoneflip_doctor::{diagnose, parse_log, read_root, timelines, Check, TransferOutcome};
use phoneflip_tftp::client::{fetch, FetchOptions};
use phoneflip_tftp::{NoVirtualFiles, Server, ServerConfig, TransferLog};

#[tokio::test]
async fn reads_the_log_phoneflips_server_writes() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("OS79XX.TXT"), b"POS30203\n").unwrap();
    // The image is there, but in the wrong case.
    std::fs::write(root.path().join("pos30203.bin"), b"image").unwrap();
    let logdir = tempfile::tempdir().unwrap();
    let log_path = logdir.path().join("tftp.log");
    let server = Server::bind(
        ServerConfig::new("127.0.0.1:0".parse().unwrap(), root.path()),
        Arc::new(NoVirtualFiles),
        Arc::new(()),
        TransferLog::file(&log_path).unwrap(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let opts = FetchOptions::default();
    let local = "127.0.0.1:0".parse().unwrap();
    assert_eq!(
        fetch(addr, local, "OS79XX.TXT", &opts).await.unwrap(),
        b"POS30203\n"
    );
    let err = fetch(addr, local, "POS30203.bin", &opts).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();

    let text = std::fs::read_to_string(&log_path).unwrap();
    let log = parse_log(&text);
    assert_eq!(log.skipped, 0, "{text}");
    assert_eq!(log.transfers.len(), 2, "{text}");
    assert_eq!(log.transfers[0].outcome, Some(TransferOutcome::Success));
    assert_eq!(log.transfers[1].outcome, Some(TransferOutcome::NotFound));

    assert!(log.transfers[1]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("'pos30203.bin' exists"));
    // Without the root, the server's own note says where the file is.
    let f = diagnose("tftp.log", &timelines(&log), None);
    assert!(
        f.iter()
            .any(|f| f.check == Check::LogImageMissing && f.problem.contains("pos30203.bin")),
        "{f:#?}"
    );

    let served = read_root(root.path()).unwrap();
    let findings = diagnose("tftp.log", &timelines(&log), Some(&served));
    let f = findings
        .iter()
        .find(|f| f.check == Check::LogImageMissing)
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(f.problem.contains("pos30203.bin"), "{}", f.problem);
}

/// Issue 12: phoneflip's own log of a successful two-stage upgrade (an
/// emulated SCCP 8.1(2)SR2 phone converting to SIP 8.12 through the real
/// server over UDP) is named a two-stage upgrade, with no "loops" error:
/// the `.loads` index is fetched at each of the three boots.
#[tokio::test]
async fn a_two_stage_upgrade_in_phoneflips_log_is_normal() {
    use phoneflip_bundle::synth::{self, SizeProfile};
    use phoneflip_device::{Mac, Model};
    use phoneflip_doctor::{Pattern, Severity};
    use phoneflip_emulator::driver::{self, DriveOptions, TftpFetcher};
    use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
    use phoneflip_firmware::{Protocol, Release};

    const MAC: &str = "002094D245CB";
    let root = tempfile::tempdir().unwrap();
    for (name, bytes) in synth::synth(Protocol::Sip, "8.12".parse().unwrap(), SizeProfile::Small)
        .unwrap()
        .files
    {
        std::fs::write(root.path().join(name), bytes).unwrap();
    }
    std::fs::write(
        root.path().join("SIPDefault.cnf"),
        b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join(format!("SIP{MAC}.cnf")),
        b"image_version: P0S3-8-12-00\nline1_name: 100\n",
    )
    .unwrap();
    let logdir = tempfile::tempdir().unwrap();
    let log_path = logdir.path().join("tftp.log");
    let server = Server::bind(
        ServerConfig::new("127.0.0.1:0".parse().unwrap(), root.path()),
        Arc::new(NoVirtualFiles),
        Arc::new(()),
        TransferLog::file(&log_path).unwrap(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let from: Release = "sccp:8.1(2)SR2".parse().unwrap();
    let phone = Phone::new(
        PhoneConfig {
            mac: MAC.parse::<Mac>().unwrap(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual(addr),
        },
        Flash::with_load(from.protocol, from.version),
    );
    let opts = DriveOptions {
        local: driver::loopback_addr(12),
        time_scale: 0.0,
        ..DriveOptions::default()
    };
    let r = driver::boot(phone, &TftpFetcher::default(), &opts).await;
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(
        matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}",
        r.outcome
    );

    let text = std::fs::read_to_string(&log_path).unwrap();
    let log = parse_log(&text);
    assert_eq!(log.skipped, 0, "{text}");
    let loads = log
        .transfers
        .iter()
        .filter(|t| t.file == "P0S3-8-12-00.loads")
        .count();
    assert_eq!(loads, 3, "the index at each boot:\n{text}");
    let tl = timelines(&log);
    assert_eq!(tl.len(), 1, "{tl:#?}");
    assert_eq!(tl[0].runs.as_deref(), Some("P0S3-8-12-00"));
    assert_eq!(
        tl[0].patterns,
        vec![Pattern::TwoStageUpgrade {
            loader: "P003-8-12-00".into(),
            application: "P0S3-8-12-00".into(),
            booted: true
        }],
        "{text}"
    );
    let findings = diagnose("tftp.log", &tl, Some(&read_root(root.path()).unwrap()));
    assert!(
        findings.iter().all(|f| f.severity != Severity::Error),
        "{findings:#?}\n{text}"
    );
    assert!(findings.iter().all(|f| f.check != Check::LogBootLoop));
}

/// dnsmasq's own TFTP server, on its own loopback address, logging to a
/// file as `--log-facility` makes it: the doctor reads what it sent and
/// what it did not have, with names relative to its TFTP root.
#[tokio::test]
async fn reads_the_log_dnsmasq_writes() {
    let Ok(dnsmasq) = which("dnsmasq") else {
        eprintln!("!!! SKIPPED: dnsmasq is not installed (apt-get install dnsmasq-base); the dnsmasq log test did not run");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("OS79XX.TXT"), b"POS30203").unwrap();
    let work = tempfile::tempdir().unwrap();
    let log_path = work.path().join("dnsmasq.log");
    let pid_path = work.path().join("dnsmasq.pid");
    // dnsmasq serves TFTP on port 69 only: a loopback address of its own
    // keeps it off other tests' servers.
    let ip = "127.0.69.12";
    let status = std::process::Command::new(dnsmasq)
        .args([
            "--port=0",
            "--enable-tftp",
            "--bind-interfaces",
            "--conf-file=/dev/null",
        ])
        .arg(format!("--listen-address={ip}"))
        .arg(format!("--tftp-root={}", root.path().display()))
        .arg(format!("--log-facility={}", log_path.display()))
        .arg(format!("--pid-file={}", pid_path.display()))
        .arg(format!(
            "--user={}",
            std::env::var("USER").unwrap_or_else(|_| "root".into())
        ))
        .status()
        .unwrap();
    assert!(status.success(), "dnsmasq did not start: {status}");
    let server = format!("{ip}:69").parse().unwrap();
    let opts = FetchOptions::default();
    let local = "127.0.0.1:0".parse().unwrap();
    let got = fetch(server, local, "OS79XX.TXT", &opts).await;
    let missing = fetch(server, local, "SIP002094D245CB.cnf", &opts).await;
    // Give dnsmasq a moment to write its lines, then stop it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let pid = std::fs::read_to_string(&pid_path).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    assert_eq!(got.unwrap(), b"POS30203");
    assert!(missing.unwrap_err().is_not_found());

    let text = std::fs::read_to_string(&log_path).unwrap();
    let log = parse_log(&text);
    // dnsmasq writes "sent" once the last ACK is in, which may come after
    // the next request's line: compare as a set.
    let mut files: Vec<(&str, Option<&TransferOutcome>)> = log
        .transfers
        .iter()
        .map(|t| (t.file.as_str(), t.outcome.as_ref()))
        .collect();
    files.sort_by_key(|f| f.0);
    assert_eq!(
        files,
        vec![
            ("OS79XX.TXT", Some(&TransferOutcome::Success)),
            ("SIP002094D245CB.cnf", Some(&TransferOutcome::NotFound)),
        ],
        "{text}"
    );
    assert_eq!(log.transfers[0].client.to_string(), "127.0.0.1");
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}
