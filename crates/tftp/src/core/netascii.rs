//! Netascii (RFC 764 line endings as RFC 1350 uses them): LF travels as
//! CR LF and a bare CR as CR NUL.
//!
//! The phones ask for octet; netascii exists for the Unix clients people
//! use to check a server by hand (`tftp` defaults to it).

/// Encodes local text for the wire.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let extra = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    let mut out = Vec::with_capacity(data.len() + extra);
    for &b in data {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            b => out.push(b),
        }
    }
    out
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

    proptest! {
        #[test]
        fn round_trip(data in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(decode(&encode(&data)), data);
        }
    }
}
