//! Shared helpers: a real server on 127.0.0.1 with a temporary root.
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use phoneflip_tftp::log::TransferEvent;
use phoneflip_tftp::{FileSource, NoVirtualFiles, Server, ServerConfig, TransferLog};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

#[derive(Clone, Default)]
pub struct LogBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub log: LogBuf,
    pub events: mpsc::UnboundedReceiver<TransferEvent>,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Stops taking requests and waits for transfers in flight.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }

    pub async fn next_event(&mut self) -> TransferEvent {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.events.recv())
            .await
            .expect("an event within 10 s")
            .expect("event channel open")
    }
}

pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32 % 31) as u8
                ^ seed
        })
        .collect()
}

pub fn write(root: &Path, name: &str, data: &[u8]) {
    let p = root.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, data).unwrap();
}

pub async fn start_with(
    tweak: impl FnOnce(&mut ServerConfig, &Path),
    source: Arc<dyn FileSource>,
    populate: impl FnOnce(&Path),
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    populate(&root);
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), &root);
    tweak(&mut cfg, dir.path());
    let log = LogBuf::default();
    let (tx, rx) = mpsc::unbounded_channel();
    let server = Server::bind(
        cfg,
        source,
        Arc::new(tx),
        TransferLog::writer(Box::new(log.clone())),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    Running {
        addr,
        root,
        log,
        events: rx,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}

pub async fn start(populate: impl FnOnce(&Path)) -> Running {
    start_with(|_, _| {}, Arc::new(NoVirtualFiles), populate).await
}

pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}
