//! Option negotiation (RFC 2347) for blksize (RFC 2348), timeout and tsize
//! (RFC 2349) and windowsize (RFC 7440).
//!
//! The server only ever narrows what the client asked for, answers each
//! accepted option once (first occurrence wins) and ignores the rest, so a
//! client that sent nothing we understand gets plain RFC 1350 behaviour:
//! no OACK, DATA 1 straight away. That is what the 7940/7960 phones need.

use std::time::Duration;

pub const DEFAULT_BLKSIZE: u16 = 512;
/// RFC 2348 range.
pub const MIN_BLKSIZE: u16 = 8;
pub const MAX_BLKSIZE: u16 = 65464;

/// What the server is willing to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_blksize: u16,
    pub max_windowsize: u16,
    /// Retransmission timeout when the client does not ask for one.
    pub default_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_blksize: MAX_BLKSIZE,
            max_windowsize: 64,
            default_timeout: Duration::from_secs(1),
        }
    }
}

/// The parameters a transfer runs with, and the OACK that announces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub blksize: u16,
    pub windowsize: u16,
    pub timeout: Duration,
    /// For a read: the size we told the client. For a write: the size the
    /// client announced.
    pub tsize: Option<u64>,
    /// Accepted options, in the client's order and spelling, with our
    /// values. Empty means: send no OACK.
    pub oack: Vec<(String, String)>,
}

/// Negotiates `options` from a request. `read_size` is the size of the
/// file for a read request (None when unknown or for a write).
pub fn negotiate(
    options: &[(String, String)],
    read_size: Option<u64>,
    limits: &Limits,
) -> Negotiated {
    let mut n = Negotiated {
        blksize: DEFAULT_BLKSIZE,
        windowsize: 1,
        timeout: limits.default_timeout,
        tsize: None,
        oack: Vec::new(),
    };
    let mut seen = [false; 4];
    for (name, value) in options {
        let value = value.trim();
        let idx = match name.to_ascii_lowercase().as_str() {
            "blksize" => 0,
            "timeout" => 1,
            "tsize" => 2,
            "windowsize" => 3,
            _ => continue,
        };
        if seen[idx] {
            continue;
        }
        seen[idx] = true;
        let Ok(v) = value.parse::<u64>() else {
            continue;
        };
        let answer = match idx {
            0 => {
                if v < MIN_BLKSIZE as u64 {
                    continue;
                }
                let b = v.min(limits.max_blksize.clamp(MIN_BLKSIZE, MAX_BLKSIZE) as u64) as u16;
                n.blksize = b;
                b as u64
            }
            1 => {
                if !(1..=255).contains(&v) {
                    continue;
                }
                n.timeout = Duration::from_secs(v);
                v
            }
            2 => match read_size {
                Some(size) => {
                    n.tsize = Some(size);
                    size
                }
                // A write announces its size; a read with unknown size
                // cannot answer tsize, so it is left out of the OACK.
                None if v > 0 => {
                    n.tsize = Some(v);
                    v
                }
                None => continue,
            },
            _ => {
                if !(1..=65535).contains(&v) {
                    continue;
                }
                let w = v.min(limits.max_windowsize.max(1) as u64) as u16;
                n.windowsize = w;
                w as u64
            }
        };
        n.oack.push((name.clone(), answer.to_string()));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn no_options_means_plain_rfc1350() {
        let n = negotiate(&[], Some(1000), &Limits::default());
        assert_eq!(n.blksize, 512);
        assert_eq!(n.windowsize, 1);
        assert!(n.oack.is_empty());
    }

    #[test]
    fn unknown_only_means_no_oack() {
        let n = negotiate(
            &o(&[("multicast", ""), ("rollover", "0")]),
            Some(1),
            &Limits::default(),
        );
        assert!(n.oack.is_empty());
    }

    #[test]
    fn accepted_options_keep_order_and_spelling() {
        let n = negotiate(
            &o(&[
                ("TSIZE", "0"),
                ("foo", "1"),
                ("blksize", "1428"),
                ("timeout", "3"),
                ("windowsize", "8"),
            ]),
            Some(4242),
            &Limits::default(),
        );
        assert_eq!(
            n.oack,
            o(&[
                ("TSIZE", "4242"),
                ("blksize", "1428"),
                ("timeout", "3"),
                ("windowsize", "8")
            ])
        );
        assert_eq!(n.blksize, 1428);
        assert_eq!(n.timeout, Duration::from_secs(3));
        assert_eq!(n.windowsize, 8);
    }

    #[test]
    fn out_of_range_values_are_narrowed_or_ignored() {
        let lim = Limits {
            max_blksize: 1468,
            max_windowsize: 4,
            ..Limits::default()
        };
        let n = negotiate(
            &o(&[
                ("blksize", "65464"),
                ("windowsize", "100"),
                ("timeout", "0"),
            ]),
            Some(1),
            &lim,
        );
        assert_eq!(n.oack, o(&[("blksize", "1468"), ("windowsize", "4")]));
        let n = negotiate(
            &o(&[("blksize", "7"), ("timeout", "256"), ("windowsize", "0")]),
            Some(1),
            &lim,
        );
        assert!(n.oack.is_empty());
        let n = negotiate(&o(&[("blksize", "x")]), Some(1), &lim);
        assert!(n.oack.is_empty());
    }

    #[test]
    fn first_occurrence_wins() {
        let n = negotiate(
            &o(&[("blksize", "1024"), ("BLKSIZE", "2048")]),
            Some(1),
            &Limits::default(),
        );
        assert_eq!(n.oack, o(&[("blksize", "1024")]));
    }

    #[test]
    fn tsize_on_write_echoes_client_size() {
        let n = negotiate(&o(&[("tsize", "99")]), None, &Limits::default());
        assert_eq!(n.tsize, Some(99));
        assert_eq!(n.oack, o(&[("tsize", "99")]));
    }
}
