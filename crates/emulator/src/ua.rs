//! The emulated SIP phone's user agent, sans-IO: what a 7940/7960 SIP
//! load does with a proxy once it has read its files — register every
//! configured line, answer the registrar's Digest challenge, re-register
//! before the registration expires, and place, answer and end calls
//! (INVITE with SDP, 100/180/200, ACK, BYE; no RTP flows).
//!
//! Owns: reading the registration settings from the phone's files
//! ([`UaConfig::from_files`]), the client transactions it starts (REGISTER,
//! INVITE, BYE with RFC 3261 §17.1 retransmissions on `timer_t1`), its
//! dialogs, and the per-line verdict ([`Registration`], with the reason a
//! registration failed). Requests outside its dialogs (check-sync NOTIFY,
//! OPTIONS, …) go on to [`crate::sip::Agent`], which stays the one place
//! that answers them. Must not touch: sockets, clocks or randomness — the
//! tokio adapter in [`crate::driver`] passes datagrams and the time in,
//! sends what comes out and arms [`UserAgent::next_deadline`]; identifiers
//! come from a seed it is given. The codec and Digest arithmetic are
//! `phoneflip-sip`'s.
//!
//! Simplifications: UDP only; one proxy (`proxy1_address`/`proxy1_port`,
//! which the 7940/7960 loads use for every line unless per-line proxies
//! are set, which the emulator does not read); a failed registration is
//! not retried (the verdict stays for the operator to read); an incoming
//! call is answered at once; CANCEL and re-INVITE are not implemented.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use phoneflip_sip::{Challenge, Credentials, NameAddr, Request, Response, Uri, Via};

use crate::cfgread;
use crate::sip::{response_to, Agent, Heard};

/// The phone re-registers this long before its registration expires
/// (the 7940/7960's `timer_register_delta` default; phoneflip's parameter
/// table does not carry that parameter, so it is fixed here), or at half
/// the lifetime when that is shorter.
pub const REGISTER_DELTA: Duration = Duration::from_secs(5);

/// RFC 3261 §17.1.2.2: a non-INVITE request is resent up to T2.
const T2: Duration = Duration::from_secs(4);

/// What the phone needs from its files to register and call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaConfig {
    /// Where REGISTER and INVITE go.
    pub proxy: SocketAddr,
    /// `proxy1_address` as written: the domain of the lines' addresses.
    pub domain: String,
    /// `proxy_register: 1`.
    pub register: bool,
    /// `timer_register_expires`, seconds.
    pub expires: u32,
    /// `timer_t1`: the first retransmission interval.
    pub t1: Duration,
    pub lines: Vec<LineAccount>,
}

/// One configured line button.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineAccount {
    pub line: u8,
    /// `lineN_name`: the user part of the line's address.
    pub name: String,
    /// `lineN_authname`, or the name when it is empty (as the phones do).
    pub authname: String,
    pub password: String,
    pub displayname: Option<String>,
}

/// Why the files do not let the phone register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UaConfigError {
    #[error("no proxy1_address in SIPDefault.cnf or SIP<MAC>.cnf: the phone has nowhere to register; set proxy1_address to the registrar's address")]
    NoProxy,
    #[error("proxy1_address {0:?} is not an IP address: the emulator does not resolve names; give the registrar's address")]
    ProxyNotAnAddress(String),
    #[error("{key} {value:?} in the phone's files is not a number: {why}")]
    BadNumber {
        key: &'static str,
        value: String,
        why: &'static str,
    },
}

/// The table's default for `key` (phoneflip-config's parameter table, the
/// one place defaults are written).
fn default_of(key: &str) -> Option<&'static str> {
    phoneflip_config::sip_params::lookup(key).and_then(|(spec, _)| spec.default)
}

impl UaConfig {
    /// Reads the settings from the phone's SIP files in the order it read
    /// them (`SIPDefault.cnf`, then `SIP<MAC>.cnf`): a later file's value
    /// wins, a missing value takes the parameter table's default. A line
    /// counts when its `lineN_name` is set and is not `UNPROVISIONED`.
    pub fn from_files(files: &[&[u8]]) -> Result<UaConfig, UaConfigError> {
        let value = |key: &str| {
            files
                .iter()
                .rev()
                .find_map(|f| cfgread::sip_value(f, key))
                .filter(|v| !v.is_empty())
        };
        let number = |key: &'static str, min: u64, max: u64| -> Result<u64, UaConfigError> {
            let v = value(key)
                .or_else(|| default_of(key).map(str::to_string))
                .unwrap_or_default();
            v.parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or(UaConfigError::BadNumber {
                    key,
                    value: v,
                    why: "out of range or not digits",
                })
        };
        let domain = value("proxy1_address").ok_or(UaConfigError::NoProxy)?;
        let ip: IpAddr = domain
            .parse()
            .map_err(|_| UaConfigError::ProxyNotAnAddress(domain.clone()))?;
        let port = number("proxy1_port", 1, 65_535)? as u16;
        let register = value("proxy_register")
            .or_else(|| default_of("proxy_register").map(str::to_string))
            .is_some_and(|v| v == "1");
        let expires = number("timer_register_expires", 1, 3_932_100)? as u32;
        let t1 = Duration::from_millis(number("timer_t1", 1, 60_000)?);
        let lines = (1..=phoneflip_config::sip_params::MAX_LINES)
            .filter_map(|n| {
                let name = value(&format!("line{n}_name"))?;
                if name.eq_ignore_ascii_case("UNPROVISIONED") {
                    return None;
                }
                Some(LineAccount {
                    line: n,
                    authname: value(&format!("line{n}_authname")).unwrap_or_else(|| name.clone()),
                    password: value(&format!("line{n}_password")).unwrap_or_default(),
                    displayname: value(&format!("line{n}_displayname")),
                    name,
                })
            })
            .collect();
        Ok(UaConfig {
            proxy: SocketAddr::new(ip, port),
            domain,
            register,
            expires,
            t1,
            lines,
        })
    }
}

/// Why a line is not registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum RegFailure {
    #[error("wrong password: the registrar challenged again after the answer with lineN_password ({status} {reason})")]
    WrongPassword { status: u16, reason: String },
    #[error("the registrar refused the line: {status} {reason}")]
    Forbidden { status: u16, reason: String },
    #[error("no answer from the registrar at {proxy} within {after_ms} ms")]
    NoAnswer { proxy: SocketAddr, after_ms: u64 },
    #[error("the registrar answered {status} {reason}")]
    Refused { status: u16, reason: String },
    #[error("the registrar asks for credentials and lineN_password is empty")]
    NoCredentials,
    #[error("the registrar's challenge cannot be answered: {why}")]
    BadChallenge { why: String },
}

/// Where a line's registration stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Registration {
    /// `proxy_register` is not 1: the phone does not register.
    Disabled,
    Trying,
    Registered {
        /// Seconds the registrar granted.
        expires: u32,
    },
    Failed(RegFailure),
}

/// One line's registration, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineStatus {
    pub line: u8,
    pub name: String,
    pub registration: Registration,
    /// REGISTER transactions that ended in 200 OK (refreshes included).
    pub registrations: u32,
}

/// A call's handle.
pub type CallId = usize;

/// Where a call stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallState {
    Calling,
    Ringing,
    Established,
    /// Ended by BYE (ours or theirs).
    Ended {
        by_us: bool,
    },
    Failed {
        status: u16,
        reason: String,
    },
}

/// One call, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallStatus {
    pub id: CallId,
    pub line: u8,
    pub outgoing: bool,
    /// The other party's address (`To` of ours, `From` of theirs).
    pub peer: String,
    pub state: CallState,
    /// The SDP the other side sent, if any.
    pub remote_sdp: Option<String>,
}

/// What to do after feeding the agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub send: Vec<(SocketAddr, Vec<u8>)>,
    /// What the out-of-dialog agent made of a request (a check-sync the
    /// driver must act on), when it handled one.
    pub heard: Option<Heard>,
}

/// Why a call cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the phone has no line {0} configured (lineN_name)")]
    NoSuchLine(u8),
    #[error("{0:?} is not a SIP user to call")]
    BadTarget(String),
    #[error("no call {0}")]
    NoSuchCall(CallId),
    #[error("call {0} is not established")]
    NotEstablished(CallId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxFor {
    Register(usize),
    Invite(CallId),
    Bye(CallId),
}

/// A client transaction: retransmitted until a response or its timeout.
#[derive(Debug, Clone)]
struct ClientTx {
    branch: String,
    method: String,
    dest: SocketAddr,
    bytes: Vec<u8>,
    started: Duration,
    next_send: Duration,
    interval: Duration,
    /// A provisional response stops INVITE retransmissions (§17.1.1.2).
    proceeding: bool,
    for_: TxFor,
}

#[derive(Debug, Clone)]
struct LineReg {
    account: LineAccount,
    call_id: String,
    cseq: u32,
    state: Registration,
    /// The nonce our last credentials answered, to tell a wrong password
    /// (challenged again with the same or a fresh non-stale nonce) from a
    /// nonce that expired.
    answered: bool,
    refresh_at: Option<Duration>,
    ok: u32,
}

#[derive(Debug, Clone)]
struct Call {
    line: usize,
    outgoing: bool,
    call_id: String,
    local: NameAddr,
    remote: NameAddr,
    remote_target: Option<String>,
    route: Vec<String>,
    cseq: u32,
    state: CallState,
    remote_sdp: Option<String>,
    /// The INVITE as last sent (for the non-2xx ACK and an authenticated
    /// resend).
    invite: Option<Request>,
    challenged: bool,
    /// Our 200 OK to their INVITE, resent until their ACK (§13.3.1.4).
    our_ok: Option<(SocketAddr, Vec<u8>, Duration, Duration, Duration)>,
    /// Their INVITE's CSeq, to match their ACK.
    their_invite_cseq: u32,
}

/// The phone's SIP user agent: registrations and calls.
#[derive(Debug, Clone)]
pub struct UserAgent {
    cfg: UaConfig,
    local: SocketAddr,
    seed: String,
    counter: u64,
    lines: Vec<LineReg>,
    calls: Vec<Call>,
    txs: Vec<ClientTx>,
    agent: Agent,
}

fn sdp(local: IpAddr, session: u64) -> String {
    // What a 7960 offers: G.711 µ-law and telephone-event, one audio port.
    format!(
        "v=0\r\no=Cisco-SIPUA {session} {session} IN IP4 {local}\r\ns=SIP Call\r\nc=IN IP4 {local}\r\nt=0 0\r\n\
         m=audio 16384 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    )
}

impl UserAgent {
    /// A user agent on `local` (the phone's own SIP address) for the
    /// settings in `cfg`. `seed` makes Call-IDs, tags and branches unique
    /// across phones and boots (the adapter passes the MAC and the time).
    pub fn new(cfg: UaConfig, local: SocketAddr, seed: &str) -> UserAgent {
        let seed: String = seed.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let lines = cfg
            .lines
            .iter()
            .enumerate()
            .map(|(i, a)| LineReg {
                account: a.clone(),
                call_id: format!("{seed}-reg{i}@{}", local.ip()),
                cseq: 0,
                state: if cfg.register {
                    Registration::Trying
                } else {
                    Registration::Disabled
                },
                answered: false,
                refresh_at: None,
                ok: 0,
            })
            .collect();
        UserAgent {
            agent: Agent::new(&seed),
            cfg,
            local,
            seed,
            counter: 0,
            lines,
            calls: Vec::new(),
            txs: Vec::new(),
        }
    }

    /// Keeps `agent` (and what it remembers answering) for requests
    /// outside calls: a phone rebuilt after a reboot must still not act
    /// twice on a NOTIFY resent across the reboot.
    pub fn with_agent(mut self, agent: Agent) -> UserAgent {
        self.agent = agent;
        self
    }

    /// The out-of-dialog agent, to carry over into the next boot's user
    /// agent.
    pub fn into_agent(self) -> Agent {
        self.agent
    }

    pub fn config(&self) -> &UaConfig {
        &self.cfg
    }

    fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{}{:x}", self.seed, self.counter)
    }

    /// Every line's registration.
    pub fn lines(&self) -> Vec<LineStatus> {
        self.lines
            .iter()
            .map(|l| LineStatus {
                line: l.account.line,
                name: l.account.name.clone(),
                registration: l.state.clone(),
                registrations: l.ok,
            })
            .collect()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<CallStatus> {
        self.calls
            .iter()
            .enumerate()
            .map(|(id, c)| CallStatus {
                id,
                line: self.lines[c.line].account.line,
                outgoing: c.outgoing,
                peer: c.remote.uri.to_string(),
                state: c.state.clone(),
                remote_sdp: c.remote_sdp.clone(),
            })
            .collect()
    }

    /// Registers every line (when `proxy_register` is 1).
    pub fn start(&mut self, now: Duration) -> Output {
        let mut out = Output::default();
        if self.cfg.register {
            for i in 0..self.lines.len() {
                self.send_register(now, i, None, &mut out);
            }
        }
        out
    }

    /// When [`UserAgent::tick`] must be called next.
    pub fn next_deadline(&self) -> Option<Duration> {
        let tx = self.txs.iter().map(|t| {
            if t.proceeding {
                t.started + self.cfg.t1 * 64
            } else {
                t.next_send.min(t.started + self.cfg.t1 * 64)
            }
        });
        let refresh = self.lines.iter().filter_map(|l| l.refresh_at);
        let oks = self
            .calls
            .iter()
            .filter_map(|c| c.our_ok.as_ref().map(|o| o.2.min(o.4)));
        tx.chain(refresh).chain(oks).min()
    }

    /// Retransmissions, timeouts and registration refreshes due at `now`.
    pub fn tick(&mut self, now: Duration) -> Output {
        let mut out = Output::default();
        let timeout = self.cfg.t1 * 64;
        let mut timed_out = Vec::new();
        for t in &mut self.txs {
            if now >= t.started + timeout {
                timed_out.push((t.branch.clone(), t.for_));
            } else if !t.proceeding && now >= t.next_send {
                out.send.push((t.dest, t.bytes.clone()));
                t.interval = if t.method == "INVITE" {
                    t.interval * 2
                } else {
                    (t.interval * 2).min(T2)
                };
                t.next_send = now + t.interval;
            }
        }
        for (branch, for_) in timed_out {
            self.txs.retain(|t| t.branch != branch);
            match for_ {
                TxFor::Register(i) => {
                    self.lines[i].state = Registration::Failed(RegFailure::NoAnswer {
                        proxy: self.cfg.proxy,
                        after_ms: timeout.as_millis() as u64,
                    });
                    self.lines[i].refresh_at = None;
                }
                TxFor::Invite(c) => {
                    self.calls[c].state = CallState::Failed {
                        status: 408,
                        reason: "Request Timeout (no answer from the proxy)".into(),
                    }
                }
                TxFor::Bye(c) => self.calls[c].state = CallState::Ended { by_us: true },
            }
        }
        for i in 0..self.lines.len() {
            if self.lines[i].refresh_at.is_some_and(|t| now >= t) {
                self.lines[i].refresh_at = None;
                self.send_register(now, i, None, &mut out);
            }
        }
        for c in &mut self.calls {
            if let Some((dest, bytes, next, interval, give_up)) = &mut c.our_ok {
                if now >= *give_up {
                    // §13.3.1.4: no ACK within 64*T1: the dialog ends.
                    c.our_ok = None;
                    c.state = CallState::Failed {
                        status: 408,
                        reason: "no ACK for our 200 OK".into(),
                    };
                } else if now >= *next {
                    out.send.push((*dest, bytes.clone()));
                    *interval = (*interval * 2).min(T2);
                    *next = now + *interval;
                }
            }
        }
        out
    }

    fn via(&mut self) -> (String, String) {
        let branch = format!("z9hG4bK{}", self.next_id());
        (
            format!("SIP/2.0/UDP {};branch={branch};rport", self.local),
            branch,
        )
    }

    fn aor(&self, user: &str) -> Uri {
        Uri::parse(&format!("sip:{user}@{}", self.cfg.domain)).unwrap_or(Uri {
            scheme: "sip".into(),
            user: Some(user.to_string()),
            host: self.cfg.domain.clone(),
            port: None,
            params: Default::default(),
            headers: None,
        })
    }

    fn contact(&self, user: &str) -> String {
        format!("<sip:{user}@{}>", self.local)
    }

    fn proxy_uri(&self) -> String {
        if self.cfg.proxy.port() == 5060 {
            format!("sip:{}", self.cfg.domain)
        } else {
            format!("sip:{}:{}", self.cfg.domain, self.cfg.proxy.port())
        }
    }

    fn start_tx(
        &mut self,
        now: Duration,
        req: &Request,
        branch: String,
        dest: SocketAddr,
        for_: TxFor,
        out: &mut Output,
    ) {
        let bytes = req.to_bytes();
        out.send.push((dest, bytes.clone()));
        self.txs.retain(|t| t.for_ != for_);
        self.txs.push(ClientTx {
            branch,
            method: req.method.clone(),
            dest,
            bytes,
            started: now,
            next_send: now + self.cfg.t1,
            interval: self.cfg.t1,
            proceeding: false,
            for_,
        });
    }

    fn send_register(
        &mut self,
        now: Duration,
        i: usize,
        auth: Option<(&'static str, Credentials)>,
        out: &mut Output,
    ) {
        let (via, branch) = self.via();
        let ruri = self.proxy_uri();
        let tag = self.next_id();
        let l = &mut self.lines[i];
        l.cseq += 1;
        l.answered = auth.is_some();
        if !matches!(l.state, Registration::Registered { .. }) {
            l.state = Registration::Trying;
        }
        let a = l.account.clone();
        let (call_id, cseq) = (l.call_id.clone(), l.cseq);
        let aor = self.aor(&a.name);
        let mut r = Request::new("REGISTER", &ruri);
        let h = &mut r.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", format!("<{aor}>;tag={tag}"));
        h.push("To", format!("<{aor}>"));
        h.push("Call-ID", call_id);
        h.push("CSeq", format!("{cseq} REGISTER"));
        h.push("Contact", self.contact(&a.name));
        h.push("Expires", self.cfg.expires.to_string());
        if let Some((name, c)) = auth {
            h.push(name, c.to_string());
        }
        h.push("User-Agent", "Cisco-SIP-IP-Phone (phoneflip-emulator)");
        h.push("Content-Length", "0");
        let dest = self.cfg.proxy;
        self.start_tx(now, &r, branch, dest, TxFor::Register(i), out);
    }

    /// Feeds one datagram from `from`.
    pub fn handle(&mut self, now: Duration, datagram: &[u8], from: SocketAddr) -> Output {
        let mut out = Output::default();
        if let Ok(resp) = Response::parse(datagram) {
            let what = format!("{} {}", resp.status, resp.reason);
            out.heard = Some(if self.on_response(now, resp, &mut out) {
                Heard::Dialog { what }
            } else {
                Heard::Silent {
                    what: "a SIP response".into(),
                }
            });
            return out;
        }
        if let Ok(req) = Request::parse(datagram) {
            if self.on_request(now, &req, from, &mut out) {
                out.heard = Some(Heard::Dialog {
                    what: req.method.clone(),
                });
                return out;
            }
        }
        let reply = self.agent.handle(datagram, from);
        if let Some(b) = reply.send {
            out.send.push((from, b));
        }
        out.heard = Some(reply.heard);
        out
    }

    /// Whether the response belonged to one of our transactions or calls.
    fn on_response(&mut self, now: Duration, resp: Response, out: &mut Output) -> bool {
        let Some(branch) = resp
            .headers
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
        else {
            return false;
        };
        let Some(pos) = self.txs.iter().position(|t| t.branch == branch) else {
            // A 200 OK to an INVITE retransmitted after the transaction
            // ended: ACK it again (§13.2.2.4).
            if resp.status / 100 == 2 {
                if let Some(c) = self.call_of(&resp) {
                    self.send_ack_2xx(c, &resp, out);
                    return true;
                }
            }
            return false;
        };
        if resp.is_provisional() {
            self.txs[pos].proceeding = true;
            if let TxFor::Invite(c) = self.txs[pos].for_ {
                if resp.status == 180 || resp.status == 183 {
                    self.calls[c].state = CallState::Ringing;
                }
            }
            return true;
        }
        let tx = self.txs.remove(pos);
        match tx.for_ {
            TxFor::Register(i) => self.on_register_final(now, i, &resp, out),
            TxFor::Invite(c) => self.on_invite_final(now, c, &resp, out),
            TxFor::Bye(c) => self.calls[c].state = CallState::Ended { by_us: true },
        }
        true
    }

    fn on_register_final(&mut self, now: Duration, i: usize, resp: &Response, out: &mut Output) {
        let status = resp.status;
        let reason = resp.reason.clone();
        match status {
            200..=299 => {
                let ours = self.contact(&self.lines[i].account.name);
                let granted = resp
                    .headers
                    .list("Contact")
                    .into_iter()
                    .filter_map(|c| NameAddr::parse(c).ok())
                    .find(|c| format!("<{}>", c.uri) == ours)
                    .and_then(|c| c.params.value("expires").and_then(|e| e.parse().ok()))
                    .or_else(|| resp.header("Expires").and_then(|e| e.parse().ok()))
                    .unwrap_or(self.cfg.expires);
                let l = &mut self.lines[i];
                l.ok += 1;
                l.state = Registration::Registered { expires: granted };
                let life = Duration::from_secs(granted.into());
                let before = REGISTER_DELTA.min(life / 2);
                l.refresh_at = Some(now + life - before);
            }
            401 | 407 => {
                let account = self.lines[i].account.clone();
                let challenge = match Challenge::from_response(resp) {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => {
                        return self.reg_failed(i, RegFailure::BadChallenge { why: e.to_string() })
                    }
                    None => unreachable!("401 and 407 always carry a challenge kind"),
                };
                let (kind, ch) = challenge;
                if self.lines[i].answered && !ch.stale {
                    return self.reg_failed(i, RegFailure::WrongPassword { status, reason });
                }
                if account.password.is_empty() {
                    return self.reg_failed(i, RegFailure::NoCredentials);
                }
                let cnonce = self.next_id();
                match ch.answer(
                    "REGISTER",
                    &self.proxy_uri(),
                    &account.authname,
                    &account.password,
                    &cnonce,
                    1,
                ) {
                    Ok(c) => self.send_register(now, i, Some((kind.credentials_header(), c)), out),
                    Err(e) => self.reg_failed(i, RegFailure::BadChallenge { why: e.to_string() }),
                }
            }
            403 => self.reg_failed(i, RegFailure::Forbidden { status, reason }),
            _ => self.reg_failed(i, RegFailure::Refused { status, reason }),
        }
    }

    fn reg_failed(&mut self, i: usize, f: RegFailure) {
        self.lines[i].state = Registration::Failed(f);
        self.lines[i].refresh_at = None;
    }

    fn line_index(&self, line: u8) -> Result<usize, CallError> {
        self.lines
            .iter()
            .position(|l| l.account.line == line)
            .ok_or(CallError::NoSuchLine(line))
    }

    /// Calls `user` at the proxy's domain from `line`.
    pub fn call(
        &mut self,
        now: Duration,
        line: u8,
        user: &str,
    ) -> Result<(CallId, Output), CallError> {
        let i = self.line_index(line)?;
        let remote = NameAddr {
            display: None,
            uri: Uri::parse(&format!("sip:{user}@{}", self.cfg.domain))
                .map_err(|_| CallError::BadTarget(user.to_string()))?,
            params: Default::default(),
        };
        let a = self.lines[i].account.clone();
        let mut local = NameAddr {
            display: a
                .displayname
                .as_ref()
                .map(|d| format!("\"{}\"", d.replace('"', ""))),
            uri: self.aor(&a.name),
            params: Default::default(),
        };
        local.params.set("tag", Some(&self.next_id()));
        let call_id = format!("{}@{}", self.next_id(), self.local.ip());
        let id = self.calls.len();
        self.calls.push(Call {
            line: i,
            outgoing: true,
            call_id,
            local,
            remote,
            remote_target: None,
            route: Vec::new(),
            cseq: 0,
            state: CallState::Calling,
            remote_sdp: None,
            invite: None,
            challenged: false,
            our_ok: None,
            their_invite_cseq: 0,
        });
        let mut out = Output::default();
        self.send_invite(now, id, None, &mut out);
        Ok((id, out))
    }

    fn send_invite(
        &mut self,
        now: Duration,
        id: CallId,
        auth: Option<(&'static str, Credentials)>,
        out: &mut Output,
    ) {
        let (via, branch) = self.via();
        let session = self.counter;
        let contact = self.contact(&self.lines[self.calls[id].line].account.name);
        let c = &mut self.calls[id];
        c.cseq += 1;
        let mut r = Request::new("INVITE", &c.remote.uri.to_string());
        let h = &mut r.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", c.local.to_string());
        h.push("To", c.remote.to_string());
        h.push("Call-ID", c.call_id.clone());
        h.push("CSeq", format!("{} INVITE", c.cseq));
        h.push("Contact", contact);
        if let Some((name, cr)) = auth {
            h.push(name, cr.to_string());
        }
        h.push("Allow", "ACK, BYE, CANCEL, INVITE, NOTIFY, OPTIONS");
        h.push("User-Agent", "Cisco-SIP-IP-Phone (phoneflip-emulator)");
        h.push("Content-Type", "application/sdp");
        let body = sdp(self.local.ip(), session).into_bytes();
        h.push("Content-Length", body.len().to_string());
        r.body = body;
        c.invite = Some(r.clone());
        let dest = self.cfg.proxy;
        self.start_tx(now, &r, branch, dest, TxFor::Invite(id), out);
    }

    fn on_invite_final(&mut self, now: Duration, id: CallId, resp: &Response, out: &mut Output) {
        if resp.status / 100 == 2 {
            let c = &mut self.calls[id];
            if let Ok(to) = resp.headers.to_addr() {
                c.remote = to;
            }
            c.remote_target = resp
                .headers
                .list("Contact")
                .first()
                .and_then(|v| NameAddr::parse(v).ok())
                .map(|n| n.uri.to_string());
            // §12.1.2: the route set is the Record-Route in reverse.
            let mut rr: Vec<String> = resp
                .headers
                .list("Record-Route")
                .into_iter()
                .map(str::to_string)
                .collect();
            rr.reverse();
            c.route = rr;
            c.remote_sdp =
                (!resp.body.is_empty()).then(|| String::from_utf8_lossy(&resp.body).into_owned());
            c.state = CallState::Established;
            self.send_ack_2xx(id, resp, out);
            return;
        }
        // A non-2xx final response: ACK it in the same transaction
        // (§17.1.1.3), then answer a challenge once or give up.
        let Some(inv) = self.calls[id].invite.clone() else {
            return;
        };
        let mut ack = Request::new("ACK", &inv.uri);
        for name in ["Via", "From", "Call-ID"] {
            if let Some(v) = inv.header(name) {
                ack.headers.push(name, v);
            }
        }
        if let Some(to) = resp.header("To") {
            ack.headers.push("To", to);
        }
        ack.headers
            .push("CSeq", format!("{} ACK", self.calls[id].cseq));
        ack.headers.push("Max-Forwards", "70");
        ack.headers.push("Content-Length", "0");
        out.send.push((self.cfg.proxy, ack.to_bytes()));
        if matches!(resp.status, 401 | 407) && !self.calls[id].challenged {
            let a = self.lines[self.calls[id].line].account.clone();
            if let Some(Ok((kind, ch))) = Challenge::from_response(resp) {
                let cnonce = self.next_id();
                if let Ok(cr) = ch.answer("INVITE", &inv.uri, &a.authname, &a.password, &cnonce, 1)
                {
                    self.calls[id].challenged = true;
                    return self.send_invite(now, id, Some((kind.credentials_header(), cr)), out);
                }
            }
        }
        self.calls[id].state = CallState::Failed {
            status: resp.status,
            reason: resp.reason.clone(),
        };
    }

    /// Where an in-dialog request goes (§12.2.1.1, loose routing): the
    /// first Route when there is a route set, else the remote target.
    fn in_dialog(&mut self, id: CallId, method: &str, cseq: u32) -> (Request, SocketAddr) {
        let (via, _) = self.via();
        let c = &self.calls[id];
        let target = c
            .remote_target
            .clone()
            .unwrap_or_else(|| c.remote.uri.to_string());
        let mut r = Request::new(method, &target);
        let h = &mut r.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        for route in &c.route {
            h.push("Route", route.clone());
        }
        h.push("From", c.local.to_string());
        h.push("To", c.remote.to_string());
        h.push("Call-ID", c.call_id.clone());
        h.push("CSeq", format!("{cseq} {method}"));
        h.push("Content-Length", "0");
        let first_hop = c
            .route
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .map(|n| n.uri)
            .or_else(|| Uri::parse(&target).ok());
        let dest = first_hop
            .and_then(|u| u.ip().map(|ip| SocketAddr::new(ip, u.port.unwrap_or(5060))))
            .unwrap_or(self.cfg.proxy);
        (r, dest)
    }

    fn send_ack_2xx(&mut self, id: CallId, _resp: &Response, out: &mut Output) {
        let cseq = self.calls[id].cseq;
        let (ack, dest) = self.in_dialog(id, "ACK", cseq);
        out.send.push((dest, ack.to_bytes()));
    }

    fn call_of(&self, resp: &Response) -> Option<CallId> {
        let call_id = resp.header("Call-ID")?;
        self.calls.iter().position(|c| c.call_id == call_id)
    }

    /// Ends an established call with BYE.
    pub fn hang_up(&mut self, now: Duration, id: CallId) -> Result<Output, CallError> {
        let c = self.calls.get(id).ok_or(CallError::NoSuchCall(id))?;
        if c.state != CallState::Established {
            return Err(CallError::NotEstablished(id));
        }
        self.calls[id].cseq += 1;
        let cseq = self.calls[id].cseq;
        let (bye, dest) = self.in_dialog(id, "BYE", cseq);
        let branch = Via::parse(bye.header("Via").unwrap_or(""))
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let mut out = Output::default();
        self.calls[id].our_ok = None;
        self.start_tx(now, &bye, branch, dest, TxFor::Bye(id), &mut out);
        Ok(out)
    }

    /// INVITE, ACK and BYE of our dialogs (and new INVITEs); `false` hands
    /// the request to the out-of-dialog agent.
    fn on_request(
        &mut self,
        now: Duration,
        req: &Request,
        from: SocketAddr,
        out: &mut Output,
    ) -> bool {
        let call_id = req.header("Call-ID").unwrap_or("");
        let existing = self.calls.iter().position(|c| c.call_id == call_id);
        let cseq = req.headers.cseq().ok();
        match (req.method.as_str(), existing) {
            ("INVITE", None) => {
                let user = Uri::parse(&req.uri).ok().and_then(|u| u.user);
                let line = self
                    .lines
                    .iter()
                    .position(|l| Some(&l.account.name) == user.as_ref())
                    .or(if self.lines.is_empty() { None } else { Some(0) });
                let (Some(line), Ok(from_addr), Ok(to_addr), Some(cseq)) =
                    (line, req.headers.from_addr(), req.headers.to_addr(), cseq)
                else {
                    return false;
                };
                let tag = self.next_id();
                let mut local = to_addr;
                local.params.set("tag", Some(&tag));
                let mut rr: Vec<String> = req
                    .headers
                    .list("Record-Route")
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let remote_target = req
                    .headers
                    .list("Contact")
                    .first()
                    .and_then(|v| NameAddr::parse(v).ok())
                    .map(|n| n.uri.to_string());
                // §12.1.1: the UAS keeps Record-Route in order.
                rr.retain(|r| !r.is_empty());
                let id = self.calls.len();
                self.calls.push(Call {
                    line,
                    outgoing: false,
                    call_id: call_id.to_string(),
                    local,
                    remote: from_addr,
                    remote_target,
                    route: rr,
                    cseq: 0,
                    state: CallState::Ringing,
                    remote_sdp: (!req.body.is_empty())
                        .then(|| String::from_utf8_lossy(&req.body).into_owned()),
                    invite: Some(req.clone()),
                    challenged: false,
                    our_ok: None,
                    their_invite_cseq: cseq.seq,
                });
                for (status, reason) in [(100, "Trying"), (180, "Ringing")] {
                    let r = response_to(req, from, status, reason, &tag);
                    out.send.push((from, self.with_rr(req, r).to_bytes()));
                }
                let ok = self.answer_ok(id, req, from, &tag);
                out.send.push((from, ok.clone()));
                let t1 = self.cfg.t1;
                self.calls[id].our_ok = Some((from, ok, now + t1, t1, now + t1 * 64));
                self.calls[id].state = CallState::Established;
                true
            }
            ("INVITE", Some(id)) => {
                // A retransmission of their INVITE: our last answer again.
                if let Some((_, ok, ..)) = &self.calls[id].our_ok {
                    out.send.push((from, ok.clone()));
                    return true;
                }
                false
            }
            ("ACK", Some(id)) => {
                let c = &mut self.calls[id];
                if cseq.is_some_and(|s| s.seq == c.their_invite_cseq) {
                    c.our_ok = None;
                }
                true
            }
            ("BYE", Some(id)) => {
                let tag = self.calls[id].local.tag().unwrap_or("").to_string();
                let r = response_to(req, from, 200, "OK", &tag);
                out.send.push((from, r.to_bytes()));
                self.calls[id].our_ok = None;
                self.calls[id].state = CallState::Ended { by_us: false };
                true
            }
            _ => false,
        }
    }

    /// §12.1.1: a response that creates a dialog copies Record-Route.
    fn with_rr(&self, req: &Request, mut r: Response) -> Response {
        let rr = req.headers.list("Record-Route");
        if !rr.is_empty() {
            r.headers.remove("Content-Length");
            for v in rr {
                r.headers.push("Record-Route", v);
            }
            r.headers.push("Content-Length", "0");
        }
        r
    }

    fn answer_ok(&self, id: CallId, req: &Request, from: SocketAddr, tag: &str) -> Vec<u8> {
        let r = response_to(req, from, 200, "OK", tag);
        let mut r = self.with_rr(req, r);
        r.headers.remove("Content-Length");
        let user = &self.lines[self.calls[id].line].account.name;
        r.headers.push("Contact", self.contact(user));
        r.headers.push("Content-Type", "application/sdp");
        let body = sdp(self.local.ip(), id as u64 + 1).into_bytes();
        r.headers.push("Content-Length", body.len().to_string());
        r.body = body;
        r.to_bytes()
    }
}
