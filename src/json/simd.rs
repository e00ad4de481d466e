//! Byte searches over token text, sixteen bytes at a time.
//!
//! On x86_64 they use SSE2, which every x86_64 processor has, through `safe_arch`'s safe API;
//! elsewhere, and for the last few bytes, eight bytes at a time in a general register (SWAR)
//! or byte by byte. The tests hold each to a plain byte-by-byte search.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use safe_arch::{
    bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
    set_splat_i8_m128i,
};

/// The position of the first `needle` in `haystack`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn find(haystack: &[u8], needle: u8) -> Option<usize> {
    let splat = set_splat_i8_m128i(i8::from_ne_bytes([needle]));
    let mut at = 0;
    while let Some(chunk) = haystack.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let mask = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(load_unaligned_m128i(chunk), splat));
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    let tail = haystack.get(at..)?;
    tail.iter().position(|&b| b == needle).map(|i| at + i)
}

/// The position of the first `needle` in `haystack`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn find(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// The position of the last `needle` in `haystack`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn rfind(haystack: &[u8], needle: u8) -> Option<usize> {
    let splat = set_splat_i8_m128i(i8::from_ne_bytes([needle]));
    let mut end = haystack.len();
    while let Some(chunk) = haystack.get(..end).and_then(<[u8]>::last_chunk::<16>) {
        let mask = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(load_unaligned_m128i(chunk), splat));
        if mask != 0 {
            // The mask has 16 bits: the highest set one is the last match.
            return Some(end - 16 + (31 - mask.leading_zeros()) as usize);
        }
        end -= 16;
    }
    haystack.get(..end)?.iter().rposition(|&b| b == needle)
}

/// The position of the last `needle` in `haystack`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn rfind(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().rposition(|&b| b == needle)
}

/// The index of the first byte at or after `from` that ends a string's plain run — `"`, `\\`
/// or a control character — or `bytes.len()`. Tokens are mostly string bytes, and this is the
/// reader's inner loop: sixteen bytes per step with SSE2, then eight (SWAR).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn string_stop(bytes: &[u8], from: usize) -> usize {
    let quote = set_splat_i8_m128i(0x22);
    let backslash = set_splat_i8_m128i(0x5c);
    let control_max = set_splat_i8_m128i(0x1f);
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let v = load_unaligned_m128i(chunk);
        // A byte is at most 0x1f exactly when the unsigned minimum with 0x1f is itself.
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, control_max), v);
        let quote_or_backslash = bitor_m128i(
            cmp_eq_mask_i8_m128i(v, quote),
            cmp_eq_mask_i8_m128i(v, backslash),
        );
        let mask = move_mask_i8_m128i(bitor_m128i(control, quote_or_backslash));
        if mask != 0 {
            return at + mask.trailing_zeros() as usize;
        }
        at += 16;
    }
    string_stop_swar(bytes, at)
}

/// The index of the first byte at or after `from` that ends a string's plain run — `"`, `\\`
/// or a control character — or `bytes.len()`: eight bytes per step (SWAR), then one.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(crate) fn string_stop(bytes: &[u8], from: usize) -> usize {
    string_stop_swar(bytes, from)
}

/// [`string_stop`] eight bytes at a time in a general register (SWAR), then byte by byte.
#[inline(always)]
fn string_stop_swar(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let hits = specials(u64::from_le_bytes(*word));
        if hits != 0 {
            // The lowest flagged byte is exact (false positives only follow a true hit).
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

/// The high bit of each byte of `word` (little-endian) that is `"`, `\\` or below 0x20, and
/// possibly of bytes after such a byte, never before one.
#[inline(always)]
fn specials(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    let control = word.wrapping_sub(ONES * 0x20);
    (quote | backslash | control) & !word & HIGHS
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn string_stop_finds_the_first_special_byte() {
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..plain.len() {
            for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                let mut bytes = plain.as_bytes().to_vec();
                bytes[at] = special;
                if at + 3 < bytes.len() {
                    bytes[at + 3] = b'"';
                }
                for stop in [string_stop, string_stop_swar] {
                    assert_eq!(stop(&bytes, 0), at, "{special} at {at}");
                    // Started later, before the special byte, it finds the same one.
                    assert_eq!(stop(&bytes, at / 2), at, "{special} at {at}");
                }
            }
        }
        assert_eq!(string_stop(plain.as_bytes(), 0), plain.len());
        assert_eq!(string_stop(plain.as_bytes(), 30), plain.len());
        assert_eq!(string_stop(b"a\"bcdefghijk\"", 2), 12);
        assert_eq!(
            string_stop("é€ 😀 ~\x7f\"".as_bytes(), 0),
            "é€ 😀 ~\x7f".len()
        );
    }

    proptest! {
        #[test]
        fn string_stop_agrees_with_a_byte_by_byte_search(
            bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'a'), Just(b'"')], 0..80),
            from in 0usize..80,
        ) {
            let from = from.min(bytes.len());
            let expected = bytes[from..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map_or(bytes.len(), |i| from + i);
            prop_assert_eq!(string_stop(&bytes, from), expected);
            prop_assert_eq!(string_stop_swar(&bytes, from), expected);
        }

        #[test]
        fn find_and_rfind_agree_with_std(
            bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'.')], 0..100),
        ) {
            prop_assert_eq!(find(&bytes, b'.'), bytes.iter().position(|&b| b == b'.'));
            prop_assert_eq!(rfind(&bytes, b'.'), bytes.iter().rposition(|&b| b == b'.'));
        }
    }
}
