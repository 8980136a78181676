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
