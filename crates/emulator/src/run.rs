//! Bookkeeping around one [`Phone`] boot: the transcript, the emulated
//! clock, reboots and bytes, and the final outcome. Still sans-IO: a
//! driver asks [`Run`] what to do next ([`Step`]) and reports what
//! happened; [`run_in_memory`] is the synchronous driver over a map of
//! files that the state-machine tests use.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::phone::{Action, Event, Failure, Flash, FlashWrite, Phone, StableState, FILE_NOT_FOUND};

/// Steps after which a run is cut short; the phone's own reboot limit
/// ends loops long before this.
pub const MAX_STEPS: usize = 1_000;

/// One line of a phone's TFTP conversation and screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Request {
        at_ms: u64,
        file: String,
    },
    Received {
        at_ms: u64,
        file: String,
        bytes: usize,
    },
    Error {
        at_ms: u64,
        file: String,
        code: u16,
        message: String,
    },
    Display {
        at_ms: u64,
        text: String,
    },
    Flash {
        at_ms: u64,
        write: FlashWrite,
    },
    Reboot {
        at_ms: u64,
    },
    Wait {
        at_ms: u64,
        ms: u64,
    },
    /// A request went unanswered and is sent again from a new port.
    Retry {
        at_ms: u64,
        file: String,
        why: String,
    },
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |ms: &u64| format!("{:>4}.{:03}s", ms / 1000, ms % 1000);
        match self {
            Entry::Request { at_ms, file } => write!(f, "{} -> RRQ  {file}", t(at_ms)),
            Entry::Received { at_ms, file, bytes } => {
                write!(f, "{} <- DATA {file} ({bytes} bytes)", t(at_ms))
            }
            Entry::Error {
                at_ms,
                file,
                code,
                message,
            } => write!(f, "{} <- ERROR {code} {file}: {message}", t(at_ms)),
            Entry::Display { at_ms, text } => write!(f, "{} [screen] {text}", t(at_ms)),
            Entry::Flash { at_ms, write } => match write {
                FlashWrite::Loader(i) => write!(
                    f,
                    "{} flash loader <- {} ({} {})",
                    t(at_ms),
                    i.name,
                    i.protocol,
                    i.version
                ),
                FlashWrite::App(i) => write!(
                    f,
                    "{} flash application <- {} ({} {}, {})",
                    t(at_ms),
                    i.name,
                    i.protocol,
                    i.version,
                    i.role
                ),
            },
            Entry::Reboot { at_ms } => write!(f, "{} reboot", t(at_ms)),
            Entry::Wait { at_ms, ms } => write!(f, "{} wait {} s", t(at_ms), ms / 1000),
            Entry::Retry { at_ms, file, why } => {
                write!(f, "{} retry {file} from a new port ({why})", t(at_ms))
            }
        }
    }
}

/// How a boot ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Stable(StableState),
    Failed(Failure),
    /// Cut short after [`MAX_STEPS`].
    Unfinished,
}

impl Outcome {
    pub fn is_stable(&self) -> bool {
        matches!(self, Outcome::Stable(_))
    }

    /// A grouping key: `stable sip P0S3-8-12-00` or the failure's cause.
    pub fn key(&self) -> String {
        match self {
            Outcome::Stable(s) => format!("stable {} {}", s.protocol, s.load),
            Outcome::Failed(f) => format!("failed: {}", f.display()),
            Outcome::Unfinished => "unfinished".into(),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub flash: Flash,
    pub reboots: u32,
    pub bytes: u64,
    /// Requests sent again after going unanswered.
    pub retries: u32,
    /// The phone's own clock: transfer time plus waits.
    pub emulated_ms: u64,
    pub transcript: Vec<Entry>,
}

impl Report {
    /// Files requested, in order.
    pub fn requests(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter_map(|e| match e {
                Entry::Request { file, .. } => Some(file.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn displays(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter_map(|e| match e {
                Entry::Display { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Fetch this file over TFTP, then call [`Run::fetched`].
    Fetch(String),
    /// The phone waits this long (already added to the emulated clock);
    /// call [`Run::slept`] after sleeping as much of it as wanted.
    Sleep(Duration),
    /// The boot is over: see [`Run::report`].
    Done,
}

/// A TFTP failure as the phone sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The TFTP error code, or 0 for a timeout or network error.
    pub code: u16,
    pub message: String,
}

impl FetchError {
    pub fn not_found() -> FetchError {
        FetchError {
            code: FILE_NOT_FOUND,
            message: "File not found".into(),
        }
    }
}

/// One boot of a phone, from power on to a stable or failed state.
#[derive(Debug)]
pub struct Run {
    phone: Phone,
    clock: Duration,
    transcript: Vec<Entry>,
    bytes: u64,
    retries: u32,
    steps: usize,
    outcome: Option<Outcome>,
}

impl Run {
    pub fn new(phone: Phone) -> Run {
        Run {
            phone,
            clock: Duration::ZERO,
            transcript: Vec::new(),
            bytes: 0,
            retries: 0,
            steps: 0,
            outcome: None,
        }
    }

    pub fn phone(&self) -> &Phone {
        &self.phone
    }

    /// The phone's clock: transfer time, waits and idle time so far.
    pub fn clock(&self) -> Duration {
        self.clock
    }

    fn at(&self) -> u64 {
        self.clock.as_millis() as u64
    }

    pub fn start(&mut self) -> Step {
        self.feed(Event::PowerOn)
    }

    /// Reports a fetch that took `took`.
    pub fn fetched(
        &mut self,
        file: &str,
        result: Result<Vec<u8>, FetchError>,
        took: Duration,
    ) -> Step {
        self.clock += took;
        let at = self.at();
        let ev = match result {
            Ok(bytes) => {
                self.bytes += bytes.len() as u64;
                self.transcript.push(Entry::Received {
                    at_ms: at,
                    file: file.to_string(),
                    bytes: bytes.len(),
                });
                Event::FileReceived {
                    name: file.to_string(),
                    bytes,
                }
            }
            Err(e) => {
                self.transcript.push(Entry::Error {
                    at_ms: at,
                    file: file.to_string(),
                    code: e.code,
                    message: e.message.clone(),
                });
                Event::FileError {
                    name: file.to_string(),
                    code: e.code,
                    message: e.message,
                }
            }
        };
        self.feed(ev)
    }

    /// Records a request that went unanswered and is about to be sent
    /// again; the phone itself only hears of the final result.
    pub fn retrying(&mut self, file: &str, why: &str, took: Duration) {
        self.clock += took;
        self.retries += 1;
        self.transcript.push(Entry::Retry {
            at_ms: self.at(),
            file: file.to_string(),
            why: why.to_string(),
        });
    }

    pub fn slept(&mut self) -> Step {
        self.feed(Event::Timeout)
    }

    /// Sends a SIP `NOTIFY check-sync` to a phone that is stable.
    ///
    /// Each NOTIFY starts a new episode of a long-lived phone, so the
    /// [`MAX_STEPS`] guard against loops counts from here again.
    pub fn notify_check_sync(&mut self) -> Step {
        self.outcome = None;
        self.steps = 0;
        self.feed(Event::NotifyCheckSync)
    }

    /// Time the phone spent idle (a live phone waiting for SIP requests),
    /// so that its transcript keeps the real spacing of events.
    pub fn idle(&mut self, d: Duration) {
        self.clock += d;
    }

    fn feed(&mut self, first: Event) -> Step {
        let mut pending = vec![first];
        let mut next = Step::Done;
        while let Some(ev) = pending.pop() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.outcome = Some(Outcome::Unfinished);
                return Step::Done;
            }
            let actions = self.phone.handle(self.clock, ev);
            for a in actions {
                let at = self.at();
                match a {
                    Action::RequestFile(f) => {
                        self.transcript.push(Entry::Request {
                            at_ms: at,
                            file: f.clone(),
                        });
                        next = Step::Fetch(f);
                    }
                    Action::Display(text) => {
                        self.transcript.push(Entry::Display { at_ms: at, text })
                    }
                    Action::WriteFlash(write) => {
                        self.transcript.push(Entry::Flash { at_ms: at, write })
                    }
                    Action::Reboot => {
                        self.transcript.push(Entry::Reboot { at_ms: at });
                        pending.push(Event::PowerOn);
                    }
                    Action::Wait(d) => {
                        self.transcript.push(Entry::Wait {
                            at_ms: at,
                            ms: d.as_millis() as u64,
                        });
                        self.clock += d;
                        next = Step::Sleep(d);
                    }
                    Action::Stable(s) => {
                        self.outcome = Some(Outcome::Stable(s));
                        next = Step::Done;
                    }
                    Action::Failed(f) => {
                        self.outcome = Some(Outcome::Failed(f));
                        next = Step::Done;
                    }
                }
            }
        }
        if matches!(next, Step::Done) && self.outcome.is_none() {
            self.outcome = Some(Outcome::Unfinished);
        }
        next
    }

    pub fn report(&self) -> Report {
        Report {
            outcome: self.outcome.clone().unwrap_or(Outcome::Unfinished),
            flash: self.phone.flash().clone(),
            reboots: self.phone.reboots(),
            bytes: self.bytes,
            retries: self.retries,
            emulated_ms: self.at(),
            transcript: self.transcript.clone(),
        }
    }
}

/// A TFTP root in memory, answering as a correct server does: exact,
/// case-sensitive names, `./` stripped, error 1 for anything missing.
pub fn memory_fetch(files: &HashMap<String, Vec<u8>>, name: &str) -> Result<Vec<u8>, FetchError> {
    let key = name.strip_prefix("./").unwrap_or(name);
    files.get(key).cloned().ok_or_else(FetchError::not_found)
}

/// Boots `phone` against `fetch` without any I/O or sleeping.
pub fn run_with(
    phone: Phone,
    mut fetch: impl FnMut(&str) -> Result<Vec<u8>, FetchError>,
) -> Report {
    let mut run = Run::new(phone);
    let mut step = run.start();
    loop {
        step = match step {
            Step::Fetch(f) => {
                let r = fetch(&f);
                run.fetched(&f, r, Duration::ZERO)
            }
            Step::Sleep(_) => run.slept(),
            Step::Done => return run.report(),
        }
    }
}

/// Boots `phone` against an in-memory TFTP root.
pub fn run_in_memory(phone: Phone, files: &HashMap<String, Vec<u8>>) -> Report {
    run_with(phone, |n| memory_fetch(files, n))
}
