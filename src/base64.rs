//! The crate's one base64 implementation (`base64-simd`): strict unpadded base64url for token
//! segments and key IDs, standard padded base64 for `BinaryEquals` values and admission
//! patches.
//!
//! A token is three base64url segments, and decoding them was a large share of verification
//! beyond the signature check, so it is done with SIMD. The tests hold decoding to exactly the
//! strictness of the `base64` crate's engines: for base64url only `A-Z a-z 0-9 - _`, no
//! padding, no length of the form 4n+1, and no stray bits in the last character.

use std::mem::MaybeUninit;

/// The decoded length of `len` characters of unpadded base64.
pub(crate) const fn decoded_len(len: usize) -> usize {
    len / 4 * 3 + (len % 4) * 3 / 4
}

/// Decodes `input` into the front of `out` (at least [`decoded_len`] bytes, which need not be
/// initialised) and returns the decoded bytes, or `None` when `input` is not strict unpadded
/// base64url.
#[inline]
pub(crate) fn decode<'o>(input: &[u8], out: &'o mut [MaybeUninit<u8>]) -> Option<&'o [u8]> {
    if out.len() < decoded_len(input.len()) {
        return None;
    }
    base64_simd::URL_SAFE_NO_PAD
        .decode(input, base64_simd::Out::from_uninit_slice(out))
        .ok()
        .map(|decoded| &*decoded)
}

/// Decodes `input` into a new vector of exactly its decoded length, or `None` when `input` is
/// not strict unpadded base64url.
#[inline]
pub(crate) fn decode_to_vec(input: &[u8]) -> Option<Vec<u8>> {
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(input).ok()
}

/// Unpadded base64url of `bytes`, as JWK members and key IDs are written.
pub(crate) fn url_encode(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Standard padded base64 of `bytes` (admission patches, the local STS's credentials).
#[cfg(any(feature = "webhook", feature = "sts", test))]
pub(crate) fn encode(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// Strict standard padded base64, or `None`.
pub(crate) fn decode_standard(input: &str) -> Option<Vec<u8>> {
    base64_simd::STANDARD.decode_to_vec(input).ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::*;

    /// Both ways of decoding, which must agree.
    fn ours(input: &str) -> Option<Vec<u8>> {
        let mut out = vec![MaybeUninit::uninit(); decoded_len(input.len())];
        let decoded = decode(input.as_bytes(), &mut out).map(<[u8]>::to_vec);
        assert_eq!(decoded, decode_to_vec(input.as_bytes()), "{input:?}");
        decoded
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
            prop_assert_eq!(decode_standard(&input), STANDARD.decode(&input).ok());
        }

        #[test]
        fn encodes_as_the_base64_crate_does(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(url_encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(encode(&bytes), STANDARD.encode(&bytes));
        }
    }
}
