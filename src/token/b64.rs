//! Strict unpadded base64url decoding for token segments.
//!
//! A token is three base64url segments, and decoding them was a large share of verification
//! beyond the signature check. This decoder is table-driven, four characters at a time, and as
//! strict as the `base64` crate's `URL_SAFE_NO_PAD` engine (tests compare the two): only
//! `A-Z a-z 0-9 - _`, no padding, no length of the form 4n+1, and no stray bits in the last
//! character.

/// `DECODE[b]` is the 6-bit value of `b`, or `0xff` when `b` is not in the alphabet.
#[allow(clippy::indexing_slicing)] // constant evaluation: an out-of-range index fails the build
const DECODE: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [0xff_u8; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// An upper bound of the decoded length of `len` characters.
pub(crate) const fn decoded_len(len: usize) -> usize {
    len / 4 * 3 + (len % 4) * 3 / 4
}

/// Decodes `input` into the front of `out` (at least [`decoded_len`] bytes) and returns the
/// decoded length, or `None` when `input` is not strict unpadded base64url.
#[inline]
pub(crate) fn decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    // A `u8` always indexes the 256-entry table.
    #[allow(clippy::indexing_slicing)]
    let value = |b: u8| u32::from(DECODE[usize::from(b)]);
    let full = input.len() / 4;
    let (quads, tail) = input.split_at(full * 4);
    let (triples, rest) = out.split_at_mut_checked(full * 3)?;
    let mut invalid = 0u64;
    // Eight characters (six bytes) per step, then at most one group of four.
    let mut octets = quads.chunks_exact(8);
    let mut sixes = triples.chunks_exact_mut(6);
    for (octet, six) in (&mut octets).zip(&mut sixes) {
        let mut acc = 0u64;
        for &c in octet {
            let v = u64::from(value(c));
            invalid |= v;
            acc = acc << 6 | v;
        }
        let [_, _, bytes @ ..] = acc.to_be_bytes();
        six.copy_from_slice(&bytes);
    }
    if let (Ok([a, b, c, d]), [x, y, z]) = (
        <[u8; 4]>::try_from(octets.remainder()),
        sixes.into_remainder(),
    ) {
        let (a, b, c, d) = (value(a), value(b), value(c), value(d));
        invalid |= u64::from(a | b | c | d);
        let [_, p, q, r] = (a << 18 | b << 12 | c << 6 | d).to_be_bytes();
        (*x, *y, *z) = (p, q, r);
    }
    // A value of 0xff in any lane sets bit 7, which no valid 6-bit value has.
    if invalid & 0x80 != 0 {
        return None;
    }
    let written = match *tail {
        [] => 0,
        [a, b] => {
            let (a, b) = (value(a), value(b));
            if (a | b) & 0x80 != 0 || b & 0x0f != 0 {
                return None;
            }
            *rest.first_mut()? = (a << 2 | b >> 4) as u8;
            1
        }
        [a, b, c] => {
            let (a, b, c) = (value(a), value(b), value(c));
            if (a | b | c) & 0x80 != 0 || c & 0x03 != 0 {
                return None;
            }
            let [x, y, ..] = rest else { return None };
            *x = (a << 2 | b >> 4) as u8;
            *y = (b << 4 | c >> 2) as u8;
            2
        }
        _ => return None,
    };
    Some(full * 3 + written)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::*;

    fn ours(input: &str) -> Option<Vec<u8>> {
        let mut out = vec![0; decoded_len(input.len())];
        decode(input.as_bytes(), &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn agrees_with_the_base64_crate_on_edge_cases() {
        for input in [
            "",
            "A",
            "AA",
            "AB",
            "AAA",
            "AAB",
            "AAAA",
            "YQ",
            "YR",
            "YWI",
            "YWJ",
            "YWJj",
            "YQ==",
            "YQ=",
            "a+b/",
            "a-b_",
            "Y Q",
            "Y\nQ",
            "\u{e9}AAA",
            "AAAAA",
            "_-_-",
            "////",
        ] {
            assert_eq!(ours(input), URL_SAFE_NO_PAD.decode(input).ok(), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn decodes_what_the_base64_crate_encodes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let encoded = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(ours(&encoded), Some(bytes));
        }

        #[test]
        fn accepts_exactly_what_the_base64_crate_accepts(input in "[A-Za-z0-9_=+/ -]{0,40}") {
            prop_assert_eq!(ours(&input), URL_SAFE_NO_PAD.decode(&input).ok());
        }
    }
}
