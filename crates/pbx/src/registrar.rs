//! Who registered, asked of the registrar itself: a small trait, with
//! Kamailio done for real (its JSON-RPC over HTTP, `jsonrpcs` + `xhttp`
//! modules, method `ul.dump`), and a SIP OPTIONS probe to each line's
//! last known address where no registrar adapter is configured.
//!
//! The parsing of what comes back ([`parse_ul_dump`]) and the matching of
//! lines to bindings ([`verdicts`]) are pure; only [`KamailioJsonRpc`]
//! and [`OptionsProbe`] touch the network.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use phoneflip_sip::{Request, Response, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One binding of an address of record: the line `aor` is reachable at
/// `contact`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Binding {
    /// The user part (Kamailio with `use_domain=0` stores only that).
    pub aor: String,
    pub contact: String,
    /// Seconds left, when the registrar says.
    pub expires: Option<i64>,
    pub user_agent: Option<String>,
}

/// Why the registrar could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    #[error("cannot reach Kamailio's JSON-RPC at http://{addr}{path}: {source}; load xhttp and jsonrpcs (transport 1) and listen on TCP there")]
    Connect {
        addr: SocketAddr,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Kamailio's JSON-RPC at http://{addr}{path} answered {status}: {body}")]
    Http {
        addr: SocketAddr,
        path: String,
        status: String,
        body: String,
    },
    #[error("Kamailio's ul.dump answer is not what phoneflip reads: {0}")]
    Format(String),
    #[error("the registrar did not answer within {0:?}")]
    Timeout(Duration),
}

/// A registrar phoneflip can ask for its bindings.
pub trait Registrar: Send + Sync {
    /// What to call it in reports (`kamailio jsonrpc http://…`).
    fn describe(&self) -> String;
    /// Every binding it holds now.
    fn bindings(&self) -> impl Future<Output = Result<Vec<Binding>, RegistrarError>> + Send;
}

/// Kamailio's JSON-RPC over HTTP (`POST /RPC` with `ul.dump`).
#[derive(Debug, Clone)]
pub struct KamailioJsonRpc {
    pub addr: SocketAddr,
    /// `/RPC` in Kamailio's documented setup.
    pub path: String,
    pub timeout: Duration,
}

impl KamailioJsonRpc {
    pub fn new(addr: SocketAddr) -> KamailioJsonRpc {
        KamailioJsonRpc {
            addr,
            path: "/RPC".into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// One JSON-RPC call, HTTP/1.0 with `Connection: close` so the answer
    /// ends where the connection does.
    pub async fn call(&self, method: &str) -> Result<serde_json::Value, RegistrarError> {
        let connect = |source| RegistrarError::Connect {
            addr: self.addr,
            path: self.path.clone(),
            source,
        };
        let body = serde_json::json!({"jsonrpc": "2.0", "method": method, "id": 1}).to_string();
        let req = format!(
            "POST {} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.path,
            self.addr,
            body.len()
        );
        let exchange = async {
            let mut s = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(connect)?;
            s.write_all(req.as_bytes()).await.map_err(connect)?;
            // Kamailio keeps the connection open after its answer
            // whatever the request says, so the answer ends where its
            // Content-Length says, not at EOF.
            let mut got = Vec::new();
            let mut buf = [0u8; 16_384];
            loop {
                let n = s.read(&mut buf).await.map_err(connect)?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    if len.is_some_and(|len| got.len() >= end + 4 + len) {
                        break;
                    }
                }
            }
            Ok::<_, RegistrarError>(got)
        };
        let got = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| RegistrarError::Timeout(self.timeout))??;
        let text = String::from_utf8_lossy(&got);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.lines().next().unwrap_or("").to_string();
        if status.split_whitespace().nth(1) != Some("200") {
            return Err(RegistrarError::Http {
                addr: self.addr,
                path: self.path.clone(),
                status,
                body: body.chars().take(200).collect(),
            });
        }
        let v: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| RegistrarError::Format(format!("not JSON ({e})")))?;
        if let Some(err) = v.get("error") {
            return Err(RegistrarError::Format(format!("{method} failed: {err}")));
        }
        Ok(v)
    }
}

impl Registrar for KamailioJsonRpc {
    fn describe(&self) -> String {
        format!("kamailio jsonrpc http://{}{}", self.addr, self.path)
    }

    async fn bindings(&self) -> Result<Vec<Binding>, RegistrarError> {
        parse_ul_dump(&self.call("ul.dump").await?)
    }
}

/// Reads Kamailio 5.x's `ul.dump` answer: `result.Domains[].Domain.AoRs[]
/// .Info.{AoR, Contacts[].Contact.{Address, Expires, User-Agent}}`.
pub fn parse_ul_dump(v: &serde_json::Value) -> Result<Vec<Binding>, RegistrarError> {
    let bad = |what: &str| RegistrarError::Format(format!("no {what}"));
    let domains = v
        .pointer("/result/Domains")
        .and_then(|d| d.as_array())
        .ok_or_else(|| bad("result.Domains list"))?;
    let mut out = Vec::new();
    for d in domains {
        let aors = d
            .pointer("/Domain/AoRs")
            .and_then(|a| a.as_array())
            .ok_or_else(|| bad("Domain.AoRs list"))?;
        for a in aors {
            let info = a.get("Info").ok_or_else(|| bad("AoRs[].Info"))?;
            let aor = info
                .get("AoR")
                .and_then(|x| x.as_str())
                .ok_or_else(|| bad("Info.AoR"))?;
            for c in info
                .get("Contacts")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                let c = c.get("Contact").unwrap_or(c);
                let Some(contact) = c.get("Address").and_then(|x| x.as_str()) else {
                    continue;
                };
                out.push(Binding {
                    aor: aor.to_string(),
                    contact: contact.to_string(),
                    expires: c.get("Expires").and_then(|e| {
                        e.as_i64()
                            .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
                    }),
                    user_agent: c
                        .get("User-Agent")
                        .and_then(|x| x.as_str())
                        .map(str::to_string),
                });
            }
        }
    }
    Ok(out)
}

/// What the registrar says about one line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LineVerdict {
    Registered {
        contact: String,
    },
    /// The registrar holds no binding for the line.
    NotRegistered {
        why: String,
    },
}

/// Each `(key, user)` line's verdict from `bindings`: registered when an
/// AoR with that user (with or without `@domain`) has a binding. `key`
/// is whatever the caller identifies the line by (MAC and line number).
pub fn verdicts<K: Ord + Clone>(
    lines: &[(K, String)],
    bindings: &[Binding],
    registrar: &str,
) -> BTreeMap<K, LineVerdict> {
    lines
        .iter()
        .map(|(k, user)| {
            let found = bindings
                .iter()
                .find(|b| b.aor == *user || b.aor.split('@').next() == Some(user.as_str()));
            let v = match found {
                Some(b) => LineVerdict::Registered {
                    contact: b.contact.clone(),
                },
                None => LineVerdict::NotRegistered {
                    why: format!("{registrar} holds no binding for {user}"),
                },
            };
            (k.clone(), v)
        })
        .collect()
}

/// The fallback without a registrar adapter: an OPTIONS to each line at
/// the address its phone was last seen at. An answer proves the phone's
/// SIP stack is up for that user; it does not prove the registrar has
/// the binding, and reports say so.
#[derive(Debug, Clone)]
pub struct OptionsProbe {
    /// Where the probe sends from (`IP:0` for any port).
    pub local: SocketAddr,
    pub timeout: Duration,
}

impl OptionsProbe {
    /// Sends OPTIONS to `sip:user@target` and returns the answer's status,
    /// or why there was none.
    pub async fn probe(&self, user: &str, target: SocketAddr) -> Result<u16, String> {
        let sock = tokio::net::UdpSocket::bind(self.local)
            .await
            .map_err(|e| format!("cannot bind {}: {e}", self.local))?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        let uri = Uri::parse(&format!("sip:{user}@{target}"))
            .map_err(|e| format!("{user:?} is not a SIP user: {e}"))?;
        let branch = format!("z9hG4bKpfopt{}{}", local.port(), target.port());
        let mut r = Request::new("OPTIONS", &uri.to_string());
        let h = &mut r.headers;
        h.push("Via", format!("SIP/2.0/UDP {local};branch={branch};rport"));
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<sip:phoneflip@{}>;tag=pf{}", local.ip(), local.port()),
        );
        h.push("To", format!("<{uri}>"));
        h.push("Call-ID", format!("{branch}@{}", local.ip()));
        h.push("CSeq", "1 OPTIONS");
        h.push("Content-Length", "0");
        let bytes = r.to_bytes();
        let mut buf = vec![0u8; 65_535];
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut interval = Duration::from_millis(500).min(self.timeout);
        loop {
            sock.send_to(&bytes, target)
                .await
                .map_err(|e| format!("cannot send to {target}: {e}"))?;
            let wait =
                interval.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            if let Ok(Ok((n, _))) = tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
                if let Ok(resp) = Response::parse(&buf[..n]) {
                    if !resp.is_provisional() {
                        return Ok(resp.status);
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no answer to OPTIONS from {target} within {:?}",
                    self.timeout
                ));
            }
            interval *= 2;
        }
    }
}
