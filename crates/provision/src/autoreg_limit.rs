//! How many phones auto-registration may add: per source address and in
//! all, within a sliding window.
//!
//! A TFTP request is one unauthenticated UDP datagram: with
//! auto-registration on, anyone on the network could fill the inventory
//! with made-up phones by asking for `SEP<MAC>.cnf.xml` under many MACs
//! (3,000 spoofed requests made 2,989 phones before this limit). A real
//! phone is one MAC behind one address, so a few new MACs per address and
//! window is plenty; the overall cap bounds a flood from many addresses.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits; 0 in a count means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoRegisterLimits {
    /// New phones one source address may add within `window`.
    pub per_source: u32,
    /// New phones all sources together may add within `window`.
    pub total: u32,
    pub window: Duration,
}

impl Default for AutoRegisterLimits {
    /// 2 per address and 500 in all per hour: a desk swap on one lease,
    /// and a site's worth of new phones unpacked at once.
    fn default() -> Self {
        AutoRegisterLimits {
            per_source: 2,
            total: 500,
            window: Duration::from_secs(3600),
        }
    }
}

/// Why a new phone was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoRegisterRefused {
    #[error(
        "{ip} already added {count} phones within {window:?} (serve --auto-register-per-source)"
    )]
    PerSource {
        ip: IpAddr,
        count: u32,
        window: Duration,
    },
    #[error("{count} phones were auto-registered within {window:?} (serve --auto-register-total)")]
    Total { count: u32, window: Duration },
}

/// Addresses remembered at most; beyond, the oldest window's go first.
const MAX_SOURCES: usize = 100_000;

#[derive(Default)]
struct State {
    by_source: HashMap<IpAddr, VecDeque<Instant>>,
    all: VecDeque<Instant>,
    /// When each refused source was last logged, so a flood logs once per
    /// window and address, not once per datagram.
    warned: HashMap<IpAddr, Instant>,
    warned_total: Option<Instant>,
}

/// Admits new phones within [`AutoRegisterLimits`].
pub struct AutoRegisterLimiter {
    limits: AutoRegisterLimits,
    state: Mutex<State>,
}

/// Whether a refusal should be logged (the first of its kind in a window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: AutoRegisterRefused,
    pub log: bool,
}

impl AutoRegisterLimiter {
    pub fn new(limits: AutoRegisterLimits) -> Self {
        AutoRegisterLimiter {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    pub fn limits(&self) -> AutoRegisterLimits {
        self.limits
    }

    /// Takes a slot for a new phone from `ip` (`None`: no request context,
    /// only the total counts), or says why not.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<(), Refusal> {
        self.admit_at(ip, Instant::now())
    }

    /// [`AutoRegisterLimiter::admit`] at `now` (for tests).
    pub fn admit_at(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Refusal> {
        let l = self.limits;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let since = now.checked_sub(l.window);
        let expired = |t: &Instant| since.is_some_and(|s| *t <= s);
        while st.all.front().is_some_and(expired) {
            st.all.pop_front();
        }
        if let Some(ip) = ip {
            if let Some(q) = st.by_source.get_mut(&ip) {
                while q.front().is_some_and(expired) {
                    q.pop_front();
                }
            }
            if l.per_source > 0 {
                let count = st.by_source.get(&ip).map_or(0, |q| q.len()) as u32;
                if count >= l.per_source {
                    let log = st.warned.get(&ip).is_none_or(expired);
                    if log {
                        st.warned.insert(ip, now);
                    }
                    return Err(Refusal {
                        reason: AutoRegisterRefused::PerSource {
                            ip,
                            count,
                            window: l.window,
                        },
                        log,
                    });
                }
            }
        }
        if l.total > 0 && st.all.len() as u32 >= l.total {
            let log = st.warned_total.as_ref().is_none_or(expired);
            if log {
                st.warned_total = Some(now);
            }
            return Err(Refusal {
                reason: AutoRegisterRefused::Total {
                    count: st.all.len() as u32,
                    window: l.window,
                },
                log,
            });
        }
        if l.total > 0 {
            st.all.push_back(now);
        }
        if let (Some(ip), true) = (ip, l.per_source > 0) {
            if st.by_source.len() >= MAX_SOURCES && !st.by_source.contains_key(&ip) {
                st.by_source
                    .retain(|_, q| q.back().is_some_and(|t| !expired(t)));
                st.warned.retain(|_, t| !expired(t));
                if st.by_source.len() >= MAX_SOURCES {
                    // Every remembered address added a phone this window:
                    // the total cap (when set) already bounds them.
                    st.by_source.clear();
                }
            }
            st.by_source.entry(ip).or_default().push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn per_source_then_total_within_the_window_and_again_after_it() {
        let lim = AutoRegisterLimiter::new(AutoRegisterLimits {
            per_source: 2,
            total: 3,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert!(lim.admit_at(ip("10.0.0.1"), t0).is_ok());
        assert!(lim.admit_at(ip("10.0.0.1"), t0).is_ok());
        let r = lim.admit_at(ip("10.0.0.1"), t0).unwrap_err();
        assert!(r.log);
        assert!(matches!(
            r.reason,
            AutoRegisterRefused::PerSource { count: 2, .. }
        ));
        // Logged once per window, refused every time.
        assert!(!lim.admit_at(ip("10.0.0.1"), t0).unwrap_err().log);
        assert!(lim.admit_at(ip("10.0.0.2"), t0).is_ok());
        let r = lim.admit_at(ip("10.0.0.3"), t0).unwrap_err();
        assert_eq!(
            r.reason,
            AutoRegisterRefused::Total {
                count: 3,
                window: Duration::from_secs(60)
            }
        );
        assert!(r.log);
        assert!(!lim.admit_at(None, t0).unwrap_err().log);
        // The window slides.
        let later = t0 + Duration::from_secs(61);
        assert!(lim.admit_at(ip("10.0.0.1"), later).is_ok());
        assert!(lim.admit_at(ip("10.0.0.3"), later).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let lim = AutoRegisterLimiter::new(AutoRegisterLimits {
            per_source: 0,
            total: 0,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(lim.admit_at(ip("10.0.0.1"), t0).is_ok());
        }
    }
}
