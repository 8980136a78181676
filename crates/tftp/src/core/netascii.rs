//! Netascii (RFC 764 line endings as RFC 1350 uses them): LF travels as
//! CR LF and a bare CR as CR NUL.
//!
//! The phones ask for octet; netascii exists for the Unix clients people
//! use to check a server by hand (`tftp` defaults to it).
//!
//! A server sends through [`Encoded`], which converts block by block as
//! the transfer reads, so a netascii transfer of a 40 MB file holds a few
//! KiB, not a second encoded copy of the file.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::BlockSource;

/// Encodes local text for the wire.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let extra = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    let mut out = Vec::with_capacity(data.len() + extra);
    for &b in data {
        out.extend_from_slice(wire(b));
    }
    out
}

/// Bytes `b` travels as on the wire.
fn wire(b: u8) -> &'static [u8] {
    const SINGLE: [[u8; 1]; 256] = {
        let mut t = [[0u8; 1]; 256];
        let mut i = 0;
        while i < 256 {
            t[i][0] = i as u8;
            i += 1;
        }
        t
    };
    match b {
        b'\n' => b"\r\n",
        b'\r' => b"\r\0",
        b => &SINGLE[b as usize],
    }
}

/// Source bytes read at a time while encoding.
const CHUNK: usize = 4096;

/// Positions remembered to resume encoding without starting over: enough
/// for a retransmitted window of 64 blocks and then some.
const CHECKPOINTS: usize = 160;

/// A netascii view of a [`BlockSource`]: its length is the encoded length
/// (one counting pass at creation), and reads encode on the fly from the
/// nearest remembered position at or before the offset. Memory is one
/// small chunk buffer per read plus [`CHECKPOINTS`] pairs of offsets,
/// whatever the file size.
#[derive(Debug)]
pub struct Encoded<S> {
    inner: S,
    len: u64,
    /// (encoded offset, source offset) at character boundaries, most
    /// recent last.
    checkpoints: Mutex<VecDeque<(u64, u64)>>,
}

impl<S: BlockSource> Encoded<S> {
    /// Counts the encoded length by reading `inner` once, in chunks.
    pub fn new(inner: S) -> std::io::Result<Self> {
        let mut buf = [0u8; CHUNK];
        let mut src = 0u64;
        let mut len = 0u64;
        loop {
            let n = inner.read_at(src, &mut buf)?;
            if n == 0 {
                break;
            }
            len += n as u64
                + buf[..n]
                    .iter()
                    .filter(|&&b| b == b'\n' || b == b'\r')
                    .count() as u64;
            src += n as u64;
        }
        Ok(Encoded {
            inner,
            len,
            checkpoints: Mutex::new(VecDeque::with_capacity(CHECKPOINTS)),
        })
    }
}

impl<S: BlockSource> BlockSource for Encoded<S> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let (mut enc, mut src) = {
            let cps = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
            cps.iter()
                .filter(|(e, _)| *e <= offset)
                .max_by_key(|(e, _)| *e)
                .copied()
                .unwrap_or((0, 0))
        };
        let mut chunk = [0u8; CHUNK];
        let mut out = 0;
        'fill: while out < buf.len() {
            let n = self.inner.read_at(src, &mut chunk)?;
            if n == 0 {
                break;
            }
            for &b in &chunk[..n] {
                for &e in wire(b) {
                    if enc >= offset && out < buf.len() {
                        buf[out] = e;
                        out += 1;
                    }
                    enc += 1;
                }
                src += 1;
                if out == buf.len() {
                    break 'fill;
                }
            }
        }
        let mut cps = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
        if !cps.iter().any(|(e, _)| *e == enc) {
            if cps.len() == CHECKPOINTS {
                cps.pop_front();
            }
            cps.push_back((enc, src));
        }
        Ok(out)
    }
}

/// Decodes wire text. A CR followed by anything but LF or NUL is kept as
/// is rather than refused: being lenient costs nothing here.
pub fn decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' {
            match data.get(i + 1) {
                Some(b'\n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                Some(0) => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(encode(b"a\nb\rc"), b"a\r\nb\r\0c");
        assert_eq!(decode(b"a\r\nb\r\0c"), b"a\nb\rc");
        assert_eq!(decode(b"a\rb"), b"a\rb");
    }

    /// Reads `e` the way a transfer does: blocks in order, with windows
    /// rewound and re-read now and then.
    fn read_all(e: &Encoded<Vec<u8>>, blk: usize, rewinds: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut block = 0usize;
        let mut r = rewinds.iter().cycle();
        let mut buf = vec![0u8; blk];
        while (block * blk) as u64 <= e.len() {
            let n = e.read_at((block * blk) as u64, &mut buf).unwrap();
            let fresh = out.len() == block * blk;
            if fresh {
                out.extend_from_slice(&buf[..n]);
            } else {
                // A re-read block must be identical to the first time.
                assert_eq!(&out[block * blk..block * blk + n], &buf[..n]);
            }
            // Rewind only after a block read for the first time, so the
            // reads always get to the end.
            let back = *r.next().unwrap_or(&0) as usize % 4;
            block = if fresh && back > 0 && block >= back {
                block + 1 - back
            } else {
                block + 1
            };
            if n < blk && out.len() as u64 == e.len() {
                break;
            }
        }
        out
    }

    proptest! {
        /// Streaming gives exactly what encoding the whole file gives,
        /// whatever the block size and the retransmission pattern.
        #[test]
        fn streamed_equals_whole(data in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), any::<u8>()], 0..3000),
                                 blk in 1usize..700, rewinds in prop::collection::vec(any::<u8>(), 1..8)) {
            let whole = encode(&data);
            let e = Encoded::new(data).unwrap();
            prop_assert_eq!(e.len(), whole.len() as u64);
            prop_assert_eq!(read_all(&e, blk, &rewinds), whole);
        }

        #[test]
        fn round_trip(data in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(decode(&encode(&data)), data);
        }
    }
}
