//! The tokio driver: boots a [`Phone`] against a real TFTP server over UDP,
//! from its own loopback address, as plain RFC 1350 reads (octet mode, no
//! options), like the phones.
//!
//! The transfer itself is behind [`Fetcher`] so the core never sees a
//! socket; [`TftpFetcher`] uses `phoneflip_tftp::client::fetch`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use phoneflip_tftp::client::{self, FetchOptions};

use crate::phone::Phone;
use crate::run::{FetchError, Report, Run, Step};

/// Fetches one file for a phone.
pub trait Fetcher: Send + Sync {
    fn fetch(
        &self,
        server: SocketAddr,
        local: IpAddr,
        file: &str,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// Fetches with phoneflip's TFTP client, each request from a fresh port
/// on the phone's address. Like the phones, it resends every 4 s, five
/// times, before giving up on a round.
#[derive(Debug, Clone)]
pub struct TftpFetcher {
    pub options: FetchOptions,
}

impl Default for TftpFetcher {
    fn default() -> Self {
        TftpFetcher {
            options: FetchOptions {
                timeout: Duration::from_secs(4),
                max_retries: 5,
                ..FetchOptions::default()
            },
        }
    }
}

impl Fetcher for TftpFetcher {
    async fn fetch(
        &self,
        server: SocketAddr,
        local: IpAddr,
        file: &str,
    ) -> Result<Vec<u8>, FetchError> {
        client::fetch(server, SocketAddr::new(local, 0), file, &self.options)
            .await
            .map_err(|e| match e {
                client::FetchError::Server { code, message, .. } => FetchError { code, message },
                other => FetchError {
                    code: 0,
                    message: other.to_string(),
                },
            })
    }
}

/// How a driven boot behaves.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// The phone's own address (a distinct 127.x.y.z per phone).
    pub local: IpAddr,
    /// How much of the phone's waits (20 s application start, 30 s config
    /// retries) to really sleep: 0 skips them (the emulated clock still
    /// counts them), 1 is real time.
    pub time_scale: f64,
    /// A phone whose request goes unanswered retries it from a new source
    /// port; after this many unanswered rounds the phone is told the
    /// transfer failed (TFTP error 0).
    pub fetch_rounds: u32,
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            local: IpAddr::V4(Ipv4Addr::LOCALHOST),
            time_scale: 0.0,
            fetch_rounds: 10,
        }
    }
}

/// The loopback address of the `i`-th emulated phone: 127.100.0.1,
/// 127.100.0.2, … 254 to a /24, never .0 or .255.
pub fn loopback_addr(i: u32) -> IpAddr {
    let y = i / 254;
    let z = (i % 254 + 1) as u8;
    IpAddr::V4(Ipv4Addr::new(
        127,
        100u32.saturating_add(y / 256).min(254) as u8,
        (y % 256) as u8,
        z,
    ))
}

/// Boots `phone` until it is stable or failed. The TFTP server is the one
/// the phone's settings select for what it runs, re-evaluated per request
/// (a SIP phone ignores DHCP option 150).
pub async fn boot(phone: Phone, fetcher: &impl Fetcher, opts: &DriveOptions) -> Report {
    let mut run = Run::new(phone);
    let mut step = run.start();
    loop {
        step = match step {
            Step::Fetch(file) => {
                let Some(server) = run.phone().tftp_server() else {
                    let e = FetchError {
                        code: 0,
                        message: "no TFTP server: set the alternate TFTP server or DHCP option 66 (SIP) / 150 (SCCP)".into(),
                    };
                    step = run.fetched(&file, Err(e), Duration::ZERO);
                    continue;
                };
                let mut round = 1;
                loop {
                    let started = Instant::now();
                    let result = fetcher.fetch(server, opts.local, &file).await;
                    match result {
                        // No answer at all (a busy server drops requests):
                        // the phone asks again from a new port.
                        Err(e) if e.code == 0 && round < opts.fetch_rounds.max(1) => {
                            run.retrying(&file, &e.message, started.elapsed());
                            round += 1;
                        }
                        result => break run.fetched(&file, result, started.elapsed()),
                    }
                }
            }
            Step::Sleep(d) => {
                if opts.time_scale > 0.0 {
                    tokio::time::sleep(d.mul_f64(opts.time_scale)).await;
                }
                run.slept()
            }
            Step::Done => return run.report(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A server that leaves the first `drops` requests of each file
    /// unanswered, as a busy server at its transfer cap does.
    struct Busy {
        files: HashMap<String, Vec<u8>>,
        drops: u32,
        seen: Mutex<HashMap<String, u32>>,
    }

    impl Fetcher for Busy {
        async fn fetch(&self, _: SocketAddr, _: IpAddr, file: &str) -> Result<Vec<u8>, FetchError> {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(file.to_string()).or_insert(0);
                *n += 1;
                *n
            };
            if n <= self.drops {
                return Err(FetchError {
                    code: 0,
                    message: "no answer".into(),
                });
            }
            crate::run::memory_fetch(&self.files, file)
        }
    }

    fn phone() -> Phone {
        use crate::phone::{PhoneConfig, TftpSetting};
        use phoneflip_firmware::Protocol;
        Phone::new(
            PhoneConfig {
                mac: "002094D245CB".parse().unwrap(),
                model: phoneflip_device::Model::Cp7960,
                tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
            },
            crate::Flash::with_load(Protocol::Sccp, "5.0(1.1)".parse().unwrap()),
        )
    }

    #[tokio::test]
    async fn unanswered_requests_are_sent_again_then_reported() {
        let mut files = HashMap::new();
        files.insert("OS79XX.TXT".to_string(), b"P00305000101".to_vec());
        let busy = Busy {
            files: files.clone(),
            drops: 2,
            seen: Mutex::default(),
        };
        let r = boot(phone(), &busy, &DriveOptions::default()).await;
        assert!(r.outcome.is_stable(), "{:?}", r.outcome);
        assert_eq!(
            r.retries,
            2 * 3,
            "OS79XX.TXT, SEP and XMLDefault twice each"
        );
        assert!(r
            .transcript
            .iter()
            .any(|e| matches!(e, crate::run::Entry::Retry { file, .. } if file == "OS79XX.TXT")));

        // A server that never answers: the phone hears of it after the
        // last round and runs what it has.
        let dead = Busy {
            files,
            drops: u32::MAX,
            seen: Mutex::default(),
        };
        let opts = DriveOptions {
            fetch_rounds: 3,
            ..DriveOptions::default()
        };
        let r = boot(phone(), &dead, &opts).await;
        assert!(r
            .transcript
            .iter()
            .any(|e| matches!(e, crate::run::Entry::Error { code: 0, .. })));
    }

    #[test]
    fn loopback_addresses_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..70_000 {
            let a = loopback_addr(i);
            match a {
                IpAddr::V4(v4) => {
                    assert_eq!(v4.octets()[0], 127);
                    assert!(v4.octets()[3] != 0 && v4.octets()[3] != 255);
                }
                _ => unreachable!(),
            }
            assert!(seen.insert(a), "{a} twice");
        }
    }
}
