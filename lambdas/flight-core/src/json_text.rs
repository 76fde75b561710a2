//! Plain JSON string content: the bytes a JSON string holds as they are,
//! without an escape. Replay's scan reads entries a run of them at a time;
//! its line writer copies a text as it is when it is all plain.

/// The bytes that end a run of a string's plain content: its closing
/// quote, a backslash, and the control characters JSON refuses there.
pub(crate) const SPECIAL: [bool; 256] = {
    let mut special = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        special[b] = true;
        b += 1;
    }
    special[b'"' as usize] = true;
    special[b'\\' as usize] = true;
    special
};

/// How many bytes at the start of `rest` are plain string content (none of
/// [`SPECIAL`]): eight at a time, as one 64-bit word.
pub(crate) fn plain_len(rest: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // The high bit of each byte below `n` (exact up to the first one found).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let mut at = 0;
    while let Some(word) = rest.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let found = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + rest[at..]
        .iter()
        .position(|&b| SPECIAL[usize::from(b)])
        .unwrap_or(rest.len() - at)
}

#[cfg(test)]
mod tests {
    use super::{plain_len, SPECIAL};

    #[test]
    fn plain_len_stops_at_the_first_special_byte_wherever_it_is() {
        for len in 0..20 {
            for at in 0..=len {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    if at < len {
                        text[at] = byte;
                    }
                    // A later special byte must not hide or move the first.
                    text.extend_from_slice(b"\"\x01\\");
                    let expected = text.iter().position(|&b| SPECIAL[usize::from(b)]);
                    assert_eq!(Some(plain_len(&text)), expected, "{text:?}");
                }
            }
        }
    }
}
